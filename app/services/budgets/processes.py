"""Budgeting processes: create (organization admins), list and read (everyone), edit."""

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.error_codes import ErrorCode
from app.errors import Conflict, NotFound, Unprocessable
from app.event_types import EventType
from app.events import record_event
from app.models.accounts import User
from app.models.budget_schemas import (
    BudgetCreate,
    BudgetEligibility,
    BudgetPublic,
    BudgetUpdate,
    Voting,
)
from app.models.budgets import Budget, BudgetNode, BudgetResult, BudgetVoter
from app.models.organizations import Organization
from app.models.tables import ParticipationTable
from app.pagination import PageParams, SortKey, paginate
from app.services.access.orgs import get_admin_organization, get_organization
from app.services.budgets.access import (
    BudgetContext,
    budget_context,
    current_phase,
    phases_of,
    require_before_voting,
    staff_context,
)
from app.services.plans.plans import checked_node_ids, today_in_rome
from app.services.tables.tables import check_plan
from app.services.validation import Loc, require_default_locale


async def _voters_counts(
    session: AsyncSession, budget_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    if not budget_ids:
        return {}
    rows = await session.exec(
        select(BudgetVoter.budget_id, func.count())
        .where(col(BudgetVoter.budget_id).in_(budget_ids))
        .group_by(col(BudgetVoter.budget_id))
    )
    return {budget_id: n for budget_id, n in rows.all()}


async def _node_ids(
    session: AsyncSession, budget_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    result: dict[uuid.UUID, list[uuid.UUID]] = {}
    if budget_ids:
        for budget_id, node_id in (
            await session.exec(
                select(BudgetNode.budget_id, BudgetNode.node_id)
                .where(col(BudgetNode.budget_id).in_(budget_ids))
                .order_by(col(BudgetNode.node_id))
            )
        ).all():
            result.setdefault(budget_id, []).append(node_id)
    return result


async def budgets_public(session: AsyncSession, budgets: Sequence[Budget]) -> list[BudgetPublic]:
    """Responses for processes, in a constant number of queries."""
    ids = [b.id for b in budgets]
    voters = await _voters_counts(session, ids)
    nodes = await _node_ids(session, ids)
    today = today_in_rome()
    items = []
    for b in budgets:
        phases = phases_of(b)
        items.append(
            BudgetPublic(
                id=b.id,
                organization_id=b.organization_id,
                slug=b.slug,
                title=b.title,
                description=b.description,
                plan_id=b.plan_id,
                node_ids=nodes.get(b.id, []),
                table_id=b.table_id,
                phases=phases,
                current_phase=current_phase(phases, today),
                voting_open=phases.voting.starts_on <= today <= phases.voting.ends_on,
                results_published=today >= phases.results.starts_on,
                voting=Voting(
                    method=b.voting_method,
                    max_projects=b.max_projects,
                    min_spend_percent=b.min_spend_percent,
                    counting=b.counting,
                ),
                eligibility=BudgetEligibility(min_age=b.min_age, any_area=b.any_area),
                voters_count=voters.get(b.id, 0),
                created_at=b.created_at,
                updated_at=b.updated_at,
            )
        )
    return items


async def budget_public(session: AsyncSession, budget: Budget) -> BudgetPublic:
    return (await budgets_public(session, [budget]))[0]


async def _check_table(
    session: AsyncSession, org: Organization, table_id: uuid.UUID | None
) -> None:
    if table_id is None:
        return
    table = await session.get(ParticipationTable, table_id)
    if table is None or table.organization_id != org.id:
        raise Unprocessable(
            "No table of this organization has this id.",
            code=ErrorCode.UNKNOWN_TABLE,
            errors=[
                {
                    "loc": ["body", "table_id"],
                    "msg": "no such table",
                    "code": ErrorCode.UNKNOWN_TABLE,
                }
            ],
        )


def _apply_voting(budget: Budget, voting: Voting) -> None:
    budget.voting_method = voting.method
    budget.max_projects = voting.max_projects
    budget.min_spend_percent = voting.min_spend_percent
    budget.counting = voting.counting


async def _set_nodes(session: AsyncSession, budget: Budget, node_ids: Sequence[uuid.UUID]) -> None:
    ids = await checked_node_ids(session, budget.plan_id, node_ids)
    await session.exec(delete(BudgetNode).where(col(BudgetNode.budget_id) == budget.id))
    session.add_all(BudgetNode(budget_id=budget.id, node_id=i) for i in ids)


async def create_budget(
    session: AsyncSession, actor: User, slug: str, data: BudgetCreate
) -> BudgetPublic:
    org = await get_admin_organization(session, actor, slug)
    texts: list[tuple[Loc, dict[str, str] | None, bool]] = [
        (["body", "title"], data.title, True),
        (["body", "description"], data.description, False),
    ]
    require_default_locale(org, texts)
    if data.plan_id is not None:
        await check_plan(session, actor, org, data.plan_id)
    await _check_table(session, org, data.table_id)
    taken = (
        await session.exec(
            select(Budget.id).where(
                col(Budget.organization_id) == org.id, col(Budget.slug) == data.slug
            )
        )
    ).first()
    if taken is not None:
        raise Conflict(
            "A process of this organization already has this slug.", code=ErrorCode.SLUG_TAKEN
        )
    budget = Budget(
        organization_id=org.id,
        slug=data.slug,
        title=data.title,
        description=data.description,
        plan_id=data.plan_id,
        table_id=data.table_id,
        phases=data.phases.model_dump(mode="json"),
        voting_method=data.voting.method,
        counting=data.voting.counting,
        min_age=data.eligibility.min_age,
        any_area=data.eligibility.any_area,
        created_by_id=actor.id,
    )
    _apply_voting(budget, data.voting)
    session.add(budget)
    await session.flush()
    await _set_nodes(session, budget, data.node_ids)
    record_event(
        session,
        EventType.BUDGET_CREATED,
        subject_type="budget",
        subject_id=budget.id,
        actor_id=actor.id,
        organization_id=org.id,
        payload={"budget_id": str(budget.id)},
    )
    await session.flush()
    return await budget_public(session, budget)


async def list_budgets(
    session: AsyncSession, slug: str, params: PageParams
) -> tuple[list[BudgetPublic], str | None]:
    """An organization's processes, newest first."""
    org = await get_organization(session, slug)
    keys = [
        SortKey(Budget.created_at, descending=True, kind=datetime),
        SortKey(Budget.id, descending=True, kind=uuid.UUID),
    ]
    budgets, cursor = await paginate(
        session,
        select(Budget).where(col(Budget.organization_id) == org.id),
        keys,
        params,
        key_of=lambda b: (b.created_at, b.id),
    )
    return await budgets_public(session, budgets), cursor


async def get_budget(
    session: AsyncSession, actor: User | None, budget_id: uuid.UUID
) -> BudgetPublic:
    ctx = await budget_context(session, actor, budget_id)
    return await budget_public(session, ctx.budget)


async def update_budget(
    session: AsyncSession, actor: User, budget_id: uuid.UUID, data: BudgetUpdate
) -> BudgetPublic:
    ctx: BudgetContext = await staff_context(session, actor, budget_id)
    budget = ctx.budget
    org = await session.get(Organization, budget.organization_id)
    if org is None:
        raise NotFound("No budgeting process with this id.")
    require_default_locale(
        org,
        [
            (["body", "title"], data.title, True),
            (["body", "description"], data.description, False),
        ],
    )
    changed = sorted(data.model_dump(exclude_unset=True))
    if data.voting is not None or data.eligibility is not None:
        require_before_voting(ctx, "the voting rules and eligibility")
    if data.title is not None:
        budget.title = data.title
    if data.description is not None:
        budget.description = data.description
    if "table_id" in data.model_fields_set:
        await _check_table(session, org, data.table_id)
        budget.table_id = data.table_id
    if data.phases is not None:
        budget.phases = data.phases.model_dump(mode="json")
        # New dates may reopen voting: a stored count is no longer final.
        await session.exec(delete(BudgetResult).where(col(BudgetResult.budget_id) == budget.id))
    if data.voting is not None:
        _apply_voting(budget, data.voting)
    if data.eligibility is not None:
        budget.min_age = data.eligibility.min_age
        budget.any_area = data.eligibility.any_area
    if data.node_ids is not None:
        await _set_nodes(session, budget, data.node_ids)
    session.add(budget)
    record_event(
        session,
        EventType.BUDGET_UPDATED,
        subject_type="budget",
        subject_id=budget.id,
        actor_id=actor.id,
        organization_id=budget.organization_id,
        payload={"budget_id": str(budget.id), "fields": changed},
    )
    await session.flush()
    await session.refresh(budget)
    return await budget_public(session, budget)
