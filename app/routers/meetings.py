"""Meetings, registrations, check-ins, minutes and calendars: /v1/tables/{id}/meetings,
/v1/meetings/*."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.db import SessionDep
from app.deps import CurrentUser, MeetingWriter, OptionalUser, VerifiedUser
from app.etag import IfMatch, set_etag
from app.models.base import Instant
from app.models.meetings import (
    CheckIn,
    MeetingCreate,
    MeetingPublic,
    MeetingUpdate,
    MinutesPublic,
    MinutesPut,
    RegistrationPublic,
    RegistrationStatus,
    RegistrationView,
)
from app.pagination import Page, PageParamsDep
from app.routers.tables import ICS_RESPONSE, ics_response
from app.services.meetings import calendars, meetings, minutes, registrations

router = APIRouter(prefix="/v1", tags=["meetings"])


@router.get(
    "/tables/{table_id}/meetings",
    response_model=Page[MeetingPublic],
    summary="A table's meetings by start time, optionally those overlapping [from, to) "
    "(whoever may see the table)",
)
async def list_meetings(
    session: SessionDep,
    user: OptionalUser,
    table_id: uuid.UUID,
    page: PageParamsDep,
    starts_from: Annotated[
        Instant | None, Query(alias="from", description="ISO 8601 with an offset.")
    ] = None,
    starts_to: Annotated[
        Instant | None, Query(alias="to", description="ISO 8601 with an offset.")
    ] = None,
) -> Page[MeetingPublic]:
    items, cursor = await meetings.list_meetings(
        session, user, table_id, page, starts_from, starts_to
    )
    return Page(items=items, next_cursor=cursor)


@router.post(
    "/tables/{table_id}/meetings",
    response_model=MeetingPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Schedule a meeting (the table's facilitators, organization admin, clients with "
    "meetings:write)",
)
async def create_meeting(
    session: SessionDep,
    user: MeetingWriter,
    table_id: uuid.UUID,
    body: MeetingCreate,
    response: Response,
) -> MeetingPublic:
    meeting, version = await meetings.create_meeting(session, user, table_id, body)
    set_etag(response, version)
    return meeting


# Declared before /meetings/{meeting_id}, which would otherwise take "<id>.ics" as an id.
@router.get(
    "/meetings/{meeting_id}.ics",
    response_class=Response,
    responses=ICS_RESPONSE,
    summary="One meeting as iCalendar (whoever may see the meeting)",
)
async def meeting_calendar(
    session: SessionDep, user: OptionalUser, meeting_id: uuid.UUID
) -> Response:
    body = await calendars.meeting_ics(session, user, meeting_id)
    return ics_response(body, f"meeting-{meeting_id}.ics")


@router.get(
    "/meetings/{meeting_id:uuid}",
    response_model=MeetingPublic,
    summary="One meeting; the online link only for people registered and facilitators "
    "(whoever may see the table)",
)
async def get_meeting(
    session: SessionDep, user: OptionalUser, meeting_id: uuid.UUID, response: Response
) -> MeetingPublic:
    meeting, version = await meetings.get_meeting(session, user, meeting_id)
    set_etag(response, version)
    return meeting


@router.patch(
    "/meetings/{meeting_id:uuid}",
    response_model=MeetingPublic,
    summary="Edit, cancel (`status: cancelled`) or reinstate a meeting; honours If-Match "
    "(the table's facilitators, organization admin, clients with meetings:write)",
)
async def update_meeting(
    session: SessionDep,
    user: MeetingWriter,
    meeting_id: uuid.UUID,
    body: MeetingUpdate,
    response: Response,
    if_match: IfMatch = None,
) -> MeetingPublic:
    meeting, version = await meetings.update_meeting(session, user, meeting_id, body, if_match)
    set_etag(response, version)
    return meeting


@router.post(
    "/meetings/{meeting_id}/registrations",
    operation_id="register_for_meeting",
    response_model=RegistrationPublic,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {
            "model": RegistrationPublic,
            "description": "You were already "
            "registered (or waiting): your registration, unchanged.",
        }
    },
    summary="Register yourself: `registered`, or `waitlisted` when full; 200 with the "
    "existing registration if you already have one (verified account)",
)
async def register(
    session: SessionDep, user: VerifiedUser, meeting_id: uuid.UUID, response: Response
) -> RegistrationPublic:
    registration, created = await registrations.register(session, user, meeting_id)
    if not created:
        response.status_code = status.HTTP_200_OK
    return registration


@router.delete(
    "/meetings/{meeting_id}/registrations/me",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Cancel your registration; the first person waiting takes the seat (signed in)",
)
async def cancel_registration(
    session: SessionDep, user: CurrentUser, meeting_id: uuid.UUID
) -> Response:
    await registrations.cancel_registration(session, user, meeting_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/meetings/{meeting_id}/registrations",
    response_model=Page[RegistrationView],
    summary="Registrations in arrival order (the table's facilitators, organization admin)",
)
async def list_registrations(
    session: SessionDep,
    user: CurrentUser,
    meeting_id: uuid.UUID,
    page: PageParamsDep,
    registration_status: Annotated[RegistrationStatus | None, Query(alias="status")] = None,
) -> Page[RegistrationView]:
    items, cursor = await registrations.list_registrations(
        session, user, meeting_id, page, registration_status
    )
    return Page(items=items, next_cursor=cursor)


@router.post(
    "/meetings/{meeting_id}/check-ins",
    response_model=RegistrationView,
    summary="Mark attendance by check-in code (the table's facilitators, organization admin)",
)
async def check_in(
    session: SessionDep, user: CurrentUser, meeting_id: uuid.UUID, body: CheckIn
) -> RegistrationView:
    return await registrations.check_in(session, user, meeting_id, body)


@router.put(
    "/meetings/{meeting_id}/minutes",
    response_model=MinutesPublic,
    summary="Publish or rewrite the minutes; the meeting becomes held (the table's "
    "facilitators, organization admin)",
)
async def publish_minutes(
    session: SessionDep, user: CurrentUser, meeting_id: uuid.UUID, body: MinutesPut
) -> MinutesPublic:
    return await minutes.publish_minutes(session, user, meeting_id, body)
