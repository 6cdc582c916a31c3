"""iCalendar feeds: parseable, Europe/Rome times, stable UIDs, cancellations, visibility."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar

from tests.factories import (
    add_member,
    commit_setup,
    make_meeting,
    make_municipality,
    make_org,
    make_table,
    make_user,
)
from tests.helpers import assert_problem, bearer

ROME = ZoneInfo("Europe/Rome")


def _events(response):
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    calendar = Calendar.from_ical(response.content)
    assert calendar["VERSION"] == "2.0"
    return calendar, calendar.walk("VEVENT")


async def test_meeting_ics_has_rome_times_and_updates_in_place(client, session):
    org = await make_org(session)
    bari = await make_municipality(session, org, "Bari")
    table = await make_table(session, org)
    facilitator = await make_user(session)
    await add_member(session, table, facilitator, role="facilitator")
    # 28 April 2022, 16:00 in Bari is 14:00 UTC (summer time).
    meeting = await make_meeting(
        session,
        table,
        starts_at=datetime(2030, 4, 28, 14, tzinfo=UTC),
        title={"it": "Seconda riunione plenaria", "en": "Second plenary"},
        description={"it": "Riunione di tutti gli iscritti"},
        location_name="Sala consiliare",
        location_municipality_id=bari.id,
        agenda=[{"title": {"it": "Saluti"}, "duration_minutes": 10}],
    )
    await commit_setup(session)
    url = f"/v1/meetings/{meeting.id}.ics"

    calendar, (event,) = _events(await client.get(url))
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Europe/Rome"]
    start = event.decoded("DTSTART")
    assert event["DTSTART"].params["TZID"] == "Europe/Rome"
    assert (start.hour, start.minute) == (16, 0)
    assert start == datetime(2030, 4, 28, 16, tzinfo=ROME)
    assert event.decoded("DTEND") == datetime(2030, 4, 28, 18, tzinfo=ROME)
    assert str(event["UID"]) == f"{meeting.id}@consulta"
    assert str(event["SUMMARY"]) == "Seconda riunione plenaria"
    assert str(event["STATUS"]) == "CONFIRMED"
    assert str(event["LOCATION"]) == "Sala consiliare, Bari"
    assert "Saluti (10 min)" in str(event["DESCRIPTION"])
    assert event.decoded("SEQUENCE") == 0

    # Winter time: 10:00 in Rome is 09:00 UTC.
    patched = await client.patch(
        f"/v1/meetings/{meeting.id}",
        headers=bearer(facilitator),
        json={"starts_at": "2030-12-03T09:00:00Z", "ends_at": "2030-12-03T11:00:00Z"},
    )
    assert patched.status_code == 200
    _, (moved,) = _events(await client.get(url))
    assert moved.decoded("DTSTART") == datetime(2030, 12, 3, 10, tzinfo=ROME)
    assert moved["DTSTART"].to_ical() == b"20301203T100000"
    assert moved.decoded("SEQUENCE") == 1

    await client.patch(
        f"/v1/meetings/{meeting.id}", headers=bearer(facilitator), json={"status": "cancelled"}
    )
    _, (cancelled,) = _events(await client.get(url))
    assert str(cancelled["STATUS"]) == "CANCELLED"
    assert str(cancelled["UID"]) == f"{meeting.id}@consulta"
    assert cancelled.decoded("SEQUENCE") == 2


async def test_table_calendar_lists_its_meetings(client, session):
    org = await make_org(session)
    table = await make_table(session, org, name={"it": "Tavolo dei giovani"})
    other = await make_table(session, org)
    base = datetime.now(UTC).replace(microsecond=0) + timedelta(days=10)
    meetings = [
        await make_meeting(session, table, starts_at=base + timedelta(days=d)) for d in (2, 0, 1)
    ]
    await make_meeting(session, table, starts_at=base, status="cancelled")
    await make_meeting(session, other, starts_at=base)
    await commit_setup(session)

    calendar, events = _events(await client.get(f"/v1/tables/{table.id}/calendar.ics"))
    assert str(calendar["X-WR-CALNAME"]) == "Tavolo dei giovani"
    assert len(events) == 4
    assert {str(e["UID"]) for e in events} >= {f"{m.id}@consulta" for m in meetings}
    assert [str(e["STATUS"]) for e in events].count("CANCELLED") == 1
    starts = [e.decoded("DTSTART") for e in events]
    assert starts == sorted(starts)
    assert all(e["DTSTART"].params["TZID"] == "Europe/Rome" for e in events)


async def test_private_calendars_and_online_links(client, session):
    org = await make_org(session)
    private = await make_table(session, org, visibility="private")
    public = await make_table(session, org)
    hidden = await make_meeting(session, private)
    online = await make_meeting(
        session, public, format="online", online_url="https://meet.example.org/segreto"
    )
    member, outsider, registered = [await make_user(session) for _ in range(3)]
    await add_member(session, private, member)
    await commit_setup(session)

    for headers in ({}, bearer(outsider)):
        assert_problem(
            await client.get(f"/v1/tables/{private.id}/calendar.ics", headers=headers), 404
        )
        assert_problem(await client.get(f"/v1/meetings/{hidden.id}.ics", headers=headers), 404)
    _, events = _events(
        await client.get(f"/v1/tables/{private.id}/calendar.ics", headers=bearer(member))
    )
    assert [str(e["UID"]) for e in events] == [f"{hidden.id}@consulta"]

    anonymous = await client.get(f"/v1/meetings/{online.id}.ics")
    assert b"segreto" not in anonymous.content
    await client.post(f"/v1/meetings/{online.id}/registrations", headers=bearer(registered))
    _, (event,) = _events(
        await client.get(f"/v1/meetings/{online.id}.ics", headers=bearer(registered))
    )
    assert str(event["URL"]) == "https://meet.example.org/segreto"


async def test_personal_feed_url_opens_a_private_table_calendar(client, session):
    """Calendar apps send no Authorization header: a member's feed URL carries a token
    that works for private tables and dies with a sign-out everywhere."""
    from sqlmodel import col, update

    from app.models.accounts import User

    org = await make_org(session)
    table = await make_table(session, org, visibility="private")
    member = await make_user(session)
    await add_member(session, table, member)
    outsider = await make_user(session)
    await make_meeting(session, table, title={"it": "Riunione riservata"})
    await commit_setup(session)
    ics = f"/v1/tables/{table.id}/calendar.ics"

    assert_problem(await client.get(ics), 404)
    assert_problem(await client.get(f"/v1/tables/{table.id}/calendar-feed"), 401)
    assert_problem(
        await client.get(f"/v1/tables/{table.id}/calendar-feed", headers=bearer(outsider)), 404
    )
    feed = await client.get(f"/v1/tables/{table.id}/calendar-feed", headers=bearer(member))
    assert feed.status_code == 200, feed.text
    url = feed.json()["url"]
    assert url.startswith(f"http://testserver{ics}?token=")
    _, (event,) = _events(await client.get(url.removeprefix("http://testserver")))
    assert str(event["SUMMARY"]) == "Riunione riservata"

    token = url.split("token=")[1]
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert_problem(await client.get(f"{ics}?token={forged}"), 404)
    outsider_token = token.replace(member.id.hex, outsider.id.hex)
    assert_problem(await client.get(f"{ics}?token={outsider_token}"), 404)
    other_table = await make_table(session, org, visibility="private")
    await add_member(session, other_table, member)
    await commit_setup(session)
    assert_problem(await client.get(f"/v1/tables/{other_table.id}/calendar.ics?token={token}"), 404)

    # Signing out everywhere (as a password reset does) retires the URL.
    await session.exec(
        update(User)
        .where(col(User.id) == member.id)
        .values(tokens_invalid_before=datetime.now(UTC))
    )
    await commit_setup(session)
    assert_problem(await client.get(url.removeprefix("http://testserver")), 404)
