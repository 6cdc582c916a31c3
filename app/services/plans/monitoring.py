"""Plan monitoring ("rendicontazione"): indicators on nodes and their measurements.

Indicators belong to a node and move from a baseline towards a target (`increase` or
`decrease`); measurements are dated values, the latest by date being the indicator's
current value. How progress is computed and rolled up: `app/services/plans/progress.py`.
Reads follow the plan's visibility (drafts: its organization's admins only), writes
its organization's admins: anything else is a 404.
"""

import uuid
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.error_codes import ErrorCode
from app.errors import Conflict, NotFound, Unprocessable
from app.event_types import EventType
from app.models.accounts import User
from app.models.integrations import Actor, acting_client
from app.models.monitoring import IndicatorCreate, MeasurementCreate
from app.models.organizations import Organization
from app.models.plans import (
    Indicator,
    IndicatorPublic,
    Measurement,
    MeasurementPublic,
    Plan,
    PlanNode,
)
from app.pagination import PageParams, SortKey, paginate
from app.services.access.content import get_admin_node, get_visible_node, plan_visible_clause
from app.services.access.orgs import is_org_admin_clause
from app.services.audit.write import record_audit
from app.services.plans.plans import today_in_rome
from app.services.plans.progress import indicator_progress, latest_measurements, rounded
from app.services.validation import Errors, check_text, field_error, raise_if

INDICATOR_NOT_FOUND = "No indicator with this id."


async def indicators_public(
    session: AsyncSession, indicators: Sequence[Indicator]
) -> list[IndicatorPublic]:
    """Indicators with their latest measurement, progress and measurement count (two
    queries for the whole list)."""
    ids = [i.id for i in indicators]
    latest = await latest_measurements(session, ids)
    counts: dict[uuid.UUID, int] = {}
    if ids:
        counts = dict(
            (
                await session.exec(
                    select(Measurement.indicator_id, func.count())
                    .where(col(Measurement.indicator_id).in_(ids))
                    .group_by(col(Measurement.indicator_id))
                )
            ).all()
        )

    def public(ind: Indicator) -> IndicatorPublic:
        last = latest.get(ind.id)
        progress = indicator_progress(
            ind.baseline_value, ind.target_value, last.value if last else None
        )
        return IndicatorPublic(
            id=ind.id,
            node_id=ind.node_id,
            plan_id=ind.plan_id,
            organization_id=ind.organization_id,
            name=ind.name,
            unit=ind.unit,
            direction=ind.direction,
            baseline_value=ind.baseline_value,
            baseline_date=ind.baseline_date,
            target_value=ind.target_value,
            target_date=ind.target_date,
            weight=ind.weight,
            measurements_count=counts.get(ind.id, 0),
            latest_measurement=MeasurementPublic.model_validate(last) if last else None,
            progress=rounded(progress),
            created_at=ind.created_at,
            updated_at=ind.updated_at,
        )

    return [public(i) for i in indicators]


# --- indicators and measurements ----------------------------------------------------


async def _visible_indicator(
    session: AsyncSession, actor: User | None, indicator_id: uuid.UUID
) -> Indicator:
    indicator = (
        await session.exec(
            select(Indicator)
            .join(Plan, col(Plan.id) == Indicator.plan_id)
            .where(col(Indicator.id) == indicator_id, plan_visible_clause(actor))
        )
    ).one_or_none()
    if indicator is None:
        raise NotFound(INDICATOR_NOT_FOUND)
    return indicator


async def list_indicators(
    session: AsyncSession, actor: User | None, node_id: uuid.UUID, params: PageParams
) -> tuple[list[IndicatorPublic], str | None]:
    node = await get_visible_node(session, actor, node_id)
    keys = [
        SortKey(Indicator.created_at, kind=datetime),
        SortKey(Indicator.id, kind=uuid.UUID),
    ]
    indicators, cursor = await paginate(
        session,
        select(Indicator).where(col(Indicator.node_id) == node.id),
        keys,
        params,
        key_of=lambda i: (i.created_at, i.id),
    )
    return await indicators_public(session, indicators), cursor


async def get_indicator(
    session: AsyncSession, actor: User | None, indicator_id: uuid.UUID
) -> IndicatorPublic:
    indicator = await _visible_indicator(session, actor, indicator_id)
    return (await indicators_public(session, [indicator]))[0]


async def create_indicator(
    session: AsyncSession, actor: Actor, node_id: uuid.UUID, data: IndicatorCreate
) -> IndicatorPublic:
    node = await get_admin_node(session, actor, node_id)
    if node.archived_at is not None:
        raise Conflict(
            "This node was archived when it left the plan; add indicators to live nodes.",
            code=ErrorCode.NODE_ARCHIVED,
        )
    org = await session.get(Organization, node.organization_id)
    assert org is not None
    errors: Errors = []
    check_text(errors, ["name"], data.name, org.default_locale)
    if not data.name:
        errors.append(field_error(["body", "name"], "must not be empty", ErrorCode.BLANK))
    if data.direction == "increase" and data.target_value <= data.baseline_value:
        errors.append(
            field_error(
                ["body", "target_value"],
                "an increasing indicator needs a target above its baseline",
                ErrorCode.TARGET_NOT_ABOVE_BASELINE,
            )
        )
    if data.direction == "decrease" and data.target_value >= data.baseline_value:
        errors.append(
            field_error(
                ["body", "target_value"],
                "a decreasing indicator needs a target below its baseline",
                ErrorCode.TARGET_NOT_BELOW_BASELINE,
            )
        )
    if data.target_date < data.baseline_date:
        errors.append(
            field_error(
                ["body", "target_date"],
                "the target date is before the baseline date",
                ErrorCode.TARGET_BEFORE_BASELINE,
            )
        )
    raise_if(errors)
    indicator = Indicator(
        node_id=node.id,
        plan_id=node.plan_id,
        organization_id=node.organization_id,
        name=data.name,
        unit=data.unit,
        direction=data.direction,
        baseline_value=data.baseline_value,
        baseline_date=data.baseline_date,
        target_value=data.target_value,
        target_date=data.target_date,
        weight=data.weight,
        created_by_id=actor.id,
    )
    session.add(indicator)
    await session.flush()
    record_audit(
        session,
        EventType.INDICATOR_CREATED,
        organization_id=node.organization_id,
        actor_id=actor.id,
        actor_client_id=acting_client(actor),
        target_type="indicator",
        target_id=indicator.id,
        data={"plan_id": str(node.plan_id), "node_id": str(node.id)},
    )
    return (await indicators_public(session, [indicator]))[0]


async def list_measurements(
    session: AsyncSession, actor: User | None, indicator_id: uuid.UUID, params: PageParams
) -> tuple[list[Measurement], str | None]:
    """Newest first (by date measured, then recorded)."""
    indicator = await _visible_indicator(session, actor, indicator_id)
    keys = [
        SortKey(Measurement.measured_on, descending=True, kind=date),
        SortKey(Measurement.created_at, descending=True, kind=datetime),
        SortKey(Measurement.id, descending=True, kind=uuid.UUID),
    ]
    return await paginate(
        session,
        select(Measurement).where(col(Measurement.indicator_id) == indicator.id),
        keys,
        params,
        key_of=lambda m: (m.measured_on, m.created_at, m.id),
    )


async def record_measurement(
    session: AsyncSession, actor: Actor, indicator_id: uuid.UUID, data: MeasurementCreate
) -> Measurement:
    row = (
        await session.exec(
            select(Indicator, PlanNode.archived_at)
            .join(PlanNode, col(PlanNode.id) == Indicator.node_id)
            .where(
                col(Indicator.id) == indicator_id,
                is_org_admin_clause(actor, Indicator.organization_id),
            )
        )
    ).one_or_none()
    if row is None:
        raise NotFound(INDICATOR_NOT_FOUND)
    indicator, archived_at = row
    if archived_at is not None:
        raise Conflict(
            "The node of this indicator was archived when it left the plan.",
            code=ErrorCode.NODE_ARCHIVED,
        )
    if data.measured_on > today_in_rome():
        raise Unprocessable(
            "A measurement cannot be dated in the future.",
            code=ErrorCode.MEASURED_IN_FUTURE,
            errors=[
                field_error(
                    ["body", "measured_on"],
                    "is after today (Europe/Rome)",
                    ErrorCode.MEASURED_IN_FUTURE,
                )
            ],
        )
    measurement = Measurement(
        indicator_id=indicator.id,
        value=data.value,
        measured_on=data.measured_on,
        source=data.source.strip() if data.source else None,
        note=data.note.strip() if data.note else None,
        recorded_by_id=actor.id,
    )
    session.add(measurement)
    await session.flush()
    record_audit(
        session,
        EventType.MEASUREMENT_RECORDED,
        organization_id=indicator.organization_id,
        actor_id=actor.id,
        actor_client_id=acting_client(actor),
        target_type="measurement",
        target_id=measurement.id,
        data={
            "indicator_id": str(indicator.id),
            "node_id": str(indicator.node_id),
            "plan_id": str(indicator.plan_id),
        },
    )
    return measurement
