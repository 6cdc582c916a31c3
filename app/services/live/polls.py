"""Facilitators open and close a poll live, and the results pushed as ballots arrive."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.error_codes import ErrorCode
from app.errors import Conflict, Forbidden
from app.event_types import EventType
from app.events import record_event
from app.models.accounts import User
from app.models.polls import Poll, PollOption, PollPublic
from app.services.access.content import poll_context
from app.services.polls.polls import poll_public, poll_status, results_visible

# A poll opened live with its closing time already past stays open this long.
DEFAULT_OPEN_MINUTES = 60


async def _facilitated_poll(
    session: AsyncSession, actor: User, poll_id: uuid.UUID
) -> tuple[Poll, bool]:
    poll, ctx = await poll_context(session, actor, poll_id)
    if not ctx.is_facilitator:
        raise Forbidden(
            "Only the table's facilitators run its polls.", code=ErrorCode.NOT_FACILITATOR
        )
    locked = (
        await session.exec(
            select(Poll)
            .where(col(Poll.id) == poll.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).one()
    return locked, ctx.is_facilitator


def _event(session: AsyncSession, type: EventType, actor: User, poll: Poll) -> None:
    record_event(
        session,
        type,
        subject_type="poll",
        subject_id=poll.id,
        actor_id=actor.id,
        organization_id=poll.organization_id,
        meeting_id=poll.meeting_id,
        payload={"poll_id": str(poll.id)},
    )


async def open_poll(session: AsyncSession, actor: User, poll_id: uuid.UUID) -> PollPublic:
    """Open an upcoming poll now (idempotent on an open one; 409 once closed)."""
    poll, facilitator = await _facilitated_poll(session, actor, poll_id)
    now = datetime.now(UTC)
    status = poll_status(poll, now)
    if status == "closed":
        raise Conflict("This poll has closed.", code=ErrorCode.POLL_CLOSED)
    if status == "upcoming":
        poll.opens_at = now
        if poll.closes_at <= now:
            poll.closes_at = now + timedelta(minutes=DEFAULT_OPEN_MINUTES)
        _event(session, EventType.POLL_OPENED, actor, poll)
        await session.flush()
    return await poll_public(session, actor, poll, facilitator=facilitator)


async def close_poll(session: AsyncSession, actor: User, poll_id: uuid.UUID) -> PollPublic:
    """Close an open poll now (idempotent on a closed one; 409 while upcoming)."""
    poll, facilitator = await _facilitated_poll(session, actor, poll_id)
    now = datetime.now(UTC)
    status = poll_status(poll, now)
    if status == "upcoming":
        raise Conflict("This poll is not open yet.", code=ErrorCode.POLL_NOT_OPEN)
    if status == "open":
        poll.closes_at = now
        _event(session, EventType.POLL_CLOSED, actor, poll)
        await session.flush()
    return await poll_public(session, actor, poll, facilitator=facilitator)


async def poll_results(
    session: AsyncSession, poll_ids: list[uuid.UUID]
) -> dict[uuid.UUID, tuple[dict[str, Any], dict[str, Any]]]:
    """For each poll: (what participants see, what facilitators see) — the current
    counts, in one query per batch; participants get counts per `results_visibility`."""
    if not poll_ids:
        return {}
    polls = (await session.exec(select(Poll).where(col(Poll.id).in_(poll_ids)))).all()
    options: dict[uuid.UUID, list[PollOption]] = {}
    for option in (
        await session.exec(
            select(PollOption)
            .where(col(PollOption.poll_id).in_(poll_ids))
            .order_by(col(PollOption.poll_id), col(PollOption.position))
        )
    ).all():
        options.setdefault(option.poll_id, []).append(option)
    now = datetime.now(UTC)
    result = {}
    for poll in polls:
        status = poll_status(poll, now)
        public = results_visible(poll, status, facilitator=False)

        def view(shown: bool, poll: Poll = poll, status: str = status) -> dict[str, Any]:
            return {
                "poll_id": str(poll.id),
                "status": status,
                "ballots_count": poll.ballots_count,
                "results_visible": shown,
                "options": [
                    {"id": str(o.id), "votes_count": o.votes_count if shown else None}
                    for o in options.get(poll.id, [])
                ],
            }

        result[poll.id] = (view(public), view(True))
    return result
