"""Answering a survey: every answer checked, one response per person.

One response per person under any concurrency: the participation's primary key decides
(`INSERT … ON CONFLICT DO NOTHING`), as for poll ballots. In an anonymous survey the
response row has no person and no time, its answers neither, and the event names the
survey only: nothing stored links what was answered to who answered.
"""

import uuid
from typing import Any

from sqlalchemy import func, literal_column, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.error_codes import ErrorCode
from app.errors import Conflict, Unprocessable
from app.event_types import EventType
from app.events import record_event
from app.models.accounts import User
from app.models.surveys import (
    AnswerCreate,
    ResponseCreate,
    ResponseReceipt,
    Survey,
    SurveyAnswer,
    SurveyParticipation,
    SurveyQuestion,
    SurveyResponse,
)
from app.services.surveys.access import check_audience, now, survey_context, survey_status
from app.services.surveys.questions import Questionnaire, load_questionnaires

Error = dict[str, Any]
_SHAPES = {
    "single": "option_ids",
    "multiple": "option_ids",
    "scale": "value",
    "nps": "value",
    "text": "text",
    "matrix": "rows",
}


def _error(i: int | None, q: uuid.UUID, field: str, msg: str, code: ErrorCode) -> Error:
    loc: list[str | int] = ["body", "answers"] if i is None else ["body", "answers", i, field]
    return {"loc": loc, "msg": msg, "code": code, "question_id": str(q)}


def _in_range(question: SurveyQuestion, value: int) -> bool:
    assert question.min_value is not None and question.max_value is not None
    return question.min_value <= value <= question.max_value


def _choice_errors(i: int, q: SurveyQuestion, a: AnswerCreate, qn: Questionnaire) -> list[Error]:
    chosen = a.option_ids or []
    known = {o.id for o in qn.options.get(q.id, [])}
    if len(set(chosen)) != len(chosen):
        return [
            _error(
                i, q.id, "option_ids", "an option may be chosen once", ErrorCode.DUPLICATE_OPTIONS
            )
        ]
    unknown = [str(o) for o in chosen if o not in known]
    if unknown:
        msg = "not an option of this question: " + ", ".join(unknown)
        return [_error(i, q.id, "option_ids", msg, ErrorCode.UNKNOWN_OPTION)]
    if q.kind == "single" and len(chosen) != 1:
        return [_error(i, q.id, "option_ids", "choose exactly one option", ErrorCode.SINGLE_CHOICE)]
    if not chosen:
        return [_error(i, q.id, "option_ids", "choose at least one option", ErrorCode.NO_CHOICE)]
    if len(chosen) > (q.max_choices or len(known)):
        msg = f"choose at most {q.max_choices} options"
        return [_error(i, q.id, "option_ids", msg, ErrorCode.TOO_MANY_CHOICES)]
    return []


def _value_errors(i: int, q: SurveyQuestion, a: AnswerCreate, qn: Questionnaire) -> list[Error]:
    if q.kind in ("scale", "nps"):
        assert a.value is not None
        if not _in_range(q, a.value):
            msg = f"give a value from {q.min_value} to {q.max_value}"
            return [_error(i, q.id, "value", msg, ErrorCode.VALUE_OUT_OF_RANGE)]
        return []
    if q.kind == "text":
        text = (a.text or "").strip()
        if not text:
            return [_error(i, q.id, "text", "the answer is empty", ErrorCode.EMPTY_TEXT)]
        if q.max_length is not None and len(text) > q.max_length:
            msg = f"at most {q.max_length} characters"
            return [_error(i, q.id, "text", msg, ErrorCode.TEXT_TOO_LONG)]
        return []
    return _matrix_errors(i, q, a, qn)


def _matrix_errors(i: int, q: SurveyQuestion, a: AnswerCreate, qn: Questionnaire) -> list[Error]:
    rows = a.rows or []
    known = {r.id for r in qn.rows.get(q.id, [])}
    errors = []
    seen: set[uuid.UUID] = set()
    for row in rows:
        if row.row_id not in known:
            msg = f"not a row of this question: {row.row_id}"
            errors.append(_error(i, q.id, "rows", msg, ErrorCode.UNKNOWN_ROW))
        elif row.row_id in seen:
            errors.append(
                _error(i, q.id, "rows", "a row may be answered once", ErrorCode.DUPLICATE_ROW)
            )
        elif not _in_range(q, row.value):
            msg = f"give a value from {q.min_value} to {q.max_value}"
            errors.append(_error(i, q.id, "rows", msg, ErrorCode.VALUE_OUT_OF_RANGE))
        seen.add(row.row_id)
    if not rows:
        errors.append(_error(i, q.id, "rows", "answer at least one row", ErrorCode.NO_ROWS))
    elif q.required and not errors and seen != known:
        errors.append(_error(i, q.id, "rows", "answer every row", ErrorCode.ROWS_MISSING))
    return errors


def check_answers(qn: Questionnaire, answers: list[AnswerCreate]) -> list[Error]:
    """Every problem of every answer, and every required question left unanswered."""
    errors: list[Error] = []
    answered: set[uuid.UUID] = set()
    for i, a in enumerate(answers):
        q = qn.by_id.get(a.question_id)
        if q is None:
            msg = "not a question of this survey"
            errors.append(_error(i, a.question_id, "question_id", msg, ErrorCode.UNKNOWN_QUESTION))
            continue
        if q.id in answered:
            msg = "a question may be answered once"
            errors.append(_error(i, q.id, "question_id", msg, ErrorCode.DUPLICATE_ANSWER))
            continue
        answered.add(q.id)
        shape = _SHAPES[q.kind]
        given = [f for f in set(_SHAPES.values()) if getattr(a, f) is not None]
        if given != [shape]:
            msg = f"a {q.kind} question is answered with `{shape}` only"
            errors.append(_error(i, q.id, shape, msg, ErrorCode.WRONG_ANSWER_SHAPE))
            continue
        if q.kind in ("single", "multiple"):
            errors += _choice_errors(i, q, a, qn)
        else:
            errors += _value_errors(i, q, a, qn)
    for q in qn.questions:
        if q.required and q.id not in answered:
            errors.append(
                _error(None, q.id, "", "this question is required", ErrorCode.REQUIRED_QUESTION)
            )
    return errors


def _answer_rows(
    response_id: uuid.UUID, qn: Questionnaire, answers: list[AnswerCreate]
) -> list[SurveyAnswer]:
    rows: list[SurveyAnswer] = []
    for a in answers:
        q = qn.by_id[a.question_id]
        rid, qid = response_id, q.id
        if q.kind in ("single", "multiple"):
            rows += [
                SurveyAnswer(response_id=rid, question_id=qid, option_id=o)
                for o in a.option_ids or []
            ]
        elif q.kind == "text":
            rows.append(SurveyAnswer(response_id=rid, question_id=qid, text=(a.text or "").strip()))
        elif q.kind == "matrix":
            rows += [
                SurveyAnswer(response_id=rid, question_id=qid, row_id=r.row_id, value=r.value)
                for r in a.rows or []
            ]
        else:
            rows.append(SurveyAnswer(response_id=rid, question_id=qid, value=a.value))
    return rows


def _not_open(survey: Survey) -> Conflict:
    status = survey_status(survey, now())
    detail = "This survey is not open yet." if status == "upcoming" else "This survey has closed."
    return Conflict(detail, code=ErrorCode.SURVEY_NOT_OPEN, extra={"survey_status": status})


async def submit_response(
    session: AsyncSession, actor: User, survey_id: uuid.UUID, data: ResponseCreate
) -> ResponseReceipt:
    """Record the caller's response (see the module docstring)."""
    ctx = await survey_context(session, actor, survey_id, write=True)
    survey = ctx.survey
    if survey_status(survey, now()) != "open":
        raise _not_open(survey)
    await check_audience(session, actor, survey)
    qn = (await load_questionnaires(session, [survey.id]))[survey.id]
    errors = check_answers(qn, data.answers)
    if errors:
        n = len(errors)
        raise Unprocessable(
            f"{n} answer{'s are' if n != 1 else ' is'} missing or invalid.",
            code=ErrorCode.INVALID_ANSWERS,
            errors=errors,
        )
    inserted = (
        await session.exec(
            insert(SurveyParticipation)
            .values(survey_id=survey.id, user_id=actor.id)
            .on_conflict_do_nothing(index_elements=["survey_id", "user_id"])
            .returning(literal_column("1"))
        )
    ).first()
    if inserted is None:
        raise Conflict("You have already answered this survey.", code=ErrorCode.ALREADY_RESPONDED)
    # Locks the survey row: serializes responses with edits of the questions (which
    # check `responses_count`), and re-checks the window with the statement's clock.
    counted = (
        await session.exec(
            update(Survey)
            .where(
                col(Survey.id) == survey.id,
                col(Survey.opens_at) <= func.statement_timestamp(),
                col(Survey.closes_at) > func.statement_timestamp(),
            )
            .values(responses_count=col(Survey.responses_count) + 1)
            .returning(col(Survey.responses_count))
            .execution_options(synchronize_session=False)
        )
    ).scalar_one_or_none()
    if counted is None:
        raise _not_open(survey)
    # The questions may have changed between reading and locking; check again.
    fresh = (await load_questionnaires(session, [survey.id]))[survey.id]
    if {q.id for q in fresh.questions} != set(qn.by_id):
        raise Conflict(
            "The questions changed meanwhile; reload the survey.", code=ErrorCode.QUESTIONS_CHANGED
        )
    response = SurveyResponse(
        survey_id=survey.id,
        user_id=None if survey.anonymous else actor.id,
        submitted_at=None if survey.anonymous else now(),
    )
    session.add(response)
    await session.flush()
    session.add_all(_answer_rows(response.id, qn, data.answers))
    record_event(
        session,
        EventType.SURVEY_RESPONDED,
        subject_type="survey",
        subject_id=survey.id,
        actor_id=actor.id,
        organization_id=survey.organization_id,
        # Never the response's id in an anonymous survey: it would link the two.
        payload={"survey_id": str(survey.id)}
        | ({} if survey.anonymous else {"response_id": str(response.id)}),
    )
    await session.flush()
    return ResponseReceipt(
        survey_id=survey.id,
        response_id=None if survey.anonymous else response.id,
        anonymous=survey.anonymous,
        responses_count=counted,
    )
