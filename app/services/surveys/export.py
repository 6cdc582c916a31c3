"""Staff's CSV download of every response of a survey.

One row per response, one column per question (a matrix: one per row). Named surveys
start with the respondent's account id and the time of the response; anonymous surveys
have neither, and their rows come in the order of the responses' random ids, so nothing
in the file links a row to a person or a time.
"""

import csv
import io
import uuid
from collections.abc import Iterator

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models.accounts import User
from app.models.base import TextMap
from app.models.organizations import Organization
from app.models.surveys import SurveyAnswer, SurveyQuestion, SurveyResponse
from app.services.surveys.access import staff_survey_context
from app.services.surveys.questions import Questionnaire, load_questionnaires

BATCH_ROWS = 200


def _label(text: TextMap, locale: str) -> str:
    return text.get(locale) or next(iter(text.values()), "")


def _columns(qn: Questionnaire, locale: str) -> list[tuple[SurveyQuestion, uuid.UUID | None, str]]:
    columns: list[tuple[SurveyQuestion, uuid.UUID | None, str]] = []
    for q in qn.questions:
        title = f"Q{q.position + 1} {_label(q.text, locale)}"
        if q.kind == "matrix":
            columns += [
                (q, r.id, f"{title} / {_label(r.label, locale)}") for r in qn.rows.get(q.id, [])
            ]
        else:
            columns.append((q, None, title))
    return columns


def _cell(q: SurveyQuestion, answers: list[SurveyAnswer], labels: dict[uuid.UUID, str]) -> str:
    if q.kind in ("single", "multiple"):
        chosen = {a.option_id for a in answers if a.option_id}
        return "; ".join(label for oid, label in labels.items() if oid in chosen)
    if q.kind == "text":
        return answers[0].text or "" if answers else ""
    return str(answers[0].value) if answers else ""


async def responses_csv(
    session: AsyncSession, actor: User, survey_id: uuid.UUID
) -> tuple[str, Iterator[str]]:
    """(file name, CSV chunks). Staff of the survey only (403 `not_survey_staff`)."""
    ctx = await staff_survey_context(session, actor, survey_id)
    survey = ctx.survey
    org = await session.get(Organization, survey.organization_id)
    locale = org.default_locale if org else "it"
    qn = (await load_questionnaires(session, [survey.id]))[survey.id]
    responses = (
        await session.exec(
            select(SurveyResponse)
            .where(col(SurveyResponse.survey_id) == survey.id)
            .order_by(col(SurveyResponse.id))
        )
    ).all()
    answers = (
        await session.exec(
            select(SurveyAnswer)
            .join(SurveyResponse, col(SurveyResponse.id) == SurveyAnswer.response_id)
            .where(col(SurveyResponse.survey_id) == survey.id)
            .order_by(col(SurveyAnswer.response_id), col(SurveyAnswer.id))
        )
    ).all()
    by_response: dict[uuid.UUID, dict[tuple[uuid.UUID, uuid.UUID | None], list[SurveyAnswer]]] = {}
    for a in answers:
        by_response.setdefault(a.response_id, {}).setdefault((a.question_id, a.row_id), []).append(
            a
        )
    # In the options' order (dicts keep insertion order; options come by position).
    labels = {o.id: _label(o.label, locale) for opts in qn.options.values() for o in opts}
    columns = _columns(qn, locale)
    named = not survey.anonymous
    header = (["response_id", "respondent_id", "submitted_at"] if named else []) + [
        c[2] for c in columns
    ]

    def chunks() -> Iterator[str]:
        out = io.StringIO()
        writer = csv.writer(out)
        out.write("\ufeff")
        writer.writerow(header)
        for i, response in enumerate(responses, start=1):
            cells = by_response.get(response.id, {})
            lead = (
                [
                    str(response.id),
                    str(response.user_id or ""),
                    response.submitted_at.isoformat() if response.submitted_at else "",
                ]
                if named
                else []
            )
            writer.writerow(
                lead + [_cell(q, cells.get((q.id, row), []), labels) for q, row, _ in columns]
            )
            if i % BATCH_ROWS == 0:
                yield out.getvalue()
                out.seek(0)
                out.truncate()
        yield out.getvalue()

    return f"survey-{survey.id}-responses.csv", chunks()
