"""Creating, listing, reading and editing surveys."""

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.error_codes import ErrorCode
from app.errors import Conflict, NotFound
from app.event_types import EventType
from app.models.accounts import User
from app.models.base import TextMap
from app.models.organizations import Organization
from app.models.surveys import Survey, SurveyCreate, SurveyParticipation, SurveyPublic, SurveyUpdate
from app.models.tables import ParticipationTable
from app.pagination import PageParams, SortKey, paginate
from app.services.access.orgs import get_organization, is_org_admin
from app.services.access.tables import facilitates_clause, get_facilitated_table
from app.services.audit.write import record_audit
from app.services.surveys.access import (
    SurveyContext,
    now,
    staff_survey_context,
    survey_context,
    survey_status,
    visible_survey_clause,
)
from app.services.surveys.questions import check_questions, load_questionnaires, store_questions
from app.services.validation import Loc, invalid, require_default_locale


async def surveys_public(
    session: AsyncSession,
    actor: User | None,
    surveys: Sequence[Survey],
    staff: dict[uuid.UUID, bool],
) -> list[SurveyPublic]:
    """Responses for surveys in a constant number of queries."""
    ids = [s.id for s in surveys]
    questionnaires = await load_questionnaires(session, ids)
    answered: set[uuid.UUID] = set()
    if actor is not None and ids:
        answered = set(
            (
                await session.exec(
                    select(SurveyParticipation.survey_id).where(
                        col(SurveyParticipation.survey_id).in_(ids),
                        col(SurveyParticipation.user_id) == actor.id,
                    )
                )
            ).all()
        )
    at = now()
    return [
        SurveyPublic(
            id=s.id,
            organization_id=s.organization_id,
            table_id=s.table_id,
            title=s.title,
            description=s.description,
            opens_at=s.opens_at,
            closes_at=s.closes_at,
            status=survey_status(s, at),
            anonymous=s.anonymous,
            audience=s.audience,
            results_public=s.results_public,
            results_visible=SurveyContext(s, staff.get(s.id, False)).results_visible(at),
            questions_frozen=s.responses_count > 0,
            responses_count=s.responses_count,
            has_responded=s.id in answered,
            questions=questionnaires[s.id].public(),
            created_at=s.created_at,
            updated_at=s.updated_at,
        )
        for s in surveys
    ]


async def survey_public(
    session: AsyncSession, actor: User | None, ctx: SurveyContext
) -> SurveyPublic:
    return (await surveys_public(session, actor, [ctx.survey], {ctx.survey.id: ctx.is_staff}))[0]


def _texts(data: SurveyCreate | SurveyUpdate) -> list[tuple[Loc, TextMap | None, bool]]:
    return [
        (["body", "title"], data.title, True),
        (["body", "description"], data.description, False),
    ]


async def _may_create(
    session: AsyncSession, actor: User, org: Organization, table_id: uuid.UUID | None
) -> None:
    """Organization admins; for a table's survey, also the table's facilitators."""
    if table_id is None:
        if not await is_org_admin(session, actor, org.id):
            raise NotFound("No organization with this slug that you administer.")
        return
    table = await get_facilitated_table(session, actor, table_id)
    if table.organization_id != org.id:
        raise NotFound("No participation table with this id.")


async def create_survey(
    session: AsyncSession, actor: User, slug: str, data: SurveyCreate
) -> SurveyPublic:
    org = await get_organization(session, slug)
    await _may_create(session, actor, org, data.table_id)
    if data.audience == "members" and data.table_id is None:
        raise invalid(
            ["body", "audience"],
            "A members-only survey needs a table_id.",
            ErrorCode.MEMBERS_NEED_TABLE,
        )
    require_default_locale(org, _texts(data))
    check_questions(org, data.questions)
    at = now()
    opens_at = data.opens_at or at
    if data.closes_at <= opens_at:
        raise invalid(
            ["body", "closes_at"], "closes_at must be after opens_at.", ErrorCode.INVALID_WINDOW
        )
    if data.closes_at <= at:
        raise invalid(
            ["body", "closes_at"], "closes_at must be in the future.", ErrorCode.CLOSES_IN_PAST
        )
    survey = Survey(
        organization_id=org.id,
        table_id=data.table_id,
        title=data.title,
        description=data.description,
        opens_at=opens_at,
        closes_at=data.closes_at,
        anonymous=data.anonymous,
        audience=data.audience,
        results_public=data.results_public,
        created_by_id=actor.id,
    )
    session.add(survey)
    await session.flush()
    await store_questions(session, survey.id, data.questions)
    record_audit(
        session,
        EventType.SURVEY_CREATED,
        organization_id=org.id,
        actor_id=actor.id,
        target_type="survey",
        target_id=survey.id,
        data={
            "table_id": str(data.table_id) if data.table_id else None,
            "anonymous": data.anonymous,
            "audience": data.audience,
            "questions": len(data.questions),
        },
    )
    return await survey_public(session, actor, SurveyContext(survey, is_staff=True))


async def list_surveys(
    session: AsyncSession, actor: User | None, slug: str, params: PageParams
) -> tuple[list[SurveyPublic], str | None]:
    """An organization's surveys that the actor may see, newest first."""
    org = await get_organization(session, slug)
    keys = [
        SortKey(Survey.created_at, descending=True, kind=datetime),
        SortKey(Survey.id, descending=True, kind=uuid.UUID),
    ]
    surveys, cursor = await paginate(
        session,
        select(Survey).where(col(Survey.organization_id) == org.id, visible_survey_clause(actor)),
        keys,
        params,
        key_of=lambda s: (s.created_at, s.id),
    )
    admin = actor is not None and await is_org_admin(session, actor, org.id)
    staff = {s.id: admin for s in surveys}
    if actor is not None and not admin:
        from_tables = {s.table_id for s in surveys if s.table_id is not None}
        if from_tables:
            run = await _facilitated(session, actor, from_tables)
            staff = {s.id: s.table_id in run for s in surveys}
    return await surveys_public(session, actor, surveys, staff), cursor


async def _facilitated(
    session: AsyncSession, actor: User, table_ids: set[uuid.UUID]
) -> set[uuid.UUID]:
    stmt = select(ParticipationTable.id).where(
        col(ParticipationTable.id).in_(table_ids), facilitates_clause(actor)
    )
    return set((await session.exec(stmt)).all())


async def get_survey(
    session: AsyncSession, actor: User | None, survey_id: uuid.UUID
) -> SurveyPublic:
    return await survey_public(session, actor, await survey_context(session, actor, survey_id))


async def update_survey(
    session: AsyncSession, actor: User, survey_id: uuid.UUID, data: SurveyUpdate
) -> SurveyPublic:
    """Staff edit a survey; `questions` only until the first response (409
    `questions_frozen`). The survey row is locked, as a response locks it, so a response
    and a change of questions never interleave."""
    ctx = await staff_survey_context(session, actor, survey_id, for_update=True)
    survey = ctx.survey
    org = await session.get(Organization, survey.organization_id)
    assert org is not None
    changed = sorted(data.model_fields_set)
    if data.questions is not None:
        if survey.responses_count > 0:
            raise Conflict(
                "The questions are frozen: this survey already has responses.",
                code=ErrorCode.QUESTIONS_FROZEN,
            )
        check_questions(org, data.questions)
    require_default_locale(org, _texts(data))
    if data.audience == "members" and survey.table_id is None:
        raise invalid(
            ["body", "audience"],
            "A members-only survey needs a table.",
            ErrorCode.MEMBERS_NEED_TABLE,
        )
    opens_at = data.opens_at or survey.opens_at
    closes_at = data.closes_at or survey.closes_at
    if closes_at <= opens_at:
        raise invalid(
            ["body", "closes_at"], "closes_at must be after opens_at.", ErrorCode.INVALID_WINDOW
        )
    for field in ("title", "description", "audience", "results_public"):
        value = getattr(data, field)
        if value is not None:
            setattr(survey, field, value)
    survey.opens_at, survey.closes_at = opens_at, closes_at
    if data.questions is not None:
        await store_questions(session, survey.id, data.questions)
    survey.updated_at = now()
    record_audit(
        session,
        EventType.SURVEY_UPDATED,
        organization_id=survey.organization_id,
        actor_id=actor.id,
        target_type="survey",
        target_id=survey.id,
        data={"fields": changed},
    )
    await session.flush()
    return await survey_public(session, actor, ctx)
