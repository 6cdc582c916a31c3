"""Participation tables and their memberships: /v1/organizations/{org}/tables, /v1/tables/*."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status

from app.db import SessionDep
from app.deps import CurrentUser, OptionalUser, VerifiedUser
from app.etag import IfMatch, set_etag
from app.models.meetings import CalendarFeed
from app.models.tables import (
    MembershipInvite,
    MembershipPublic,
    MembershipStatus,
    MembershipUpdate,
    TableCreate,
    TablePublic,
    TableUpdate,
)
from app.pagination import Page, PageParamsDep
from app.services.meetings import calendars
from app.services.tables import memberships, tables

router = APIRouter(prefix="/v1", tags=["tables"])

ICS_MEDIA_TYPE = "text/calendar; charset=utf-8"
ICS_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/calendar": {}}, "description": "An iCalendar feed."}
}


def ics_response(body: bytes, filename: str) -> Response:
    return Response(
        content=body,
        media_type=ICS_MEDIA_TYPE,
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


@router.get(
    "/organizations/{org}/tables",
    response_model=Page[TablePublic],
    summary="Tables of an organization (public; private ones for their members and admins)",
)
async def list_tables(
    session: SessionDep, user: OptionalUser, org: str, page: PageParamsDep
) -> Page[TablePublic]:
    items, cursor = await tables.list_tables(session, user, org, page)
    return Page(items=items, next_cursor=cursor)


@router.post(
    "/organizations/{org}/tables",
    response_model=TablePublic,
    status_code=status.HTTP_201_CREATED,
    summary="Create a participation table (organization admin)",
)
async def create_table(
    session: SessionDep, user: CurrentUser, org: str, body: TableCreate, response: Response
) -> TablePublic:
    table, version = await tables.create_table(session, user, org, body)
    set_etag(response, version)
    return table


@router.get(
    "/tables/{table_id}",
    response_model=TablePublic,
    summary="One table (public tables: anyone; private: members, invitees, admins)",
)
async def get_table(
    session: SessionDep, user: OptionalUser, table_id: uuid.UUID, response: Response
) -> TablePublic:
    table, version = await tables.get_table(session, user, table_id)
    set_etag(response, version)
    return table


@router.patch(
    "/tables/{table_id}",
    response_model=TablePublic,
    summary="Edit a table; honours If-Match (its facilitators, organization admin)",
)
async def update_table(
    session: SessionDep,
    user: CurrentUser,
    table_id: uuid.UUID,
    body: TableUpdate,
    response: Response,
    if_match: IfMatch = None,
) -> TablePublic:
    table, version = await tables.update_table(session, user, table_id, body, if_match)
    set_etag(response, version)
    return table


@router.get(
    "/tables/{table_id}/calendar.ics",
    response_class=Response,
    responses=ICS_RESPONSE,
    summary="The table's meetings as an iCalendar feed (whoever may see the table)",
)
async def table_calendar(
    session: SessionDep,
    user: OptionalUser,
    table_id: uuid.UUID,
    token: Annotated[
        str | None,
        Query(
            max_length=200,
            description="A personal feed token from `GET /v1/tables/{id}/calendar-feed`, "
            "for calendar apps (which cannot send an Authorization header).",
        ),
    ] = None,
) -> Response:
    if token is not None:
        body = await calendars.table_ics_with_token(session, table_id, token)
    else:
        body = await calendars.table_ics(session, user, table_id)
    return ics_response(body, f"table-{table_id}.ics")


@router.get(
    "/tables/{table_id}/calendar-feed",
    response_model=CalendarFeed,
    summary="Your personal subscription URL for the table's calendar: works for private "
    "tables and includes your meetings' online links; retired when you reset your password "
    "or sign out everywhere (signed in, whoever may see the table)",
)
async def table_calendar_feed(
    request: Request, session: SessionDep, user: CurrentUser, table_id: uuid.UUID
) -> CalendarFeed:
    token = await calendars.table_feed_token(session, user, table_id)
    url = request.url_for("table_calendar", table_id=table_id).include_query_params(token=token)
    return CalendarFeed(url=str(url))


@router.post(
    "/tables/{table_id}/memberships",
    response_model=MembershipPublic,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {
            "model": MembershipPublic,
            "description": "Nothing changed: you are "
            "already a member, or already asked or invited.",
        }
    },
    summary="Without a body: join, ask to join or accept an invitation (verified account); "
    "with {user_id|email}: invite someone (the table's facilitators). 200 when nothing changed",
)
async def create_membership(
    session: SessionDep,
    user: VerifiedUser,
    table_id: uuid.UUID,
    response: Response,
    body: MembershipInvite | None = None,
) -> MembershipPublic:
    membership, created = await memberships.create_membership(session, user, table_id, body)
    if not created:
        response.status_code = status.HTTP_200_OK
    return membership


@router.get(
    "/tables/{table_id}/memberships",
    response_model=Page[MembershipPublic],
    summary="Active members (whoever may see the table); facilitators also see requests, "
    "invitations and rejections",
)
async def list_memberships(
    session: SessionDep,
    user: OptionalUser,
    table_id: uuid.UUID,
    page: PageParamsDep,
    membership_status: Annotated[MembershipStatus | None, Query(alias="status")] = None,
) -> Page[MembershipPublic]:
    items, cursor = await memberships.list_memberships(
        session, user, table_id, page, membership_status
    )
    return Page(items=items, next_cursor=cursor)


@router.patch(
    "/tables/{table_id}/memberships/{user_id}",
    response_model=MembershipPublic,
    summary="Approve or reject a request, or set a member's role (the table's facilitators)",
)
async def update_membership(
    session: SessionDep,
    user: CurrentUser,
    table_id: uuid.UUID,
    user_id: uuid.UUID,
    body: MembershipUpdate,
) -> MembershipPublic:
    return await memberships.update_membership(session, user, table_id, user_id, body)


@router.delete(
    "/tables/{table_id}/memberships/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Leave (your own user id) or remove a member (the table's facilitators)",
)
async def remove_membership(
    session: SessionDep, user: CurrentUser, table_id: uuid.UUID, user_id: uuid.UUID
) -> Response:
    await memberships.remove_membership(session, user, table_id, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
