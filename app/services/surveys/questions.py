"""Survey questions: checking a questionnaire, storing it, and showing it."""

import uuid
from collections.abc import Sequence
from typing import Any

from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.error_codes import ErrorCode
from app.errors import Unprocessable
from app.models.base import TextMap
from app.models.organizations import Organization
from app.models.surveys import (
    DEFAULT_TEXT_LENGTH,
    ChoicePublic,
    QuestionCreate,
    QuestionPublic,
    SurveyOption,
    SurveyQuestion,
    SurveyRow,
)
from app.services.validation import Loc, require_default_locale

DEFAULT_SCALE = (1, 5)
NPS_RANGE = (0, 10)
MAX_SCALE_SPAN = 20
MIN_OPTIONS = 2


def _error(loc: Loc, msg: str, code: ErrorCode) -> dict[str, Any]:
    return {"loc": loc, "msg": msg, "code": code}


def _not_for(q: QuestionCreate, loc: Loc, fields: Sequence[str]) -> list[dict[str, Any]]:
    return [
        _error(
            [*loc, name], f"{name} is not used by {q.kind} questions", ErrorCode.FIELD_NOT_ALLOWED
        )
        for name in fields
        if getattr(q, name) is not None
    ]


def _scale_errors(q: QuestionCreate, loc: Loc) -> list[dict[str, Any]]:
    low, high = _range(q)
    errors = []
    if q.kind == "nps" and (q.min, q.max) not in ((None, None), NPS_RANGE):
        errors.append(_error([*loc, "min"], "NPS questions always run 0-10", ErrorCode.NPS_RANGE))
    if high <= low:
        errors.append(
            _error([*loc, "max"], "max must be greater than min", ErrorCode.INVALID_RANGE)
        )
    elif high - low > MAX_SCALE_SPAN:
        errors.append(
            _error(
                [*loc, "max"],
                f"a scale spans at most {MAX_SCALE_SPAN} steps",
                ErrorCode.RANGE_TOO_WIDE,
            )
        )
    for key in q.labels or {}:
        if not key.lstrip("-").isdigit() or not low <= int(key) <= high:
            errors.append(
                _error(
                    [*loc, "labels", key],
                    "labels are keyed by values of the scale",
                    ErrorCode.UNKNOWN_SCALE_VALUE,
                )
            )
    return errors


def _range(q: QuestionCreate) -> tuple[int, int]:
    if q.kind == "nps":
        return NPS_RANGE
    return (
        q.min if q.min is not None else DEFAULT_SCALE[0],
        q.max if q.max is not None else DEFAULT_SCALE[1],
    )


def _question_errors(q: QuestionCreate, loc: Loc) -> list[dict[str, Any]]:
    if q.kind in ("single", "multiple"):
        errors = _not_for(q, loc, ("min", "max", "labels", "rows", "max_length"))
        if q.kind == "single":
            errors += _not_for(q, loc, ("max_choices",))
        if len(q.options or []) < MIN_OPTIONS:
            errors.append(
                _error(
                    [*loc, "options"],
                    f"give at least {MIN_OPTIONS} options",
                    ErrorCode.TOO_FEW_OPTIONS,
                )
            )
        elif q.max_choices is not None and q.max_choices > len(q.options or []):
            errors.append(
                _error(
                    [*loc, "max_choices"],
                    "max_choices cannot exceed the number of options",
                    ErrorCode.MAX_CHOICES_TOO_HIGH,
                )
            )
        return errors
    if q.kind == "text":
        return _not_for(q, loc, ("options", "max_choices", "min", "max", "labels", "rows"))
    errors = _not_for(q, loc, ("options", "max_choices", "max_length"))
    if q.kind != "matrix":
        errors += _not_for(q, loc, ("rows",))
    elif not q.rows:
        errors.append(
            _error([*loc, "rows"], "a matrix needs at least one row", ErrorCode.TOO_FEW_ROWS)
        )
    return errors + _scale_errors(q, loc)


def check_questions(org: Organization, questions: Sequence[QuestionCreate]) -> None:
    """422 naming every problem of every question (shape, ranges, default locale)."""
    errors: list[dict[str, Any]] = []
    texts: list[tuple[Loc, TextMap | None, bool]] = []
    for i, q in enumerate(questions):
        loc: Loc = ["body", "questions", i]
        errors += _question_errors(q, loc)
        texts.append(([*loc, "text"], q.text, True))
        texts += [([*loc, "options", j], o, True) for j, o in enumerate(q.options or [])]
        texts += [([*loc, "rows", j], r, True) for j, r in enumerate(q.rows or [])]
        texts += [([*loc, "labels", k], v, True) for k, v in (q.labels or {}).items()]
    if errors:
        n = len(errors)
        raise Unprocessable(
            f"The questionnaire has {n} problem{'s' if n != 1 else ''}.",
            code=ErrorCode.INVALID_QUESTIONS,
            errors=errors,
        )
    require_default_locale(org, texts)


async def store_questions(
    session: AsyncSession, survey_id: uuid.UUID, questions: Sequence[QuestionCreate]
) -> None:
    """Replace the survey's questions (callers check they are not frozen)."""
    await session.exec(delete(SurveyQuestion).where(col(SurveyQuestion.survey_id) == survey_id))
    await session.flush()
    for position, q in enumerate(questions):
        low, high = _range(q) if q.kind in ("scale", "nps", "matrix") else (None, None)
        question = SurveyQuestion(
            survey_id=survey_id,
            position=position,
            kind=q.kind,
            text=q.text,
            required=q.required,
            max_choices=(
                (q.max_choices or len(q.options or []))
                if q.kind == "multiple"
                else 1
                if q.kind == "single"
                else None
            ),
            min_value=low,
            max_value=high,
            labels=dict(q.labels or {}),
            max_length=(q.max_length or DEFAULT_TEXT_LENGTH) if q.kind == "text" else None,
        )
        session.add(question)
        await session.flush()
        session.add_all(
            SurveyOption(question_id=question.id, position=j, label=label)
            for j, label in enumerate(q.options or [])
        )
        session.add_all(
            SurveyRow(question_id=question.id, position=j, label=label)
            for j, label in enumerate(q.rows or [])
        )
    await session.flush()


class Questionnaire:
    """A survey's questions with their options and rows, loaded in three queries."""

    def __init__(
        self,
        questions: Sequence[SurveyQuestion],
        options: Sequence[SurveyOption],
        rows: Sequence[SurveyRow],
    ) -> None:
        self.questions = list(questions)
        self.options: dict[uuid.UUID, list[SurveyOption]] = {}
        self.rows: dict[uuid.UUID, list[SurveyRow]] = {}
        for option in options:
            self.options.setdefault(option.question_id, []).append(option)
        for row in rows:
            self.rows.setdefault(row.question_id, []).append(row)
        self.by_id = {q.id: q for q in self.questions}

    def public(self) -> list[QuestionPublic]:
        return [
            QuestionPublic(
                id=q.id,
                position=q.position,
                kind=q.kind,
                text=q.text,
                required=q.required,
                options=[
                    ChoicePublic(id=o.id, position=o.position, label=o.label)
                    for o in self.options.get(q.id, [])
                ],
                max_choices=q.max_choices,
                min=q.min_value,
                max=q.max_value,
                labels=q.labels,
                rows=[
                    ChoicePublic(id=r.id, position=r.position, label=r.label)
                    for r in self.rows.get(q.id, [])
                ],
                max_length=q.max_length,
            )
            for q in self.questions
        ]


async def load_questionnaires(
    session: AsyncSession, survey_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Questionnaire]:
    """The questionnaires of several surveys, in three queries whatever their number."""
    if not survey_ids:
        return {}
    questions = (
        await session.exec(
            select(SurveyQuestion)
            .where(col(SurveyQuestion.survey_id).in_(survey_ids))
            .order_by(col(SurveyQuestion.survey_id), col(SurveyQuestion.position))
        )
    ).all()
    ids = [q.id for q in questions]
    options = (
        await session.exec(
            select(SurveyOption)
            .where(col(SurveyOption.question_id).in_(ids))
            .order_by(col(SurveyOption.question_id), col(SurveyOption.position))
        )
    ).all()
    rows = (
        await session.exec(
            select(SurveyRow)
            .where(col(SurveyRow.question_id).in_(ids))
            .order_by(col(SurveyRow.question_id), col(SurveyRow.position))
        )
    ).all()
    result: dict[uuid.UUID, Questionnaire] = {}
    for survey_id in survey_ids:
        qs = [q for q in questions if q.survey_id == survey_id]
        qids = {q.id for q in qs}
        result[survey_id] = Questionnaire(
            qs,
            [o for o in options if o.question_id in qids],
            [r for r in rows if r.question_id in qids],
        )
    return result
