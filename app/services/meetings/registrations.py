"""Meeting registrations (seats and the waiting list) and check-ins; minutes are
`minutes.py`.

Capacity and "one registration per person" hold under any concurrency because every
write locks the meeting row first (`get_visible_meeting(..., for_update=True)`), then
counts seats and decides; a partial unique index on (meeting_id, user_id) for
non-cancelled rows is the backstop. Arrival order is `seq`, an identity assigned at
insert while the lock is held, so the waiting list moves up in the order people came.
"""

import re
import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import exists, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.error_codes import ErrorCode
from app.errors import Conflict, Forbidden, NotFound, Unprocessable
from app.event_types import EventType
from app.events import record_event
from app.models.accounts import User
from app.models.meetings import (
    CheckIn,
    Meeting,
    MeetingRegistration,
    RegistrationPublic,
    RegistrationView,
)
from app.models.tables import ParticipationTable
from app.pagination import PageParams, SortKey, paginate
from app.services.access.content import (
    MEETING_NOT_FOUND,
    get_facilitated_meeting,
    get_visible_meeting,
    meeting_shown_clause,
)
from app.services.access.tables import can_see_table_clause, facilitates, member_clause
from app.services.meetings.meetings import fill_seats
from app.services.meetings.responses import (
    seat_counts,
    waitlist_position,
)
from app.services.validation import field_error

# Check-in codes: 8 characters without look-alikes (no 0/O, 1/I/L, U): ~39 bits, read out
# or typed at the door; unique per meeting.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 8
# Meetings for the table's members only; thematic and public meetings are open to anyone
# who can see the table.
MEMBERS_ONLY_KINDS = ("plenary", "working_group")


def new_check_in_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(code: str) -> str:
    return re.sub(r"[\s-]", "", code).upper()


def _to_public(r: MeetingRegistration, position: int | None) -> dict[str, Any]:
    return {
        "id": r.id,
        "meeting_id": r.meeting_id,
        "user_id": r.user_id,
        "status": r.status,
        "check_in_code": r.check_in_code,
        "waitlist_position": position if r.status == "waitlisted" else None,
        "promoted_at": r.promoted_at,
        "cancelled_at": r.cancelled_at,
        "checked_in_at": r.checked_in_at,
        "created_at": r.created_at,
    }


async def _public(session: AsyncSession, registration: MeetingRegistration) -> RegistrationPublic:
    position = (
        await session.exec(
            select(waitlist_position()).where(col(MeetingRegistration.id) == registration.id)
        )
    ).one()
    return RegistrationPublic(**_to_public(registration, position))


async def _active_registration(
    session: AsyncSession, meeting_id: uuid.UUID, user_id: uuid.UUID
) -> MeetingRegistration | None:
    return (
        await session.exec(
            select(MeetingRegistration).where(
                col(MeetingRegistration.meeting_id) == meeting_id,
                col(MeetingRegistration.user_id) == user_id,
                col(MeetingRegistration.status) != "cancelled",
            )
        )
    ).one_or_none()


async def _unused_code(session: AsyncSession, meeting_id: uuid.UUID) -> str:
    """A fresh code; the meeting row is locked, so no one else can take it meanwhile."""
    while True:
        code = new_check_in_code()
        taken = (
            await session.exec(
                select(MeetingRegistration.id).where(
                    col(MeetingRegistration.meeting_id) == meeting_id,
                    col(MeetingRegistration.check_in_code) == code,
                )
            )
        ).first()
        if taken is None:
            return code


def _event(
    session: AsyncSession,
    type: EventType,
    actor: User,
    meeting: Meeting,
    r: MeetingRegistration,
    **payload: Any,
) -> None:
    record_event(
        session,
        type,
        subject_type="registration",
        subject_id=r.id,
        actor_id=actor.id,
        organization_id=meeting.organization_id,
        payload={"meeting_id": str(meeting.id), "user_id": str(r.user_id), **payload},
    )


async def _check_open(session: AsyncSession, actor: User, meeting: Meeting) -> None:
    now = datetime.now(UTC)
    if meeting.status != "scheduled":
        raise Conflict(f"This meeting is {meeting.status}.", code=ErrorCode.MEETING_NOT_SCHEDULED)
    if meeting.registration_opens_at is not None and now < meeting.registration_opens_at:
        raise Conflict(
            "Registration for this meeting has not opened yet.",
            code=ErrorCode.REGISTRATION_NOT_OPEN,
        )
    if now >= (meeting.registration_closes_at or meeting.ends_at):
        raise Conflict(
            "Registration for this meeting is closed.", code=ErrorCode.REGISTRATION_CLOSED
        )
    if meeting.kind not in MEMBERS_ONLY_KINDS:
        return
    is_member = (
        await session.exec(
            select(
                exists().where(col(ParticipationTable.id) == meeting.table_id, member_clause(actor))
            )
        )
    ).one()
    if not is_member and not await facilitates(session, actor, meeting.table_id):
        raise Forbidden(
            f"This {meeting.kind.replace('_', ' ')} meeting is for the table's "
            "members; join the table first.",
            code=ErrorCode.MEMBERS_ONLY,
        )


async def register(
    session: AsyncSession, actor: User, meeting_id: uuid.UUID
) -> tuple[RegistrationPublic, bool]:
    """Register the caller: a seat if one is free, else the waiting list. Idempotent: an
    existing registration is returned as it is. Returns it and whether it is new."""
    meeting = await get_visible_meeting(session, actor, meeting_id, for_update=True, write=True)
    existing = await _active_registration(session, meeting.id, actor.id)
    if existing is not None:
        return await _public(session, existing), False
    await _check_open(session, actor, meeting)
    table = await session.get(ParticipationTable, meeting.table_id)
    if table is not None and table.status == "archived":
        raise Conflict("This table is archived.", code=ErrorCode.TABLE_ARCHIVED)
    taken, _ = (await seat_counts(session, [meeting.id])).get(meeting.id, (0, 0))
    seated = meeting.capacity == 0 or taken < meeting.capacity
    registration = MeetingRegistration(
        meeting_id=meeting.id,
        user_id=actor.id,
        status="registered" if seated else "waitlisted",
        check_in_code=await _unused_code(session, meeting.id),
    )
    session.add(registration)
    await session.flush()
    _event(
        session,
        EventType.REGISTRATION_CREATED,
        actor,
        meeting,
        registration,
        status=registration.status,
    )
    return await _public(session, registration), True


async def _meeting_to_leave(session: AsyncSession, actor: User, meeting_id: uuid.UUID) -> Meeting:
    """The meeting, locked like `get_visible_meeting(..., for_update=True)`, if the actor
    may see it — or holds a registration for it: hidden by moderation since, it keeps its
    registered people, who may still give their place up."""
    registered = exists().where(
        col(MeetingRegistration.meeting_id) == Meeting.id,
        col(MeetingRegistration.user_id) == actor.id,
        col(MeetingRegistration.status) != "cancelled",
    )
    meeting = (
        await session.exec(
            select(Meeting)
            .join(ParticipationTable, col(ParticipationTable.id) == Meeting.table_id)
            .where(
                col(Meeting.id) == meeting_id,
                can_see_table_clause(actor),
                or_(meeting_shown_clause(actor), registered),
            )
            .with_for_update(of=Meeting, key_share=True)
        )
    ).one_or_none()
    if meeting is None:
        raise NotFound(MEETING_NOT_FOUND)
    return meeting


async def cancel_registration(session: AsyncSession, actor: User, meeting_id: uuid.UUID) -> None:
    """Give up a seat (the first person waiting takes it) or a place on the waiting list,
    also on a meeting hidden by moderation since."""
    meeting = await _meeting_to_leave(session, actor, meeting_id)
    registration = await _active_registration(session, meeting.id, actor.id)
    if registration is None:
        raise NotFound("You are not registered for this meeting.")
    if registration.status == "attended":
        raise Conflict("You attended this meeting already.", code=ErrorCode.ALREADY_ATTENDED)
    await _give_up_place(session, actor, meeting, registration)


async def _give_up_place(
    session: AsyncSession,
    actor: User,
    meeting: Meeting,
    registration: MeetingRegistration,
    **payload: Any,
) -> None:
    """Cancel a seat or a waiting-list place (the meeting row is locked); a freed seat
    goes to the first person waiting."""
    seated = registration.status == "registered"
    registration.status = "cancelled"
    registration.cancelled_at = datetime.now(UTC)
    await session.flush()
    _event(
        session,
        EventType.REGISTRATION_CANCELLED,
        actor,
        meeting,
        registration,
        had_seat=seated,
        **payload,
    )
    if seated:
        await fill_seats(session, actor, meeting)


async def release_members_only_seats(
    session: AsyncSession, actor: User, table_id: uuid.UUID, user_id: uuid.UUID
) -> int:
    """Someone is no longer a member of the table (left or removed): their places at its
    upcoming members-only meetings go to the people waiting. Returns how many.

    The meetings are locked first, as registering does (NO KEY UPDATE, in id order), and
    the person's registrations read afterwards: a registration committed meanwhile is
    seen, and one still to come finds the membership gone."""
    meetings = (
        await session.exec(
            select(Meeting)
            .where(
                col(Meeting.table_id) == table_id,
                col(Meeting.kind).in_(MEMBERS_ONLY_KINDS),
                col(Meeting.status) == "scheduled",
                col(Meeting.starts_at) > datetime.now(UTC),
            )
            .order_by(col(Meeting.id))
            .with_for_update(key_share=True)
        )
    ).all()
    released = 0
    for meeting in meetings:
        registration = await _active_registration(session, meeting.id, user_id)
        if registration is None or registration.status not in ("registered", "waitlisted"):
            continue
        await _give_up_place(session, actor, meeting, registration, reason="no_longer_member")
        released += 1
    return released


async def list_registrations(
    session: AsyncSession,
    actor: User,
    meeting_id: uuid.UUID,
    params: PageParams,
    status: str | None = None,
) -> tuple[list[RegistrationView], str | None]:
    """Facilitators' view, in arrival order."""
    meeting = await get_facilitated_meeting(session, actor, meeting_id)
    stmt = (
        select(MeetingRegistration, User.display_name, waitlist_position())
        .join(User, col(User.id) == MeetingRegistration.user_id)
        .where(col(MeetingRegistration.meeting_id) == meeting.id)
    )
    if status is not None:
        stmt = stmt.where(col(MeetingRegistration.status) == status)
    rows, cursor = await paginate(
        session,
        stmt,
        [SortKey(MeetingRegistration.seq, kind=int)],
        params,
        key_of=lambda row: (row[0].seq,),
    )
    return [
        RegistrationView(**_to_public(r, position), display_name=name) for r, name, position in rows
    ], cursor


async def check_in(
    session: AsyncSession, actor: User, meeting_id: uuid.UUID, data: CheckIn
) -> RegistrationView:
    """Mark attendance by check-in code (idempotent for people already checked in)."""
    meeting = await get_facilitated_meeting(session, actor, meeting_id, for_update=True)
    if meeting.status == "cancelled":
        raise Conflict("This meeting is cancelled.", code=ErrorCode.MEETING_CANCELLED)
    registration = (
        await session.exec(
            select(MeetingRegistration).where(
                col(MeetingRegistration.meeting_id) == meeting.id,
                col(MeetingRegistration.check_in_code) == normalize_code(data.code),
            )
        )
    ).one_or_none()
    if registration is None:
        raise Unprocessable(
            "No registration for this meeting has this code.",
            code=ErrorCode.UNKNOWN_CHECK_IN_CODE,
            errors=[field_error(["body", "code"], "unknown code", ErrorCode.UNKNOWN_CHECK_IN_CODE)],
        )
    if registration.status == "waitlisted":
        raise Conflict(
            "This person is on the waiting list, without a seat.", code=ErrorCode.WAITLISTED
        )
    if registration.status == "cancelled":
        raise Conflict("This registration was cancelled.", code=ErrorCode.REGISTRATION_CANCELLED)
    if registration.status == "registered":
        registration.status = "attended"
        registration.checked_in_at = datetime.now(UTC)
        await session.flush()
        _event(session, EventType.REGISTRATION_CHECKED_IN, actor, meeting, registration)
    user = await session.get(User, registration.user_id)
    assert user is not None
    return RegistrationView(**_to_public(registration, None), display_name=user.display_name)


# --- minutes --------------------------------------------------------------------------
