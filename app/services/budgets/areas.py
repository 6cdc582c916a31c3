"""Areas of a process: each with its own amount (euro cents) and its municipalities."""

import uuid
from collections.abc import Sequence

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.error_codes import ErrorCode
from app.errors import Conflict, NotFound
from app.event_types import EventType
from app.events import record_event
from app.models.accounts import User
from app.models.budget_schemas import AreaCreate, AreaPublic
from app.models.budgets import BudgetArea, BudgetAreaMunicipality
from app.models.organizations import Organization
from app.services.budgets.access import budget_context, require_before_voting, staff_context
from app.services.organizations.organizations import check_municipalities

MAX_AREAS = 200


async def areas_of(session: AsyncSession, budget_id: uuid.UUID) -> list[BudgetArea]:
    return list(
        (
            await session.exec(
                select(BudgetArea)
                .where(col(BudgetArea.budget_id) == budget_id)
                .order_by(col(BudgetArea.created_at), col(BudgetArea.id))
            )
        ).all()
    )


async def area_municipalities(
    session: AsyncSession, budget_id: uuid.UUID
) -> dict[uuid.UUID, list[uuid.UUID]]:
    result: dict[uuid.UUID, list[uuid.UUID]] = {}
    for area_id, municipality_id in (
        await session.exec(
            select(BudgetAreaMunicipality.area_id, BudgetAreaMunicipality.municipality_id)
            .where(col(BudgetAreaMunicipality.budget_id) == budget_id)
            .order_by(col(BudgetAreaMunicipality.municipality_id))
        )
    ).all():
        result.setdefault(area_id, []).append(municipality_id)
    return result


async def area_of_residence(
    session: AsyncSession, budget_id: uuid.UUID, municipality_id: uuid.UUID | None
) -> uuid.UUID | None:
    """The area of the process that includes this municipality, if any."""
    if municipality_id is None:
        return None
    found: uuid.UUID | None = (
        await session.exec(
            select(BudgetAreaMunicipality.area_id).where(
                col(BudgetAreaMunicipality.budget_id) == budget_id,
                col(BudgetAreaMunicipality.municipality_id) == municipality_id,
            )
        )
    ).first()
    return found


def _public(area: BudgetArea, municipality_ids: Sequence[uuid.UUID]) -> AreaPublic:
    return AreaPublic(
        id=area.id,
        budget_id=area.budget_id,
        name=area.name,
        municipality_ids=list(municipality_ids),
        amount=area.amount,
        created_at=area.created_at,
    )


async def list_areas(
    session: AsyncSession, actor: User | None, budget_id: uuid.UUID
) -> list[AreaPublic]:
    """All areas of a process, in the order they were added (a process has few)."""
    ctx = await budget_context(session, actor, budget_id)
    municipalities = await area_municipalities(session, ctx.budget.id)
    return [
        _public(a, municipalities.get(a.id, [])) for a in await areas_of(session, ctx.budget.id)
    ]


async def create_area(
    session: AsyncSession, actor: User, budget_id: uuid.UUID, data: AreaCreate
) -> AreaPublic:
    ctx = await staff_context(session, actor, budget_id)
    require_before_voting(ctx, "areas")
    org = await session.get(Organization, ctx.budget.organization_id)
    if org is None:
        raise NotFound("No budgeting process with this id.")
    ids = list(dict.fromkeys(data.municipality_ids))
    await check_municipalities(session, org, ids, ["body", "municipality_ids"])
    taken = (
        await session.exec(
            select(BudgetAreaMunicipality.municipality_id).where(
                col(BudgetAreaMunicipality.budget_id) == ctx.budget.id,
                col(BudgetAreaMunicipality.municipality_id).in_(ids),
            )
        )
    ).all()
    if taken:
        raise Conflict(
            "A municipality belongs to one area of a process: " + ", ".join(str(t) for t in taken),
            code=ErrorCode.MUNICIPALITY_IN_OTHER_AREA,
        )
    if len(await areas_of(session, ctx.budget.id)) >= MAX_AREAS:
        raise Conflict(f"A process has at most {MAX_AREAS} areas.", code=ErrorCode.TOO_MANY_AREAS)
    area = BudgetArea(budget_id=ctx.budget.id, name=data.name, amount=data.amount)
    session.add(area)
    await session.flush()
    session.add_all(
        BudgetAreaMunicipality(area_id=area.id, municipality_id=m, budget_id=ctx.budget.id)
        for m in ids
    )
    record_event(
        session,
        EventType.BUDGET_AREA_CREATED,
        subject_type="budget",
        subject_id=ctx.budget.id,
        actor_id=actor.id,
        organization_id=ctx.budget.organization_id,
        payload={"budget_id": str(ctx.budget.id), "area_id": str(area.id)},
    )
    await session.flush()
    return _public(area, ids)
