"""Supports: `PUT`/`DELETE /v1/proposals/{id}/support` — the hottest write path.

**Exact counts.** `proposal_supports` has the primary key (proposal_id, user_id). A
support is `INSERT … ON CONFLICT DO NOTHING RETURNING`, and only when a row was inserted
does the same transaction run `UPDATE proposals SET supports_count = supports_count + 1`
(withdrawal: `DELETE … RETURNING`, then `- 1`). The row insert and the counter update
commit or roll back together, and the counter is only ever changed relatively under the
row lock the UPDATE takes, so `supports_count` equals the number of rows under any
interleaving of concurrent requests. Repeating a request changes nothing (idempotent).

**Per-person limit.** With a limit, the person's supports in the table are serialized by
a transaction-scoped advisory lock on (table, person); under it their supports are
counted before inserting, so ten simultaneous supports against a limit of three give
three. Only supports on proposals that are published, not rejected and visible count
against the limit: one on a withdrawn or rejected proposal, or on one hidden by
moderation or sent back for approval, leaves the person free to support another.

**Withdrawing** is always possible for the supporter, whatever the proposal's moderation
status (`proposal_context(..., supported=True)`): hiding a proposal does not strand its
supporters.

**Threshold.** The first support that brings the count to the table's threshold sets
`threshold_reached_at` (under the proposal's row lock: exactly once) and writes a
`proposal.threshold_reached` event; `threshold_reached` itself is computed from the count
and the current setting.

**One statement for the write.** The insert, the counter update and the event are one
statement of data-modifying CTEs (`_CAST`, `_WITHDRAW`, built once at import): the
UPDATE runs only when the INSERT (DELETE) returned its row, and the event only when the
UPDATE did, so the three still happen together or not at all, and the counter is still
changed relatively under the row lock.

Statements per support: the proposal with its table, settings and the caller's standing
(suspension included; one), [with a limit: the lock and the count], the write (one);
[the first support reaching the threshold: its update and event]. Whatever the table's
size.
"""

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, String, bindparam, delete, exists, func, literal, update
from sqlalchemy import select as core_select
from sqlalchemy.dialects.postgresql import JSONB, UUID, insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.error_codes import ErrorCode
from app.errors import Conflict
from app.event_types import EventType
from app.events import record_event
from app.models.accounts import User
from app.models.events import Event
from app.models.proposals import Proposal, ProposalSupport, SupportStatus
from app.services.access.content import proposal_context
from app.services.access.standing import TableContext, require_open_table, require_participant
from app.services.tables.table_settings import threshold_reached

_supports: Any = ProposalSupport.__table__  # type: ignore[attr-defined]
_proposals: Any = Proposal.__table__  # type: ignore[attr-defined]
_events: Any = Event.__table__  # type: ignore[attr-defined]


def _write_statement(change: Any, step: int, event_type: EventType) -> Any:
    """`change` (a support row's INSERT or DELETE … RETURNING), then — only if it returned
    a row — the counter moved by `step` (RETURNING the new count and threshold time),
    then — only if that happened — the event: one statement, built once. (Its parameters
    are named `p_…`: parameters named like the table's columns would be taken as more
    values for the UPDATE and INSERTs.)"""
    changed = change.cte("changed")
    proposal_id = bindparam("p_proposal_id", type_=UUID(as_uuid=True))
    bumped = (
        update(_proposals)
        .where(_proposals.c.id == proposal_id, exists(changed.select()))
        .values(
            supports_count=_proposals.c.supports_count + step,
            updated_at=_proposals.c.updated_at,  # a support is not an edit
        )
        .returning(_proposals.c.supports_count, _proposals.c.threshold_reached_at)
        .cte("bumped")
    )
    event_row = core_select(
        bindparam("p_organization_id", type_=UUID(as_uuid=True)),
        literal(str(event_type), String),
        literal("proposal", String),
        proposal_id,
        bindparam("p_user_id", type_=UUID(as_uuid=True)),
        bindparam("p_payload", type_=JSONB),
        bindparam("p_created_at", type_=DateTime(timezone=True)),
    ).select_from(bumped)
    recorded = (
        insert(_events)
        .from_select(
            [
                "organization_id",
                "type",
                "subject_type",
                "subject_id",
                "actor_id",
                "payload",
                "created_at",
            ],
            event_row,
        )
        .cte("recorded")
    )
    return core_select(bumped.c.supports_count, bumped.c.threshold_reached_at).add_cte(recorded)


_USER = bindparam("p_user_id", type_=UUID(as_uuid=True))
_CAST = _write_statement(
    insert(_supports)
    .values(
        proposal_id=bindparam("p_proposal_id", type_=UUID(as_uuid=True)),
        user_id=_USER,
        table_id=bindparam("p_table_id", type_=UUID(as_uuid=True)),
    )
    .on_conflict_do_nothing()
    .returning(_supports.c.proposal_id),
    +1,
    EventType.PROPOSAL_SUPPORTED,
)
_WITHDRAW = _write_statement(
    delete(_supports)
    .where(
        _supports.c.proposal_id == bindparam("p_proposal_id", type_=UUID(as_uuid=True)),
        _supports.c.user_id == _USER,
    )
    .returning(_supports.c.proposal_id),
    -1,
    EventType.PROPOSAL_SUPPORT_WITHDRAWN,
)


async def _write(
    session: AsyncSession, statement: Any, actor: User, proposal: Proposal, ctx: TableContext
) -> tuple[int, datetime | None] | None:
    """Run `_CAST` or `_WITHDRAW`: the new count and threshold time, or None when there
    was nothing to change (already supported; nothing to withdraw)."""
    connection = await session.connection()
    result = await connection.execute(
        statement,
        {
            "p_proposal_id": proposal.id,
            "p_user_id": actor.id,
            "p_table_id": ctx.table.id,
            "p_organization_id": proposal.organization_id,
            "p_payload": {"table_id": str(ctx.table.id)},
            "p_created_at": datetime.now(UTC),
        },
    )
    row = result.first()
    return None if row is None else (int(row[0]), row[1])


def _lock_key(table_id: uuid.UUID, user_id: uuid.UUID) -> int:
    """A signed 64-bit advisory-lock key for (table, person)."""
    digest = hashlib.blake2b(b"supports:" + table_id.bytes + user_id.bytes, digest_size=8)
    return int.from_bytes(digest.digest(), "big", signed=True)


def _require_supports_open(ctx: TableContext) -> None:
    require_open_table(ctx)
    if ctx.settings.supports == "blocked":
        raise Conflict("Supports are blocked on this table.", code=ErrorCode.SUPPORTS_BLOCKED)


def _require_supportable(proposal: Proposal) -> None:
    if proposal.status == "draft":
        raise Conflict("Drafts cannot be supported.", code=ErrorCode.PROPOSAL_NOT_PUBLISHED)
    if proposal.status == "withdrawn":
        raise Conflict(
            "This proposal was withdrawn; it cannot be supported.",
            code=ErrorCode.PROPOSAL_WITHDRAWN,
        )
    if proposal.answer_state == "rejected":
        raise Conflict(
            "This proposal was rejected; it cannot be supported.", code=ErrorCode.PROPOSAL_REJECTED
        )
    if proposal.moderation_status != "visible":
        # Only its author and moderators see it: nothing to support until it is shown.
        raise Conflict(
            "This proposal is hidden or awaiting moderation; it cannot be supported.",
            code=ErrorCode.PROPOSAL_NOT_VISIBLE,
        )


def _status(
    proposal_id: uuid.UUID, ctx: TableContext, count: int, supported: bool
) -> SupportStatus:
    visible = ctx.counts_visible
    return SupportStatus(
        proposal_id=proposal_id,
        supported_by_me=supported,
        supports_count=count if visible else None,
        threshold_reached=threshold_reached(count, ctx.settings) if visible else None,
    )


async def _check_limit(
    session: AsyncSession, actor: User, proposal: Proposal, ctx: TableContext
) -> bool:
    """Serialize the person's supports in the table; True if they already support the
    proposal, 409 if they have used up their supports."""
    await session.exec(select(func.pg_advisory_xact_lock(_lock_key(ctx.table.id, actor.id))))
    used, already = (
        await session.exec(
            select(
                func.count().filter(
                    col(Proposal.status) == "published",
                    func.coalesce(col(Proposal.answer_state), "") != "rejected",
                    col(Proposal.moderation_status) == "visible",
                ),
                func.coalesce(func.bool_or(col(ProposalSupport.proposal_id) == proposal.id), False),
            )
            .select_from(ProposalSupport)
            .join(Proposal, col(Proposal.id) == ProposalSupport.proposal_id)
            .where(
                col(ProposalSupport.user_id) == actor.id,
                col(ProposalSupport.table_id) == ctx.table.id,
            )
        )
    ).one()
    if already:
        return True
    if used >= ctx.settings.support_limit:
        raise Conflict(
            f"You have used all {ctx.settings.support_limit} of your supports in this table; "
            "withdraw one to support another proposal.",
            code=ErrorCode.SUPPORT_LIMIT_REACHED,
            extra={"support_limit": ctx.settings.support_limit},
        )
    return False


async def support(
    session: AsyncSession, actor: User, proposal_id: uuid.UUID
) -> tuple[SupportStatus, bool]:
    """Support a proposal. Returns the state and whether a support was added."""
    proposal, ctx = await proposal_context(session, actor, proposal_id, write=True)
    _require_supports_open(ctx)
    _require_supportable(proposal)
    require_participant(ctx, actor)
    if ctx.settings.support_limit > 0 and await _check_limit(session, actor, proposal, ctx):
        return _status(proposal.id, ctx, proposal.supports_count, True), False
    written = await _write(session, _CAST, actor, proposal, ctx)
    if written is None:  # already supported
        return _status(proposal.id, ctx, proposal.supports_count, True), False
    count, reached_at = written
    if reached_at is None and threshold_reached(count, ctx.settings):
        # We hold the proposal's row lock: nobody else can be setting it now.
        await session.exec(
            update(Proposal)
            .where(col(Proposal.id) == proposal.id)
            .values(threshold_reached_at=func.now(), updated_at=col(Proposal.updated_at))
        )
        record_event(
            session,
            EventType.PROPOSAL_THRESHOLD_REACHED,
            subject_type="proposal",
            subject_id=proposal.id,
            actor_id=actor.id,
            organization_id=proposal.organization_id,
            payload={
                "table_id": str(ctx.table.id),
                "support_threshold": ctx.settings.support_threshold,
            },
        )
    return _status(proposal.id, ctx, count, True), True


async def withdraw_support(
    session: AsyncSession, actor: User, proposal_id: uuid.UUID
) -> SupportStatus:
    """Withdraw the caller's support, if any (nothing to withdraw is not an error). Their
    own support is found whatever the proposal's moderation status."""
    proposal, ctx = await proposal_context(session, actor, proposal_id, supported=True)
    _require_supports_open(ctx)
    written = await _write(session, _WITHDRAW, actor, proposal, ctx)
    if written is None:  # nothing to withdraw
        return _status(proposal.id, ctx, proposal.supports_count, False)
    count, _ = written
    return _status(proposal.id, ctx, count, False)
