"""Personal data held by budgeting: only the "has voted" records (a ballot's choices are
not stored with anyone's identity, so there is nothing else to export or erase)."""

import uuid

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models.budget_schemas import ExportBudgetParticipation
from app.models.budgets import Budget, BudgetVoter


async def budget_participations(
    session: AsyncSession, user_id: uuid.UUID
) -> list[ExportBudgetParticipation]:
    rows = await session.exec(
        select(Budget.id, Budget.slug, Budget.title, BudgetVoter.channel)
        .join(BudgetVoter, col(BudgetVoter.budget_id) == Budget.id)
        .where(col(BudgetVoter.user_id) == user_id)
        .order_by(col(Budget.created_at), col(Budget.id))
    )
    return [
        ExportBudgetParticipation(budget_id=i, budget_slug=s, title=t, channel=c)
        for i, s, t, c in rows.all()
    ]


async def forget_budget_voter(session: AsyncSession, user_id: uuid.UUID) -> int:
    """Erase the person's "has voted" records; their anonymous ballots stay counted."""
    deleted = await session.exec(
        delete(BudgetVoter)
        .where(col(BudgetVoter.user_id) == user_id)
        .returning(col(BudgetVoter.id))
    )
    return len(deleted.all())
