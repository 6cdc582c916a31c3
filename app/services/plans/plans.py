"""Plans: browsing plans and editing them.

Authorization lives in the queries (`app/services/access/content.py`).
`plan_visible_clause(actor)` admits every plan but
drafts, and drafts of organizations the actor administers; `is_org_admin_clause` admits
only the latter's plans for writes. A draft, or another organization's plan on a write,
is therefore a 404, never a 403.

The nodes of a plan are browsed and edited in `app/services/plans/plan_nodes.py`,
imported in `app/services/imports/plan_import.py` and monitored in
`app/services/plans/monitoring.py`.
"""

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.error_codes import ErrorCode
from app.errors import Unprocessable
from app.etag import check_if_match
from app.event_types import EventType
from app.models.accounts import User
from app.models.integrations import Actor, acting_client
from app.models.organizations import Organization
from app.models.plans import (
    Indicator,
    PhasePublic,
    Plan,
    PlanNode,
    PlanPhase,
    PlanPublic,
    PlanSummary,
    PlanUpdate,
)
from app.pagination import PageParams, SortKey, paginate
from app.services.access.content import get_admin_plan, get_visible_plan, plan_visible_clause
from app.services.access.orgs import get_organization
from app.services.audit.write import record_audit
from app.services.validation import check_text, field_error, null_errors, raise_if

ROME = ZoneInfo("Europe/Rome")


def today_in_rome() -> date:
    """Plans, phases and measurements are dated in the organizations' time zone."""
    return datetime.now(ROME).date()


# --- who may see and edit -------------------------------------------------------------


async def get_plan_nodes_by_ids(
    session: AsyncSession, plan_id: uuid.UUID, node_ids: Sequence[uuid.UUID]
) -> list[PlanNode]:
    """The live nodes of `plan_id` with these ids, in the order given; 422 naming each id
    (`loc: ["body", "node_ids", i]`) that is not a live node of that plan."""
    if not node_ids:
        return []
    found = {
        n.id: n
        for n in (
            await session.exec(
                select(PlanNode).where(
                    col(PlanNode.plan_id) == plan_id,
                    col(PlanNode.id).in_(set(node_ids)),
                    col(PlanNode.archived_at).is_(None),
                )
            )
        ).all()
    }
    errors = [
        field_error(["body", "node_ids", i], "not a node of this plan", ErrorCode.UNKNOWN_NODE)
        for i, node_id in enumerate(node_ids)
        if node_id not in found
    ]
    if errors:
        raise Unprocessable(
            "Some node ids are not nodes of this plan.", code=ErrorCode.UNKNOWN_NODE, errors=errors
        )
    return [found[node_id] for node_id in node_ids]


# --- text maps ----------------------------------------------------------------------


# --- reading ------------------------------------------------------------------------


async def _nodes_counts(
    session: AsyncSession, plan_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    if not plan_ids:
        return {}
    rows = await session.exec(
        select(PlanNode.plan_id, func.count())
        .where(col(PlanNode.plan_id).in_(plan_ids), col(PlanNode.archived_at).is_(None))
        .group_by(col(PlanNode.plan_id))
    )
    return dict(rows.all())


def _summary_fields(plan: Plan, nodes_count: int) -> dict[str, Any]:
    return {
        "id": plan.id,
        "organization_id": plan.organization_id,
        "slug": plan.slug,
        "title": plan.title,
        "summary": plan.summary,
        "status": plan.status,
        "approved_on": plan.approved_on,
        "period_start": plan.period_start,
        "period_end": plan.period_end,
        "levels": plan.levels,
        "nodes_count": nodes_count,
        "created_at": plan.created_at,
        "updated_at": plan.updated_at,
    }


async def list_plans(
    session: AsyncSession, actor: User | None, org_slug: str, params: PageParams
) -> tuple[list[PlanSummary], str | None]:
    org = await get_organization(session, org_slug)
    keys = [SortKey(Plan.slug), SortKey(Plan.id, kind=uuid.UUID)]
    plans, cursor = await paginate(
        session,
        select(Plan).where(col(Plan.organization_id) == org.id, plan_visible_clause(actor)),
        keys,
        params,
        key_of=lambda p: (p.slug, p.id),
    )
    counts = await _nodes_counts(session, [p.id for p in plans])
    return [PlanSummary(**_summary_fields(p, counts.get(p.id, 0))) for p in plans], cursor


def current_phase(phases: Sequence[PlanPhase], today: date) -> PlanPhase | None:
    """The phase whose dates include `today`; of overlapping ones, the latest to start."""
    running = [p for p in phases if p.starts_on <= today <= p.ends_on]
    return max(running, key=lambda p: (p.starts_on, p.position)) if running else None


async def plan_public(
    session: AsyncSession, plan: Plan, *, today: date | None = None
) -> PlanPublic:
    phases = list(
        (
            await session.exec(
                select(PlanPhase)
                .where(col(PlanPhase.plan_id) == plan.id)
                .order_by(col(PlanPhase.position))
            )
        ).all()
    )
    current = current_phase(phases, today or today_in_rome())
    indicators_count = (
        await session.exec(
            select(func.count())
            .select_from(Indicator)
            .join(PlanNode, col(PlanNode.id) == Indicator.node_id)
            .where(col(Indicator.plan_id) == plan.id, col(PlanNode.archived_at).is_(None))
        )
    ).one()
    counts = await _nodes_counts(session, [plan.id])

    def public(phase: PlanPhase) -> PhasePublic:
        return PhasePublic(
            id=phase.id,
            position=phase.position,
            name=phase.name,
            starts_on=phase.starts_on,
            ends_on=phase.ends_on,
            is_current=phase is current,
        )

    return PlanPublic(
        **_summary_fields(plan, counts.get(plan.id, 0)),
        phases=[public(p) for p in phases],
        current_phase=public(current) if current else None,
        indicators_count=indicators_count,
        version=plan.version,
    )


async def get_plan(session: AsyncSession, actor: User | None, plan_id: uuid.UUID) -> PlanPublic:
    return await plan_public(session, await get_visible_plan(session, actor, plan_id))


# --- editing ------------------------------------------------------------------------


def _phases_equal(current: Sequence[PlanPhase], new: Sequence[tuple[Any, date, date]]) -> bool:
    return [(p.name, p.starts_on, p.ends_on) for p in current] == list(new)


async def replace_phases(
    session: AsyncSession, plan: Plan, phases: Sequence[tuple[dict[str, str], date, date]]
) -> bool:
    """Make the plan's phases exactly `phases` (name, start, end); True if they changed."""
    current = (
        await session.exec(
            select(PlanPhase)
            .where(col(PlanPhase.plan_id) == plan.id)
            .order_by(col(PlanPhase.position))
        )
    ).all()
    if _phases_equal(current, phases):
        return False
    await session.exec(delete(PlanPhase).where(col(PlanPhase.plan_id) == plan.id))
    session.add_all(
        PlanPhase(plan_id=plan.id, position=i, name=name, starts_on=start, ends_on=end)
        for i, (name, start, end) in enumerate(phases)
    )
    return True


async def update_plan(
    session: AsyncSession,
    actor: Actor,
    plan_id: uuid.UUID,
    data: PlanUpdate,
    if_match: str | None,
) -> PlanPublic:
    plan = await get_admin_plan(session, actor, plan_id, lock=True)
    check_if_match(if_match, plan.version)
    org = await session.get(Organization, plan.organization_id)
    assert org is not None
    locale = org.default_locale

    errors = null_errors(data, ("title", "summary", "status", "levels", "phases"))
    check_text(errors, ["title"], data.title, locale)
    if data.title is not None and not data.title:
        errors.append(field_error(["body", "title"], "must not be empty", ErrorCode.BLANK))
    check_text(errors, ["summary"], data.summary, locale)
    for i, phase in enumerate(data.phases or []):
        check_text(errors, ["phases", i, "name"], phase.name, locale)
        if not phase.name:
            errors.append(
                field_error(["body", "phases", i, "name"], "must not be empty", ErrorCode.BLANK)
            )
        if phase.ends_on < phase.starts_on:
            errors.append(
                field_error(
                    ["body", "phases", i, "ends_on"],
                    "the phase ends before it starts",
                    ErrorCode.ENDS_BEFORE_START,
                )
            )
    sent = data.model_fields_set
    start = data.period_start if "period_start" in sent else plan.period_start
    end = data.period_end if "period_end" in sent else plan.period_end
    if start is not None and end is not None and end < start:
        errors.append(
            field_error(
                ["body", "period_end" if "period_end" in sent else "period_start"],
                "the period ends before it starts",
                ErrorCode.ENDS_BEFORE_START,
            )
        )
    raise_if(errors)

    changed: list[str] = []
    for field in (
        "title",
        "summary",
        "status",
        "approved_on",
        "period_start",
        "period_end",
        "levels",
    ):
        if field in sent and getattr(plan, field) != getattr(data, field):
            setattr(plan, field, getattr(data, field))
            changed.append(field)
    if data.phases is not None and await replace_phases(
        session, plan, [(p.name, p.starts_on, p.ends_on) for p in data.phases]
    ):
        changed.append("phases")
    if changed:
        plan.version += 1
        record_audit(
            session,
            EventType.PLAN_UPDATED,
            organization_id=plan.organization_id,
            actor_id=actor.id,
            actor_client_id=acting_client(actor),
            target_type="plan",
            target_id=plan.id,
            data={"fields": changed, "version": plan.version},
        )
        await session.flush()
        await session.refresh(plan)
    return await plan_public(session, plan)


async def checked_node_ids(
    session: AsyncSession, plan_id: uuid.UUID | None, node_ids: Sequence[uuid.UUID]
) -> list[uuid.UUID]:
    """The distinct node ids, all of them nodes of `plan_id` (422 otherwise)."""
    if not node_ids:
        return []
    if plan_id is None:
        raise Unprocessable(
            "Link the table to a plan before linking plan nodes.",
            code=ErrorCode.NO_PLAN,
            errors=[field_error(["body", "node_ids"], "the table has no plan", ErrorCode.NO_PLAN)],
        )
    nodes = await get_plan_nodes_by_ids(session, plan_id, node_ids)
    return list(dict.fromkeys(n.id for n in nodes))
