"""Results of a process: per area, each project's votes and cost, funded or not.

Counting runs pabutools (`counting.py`) off the event loop. While voting is open the
count is made at each request (staff only: results are public from `results.starts_on`).
Once voting has closed the ballots can no longer change, so the first count is stored in
`budget_results` and served from there; `store_results` does the same from a background
worker (`consulta worker`) so that a large election is counted before anyone asks.
Storing takes an exclusive lock on the process row, which waits for any ballot still
being written (ballots hold a share lock and re-check the phase under it).
"""

import asyncio
import uuid
from collections.abc import Sequence

from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.error_codes import ErrorCode
from app.errors import Conflict
from app.models.accounts import User
from app.models.budget_schemas import BudgetResultsPublic, Counting, ResultArea, ResultProject
from app.models.budgets import Budget, BudgetArea, BudgetBallot, BudgetProject, BudgetResult
from app.services.budgets.access import BudgetContext, budget_context, phases_of
from app.services.budgets.counting import AreaCount, count_area
from app.services.plans.plans import today_in_rome


async def feasible_projects(session: AsyncSession, budget_id: uuid.UUID) -> list[BudgetProject]:
    """The projects on the ballot, in a stable order."""
    return list(
        (
            await session.exec(
                select(BudgetProject)
                .where(
                    col(BudgetProject.budget_id) == budget_id,
                    col(BudgetProject.feasibility) == "feasible",
                )
                .order_by(col(BudgetProject.id))
            )
        ).all()
    )


async def ballots_by_area(
    session: AsyncSession, budget_id: uuid.UUID
) -> dict[uuid.UUID, list[list[str]]]:
    """Every ballot's choices (project ids as strings), grouped by area — nothing else."""
    result: dict[uuid.UUID, list[list[str]]] = {}
    rows = await session.exec(
        select(BudgetBallot.area_id, BudgetBallot.project_ids).where(
            col(BudgetBallot.budget_id) == budget_id
        )
    )
    for area_id, project_ids in rows.all():
        result.setdefault(area_id, []).append([str(p) for p in project_ids])
    return result


def _count_all(
    areas: Sequence[BudgetArea],
    projects: dict[uuid.UUID, list[BudgetProject]],
    ballots: dict[uuid.UUID, list[list[str]]],
    counting: str,
) -> dict[uuid.UUID, AreaCount]:
    return {
        a.id: count_area(
            a.amount,
            [(str(p.id), p.cost) for p in projects.get(a.id, [])],
            ballots.get(a.id, []),
            counting,
        )
        for a in areas
    }


async def compute_results(
    session: AsyncSession, budget: Budget, counting: str
) -> BudgetResultsPublic:
    """Count every area of `budget` under `counting` (no visibility check, no cache)."""
    areas = list(
        (
            await session.exec(
                select(BudgetArea)
                .where(col(BudgetArea.budget_id) == budget.id)
                .order_by(col(BudgetArea.created_at), col(BudgetArea.id))
            )
        ).all()
    )
    projects: dict[uuid.UUID, list[BudgetProject]] = {}
    for p in await feasible_projects(session, budget.id):
        projects.setdefault(p.area_id, []).append(p)
    ballots = await ballots_by_area(session, budget.id)
    counts = await asyncio.to_thread(_count_all, areas, projects, ballots, counting)
    result_areas = []
    for a in areas:
        c = counts[a.id]
        rows = sorted(
            projects.get(a.id, []), key=lambda p: (-c.votes[str(p.id)], p.cost, str(p.id))
        )
        result_areas.append(
            ResultArea(
                area_id=a.id,
                name=a.name,
                amount=a.amount,
                spent=c.spent,
                left=a.amount - c.spent,
                ballots_count=len(ballots.get(a.id, [])),
                projects=[
                    ResultProject(
                        id=p.id,
                        title=p.title,
                        cost=p.cost,
                        votes=c.votes[str(p.id)],
                        funded=str(p.id) in c.funded,
                    )
                    for p in rows
                ],
            )
        )
    final = today_in_rome() > phases_of(budget).voting.ends_on
    return BudgetResultsPublic(
        budget_id=budget.id,
        counting=counting,
        final=final,
        areas=result_areas,
    )


async def _stored(
    session: AsyncSession, budget_id: uuid.UUID, counting: str
) -> BudgetResultsPublic | None:
    row = await session.get(BudgetResult, (budget_id, counting))
    return None if row is None else BudgetResultsPublic.model_validate(row.data)


async def store_results(
    session: AsyncSession, budget_id: uuid.UUID, counting: str
) -> BudgetResultsPublic | None:
    """Count a process whose voting has closed and store the result (once); None while
    voting is still open or not yet started. Callable from a background worker."""
    budget = (
        await session.exec(select(Budget).where(col(Budget.id) == budget_id).with_for_update())
    ).one_or_none()
    if budget is None or today_in_rome() <= phases_of(budget).voting.ends_on:
        return None
    stored = await _stored(session, budget_id, counting)
    if stored is not None:
        return stored
    results = await compute_results(session, budget, counting)
    await session.exec(
        insert(BudgetResult)
        .values(budget_id=budget_id, counting=counting, data=results.model_dump(mode="json"))
        .on_conflict_do_nothing(index_elements=["budget_id", "counting"])
    )
    return results


async def results_for(
    session: AsyncSession, ctx: BudgetContext, counting: str
) -> BudgetResultsPublic:
    if ctx.voting_closed:
        stored = await _stored(session, ctx.budget.id, counting)
        if stored is not None:
            return stored
        counted = await store_results(session, ctx.budget.id, counting)
        if counted is not None:
            return counted
    return await compute_results(session, ctx.budget, counting)


async def get_results(
    session: AsyncSession,
    actor: User | None,
    budget_id: uuid.UUID,
    counting: Counting | None = None,
) -> BudgetResultsPublic:
    """Public from `results.starts_on`; the process's staff throughout. `counting`
    defaults to the process's own rule (the other one is there to compare)."""
    ctx = await budget_context(session, actor, budget_id)
    require_results_visible(ctx)
    return await results_for(session, ctx, counting or ctx.budget.counting)


def require_results_visible(ctx: BudgetContext) -> None:
    if not (ctx.results_published or ctx.is_staff):
        raise Conflict(
            "Results are published when the results phase starts.",
            code=ErrorCode.RESULTS_NOT_PUBLISHED,
        )


async def funded_project_ids(session: AsyncSession, ctx: BudgetContext) -> set[uuid.UUID]:
    """The projects funded under the process's own counting rule."""
    results = await results_for(session, ctx, ctx.budget.counting)
    return {p.id for a in results.areas for p in a.projects if p.funded}
