"""Surveys: /v1/organizations/{org}/surveys, /v1/surveys/*, /v1/survey-answers/*."""

import uuid

from fastapi import APIRouter, Depends, status
from fastapi.responses import StreamingResponse

from app.db import SessionDep
from app.deps import CurrentUser, OptionalUser
from app.models.surveys import (
    AnswerModeration,
    ResponseCreate,
    ResponseReceipt,
    SurveyCreate,
    SurveyPublic,
    SurveyResults,
    SurveyUpdate,
    TextAnswerPublic,
)
from app.pagination import Page, PageParamsDep
from app.services.surveys import export, responses, results, surveys
from app.write_limits import write_limit

router = APIRouter(prefix="/v1", tags=["surveys"])

ANONYMITY = """In an `anonymous` survey nothing stored links your answers to you: the
response has no account and no time, and a separate record says only that you answered
(one response each)."""


@router.get(
    "/organizations/{org}/surveys",
    response_model=Page[SurveyPublic],
    summary="An organization's surveys, newest first (everyone; a table's surveys: whoever "
    "may see the table)",
)
async def list_surveys(
    session: SessionDep, user: OptionalUser, org: str, page: PageParamsDep
) -> Page[SurveyPublic]:
    items, cursor = await surveys.list_surveys(session, user, org, page)
    return Page(items=items, next_cursor=cursor)


@router.post(
    "/organizations/{org}/surveys",
    response_model=SurveyPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Create a survey (organization admin; for a table's survey also its facilitators)",
    description="""`title`, question `text`, options, rows and labels are text maps with the
organization's default locale. Kinds: `single` and `multiple` (`options`, 2 or more;
`max_choices` for multiple), `scale` (`min`, `max`, default 1-5, `labels` keyed by value),
`nps` (always 0-10), `text` (`max_length`, default 2000), `matrix` (`rows` answered on the
shared `min`-`max` scale). `audience`: `public` (any signed-in account), `verified`
(verified email) or `members` (active members of `table_id`). `results_public`: everyone
who may see the survey reads its results once it has closed. 422 `invalid_questions`
lists every problem.""",
)
async def create_survey(
    session: SessionDep, user: CurrentUser, org: str, body: SurveyCreate
) -> SurveyPublic:
    return await surveys.create_survey(session, user, org, body)


@router.get(
    "/surveys/{survey_id}",
    response_model=SurveyPublic,
    summary="One survey with its questions, options and rows (whoever may see it)",
)
async def get_survey(session: SessionDep, user: OptionalUser, survey_id: uuid.UUID) -> SurveyPublic:
    return await surveys.get_survey(session, user, survey_id)


@router.patch(
    "/surveys/{survey_id}",
    response_model=SurveyPublic,
    summary="Edit a survey (its organization's admins, its table's facilitators)",
    description="`questions` replaces the questionnaire (new ids), and only until the "
    "first response: then 409 `questions_frozen`.",
)
async def update_survey(
    session: SessionDep, user: CurrentUser, survey_id: uuid.UUID, body: SurveyUpdate
) -> SurveyPublic:
    return await surveys.update_survey(session, user, survey_id, body)


@router.post(
    "/surveys/{survey_id}/responses",
    response_model=ResponseReceipt,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(write_limit("supports"))],
    summary="Answer a survey, once (signed-in people in the survey's audience)",
    description=ANONYMITY
    + """

`answers: [{question_id, option_ids | value | text | rows}]`: `option_ids` for single
(exactly one) and multiple (1 to `max_choices`), `value` for scale and nps, `text` for
text, `rows: [{row_id, value}]` for matrix (every row when required). 422
`invalid_answers` names each wrong or missing answer in `errors` (with `question_id`);
409 `survey_not_open` outside the window, 409 `already_responded` the second time; 403
`email_not_verified` / `not_a_member` outside the audience.""",
)
async def submit_response(
    session: SessionDep, user: CurrentUser, survey_id: uuid.UUID, body: ResponseCreate
) -> ResponseReceipt:
    return await responses.submit_response(session, user, survey_id, body)


@router.get(
    "/surveys/{survey_id}/results",
    operation_id="get_survey_results",
    response_model=SurveyResults,
    summary="Results: counts per option, mean/median/distribution of scales, NPS, free text "
    "(the survey's staff; everyone once closed if `results_public`)",
    description="NPS = % promoters (9-10) - % detractors (0-6), from -100 to 100. Free "
    "text: up to 200 answers per question (`texts_count` counts them all); answers hidden "
    "by a moderator are left out, except for staff (flagged `hidden`). 403 "
    "`results_not_visible` otherwise.",
)
async def get_results(
    session: SessionDep, user: OptionalUser, survey_id: uuid.UUID
) -> SurveyResults:
    return await results.get_results(session, user, survey_id)


@router.get(
    "/surveys/{survey_id}/responses",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
    summary="Download every response as CSV (the survey's organization admins and table "
    "facilitators)",
    description="UTF-8 with a BOM; one row per response, one column per question (a "
    "matrix: one per row). Named surveys start with `response_id`, `respondent_id`, "
    "`submitted_at`; anonymous surveys have no such columns and rows in random order.",
)
async def download_responses(
    session: SessionDep, user: CurrentUser, survey_id: uuid.UUID
) -> StreamingResponse:
    filename, chunks = await export.responses_csv(session, user, survey_id)
    return StreamingResponse(
        chunks,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.patch(
    "/survey-answers/{answer_id}",
    response_model=TextAnswerPublic,
    summary="Hide (or show again) an abusive free-text answer (the survey's staff)",
)
async def moderate_answer(
    session: SessionDep, user: CurrentUser, answer_id: uuid.UUID, body: AnswerModeration
) -> TextAnswerPublic:
    return await results.moderate_answer(session, user, answer_id, body)
