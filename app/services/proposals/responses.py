"""Proposal responses, built for a whole page at once: nodes, co-authors, authors, the
caller's supports, locked discussions and budget projects come from ONE statement
(`page_extras`), whatever the page size (no N+1); a single proposal's read selects the
same columns (`extra_columns`) in the query that loads it."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ARRAY, any_, bindparam, exists, func
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.dialects.postgresql import aggregate_order_by
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
from app.services.access.statements import ACTOR_ID, actor_params
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


@dataclass(frozen=True)
class Extras:
    """What a proposal's response needs beyond its row."""

    node_ids: list[uuid.UUID] = field(default_factory=list)
    coauthors: list[PersonRef] = field(default_factory=list)
    author: PersonRef | None = None
    supported: bool = False
    locked: bool = False
    budget_project_ids: list[uuid.UUID] = field(default_factory=list)


_IDS: Any = bindparam("ids", type_=ARRAY(PG_UUID(as_uuid=True)))


def extra_columns(actor_id: Any = ACTOR_ID) -> tuple[Any, ...]:
    """The `Extras` of the proposal of the enclosing query (correlated to `Proposal`), as
    seven columns: its nodes (in plan order), co-authors' ids and names (by name), the
    author's name (none once the account is deleted), whether `actor_id` supports it,
    whether moderators locked its discussion, the budget projects it became."""

    def coauthors(column: Any) -> Any:  # in name order, ids and names alike
        ordered = aggregate_order_by(column, col(User.display_name), col(User.id))
        return (
            select(func.array_agg(ordered))
            .select_from(ProposalCoauthor)
            .join(User, col(User.id) == ProposalCoauthor.user_id)
            .where(col(ProposalCoauthor.proposal_id) == Proposal.id, col(User.deleted_at).is_(None))
            .scalar_subquery()
        )

    return (
        select(
            func.array_agg(
                aggregate_order_by(
                    col(ProposalNode.node_id), col(PlanNode.sort_path), col(PlanNode.id)
                )
            )
        )
        .join(PlanNode, col(PlanNode.id) == ProposalNode.node_id)
        .where(col(ProposalNode.proposal_id) == Proposal.id)
        .scalar_subquery(),
        coauthors(col(User.id)),
        coauthors(col(User.display_name)),
        select(User.display_name)
        .where(col(User.id) == Proposal.author_id, col(User.deleted_at).is_(None))
        .scalar_subquery(),
        exists().where(
            col(ProposalSupport.proposal_id) == Proposal.id,
            col(ProposalSupport.user_id) == actor_id,
        ),
        exists().where(
            col(Moderation.target_type) == "proposal",
            col(Moderation.target_id) == Proposal.id,
            col(Moderation.locked_at).is_not(None),
        ),
        select(
            func.array_agg(
                aggregate_order_by(
                    col(BudgetProjectProposal.project_id), col(BudgetProjectProposal.project_id)
                )
            )
        )
        .where(col(BudgetProjectProposal.proposal_id) == Proposal.id)
        .scalar_subquery(),
    )


def extras_of(row: Sequence[Any], author_id: uuid.UUID | None) -> Extras:
    """`Extras` from the seven `extra_columns` of a row."""
    node_ids, coauthor_ids, coauthor_names, author_name, supported, locked, projects = row
    return Extras(
        node_ids=list(node_ids or ()),
        coauthors=[
            PersonRef(id=i, display_name=n)
            for i, n in zip(coauthor_ids or (), coauthor_names or (), strict=True)
        ],
        author=(
            PersonRef(id=author_id, display_name=author_name)
            if author_id is not None and author_name is not None
            else None
        ),
        supported=bool(supported),
        locked=bool(locked),
        budget_project_ids=list(projects or ()),
    )


# Built once, for the single proposal's query (`get_proposal`).
EXTRA_COLUMNS = extra_columns()
# Built once: one statement for a whole page, whatever its size (an array parameter, so
# the SQL text, and the prepared statement, are the same for every page).
_EXTRAS = select(col(Proposal.id), col(Proposal.author_id), *extra_columns()).where(
    col(Proposal.id) == any_(_IDS)
)


async def page_extras(
    session: AsyncSession, actor: User | None, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Extras]:
    """The `Extras` of every proposal of `ids`, in one statement."""
    connection = await session.connection()
    rows = await connection.execute(_EXTRAS, {"ids": list(ids), **actor_params(actor)})
    return {row[0]: extras_of(row[2:], row[1]) for row in rows}


def _answer(p: Proposal) -> ProposalAnswer | None:
    if p.answer_state is None or p.answered_at is None:
        return None
    return ProposalAnswer(state=p.answer_state, text=p.answer_text, answered_at=p.answered_at)


def public_of(
    p: Proposal, extras: Extras, actor: User | None, ctx: TableContext, now: datetime
) -> ProposalPublic:
    counts = ctx.counts_visible
    return ProposalPublic(
        id=p.id,
        table_id=p.table_id,
        organization_id=p.organization_id,
        title=p.title,
        body=p.body,
        author=extras.author,
        coauthors=extras.coauthors,
        node_ids=extras.node_ids,
        municipality_id=p.municipality_id,
        status=p.status,
        moderation_status=p.moderation_status,
        answer=_answer(p),
        supports_count=p.supports_count if counts else None,
        comments_count=p.comments_count,
        comments_locked=extras.locked,
        threshold_reached=threshold_reached(p.supports_count, ctx.settings) if counts else None,
        supported_by_me=extras.supported if actor is not None else None,
        budget_project_ids=extras.budget_project_ids,
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


async def proposals_public(
    session: AsyncSession,
    actor: User | None,
    ctx: TableContext,
    proposals: Sequence[Proposal],
) -> list[ProposalPublic]:
    """Responses for proposals of one table (`ctx`), in one more query (`page_extras`)."""
    if not proposals:
        return []
    extras = await page_extras(session, actor, [p.id for p in proposals])
    now = datetime.now(UTC)
    return [public_of(p, extras.get(p.id, Extras()), actor, ctx, now) for p in proposals]


async def proposal_public(
    session: AsyncSession, actor: User | None, ctx: TableContext, proposal: Proposal
) -> ProposalPublic:
    return (await proposals_public(session, actor, ctx, [proposal]))[0]
