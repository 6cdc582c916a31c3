"""Progress of a plan ("rendicontazione"): indicators rolled up through the node tree.

Progress of an indicator: how far its latest measurement has gone from the baseline to
the target, `(latest - baseline) / (target - baseline)`, as a percentage clamped to
0-100. The formula serves both directions: for a `decrease` indicator (CO₂ emissions)
target < baseline, so a fall is progress. No measurement: progress is null.

Progress of a node: the weighted mean of its own measured indicators (weight: the
indicator's `weight`, 1 when absent) and of its children that have a progress (weight
1 each). A node with nothing measured below it has a null progress and does not count,
as zero or otherwise, in its parent's mean. The plan's progress is the mean of its root
nodes'.

The report is built from three queries whatever the size of the plan: the live nodes,
their indicators, and the latest measurement of each indicator (`DISTINCT ON`).
"""

import csv
import io
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from sqlalchemy.dialects.postgresql import distinct_on
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models.accounts import User
from app.models.monitoring import IndicatorProgress, NodeProgress, ProgressReport
from app.models.organizations import Organization
from app.models.plans import Indicator, Measurement, PlanNode
from app.services.access.content import get_visible_plan

# --- arithmetic -----------------------------------------------------------------------


def indicator_progress(baseline: float, target: float, latest: float | None) -> float | None:
    """Percent of the way from `baseline` to `target` reached by `latest`, within 0-100."""
    if latest is None or target == baseline:
        return None
    return max(0.0, min(100.0, (latest - baseline) / (target - baseline) * 100.0))


def weighted_mean(items: Iterable[tuple[float | None, float]]) -> float | None:
    """Mean of the values that are not None, by weight; None when there are none."""
    measured = [(value, weight) for value, weight in items if value is not None]
    total = sum(weight for _, weight in measured)
    if not measured or total <= 0:
        return None
    return sum(value * weight for value, weight in measured) / total


def roll_up(
    nodes: Sequence[PlanNode],
    own: dict[uuid.UUID, list[tuple[float | None, float]]],
) -> dict[uuid.UUID, float | None]:
    """Progress of every node from its own indicators' (progress, weight) and its children.

    `nodes` are a plan's live nodes in `sort_path` order, so walking them backwards
    meets every child before its parent."""
    progress: dict[uuid.UUID, float | None] = {}
    children: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    for node in nodes:
        if node.parent_id is not None:
            children[node.parent_id].append(node.id)
    for node in reversed(nodes):
        items = [*own.get(node.id, []), *((progress[c], 1.0) for c in children[node.id])]
        progress[node.id] = weighted_mean(items)
    return progress


def rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


# --- loading ------------------------------------------------------------------------


async def latest_measurements(
    session: AsyncSession, indicator_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Measurement]:
    """The latest measurement of each indicator (by date measured, then recorded)."""
    if not indicator_ids:
        return {}
    rows = await session.exec(
        select(Measurement)
        .ext(distinct_on(col(Measurement.indicator_id)))
        .where(col(Measurement.indicator_id).in_(indicator_ids))
        .order_by(
            col(Measurement.indicator_id),
            col(Measurement.measured_on).desc(),
            col(Measurement.created_at).desc(),
            col(Measurement.id).desc(),
        )
    )
    return {m.indicator_id: m for m in rows.all()}


async def _plan_progress(
    session: AsyncSession, plan_id: uuid.UUID
) -> tuple[
    list[PlanNode],
    dict[uuid.UUID, list[Indicator]],
    dict[uuid.UUID, Measurement],
    dict[uuid.UUID, float | None],
]:
    nodes = list(
        (
            await session.exec(
                select(PlanNode)
                .where(col(PlanNode.plan_id) == plan_id, col(PlanNode.archived_at).is_(None))
                .order_by(col(PlanNode.sort_path), col(PlanNode.id))
            )
        ).all()
    )
    indicators = (
        await session.exec(
            select(Indicator)
            .where(col(Indicator.plan_id) == plan_id)
            .order_by(col(Indicator.created_at), col(Indicator.id))
        )
    ).all()
    latest = await latest_measurements(session, [i.id for i in indicators])
    by_node: dict[uuid.UUID, list[Indicator]] = defaultdict(list)
    own: dict[uuid.UUID, list[tuple[float | None, float]]] = defaultdict(list)
    for ind in indicators:
        last = latest.get(ind.id)
        by_node[ind.node_id].append(ind)
        own[ind.node_id].append(
            (
                indicator_progress(
                    ind.baseline_value, ind.target_value, last.value if last else None
                ),
                ind.weight or 1.0,
            )
        )
    return nodes, by_node, latest, roll_up(nodes, own)


async def node_progress(session: AsyncSession, node: PlanNode) -> float | None:
    """The rolled-up progress of one node (computed over its plan: three queries)."""
    if node.archived_at is not None:
        return None
    *_, progress = await _plan_progress(session, node.plan_id)
    return rounded(progress.get(node.id))


# --- the report ---------------------------------------------------------------------


async def progress_report(
    session: AsyncSession, actor: User | None, plan_id: uuid.UUID
) -> ProgressReport:
    plan = await get_visible_plan(session, actor, plan_id)
    nodes, by_node, latest, progress = await _plan_progress(session, plan.id)

    def indicator(ind: Indicator) -> IndicatorProgress:
        last = latest.get(ind.id)
        return IndicatorProgress(
            id=ind.id,
            name=ind.name,
            unit=ind.unit,
            direction=ind.direction,
            baseline_value=ind.baseline_value,
            baseline_date=ind.baseline_date,
            target_value=ind.target_value,
            target_date=ind.target_date,
            weight=ind.weight,
            latest_value=last.value if last else None,
            latest_measured_on=last.measured_on if last else None,
            progress=rounded(
                indicator_progress(
                    ind.baseline_value, ind.target_value, last.value if last else None
                )
            ),
        )

    rows = []
    for node in nodes:
        own = by_node.get(node.id, [])
        rows.append(
            NodeProgress(
                id=node.id,
                parent_id=node.parent_id,
                code=node.code,
                kind=node.kind,
                depth=node.depth,
                title=node.title,
                progress=rounded(progress[node.id]),
                indicators_count=len(own),
                measured_indicators_count=sum(1 for i in own if i.id in latest),
                indicators=[indicator(i) for i in own],
            )
        )
    roots = [(progress[n.id], 1.0) for n in nodes if n.parent_id is None]
    return ProgressReport(
        plan_id=plan.id,
        organization_id=plan.organization_id,
        slug=plan.slug,
        title=plan.title,
        status=plan.status,
        generated_at=datetime.now(UTC),
        progress=rounded(weighted_mean(roots)),
        nodes=rows,
    )


CSV_COLUMNS = (
    "code",
    "kind",
    "depth",
    "parent_code",
    "title",
    "progress",
    "indicators",
    "measured_indicators",
)


def spreadsheet_safe(value: str) -> str:
    """Text that a spreadsheet would run as a formula is prefixed with a quote (also used
    by the open-data CSVs)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _pick(text: dict[str, str], locale: str, fallback: str) -> str:
    return text.get(locale) or text.get(fallback) or next(iter(text.values()), "")


async def progress_report_csv(
    session: AsyncSession,
    actor: User | None,
    plan_id: uuid.UUID,
    locale: str | None = None,
    delimiter: str = ",",
) -> tuple[str, str]:
    """The report as CSV (file name, text): UTF-8 with a BOM so that spreadsheets read
    the accents, a header row, then one row per node in plan order. Titles are in
    `locale` when the node has it, else in the organization's default locale.

    With `delimiter=";"` the file follows the Italian spreadsheet convention (semicolons
    between fields, decimal comma), which Excel with Italian settings opens in columns."""
    report = await progress_report(session, actor, plan_id)
    org = await session.get(Organization, report.organization_id)
    default = org.default_locale if org else "it"
    codes = {n.id: n.code for n in report.nodes}
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    decimal = "," if delimiter == ";" else "."
    writer.writerow(CSV_COLUMNS)
    for node in report.nodes:
        writer.writerow(
            [
                spreadsheet_safe(node.code),
                spreadsheet_safe(node.kind),
                node.depth,
                spreadsheet_safe(codes.get(node.parent_id, "") if node.parent_id else ""),
                spreadsheet_safe(_pick(node.title, locale or default, default)),
                "" if node.progress is None else f"{node.progress:.1f}".replace(".", decimal),
                node.indicators_count,
                node.measured_indicators_count,
            ]
        )
    return f"{report.slug}-progress.csv", "\ufeff" + out.getvalue()
