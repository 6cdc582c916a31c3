"""The open-data dataset `budget-results`: per project of every process whose results are
published, its area, cost, votes and whether it was funded. No personal data, no ballots."""

import uuid

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models.budget_schemas import BudgetResultRow
from app.models.budgets import Budget
from app.services.budgets.access import BudgetContext, phases_of
from app.services.budgets.results import results_for
from app.services.plans.plans import today_in_rome


async def budget_results_rows(
    session: AsyncSession, organization_id: uuid.UUID
) -> list[BudgetResultRow]:
    """Rows for the organization's published results, under each process's own rule."""
    today = today_in_rome()
    budgets = (
        await session.exec(
            select(Budget)
            .where(col(Budget.organization_id) == organization_id)
            .order_by(col(Budget.created_at), col(Budget.id))
        )
    ).all()
    rows: list[BudgetResultRow] = []
    for budget in budgets:
        ctx = BudgetContext(budget=budget, phases=phases_of(budget), today=today, is_staff=False)
        if not ctx.results_published:
            continue
        results = await results_for(session, ctx, budget.counting)
        rows.extend(
            BudgetResultRow(
                budget_id=budget.id,
                budget_slug=budget.slug,
                counting=results.counting,
                area_id=area.area_id,
                area_name=area.name,
                project_id=p.id,
                project_title=p.title,
                cost=p.cost,
                votes=p.votes,
                funded=p.funded,
            )
            for area in results.areas
            for p in area.projects
        )
    return rows
