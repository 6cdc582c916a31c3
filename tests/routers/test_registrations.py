"""Registrations: seats and waiting list (also under real concurrency), cancellation and
promotion, check-ins, who may register."""

import asyncio
import re
from datetime import UTC, datetime, timedelta

from sqlmodel import col, select

from app.db import get_sessionmaker
from app.models.events import Event
from app.models.meetings import MeetingRegistration
from app.models.organizations import Organization
from tests.factories import add_member, commit_setup, make_meeting, make_org, make_table, make_user
from tests.helpers import assert_problem, bearer

CODE = re.compile(r"^[23456789ABCDEFGHJKMNPQRSTVWXYZ]{8}$")


async def _setup(session, **meeting_fields):
    org = await make_org(session)
    table = await make_table(session, org)
    facilitator = await make_user(session)
    await add_member(session, table, facilitator, role="facilitator")
    meeting = await make_meeting(session, table, **meeting_fields)
    return table, meeting, facilitator


async def _rows(session, meeting_id):
    return (
        await session.exec(
            select(MeetingRegistration)
            .where(col(MeetingRegistration.meeting_id) == meeting_id)
            .order_by(col(MeetingRegistration.seq))
        )
    ).all()


async def test_register_waitlist_cancel_and_promote(client, session):
    _, meeting, _ = await _setup(session, capacity=2)
    people = [await make_user(session) for _ in range(4)]
    await commit_setup(session)
    url = f"/v1/meetings/{meeting.id}/registrations"

    answers = []
    for person in people:
        response = await client.post(url, headers=bearer(person))
        assert response.status_code == 201, response.text
        answers.append(response.json())
    assert [a["status"] for a in answers] == [
        "registered",
        "registered",
        "waitlisted",
        "waitlisted",
    ]
    assert [a["waitlist_position"] for a in answers] == [None, None, 1, 2]
    assert all(CODE.match(a["check_in_code"]) for a in answers)
    assert len({a["check_in_code"] for a in answers}) == 4

    # Registering again changes nothing.
    again = await client.post(url, headers=bearer(people[2]))
    assert again.status_code == 200 and again.json()["id"] == answers[2]["id"]

    # A seat freed goes to the first person waiting; the second moves up the list.
    assert (await client.delete(url + "/me", headers=bearer(people[0]))).status_code == 204
    shown = (await client.get(f"/v1/meetings/{meeting.id}", headers=bearer(people[3]))).json()
    assert shown["registrations_count"] == 2 and shown["waitlist_count"] == 1
    assert shown["my_registration"]["waitlist_position"] == 1
    promoted = (await client.get(f"/v1/meetings/{meeting.id}", headers=bearer(people[2]))).json()[
        "my_registration"
    ]
    assert promoted["status"] == "registered"
    # Leaving the waiting list frees no seat.
    assert (await client.delete(url + "/me", headers=bearer(people[3]))).status_code == 204
    assert_problem(await client.delete(url + "/me", headers=bearer(people[3])), 404)
    statuses = [r.status for r in await _rows(session, meeting.id)]
    assert statuses == ["cancelled", "registered", "registered", "cancelled"]
    # Coming back after cancelling is a new registration, at the end of the queue.
    back = await client.post(url, headers=bearer(people[0]))
    assert back.status_code == 201 and back.json()["status"] == "waitlisted"

    types = (
        await session.exec(select(Event.type).where(col(Event.type).like("registration.%")))
    ).all()
    assert types.count("registration.created") == 5
    assert types.count("registration.cancelled") == 2
    assert types.count("registration.promoted") == 1


async def test_unlimited_capacity_never_waitlists(client, session):
    _, meeting, _ = await _setup(session, capacity=0)
    people = [await make_user(session) for _ in range(5)]
    await commit_setup(session)
    for person in people:
        response = await client.post(
            f"/v1/meetings/{meeting.id}/registrations", headers=bearer(person)
        )
        assert response.json()["status"] == "registered"


async def test_who_may_register_and_when(client, session):
    table, plenary, _ = await _setup(session, kind="plenary")
    now = datetime.now(UTC)
    not_yet = await make_meeting(session, table, registration_opens_at=now + timedelta(days=1))
    closed = await make_meeting(
        session,
        table,
        registration_closes_at=now - timedelta(hours=1),
        registration_opens_at=now - timedelta(days=2),
    )
    past = await make_meeting(session, table, starts_at=now - timedelta(days=3))
    member, outsider = await make_user(session), await make_user(session)
    unverified = await make_user(session, verified=False)
    await add_member(session, table, member)
    await commit_setup(session)

    def register(meeting, user):
        return client.post(f"/v1/meetings/{meeting.id}/registrations", headers=bearer(user))

    assert_problem(await register(plenary, outsider), 403, "members_only")
    assert (await register(plenary, member)).status_code == 201
    assert_problem(await register(plenary, unverified), 403, "email_not_verified")
    assert_problem(await register(not_yet, member), 409, "registration_not_open")
    assert_problem(await register(closed, member), 409, "registration_closed")
    assert_problem(await register(past, member), 409, "registration_closed")


async def test_check_in_by_code(client, session):
    table, meeting, facilitator = await _setup(session, capacity=1)
    # Another table of the same organization, with its own facilitator.
    other_table = await make_table(session, await session.get(Organization, table.organization_id))
    other_facilitator = await make_user(session)
    await add_member(session, other_table, other_facilitator, role="facilitator")
    seated, waiting = await make_user(session, name="Anna"), await make_user(session)
    await commit_setup(session)
    base = f"/v1/meetings/{meeting.id}"
    code = (await client.post(base + "/registrations", headers=bearer(seated))).json()[
        "check_in_code"
    ]
    waiting_code = (await client.post(base + "/registrations", headers=bearer(waiting))).json()[
        "check_in_code"
    ]

    def check_in(user, value):
        return client.post(base + "/check-ins", headers=bearer(user), json={"code": value})

    # Another table's facilitator, and participants, cannot check anyone in.
    assert_problem(await check_in(other_facilitator, code), 404)
    assert_problem(await check_in(seated, code), 404)
    assert_problem(await check_in(facilitator, "ZZZZZZZZ"), 422, "unknown_check_in_code")
    assert_problem(await check_in(facilitator, waiting_code), 409, "waitlisted")
    # Typed at the door: lower case and a separator are fine.
    typed = f"{code[:4].lower()}-{code[4:].lower()}"
    done = await check_in(facilitator, typed)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "attended" and done.json()["display_name"] == "Anna"
    assert done.json()["checked_in_at"] is not None
    assert (await check_in(facilitator, code)).json()["status"] == "attended"  # idempotent
    assert_problem(
        await client.delete(base + "/registrations/me", headers=bearer(seated)),
        409,
        "already_attended",
    )

    listed = await client.get(base + "/registrations", headers=bearer(facilitator))
    assert [r["status"] for r in listed.json()["items"]] == ["attended", "waitlisted"]
    assert listed.json()["items"][1]["waitlist_position"] == 1
    only_waiting = await client.get(
        base + "/registrations?status=waitlisted", headers=bearer(facilitator)
    )
    assert [r["user_id"] for r in only_waiting.json()["items"]] == [str(waiting.id)]
    assert_problem(
        await client.get(base + "/registrations", headers=bearer(other_facilitator)), 404
    )
    assert_problem(await client.get(base + "/registrations", headers=bearer(seated)), 404)
    events = (
        await session.exec(select(Event).where(col(Event.type) == "registration.checked_in"))
    ).all()
    assert len(events) == 1 and events[0].actor_id == facilitator.id


async def _committed_setup(capacity, people):
    async with get_sessionmaker()() as setup:
        org = await make_org(setup)
        table = await make_table(setup, org)
        meeting = await make_meeting(setup, table, capacity=capacity)
        users = [await make_user(setup) for _ in range(people)]
        await setup.commit()
    return meeting, users


async def _committed_rows(meeting_id):
    async with get_sessionmaker()() as check:
        return await _rows(check, meeting_id)


async def test_thirty_people_at_once_for_ten_seats(committing_client):
    meeting, users = await _committed_setup(capacity=10, people=30)
    url = f"/v1/meetings/{meeting.id}/registrations"

    responses = await asyncio.gather(
        *(committing_client.post(url, headers=bearer(u)) for u in users)
    )
    assert [r.status_code for r in responses] == [201] * 30
    rows = await _committed_rows(meeting.id)
    assert len(rows) == 30
    # Arrival order is commit order: the first ten to get through hold the seats.
    assert [r.status for r in rows] == ["registered"] * 10 + ["waitlisted"] * 20
    by_user = {r.user_id: r for r in rows}
    for user, response in zip(users, responses, strict=True):
        assert response.json()["status"] == by_user[user.id].status
        assert response.json()["check_in_code"] == by_user[user.id].check_in_code
    waiting = [r for r in rows if r.status == "waitlisted"]
    position = {u.id: r.json()["waitlist_position"] for u, r in zip(users, responses, strict=True)}
    assert [position[r.user_id] for r in waiting] == list(range(1, 21))
    assert len({r.check_in_code for r in rows}) == 30

    # Three seats freed, at once: the first three waiting move up, in order.
    seated = [r for r in rows if r.status == "registered"][:3]
    users_by_id = {u.id: u for u in users}
    cancels = await asyncio.gather(
        *(
            committing_client.delete(url + "/me", headers=bearer(users_by_id[r.user_id]))
            for r in seated
        )
    )
    assert [c.status_code for c in cancels] == [204] * 3
    after = {r.id: r.status for r in await _committed_rows(meeting.id)}
    assert [after[r.id] for r in waiting[:3]] == ["registered"] * 3
    assert [after[r.id] for r in waiting[3:]] == ["waitlisted"] * 17
    assert list(after.values()).count("registered") == 10
    shown = (await committing_client.get(f"/v1/meetings/{meeting.id}")).json()
    assert shown["registrations_count"] == 10 and shown["waitlist_count"] == 17


async def test_no_double_registration_under_concurrent_retries(committing_client):
    meeting, (user,) = await _committed_setup(capacity=5, people=1)
    url = f"/v1/meetings/{meeting.id}/registrations"
    responses = await asyncio.gather(
        *(committing_client.post(url, headers=bearer(user)) for _ in range(8))
    )
    assert sorted(r.status_code for r in responses) == [200] * 7 + [201]
    assert len({r.json()["id"] for r in responses}) == 1
    rows = await _committed_rows(meeting.id)
    assert [r.status for r in rows] == ["registered"]


async def test_leaving_the_table_gives_up_seats_at_members_only_meetings(client, session):
    table, plenary, facilitator = await _setup(session, kind="plenary", capacity=1)
    public = await make_meeting(session, table, kind="public", capacity=1)
    leaving, removed, waiting = [await make_user(session) for _ in range(3)]
    for person in (leaving, removed, waiting):
        await add_member(session, table, person)
    second = await make_meeting(session, table, kind="working_group", capacity=1)
    await commit_setup(session)

    async def register(person, meeting):
        response = await client.post(
            f"/v1/meetings/{meeting.id}/registrations", headers=bearer(person)
        )
        assert response.status_code == 201, response.text
        return response.json()["status"]

    assert await register(leaving, plenary) == "registered"
    assert await register(waiting, plenary) == "waitlisted"
    assert await register(leaving, public) == "registered"
    assert await register(removed, second) == "registered"
    assert await register(waiting, second) == "waitlisted"

    members = f"/v1/tables/{table.id}/memberships"
    left = await client.delete(f"{members}/{leaving.id}", headers=bearer(leaving))
    assert left.status_code == 204
    gone = await client.delete(f"{members}/{removed.id}", headers=bearer(facilitator))
    assert gone.status_code == 204

    def statuses(rows):
        return {r.user_id: r.status for r in rows}

    # Their seats at the members-only meetings went to the person waiting…
    assert statuses(await _rows(session, plenary.id)) == {
        leaving.id: "cancelled",
        waiting.id: "registered",
    }
    assert statuses(await _rows(session, second.id)) == {
        removed.id: "cancelled",
        waiting.id: "registered",
    }
    # …while a public meeting is open to anyone: that seat is kept.
    assert statuses(await _rows(session, public.id)) == {leaving.id: "registered"}
    reasons = (
        await session.exec(select(Event.payload).where(col(Event.type) == "registration.cancelled"))
    ).all()
    assert sorted(p["reason"] for p in reasons) == ["no_longer_member", "no_longer_member"]


async def test_a_meeting_is_held_by_publishing_its_minutes_not_by_a_patch(client, session):
    _, meeting, facilitator = await _setup(
        session, starts_at=datetime.now(UTC) - timedelta(minutes=30)
    )
    await commit_setup(session)
    url = f"/v1/meetings/{meeting.id}"
    body = assert_problem(
        await client.patch(url, headers=bearer(facilitator), json={"status": "held"}),
        409,
        "invalid_status_change",
    )
    assert "minutes" in body["detail"]
    assert (await client.get(url)).json()["status"] == "scheduled"
    published = await client.put(
        url + "/minutes", headers=bearer(facilitator), json={"text": {"it": "Verbale"}}
    )
    assert published.status_code == 200, published.text
    assert (await client.get(url)).json()["status"] == "held"
    assert_problem(
        await client.patch(url, headers=bearer(facilitator), json={"status": "scheduled"}),
        409,
        "invalid_status_change",
    )
