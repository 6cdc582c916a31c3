"""Proposals: creation, the author's edits, publishing and withdrawal, the facilitators'
answers. Lists, search and similar proposals are in `proposal_search.py`; supports in
`supports.py`; who may see and do what in `app/services/access/` (`content.py`,
`standing.py`).

Lifecycle (`status`, the author's): `draft` → `published` → `withdrawn`. Answer
(`answer_state`, the facilitators'): `evaluating | accepted | rejected | implemented`, on
published proposals only. The author edits a draft at any time and a published proposal
within the table's edit window (`edit_window_minutes` after publishing), unless it has
been answered; `If-Match` guards against lost updates.

Moderation (`moderation_status`): publishing — at creation or from a draft — holds the
proposal as `pending` when its table is pre-moderated or its text contains one of the
organization's blocked words; an edit of the title or body of a shown (published,
visible) proposal holds it again on a pre-moderated table, or when it brings in a blocked
word (`premoderation.py`); facilitators' own proposals are never held. The author still
gets 201/200, with `moderation_status: "pending"`.
"""

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlmodel import col, delete
from sqlmodel.ext.asyncio.session import AsyncSession

from app.error_codes import ErrorCode
from app.errors import Conflict, Unprocessable
from app.etag import check_if_match
from app.event_types import EventType
from app.events import record_event
from app.models.accounts import User
from app.models.proposals import (
    Proposal,
    ProposalAnswerIn,
    ProposalCoauthor,
    ProposalCreate,
    ProposalNode,
    ProposalPublic,
    ProposalUpdate,
    SimilarCheck,
)
from app.services.access.content import proposal_context, proposal_context_with
from app.services.access.standing import (
    TableContext,
    require_open_table,
    require_participant,
    require_plan,
    require_proposals_open,
    table_context,
)
from app.services.audit.write import record_audit
from app.services.guards.premoderation import HoldReason, hold_reason, queue_for_approval
from app.services.plans.plans import get_plan_nodes_by_ids
from app.services.proposals.checks import check_coauthors, check_municipality
from app.services.proposals.responses import (
    EXTRA_COLUMNS,
    can_still_edit,
    extras_of,
    proposal_public,
    public_of,
)
from app.services.proposals.similar import find_similar
from app.services.validation import field_error, invalid_fields


def _event(
    session: AsyncSession,
    type: EventType,
    proposal: Proposal,
    actor: User,
    payload: dict[str, Any] | None = None,
) -> None:
    record_event(
        session,
        type,
        subject_type="proposal",
        subject_id=proposal.id,
        actor_id=actor.id,
        organization_id=proposal.organization_id,
        payload={"table_id": str(proposal.table_id), **(payload or {})},
    )


async def _set_links(
    session: AsyncSession,
    proposal_id: uuid.UUID,
    *,
    node_ids: list[uuid.UUID] | None = None,
    coauthor_ids: list[uuid.UUID] | None = None,
) -> None:
    if node_ids is not None:
        await session.exec(delete(ProposalNode).where(col(ProposalNode.proposal_id) == proposal_id))
        session.add_all(ProposalNode(proposal_id=proposal_id, node_id=n) for n in node_ids)
    if coauthor_ids is not None:
        await session.exec(
            delete(ProposalCoauthor).where(col(ProposalCoauthor.proposal_id) == proposal_id)
        )
        session.add_all(ProposalCoauthor(proposal_id=proposal_id, user_id=u) for u in coauthor_ids)


async def _hold(
    session: AsyncSession,
    proposal: Proposal,
    ctx: TableContext,
) -> HoldReason | None:
    """Hold a proposal being published, or a shown one whose text is edited, for approval
    when it must be; returns why, or None when it is published as is."""
    reason = await hold_reason(
        session,
        organization_id=proposal.organization_id,
        ctx=ctx,
        moderator=ctx.is_facilitator,
        texts=(proposal.title, proposal.body),
    )
    if reason is not None:
        proposal.moderation_status = "pending"
    return reason


async def _queue(session: AsyncSession, proposal: Proposal) -> None:
    await queue_for_approval(
        session,
        target_type="proposal",
        target_id=proposal.id,
        organization_id=proposal.organization_id,
        table_id=proposal.table_id,
    )


def _moderation_payload(proposal: Proposal, held: HoldReason | None) -> dict[str, Any]:
    if held is None:
        return {}
    return {"moderation_status": proposal.moderation_status, "held_for": held}


async def create_proposal(
    session: AsyncSession,
    actor: User,
    table_id: uuid.UUID,
    data: ProposalCreate,
    *,
    check_similar: bool = False,
) -> tuple[ProposalPublic, int] | SimilarCheck:
    """Create (and unless `status: draft`, publish) a proposal. With `check_similar`,
    returns the likely duplicates instead when there are any, creating nothing."""
    ctx = await table_context(session, actor, table_id, write=True)
    require_open_table(ctx)
    require_proposals_open(ctx)
    require_participant(ctx, actor)
    plan_id = require_plan(ctx)
    await get_plan_nodes_by_ids(session, plan_id, data.node_ids)
    await check_municipality(session, ctx.table.organization_id, data.municipality_id)
    await check_coauthors(session, ctx.table.id, actor.id, data.coauthor_ids)
    if check_similar:
        similar = await find_similar(
            session,
            actor,
            ctx,
            title=data.title,
            body=data.body,
            counts_visible=ctx.counts_visible,
        )
        if similar:
            return SimilarCheck(similar=similar)
    now = datetime.now(UTC)
    proposal = Proposal(
        table_id=ctx.table.id,
        organization_id=ctx.table.organization_id,
        author_id=actor.id,
        municipality_id=data.municipality_id,
        title=data.title,
        body=data.body,
        status=data.status,
        published_at=now if data.status == "published" else None,
    )
    held = await _hold(session, proposal, ctx) if data.status == "published" else None
    session.add(proposal)
    await session.flush()
    await _set_links(session, proposal.id, node_ids=data.node_ids, coauthor_ids=data.coauthor_ids)
    if held is not None:
        await _queue(session, proposal)
    _event(
        session,
        EventType.PROPOSAL_CREATED,
        proposal,
        actor,
        {"status": proposal.status, **_moderation_payload(proposal, held)},
    )
    if proposal.status == "published":
        _event(
            session,
            EventType.PROPOSAL_PUBLISHED,
            proposal,
            actor,
            _moderation_payload(proposal, held),
        )
    await session.flush()
    await session.refresh(proposal)
    return await proposal_public(session, actor, ctx, proposal), proposal.version


async def get_proposal(
    session: AsyncSession, actor: User | None, proposal_id: uuid.UUID
) -> tuple[ProposalPublic, int]:
    """One proposal's response in one query: the proposal, its table context and the
    response's `Extras` (nodes, co-authors, author, the caller's support…) together."""
    proposal, ctx, extras = await proposal_context_with(
        session,
        actor,
        proposal_id,
        columns=EXTRA_COLUMNS,
    )
    public = public_of(
        proposal, extras_of(extras, proposal.author_id), actor, ctx, datetime.now(UTC)
    )
    return public, proposal.version


def _editable(proposal: Proposal, ctx: TableContext) -> None:
    if proposal.status == "withdrawn":
        raise Conflict("This proposal was withdrawn.", code=ErrorCode.PROPOSAL_WITHDRAWN)
    if proposal.answer_state is not None:
        raise Conflict(
            "This proposal has been answered; it can no longer be edited.",
            code=ErrorCode.PROPOSAL_ANSWERED,
        )
    if not can_still_edit(proposal, ctx):
        raise Conflict(
            f"Proposals can be edited for {ctx.settings.edit_window_minutes} minutes after "
            "publishing; this one can no longer be.",
            code=ErrorCode.EDIT_WINDOW_CLOSED,
        )


async def update_proposal(
    session: AsyncSession,
    actor: User,
    proposal_id: uuid.UUID,
    data: ProposalUpdate,
    if_match: str | None,
) -> tuple[ProposalPublic, int]:
    """The author edits their proposal (a draft, or within the edit window)."""
    proposal, ctx = await proposal_context(
        session, actor, proposal_id, own=True, for_update=True, write=True
    )
    check_if_match(if_match, proposal.version)
    require_open_table(ctx)
    require_participant(ctx, actor)
    _editable(proposal, ctx)
    changes = data.model_dump(exclude_unset=True)
    nulls = [
        f
        for f in ("title", "body", "node_ids", "coauthor_ids")
        if f in changes and changes[f] is None
    ]
    if nulls:
        raise invalid_fields(
            [field_error(["body", f], "cannot be null", ErrorCode.NULL_NOT_ALLOWED) for f in nulls],
            "These fields cannot be null: " + ", ".join(nulls) + ".",
        )
    if data.node_ids is not None:
        await get_plan_nodes_by_ids(session, require_plan(ctx), data.node_ids)
    if "municipality_id" in changes:
        await check_municipality(session, ctx.table.organization_id, data.municipality_id)
    if data.coauthor_ids is not None:
        await check_coauthors(session, ctx.table.id, actor.id, data.coauthor_ids)
    # The text really changes (a client resending the same title is no edit of it).
    text_edited = any(
        field in changes and changes[field] != getattr(proposal, field)
        for field in ("title", "body")
    )
    for field in ("title", "body", "municipality_id"):
        if field in changes:
            setattr(proposal, field, changes[field])
    await _set_links(session, proposal.id, node_ids=data.node_ids, coauthor_ids=data.coauthor_ids)
    held: HoldReason | None = None
    if proposal.status == "published" and proposal.moderation_status == "visible" and text_edited:
        # Pre-moderation, blocked words: the edited text waits for approval again.
        held = await _hold(session, proposal, ctx)
        if held is not None:
            await _queue(session, proposal)
    if changes:
        proposal.version += 1
        proposal.updated_at = datetime.now(UTC)
        _event(
            session,
            EventType.PROPOSAL_UPDATED,
            proposal,
            actor,
            {"fields": sorted(changes), **_moderation_payload(proposal, held)},
        )
        await session.flush()
        await session.refresh(proposal)
    return await proposal_public(session, actor, ctx, proposal), proposal.version


async def publish_proposal(
    session: AsyncSession, actor: User, proposal_id: uuid.UUID
) -> tuple[ProposalPublic, int]:
    """The author publishes a draft; publishing a published proposal changes nothing."""
    proposal, ctx = await proposal_context(
        session, actor, proposal_id, own=True, for_update=True, write=True
    )
    if proposal.status == "withdrawn":
        raise Conflict("This proposal was withdrawn.", code=ErrorCode.PROPOSAL_WITHDRAWN)
    if proposal.status == "draft":
        require_open_table(ctx)
        require_proposals_open(ctx)
        require_participant(ctx, actor)
        proposal.status = "published"
        proposal.published_at = datetime.now(UTC)
        proposal.version += 1
        held = await _hold(session, proposal, ctx)
        if held is not None:
            await _queue(session, proposal)
        _event(
            session,
            EventType.PROPOSAL_PUBLISHED,
            proposal,
            actor,
            _moderation_payload(proposal, held),
        )
        await session.flush()
        await session.refresh(proposal)
    return await proposal_public(session, actor, ctx, proposal), proposal.version


async def withdraw_proposal(
    session: AsyncSession, actor: User, proposal_id: uuid.UUID
) -> tuple[ProposalPublic, int]:
    """The author withdraws a published proposal (not once accepted or implemented);
    withdrawing a withdrawn proposal changes nothing."""
    proposal, ctx = await proposal_context(session, actor, proposal_id, own=True, for_update=True)
    if proposal.status == "draft":
        raise Conflict(
            "A draft is not published; there is nothing to withdraw.",
            code=ErrorCode.PROPOSAL_NOT_PUBLISHED,
        )
    if proposal.status == "published":
        if proposal.answer_state in ("accepted", "implemented"):
            raise Conflict(
                f"This proposal has been {proposal.answer_state}; it can no longer be withdrawn.",
                code=ErrorCode.PROPOSAL_ANSWERED,
            )
        require_open_table(ctx)
        proposal.status = "withdrawn"
        proposal.withdrawn_at = datetime.now(UTC)
        proposal.version += 1
        _event(session, EventType.PROPOSAL_WITHDRAWN, proposal, actor)
        await session.flush()
        await session.refresh(proposal)
    return await proposal_public(session, actor, ctx, proposal), proposal.version


async def answer_proposal(
    session: AsyncSession, actor: User, proposal_id: uuid.UUID, data: ProposalAnswerIn
) -> tuple[ProposalPublic, int]:
    """A facilitator of the proposal's table (or an admin) answers it, or changes the
    answer (e.g. accepted → implemented)."""
    proposal, ctx = await proposal_context(
        session, actor, proposal_id, facilitated=True, for_update=True
    )
    if proposal.status == "withdrawn":
        raise Conflict("This proposal was withdrawn.", code=ErrorCode.PROPOSAL_WITHDRAWN)
    if data.answer is None and data.state != "evaluating":
        raise Unprocessable(
            "Explain the answer: a text is required unless the state is evaluating.",
            code=ErrorCode.ANSWER_REQUIRED,
            errors=[
                field_error(
                    ["body", "answer"], "required for this state", ErrorCode.ANSWER_REQUIRED
                )
            ],
        )
    proposal.answer_state = data.state
    proposal.answer_text = data.answer
    proposal.answered_at = datetime.now(UTC)
    proposal.answered_by_id = actor.id
    proposal.version += 1
    # Audited: the state, not the answer's text.
    record_audit(
        session,
        EventType.PROPOSAL_ANSWERED,
        organization_id=proposal.organization_id,
        actor_id=actor.id,
        target_type="proposal",
        target_id=proposal.id,
        data={"table_id": str(proposal.table_id), "state": data.state},
    )
    await session.flush()
    await session.refresh(proposal)
    return await proposal_public(session, actor, ctx, proposal), proposal.version
