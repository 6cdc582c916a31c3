"""The `tables` section of plan documents: Bari's youth table and its meetings."""

import copy
import json
from datetime import UTC, datetime
from importlib import resources

import pytest
from sqlmodel import col, func, select

from app.errors import Unprocessable
from app.models.events import Event
from app.models.meetings import Meeting, MeetingPlanNode
from app.models.organizations import Municipality
from app.models.plans import Plan, PlanNode
from app.models.tables import ParticipationTable
from app.services.imports.plan_import import SYSTEM, import_plan


def bari_document():
    text = resources.files("app").joinpath("data/plans/bari.json").read_text("utf-8")
    return json.loads(text)


async def _meetings(session, table_id):
    return (
        await session.exec(
            select(Meeting)
            .where(col(Meeting.table_id) == table_id)
            .order_by(col(Meeting.starts_at))
        )
    ).all()


async def test_bari_youth_table_and_its_meetings_are_imported(session):
    report = await import_plan(session, SYSTEM, bari_document())
    assert report.sections["tables"]["tables"]["created"] == ["tavolo-giovani"]
    assert report.sections["tables"]["meetings"]["created"] == 3

    table = (
        await session.exec(
            select(ParticipationTable).where(col(ParticipationTable.slug) == "tavolo-giovani")
        )
    ).one()
    assert table.plan_id == report.plan_id
    assert table.name["it"] == "Tavolo dei Talenti e delle Giovani Generazioni"
    assert (table.visibility, table.membership_policy, table.status) == ("public", "open", "open")
    meetings = await _meetings(session, table.id)
    assert [m.kind for m in meetings] == ["thematic", "plenary", "public"]
    plenary = meetings[1]
    assert plenary.starts_at == datetime(2022, 4, 28, 14, tzinfo=UTC)
    assert plenary.title == {"it": "Seconda riunione plenaria di tutti gli iscritti"}
    food = meetings[2]
    assert food.format == "in_person"
    assert food.location_name == "Sala consiliare della Città metropolitana di Bari"
    bari = await session.get(Municipality, food.location_municipality_id)
    assert bari is not None and bari.name == "Bari"
    linked = (
        await session.exec(
            select(PlanNode.code)
            .join(MeetingPlanNode, col(MeetingPlanNode.node_id) == PlanNode.id)
            .where(col(MeetingPlanNode.meeting_id) == food.id)
        )
    ).all()
    assert linked == ["9"]
    types = (await session.exec(select(Event.type).where(col(Event.subject_id) == table.id))).all()
    assert types == ["table.created"]


async def test_reimport_is_idempotent_and_updates_in_place(session):
    document = bari_document()
    await import_plan(session, SYSTEM, document)
    again = await import_plan(session, SYSTEM, document)
    assert again.sections["tables"]["changed"] is False
    assert again.sections["tables"]["tables"]["unchanged"] == ["tavolo-giovani"]
    assert again.sections["tables"]["meetings"] == {"created": 0, "updated": 0, "unchanged": 3}

    edited = copy.deepcopy(document)
    meetings = edited["tables"][0]["meetings"]
    meetings[1]["ends_at"] = "2022-04-28T19:00:00+02:00"
    meetings[1]["linked_nodes"] = ["4"]
    meetings.append(
        {
            "title": {"it": "Terza riunione plenaria"},
            "kind": "plenary",
            "starts_at": "2022-06-09T17:00:00+02:00",
            "ends_at": "2022-06-09T19:00:00+02:00",
        }
    )
    third = await import_plan(session, SYSTEM, edited)
    assert third.changed is True
    assert third.sections["tables"]["meetings"] == {"created": 1, "updated": 1, "unchanged": 2}
    table = (
        await session.exec(
            select(ParticipationTable).where(col(ParticipationTable.slug) == "tavolo-giovani")
        )
    ).one()
    stored = await _meetings(session, table.id)
    assert len(stored) == 4
    assert stored[1].ends_at == datetime(2022, 4, 28, 17, tzinfo=UTC)
    assert stored[1].version == 2
    count = (await session.exec(select(func.count()).select_from(ParticipationTable))).one()
    assert count == 1


@pytest.mark.parametrize(
    ("edit", "code", "pointer"),
    [
        (
            lambda d: d["tables"][0]["meetings"][2].update(linked_nodes=["99"]),
            "unknown_node",
            "/tables/0/meetings/2/linked_nodes/0",
        ),
        (
            lambda d: d["tables"][0]["meetings"][0].update(ends_at="2022-04-01T09:00:00+02:00"),
            "ends_before_start",
            "/tables/0/meetings/0/ends_at",
        ),
        (
            lambda d: d["tables"][0].update(name={"en": "Youth table"}),
            "missing_default_locale",
            "/tables/0/name",
        ),
        (
            lambda d: d["tables"].append(copy.deepcopy(d["tables"][0])),
            "duplicate_slug",
            "/tables/1/slug",
        ),
        # Valid ISO 8601, but no instant once in UTC (the insert used to crash).
        (
            lambda d: d["tables"][0]["meetings"][0].update(starts_at="0001-01-01T00:00:00+14:00"),
            "invalid_datetime",
            "/tables/0/meetings/0/starts_at",
        ),
        (
            lambda d: d["tables"][0]["meetings"][0].update(ends_at="9999-12-31T23:00:00-23:59"),
            "invalid_datetime",
            "/tables/0/meetings/0/ends_at",
        ),
    ],
)
async def test_faults_in_the_tables_section_import_nothing(session, edit, code, pointer):
    document = bari_document()
    edit(document)
    with pytest.raises(Unprocessable) as raised:
        await import_plan(session, SYSTEM, document)
    assert raised.value.errors is not None
    assert [(e["code"], e["pointer"]) for e in raised.value.errors] == [(code, pointer)]
    tables = (await session.exec(select(func.count()).select_from(ParticipationTable))).one()
    assert tables == 0


async def test_meeting_places_must_be_municipalities_of_the_organization(session):
    document = bari_document()
    document["tables"][0]["meetings"][2]["location"]["municipality"] = "Genova"
    with pytest.raises(Unprocessable) as raised:
        await import_plan(session, SYSTEM, document)
    assert raised.value.errors is not None
    (error,) = raised.value.errors
    assert error["code"] == "unknown_municipality"
    assert error["loc"] == ["body", "tables", 0, "meetings", 2, "location", "municipality"]


async def test_the_demo_has_baris_youth_table_for_16_to_35_year_olds(session):
    from app.demo.seed import seed_demo

    await seed_demo(session)
    table = (
        await session.exec(
            select(ParticipationTable).where(col(ParticipationTable.slug) == "tavolo-giovani")
        )
    ).one()
    assert (table.min_age, table.max_age, table.membership_policy) == (16, 35, "open")
    # The plan's three meetings, and the demo's live session (app/demo/live.py).
    assert len(await _meetings(session, table.id)) == 4
    version = table.version
    await seed_demo(session)
    await session.refresh(table)
    assert table.version == version
    assert len(await _meetings(session, table.id)) == 4


async def test_faults_of_stored_data_are_reported_with_all_the_others(session):
    await import_plan(session, SYSTEM, bari_document())
    # The same table slug under another plan of Bari, a meeting in a town that is not
    # Bari's, and a node title without Italian: three faults of three kinds, one answer.
    document = bari_document()
    document["plan"]["slug"] = "altro-piano"
    document["tables"][0]["meetings"][2]["location"]["municipality"] = "Genova"
    document["plan"]["nodes"][0]["title"] = {"en": "Axis one"}
    plans_before = (await session.exec(select(func.count()).select_from(Plan))).one()
    with pytest.raises(Unprocessable) as raised:
        await import_plan(session, SYSTEM, document)
    assert raised.value.errors is not None
    found = {(e["code"], e["pointer"]) for e in raised.value.errors}
    assert found == {
        ("missing_default_locale", "/plan/nodes/0/title"),
        ("table_on_other_plan", "/tables/0/slug"),
        ("unknown_municipality", "/tables/0/meetings/2/location/municipality"),
    }
    assert (await session.exec(select(func.count()).select_from(Plan))).one() == plans_before


async def test_a_new_organizations_meetings_are_in_the_towns_it_lists(session):
    document = bari_document()
    document["organization"]["slug"] = "cm-nuova"
    document["organization"]["municipalities"] = ["Bari", "Bitonto"]
    document["tables"][0]["meetings"][2]["location"]["municipality"] = "Molfetta"
    with pytest.raises(Unprocessable) as raised:
        await import_plan(session, SYSTEM, document)
    assert raised.value.errors is not None
    assert [(e["code"], e["pointer"]) for e in raised.value.errors] == [
        ("unknown_municipality", "/tables/0/meetings/2/location/municipality")
    ]
    document["tables"][0]["meetings"][2]["location"]["municipality"] = "Bitonto"
    report = await import_plan(session, SYSTEM, document)
    assert report.organization_created


async def test_garbage_in_the_tables_section_is_a_fault_never_a_crash(session):
    await import_plan(session, SYSTEM, bari_document())
    # More tables than a statement may have parameters, and slugs PostgreSQL could not
    # even be sent: faults (or a clean import), never a 500.
    many = bari_document()
    many["tables"] = [{"slug": f"t{i}", "name": {"it": f"Tavolo {i}"}} for i in range(33_000)]
    many["plan"]["nodes"][0]["title"] = {"en": "no Italian"}  # keeps the import from writing
    with pytest.raises(Unprocessable) as raised:
        await import_plan(session, SYSTEM, many)
    assert raised.value.errors is not None
    assert [e["code"] for e in raised.value.errors] == ["missing_default_locale"]

    odd = bari_document()
    odd["plan"]["slug"] = "piano-\ud800"
    odd["tables"][0]["slug"] = "tavolo-\ud800"
    with pytest.raises(Unprocessable) as raised:
        await import_plan(session, SYSTEM, odd)
    assert raised.value.errors is not None
    assert {e["pointer"] for e in raised.value.errors} >= {"/tables/0/slug"}
