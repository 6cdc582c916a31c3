"""Conversations and opinion maps: /v1/tables/{id}/conversations, /v1/conversations/*,
/v1/statements/{id}/vote."""

import uuid

from fastapi import APIRouter, Depends, Response, status

from app.db import SessionDep
from app.deps import CurrentUser, OptionalUser, ParticipantUser
from app.models.conversations import (
    ConversationCreate,
    ConversationMapPublic,
    ConversationPublic,
    ConversationUpdate,
    NextStatement,
    StatementCreate,
    StatementPublic,
    VoteCast,
)
from app.pagination import Page, PageParamsDep
from app.services.conversations import conversations, maps, statements, votes
from app.services.conversations.render import map_svg
from app.write_limits import write_limit

router = APIRouter(prefix="/v1", tags=["conversations"])

SECRECY = """Votes are personal: no response but your own shows how a person voted or
where they sit on the map. Counts are exact; the map shows anonymous positions only."""


@router.get(
    "/tables/{table_id}/conversations",
    response_model=Page[ConversationPublic],
    summary="A table's conversations, newest first (whoever may see the table)",
)
async def list_conversations(
    session: SessionDep, user: OptionalUser, table_id: uuid.UUID, page: PageParamsDep
) -> Page[ConversationPublic]:
    items, cursor = await conversations.list_conversations(session, user, table_id, page)
    return Page(items=items, next_cursor=cursor)


@router.post(
    "/tables/{table_id}/conversations",
    response_model=ConversationPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Open a conversation (the table's facilitators, organization admin)",
    description="`title` (≤ 200 characters), optional `description`; "
    "`participant_statements` (default true): whether participants add statements, or "
    "only the facilitators.",
)
async def create_conversation(
    session: SessionDep, user: CurrentUser, table_id: uuid.UUID, body: ConversationCreate
) -> ConversationPublic:
    return await conversations.create_conversation(session, user, table_id, body)


@router.get(
    "/conversations/{conversation_id}",
    response_model=ConversationPublic,
    summary="One conversation with its counts (whoever may see the table)",
)
async def get_conversation(
    session: SessionDep, user: OptionalUser, conversation_id: uuid.UUID
) -> ConversationPublic:
    return await conversations.get_conversation(session, user, conversation_id)


@router.patch(
    "/conversations/{conversation_id}",
    response_model=ConversationPublic,
    summary="Change or close a conversation (the table's facilitators)",
    description="Any of `title`, `description`, `participant_statements`, `status` "
    "(`open` or `closed`: a closed conversation takes no votes or statements).",
)
async def update_conversation(
    session: SessionDep, user: CurrentUser, conversation_id: uuid.UUID, body: ConversationUpdate
) -> ConversationPublic:
    return await conversations.update_conversation(session, user, conversation_id, body)


@router.get(
    "/conversations/{conversation_id}/statements",
    response_model=Page[StatementPublic],
    summary="A conversation's statements, oldest first, with their counts (whoever may "
    "see the table; held and hidden ones only to their author and the facilitators)",
)
async def list_statements(
    session: SessionDep, user: OptionalUser, conversation_id: uuid.UUID, page: PageParamsDep
) -> Page[StatementPublic]:
    items, cursor = await statements.list_statements(session, user, conversation_id, page)
    return Page(items=items, next_cursor=cursor)


@router.post(
    "/conversations/{conversation_id}/statements",
    response_model=StatementPublic,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(write_limit("comments"))],
    summary="Add a statement (participants who may take part in the table)",
    description="`body`: 1 to 280 characters. Held for approval (`status: pending`) on "
    "pre-moderated tables or with blocked words, like comments; report it with "
    "`target_type: statement`. 403 `statements_by_facilitators` when only the "
    "facilitators add statements; 409 `conversation_closed`, `table_closed`.",
)
async def create_statement(
    session: SessionDep, user: ParticipantUser, conversation_id: uuid.UUID, body: StatementCreate
) -> StatementPublic:
    return await statements.create_statement(session, user, conversation_id, body)


@router.get(
    "/conversations/{conversation_id}/statements/next",
    response_model=NextStatement,
    summary="The next statement for you to vote on (signed in)",
    description="A visible statement you have not voted on yet, the least voted first; "
    "`statement: null` when you have voted on all of them.",
)
async def next_statement(
    session: SessionDep, user: CurrentUser, conversation_id: uuid.UUID
) -> NextStatement:
    return await statements.next_statement(session, user, conversation_id)


@router.put(
    "/statements/{statement_id}/vote",
    response_model=StatementPublic,
    dependencies=[Depends(write_limit("supports"))],
    summary="Vote on a statement, or change your vote (participants)",
    description=SECRECY
    + "\n\n`vote`: `agree`, `disagree` or `pass`; one vote per person and statement. "
    "Answers the statement with its counts and `my_vote`. 409 `statement_not_visible`, "
    "`conversation_closed`.",
)
async def cast_vote(
    session: SessionDep, user: ParticipantUser, statement_id: uuid.UUID, body: VoteCast
) -> StatementPublic:
    return await votes.cast_vote(session, user, statement_id, body.vote)


@router.delete(
    "/statements/{statement_id}/vote",
    response_model=StatementPublic,
    summary="Withdraw your vote (signed in)",
)
async def withdraw_vote(
    session: SessionDep, user: CurrentUser, statement_id: uuid.UUID
) -> StatementPublic:
    return await votes.withdraw_vote(session, user, statement_id)


MAP_DESCRIPTION = """Computed by the worker with red-dwarf (the Polis pipeline: PCA to 2-D,
k-means with k from 2 to 5 chosen by silhouette, representative statements per group,
consensus and group-informed consensus), at most every `CONVERSATION_MAP_SECONDS` while
votes change; `outdated` says a newer map is on its way. Participants who voted on at
least 7 statements (or all of them) are placed; `participants` are anonymous positions
in no meaningful order, and `you` is your own position and group (signed in)."""


@router.get(
    "/conversations/{conversation_id}/map",
    response_model=ConversationMapPublic,
    summary="The conversation's opinion map: groups, their representative statements, "
    "consensus, positions (whoever may see the table)",
    description=MAP_DESCRIPTION,
)
async def get_map(
    session: SessionDep, user: OptionalUser, conversation_id: uuid.UUID
) -> ConversationMapPublic:
    return await maps.get_map(session, user, conversation_id)


@router.get(
    "/conversations/{conversation_id}/map.svg",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}},
    summary="The opinion map as an SVG image (whoever may see the table)",
    description="Dots coloured by group, groups labelled A, B… with their size; your own "
    "dot ringed when signed in.",
)
async def get_map_svg(
    session: SessionDep, user: OptionalUser, conversation_id: uuid.UUID
) -> Response:
    view = await maps.get_map(session, user, conversation_id)
    return Response(map_svg(view, "Opinion map"), media_type="image/svg+xml")
