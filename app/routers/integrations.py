"""Integrations: service clients, the change feed, webhooks (API.md, Integrations)."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.db import SessionDep
from app.deps import ChangesReader, CurrentUser, WebhookManager
from app.models.integrations import (
    ApiClientCreate,
    ApiClientPublic,
    ApiClientUpdate,
    ApiClientWithSecret,
    ChangePage,
    DeliveryPublic,
    WebhookCreate,
    WebhookPublic,
    WebhookUpdate,
    WebhookWithSecret,
)
from app.pagination import MAX_LIMIT, Page, PageParamsDep
from app.replicas import PRIMARY
from app.services.integrations import api_clients, change_feed, webhooks

router = APIRouter(prefix="/v1", tags=["integrations"])


# --- service clients -------------------------------------------------------------------


@router.get(
    "/organizations/{org}/api-clients",
    response_model=Page[ApiClientPublic],
    summary="The organization's service clients (organization admin)",
)
async def list_api_clients(
    session: SessionDep, user: CurrentUser, org: str, page: PageParamsDep
) -> Page[ApiClientPublic]:
    items, cursor = await api_clients.list_clients(session, user, org, page)
    return Page(items=items, next_cursor=cursor)


@router.post(
    "/organizations/{org}/api-clients",
    response_model=ApiClientWithSecret,
    status_code=status.HTTP_201_CREATED,
    summary="Create a service client (organization admin); its secret is shown once",
    description="Scopes: `changes:read`, `webhooks:manage`, `plans:write`, `meetings:write`, "
    "`service_requests:write`. Exchange `client_id` and `client_secret` for a token at "
    "`POST /v1/auth/token` with `grant_type=client_credentials`.",
)
async def create_api_client(
    session: SessionDep, user: CurrentUser, org: str, body: ApiClientCreate
) -> ApiClientWithSecret:
    return await api_clients.create_client(session, user, org, body)


@router.get(
    "/api-clients/{client_id}",
    response_model=ApiClientPublic,
    summary="One service client (organization admin)",
)
async def get_api_client(
    session: SessionDep, user: CurrentUser, client_id: uuid.UUID
) -> ApiClientPublic:
    return await api_clients.get_client(session, user, client_id)


@router.patch(
    "/api-clients/{client_id}",
    response_model=ApiClientPublic,
    summary="Rename, change scopes, deactivate or reactivate a client (organization admin); "
    "takes effect on its tokens at once",
)
async def update_api_client(
    session: SessionDep, user: CurrentUser, client_id: uuid.UUID, body: ApiClientUpdate
) -> ApiClientPublic:
    return await api_clients.update_client(session, user, client_id, body)


@router.delete(
    "/api-clients/{client_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a client (organization admin); its tokens stop working at once",
)
async def delete_api_client(
    session: SessionDep, user: CurrentUser, client_id: uuid.UUID
) -> Response:
    await api_clients.delete_client(session, user, client_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/api-clients/{client_id}/secrets",
    response_model=ApiClientWithSecret,
    status_code=status.HTTP_201_CREATED,
    summary="Rotate the client's secret (organization admin): the new one is shown once; "
    "the old one keeps working for API_CLIENT_SECRET_GRACE_HOURS (24 h), then stops",
)
async def rotate_api_client_secret(
    session: SessionDep, user: CurrentUser, client_id: uuid.UUID
) -> ApiClientWithSecret:
    return await api_clients.rotate_secret(session, user, client_id)


# --- the change feed -------------------------------------------------------------------


@router.get(
    "/organizations/{org}/changes",
    # Read on the primary: the horizon is its transactions' (app/replicas.py).
    openapi_extra=PRIMARY,
    response_model=ChangePage,
    response_model_exclude_none=False,
    summary="The organization's change feed (clients with changes:read, organization admin)",
    description="Every public change, oldest first, each with its subject's current public "
    "representation (`data`, the resource's `GET` schema), or `data: null` and "
    "`deleted: true` when it was deleted, hidden or is no longer public. Follow "
    "`next_cursor` (always present, also after an empty page): the feed never skips and "
    "never repeats an event, even when transactions commit out of order. `?types=` "
    "filters by type or pattern (`proposal.*,meeting.cancelled`). A cursor older than "
    "CHANGE_FEED_RETENTION_DAYS (90) answers 410 `cursor_expired`: resync from the lists.",
)
async def list_changes(
    session: SessionDep,
    actor: ChangesReader,
    org: str,
    cursor: Annotated[
        str | None,
        Query(
            description="`next_cursor` of the previous page.",
            json_schema_extra={"maxLength": change_feed.MAX_CURSOR_CHARS},
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page (≤ 100).")] = 20,
    types: Annotated[str | None, Query(max_length=1000)] = None,
) -> ChangePage:
    return await change_feed.list_changes(
        session, actor, org, cursor=cursor, limit=limit, types=types
    )


# --- webhooks --------------------------------------------------------------------------


@router.get(
    "/organizations/{org}/webhooks",
    response_model=Page[WebhookPublic],
    summary="The organization's webhook endpoints (clients with webhooks:manage, "
    "organization admin)",
)
async def list_webhooks(
    session: SessionDep, actor: WebhookManager, org: str, page: PageParamsDep
) -> Page[WebhookPublic]:
    items, cursor = await webhooks.list_webhooks(session, actor, org, page)
    return Page(items=items, next_cursor=cursor)


@router.post(
    "/organizations/{org}/webhooks",
    response_model=WebhookWithSecret,
    status_code=status.HTTP_201_CREATED,
    summary="Register a webhook endpoint (clients with webhooks:manage, organization admin); "
    "its whsec_ secret is shown once",
    description="`event_types` are types or patterns (`proposal.*`, `meeting.cancelled`, "
    "`*`). Requests are signed per Standard Webhooks. Targets that resolve to private, "
    "loopback, link-local, multicast or metadata addresses are refused (422 "
    "`webhook_target_refused`) unless WEBHOOK_ALLOW_PRIVATE_TARGETS; https is required "
    "in production.",
)
async def create_webhook(
    session: SessionDep, actor: WebhookManager, org: str, body: WebhookCreate
) -> WebhookWithSecret:
    return await webhooks.create_webhook(session, actor, org, body)


@router.get(
    "/webhooks/{webhook_id}",
    response_model=WebhookPublic,
    summary="One webhook endpoint (clients with webhooks:manage, organization admin)",
)
async def get_webhook(
    session: SessionDep, actor: WebhookManager, webhook_id: uuid.UUID
) -> WebhookPublic:
    return await webhooks.get_webhook(session, actor, webhook_id)


@router.patch(
    "/webhooks/{webhook_id}",
    response_model=WebhookPublic,
    summary="Change an endpoint's URL, event types, description, or switch it on or off "
    "(clients with webhooks:manage, organization admin)",
)
async def update_webhook(
    session: SessionDep, actor: WebhookManager, webhook_id: uuid.UUID, body: WebhookUpdate
) -> WebhookPublic:
    return await webhooks.update_webhook(session, actor, webhook_id, body)


@router.delete(
    "/webhooks/{webhook_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete an endpoint and its delivery log (clients with webhooks:manage, "
    "organization admin)",
)
async def delete_webhook(
    session: SessionDep, actor: WebhookManager, webhook_id: uuid.UUID
) -> Response:
    await webhooks.delete_webhook(session, actor, webhook_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/webhooks/{webhook_id}/secret",
    response_model=WebhookWithSecret,
    summary="Rotate the signing secret (clients with webhooks:manage, organization admin); "
    "both signatures are sent during WEBHOOK_SECRET_GRACE_HOURS",
)
async def rotate_webhook_secret(
    session: SessionDep, actor: WebhookManager, webhook_id: uuid.UUID
) -> WebhookWithSecret:
    return await webhooks.rotate_webhook_secret(session, actor, webhook_id)


@router.post(
    "/webhooks/{webhook_id}/test",
    response_model=DeliveryPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Send a webhook.test event now (clients with webhooks:manage, organization admin)",
)
async def test_webhook(
    session: SessionDep, actor: WebhookManager, webhook_id: uuid.UUID
) -> DeliveryPublic:
    return await webhooks.send_test(session, actor, webhook_id)


@router.get(
    "/webhooks/{webhook_id}/deliveries",
    response_model=Page[DeliveryPublic],
    summary="The endpoint's delivery log, newest first, with every attempt (clients with "
    "webhooks:manage, organization admin)",
)
async def list_deliveries(
    session: SessionDep, actor: WebhookManager, webhook_id: uuid.UUID, page: PageParamsDep
) -> Page[DeliveryPublic]:
    items, cursor = await webhooks.list_deliveries(session, actor, webhook_id, page)
    return Page(items=items, next_cursor=cursor)


@router.post(
    "/webhook-deliveries/{delivery_id}/retry",
    response_model=DeliveryPublic,
    summary="Deliver again now, same webhook-id (clients with webhooks:manage, organization admin)",
)
async def retry_delivery(
    session: SessionDep, actor: WebhookManager, delivery_id: uuid.UUID
) -> DeliveryPublic:
    return await webhooks.retry_delivery(session, actor, delivery_id)
