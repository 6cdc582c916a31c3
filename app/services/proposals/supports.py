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

Queries per support: the proposal with its table, settings and the caller's standing
(one), [with a limit: the lock and the count], the insert, the counter update, the
events — a handful, whatever the table's size.
"""

import hashlib
import uuid

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, delete, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app.error_codes import ErrorCode
from app.errors import Conflict
from app.event_types import EventType
from app.events import record_event
from app.models.accounts import User
from app.models.proposals import Proposal, ProposalSupport, SupportStatus
from app.services.access.content import proposal_context
from app.services.access.standing import TableContext, require_open_table, require_participant
from app.services.tables.table_settings import threshold_reached


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
    inserted = (
        await session.exec(
            insert(ProposalSupport)  # type: ignore[call-overload]
            .values(proposal_id=proposal.id, user_id=actor.id, table_id=ctx.table.id)
            .on_conflict_do_nothing()
            .returning(ProposalSupport.proposal_id)
        )
    ).first()
    if inserted is None:
        return _status(proposal.id, ctx, proposal.supports_count, True), False
    count, reached_at = (
        await session.exec(
            update(Proposal)
            .where(col(Proposal.id) == proposal.id)
            .values(
                supports_count=col(Proposal.supports_count) + 1, updated_at=col(Proposal.updated_at)
            )
            .returning(col(Proposal.supports_count), col(Proposal.threshold_reached_at))
        )
    ).one()
    record_event(
        session,
        EventType.PROPOSAL_SUPPORTED,
        subject_type="proposal",
        subject_id=proposal.id,
        actor_id=actor.id,
        organization_id=proposal.organization_id,
        payload={"table_id": str(ctx.table.id)},
    )
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
    deleted = (
        await session.exec(
            delete(ProposalSupport)
            .where(
                col(ProposalSupport.proposal_id) == proposal.id,
                col(ProposalSupport.user_id) == actor.id,
            )
            .returning(col(ProposalSupport.proposal_id))
        )
    ).first()
    if deleted is None:
        return _status(proposal.id, ctx, proposal.supports_count, False)
    count = (
        await session.exec(
            update(Proposal)
            .where(col(Proposal.id) == proposal.id)
            .values(
                supports_count=col(Proposal.supports_count) - 1, updated_at=col(Proposal.updated_at)
            )
            .returning(col(Proposal.supports_count))
        )
    ).scalar_one()
    record_event(
        session,
        EventType.PROPOSAL_SUPPORT_WITHDRAWN,
        subject_type="proposal",
        subject_id=proposal.id,
        actor_id=actor.id,
        organization_id=proposal.organization_id,
        payload={"table_id": str(ctx.table.id)},
    )
    return _status(proposal.id, ctx, count, False)
