"""Live sessions: /v1/meetings/{id}/live (SSE), tickets, presence, questions, live polls."""

import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, status
from fastapi.security.utils import get_authorization_scheme_param
from fastapi.sse import EventSourceResponse, ServerSentEvent

from app.db import SessionDep, get_sessionmaker, unit_of_work
from app.deps import CurrentUser, OptionalUser, ParticipantUser, get_optional_user
from app.error_codes import ErrorCode
from app.errors import AppError
from app.models.accounts import User
from app.models.live import (
    LiveState,
    LiveTicketPublic,
    LiveUpdate,
    PresencePublic,
    QuestionCreate,
    QuestionPublic,
    QuestionSort,
    QuestionUpdate,
)
from app.models.polls import PollPublic
from app.pagination import Page, PageParamsDep
from app.replicas import PRIMARY
from app.services.live import polls as live_polls
from app.services.live import questions, session, stream
from app.services.live.hub import LiveHub
from app.write_limits import write_limit

router = APIRouter(prefix="/v1", tags=["live"])

STREAM_DESCRIPTION = """Server-Sent Events. Every message carries `event:` (its type),
`data:` (JSON) and `id:` — the event's position in the event spine — so a client that
reconnects with `Last-Event-ID` gets exactly the events it missed, in order, then live
ones. Types: `question.created`, `question.updated`, `question.liked` (a question as in
the questions list), `question.removed` (`{id}`: hidden by a facilitator, for everyone but
its author and the facilitators), `poll.opened`, `poll.closed` (the poll), `poll.results`
(`{poll_id, status, ballots_count, results_visible, options: [{id, votes_count}]}`,
coalesced: a few per second at most), `meeting.live` (`{live_status,
current_agenda_item}`), and, without `id:`, `live.state` on connecting and `presence`
(`{connected}`). A `retry:` hint comes first and a `: heartbeat` comment every 15 s when
idle. Whoever may see the meeting may follow it; pending and hidden questions reach only
their authors and the facilitators. Authenticate with `Authorization: Bearer …` or, from
a browser's `EventSource`, with `?ticket=` (see `POST …/live/tickets`); signed out, only
public meetings. Resume with the `Last-Event-ID` header, or `?last_event_id=` from a new
`EventSource`."""


class LiveUnavailable(AppError):
    status = 503
    code = ErrorCode.LIVE_UNAVAILABLE
    title = "Live streams are not available on this server"


def _hub(request: Request) -> LiveHub:
    hub: LiveHub | None = getattr(request.app.state, "live_hub", None)
    if hub is None:
        raise LiveUnavailable()
    return hub


async def _follower(
    request: Request,
    meeting_id: uuid.UUID,
    ticket: Annotated[
        str | None, Query(max_length=200, description="A ticket from `POST …/live/tickets`.")
    ] = None,
) -> stream.Follower:
    """Authenticate and authorize before the stream starts, on a short unit of work of its
    own (a stream never holds a pooled connection, so it cannot use the request's)."""
    scheme, token = get_authorization_scheme_param(request.headers.get("Authorization"))
    async with get_sessionmaker()() as db, unit_of_work(db):
        user: User | None
        if ticket:
            user = await session.redeem_ticket(db, ticket, meeting_id)
        else:
            user = await get_optional_user(db, token if scheme.lower() == "bearer" else None)
        return await stream.authorize(db, user, meeting_id)


@router.get(
    "/meetings/{meeting_id}/live",
    response_class=EventSourceResponse,
    # On the primary: redeeming a ticket deletes it (app/replicas.py).
    openapi_extra=PRIMARY,
    summary="Follow a meeting live: Server-Sent Events (whoever may see the meeting)",
    description=STREAM_DESCRIPTION,
)
async def follow_meeting(
    hub: Annotated[LiveHub, Depends(_hub)],
    follower: Annotated[stream.Follower, Depends(_follower)],
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    resume_from: Annotated[
        str | None,
        Query(
            alias="last_event_id",
            max_length=20,
            description="For a new browser `EventSource` (which cannot send the header): "
            "the last `id` seen.",
        ),
    ] = None,
) -> AsyncIterator[ServerSentEvent]:
    given = last_event_id or resume_from
    resume = int(given) if given and given.isdigit() else None
    async for message in stream.follow(hub, follower, resume):
        yield message


@router.post(
    "/meetings/{meeting_id}/live/tickets",
    response_model=LiveTicketPublic,
    status_code=status.HTTP_201_CREATED,
    summary="A short-lived, single-use ticket to open this meeting's stream from a browser "
    "(whoever signed in may see the meeting)",
)
async def create_ticket(
    db: SessionDep, user: CurrentUser, meeting_id: uuid.UUID
) -> LiveTicketPublic:
    return await session.issue_ticket(db, user, meeting_id)


@router.patch(
    "/meetings/{meeting_id}/live",
    response_model=LiveState,
    summary="Start or end the live session and set the current agenda item (the meeting's "
    "facilitators)",
    description="`current_agenda_item` is an index into the meeting's `agenda` (422 "
    "`unknown_agenda_item`); both fields are pushed to the stream and shown on the meeting.",
)
async def update_live(
    db: SessionDep, user: CurrentUser, meeting_id: uuid.UUID, body: LiveUpdate
) -> LiveState:
    return await session.update_live(db, user, meeting_id, body)


@router.get(
    "/meetings/{meeting_id}/live/presence",
    response_model=PresencePublic,
    summary="How many distinct people follow the meeting live now, on every server "
    "(whoever may see the meeting)",
)
async def get_presence(db: SessionDep, user: OptionalUser, meeting_id: uuid.UUID) -> PresencePublic:
    return PresencePublic(connected=await session.get_presence(db, user, meeting_id))


# --- questions ------------------------------------------------------------------------


@router.get(
    "/meetings/{meeting_id}/questions",
    response_model=Page[QuestionPublic],
    summary="A meeting's live questions, most liked or most recent first (whoever may see "
    "the meeting; pending and hidden ones only for their authors and facilitators)",
)
async def list_questions(
    db: SessionDep,
    user: OptionalUser,
    meeting_id: uuid.UUID,
    page: PageParamsDep,
    sort: Annotated[QuestionSort, Query()] = "recent",
) -> Page[QuestionPublic]:
    items, cursor = await questions.list_questions(db, user, meeting_id, sort, page)
    return Page(items=items, next_cursor=cursor)


@router.post(
    "/meetings/{meeting_id}/questions",
    response_model=QuestionPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Ask a live question (whoever may take part in the meeting's table)",
    description="Up to 500 characters. Held as `pending` for a facilitator's approval on "
    "pre-moderated tables (those admitting minors, by default) or when it contains a "
    "blocked word. 409 `live_session_ended` once the session has ended.",
    dependencies=[Depends(write_limit("comments"))],
)
async def ask_question(
    db: SessionDep, user: ParticipantUser, meeting_id: uuid.UUID, body: QuestionCreate
) -> QuestionPublic:
    return await questions.ask_question(db, user, meeting_id, body)


@router.get(
    "/questions/{question_id}",
    response_model=QuestionPublic,
    summary="One live question (whoever may see it)",
)
async def get_question(
    db: SessionDep, user: OptionalUser, question_id: uuid.UUID
) -> QuestionPublic:
    return await questions.get_question(db, user, question_id)


@router.patch(
    "/questions/{question_id}",
    response_model=QuestionPublic,
    summary="Answer, hide, show (approve) or pin a question (the meeting's facilitators)",
)
async def update_question(
    db: SessionDep, user: CurrentUser, question_id: uuid.UUID, body: QuestionUpdate
) -> QuestionPublic:
    return await questions.update_question(db, user, question_id, body)


@router.put(
    "/questions/{question_id}/like",
    response_model=QuestionPublic,
    summary="Like a question; liking twice changes nothing (participants)",
    dependencies=[Depends(write_limit("supports"))],
)
async def like_question(
    db: SessionDep, user: ParticipantUser, question_id: uuid.UUID
) -> QuestionPublic:
    return await questions.set_like(db, user, question_id, like=True)


@router.delete(
    "/questions/{question_id}/like",
    response_model=QuestionPublic,
    summary="Withdraw your like (participants)",
)
async def unlike_question(
    db: SessionDep, user: ParticipantUser, question_id: uuid.UUID
) -> QuestionPublic:
    return await questions.set_like(db, user, question_id, like=False)


# --- live polls -----------------------------------------------------------------------


@router.post(
    "/polls/{poll_id}/open",
    response_model=PollPublic,
    summary="Open a poll now (the table's facilitators)",
    description="Opens an upcoming poll (idempotent on an open one; 409 `poll_closed`).",
)
async def open_poll(db: SessionDep, user: CurrentUser, poll_id: uuid.UUID) -> PollPublic:
    return await live_polls.open_poll(db, user, poll_id)


@router.post(
    "/polls/{poll_id}/close",
    response_model=PollPublic,
    summary="Close a poll now (the table's facilitators)",
    description="Closes an open poll (idempotent on a closed one; 409 `poll_not_open`).",
)
async def close_poll(db: SessionDep, user: CurrentUser, poll_id: uuid.UUID) -> PollPublic:
    return await live_polls.close_poll(db, user, poll_id)
