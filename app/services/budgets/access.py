"""Who may see and run a budgeting process, and which phase it is in.

Processes, their areas, projects and published results are public. The process's staff —
admins of its organization and facilitators of its participation table, if it has one —
create and evaluate projects, enter paper ballots and see results throughout.

Phases are dates in Europe/Rome, inclusive: voting is open from `voting.starts_on` to
`voting.ends_on`; projects (content and feasibility verdict) are editable before voting
starts; results are public from `results.starts_on`.
"""

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.error_codes import ErrorCode
from app.errors import Conflict, NotFound
from app.models.accounts import User
from app.models.budget_schemas import PhaseName, Phases
from app.models.budgets import PHASES, Budget, BudgetProject
from app.services.access.kinds import ContentKind, Found, register
from app.services.access.orgs import is_org_admin, is_org_admin_clause
from app.services.access.suspensions import one_for_writer
from app.services.access.tables import facilitates
from app.services.plans.plans import today_in_rome

BUDGET_NOT_FOUND = "No budgeting process with this id."
PROJECT_NOT_FOUND = "No budget project with this id."


@dataclass(frozen=True)
class BudgetContext:
    budget: Budget
    phases: Phases
    today: date
    is_staff: bool

    @property
    def voting_open(self) -> bool:
        return self.phases.voting.starts_on <= self.today <= self.phases.voting.ends_on

    @property
    def voting_started(self) -> bool:
        return self.today >= self.phases.voting.starts_on

    @property
    def voting_closed(self) -> bool:
        return self.today > self.phases.voting.ends_on

    @property
    def results_published(self) -> bool:
        return self.today >= self.phases.results.starts_on


def phases_of(budget: Budget) -> Phases:
    return Phases.model_validate(budget.phases)


def current_phase(phases: Phases, today: date) -> PhaseName | None:
    for name in PHASES:
        period = getattr(phases, name)
        if period is not None and period.starts_on <= today <= period.ends_on:
            found: PhaseName = name  # type: ignore[assignment]
            return found
    return None


async def is_budget_staff(session: AsyncSession, actor: User | None, budget: Budget) -> bool:
    if actor is None:
        return False
    if await is_org_admin(session, actor, budget.organization_id):
        return True
    return budget.table_id is not None and await facilitates(session, actor, budget.table_id)


async def budget_context(
    session: AsyncSession,
    actor: User | None,
    budget_id: uuid.UUID,
    *,
    lock: bool = False,
    staff: bool = True,
    write: bool = False,
) -> BudgetContext:
    """The process (404 if there is none), its phases and whether the actor runs it.
    `lock` takes a share lock on the process row: ballots hold it while they write, so
    storing final results (which takes an exclusive lock) waits for them. `staff=False`
    skips finding out whether the actor runs the process (`is_staff` is then false). With
    `write`, 403 `suspended` when the actor is suspended in the process's organization
    (answered by the same query)."""
    stmt = select(Budget).where(col(Budget.id) == budget_id)
    if lock:
        stmt = stmt.with_for_update(read=True)
    writer = actor if write else None
    budget: Budget | None = await one_for_writer(session, stmt, writer, Budget.organization_id)
    if budget is None:
        raise NotFound(BUDGET_NOT_FOUND)
    return BudgetContext(
        budget=budget,
        phases=phases_of(budget),
        today=today_in_rome(),
        is_staff=staff and await is_budget_staff(session, actor, budget),
    )


async def staff_context(session: AsyncSession, actor: User, budget_id: uuid.UUID) -> BudgetContext:
    """The process, for its staff only (404 for everyone else: they may not run it)."""
    ctx = await budget_context(session, actor, budget_id)
    if not ctx.is_staff:
        raise NotFound(BUDGET_NOT_FOUND)
    return ctx


async def project_context(
    session: AsyncSession,
    actor: User | None,
    project_id: uuid.UUID,
    *,
    for_update: bool = False,
    write: bool = False,
) -> tuple[BudgetProject, BudgetContext]:
    """The project and its process; with `write`, 403 `suspended` when the actor is
    suspended in its organization (answered by the same query)."""
    stmt = select(BudgetProject).where(col(BudgetProject.id) == project_id)
    if for_update:
        stmt = stmt.with_for_update()
    writer = actor if write else None
    project: BudgetProject | None = await one_for_writer(
        session, stmt, writer, BudgetProject.organization_id
    )
    if project is None:
        raise NotFound(PROJECT_NOT_FOUND)
    return project, await budget_context(session, actor, project.budget_id)


def require_before_voting(ctx: BudgetContext, what: str) -> None:
    if ctx.voting_started:
        raise Conflict(
            f"Voting has started: {what} can no longer change.", code=ErrorCode.VOTING_STARTED
        )


# --- the content kind (comments on projects) --------------------------------------------


async def _find_project(
    session: AsyncSession, actor: User | None, project_id: uuid.UUID, write: bool
) -> Found:
    """Public, like its process; always open to comments."""
    project, _ = await project_context(session, actor, project_id, write=write)
    return Found(project.organization_id, None, project.created_by_id, None, True)


def _project_moderators(actor: User) -> ColumnElement[bool]:
    return is_org_admin_clause(actor, BudgetProject.organization_id)


# Takes comments (moderated by the organization's admins); not reported or locked itself.
BUDGET_PROJECT = register(
    ContentKind(
        "budget_project",
        BudgetProject,
        PROJECT_NOT_FOUND,
        _find_project,
        _project_moderators,
        on_tables=False,
        takes_comments=True,
    )
)
