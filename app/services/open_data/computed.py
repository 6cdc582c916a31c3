"""The datasets built from the domains' own aggregates, one unit at a time.

Plan nodes and indicators come from each published plan's progress report
(`plans/progress.py`: the same roll-up as `GET /v1/plans/{id}/progress`), budget results
from `budgets/open_data.budget_results_rows` (processes whose results are published),
survey results from `surveys/results.survey_results_aggregates` (closed surveys with
public results; counts and statistics, never free text). Memory is bounded by one plan,
one organization's budget results or one survey, never by the number of rows.
"""

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models.organizations import Organization
from app.models.plans import Plan
from app.models.surveys import QuestionResult, RowResult, Survey
from app.services.access.content import plan_visible_clause
from app.services.budgets.open_data import budget_results_rows
from app.services.open_data.cells import Cells
from app.services.open_data.tabular import Chunks, Row, pick
from app.services.plans.progress import progress_report
from app.services.surveys.access import visible_survey_clause
from app.services.surveys.questions import Questionnaire, load_questionnaires
from app.services.surveys.results import survey_results_aggregates

PLAN_NODE_COLUMNS = (
    "id",
    "plan_id",
    "plan_slug",
    "plan_status",
    "parent_id",
    "code",
    "kind",
    "depth",
    "title",
    "progress",
    "indicators_count",
    "measured_indicators_count",
)

INDICATOR_COLUMNS = (
    "id",
    "plan_id",
    "node_id",
    "node_code",
    "name",
    "unit",
    "direction",
    "baseline_value",
    "baseline_date",
    "target_value",
    "target_date",
    "weight",
    "latest_value",
    "latest_measured_on",
    "progress",
)


async def _published_plans(session: AsyncSession, org: Organization) -> AsyncIterator[Plan]:
    plans = (
        await session.exec(
            select(Plan)
            .where(col(Plan.organization_id) == org.id, plan_visible_clause(None))
            .order_by(col(Plan.created_at), col(Plan.id))
        )
    ).all()
    for plan in plans:
        yield plan


async def plan_node_rows(session: AsyncSession, org: Organization, cells: Cells) -> Chunks:
    """Every live node of every published plan, with its progress; one plan per chunk."""
    async for plan in _published_plans(session, org):
        report = await progress_report(session, None, plan.id)
        rows = [
            (
                n.id,
                plan.id,
                plan.slug,
                plan.status,
                n.parent_id,
                n.code,
                n.kind,
                n.depth,
                pick(n.title, org.default_locale),
                n.progress,
                n.indicators_count,
                n.measured_indicators_count,
            )
            for n in report.nodes
        ]
        yield cells.rows(rows)


async def indicator_rows(session: AsyncSession, org: Organization, cells: Cells) -> Chunks:
    """Every indicator of the live nodes of published plans, with its latest measurement
    and its progress; one plan per chunk."""
    async for plan in _published_plans(session, org):
        report = await progress_report(session, None, plan.id)
        rows = [
            (
                i.id,
                plan.id,
                n.id,
                n.code,
                pick(i.name, org.default_locale),
                i.unit,
                i.direction,
                i.baseline_value,
                i.baseline_date,
                i.target_value,
                i.target_date,
                i.weight,
                i.latest_value,
                i.latest_measured_on,
                i.progress,
            )
            for n in report.nodes
            for i in n.indicators
        ]
        yield cells.rows(rows)


BUDGET_RESULT_COLUMNS = (
    "budget_id",
    "budget_slug",
    "counting",
    "area_id",
    "area_name",
    "project_id",
    "project_title",
    "cost",
    "votes",
    "funded",
)


async def budget_result_rows(session: AsyncSession, org: Organization, cells: Cells) -> Chunks:
    """Per project of every process whose results are published (costs in euro cents)."""
    results = await budget_results_rows(session, org.id)
    if results:
        rows = [
            (
                r.budget_id,
                r.budget_slug,
                r.counting,
                r.area_id,
                r.area_name,
                r.project_id,
                pick(r.project_title, org.default_locale),
                r.cost,
                r.votes,
                r.funded,
            )
            for r in results
        ]
        yield cells.rows(rows)


SURVEY_RESULT_COLUMNS = (
    "survey_id",
    "survey_title",
    "closes_at",
    "responses_count",
    "question_id",
    "question_position",
    "question_kind",
    "question_text",
    "option_id",
    "option_label",
    "row_id",
    "row_label",
    "count",
    "mean",
    "median",
    "distribution",
    "nps",
)


def _stats(r: RowResult) -> tuple[Any, ...]:
    return (r.count, r.mean, r.median, r.distribution)


def _question_rows(
    survey: Survey, responses: int, q: QuestionResult, qn: Questionnaire, locale: str
) -> list[Row]:
    """One row per option (single, multiple), per row (matrix), else one per question."""
    question = next(x for x in qn.questions if x.id == q.question_id)
    lead: list[Any] = [
        survey.id,
        pick(survey.title, locale),
        survey.closes_at,
        responses,
        question.id,
        question.position + 1,
        question.kind,
        pick(question.text, locale),
    ]
    none: tuple[Any, Any] = (None, None)
    if q.kind in ("single", "multiple"):
        labels = {o.id: pick(o.label, locale) for o in qn.options.get(question.id, [])}
        return [
            [*lead, o.option_id, labels.get(o.option_id, ""), *none, o.count, *none, *none]
            for o in q.options
        ]
    if q.kind == "matrix":
        labels = {r.id: pick(r.label, locale) for r in qn.rows.get(question.id, [])}
        return [
            [*lead, *none, r.row_id, labels.get(r.row_id, ""), *_stats(r), None] for r in q.rows
        ]
    scale = q.kind in ("scale", "nps")
    stats = (q.mean, q.median, q.distribution if scale else None, q.nps)
    return [[*lead, *none, *none, q.count, *stats]]


async def survey_result_rows(session: AsyncSession, org: Organization, cells: Cells) -> Chunks:
    """Aggregates of every closed survey whose results are public, one survey per chunk."""
    surveys = (
        await session.exec(
            select(Survey)
            .where(
                col(Survey.organization_id) == org.id,
                col(Survey.results_public),
                col(Survey.closes_at) <= datetime.now(UTC),
                visible_survey_clause(None),
            )
            .order_by(col(Survey.closes_at), col(Survey.id))
        )
    ).all()
    questionnaires = await load_questionnaires(session, [s.id for s in surveys])
    for survey in surveys:
        results = await survey_results_aggregates(session, survey.id)
        qn = questionnaires[survey.id]
        rows = [
            row
            for q in results.questions
            for row in _question_rows(survey, results.responses_count, q, qn, org.default_locale)
        ]
        yield cells.rows(rows)
