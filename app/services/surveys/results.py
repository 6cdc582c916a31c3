"""Survey results: counts per option, scale statistics, Net Promoter Score, free text.

Computed with grouped queries over `survey_answers` (a fixed number of queries whatever
the number of responses). `survey_results_aggregates` is the aggregates-only view (no
free text) that open data publishes as `survey-results`.
"""

import uuid
from collections import Counter
from collections.abc import Sequence

from sqlalchemy import ColumnElement, func
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.error_codes import ErrorCode
from app.errors import Forbidden, NotFound
from app.event_types import EventType
from app.models.accounts import User
from app.models.surveys import (
    AnswerModeration,
    OptionResult,
    QuestionResult,
    RowResult,
    ScaleStats,
    Survey,
    SurveyAnswer,
    SurveyQuestion,
    SurveyResults,
    TextAnswerPublic,
)
from app.services.audit.write import record_audit
from app.services.surveys.access import now, staff_survey_context, survey_context, survey_status
from app.services.surveys.questions import Questionnaire, load_questionnaires

MAX_TEXTS = 200
PROMOTERS = 9  # 9-10
DETRACTORS = 6  # 0-6


def scale_stats(low: int, high: int, counts: Counter[int]) -> ScaleStats:
    """Count, mean, median and full distribution of values in low..high."""
    total = sum(counts.values())
    distribution = {str(v): counts.get(v, 0) for v in range(low, high + 1)}
    if total == 0:
        return ScaleStats(count=0, mean=None, median=None, distribution=distribution)
    mean = sum(v * n for v, n in counts.items()) / total
    ordered = [v for v in sorted(counts) for _ in range(counts[v])]
    mid = total // 2
    median = float(ordered[mid]) if total % 2 else (ordered[mid - 1] + ordered[mid]) / 2
    return ScaleStats(count=total, mean=round(mean, 4), median=median, distribution=distribution)


def net_promoter_score(counts: Counter[int]) -> tuple[float | None, int, int, int]:
    """(NPS, promoters, passives, detractors): % of 9-10 minus % of 0-6, -100..100."""
    total = sum(counts.values())
    promoters = sum(n for v, n in counts.items() if v >= PROMOTERS)
    detractors = sum(n for v, n in counts.items() if v <= DETRACTORS)
    passives = total - promoters - detractors
    if total == 0:
        return None, 0, 0, 0
    return round(100 * (promoters - detractors) / total, 2), promoters, passives, detractors


async def _aggregates(
    session: AsyncSession, qn: Questionnaire, ids: Sequence[uuid.UUID]
) -> tuple[
    dict[uuid.UUID, Counter[uuid.UUID]], dict[tuple[uuid.UUID, uuid.UUID | None], Counter[int]]
]:
    options: dict[uuid.UUID, Counter[uuid.UUID]] = {}
    for qid, oid, n in (
        await session.exec(
            select(SurveyAnswer.question_id, SurveyAnswer.option_id, func.count())
            .where(col(SurveyAnswer.question_id).in_(ids), col(SurveyAnswer.option_id).is_not(None))
            .group_by(col(SurveyAnswer.question_id), col(SurveyAnswer.option_id))
        )
    ).all():
        assert oid is not None
        options.setdefault(qid, Counter())[oid] = n
    values: dict[tuple[uuid.UUID, uuid.UUID | None], Counter[int]] = {}
    for qid, rid, value, n in (
        await session.exec(
            select(SurveyAnswer.question_id, SurveyAnswer.row_id, SurveyAnswer.value, func.count())
            .where(col(SurveyAnswer.question_id).in_(ids), col(SurveyAnswer.value).is_not(None))
            .group_by(
                col(SurveyAnswer.question_id), col(SurveyAnswer.row_id), col(SurveyAnswer.value)
            )
        )
    ).all():
        assert value is not None
        values.setdefault((qid, rid), Counter())[value] = n
    return options, values


async def _answered(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
    """How many responses answered each question."""
    rows = await session.exec(
        select(SurveyAnswer.question_id, func.count(func.distinct(SurveyAnswer.response_id)))
        .where(col(SurveyAnswer.question_id).in_(ids))
        .group_by(col(SurveyAnswer.question_id))
    )
    return dict(rows.all())


async def _texts(
    session: AsyncSession, ids: Sequence[uuid.UUID], *, staff: bool
) -> tuple[dict[uuid.UUID, list[TextAnswerPublic]], dict[uuid.UUID, int]]:
    where: list[ColumnElement[bool]] = [
        col(SurveyAnswer.question_id).in_(ids),
        col(SurveyAnswer.text).is_not(None),
    ]
    if not staff:
        where.append(col(SurveyAnswer.hidden).is_(False))
    counts = dict(
        (
            await session.exec(
                select(SurveyAnswer.question_id, func.count())
                .where(*where)
                .group_by(col(SurveyAnswer.question_id))
            )
        ).all()
    )
    rank = (
        func.row_number()
        .over(partition_by=col(SurveyAnswer.question_id), order_by=col(SurveyAnswer.id))
        .label("rank")
    )
    ranked = (
        sa_select(
            col(SurveyAnswer.id),
            col(SurveyAnswer.question_id),
            col(SurveyAnswer.text),
            col(SurveyAnswer.hidden),
            rank,
        )
        .where(*where)
        .subquery()
    )
    texts: dict[uuid.UUID, list[TextAnswerPublic]] = {}
    for aid, qid, text, hidden in (
        await session.exec(
            select(ranked.c.id, ranked.c.question_id, ranked.c.text, ranked.c.hidden)
            .where(ranked.c.rank <= MAX_TEXTS)
            .order_by(ranked.c.question_id, ranked.c.id)
        )
    ).all():
        texts.setdefault(qid, []).append(TextAnswerPublic(id=aid, text=text, hidden=hidden))
    return texts, counts


async def compute_results(
    session: AsyncSession, survey: Survey, *, texts: bool, staff: bool = False
) -> SurveyResults:
    qn = (await load_questionnaires(session, [survey.id]))[survey.id]
    ids = [q.id for q in qn.questions]
    options, values = await _aggregates(session, qn, ids)
    answered = await _answered(session, ids)
    text_lists, text_counts = await _texts(session, ids, staff=staff) if texts else ({}, {})
    results = []
    for q in qn.questions:
        result = _question_result(q, qn, options, values, text_lists, text_counts, texts)
        # Responses that answered the question (for choices and matrices, not choices).
        result.count = answered.get(q.id, 0)
        results.append(result)
    return SurveyResults(
        survey_id=survey.id,
        status=survey_status(survey, now()),
        responses_count=survey.responses_count,
        questions=results,
    )


def _question_result(
    q: SurveyQuestion,
    qn: Questionnaire,
    options: dict[uuid.UUID, Counter[uuid.UUID]],
    values: dict[tuple[uuid.UUID, uuid.UUID | None], Counter[int]],
    text_lists: dict[uuid.UUID, list[TextAnswerPublic]],
    text_counts: dict[uuid.UUID, int],
    with_texts: bool,
) -> QuestionResult:
    empty = ScaleStats(count=0, mean=None, median=None, distribution={})
    if q.kind in ("single", "multiple"):
        counted = options.get(q.id, Counter())
        return QuestionResult(
            question_id=q.id,
            kind=q.kind,
            **empty.model_dump() | {"count": sum(counted.values())},
            options=[
                OptionResult(option_id=o.id, count=counted.get(o.id, 0))
                for o in qn.options.get(q.id, [])
            ],
        )
    if q.kind == "text":
        count = text_counts.get(q.id, 0) if with_texts else None
        return QuestionResult(
            question_id=q.id,
            kind="text",
            **empty.model_dump() | {"count": count or 0},
            texts=text_lists.get(q.id, []),
            texts_count=count,
        )
    assert q.min_value is not None and q.max_value is not None
    if q.kind == "matrix":
        rows = [
            RowResult(
                row_id=r.id,
                **scale_stats(
                    q.min_value, q.max_value, values.get((q.id, r.id), Counter())
                ).model_dump(),
            )
            for r in qn.rows.get(q.id, [])
        ]
        return QuestionResult(
            question_id=q.id, kind="matrix", **empty.model_dump() | {"count": 0}, rows=rows
        )
    counts = values.get((q.id, None), Counter())
    stats = scale_stats(q.min_value, q.max_value, counts)
    result = QuestionResult(question_id=q.id, kind=q.kind, **stats.model_dump())
    if q.kind == "nps":
        nps, promoters, passives, detractors = net_promoter_score(counts)
        result.nps, result.promoters, result.passives, result.detractors = (
            nps,
            promoters,
            passives,
            detractors,
        )
    return result


async def get_results(
    session: AsyncSession, actor: User | None, survey_id: uuid.UUID
) -> SurveyResults:
    """Staff always; others once the survey has closed, if its results are public (403
    `results_not_visible` before)."""
    ctx = await survey_context(session, actor, survey_id)
    if not ctx.results_visible(now()):
        raise Forbidden(
            "The results of this survey are not visible (yet).", code=ErrorCode.RESULTS_NOT_VISIBLE
        )
    return await compute_results(session, ctx.survey, texts=True, staff=ctx.is_staff)


async def survey_results_aggregates(session: AsyncSession, survey_id: uuid.UUID) -> SurveyResults:
    """Aggregates only — counts, scale statistics, NPS; never free text — for open data
    (`survey-results`). Callers decide which surveys are published (closed, public)."""
    survey = await session.get(Survey, survey_id)
    if survey is None:
        raise NotFound("No survey with this id.")
    return await compute_results(session, survey, texts=False)


async def moderate_answer(
    session: AsyncSession, actor: User, answer_id: uuid.UUID, data: AnswerModeration
) -> TextAnswerPublic:
    """Staff hide (or show again) an abusive free-text answer."""
    row = (
        await session.exec(
            select(SurveyAnswer, SurveyQuestion.survey_id)
            .join(SurveyQuestion, col(SurveyQuestion.id) == SurveyAnswer.question_id)
            .where(col(SurveyAnswer.id) == answer_id, col(SurveyAnswer.text).is_not(None))
        )
    ).first()
    if row is None:
        raise NotFound("No free-text answer with this id.")
    answer, survey_id = row
    try:
        ctx = await staff_survey_context(session, actor, survey_id)
    except Forbidden:
        raise NotFound("No free-text answer with this id.") from None
    if answer.hidden != data.hidden:
        answer.hidden = data.hidden
        record_audit(
            session,
            EventType.SURVEY_ANSWER_HIDDEN if data.hidden else EventType.SURVEY_ANSWER_SHOWN,
            organization_id=ctx.survey.organization_id,
            actor_id=actor.id,
            target_type="survey_answer",
            target_id=answer.id,
            data={"survey_id": str(survey_id)},
        )
        await session.flush()
    assert answer.text is not None
    return TextAnswerPublic(id=answer.id, text=answer.text, hidden=answer.hidden)
