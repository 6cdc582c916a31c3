"""The state of a meeting's live session (`live_status`, `current_agenda_item`),
stream tickets and presence."""

import hashlib
import secrets
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import get_settings
from app.error_codes import ErrorCode
from app.errors import Conflict, Unauthorized, Unprocessable
from app.event_types import EventType
from app.events import record_event
from app.models.accounts import User
from app.models.live import LivePresence, LiveState, LiveTicket, LiveTicketPublic, LiveUpdate
from app.models.meetings import Meeting
from app.services.live.access import live_access, require_facilitator


def live_state(meeting: Meeting) -> LiveState:
    return LiveState(
        meeting_id=meeting.id,
        live_status=meeting.live_status,
        current_agenda_item=meeting.current_agenda_item,
    )


async def update_live(
    session: AsyncSession, actor: User, meeting_id: uuid.UUID, data: LiveUpdate
) -> LiveState:
    """A facilitator starts or ends the session and says which agenda item is on."""
    access = await live_access(session, actor, meeting_id, for_update=True)
    require_facilitator(access)
    meeting = access.meeting
    if meeting.status == "cancelled" and data.live_status == "live":
        raise Conflict("This meeting was cancelled.", code=ErrorCode.MEETING_CANCELLED)
    item = data.current_agenda_item
    if item is not None and item >= len(meeting.agenda):
        msg = f"The meeting's agenda has {len(meeting.agenda)} items (indexes from 0)."
        raise Unprocessable(
            msg,
            code=ErrorCode.UNKNOWN_AGENDA_ITEM,
            errors=[
                {
                    "loc": ["body", "current_agenda_item"],
                    "msg": msg,
                    "code": ErrorCode.UNKNOWN_AGENDA_ITEM,
                }
            ],
        )
    if (meeting.live_status, meeting.current_agenda_item) != (data.live_status, item):
        meeting.live_status = data.live_status
        meeting.current_agenda_item = item
        record_event(
            session,
            EventType.MEETING_LIVE_UPDATED,
            subject_type="meeting",
            subject_id=meeting.id,
            actor_id=actor.id,
            organization_id=meeting.organization_id,
            meeting_id=meeting.id,
            payload={"live_status": data.live_status, "current_agenda_item": item},
        )
        await session.flush()
    return live_state(meeting)


# --- tickets --------------------------------------------------------------------------


def _hash(ticket: str) -> str:
    return hashlib.sha256(ticket.encode()).hexdigest()


async def issue_ticket(
    session: AsyncSession, actor: User, meeting_id: uuid.UUID
) -> LiveTicketPublic:
    """A single-use ticket, valid `LIVE_TICKET_SECONDS`, to open this meeting's stream."""
    access = await live_access(session, actor, meeting_id)
    ticket = secrets.token_urlsafe(32)
    expires_at = datetime.now(UTC) + timedelta(seconds=get_settings().live_ticket_seconds)
    # Expired tickets go as new ones come: the table stays small without a sweeper.
    await session.exec(delete(LiveTicket).where(col(LiveTicket.expires_at) < func.now()))
    session.add(
        LiveTicket(
            token_hash=_hash(ticket),
            meeting_id=access.meeting.id,
            user_id=actor.id,
            expires_at=expires_at,
        )
    )
    await session.flush()
    return LiveTicketPublic(ticket=ticket, expires_at=expires_at)


async def redeem_ticket(session: AsyncSession, ticket: str, meeting_id: uuid.UUID) -> User:
    """The person a ticket was issued to; the ticket is used up (deleted) atomically, so
    it opens one stream, once, on any server; 401 when unknown, used, expired or for
    another meeting."""
    user_id = (
        await session.exec(
            delete(LiveTicket)
            .where(
                col(LiveTicket.token_hash) == _hash(ticket),
                col(LiveTicket.meeting_id) == meeting_id,
                col(LiveTicket.expires_at) > func.now(),
            )
            .returning(col(LiveTicket.user_id))
        )
    ).scalar_one_or_none()
    user = await session.get(User, user_id) if user_id is not None else None
    if user is None or user.deleted_at is not None:
        raise Unauthorized("This ticket is invalid, used or expired; ask for a new one.")
    return user


# --- presence -------------------------------------------------------------------------


async def presence_count(session: AsyncSession, meeting_id: uuid.UUID) -> int:
    """Distinct people following the meeting's stream on any server (signed-out
    followers count one per connection)."""
    count = (
        await session.exec(
            select(
                func.count(func.distinct(func.coalesce(LivePresence.user_id, LivePresence.id)))
            ).where(
                col(LivePresence.meeting_id) == meeting_id,
                col(LivePresence.expires_at) > func.now(),
            )
        )
    ).one()
    return int(count)


async def get_presence(session: AsyncSession, actor: User | None, meeting_id: uuid.UUID) -> int:
    await live_access(session, actor, meeting_id)
    return await presence_count(session, meeting_id)
