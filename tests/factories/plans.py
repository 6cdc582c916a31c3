"""Plans: plans written straight to the database, plan documents and imports, indicators,
and the row counts an import or a monitoring write leaves."""

import copy
import json
import uuid
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

from sqlalchemy import func, table
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models.accounts import User
from app.models.monitoring import IndicatorCreate, MeasurementCreate
from app.models.organizations import Organization
from app.models.plan_import import ImportReport
from app.models.plans import Plan, PlanNode, PlanStatus
from app.services.imports.plan_import import SYSTEM, import_plan
from app.services.plans.monitoring import create_indicator, record_measurement


async def make_plan(
    session: AsyncSession,
    org: Organization,
    *,
    codes: tuple[str, ...] = ("1", "4", "9"),
    status: PlanStatus = "approved",
) -> tuple[Plan, dict[str, PlanNode]]:
    """A plan with one root node (an axis) per code."""
    plan = Plan(
        organization_id=org.id,
        slug=f"plan-{uuid.uuid4().hex[:8]}",
        title={"it": "Piano strategico"},
        status=status,
    )
    session.add(plan)
    await session.flush()
    nodes = {}
    for position, code in enumerate(codes):
        node = PlanNode(
            plan_id=plan.id,
            organization_id=org.id,
            code=code,
            kind="axis",
            title={"it": f"Asse {code}"},
            position=position,
            sort_path=f"{position:04d}",
        )
        session.add(node)
        nodes[code] = node
    await session.flush()
    return plan, nodes


BUNDLED = {"bari": 38, "milano": 51, "torino": 47}


@cache
def _bundled(name: str) -> str:
    return resources.files("app").joinpath(f"data/plans/{name}.json").read_text("utf-8")


def plan_document(name: str, *, tables: bool = False) -> dict[str, Any]:
    """A fresh copy of a bundled plan document (`bari`, `milano`, `torino`), without its
    `tables` section unless asked (the tables tests cover that section)."""
    document: dict[str, Any] = json.loads(_bundled(name))
    if not tables:
        document.pop("tables", None)
    return document


def small_document(
    org_slug: str, *, plan_slug: str = "piano-prova", status: str = "consultation"
) -> dict[str, Any]:
    """Two axes with two objectives each, for an organization with default locale `it`."""
    return copy.deepcopy(
        {
            "format": "consulta.plan/v1",
            "organization": {"slug": org_slug, "name": "Città di prova"},
            "plan": {
                "slug": plan_slug,
                "title": {"it": "Piano di prova", "en": "Test plan"},
                "status": status,
                "period": {"start": "2025-01-01", "end": "2030-12-31"},
                "levels": ["axis", "objective"],
                "nodes": [
                    {
                        "code": "A",
                        "kind": "axis",
                        "title": {"it": "Asse A"},
                        "children": [
                            {"code": "A.1", "kind": "objective", "title": {"it": "Obiettivo A.1"}},
                            {"code": "A.2", "kind": "objective", "title": {"it": "Obiettivo A.2"}},
                        ],
                    },
                    {
                        "code": "B",
                        "kind": "axis",
                        "title": {"it": "Asse B"},
                        "children": [
                            {"code": "B.1", "kind": "objective", "title": {"it": "Obiettivo B.1"}},
                            {"code": "B.2", "kind": "objective", "title": {"it": "Obiettivo B.2"}},
                        ],
                    },
                ],
            },
        }
    )


def walk(nodes: list[dict[str, Any]], parent: str | None = None) -> list[tuple[str, str | None]]:
    """(code, parent code) of a document's nodes, depth first."""
    out: list[tuple[str, str | None]] = []
    for node in nodes:
        out.append((node["code"], parent))
        out.extend(walk(node.get("children", []), node["code"]))
    return out


async def import_document(
    session: AsyncSession, document: dict[str, Any], actor: User | None = None
) -> ImportReport:
    """Import as `actor`, or as the system (platform rights) when None."""
    return await import_plan(session, actor or SYSTEM, document)


TABLES = (
    "organizations",
    "municipalities",
    "plans",
    "plan_phases",
    "plan_nodes",
    "indicators",
    "indicator_measurements",
    "events",
)


async def count_rows(session: AsyncSession) -> dict[str, int]:
    """Rows in every table an import or a monitoring write touches."""
    return {
        name: (await session.exec(select(func.count()).select_from(table(name)))).one()
        for name in TABLES
    }


async def add_indicator(
    session: AsyncSession,
    admin: User,
    node_id: Any,
    *,
    direction: str = "increase",
    baseline: float = 0.0,
    target: float = 10.0,
    weight: float | None = None,
    measurements: tuple[tuple[date, float], ...] = (),
) -> uuid.UUID:
    """An indicator on the node (through the service, as `admin`), with measurements."""
    indicator = await create_indicator(
        session,
        admin,
        uuid.UUID(str(node_id)),
        IndicatorCreate(
            name={"it": f"Indicatore {uuid.uuid4().hex[:6]}"},
            unit="n",
            direction=direction,
            baseline_value=baseline,
            baseline_date=date(2020, 1, 1),
            target_value=target,
            target_date=date(2030, 12, 31),
            weight=weight,
        ),
    )
    for measured_on, value in measurements:
        await record_measurement(
            session, admin, indicator.id, MeasurementCreate(value=value, measured_on=measured_on)
        )
    return indicator.id
