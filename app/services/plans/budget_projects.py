"""Funded projects shown on their plan nodes, beside the indicators (the plan's progress
figures stay computed from indicators). Only models are imported here, so the plans
domain can use it without depending on the rest of budgeting."""

import uuid

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models.budget_schemas import NodeBudgetProject
from app.models.budgets import BudgetProject, BudgetProjectNode, BudgetProjectUpdate


async def node_budget_projects(
    session: AsyncSession, node_id: uuid.UUID
) -> list[NodeBudgetProject]:
    """The node's projects under implementation (funded ones only get a status)."""
    last_update = (
        select(func.max(BudgetProjectUpdate.happened_on))
        .where(col(BudgetProjectUpdate.project_id) == BudgetProject.id)
        .scalar_subquery()
    )
    rows = await session.exec(
        select(BudgetProject, last_update)
        .join(BudgetProjectNode, col(BudgetProjectNode.project_id) == BudgetProject.id)
        .where(
            col(BudgetProjectNode.node_id) == node_id,
            col(BudgetProject.implementation_status).is_not(None),
        )
        .order_by(col(BudgetProject.created_at), col(BudgetProject.id))
    )
    return [
        NodeBudgetProject(
            id=p.id,
            budget_id=p.budget_id,
            title=p.title,
            cost=p.cost,
            implementation_status=p.implementation_status,
            last_update_on=last,
        )
        for p, last in rows.all()
    ]
