"""iCalendar (RFC 5545) feeds of meetings, for calendar apps.

Times are written in `Europe/Rome` with its VTIMEZONE; each meeting keeps one UID for
life and its SEQUENCE follows the meeting's version, so calendar apps update the event
in place, and a cancelled meeting shows as cancelled rather than disappearing. What the
feed shows is what the caller may see (`meetings_public`): the online link only for
people registered and facilitators.
"""

import uuid
from collections.abc import Sequence
from datetime import date, timedelta

from icalendar import Calendar, Event, vDuration
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.errors import NotFound
from app.models.accounts import User
from app.models.base import TextMap
from app.models.meetings import MEETING_TIMEZONE, Meeting, MeetingPublic
from app.models.organizations import Municipality, Organization
from app.security import (
    calendar_feed_user_id,
    create_calendar_feed_token,
    verify_calendar_feed_token,
)
from app.services.access.content import get_visible_meeting
from app.services.access.tables import get_visible_table
from app.services.meetings.responses import meetings_public

PRODID = "-//Consulta//Consulta API//IT"
UID_DOMAIN = "consulta"
# Feeds carry the most recent meetings; older ones drop off subscribed calendars.
FEED_LIMIT = 500


def meeting_uid(meeting_id: uuid.UUID) -> str:
    return f"{meeting_id}@{UID_DOMAIN}"


def _pick(text: TextMap, locale: str) -> str:
    return text.get(locale) or next(iter(text.values()), "")


def _vevent(
    meeting: Meeting, public: MeetingPublic, locale: str, municipalities: dict[uuid.UUID, str]
) -> Event:
    event = Event()
    event.add("uid", meeting_uid(meeting.id))
    event.add("dtstamp", meeting.updated_at)
    event.add("created", meeting.created_at)
    event.add("last-modified", meeting.updated_at)
    # Version 1 is the first publication: SEQUENCE 0, then one more per change.
    event.add("sequence", meeting.version - 1)
    event.add("dtstart", meeting.starts_at.astimezone(MEETING_TIMEZONE))
    event.add("dtend", meeting.ends_at.astimezone(MEETING_TIMEZONE))
    event.add("summary", _pick(public.title, locale))
    event.add("status", "CANCELLED" if public.status == "cancelled" else "CONFIRMED")
    event.add("categories", [public.kind.replace("_", " ")])
    description = [_pick(public.description, locale)] if public.description else []
    description += [
        f"• {_pick(item.title, locale)}"
        + (f" ({item.duration_minutes} min)" if item.duration_minutes else "")
        for item in public.agenda
    ]
    if public.online_url:
        description.append(public.online_url)
        event.add("url", public.online_url)
    if description:
        event.add("description", "\n".join(description))
    if public.location is not None:
        municipality = municipalities.get(public.location.municipality_id or uuid.UUID(int=0))
        place = [public.location.name, public.location.address, municipality]
        event.add("location", ", ".join(p for p in place if p))
    elif public.format == "online":
        event.add("location", public.online_url or "Online")
    return event


async def _calendar(
    session: AsyncSession,
    actor: User | None,
    org: Organization,
    name: str,
    meetings: Sequence[Meeting],
) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", str(MEETING_TIMEZONE))
    calendar.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(timedelta(hours=1)))
    municipality_ids = {m.location_municipality_id for m in meetings} - {None}
    municipalities: dict[uuid.UUID, str] = (
        dict(
            (
                await session.exec(
                    select(Municipality.id, Municipality.name).where(
                        col(Municipality.id).in_(municipality_ids)
                    )
                )
            ).all()
        )
        if municipality_ids
        else {}
    )
    publics = await meetings_public(session, actor, meetings)
    for meeting, public in zip(meetings, publics, strict=True):
        calendar.add_component(_vevent(meeting, public, org.default_locale, municipalities))
    if meetings:
        # Only the years the feed spans, rather than icalendar's default 1970 to 2038.
        calendar.add_missing_timezones(
            first_date=date(min(m.starts_at for m in meetings).year - 1, 1, 1),
            last_date=date(max(m.ends_at for m in meetings).year + 2, 1, 1),
        )
    return bytes(calendar.to_ical())


async def meeting_ics(session: AsyncSession, actor: User | None, meeting_id: uuid.UUID) -> bytes:
    meeting = await get_visible_meeting(session, actor, meeting_id)
    org = await session.get(Organization, meeting.organization_id)
    assert org is not None
    return await _calendar(session, actor, org, _pick(meeting.title, org.default_locale), [meeting])


async def table_ics(session: AsyncSession, actor: User | None, table_id: uuid.UUID) -> bytes:
    table = await get_visible_table(session, actor, table_id)
    org = await session.get(Organization, table.organization_id)
    assert org is not None
    recent = (
        await session.exec(
            select(Meeting)
            # Meetings hidden by moderation are in nobody's feed (moderators see them in
            # the API, marked hidden).
            .where(col(Meeting.table_id) == table.id, col(Meeting.moderation_status) == "visible")
            .order_by(col(Meeting.starts_at).desc(), col(Meeting.id).desc())
            .limit(FEED_LIMIT)
        )
    ).all()
    return await _calendar(
        session, actor, org, _pick(table.name, org.default_locale), list(reversed(recent))
    )


# --- personal feed URLs (private tables, and the online links of one's meetings) ------


async def table_feed_token(session: AsyncSession, actor: User, table_id: uuid.UUID) -> str:
    """The actor's token for subscribing to a table's calendar they may see."""
    table = await get_visible_table(session, actor, table_id)
    return create_calendar_feed_token(actor.id, table.id, actor.tokens_invalid_before)


async def table_ics_with_token(session: AsyncSession, table_id: uuid.UUID, token: str) -> bytes:
    """The feed as seen by the token's holder. A bad, retired or foreign token, or a
    person who may no longer see the table, is a 404 — as for any table one may not see."""
    user_id = calendar_feed_user_id(token)
    user = await session.get(User, user_id) if user_id is not None else None
    if (
        user is None
        or user.deleted_at is not None
        or not verify_calendar_feed_token(token, user.id, table_id, user.tokens_invalid_before)
    ):
        raise NotFound("No participation table with this id.")
    return await table_ics(session, user, table_id)
