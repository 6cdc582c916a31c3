"""Service requests, staff side: /v1/organizations/{org}/services, .../open311-keys,
.../service-requests, /v1/service-requests/{id}."""

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, status

from app.db import SessionDep
from app.deps import CurrentUser
from app.models.service_requests import (
    ApiKeyCreate,
    ApiKeyIssued,
    ApiKeyPublic,
    ServiceCreate,
    ServicePublic,
    ServiceRequestStaff,
    ServiceRequestUpdate,
)
from app.pagination import Page, PageParamsDep
from app.services.service_requests import api_keys, catalog, staff

router = APIRouter(prefix="/v1", tags=["service requests"])


@router.get(
    "/organizations/{org}/services",
    response_model=Page[ServicePublic],
    summary="The organization's Open311 service categories, by code (organization admin)",
)
async def list_services(
    session: SessionDep, user: CurrentUser, org: str, page: PageParamsDep
) -> Page[ServicePublic]:
    items, cursor = await catalog.list_services(session, user, org, page)
    return Page(items=items, next_cursor=cursor)


@router.post(
    "/organizations/{org}/services",
    response_model=ServicePublic,
    status_code=status.HTTP_201_CREATED,
    summary="Add an Open311 service category (organization admin)",
    description="Open311 fields (`service_code` unique in the organization, "
    "`service_name`, `description`, `type` realtime/batch/blackbox, `keywords`, `group`), "
    "`location_required` (lat/long or address_string needed to file), `expected_days` "
    "(default 30, the Italian administrative deadline) and `attributes` (Open311 "
    "service-definition fields: `string`, `number`, `datetime`, `text`, "
    "`singlevaluelist`, `multivaluelist` with `values`). 409 `service_code_taken`.",
)
async def create_service(
    session: SessionDep, user: CurrentUser, org: str, body: ServiceCreate
) -> ServicePublic:
    return await catalog.create_service(session, user, org, body)


@router.get(
    "/organizations/{org}/open311-keys",
    response_model=Page[ApiKeyPublic],
    summary="The organization's Open311 API keys, newest first (organization admin)",
)
async def list_keys(
    session: SessionDep, user: CurrentUser, org: str, page: PageParamsDep
) -> Page[ApiKeyPublic]:
    items, cursor = await api_keys.list_keys(session, user, org, page)
    return Page(items=items, next_cursor=cursor)


@router.post(
    "/organizations/{org}/open311-keys",
    response_model=ApiKeyIssued,
    status_code=status.HTTP_201_CREATED,
    summary="Issue an Open311 api_key for a municipal app (organization admin)",
    description="The key (`api_key`) is shown once, in this answer; only its hash is kept.",
)
async def issue_key(
    session: SessionDep, user: CurrentUser, org: str, body: ApiKeyCreate
) -> ApiKeyIssued:
    return await api_keys.issue_key(session, user, org, body)


@router.delete(
    "/organizations/{org}/open311-keys/{key_id}",
    response_model=ApiKeyPublic,
    summary="Revoke an Open311 api_key; it stops working at once (organization admin)",
)
async def revoke_key(
    session: SessionDep, user: CurrentUser, org: str, key_id: uuid.UUID
) -> ApiKeyPublic:
    return await api_keys.revoke_key(session, user, org, key_id)


@router.get(
    "/organizations/{org}/service-requests",
    response_model=Page[ServiceRequestStaff],
    summary="The queue of service requests, newest first, with the reporters' contact "
    "details and internal notes (organization admin)",
)
async def list_queue(
    session: SessionDep,
    user: CurrentUser,
    org: str,
    page: PageParamsDep,
    status: Literal["open", "closed"] | None = None,
    service: Annotated[str | None, Query(max_length=64, description="A service_code.")] = None,
    min_age_days: Annotated[
        int | None, Query(ge=0, le=3650, description="Filed at least this many days ago.")
    ] = None,
    overdue: Annotated[
        bool | None, Query(description="Open and past `expected_datetime` (or not).")
    ] = None,
    assigned_to: uuid.UUID | None = None,
) -> Page[ServiceRequestStaff]:
    items, cursor = await staff.list_queue(
        session,
        user,
        org,
        page,
        status=status,
        service_code=service,
        min_age_days=min_age_days,
        overdue=overdue,
        assigned_to=assigned_to,
    )
    return Page(items=items, next_cursor=cursor)


@router.get(
    "/service-requests/{request_id}",
    operation_id="get_service_request",
    response_model=ServiceRequestStaff,
    summary="One service request with everything staff need (organization admin)",
)
async def get_request(
    session: SessionDep, user: CurrentUser, request_id: uuid.UUID
) -> ServiceRequestStaff:
    return await staff.get_request(session, user, request_id)


@router.patch(
    "/service-requests/{request_id}",
    response_model=ServiceRequestStaff,
    summary="Handle a service request: status, public notes, agency, assignee, deadline, "
    "internal note (organization admin)",
    description="A change of `status` or `status_notes` (public) emails the reporter. "
    "`assigned_to` is someone with a role in the organization (null unassigns); "
    "`internal_note` adds a note only staff ever see.",
)
async def update_request(
    session: SessionDep, user: CurrentUser, request_id: uuid.UUID, body: ServiceRequestUpdate
) -> ServiceRequestStaff:
    return await staff.update_request(session, user, request_id, body)
