"""Costed projects of a process: created by its staff (optionally from proposals, linked
both ways), evaluated before voting (feasibility verdict and report, audited), and, once
funded, tracked through their implementation with dated updates."""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.error_codes import ErrorCode
from app.errors import Conflict, NotFound
from app.event_types import EventType
from app.events import record_event
from app.models.accounts import User
from app.models.budget_schemas import (
    ImplementationUpdatePublic,
    ProjectCreate,
    ProjectPublic,
    ProjectUpdate,
)
from app.models.budgets import (
    Budget,
    BudgetArea,
    BudgetProject,
    BudgetProjectNode,
    BudgetProjectProposal,
    BudgetProjectUpdate,
)
from app.models.comments import Comment
from app.models.organizations import Organization
from app.models.proposals import Proposal
from app.pagination import PageParams, SortKey, paginate
from app.services.access.content import visible_proposals
from app.services.audit.write import record_audit
from app.services.budgets.access import (
    BudgetContext,
    budget_context,
    project_context,
    require_before_voting,
    staff_context,
)
from app.services.budgets.results import funded_project_ids
from app.services.plans.plans import checked_node_ids, today_in_rome
from app.services.validation import Loc, invalid, require_default_locale


async def _links(
    session: AsyncSession, ids: Sequence[uuid.UUID]
) -> tuple[
    dict[uuid.UUID, list[uuid.UUID]],
    dict[uuid.UUID, list[uuid.UUID]],
    dict[uuid.UUID, list[BudgetProjectUpdate]],
    dict[uuid.UUID, int],
]:
    nodes: dict[uuid.UUID, list[uuid.UUID]] = {}
    proposals: dict[uuid.UUID, list[uuid.UUID]] = {}
    updates: dict[uuid.UUID, list[BudgetProjectUpdate]] = {}
    if not ids:
        return nodes, proposals, updates, {}
    for pid, nid in (
        await session.exec(
            select(BudgetProjectNode.project_id, BudgetProjectNode.node_id)
            .where(col(BudgetProjectNode.project_id).in_(ids))
            .order_by(col(BudgetProjectNode.node_id))
        )
    ).all():
        nodes.setdefault(pid, []).append(nid)
    for pid, prop in (
        await session.exec(
            select(BudgetProjectProposal.project_id, BudgetProjectProposal.proposal_id)
            .where(col(BudgetProjectProposal.project_id).in_(ids))
            .order_by(col(BudgetProjectProposal.proposal_id))
        )
    ).all():
        proposals.setdefault(pid, []).append(prop)
    for update in (
        await session.exec(
            select(BudgetProjectUpdate)
            .where(col(BudgetProjectUpdate.project_id).in_(ids))
            .order_by(col(BudgetProjectUpdate.happened_on), col(BudgetProjectUpdate.created_at))
        )
    ).all():
        updates.setdefault(update.project_id, []).append(update)
    comments = {
        target_id: n
        for target_id, n in (
            await session.exec(
                select(Comment.target_id, func.count())
                .where(
                    col(Comment.target_type) == "budget_project",
                    col(Comment.target_id).in_(ids),
                    col(Comment.status) == "visible",
                    col(Comment.deleted_at).is_(None),
                )
                .group_by(col(Comment.target_id))
            )
        ).all()
    }
    return nodes, proposals, updates, comments


async def projects_public(
    session: AsyncSession, projects: Sequence[BudgetProject]
) -> list[ProjectPublic]:
    """Responses for projects, in a constant number of queries."""
    nodes, proposals, updates, comments = await _links(session, [p.id for p in projects])
    return [
        ProjectPublic(
            id=p.id,
            budget_id=p.budget_id,
            organization_id=p.organization_id,
            area_id=p.area_id,
            title=p.title,
            description=p.description,
            cost=p.cost,
            node_ids=nodes.get(p.id, []),
            proposal_ids=proposals.get(p.id, []),
            feasibility=p.feasibility,
            feasibility_report=p.feasibility_report,
            on_ballot=p.feasibility == "feasible",
            implementation_status=p.implementation_status,
            implementation_updates=[
                ImplementationUpdatePublic(
                    status=u.status,
                    happened_on=u.happened_on,
                    note=u.note,
                )
                for u in updates.get(p.id, [])
            ],
            comments_count=comments.get(p.id, 0),
            created_at=p.created_at,
            updated_at=p.updated_at,
        )
        for p in projects
    ]


async def _check_area(session: AsyncSession, budget: Budget, area_id: uuid.UUID) -> None:
    area = await session.get(BudgetArea, area_id)
    if area is None or area.budget_id != budget.id:
        raise invalid(["body", "area_id"], "Not an area of this process.", ErrorCode.UNKNOWN_AREA)


async def _set_proposals(
    session: AsyncSession, actor: User, project: BudgetProject, proposal_ids: Sequence[uuid.UUID]
) -> None:
    ids = list(dict.fromkeys(proposal_ids))
    if ids:
        found = {
            p.id
            for p in (
                await session.exec(
                    visible_proposals(actor).where(
                        col(Proposal.id).in_(ids),
                        col(Proposal.organization_id) == project.organization_id,
                    )
                )
            ).all()
        }
        missing = [i for i, p in enumerate(ids) if p not in found]
        if missing:
            raise invalid(
                ["body", "proposal_ids", missing[0]],
                "Not a proposal of this organization.",
                ErrorCode.UNKNOWN_PROPOSAL,
            )
    await session.exec(
        delete(BudgetProjectProposal).where(col(BudgetProjectProposal.project_id) == project.id)
    )
    session.add_all(BudgetProjectProposal(project_id=project.id, proposal_id=p) for p in ids)


async def _set_nodes(
    session: AsyncSession, budget: Budget, project: BudgetProject, node_ids: Sequence[uuid.UUID]
) -> None:
    ids = await checked_node_ids(session, budget.plan_id, node_ids)
    await session.exec(
        delete(BudgetProjectNode).where(col(BudgetProjectNode.project_id) == project.id)
    )
    session.add_all(BudgetProjectNode(project_id=project.id, node_id=n) for n in ids)


async def _org(session: AsyncSession, budget: Budget) -> Organization:
    org = await session.get(Organization, budget.organization_id)
    if org is None:
        raise NotFound("No budgeting process with this id.")
    return org


def _event(
    session: AsyncSession,
    type_: EventType,
    project: BudgetProject,
    actor: User,
    payload: dict[str, Any],
) -> None:
    record_event(
        session,
        type_,
        subject_type="budget_project",
        subject_id=project.id,
        actor_id=actor.id,
        organization_id=project.organization_id,
        payload={"budget_id": str(project.budget_id), **payload},
    )


async def create_project(
    session: AsyncSession, actor: User, budget_id: uuid.UUID, data: ProjectCreate
) -> ProjectPublic:
    ctx = await staff_context(session, actor, budget_id)
    require_before_voting(ctx, "projects")
    texts: list[tuple[Loc, dict[str, str] | None, bool]] = [
        (["body", "title"], data.title, True),
        (["body", "description"], data.description, False),
    ]
    require_default_locale(await _org(session, ctx.budget), texts)
    await _check_area(session, ctx.budget, data.area_id)
    project = BudgetProject(
        budget_id=ctx.budget.id,
        organization_id=ctx.budget.organization_id,
        area_id=data.area_id,
        title=data.title,
        description=data.description,
        cost=data.cost,
        created_by_id=actor.id,
    )
    session.add(project)
    await session.flush()
    await _set_nodes(session, ctx.budget, project, data.node_ids)
    await _set_proposals(session, actor, project, data.proposal_ids)
    _event(
        session, EventType.BUDGET_PROJECT_CREATED, project, actor, {"area_id": str(project.area_id)}
    )
    await session.flush()
    return (await projects_public(session, [project]))[0]


async def list_projects(
    session: AsyncSession,
    actor: User | None,
    budget_id: uuid.UUID,
    params: PageParams,
    *,
    area_id: uuid.UUID | None = None,
    on_ballot: bool | None = None,
) -> tuple[list[ProjectPublic], str | None]:
    """A process's projects, oldest first; `area_id` and `on_ballot` narrow the list."""
    ctx = await budget_context(session, actor, budget_id)
    stmt = select(BudgetProject).where(col(BudgetProject.budget_id) == ctx.budget.id)
    if area_id is not None:
        stmt = stmt.where(col(BudgetProject.area_id) == area_id)
    if on_ballot is not None:
        feasible = col(BudgetProject.feasibility) == "feasible"
        stmt = stmt.where(feasible if on_ballot else ~feasible)
    keys = [
        SortKey(BudgetProject.created_at, kind=datetime),
        SortKey(BudgetProject.id, kind=uuid.UUID),
    ]
    projects, cursor = await paginate(
        session, stmt, keys, params, key_of=lambda p: (p.created_at, p.id)
    )
    return await projects_public(session, projects), cursor


async def get_project(
    session: AsyncSession, actor: User | None, project_id: uuid.UUID
) -> ProjectPublic:
    project, _ = await project_context(session, actor, project_id)
    return (await projects_public(session, [project]))[0]


async def _update_content(
    session: AsyncSession,
    actor: User,
    ctx: BudgetContext,
    project: BudgetProject,
    data: ProjectUpdate,
) -> None:
    require_before_voting(ctx, "projects")
    require_default_locale(
        await _org(session, ctx.budget),
        [
            (["body", "title"], data.title, True),
            (["body", "description"], data.description, False),
            (["body", "feasibility_report"], data.feasibility_report, False),
        ],
    )
    if data.title is not None:
        project.title = data.title
    if data.description is not None:
        project.description = data.description
    if data.area_id is not None:
        await _check_area(session, ctx.budget, data.area_id)
        project.area_id = data.area_id
    if data.cost is not None:
        project.cost = data.cost
    if data.node_ids is not None:
        await _set_nodes(session, ctx.budget, project, data.node_ids)
    if data.proposal_ids is not None:
        await _set_proposals(session, actor, project, data.proposal_ids)


def _evaluate(
    session: AsyncSession, actor: User, project: BudgetProject, data: ProjectUpdate
) -> None:
    if data.feasibility is not None:
        project.feasibility = data.feasibility
    if data.feasibility_report is not None:
        project.feasibility_report = data.feasibility_report
    record_audit(
        session,
        EventType.BUDGET_PROJECT_EVALUATED,
        organization_id=project.organization_id,
        actor_id=actor.id,
        target_type="budget_project",
        target_id=project.id,
        data={"budget_id": str(project.budget_id), "feasibility": project.feasibility},
    )


async def _implement(
    session: AsyncSession,
    actor: User,
    ctx: BudgetContext,
    project: BudgetProject,
    data: ProjectUpdate,
) -> None:
    if not ctx.results_published:
        raise Conflict(
            "Implementation is tracked once results are published.",
            code=ErrorCode.RESULTS_NOT_PUBLISHED,
        )
    if project.id not in await funded_project_ids(session, ctx):
        raise Conflict("Only funded projects are implemented.", code=ErrorCode.NOT_FUNDED)
    status = data.implementation_status or project.implementation_status or "planned"
    project.implementation_status = status
    session.add(
        BudgetProjectUpdate(
            project_id=project.id,
            status=status,
            happened_on=data.implementation_date or today_in_rome(),
            note=data.implementation_note or {},
            created_by_id=actor.id,
        )
    )


CONTENT = ("title", "description", "area_id", "cost", "node_ids", "proposal_ids")
VERDICT = ("feasibility", "feasibility_report")
IMPLEMENTATION = ("implementation_status", "implementation_note", "implementation_date")


async def update_project(
    session: AsyncSession, actor: User, project_id: uuid.UUID, data: ProjectUpdate
) -> ProjectPublic:
    project, ctx = await project_context(session, actor, project_id, for_update=True)
    if not ctx.is_staff:
        raise NotFound("No budget project with this id.")
    fields = data.model_dump(exclude_unset=True, exclude_none=True)
    if any(f in fields for f in CONTENT):
        await _update_content(session, actor, ctx, project, data)
    if any(f in fields for f in VERDICT):
        require_before_voting(ctx, "feasibility verdicts")
        _evaluate(session, actor, project, data)
    if any(f in fields for f in IMPLEMENTATION):
        await _implement(session, actor, ctx, project, data)
    session.add(project)
    _event(session, EventType.BUDGET_PROJECT_UPDATED, project, actor, {"fields": sorted(fields)})
    await session.flush()
    await session.refresh(project)
    return (await projects_public(session, [project]))[0]
