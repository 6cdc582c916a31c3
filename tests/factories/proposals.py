"""Proposals written straight to the database, and their supports."""

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models.accounts import User
from app.models.plans import PlanNode
from app.models.proposals import (
    AnswerState,
    Proposal,
    ProposalNode,
    ProposalStatus,
    ProposalSupport,
)
from app.models.tables import ParticipationTable


async def make_proposal(
    session: AsyncSession,
    table: ParticipationTable,
    author: User | None,
    *,
    title: str = "Una proposta di prova",
    body: str = "Il testo della proposta di prova, abbastanza lungo.",
    node_ids: list[uuid.UUID] | None = None,
    status: ProposalStatus = "published",
    published_at: datetime | None = None,
    answer_state: AnswerState | None = None,
    **fields: Any,
) -> Proposal:
    """A proposal on `table` as its status leaves it (published now unless a draft,
    withdrawn now if `withdrawn`, answered now with `answer_state`), on the plan nodes
    `node_ids` (by default the first node of the table's plan, if it has one)."""
    if node_ids is None:
        first = (
            await session.exec(
                select(PlanNode.id)
                .where(col(PlanNode.plan_id) == table.plan_id)
                .order_by(col(PlanNode.sort_path))
            )
        ).first()
        node_ids = [first] if first is not None else []
    now = datetime.now(UTC)
    fields.setdefault("withdrawn_at", now if status == "withdrawn" else None)
    if answer_state is not None:
        fields.setdefault("answer_text", "Risposta")
        fields.setdefault("answered_at", now)
    proposal = Proposal(
        table_id=table.id,
        organization_id=table.organization_id,
        author_id=author.id if author else None,
        title=title,
        body=body,
        status=status,
        published_at=(published_at or now) if status != "draft" else None,
        answer_state=answer_state,
        **fields,
    )
    session.add(proposal)
    await session.flush()
    session.add_all(ProposalNode(proposal_id=proposal.id, node_id=n) for n in node_ids)
    await session.flush()
    return proposal


async def support_rows(session: AsyncSession, proposal_id: uuid.UUID) -> int:
    return (
        await session.exec(
            select(func.count())
            .select_from(ProposalSupport)
            .where(col(ProposalSupport.proposal_id) == proposal_id)
        )
    ).one()
