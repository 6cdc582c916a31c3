"""Meetings: creation by facilitators, validation, lists, visibility, editing, minutes."""

import uuid
from datetime import UTC, datetime, timedelta

from sqlmodel import col, select

from app.models.events import Event
from app.models.meetings import MeetingRegistration
from tests.factories import (
    add_member,
    commit_setup,
    let_meeting_begin,
    make_meeting,
    make_municipality,
    make_org,
    make_plan,
    make_table,
    make_user,
)
from tests.helpers import assert_problem, bearer


async def _table_with_facilitator(session, **fields):
    org = await make_org(session)
    table = await make_table(session, org, **fields)
    facilitator = await make_user(session)
    await add_member(session, table, facilitator, role="facilitator")
    return org, table, facilitator


def _meeting_body(**fields):
    return {
        "title": {"it": "Seconda riunione plenaria", "en": "Second plenary"},
        "kind": "plenary",
        "format": "hybrid",
        "starts_at": "2030-04-28T16:00:00+02:00",
        "ends_at": "2030-04-28T18:00:00+02:00",
        **fields,
    }


async def test_facilitator_creates_a_meeting(client, session):
    org, table, facilitator = await _table_with_facilitator(session)
    plan, nodes = await make_plan(session, org)
    table.plan_id = plan.id
    bari = await make_municipality(session, org, "Bari")
    await commit_setup(session)
    body = _meeting_body(
        location={
            "name": "Sala consiliare",
            "address": "Lungomare Nazario Sauro 29",
            "municipality_id": str(bari.id),
        },
        online_url="https://meet.example.org/plenaria",
        capacity=10,
        registration_closes_at="2030-04-27T23:59:00+02:00",
        node_ids=[str(nodes["4"].id), str(nodes["4"].id)],
        agenda=[
            {"title": {"it": "Saluti"}, "duration_minutes": 10},
            {"title": {"it": "Lavori di gruppo"}},
        ],
    )
    response = await client.post(
        f"/v1/tables/{table.id}/meetings", json=body, headers=bearer(facilitator)
    )
    assert response.status_code == 201, response.text
    meeting = response.json()
    assert response.headers["ETag"] == '"1"'
    # Answered in UTC, the one date-time form (app/datetimes.py).
    assert meeting["starts_at"] == "2030-04-28T14:00:00.000000Z"
    assert meeting["ends_at"] == "2030-04-28T16:00:00.000000Z"
    assert meeting["location"] == {
        "name": "Sala consiliare",
        "address": "Lungomare Nazario Sauro 29",
        "municipality_id": str(bari.id),
    }
    assert meeting["node_ids"] == [str(nodes["4"].id)]
    assert meeting["agenda"][0] == {
        "title": {"it": "Saluti"},
        "description": None,
        "duration_minutes": 10,
    }
    assert meeting["status"] == "scheduled" and meeting["capacity"] == 10
    assert meeting["registrations_count"] == 0 and meeting["waitlist_count"] == 0
    assert meeting["online_url"] == "https://meet.example.org/plenaria"  # a facilitator
    assert meeting["minutes"] is None
    event = (
        await session.exec(select(Event).where(col(Event.subject_id) == uuid.UUID(meeting["id"])))
    ).one()
    assert event.type == "meeting.created" and event.actor_id == facilitator.id
    table_body = (await client.get(f"/v1/tables/{table.id}")).json()
    assert table_body["meetings_count"] == 1


async def test_meeting_input_is_validated(client, session):
    org, table, facilitator = await _table_with_facilitator(session)
    plan, _ = await make_plan(session, org)
    table.plan_id = plan.id
    other_org = await make_org(session)
    _, foreign_nodes = await make_plan(session, other_org)
    foreign_town = await make_municipality(session, other_org, "Genova")
    await commit_setup(session)
    url = f"/v1/tables/{table.id}/meetings"
    headers = bearer(facilitator)

    async def post(**fields):
        return await client.post(url, headers=headers, json=_meeting_body(**fields))

    assert_problem(await post(ends_at="2030-04-28T15:00:00+02:00"), 422, "invalid_time_range")
    assert_problem(await post(starts_at="2030-04-28T16:00:00"), 422)  # no offset
    assert_problem(
        await post(
            registration_opens_at="2030-04-20T00:00:00Z",
            registration_closes_at="2030-04-10T00:00:00Z",
        ),
        422,
        "invalid_registration_window",
    )
    assert_problem(
        await post(location={"municipality_id": str(foreign_town.id)}), 422, "unknown_municipality"
    )
    assert_problem(await post(node_ids=[str(foreign_nodes["4"].id)]), 422)
    assert_problem(await post(title={"en": "Only English"}), 422, "missing_default_locale")
    assert_problem(await post(agenda=[{"title": {"en": "Welcome"}}]), 422, "missing_default_locale")
    assert_problem(await post(kind="party"), 422)
    assert_problem(await post(capacity=-1), 422)
    assert_problem(await post(online_url="not a url"), 422)
    assert_problem(await post(colour="red"), 422)
    assert (await post()).status_code == 201


async def test_only_the_tables_facilitators_create_meetings(client, session):
    org, table_a, facilitator_a = await _table_with_facilitator(session)
    table_b = await make_table(session, org)
    member = await make_user(session)
    await add_member(session, table_a, member)
    other_admin = await make_user(session)
    await make_org(session, admin=other_admin)
    await commit_setup(session)

    assert_problem(
        await client.post(
            f"/v1/tables/{table_b.id}/meetings", json=_meeting_body(), headers=bearer(facilitator_a)
        ),
        404,
    )
    assert_problem(
        await client.post(
            f"/v1/tables/{table_a.id}/meetings", json=_meeting_body(), headers=bearer(member)
        ),
        404,
    )
    assert_problem(
        await client.post(
            f"/v1/tables/{table_a.id}/meetings", json=_meeting_body(), headers=bearer(other_admin)
        ),
        404,
    )


async def test_list_by_time_window_with_keyset_pages(client, session, query_counter):
    _, table, facilitator = await _table_with_facilitator(session)
    base = datetime(2030, 3, 1, 9, tzinfo=UTC)
    for day in (5, 1, 3, 2, 4):
        await make_meeting(
            session, table, starts_at=base + timedelta(days=day), title={"it": f"Giorno {day}"}
        )
    await commit_setup(session)
    url = f"/v1/tables/{table.id}/meetings"

    titles = []
    cursor = None
    while True:
        page = (await client.get(url + "?limit=2" + (f"&cursor={cursor}" if cursor else ""))).json()
        titles += [m["title"]["it"] for m in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert titles == [f"Giorno {d}" for d in range(1, 6)]
    window = (
        await client.get(
            url, params={"from": "2030-03-03T00:00:00+01:00", "to": "2030-03-05T00:00:00+01:00"}
        )
    ).json()["items"]
    assert [m["title"]["it"] for m in window] == ["Giorno 2", "Giorno 3"]  # 3 and 4 March

    headers = bearer(facilitator)
    query_counter.reset()
    await client.get(url + "?limit=1", headers=headers)
    one = query_counter.count
    query_counter.reset()
    await client.get(url + "?limit=5", headers=headers)
    assert query_counter.count == one


async def test_private_table_meetings_are_invisible(client, session):
    _, table, _ = await _table_with_facilitator(session, visibility="private")
    meeting = await make_meeting(session, table)
    member, outsider = await make_user(session), await make_user(session)
    await add_member(session, table, member)
    await commit_setup(session)

    for headers in ({}, bearer(outsider)):
        assert_problem(await client.get(f"/v1/meetings/{meeting.id}", headers=headers), 404)
        assert_problem(await client.get(f"/v1/tables/{table.id}/meetings", headers=headers), 404)
        assert_problem(
            await client.post(f"/v1/meetings/{meeting.id}/registrations", headers=bearer(outsider)),
            404,
        )
    assert (
        await client.get(f"/v1/meetings/{meeting.id}", headers=bearer(member))
    ).status_code == 200


async def test_online_link_only_for_registered_people_and_facilitators(client, session):
    _, table, facilitator = await _table_with_facilitator(session)
    meeting = await make_meeting(
        session, table, format="online", capacity=1, online_url="https://meet.example.org/x"
    )
    registered, waiting, anyone = [await make_user(session) for _ in range(3)]
    await commit_setup(session)
    url = f"/v1/meetings/{meeting.id}"
    assert (await client.post(url + "/registrations", headers=bearer(registered))).json()[
        "status"
    ] == "registered"
    assert (await client.post(url + "/registrations", headers=bearer(waiting))).json()[
        "status"
    ] == "waitlisted"

    def link(user):
        return client.get(url, headers=bearer(user) if user else {})

    assert (await link(None)).json()["online_url"] is None
    assert (await link(anyone)).json()["online_url"] is None
    assert (await link(waiting)).json()["online_url"] is None
    assert (await link(registered)).json()["online_url"] == "https://meet.example.org/x"
    assert (await link(facilitator)).json()["online_url"] == "https://meet.example.org/x"
    mine = (await link(waiting)).json()["my_registration"]
    assert mine["status"] == "waitlisted" and mine["waitlist_position"] == 1
    listed = (await client.get(f"/v1/tables/{table.id}/meetings", headers=bearer(anyone))).json()[
        "items"
    ]
    assert listed[0]["online_url"] is None


async def test_edit_with_if_match_and_cancel_notifies_registered_people(client, session):
    _, table, facilitator = await _table_with_facilitator(session)
    meeting = await make_meeting(session, table, capacity=1)
    first, second = await make_user(session), await make_user(session)
    await commit_setup(session)
    url = f"/v1/meetings/{meeting.id}"
    await client.post(url + "/registrations", headers=bearer(first))
    await client.post(url + "/registrations", headers=bearer(second))
    headers = bearer(facilitator)

    moved = await client.patch(
        url,
        headers={**headers, "If-Match": '"1"'},
        json={"starts_at": "2030-05-02T16:30:00+02:00", "ends_at": "2030-05-02T18:30:00+02:00"},
    )
    assert moved.status_code == 200, moved.text
    assert moved.headers["ETag"] == '"2"'
    assert_problem(
        await client.patch(url, headers={**headers, "If-Match": '"1"'}, json={"capacity": 5}), 412
    )
    assert_problem(await client.patch(url, headers=headers, json={"capacity": None}), 422)
    assert_problem(
        await client.patch(url, headers=headers, json={"ends_at": "2030-05-01T10:00:00+02:00"}), 422
    )
    # More seats: the person waiting moves up.
    grown = (await client.patch(url, headers=headers, json={"capacity": 2})).json()
    assert grown["registrations_count"] == 2 and grown["waitlist_count"] == 0
    assert_problem(
        await client.patch(url, headers=headers, json={"capacity": 1}),
        409,
        "capacity_below_registrations",
    )

    cancelled = await client.patch(url, headers=headers, json={"status": "cancelled"})
    assert cancelled.json()["status"] == "cancelled"
    event = (
        await session.exec(
            select(Event).where(
                col(Event.type) == "meeting.cancelled", col(Event.subject_id) == meeting.id
            )
        )
    ).one()
    assert set(event.payload["registered_user_ids"]) == {str(first.id), str(second.id)}
    assert_problem(
        await client.patch(url, headers=headers, json={"status": "held"}),
        409,
        "invalid_status_change",
    )
    assert_problem(
        await client.post(url + "/registrations", headers=bearer(await _new_user(session))),
        409,
        "meeting_not_scheduled",
    )
    reinstated = await client.patch(url, headers=headers, json={"status": "scheduled"})
    assert reinstated.json()["status"] == "scheduled"
    types = (
        await session.exec(select(Event.type).where(col(Event.subject_id) == meeting.id))
    ).all()
    assert {"meeting.updated", "meeting.cancelled", "meeting.reinstated"} <= set(types)


async def _new_user(session):
    user = await make_user(session)
    await commit_setup(session)
    return user


async def test_minutes_mark_the_meeting_held(client, session):
    org, table, facilitator = await _table_with_facilitator(session)
    meeting = await make_meeting(session, table, starts_at=datetime.now(UTC) - timedelta(hours=1))
    upcoming = await make_meeting(session, table)
    other_table = await make_table(session, org)
    other_facilitator = await make_user(session)
    await add_member(session, other_table, other_facilitator, role="facilitator")
    people = [await make_user(session) for _ in range(3)]
    await commit_setup(session)
    url = f"/v1/meetings/{meeting.id}"
    codes = []
    for person in people:
        codes.append(
            (await client.post(url + "/registrations", headers=bearer(person))).json()[
                "check_in_code"
            ]
        )
    for code in codes[:2]:
        assert (
            await client.post(url + "/check-ins", headers=bearer(facilitator), json={"code": code})
        ).status_code == 200
    minutes = {
        "text": {"it": "Verbale dell'incontro"},
        "attending_organizations": ["Legambiente Puglia", "Arci Bari"],
    }
    # Not before the meeting has begun.
    assert_problem(
        await client.put(
            f"/v1/meetings/{upcoming.id}/minutes", headers=bearer(facilitator), json=minutes
        ),
        409,
        "meeting_not_started",
    )

    assert_problem(
        await client.put(url + "/minutes", headers=bearer(other_facilitator), json=minutes), 404
    )
    assert_problem(await client.put(url + "/minutes", headers=bearer(people[0]), json=minutes), 404)
    assert_problem(
        await client.put(
            url + "/minutes", headers=bearer(facilitator), json={"text": {"en": "Minutes"}}
        ),
        422,
    )
    published = await client.put(url + "/minutes", headers=bearer(facilitator), json=minutes)
    assert published.status_code == 200, published.text
    assert published.json()["attendees_count"] == 2
    assert published.json()["attending_organizations"] == ["Legambiente Puglia", "Arci Bari"]
    shown = (await client.get(url)).json()
    assert shown["status"] == "held"
    assert shown["minutes"]["text"] == {"it": "Verbale dell'incontro"}
    rewritten = await client.put(
        url + "/minutes", headers=bearer(facilitator), json={**minutes, "attendees_count": 40}
    )
    assert rewritten.json()["attendees_count"] == 40
    types = (
        await session.exec(select(Event.type).where(col(Event.subject_id) == meeting.id))
    ).all()
    assert types.count("meeting.minutes_published") == 1
    assert types.count("meeting.minutes_updated") == 1
    attended = (
        await session.exec(
            select(MeetingRegistration).where(
                col(MeetingRegistration.meeting_id) == meeting.id,
                col(MeetingRegistration.status) == "attended",
            )
        )
    ).all()
    assert len(attended) == 2


async def test_issue_walkthrough_youth_table_on_baris_axis_4(client, session):
    """The issue's "done when": a table on Bari's axis 4, a meeting with 10 seats, people
    registered and waitlisted, checked in, minutes published, a calendar to subscribe to."""
    import json
    from importlib import resources

    from icalendar import Calendar

    from app.models.organizations import Organization, OrganizationRole
    from app.models.plans import PlanNode
    from app.services.imports.plan_import import SYSTEM, import_plan

    document = json.loads(
        resources.files("app").joinpath("data/plans/bari.json").read_text("utf-8")
    )
    report = await import_plan(session, SYSTEM, document)
    bari = await session.get(Organization, report.organization_id)
    axis_4 = (
        await session.exec(
            select(PlanNode).where(
                col(PlanNode.plan_id) == report.plan_id, col(PlanNode.code) == "4"
            )
        )
    ).one()
    admin, facilitator = await make_user(session), await make_user(session)
    session.add(OrganizationRole(organization_id=bari.id, user_id=admin.id, role="admin"))
    people = [await make_user(session, name=f"Persona {i}") for i in range(12)]
    await commit_setup(session)

    table = await client.post(
        "/v1/organizations/cm-bari/tables",
        headers=bearer(admin),
        json={
            "slug": "porta-futuro-giovani",
            "name": {"it": "Porta Futuro per i Giovani"},
            "plan_id": str(report.plan_id),
            "node_ids": [str(axis_4.id)],
            "eligibility": {"min_age": 16, "max_age": 35},
        },
    )
    assert table.status_code == 201, table.text
    table_id = table.json()["id"]
    appointed = await client.post(
        "/v1/organizations/cm-bari/roles",
        headers=bearer(admin),
        json={"role": "facilitator", "table_id": table_id, "user_id": str(facilitator.id)},
    )
    assert appointed.status_code == 201, appointed.text

    meeting = await client.post(
        f"/v1/tables/{table_id}/meetings",
        headers=bearer(facilitator),
        json=_meeting_body(kind="thematic", capacity=10, node_ids=[str(axis_4.id)]),
    )
    assert meeting.status_code == 201, meeting.text
    url = f"/v1/meetings/{meeting.json()['id']}"
    answers = [
        (await client.post(url + "/registrations", headers=bearer(p))).json() for p in people
    ]
    assert [a["status"] for a in answers] == ["registered"] * 10 + ["waitlisted"] * 2

    for answer in answers[:7]:
        checked = await client.post(
            url + "/check-ins", headers=bearer(facilitator), json={"code": answer["check_in_code"]}
        )
        assert checked.json()["status"] == "attended"
    await let_meeting_begin(session, meeting.json()["id"])
    minutes = await client.put(
        url + "/minutes", headers=bearer(facilitator), json={"text": {"it": "Verbale"}}
    )
    assert minutes.json()["attendees_count"] == 7
    assert (await client.get(url)).json()["status"] == "held"

    feed = await client.get(f"/v1/tables/{table_id}/calendar.ics")
    (event,) = Calendar.from_ical(feed.content).walk("VEVENT")
    assert str(event["UID"]) == f"{meeting.json()['id']}@consulta"
    assert event["DTSTART"].params["TZID"] == "Europe/Rome"
