"""Importing consulta.plan/v1 documents: the bundled plans, re-imports, edits, faults."""

import pytest
from sqlmodel import col, select

from app.errors import NotFound, Unprocessable
from app.models.events import Event
from app.models.organizations import Municipality, Organization
from app.models.plans import Plan, PlanNode, PlanPhase
from app.services.imports.plan_validation import check_document
from tests.factories import (
    BUNDLED,
    count_rows,
    import_document,
    make_org,
    make_user,
    plan_document,
    small_document,
    walk,
)


async def _nodes(session, plan_id):
    return list(
        (
            await session.exec(
                select(PlanNode)
                .where(col(PlanNode.plan_id) == plan_id)
                .order_by(col(PlanNode.sort_path))
            )
        ).all()
    )


@pytest.mark.parametrize("name", sorted(BUNDLED))
async def test_bundled_plan_imports_with_its_counts_and_shape(session, name):
    document = plan_document(name, tables=True)
    report = await import_document(session, document)

    assert report.created and report.changed
    assert report.nodes.created == BUNDLED[name]
    nodes = await _nodes(session, report.plan_id)
    assert len(nodes) == BUNDLED[name]
    by_id = {n.id: n for n in nodes}
    # Same nodes, same parents, same order (depth first) as the document.
    assert [(n.code, by_id[n.parent_id].code if n.parent_id else None) for n in nodes] == walk(
        document["plan"]["nodes"]
    )
    for node in nodes:
        siblings = [n for n in nodes if n.parent_id == node.parent_id]
        assert [s.position for s in siblings] == list(range(len(siblings)))
        assert node.depth == (by_id[node.parent_id].depth + 1 if node.parent_id else 0)
        assert node.archived_at is None and node.organization_id == report.organization_id
    plan = await session.get(Plan, report.plan_id)
    assert plan.slug == document["plan"]["slug"]
    assert plan.status == document["plan"]["status"]
    assert plan.levels == document["plan"]["levels"]


async def test_bundled_plans_have_the_expected_levels(session):
    bari = await import_document(session, plan_document("bari"))
    milano = await import_document(session, plan_document("milano"))
    torino = await import_document(session, plan_document("torino"))

    def kinds(nodes, depth):
        return sorted({n.kind for n in nodes if n.depth == depth})

    bari_nodes = await _nodes(session, bari.plan_id)
    assert sum(n.kind == "axis" for n in bari_nodes) == 11
    assert kinds(bari_nodes, 1) == ["objective"]
    milano_nodes = await _nodes(session, milano.plan_id)
    assert sum(n.kind == "mission" for n in milano_nodes) == 6
    assert sum(n.kind == "driver" for n in milano_nodes) == 10
    assert sum(n.kind == "objective" for n in milano_nodes) == 35
    torino_nodes = await _nodes(session, torino.plan_id)
    assert [kinds(torino_nodes, d) for d in range(3)] == [["strategy"], ["theme"], ["project"]]
    phases = (
        await session.exec(select(PlanPhase).where(col(PlanPhase.plan_id) == milano.plan_id))
    ).all()
    assert len(phases) == 3
    bari_org = await session.get(Organization, bari.organization_id)
    municipalities = (
        await session.exec(
            select(Municipality).where(col(Municipality.organization_id) == bari_org.id)
        )
    ).all()
    assert bari_org.slug == "cm-bari" and len(municipalities) == 41


async def test_second_import_changes_nothing(session):
    document = plan_document("milano")
    first = await import_document(session, document)
    plan = await session.get(Plan, first.plan_id)
    version = plan.version
    before = await count_rows(session)
    nodes_before = {n.id: (n.version, n.updated_at) for n in await _nodes(session, first.plan_id)}

    second = await import_document(session, plan_document("milano"))

    assert second.plan_id == first.plan_id
    assert not second.created and not second.changed and not second.phases_changed
    assert second.plan_fields == []
    assert second.nodes.model_dump() == {
        "created": 0,
        "updated": 0,
        "moved": 0,
        "archived": 0,
        "restored": 0,
        "unchanged": 51,
    }
    assert await count_rows(session) == before  # not even an event
    session.expire_all()
    assert (await session.get(Plan, first.plan_id)).version == version
    assert {
        n.id: (n.version, n.updated_at) for n in await _nodes(session, first.plan_id)
    } == nodes_before


async def test_edited_document_updates_in_place_and_reports_changes(session):
    first = await import_document(session, plan_document("bari"))
    ids = {n.code: n.id for n in await _nodes(session, first.plan_id)}

    edited = plan_document("bari")
    nodes = edited["plan"]["nodes"]
    nodes[0]["title"] = {"it": "Agenda digitale metropolitana", "en": "Digital agenda"}
    nodes[0]["children"].append(
        {"code": "1.4", "kind": "objective", "title": {"it": "Nuovo obiettivo"}}
    )
    moved = nodes[1]["children"].pop()  # 2.3, the last child of axis 2 …
    nodes[2]["children"].append(moved)  # … goes under axis 3
    removed = nodes.pop()  # axis 11 and its two objectives leave the plan
    edited["plan"]["status"] = "approved"
    edited["plan"]["phases"] = [
        {"name": {"it": "Ascolto"}, "starts_on": "2025-01-01", "ends_on": "2025-12-31"}
    ]

    report = await import_document(session, edited)

    assert report.plan_id == first.plan_id and not report.created and report.changed
    assert report.plan_fields == ["status"] and report.phases_changed
    assert report.nodes.model_dump() == {
        "created": 1,
        "updated": 1,
        "moved": 1,
        "archived": 3,
        "restored": 0,
        "unchanged": 33,
    }
    session.expire_all()
    after = {n.code: n for n in await _nodes(session, first.plan_id)}
    assert len(after) == 39  # nothing deleted
    assert all(after[code].id == node_id for code, node_id in ids.items())  # same ids
    assert after["1"].title["en"] == "Digital agenda" and after["1"].version == 2
    assert after["1.4"].parent_id == ids["1"] and after["1.4"].position == 3
    assert after["2.3"].parent_id == ids["3"] and after["2.3"].position == 2
    assert {c for c, n in after.items() if n.archived_at is not None} == {
        removed["code"],
        *(c["code"] for c in removed["children"]),
    }
    plan = await session.get(Plan, first.plan_id)
    assert plan.status == "approved" and plan.version == 2
    types = (
        await session.exec(
            select(Event.type).where(col(Event.organization_id) == first.organization_id)
        )
    ).all()
    assert types.count("plan.imported") == 2
    assert types.count("plan_node.archived") == 3
    assert types.count("plan_node.updated") == 2  # new title, move
    assert types.count("plan_node.created") == 39

    # The original document again: the archived nodes come back, with their ids.
    again = await import_document(session, plan_document("bari"))
    assert again.nodes.restored == 3 and again.nodes.archived == 1  # 1.4
    assert again.nodes.moved == 1 and again.nodes.updated == 1
    session.expire_all()
    restored = {n.code: n for n in await _nodes(session, first.plan_id)}
    assert restored["11"].id == ids["11"] and restored["11"].archived_at is None
    assert restored["1.4"].archived_at is not None


async def test_org_admin_imports_into_own_organization_only(session):
    admin = await make_user(session)
    own = await make_org(session, admin=admin)
    other = await make_org(session)

    report = await import_document(session, small_document(own.slug), actor=admin)
    assert report.created and report.organization_id == own.id

    with pytest.raises(NotFound):
        await import_document(session, small_document(other.slug), actor=admin)
    with pytest.raises(NotFound):  # a new organization needs a platform admin
        await import_document(session, small_document("cm-nuova"), actor=admin)
    assert (
        await session.exec(select(Organization).where(col(Organization.slug) == "cm-nuova"))
    ).first() is None


async def test_platform_admin_creates_the_organization_from_the_document(session):
    admin = await make_user(session, platform_admin=True)
    document = small_document("cm-genova")
    document["organization"]["municipalities"] = ["Genova", "Chiavari"]
    report = await import_document(session, document, actor=admin)

    assert report.created and report.organization_created
    org = await session.get(Organization, report.organization_id)
    assert org.slug == "cm-genova" and org.name == "Città di prova"
    names = (
        await session.exec(
            select(Municipality.name).where(col(Municipality.organization_id) == org.id)
        )
    ).all()
    assert sorted(names) == ["Chiavari", "Genova"]
    event = (
        await session.exec(
            select(Event).where(
                col(Event.subject_id) == org.id, col(Event.type) == "organization.created"
            )
        )
    ).one()
    assert event.actor_id == admin.id


async def test_faulty_document_changes_nothing(session):
    await import_document(session, plan_document("torino"))
    before = await count_rows(session)
    broken = plan_document("torino")
    broken["plan"]["title"] = {"en": "Turin"}  # no Italian text
    broken["plan"]["nodes"][0]["children"].append(
        {"code": "NEW", "kind": "theme", "title": {"it": "Nuovo"}}
    )
    with pytest.raises(Unprocessable) as raised:
        await import_document(session, broken)
    assert [e["pointer"] for e in raised.value.errors or []] == ["/plan/title"]
    assert await count_rows(session) == before


def test_checks_report_every_fault_with_a_pointer():
    document = small_document("cm-prova")
    plan = document["plan"]
    plan["status"] = "bozza"
    plan["approved_on"] = "2025-02-30"
    plan["period"] = {"start": "2030-01-01", "end": "2025-12-31"}
    plan["phases"] = [{"name": {"it": "Fase"}, "starts_on": "2025-06-01", "ends_on": "2025-05-01"}]
    plan["nodes"][1]["children"][1]["code"] = "A.1"
    plan["nodes"][1]["children"][0]["title"] = {"en": "Objective"}
    plan["nodes"][0]["colour"] = "red"
    del plan["nodes"][0]["children"][0]["kind"]
    plan["nodes"][0]["summary"] = {"it": "   "}

    faults = check_document(document, default_locale="it")

    assert [(f.pointer, f.code) for f in faults] == [
        ("/plan/approved_on", "invalid_date"),
        ("/plan/nodes/0/children/0/kind", "required"),
        ("/plan/nodes/0/colour", "unknown_field"),
        ("/plan/nodes/0/summary/it", "blank"),
        ("/plan/nodes/1/children/0/title", "missing_default_locale"),
        ("/plan/nodes/1/children/1/code", "duplicate_code"),
        ("/plan/period/end", "ends_before_start"),
        ("/plan/phases/0/ends_on", "ends_before_start"),
        ("/plan/status", "invalid_choice"),
    ]
    duplicate = next(f for f in faults if f.code == "duplicate_code")
    assert "/plan/nodes/0/children/0/code" in duplicate.msg
    error = duplicate.as_error()
    assert error["loc"] == ["body", "plan", "nodes", 1, "children", 1, "code"]


def test_pointers_escape_slashes_and_tildes():
    document = small_document("cm-prova")
    document["plan"]["title"] = {"it": "Piano", "a/b~c": "x"}
    faults = check_document(document, default_locale="it")
    assert [f.pointer for f in faults] == ["/plan/title/a~1b~0c"]


def test_an_existing_organization_keeps_its_default_locale():
    document = small_document("cm-prova")
    document["organization"]["default_locale"] = "en"
    faults = check_document(document, default_locale="it", organization_locale="it")
    assert [(f.pointer, f.code) for f in faults] == [
        ("/organization/default_locale", "locale_mismatch")
    ]
