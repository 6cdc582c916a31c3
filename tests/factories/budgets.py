"""Builders for participatory budgeting tests: a process in a chosen phase, two areas of
two municipalities, costed projects and residents who may vote."""

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models.accounts import User
from app.models.budgets import (
    PHASES,
    Budget,
    BudgetArea,
    BudgetAreaMunicipality,
    BudgetProject,
)
from app.models.organizations import Municipality, Organization
from app.services.plans.plans import today_in_rome
from tests.factories import make_municipality, make_org, make_user


def phases_around(current: str, today: date | None = None) -> dict[str, Any]:
    """Phases (all five) such that `current` includes today, the others before/after it;
    `current="before"` puts every phase in the future."""
    today = today or today_in_rome()
    index = -1 if current == "before" else PHASES.index(current)
    result: dict[str, Any] = {}
    for i, name in enumerate(PHASES):
        offset = (i - index) * 10
        start = today + timedelta(days=offset - 4)
        end = today + timedelta(days=offset + 4)
        if current == "before":
            start, end = today + timedelta(days=10 + i * 10), today + timedelta(days=14 + i * 10)
        result[name] = {"starts_on": start.isoformat(), "ends_on": end.isoformat()}
    return result


@dataclass
class BudgetScene:
    org: Organization
    admin: User
    budget: Budget
    municipalities: list[Municipality]
    areas: list[BudgetArea]
    projects: dict[str, BudgetProject] = field(default_factory=dict)


async def make_budget_scene(
    session: AsyncSession,
    *,
    phase: str = "voting",
    method: str = "approval",
    counting: str = "greedy",
    max_projects: int | None = None,
    min_spend_percent: int | None = None,
    min_age: int | None = None,
    any_area: bool = False,
    amounts: tuple[int, int] = (100_00, 100_00),
    projects: dict[str, tuple[int, int]] | None = None,
) -> BudgetScene:
    """Areas A (municipality 0) and B (municipality 1); municipality 2 is in no area.
    `projects`: name -> (area index, cost in cents), all feasible."""
    admin = await make_user(session, name="Admin")
    org = await make_org(session, admin=admin)
    municipalities = [
        await make_municipality(session, org, name) for name in ("Bari", "Bitonto", "Altrove")
    ]
    budget = Budget(
        organization_id=org.id,
        slug="bilancio-2027",
        title={"it": "Bilancio partecipativo 2027"},
        description={"it": "Decidi tu."},
        phases=phases_around(phase),
        voting_method=method,
        counting=counting,
        max_projects=max_projects,
        min_spend_percent=min_spend_percent,
        min_age=min_age,
        any_area=any_area,
    )
    session.add(budget)
    await session.flush()
    areas = []
    for i, amount in enumerate(amounts):
        area = BudgetArea(budget_id=budget.id, name=f"Area {'AB'[i]}", amount=amount)
        session.add(area)
        await session.flush()
        session.add(
            BudgetAreaMunicipality(
                area_id=area.id, municipality_id=municipalities[i].id, budget_id=budget.id
            )
        )
        areas.append(area)
    scene = BudgetScene(org, admin, budget, municipalities, areas)
    for name, (area_index, cost) in (projects or {}).items():
        project = BudgetProject(
            budget_id=budget.id,
            organization_id=org.id,
            area_id=areas[area_index].id,
            title={"it": name},
            cost=cost,
            feasibility="feasible",
        )
        session.add(project)
        scene.projects[name] = project
    await session.flush()
    return scene


async def make_resident(
    session: AsyncSession,
    municipality: Municipality | None,
    *,
    birth_date: date | None = date(1990, 5, 1),
) -> User:
    user = await make_user(session)
    user.municipality_id = municipality.id if municipality else None
    user.birth_date = birth_date
    session.add(user)
    await session.flush()
    return user


async def set_phase(session: AsyncSession, budget: Budget, phase: str) -> None:
    await session.exec(
        update(Budget).where(col(Budget.id) == budget.id).values(phases=phases_around(phase))
    )
    await session.flush()


def ids(*projects: BudgetProject) -> list[str]:
    return [str(p.id) for p in projects]
