"""Webhook endpoints: an organization's admins, or its clients with `webhooks:manage`,
register URLs with event type filters; each has a `whsec_` signing secret (shown once;
a rotated one is still used, alongside the new, for a grace period)."""

import fnmatch
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import get_settings
from app.error_codes import ErrorCode
from app.errors import NotFound, Unprocessable
from app.event_types import EventType
from app.models.integrations import (
    ClientActor,
    DeliveryAttempt,
    DeliveryPublic,
    WebhookCreate,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookPublic,
    WebhookSecret,
    WebhookUpdate,
    WebhookWithSecret,
)
from app.pagination import PageParams, SortKey, paginate
from app.security import new_webhook_secret
from app.services.audit.write import record_audit
from app.services.integrations.access import (
    Actor,
    actor_fields,
    integration_organization,
    org_admin_clause,
    require_scope,
)
from app.services.integrations.change_feed import TYPE_PATTERN
from app.services.integrations.ssrf import TargetRefused, check_target

WEBHOOK_NOT_FOUND = "No webhook with this id that you manage."
DELIVERY_NOT_FOUND = "No webhook delivery with this id that you manage."


def _now() -> datetime:
    return datetime.now(UTC)


def matches(patterns: Sequence[str], event_type: str) -> bool:
    """`proposal.*` matches `proposal.created`; `*` matches everything."""
    return any(fnmatch.fnmatchcase(event_type, p) for p in patterns)


def _check_types(types: Sequence[str]) -> list[str]:
    bad = [t for t in types if not TYPE_PATTERN.match(t)]
    if bad:
        raise Unprocessable(
            f"Not event types or patterns: {', '.join(bad)} (use e.g. proposal.* or "
            "meeting.cancelled).",
            code=ErrorCode.INVALID_EVENT_TYPES,
            errors=[
                {
                    "loc": ["body", "event_types"],
                    "msg": "invalid pattern",
                    "code": ErrorCode.INVALID_EVENT_TYPES,
                }
            ],
        )
    return sorted(set(types))


async def _check_url(url: str) -> str:
    try:
        await check_target(url)
    except TargetRefused as exc:
        raise Unprocessable(
            str(exc),
            code=ErrorCode.WEBHOOK_TARGET_REFUSED,
            errors=[
                {"loc": ["body", "url"], "msg": str(exc), "code": ErrorCode.WEBHOOK_TARGET_REFUSED}
            ],
        ) from exc
    return url


def webhook_public(endpoint: WebhookEndpoint) -> WebhookPublic:
    return WebhookPublic.model_validate(endpoint, from_attributes=True)


def _audit(
    session: AsyncSession, action: EventType, actor: Actor, endpoint: WebhookEndpoint, **data: Any
) -> None:
    ids = actor_fields(actor)
    record_audit(
        session,
        action,
        organization_id=endpoint.organization_id,
        actor_id=ids["actor_id"],
        actor_client_id=ids["actor_client_id"],
        target_type="webhook",
        target_id=endpoint.id,
        data=data or None,
    )


async def create_webhook(
    session: AsyncSession, actor: Actor, slug: str, data: WebhookCreate
) -> WebhookWithSecret:
    require_scope(actor, "webhooks:manage")
    org = await integration_organization(session, actor, slug)
    endpoint = WebhookEndpoint(
        organization_id=org.id,
        url=await _check_url(data.url),
        event_types=_check_types(data.event_types),
        description=data.description,
        created_by_id=None if isinstance(actor, ClientActor) else actor.id,
    )
    session.add(endpoint)
    await session.flush()
    secret = new_webhook_secret()
    session.add(WebhookSecret(endpoint_id=endpoint.id, secret=secret))
    _audit(session, EventType.WEBHOOK_CREATED, actor, endpoint, event_types=endpoint.event_types)
    await session.flush()
    await session.refresh(endpoint)
    return WebhookWithSecret(**webhook_public(endpoint).model_dump(), secret=secret)


async def list_webhooks(
    session: AsyncSession, actor: Actor, slug: str, params: PageParams
) -> tuple[list[WebhookPublic], str | None]:
    require_scope(actor, "webhooks:manage")
    org = await integration_organization(session, actor, slug)
    keys = [
        SortKey(WebhookEndpoint.created_at, kind=datetime),
        SortKey(WebhookEndpoint.id, kind=uuid.UUID),
    ]
    rows, cursor = await paginate(
        session,
        select(WebhookEndpoint).where(col(WebhookEndpoint.organization_id) == org.id),
        keys,
        params,
        key_of=lambda e: (e.created_at, e.id),
    )
    return [webhook_public(e) for e in rows], cursor


async def managed_webhook(
    session: AsyncSession, actor: Actor, webhook_id: uuid.UUID, *, lock: bool = False
) -> WebhookEndpoint:
    require_scope(actor, "webhooks:manage")
    stmt = select(WebhookEndpoint).where(
        col(WebhookEndpoint.id) == webhook_id,
        org_admin_clause(actor, WebhookEndpoint.organization_id),
    )
    if lock:
        stmt = stmt.with_for_update()
    endpoint = (await session.exec(stmt)).one_or_none()
    if endpoint is None:
        raise NotFound(WEBHOOK_NOT_FOUND)
    return endpoint


async def get_webhook(session: AsyncSession, actor: Actor, webhook_id: uuid.UUID) -> WebhookPublic:
    return webhook_public(await managed_webhook(session, actor, webhook_id))


async def update_webhook(
    session: AsyncSession, actor: Actor, webhook_id: uuid.UUID, data: WebhookUpdate
) -> WebhookPublic:
    endpoint = await managed_webhook(session, actor, webhook_id, lock=True)
    fields = data.model_dump(exclude_unset=True)
    if data.url is not None:
        endpoint.url = await _check_url(data.url)
    if data.event_types is not None:
        endpoint.event_types = _check_types(data.event_types)
    if "description" in fields:
        endpoint.description = data.description
    if data.active is not None:
        endpoint.active = data.active
        if data.active:
            endpoint.disabled_reason = None
            endpoint.failing_since = None
    session.add(endpoint)
    _audit(session, EventType.WEBHOOK_UPDATED, actor, endpoint, fields=sorted(fields))
    await session.flush()
    await session.refresh(endpoint)
    return webhook_public(endpoint)


async def delete_webhook(session: AsyncSession, actor: Actor, webhook_id: uuid.UUID) -> None:
    endpoint = await managed_webhook(session, actor, webhook_id, lock=True)
    _audit(session, EventType.WEBHOOK_DELETED, actor, endpoint)
    await session.flush()
    await session.exec(delete(WebhookEndpoint).where(col(WebhookEndpoint.id) == endpoint.id))


async def rotate_webhook_secret(
    session: AsyncSession, actor: Actor, webhook_id: uuid.UUID
) -> WebhookWithSecret:
    """A new secret; deliveries are signed with both until the grace period ends."""
    endpoint = await managed_webhook(session, actor, webhook_id, lock=True)
    grace_end = _now() + timedelta(hours=get_settings().webhook_secret_grace_hours)
    await session.exec(
        update(WebhookSecret)
        .where(
            col(WebhookSecret.endpoint_id) == endpoint.id,
            or_(col(WebhookSecret.expires_at).is_(None), col(WebhookSecret.expires_at) > grace_end),
        )
        .values(expires_at=grace_end)
    )
    secret = new_webhook_secret()
    session.add(WebhookSecret(endpoint_id=endpoint.id, secret=secret))
    _audit(session, EventType.WEBHOOK_SECRET_ROTATED, actor, endpoint)
    await session.flush()
    return WebhookWithSecret(**webhook_public(endpoint).model_dump(), secret=secret)


def test_body(endpoint: WebhookEndpoint, event_id: uuid.UUID, now: datetime) -> dict[str, Any]:
    return {
        "type": "webhook.test",
        "timestamp": now.isoformat(),
        "data": {
            "id": str(event_id),
            "type": "webhook.test",
            "occurred_at": now.isoformat(),
            "subject_type": "webhook",
            "subject_id": str(endpoint.id),
            "data": None,
            "deleted": False,
        },
    }


async def send_test(session: AsyncSession, actor: Actor, webhook_id: uuid.UUID) -> DeliveryPublic:
    """Queue a `webhook.test` delivery, due now (the worker sends it)."""
    endpoint = await managed_webhook(session, actor, webhook_id)
    now = _now()
    event_id = uuid.uuid4()
    delivery = WebhookDelivery(
        endpoint_id=endpoint.id,
        organization_id=endpoint.organization_id,
        event_id=event_id,
        type="webhook.test",
        body=test_body(endpoint, event_id, now),
        next_attempt_at=now,
    )
    session.add(delivery)
    await session.flush()
    await session.refresh(delivery)
    return delivery_public(delivery)


def delivery_public(d: WebhookDelivery) -> DeliveryPublic:
    return DeliveryPublic(
        id=d.id,
        webhook_id=d.endpoint_id,
        event_id=d.event_id,
        type=d.type,
        status=d.status,
        attempts=d.attempts,
        last_status_code=d.last_status_code,
        last_duration_ms=d.last_duration_ms,
        last_error=d.last_error,
        next_attempt_at=d.next_attempt_at,
        created_at=d.created_at,
        log=[DeliveryAttempt.model_validate(a) for a in d.log],
    )


async def list_deliveries(
    session: AsyncSession, actor: Actor, webhook_id: uuid.UUID, params: PageParams
) -> tuple[list[DeliveryPublic], str | None]:
    """Newest first."""
    endpoint = await managed_webhook(session, actor, webhook_id)
    keys = [
        SortKey(WebhookDelivery.created_at, descending=True, kind=datetime),
        SortKey(WebhookDelivery.id, descending=True, kind=uuid.UUID),
    ]
    rows, cursor = await paginate(
        session,
        select(WebhookDelivery).where(col(WebhookDelivery.endpoint_id) == endpoint.id),
        keys,
        params,
        key_of=lambda d: (d.created_at, d.id),
    )
    return [delivery_public(d) for d in rows], cursor


async def retry_delivery(
    session: AsyncSession, actor: Actor, delivery_id: uuid.UUID
) -> DeliveryPublic:
    """Deliver again now (whatever its status): the same message, the same webhook-id."""
    require_scope(actor, "webhooks:manage")
    delivery = (
        await session.exec(
            select(WebhookDelivery)
            .where(
                col(WebhookDelivery.id) == delivery_id,
                org_admin_clause(actor, WebhookDelivery.organization_id),
            )
            .with_for_update()
        )
    ).one_or_none()
    if delivery is None:
        raise NotFound(DELIVERY_NOT_FOUND)
    delivery.status = "retrying" if delivery.attempts else "pending"
    delivery.next_attempt_at = _now()
    delivery.locked_until = None
    session.add(delivery)
    await session.flush()
    await session.refresh(delivery)
    return delivery_public(delivery)
