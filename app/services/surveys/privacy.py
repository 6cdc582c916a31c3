"""A person's survey data, for the GDPR export and erasure (`services/privacy.py`)."""

import uuid

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models.surveys import (
    ExportSurveyAnswer,
    ExportSurveyParticipation,
    Survey,
    SurveyAnswer,
    SurveyParticipation,
    SurveyResponse,
)


async def export_survey_participations(
    session: AsyncSession, user_id: uuid.UUID
) -> list[ExportSurveyParticipation]:
    """The surveys the person answered (two queries); the answers of named surveys."""
    rows = (
        await session.exec(
            select(SurveyParticipation, Survey)
            .join(Survey, col(Survey.id) == SurveyParticipation.survey_id)
            .where(col(SurveyParticipation.user_id) == user_id)
            .order_by(col(SurveyParticipation.created_at))
        )
    ).all()
    answers: dict[uuid.UUID, list[ExportSurveyAnswer]] = {}
    for survey_id, a in (
        await session.exec(
            select(SurveyResponse.survey_id, SurveyAnswer)
            .join(SurveyAnswer, col(SurveyAnswer.response_id) == SurveyResponse.id)
            .where(col(SurveyResponse.user_id) == user_id)
            .order_by(col(SurveyAnswer.question_id), col(SurveyAnswer.id))
        )
    ).all():
        answers.setdefault(survey_id, []).append(
            ExportSurveyAnswer(
                question_id=a.question_id,
                option_id=a.option_id,
                row_id=a.row_id,
                value=a.value,
                text=a.text,
            )
        )
    return [
        ExportSurveyParticipation(
            survey_id=s.id,
            organization_id=s.organization_id,
            title=s.title,
            anonymous=s.anonymous,
            answered_at=p.created_at,
            answers=None if s.anonymous else answers.get(s.id, []),
        )
        for p, s in rows
    ]


async def unlink_survey_responses(session: AsyncSession, user_id: uuid.UUID) -> int:
    """Erasure: the person's named responses stay in the results, linked to nobody (as
    an anonymous survey's are). The participations stay too, pointing at the anonymized
    account, so nobody can answer twice and every count stays exact."""
    unlinked = (
        await session.exec(
            update(SurveyResponse)
            .where(col(SurveyResponse.user_id) == user_id)
            .values(user_id=None, submitted_at=None)
            .returning(col(SurveyResponse.id))
            .execution_options(synchronize_session=False)
        )
    ).all()
    return len(unlinked)
