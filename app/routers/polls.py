"""Polls: /v1/tables/{id}/polls, /v1/polls/*."""

import uuid

from fastapi import APIRouter, Depends, status

from app.db import SessionDep
from app.deps import CurrentUser, OptionalUser, ParticipantUser
from app.models.polls import BallotCreate, PollCreate, PollPublic
from app.pagination import Page, PageParamsDep
from app.services.polls import polls
from app.write_limits import write_limit

router = APIRouter(prefix="/v1", tags=["polls"])

SECRECY = """Ballots are secret: the service records that you voted and adds your choices
to the options' counts, with nothing linking the two; no response ever shows who chose
what."""


@router.get(
    "/tables/{table_id}/polls",
    response_model=Page[PollPublic],
    summary="A table's polls, newest first (whoever may see the table)",
)
async def list_polls(
    session: SessionDep, user: OptionalUser, table_id: uuid.UUID, page: PageParamsDep
) -> Page[PollPublic]:
    items, cursor = await polls.list_polls(session, user, table_id, page)
    return Page(items=items, next_cursor=cursor)


@router.post(
    "/tables/{table_id}/polls",
    response_model=PollPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Create a poll (the table's facilitators, organization admin)",
    description="`question` and every option are text maps in the organization's default "
    "locale at least; 2 to 20 options; `max_choices` only for `multiple` (default: all "
    "options); `opens_at` defaults to now; `results_visibility`: `live` or `after_close`.",
)
async def create_poll(
    session: SessionDep, user: CurrentUser, table_id: uuid.UUID, body: PollCreate
) -> PollPublic:
    return await polls.create_poll(session, user, table_id, body)


@router.get(
    "/polls/{poll_id}",
    response_model=PollPublic,
    summary="One poll: question, options, window; per-option counts when the results are "
    "visible (live polls, closed polls, facilitators) (whoever may see the table)",
)
async def get_poll(session: SessionDep, user: OptionalUser, poll_id: uuid.UUID) -> PollPublic:
    return await polls.get_poll(session, user, poll_id)


@router.post(
    "/polls/{poll_id}/ballots",
    response_model=PollPublic,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(write_limit("supports"))],
    summary="Cast your ballot, once (participants who may take part in the table)",
    description=SECRECY
    + """

`option_ids`: exactly one for `single`, 1 to `max_choices` for `multiple`, all options of
this poll, no repeats (422 `single_choice`, `too_many_choices`, `unknown_option`,
`duplicate_options`). 409 `poll_not_open` outside the window, 409 `already_voted` for a
second ballot. Answers the poll as you now see it (`has_voted: true`).""",
)
async def cast_ballot(
    session: SessionDep, user: ParticipantUser, poll_id: uuid.UUID, body: BallotCreate
) -> PollPublic:
    return await polls.cast_ballot(session, user, poll_id, body)
