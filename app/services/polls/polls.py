"""Polls of a participation table and their secret ballots.

Secrecy by design (see `app/models/polls.py`): a ballot writes one `poll_participations`
row (that the caller voted) and bumps the chosen options' `votes_count` — nothing links
the two. Nothing here ever reads or returns who chose what; the event of a ballot names
the poll only.

One ballot per person under any concurrency: the participation's primary key decides
(`INSERT … ON CONFLICT DO NOTHING`); a second ballot finds the row and is refused, in the
same transaction as the counter updates. Updating the poll's `ballots_count` first locks
the poll row, which serializes ballots per poll and so the option updates never deadlock.
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import func, literal_column, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.error_codes import ErrorCode
from app.errors import Conflict
from app.event_types import EventType
from app.events import record_event
from app.models.accounts import User
from app.models.base import TextMap
from app.models.meetings import Meeting
from app.models.organizations import Organization
from app.models.polls import (
    BallotCreate,
    Poll,
    PollCreate,
    PollOption,
    PollOptionPublic,
    PollParticipation,
    PollPublic,
    PollStatus,
)
from app.pagination import PageParams, SortKey, paginate
from app.services.access.content import poll_context
from app.services.access.standing import (
    require_open_table,
    require_participant,
    table_context,
)
from app.services.access.tables import get_facilitated_table
from app.services.audit.write import record_audit
from app.services.validation import Loc, invalid, require_default_locale


def _now() -> datetime:
    return datetime.now(UTC)


def poll_status(poll: Poll, now: datetime) -> PollStatus:
    if now < poll.opens_at:
        return "upcoming"
    if now < poll.closes_at:
        return "open"
    return "closed"


def results_visible(poll: Poll, status: PollStatus, *, facilitator: bool) -> bool:
    """Per-option counts: live polls always, others once closed; the table's facilitators
    always (they run the poll)."""
    return facilitator or poll.results_visibility == "live" or status == "closed"


# --- lookups --------------------------------------------------------------------------


# --- responses ------------------------------------------------------------------------


async def polls_public(
    session: AsyncSession,
    actor: User | None,
    polls: Sequence[Poll],
    *,
    facilitator: bool,
) -> list[PollPublic]:
    """Responses for polls of one table, in a constant number of queries (options, the
    caller's participations)."""
    ids = [p.id for p in polls]
    if not ids:
        return []
    options: dict[uuid.UUID, list[PollOption]] = {}
    for option in (
        await session.exec(
            select(PollOption)
            .where(col(PollOption.poll_id).in_(ids))
            .order_by(col(PollOption.poll_id), col(PollOption.position))
            # Fresh counters, not the ones a ballot loaded before updating them.
            .execution_options(populate_existing=True)
        )
    ).all():
        options.setdefault(option.poll_id, []).append(option)
    voted: set[uuid.UUID] = set()
    if actor is not None:
        voted = set(
            (
                await session.exec(
                    select(PollParticipation.poll_id).where(
                        col(PollParticipation.poll_id).in_(ids),
                        col(PollParticipation.user_id) == actor.id,
                    )
                )
            ).all()
        )
    now = _now()
    result = []
    for poll in polls:
        status = poll_status(poll, now)
        visible = results_visible(poll, status, facilitator=facilitator)
        result.append(
            PollPublic(
                id=poll.id,
                organization_id=poll.organization_id,
                table_id=poll.table_id,
                meeting_id=poll.meeting_id,
                question=poll.question,
                kind=poll.kind,
                max_choices=poll.max_choices,
                options=[
                    PollOptionPublic(
                        id=o.id,
                        position=o.position,
                        label=o.label,
                        votes_count=o.votes_count if visible else None,
                    )
                    for o in options.get(poll.id, [])
                ],
                opens_at=poll.opens_at,
                closes_at=poll.closes_at,
                status=status,
                results_visibility=poll.results_visibility,
                results_visible=visible,
                ballots_count=poll.ballots_count,
                has_voted=poll.id in voted,
                created_at=poll.created_at,
                updated_at=poll.updated_at,
            )
        )
    return result


async def poll_public(
    session: AsyncSession, actor: User | None, poll: Poll, *, facilitator: bool
) -> PollPublic:
    return (await polls_public(session, actor, [poll], facilitator=facilitator))[0]


# --- create, list, get ----------------------------------------------------------------


def _max_choices(data: PollCreate) -> int:
    if data.kind == "single":
        if data.max_choices not in (None, 1):
            raise invalid(
                ["body", "max_choices"],
                "max_choices is for multiple-choice polls only.",
                ErrorCode.MAX_CHOICES_SINGLE,
            )
        return 1
    if data.max_choices is None:
        return len(data.options)
    if data.max_choices > len(data.options):
        raise invalid(
            ["body", "max_choices"],
            "max_choices cannot exceed the number of options.",
            ErrorCode.MAX_CHOICES_TOO_HIGH,
        )
    return data.max_choices


async def _check_meeting(
    session: AsyncSession, table_id: uuid.UUID, meeting_id: uuid.UUID | None
) -> None:
    """A live poll belongs to a meeting of its own table."""
    if meeting_id is None:
        return
    found = (
        await session.exec(
            select(Meeting.id).where(
                col(Meeting.id) == meeting_id, col(Meeting.table_id) == table_id
            )
        )
    ).first()
    if found is None:
        raise invalid(
            ["body", "meeting_id"], "Not a meeting of this poll's table.", ErrorCode.UNKNOWN_MEETING
        )


async def create_poll(
    session: AsyncSession, actor: User, table_id: uuid.UUID, data: PollCreate
) -> PollPublic:
    table = await get_facilitated_table(session, actor, table_id)
    if table.status != "open":
        raise Conflict("This table is closed; it takes no new polls.", code=ErrorCode.TABLE_CLOSED)
    org = await session.get(Organization, table.organization_id)
    assert org is not None
    texts: list[tuple[Loc, TextMap | None, bool]] = [(["body", "question"], data.question, True)]
    texts += [(["body", "options", i], option, True) for i, option in enumerate(data.options)]
    require_default_locale(org, texts)
    max_choices = _max_choices(data)
    now = _now()
    opens_at = data.opens_at or now
    if data.closes_at <= opens_at:
        raise invalid(
            ["body", "closes_at"], "closes_at must be after opens_at.", ErrorCode.INVALID_WINDOW
        )
    if data.closes_at <= now:
        raise invalid(
            ["body", "closes_at"], "closes_at must be in the future.", ErrorCode.CLOSES_IN_PAST
        )
    await _check_meeting(session, table.id, data.meeting_id)
    poll = Poll(
        table_id=table.id,
        organization_id=table.organization_id,
        question=data.question,
        kind=data.kind,
        max_choices=max_choices,
        opens_at=opens_at,
        closes_at=data.closes_at,
        results_visibility=data.results_visibility,
        meeting_id=data.meeting_id,
        created_by_id=actor.id,
    )
    session.add(poll)
    await session.flush()
    session.add_all(
        PollOption(poll_id=poll.id, position=i, label=label) for i, label in enumerate(data.options)
    )
    record_audit(
        session,
        EventType.POLL_CREATED,
        organization_id=poll.organization_id,
        actor_id=actor.id,
        target_type="poll",
        target_id=poll.id,
        data={"table_id": str(table.id), "kind": poll.kind},
    )
    await session.flush()
    return await poll_public(session, actor, poll, facilitator=True)


async def list_polls(
    session: AsyncSession, actor: User | None, table_id: uuid.UUID, params: PageParams
) -> tuple[list[PollPublic], str | None]:
    """A table's polls, newest first."""
    ctx = await table_context(session, actor, table_id)
    keys = [
        SortKey(Poll.created_at, descending=True, kind=datetime),
        SortKey(Poll.id, descending=True, kind=uuid.UUID),
    ]
    polls, cursor = await paginate(
        session,
        select(Poll).where(col(Poll.table_id) == ctx.table.id),
        keys,
        params,
        key_of=lambda p: (p.created_at, p.id),
    )
    return await polls_public(session, actor, polls, facilitator=ctx.is_facilitator), cursor


async def get_poll(session: AsyncSession, actor: User | None, poll_id: uuid.UUID) -> PollPublic:
    poll, ctx = await poll_context(session, actor, poll_id)
    return await poll_public(session, actor, poll, facilitator=ctx.is_facilitator)


# --- ballots --------------------------------------------------------------------------


def _check_choices(poll: Poll, options: Sequence[PollOption], chosen: Sequence[uuid.UUID]) -> None:
    loc: list[str | int] = ["body", "option_ids"]
    if len(set(chosen)) != len(chosen):
        raise invalid(loc, "An option may be chosen once.", ErrorCode.DUPLICATE_OPTIONS)
    known = {o.id for o in options}
    unknown = [str(i) for i in chosen if i not in known]
    if unknown:
        raise invalid(
            loc, "Not an option of this poll: " + ", ".join(unknown), ErrorCode.UNKNOWN_OPTION
        )
    if poll.kind == "single" and len(chosen) != 1:
        raise invalid(loc, "This poll takes exactly one choice.", ErrorCode.SINGLE_CHOICE)
    if len(chosen) > poll.max_choices:
        raise invalid(
            loc, f"This poll takes at most {poll.max_choices} choices.", ErrorCode.TOO_MANY_CHOICES
        )


def _not_open(status: PollStatus) -> Conflict:
    detail = "This poll is not open yet." if status == "upcoming" else "This poll has closed."
    return Conflict(detail, code=ErrorCode.POLL_NOT_OPEN, extra={"poll_status": status})


async def cast_ballot(
    session: AsyncSession, actor: User, poll_id: uuid.UUID, data: BallotCreate
) -> PollPublic:
    """Record the caller's ballot. Returns the poll as the caller now sees it — never the
    choices themselves, which are not kept anywhere with the caller's identity."""
    poll, ctx = await poll_context(session, actor, poll_id, write=True)
    require_open_table(ctx)
    require_participant(ctx, actor)
    status = poll_status(poll, _now())
    if status != "open":
        raise _not_open(status)
    options = (
        await session.exec(select(PollOption).where(col(PollOption.poll_id) == poll.id))
    ).all()
    _check_choices(poll, options, data.option_ids)

    # The one-ballot rule: the participation's primary key decides, concurrent duplicates
    # wait for the first one's transaction and then find its row.
    inserted = (
        await session.exec(
            insert(PollParticipation)
            .values(poll_id=poll.id, user_id=actor.id)
            .on_conflict_do_nothing(index_elements=["poll_id", "user_id"])
            .returning(literal_column("1"))
        )
    ).first()
    if inserted is None:
        raise Conflict("You have already voted in this poll.", code=ErrorCode.ALREADY_VOTED)
    # Locks the poll row (serializing ballots per poll) and re-checks the window against
    # the database clock, atomically with the write.
    counted = await session.exec(
        update(Poll)
        .where(
            col(Poll.id) == poll.id,
            # The statement's own time: `now()` is the transaction's start, which may
            # precede the poll's opening (or the service's own check of it).
            col(Poll.opens_at) <= func.statement_timestamp(),
            col(Poll.closes_at) > func.statement_timestamp(),
        )
        .values(ballots_count=col(Poll.ballots_count) + 1)
        .returning(col(Poll.ballots_count))
        .execution_options(synchronize_session=False)
    )
    ballots_count = counted.scalar_one_or_none()
    if ballots_count is None:
        raise _not_open("closed" if _now() >= poll.closes_at else "upcoming")
    await session.exec(
        update(PollOption)
        .where(col(PollOption.poll_id) == poll.id, col(PollOption.id).in_(data.option_ids))
        .values(votes_count=col(PollOption.votes_count) + 1)
        .execution_options(synchronize_session=False)
    )
    record_event(
        session,
        EventType.POLL_BALLOT_CAST,
        subject_type="poll",
        subject_id=poll.id,
        actor_id=actor.id,
        organization_id=poll.organization_id,
        payload={"poll_id": str(poll.id)},
        # A live poll's ballots reach the meeting's stream (as coalesced results).
        meeting_id=poll.meeting_id,
    )
    await session.flush()
    set_committed_value(poll, "ballots_count", ballots_count)
    return await poll_public(session, actor, poll, facilitator=ctx.is_facilitator)
