"""Meetings of a participation table: seats and CRUD. The lookups scoped to the actor
are in `app/services/access/content.py`.

A meeting is visible exactly when its table is (`can_see_table_clause`) and run by the
table's facilitators (`facilitates_clause`); a meeting hidden by moderation
(`moderation_status = 'hidden'`) only to those who run the table (`meeting_shown_clause`):
for everyone else it is gone from lists, calendar feeds and lookups (404). Writes that
touch seats lock the meeting row (`SELECT … FOR NO KEY UPDATE OF meetings`), which
serializes registrations per meeting.
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.error_codes import ErrorCode
from app.errors import Conflict, Unprocessable
from app.etag import check_if_match
from app.event_types import EventType
from app.events import record_event
from app.models.accounts import User
from app.models.base import TextMap
from app.models.integrations import Actor, acting_client, as_person
from app.models.meetings import (
    MEETING_TIMEZONE,
    Meeting,
    MeetingCreate,
    MeetingPlanNode,
    MeetingPublic,
    MeetingRegistration,
    MeetingUpdate,
)
from app.models.organizations import Organization
from app.models.tables import ParticipationTable
from app.pagination import PageParams, SortKey, paginate
from app.services.access.content import (
    get_facilitated_meeting,
    get_visible_meeting,
    meeting_shown_clause,
)
from app.services.access.tables import (
    get_facilitated_table,
    get_visible_table,
)
from app.services.audit.write import record_audit
from app.services.meetings.responses import meeting_public, meetings_public, seat_counts
from app.services.organizations.organizations import check_municipalities
from app.services.plans.plans import checked_node_ids
from app.services.validation import (
    Loc,
    invalid,
    null_errors,
    raise_if,
    require_default_locale,
)

# Moves a facilitator may make with PATCH `status` (minutes also mark a meeting held).
# What `PATCH` may do: cancel a meeting, or reinstate a cancelled one. A meeting becomes
# `held` by publishing its minutes (`PUT …/minutes`), and stays so.
STATUS_MOVES = {
    ("scheduled", "cancelled"),
    ("cancelled", "scheduled"),
}
# Changes the people registered should hear about.
SCHEDULE_FIELDS = {"starts_at", "ends_at", "location", "format", "online_url"}

# --- lookups --------------------------------------------------------------------------


# --- seats (callers hold the meeting row lock) -----------------------------------------


async def fill_seats(session: AsyncSession, actor: Actor, meeting: Meeting) -> None:
    """Move people from the waiting list to free seats, earliest arrival first."""
    if meeting.status != "scheduled":
        return
    taken, waiting = (await seat_counts(session, [meeting.id])).get(meeting.id, (0, 0))
    free = waiting if meeting.capacity == 0 else min(waiting, meeting.capacity - taken)
    if free <= 0:
        return
    promoted = (
        await session.exec(
            select(MeetingRegistration)
            .where(
                col(MeetingRegistration.meeting_id) == meeting.id,
                col(MeetingRegistration.status) == "waitlisted",
            )
            .order_by(col(MeetingRegistration.seq))
            .limit(free)
        )
    ).all()
    now = datetime.now(UTC)
    for registration in promoted:
        registration.status = "registered"
        registration.promoted_at = now
        record_event(
            session,
            EventType.REGISTRATION_PROMOTED,
            subject_type="registration",
            subject_id=registration.id,
            actor_id=actor.id,
            actor_client_id=acting_client(actor),
            organization_id=meeting.organization_id,
            payload={"meeting_id": str(meeting.id), "user_id": str(registration.user_id)},
        )
    await session.flush()


async def people_to_notify(session: AsyncSession, meeting_id: uuid.UUID) -> dict[str, list[str]]:
    rows = (
        await session.exec(
            select(MeetingRegistration.user_id, MeetingRegistration.status)
            .where(
                col(MeetingRegistration.meeting_id) == meeting_id,
                col(MeetingRegistration.status).in_(("registered", "waitlisted")),
            )
            .order_by(col(MeetingRegistration.seq))
        )
    ).all()
    return {
        "registered_user_ids": [str(u) for u, s in rows if s == "registered"],
        "waitlisted_user_ids": [str(u) for u, s in rows if s == "waitlisted"],
    }


# --- validation -----------------------------------------------------------------------


def _aware(value: datetime) -> datetime:
    """Times without an offset are Italian local time."""
    return value if value.tzinfo is not None else value.replace(tzinfo=MEETING_TIMEZONE)


def _invalid(loc: Loc, msg: str, code: ErrorCode) -> Unprocessable:
    return invalid(loc, msg, code, detail=msg[0].upper() + msg[1:] + ".")


def _check_times(meeting: Meeting) -> None:
    if meeting.ends_at <= meeting.starts_at:
        raise _invalid(
            ["body", "ends_at"], "a meeting ends after it starts", ErrorCode.INVALID_TIME_RANGE
        )
    opens, closes = meeting.registration_opens_at, meeting.registration_closes_at
    if opens is not None and closes is not None and closes <= opens:
        raise _invalid(
            ["body", "registration_closes_at"],
            "registration closes after it opens",
            ErrorCode.INVALID_REGISTRATION_WINDOW,
        )


async def _validate(
    session: AsyncSession,
    org: Organization,
    table: ParticipationTable,
    data: dict[str, Any],
    meeting: Meeting,
) -> list[uuid.UUID] | None:
    """Check the incoming fields (a `model_dump` of the body) against the organization and
    the table's plan; returns the checked node ids when `node_ids` was sent."""
    texts: list[tuple[Loc, TextMap | None, bool]] = [
        (["body", "title"], data.get("title"), True),
        (["body", "description"], data.get("description"), False),
    ]
    require_default_locale(
        org,
        texts
        + [
            (["body", "agenda", i, field], item.get(field), field == "title")
            for i, item in enumerate(data.get("agenda") or [])
            for field in ("title", "description")
        ],
    )
    location = data.get("location")
    if location and location.get("municipality_id"):
        await check_municipalities(
            session, org, [location["municipality_id"]], ["body", "location", "municipality_id"]
        )
    _check_times(meeting)
    if data.get("node_ids") is None:
        return None
    return await checked_node_ids(session, table.plan_id, data["node_ids"])


def _apply(meeting: Meeting, data: dict[str, Any]) -> None:
    for field in (
        "title",
        "kind",
        "format",
        "starts_at",
        "ends_at",
        "capacity",
        "agenda",
        "registration_opens_at",
        "registration_closes_at",
        "status",
    ):
        if field in data:
            setattr(meeting, field, data[field])
    if "description" in data:
        meeting.description = data["description"] or {}
    if "online_url" in data:
        meeting.online_url = str(data["online_url"]) if data["online_url"] else None
    if "location" in data:
        location = data["location"] or {}
        meeting.location_name = location.get("name") or None
        meeting.location_address = location.get("address") or None
        meeting.location_municipality_id = location.get("municipality_id")


async def set_meeting_nodes(
    session: AsyncSession, meeting_id: uuid.UUID, node_ids: Sequence[uuid.UUID]
) -> None:
    """Make the meeting's set of linked plan nodes exactly `node_ids`."""
    await session.exec(delete(MeetingPlanNode).where(col(MeetingPlanNode.meeting_id) == meeting_id))
    session.add_all(MeetingPlanNode(meeting_id=meeting_id, node_id=n) for n in node_ids)


def _dump(data: MeetingCreate | MeetingUpdate) -> dict[str, Any]:
    return data.model_dump(exclude_unset=True, mode="python")


# --- CRUD -----------------------------------------------------------------------------


async def create_meeting(
    session: AsyncSession, actor: Actor, table_id: uuid.UUID, data: MeetingCreate
) -> tuple[MeetingPublic, int]:
    table = await get_facilitated_table(session, actor, table_id)
    if table.status == "archived":
        raise Conflict("This table is archived.", code=ErrorCode.TABLE_ARCHIVED)
    org = await session.get(Organization, table.organization_id)
    assert org is not None
    fields = data.model_dump(mode="python")
    meeting = Meeting(
        table_id=table.id,
        organization_id=table.organization_id,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        created_by_id=actor.id,
    )
    _apply(meeting, fields)
    node_ids = await _validate(session, org, table, fields, meeting) or []
    session.add(meeting)
    await session.flush()
    await set_meeting_nodes(session, meeting.id, node_ids)
    record_audit(
        session,
        EventType.MEETING_CREATED,
        organization_id=meeting.organization_id,
        actor_id=actor.id,
        actor_client_id=acting_client(actor),
        target_type="meeting",
        target_id=meeting.id,
        data={"table_id": str(table.id), "starts_at": meeting.starts_at.isoformat()},
    )
    await session.flush()
    return await meeting_public(session, as_person(actor), meeting), meeting.version


async def list_meetings(
    session: AsyncSession,
    actor: User | None,
    table_id: uuid.UUID,
    params: PageParams,
    starts_from: datetime | None = None,
    starts_to: datetime | None = None,
) -> tuple[list[MeetingPublic], str | None]:
    """Meetings by start time; `from`/`to` keep those overlapping [from, to)."""
    table = await get_visible_table(session, actor, table_id)
    stmt = (
        select(Meeting)
        .join(ParticipationTable, col(ParticipationTable.id) == Meeting.table_id)
        .where(col(Meeting.table_id) == table.id, meeting_shown_clause(actor))
    )
    if starts_from is not None:
        stmt = stmt.where(col(Meeting.ends_at) > _aware(starts_from))
    if starts_to is not None:
        stmt = stmt.where(col(Meeting.starts_at) < _aware(starts_to))
    keys = [SortKey(Meeting.starts_at, kind=datetime), SortKey(Meeting.id, kind=uuid.UUID)]
    meetings, cursor = await paginate(
        session, stmt, keys, params, key_of=lambda m: (m.starts_at, m.id)
    )
    return await meetings_public(session, actor, meetings), cursor


async def get_meeting(
    session: AsyncSession, actor: User | None, meeting_id: uuid.UUID
) -> tuple[MeetingPublic, int]:
    meeting = await get_visible_meeting(session, actor, meeting_id)
    return await meeting_public(session, actor, meeting), meeting.version


# Fields a PATCH may not clear.
NOT_NULL = (
    "title",
    "kind",
    "format",
    "starts_at",
    "ends_at",
    "capacity",
    "node_ids",
    "agenda",
    "status",
)


async def update_meeting(
    session: AsyncSession,
    actor: Actor,
    meeting_id: uuid.UUID,
    data: MeetingUpdate,
    if_match: str | None,
) -> tuple[MeetingPublic, int]:
    meeting = await get_facilitated_meeting(session, actor, meeting_id, for_update=True)
    check_if_match(if_match, meeting.version)
    changes = _dump(data)
    raise_if(null_errors(data, NOT_NULL))
    if not changes:
        return await meeting_public(session, as_person(actor), meeting), meeting.version
    old_status = meeting.status
    new_status = changes.get("status", old_status)
    if new_status != old_status and (old_status, new_status) not in STATUS_MOVES:
        how = " (publish its minutes instead)" if new_status == "held" else ""
        raise Conflict(
            f"A {old_status} meeting cannot become {new_status}{how}.",
            code=ErrorCode.INVALID_STATUS_CHANGE,
        )
    if "capacity" in changes and changes["capacity"] != 0:
        taken = (await seat_counts(session, [meeting.id])).get(meeting.id, (0, 0))[0]
        if changes["capacity"] < taken:
            raise Conflict(
                f"{taken} people hold a seat; capacity cannot be lower.",
                code=ErrorCode.CAPACITY_BELOW_REGISTRATIONS,
            )
    table = await session.get(ParticipationTable, meeting.table_id)
    org = await session.get(Organization, meeting.organization_id)
    assert table is not None and org is not None
    _apply(meeting, changes)
    node_ids = await _validate(session, org, table, changes, meeting)
    if node_ids is not None:
        await set_meeting_nodes(session, meeting.id, node_ids)
    meeting.version += 1
    await _record_update(session, actor, meeting, old_status, changes)
    await session.flush()
    if "capacity" in changes or new_status == "scheduled":
        await fill_seats(session, actor, meeting)
    await session.refresh(meeting)
    return await meeting_public(session, as_person(actor), meeting), meeting.version


async def _record_update(
    session: AsyncSession, actor: Actor, meeting: Meeting, old_status: str, changes: dict[str, Any]
) -> None:
    def event(type: EventType, payload: dict[str, Any]) -> None:
        # Audited with the changed field names; who must be told (registrations' user
        # ids) goes on the event only, not into the permanent record.
        data = {k: v for k, v in payload.items() if not k.endswith("_user_ids")}
        record_audit(
            session,
            type,
            organization_id=meeting.organization_id,
            actor_id=actor.id,
            target_type="meeting",
            target_id=meeting.id,
            actor_client_id=acting_client(actor),
            data={"table_id": str(meeting.table_id), **data},
            event_payload={"table_id": str(meeting.table_id), **payload},
        )

    if meeting.status != old_status:
        # Cancellation carries who must be told (notifications are built on events).
        notify = (
            await people_to_notify(session, meeting.id) if meeting.status == "cancelled" else {}
        )
        event(
            EventType.MEETING_CANCELLED
            if meeting.status == "cancelled"
            else EventType.MEETING_REINSTATED,
            notify,
        )
    fields = sorted(set(changes) - {"status"})
    if fields:
        payload: dict[str, Any] = {"fields": fields}
        if SCHEDULE_FIELDS & set(fields) and meeting.status == "scheduled":
            payload.update(await people_to_notify(session, meeting.id))
        event(EventType.MEETING_UPDATED, payload)
