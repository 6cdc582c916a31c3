"""Who may see, run and answer a survey.

A survey of the organization as a whole (no table) is visible to everyone; a table's
survey to whoever may see the table. Staff (who may edit it, read all results, download
responses and hide abusive answers) are the organization's admins and, for a table's
survey, the table's facilitators. Answering takes a signed-in account, plus a verified
email (`verified`) or an active membership of the table (`members`).
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, exists, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.error_codes import ErrorCode
from app.errors import Forbidden, NotFound
from app.models.accounts import User
from app.models.surveys import Survey, SurveyStatus
from app.models.tables import ParticipationTable, TableMembership
from app.services.access.orgs import is_org_admin
from app.services.access.suspensions import one_for_writer
from app.services.access.tables import can_see_table_clause, facilitates

SURVEY_NOT_FOUND = "No survey with this id."


def now() -> datetime:
    return datetime.now(UTC)


def survey_status(survey: Survey, at: datetime) -> SurveyStatus:
    if at < survey.opens_at:
        return "upcoming"
    if at < survey.closes_at:
        return "open"
    return "closed"


def visible_survey_clause(actor: User | None) -> ColumnElement[bool]:
    """SQL condition on `Survey`: the actor may see it."""
    return or_(
        col(Survey.table_id).is_(None),
        exists().where(col(ParticipationTable.id) == Survey.table_id, can_see_table_clause(actor)),
    )


@dataclass
class SurveyContext:
    survey: Survey
    is_staff: bool

    def results_visible(self, at: datetime) -> bool:
        """Staff always; everyone who may see the survey once it has closed, if it says
        so."""
        return self.is_staff or (
            self.survey.results_public and survey_status(self.survey, at) == "closed"
        )


async def is_survey_staff(session: AsyncSession, actor: User | None, survey: Survey) -> bool:
    if actor is None:
        return False
    if await is_org_admin(session, actor, survey.organization_id):
        return True
    return survey.table_id is not None and await facilitates(session, actor, survey.table_id)


async def survey_context(
    session: AsyncSession,
    actor: User | None,
    survey_id: uuid.UUID,
    *,
    for_update: bool = False,
    write: bool = False,
) -> SurveyContext:
    """The survey and the actor's standing; 404 unless the actor may see it. With `write`,
    403 `suspended` when the actor is suspended in its organization (same query)."""
    stmt = select(Survey).where(col(Survey.id) == survey_id, visible_survey_clause(actor))
    if for_update:
        stmt = stmt.with_for_update(of=Survey).execution_options(populate_existing=True)
    writer = actor if write else None
    survey: Survey | None = await one_for_writer(session, stmt, writer, Survey.organization_id)
    if survey is None:
        raise NotFound(SURVEY_NOT_FOUND)
    return SurveyContext(survey=survey, is_staff=await is_survey_staff(session, actor, survey))


async def staff_survey_context(
    session: AsyncSession, actor: User, survey_id: uuid.UUID, *, for_update: bool = False
) -> SurveyContext:
    """As `survey_context`, 404 unless the actor is staff of the survey (others may not
    know of staff-only actions on it: the survey is found, the action is not theirs)."""
    ctx = await survey_context(session, actor, survey_id, for_update=for_update)
    if not ctx.is_staff:
        raise Forbidden(
            "Only the survey's organization admins and facilitators may do this.",
            code=ErrorCode.NOT_SURVEY_STAFF,
        )
    return ctx


async def check_audience(session: AsyncSession, actor: User, survey: Survey) -> None:
    """403 unless the actor is in the survey's audience."""
    if survey.audience == "verified" and actor.email_verified_at is None:
        raise Forbidden(
            "This survey is for people with a verified email address.",
            code=ErrorCode.EMAIL_NOT_VERIFIED,
        )
    if survey.audience == "members":
        member = (
            await session.exec(
                select(
                    exists().where(
                        col(TableMembership.table_id) == survey.table_id,
                        col(TableMembership.user_id) == actor.id,
                        col(TableMembership.status) == "active",
                    )
                )
            )
        ).one()
        if not member:
            raise Forbidden(
                "This survey is for the active members of its table.", code=ErrorCode.NOT_A_MEMBER
            )
