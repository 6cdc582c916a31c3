"""Proposal responses, built for a whole page at once: nodes, co-authors, authors and the
caller's supports each come from one query, whatever the page size (no N+1)."""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models.accounts import User
from app.models.budgets import BudgetProjectProposal
from app.models.moderation import Moderation
from app.models.plans import PlanNode
from app.models.proposals import (
    PersonRef,
    Proposal,
    ProposalAnswer,
    ProposalCoauthor,
    ProposalNode,
    ProposalPublic,
    ProposalSupport,
)
from app.services.access.standing import TableContext
from app.services.tables.table_settings import threshold_reached


def edit_deadline(proposal: Proposal, ctx: TableContext) -> datetime | None:
    """When the author's edit window of a published proposal closes (None: a draft)."""
    if proposal.published_at is None:
        return None
    return proposal.published_at + timedelta(minutes=ctx.settings.edit_window_minutes)


def can_still_edit(proposal: Proposal, ctx: TableContext, now: datetime | None = None) -> bool:
    if proposal.status == "draft":
        return True
    deadline = edit_deadline(proposal, ctx)
    return (
        proposal.status == "published"
        and proposal.answer_state is None
        and deadline is not None
        and (now or datetime.now(UTC)) < deadline
    )


async def _node_ids(
    session: AsyncSession, ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    nodes: dict[uuid.UUID, list[uuid.UUID]] = {}
    for proposal_id, node_id in (
        await session.exec(
            select(ProposalNode.proposal_id, ProposalNode.node_id)
            .join(PlanNode, col(PlanNode.id) == ProposalNode.node_id)
            .where(col(ProposalNode.proposal_id).in_(ids))
            .order_by(col(PlanNode.sort_path), col(PlanNode.id))
        )
    ).all():
        nodes.setdefault(proposal_id, []).append(node_id)
    return nodes


async def _coauthors(
    session: AsyncSession, ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[PersonRef]]:
    coauthors: dict[uuid.UUID, list[PersonRef]] = {}
    for proposal_id, user_id, name in (
        await session.exec(
            select(ProposalCoauthor.proposal_id, User.id, User.display_name)
            .join(User, col(User.id) == ProposalCoauthor.user_id)
            .where(col(ProposalCoauthor.proposal_id).in_(ids), col(User.deleted_at).is_(None))
            .order_by(col(User.display_name), col(User.id))
        )
    ).all():
        coauthors.setdefault(proposal_id, []).append(PersonRef(id=user_id, display_name=name))
    return coauthors


async def _authors(
    session: AsyncSession, proposals: Sequence[Proposal]
) -> dict[uuid.UUID, PersonRef]:
    author_ids = {p.author_id for p in proposals if p.author_id is not None}
    if not author_ids:
        return {}
    return {
        user_id: PersonRef(id=user_id, display_name=name)
        for user_id, name in (
            await session.exec(
                select(User.id, User.display_name).where(
                    col(User.id).in_(author_ids), col(User.deleted_at).is_(None)
                )
            )
        ).all()
    }


async def _supported(
    session: AsyncSession, actor: User | None, ids: list[uuid.UUID]
) -> set[uuid.UUID]:
    if actor is None:
        return set()
    return set(
        (
            await session.exec(
                select(ProposalSupport.proposal_id).where(
                    col(ProposalSupport.user_id) == actor.id,
                    col(ProposalSupport.proposal_id).in_(ids),
                )
            )
        ).all()
    )


async def _locked(session: AsyncSession, ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Discussions the moderators locked (no new comments), in one query on the
    moderations' (target_type, target_id) index."""
    return set(
        (
            await session.exec(
                select(Moderation.target_id).where(
                    col(Moderation.target_type) == "proposal",
                    col(Moderation.target_id).in_(ids),
                    col(Moderation.locked_at).is_not(None),
                )
            )
        ).all()
    )


async def _became_projects(
    session: AsyncSession, ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    """The budget projects each proposal became (the link is kept both ways)."""
    became: dict[uuid.UUID, list[uuid.UUID]] = {}
    for proposal_id, project_id in (
        await session.exec(
            select(BudgetProjectProposal.proposal_id, BudgetProjectProposal.project_id)
            .where(col(BudgetProjectProposal.proposal_id).in_(ids))
            .order_by(col(BudgetProjectProposal.project_id))
        )
    ).all():
        became.setdefault(proposal_id, []).append(project_id)
    return became


def _answer(p: Proposal) -> ProposalAnswer | None:
    if p.answer_state is None or p.answered_at is None:
        return None
    return ProposalAnswer(state=p.answer_state, text=p.answer_text, answered_at=p.answered_at)


async def proposals_public(
    session: AsyncSession,
    actor: User | None,
    ctx: TableContext,
    proposals: Sequence[Proposal],
) -> list[ProposalPublic]:
    """Responses for proposals of one table (`ctx`), in a constant number of queries."""
    ids = [p.id for p in proposals]
    if not ids:
        return []
    nodes = await _node_ids(session, ids)
    coauthors = await _coauthors(session, ids)
    authors = await _authors(session, proposals)
    supported = await _supported(session, actor, ids)
    locked = await _locked(session, ids)
    became = await _became_projects(session, ids)
    now = datetime.now(UTC)
    counts = ctx.counts_visible
    return [
        ProposalPublic(
            id=p.id,
            table_id=p.table_id,
            organization_id=p.organization_id,
            title=p.title,
            body=p.body,
            author=authors.get(p.author_id) if p.author_id is not None else None,
            coauthors=coauthors.get(p.id, []),
            node_ids=nodes.get(p.id, []),
            municipality_id=p.municipality_id,
            status=p.status,
            moderation_status=p.moderation_status,
            answer=_answer(p),
            supports_count=p.supports_count if counts else None,
            comments_count=p.comments_count,
            comments_locked=p.id in locked,
            threshold_reached=threshold_reached(p.supports_count, ctx.settings) if counts else None,
            supported_by_me=(p.id in supported) if actor is not None else None,
            budget_project_ids=became.get(p.id, []),
            editable_until=(
                edit_deadline(p, ctx)
                if actor is not None
                and p.author_id == actor.id
                and p.status == "published"
                and can_still_edit(p, ctx, now)
                else None
            ),
            published_at=p.published_at,
            created_at=p.created_at,
            updated_at=p.updated_at,
        )
        for p in proposals
    ]


async def proposal_public(
    session: AsyncSession, actor: User | None, ctx: TableContext, proposal: Proposal
) -> ProposalPublic:
    return (await proposals_public(session, actor, ctx, [proposal]))[0]
