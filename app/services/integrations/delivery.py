"""Webhook delivery, run by the worker (`consulta worker`, or inside `consulta serve` in
development). Two steps, each its own short transaction:

1. `dispatch`: the transactional outbox. The dispatcher reads the event spine after its
   position, with the change feed's horizon (only events of finished transactions, in
   (xid, seq) order), creates one delivery per matching endpoint and moves its position,
   in one transaction. An event committed is an event delivered; a rolled-back one was
   never visible. One dispatcher at a time (the position row is locked, SKIP LOCKED).
2. `deliver_due`: workers claim due deliveries with `FOR UPDATE SKIP LOCKED` and a
   lease (`locked_until`), send them, and record the outcome. A killed worker's claims
   are due again when the lease runs out.
"""

import asyncio
import json
import logging
import random
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from sqlalchemy import insert, text
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from standardwebhooks import Webhook

from app.config import get_settings
from app.db import after_commit
from app.event_types import EventType
from app.events import record_event
from app.mail import send_mail
from app.models.accounts import User
from app.models.integrations import WebhookDelivery, WebhookEndpoint, WebhookSecret
from app.models.organizations import OrganizationRole
from app.services.integrations.change_feed import Position, build_items, read_events
from app.services.integrations.ssrf import GuardedResolver, TargetRefused, check_target
from app.services.integrations.webhooks import matches

logger = logging.getLogger("consulta.webhooks")

# Waits before each retry (the first attempt is immediate): over a day in all.
RETRY_DELAYS = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
MAX_RESPONSE_BYTES = 4096
_DELIVERIES = WebhookDelivery.__table__  # type: ignore[attr-defined]
DISPATCH_BATCH = 500


def _now() -> datetime:
    return datetime.now(UTC)


def next_delay(failed_attempts: int) -> timedelta | None:
    """The wait before the next attempt after `failed_attempts` failures, with ±10 %
    jitter; None when the retries are used up."""
    if failed_attempts > len(RETRY_DELAYS):
        return None
    base = RETRY_DELAYS[failed_attempts - 1]
    return base * random.uniform(0.9, 1.1)  # noqa: S311 - jitter, not a secret


# --- 1. the outbox ---------------------------------------------------------------------


def message_body(item: Any, now: datetime) -> dict[str, Any]:
    data: dict[str, Any] = item.model_dump(mode="json")
    return {"type": item.type, "timestamp": now.isoformat(), "data": data}


async def dispatch(session: AsyncSession, batch: int = DISPATCH_BATCH) -> int:
    """Turn the next committed events into deliveries; the number of events read (0
    when there were none, or another dispatcher is at work). The caller commits."""
    conn = await session.connection()
    await conn.execute(
        text("INSERT INTO webhook_outbox (id) VALUES (1) ON CONFLICT (id) DO NOTHING")
    )
    row = (
        await conn.execute(
            text(
                "SELECT last_xid, last_seq FROM webhook_outbox WHERE id = 1 FOR UPDATE SKIP LOCKED"
            )
        )
    ).first()
    if row is None:
        return 0
    rows = await read_events(session, Position(row[0], row[1], _now()), batch, organization_id=None)
    if not rows:
        return 0
    endpoints = (
        await session.exec(
            select(WebhookEndpoint).where(
                col(WebhookEndpoint.organization_id).in_({r.organization_id for r in rows}),
                col(WebhookEndpoint.active).is_(True),
            )
        )
    ).all()
    if endpoints:
        now = _now()
        deliveries = []
        for event, item in await build_items(session, rows):
            body = message_body(item, now)
            deliveries += [
                {
                    "endpoint_id": endpoint.id,
                    "organization_id": endpoint.organization_id,
                    "event_id": event.id,
                    "type": event.type,
                    "body": body,
                    "next_attempt_at": now,
                }
                for endpoint in endpoints
                if endpoint.organization_id == event.organization_id
                and matches(endpoint.event_types, event.type)
            ]
        if deliveries:
            await conn.execute(insert(_DELIVERIES), deliveries)
    last = rows[-1]
    await conn.execute(
        text("UPDATE webhook_outbox SET last_xid = :x, last_seq = :s WHERE id = 1"),
        {"x": int(last.xid), "s": int(last.seq)},
    )
    return len(rows)


# --- 2. sending ------------------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    delivery_id: uuid.UUID
    endpoint_id: uuid.UUID
    url: str
    body: dict[str, Any]
    secrets: tuple[str, ...]
    attempts: int


CLAIM_SQL = """
UPDATE webhook_deliveries d SET locked_until = now() + make_interval(secs => :lease)
FROM webhook_endpoints e
WHERE d.id IN (
    SELECT d2.id FROM webhook_deliveries d2
    JOIN webhook_endpoints e2 ON e2.id = d2.endpoint_id AND e2.active
    WHERE d2.status IN ('pending', 'retrying') AND d2.next_attempt_at <= now()
      AND (d2.locked_until IS NULL OR d2.locked_until < now())
    ORDER BY d2.next_attempt_at
    LIMIT :limit
    FOR UPDATE OF d2 SKIP LOCKED
) AND e.id = d.endpoint_id
RETURNING d.id, d.endpoint_id, e.url, d.body, d.attempts
"""


async def claim(session: AsyncSession, limit: int) -> list[Claimed]:
    """Claim up to `limit` due deliveries for this worker (the caller commits)."""
    conn = await session.connection()
    rows = (
        await conn.execute(
            text(CLAIM_SQL), {"lease": get_settings().worker_lease_seconds, "limit": limit}
        )
    ).all()
    if not rows:
        return []
    now = _now()
    secrets: dict[uuid.UUID, list[str]] = {}
    for secret in (
        await session.exec(
            select(WebhookSecret)
            .where(col(WebhookSecret.endpoint_id).in_({r.endpoint_id for r in rows}))
            .order_by(col(WebhookSecret.created_at).desc())
        )
    ).all():
        if secret.expires_at is None or secret.expires_at > now:
            secrets.setdefault(secret.endpoint_id, []).append(secret.secret)
    return [
        Claimed(
            r.id, r.endpoint_id, r.url, r.body, tuple(secrets.get(r.endpoint_id, ())), r.attempts
        )
        for r in rows
    ]


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    duration_ms: int
    error: str | None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def signed_headers(claimed: Claimed, payload: str, now: datetime) -> dict[str, str]:
    """Standard Webhooks headers; one signature per live secret (both during a
    rotation's grace period). `webhook-id` is the delivery's: stable across retries."""
    msg_id = f"msg_{claimed.delivery_id.hex}"
    signatures = " ".join(Webhook(s).sign(msg_id, now, payload) for s in claimed.secrets)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signatures,
        "content-type": "application/json",
        "user-agent": "Consulta-Webhooks/1",
    }


def http_client(connections: int) -> aiohttp.ClientSession:
    """The worker's HTTP client (aiohttp: a small fraction of httpx's CPU cost per request,
    which is what bounds a worker's fan-out), with the guarded resolver."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=connections, resolver=GuardedResolver()),
        timeout=aiohttp.ClientTimeout(total=get_settings().webhook_timeout_seconds),
        auto_decompress=False,
    )


async def send(client: aiohttp.ClientSession, claimed: Claimed) -> Outcome:
    """One attempt: SSRF check (again: DNS changes), POST, at most 4 KiB of the answer
    read, no redirects followed."""
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    payload = json.dumps(claimed.body, separators=(",", ":"), ensure_ascii=False)
    try:
        await check_target(claimed.url)
        headers = signed_headers(claimed, payload, _now())
        async with client.post(
            claimed.url, data=payload.encode(), headers=headers, allow_redirects=False
        ) as response:
            await response.content.read(MAX_RESPONSE_BYTES)
            return Outcome(response.status, elapsed(), None)
    except TargetRefused as exc:
        return Outcome(None, elapsed(), f"refused: {exc}"[:200])
    except TimeoutError:
        return Outcome(None, elapsed(), "timeout")
    except (aiohttp.ClientError, OSError) as exc:
        return Outcome(None, elapsed(), f"{type(exc).__name__}: {exc}"[:200])


SUCCESS_SQL = """
UPDATE webhook_deliveries d
SET status = 'succeeded', attempts = d.attempts + 1, last_status_code = v.code,
    last_duration_ms = v.ms, last_error = NULL, last_attempt_at = now(),
    next_attempt_at = NULL, locked_until = NULL,
    log = d.log || jsonb_build_array(jsonb_build_object(
        'at', now(), 'status_code', v.code, 'duration_ms', v.ms, 'error', NULL))
FROM (SELECT unnest(CAST(:ids AS uuid[])) AS id, unnest(CAST(:codes AS int[])) AS code,
             unnest(CAST(:ms AS int[])) AS ms) AS v
WHERE d.id = v.id
"""


async def record_outcomes(
    session: AsyncSession, claims: Sequence[Claimed], outcomes: Sequence[Outcome]
) -> None:
    """Store a batch's outcomes: the successes in two statements, each failure on its
    own (the rare path: retries, disabling). The caller commits."""
    done = [(c, o) for c, o in zip(claims, outcomes, strict=True) if o.succeeded]
    if done:
        conn = await session.connection()
        await conn.execute(
            text(SUCCESS_SQL),
            {
                "ids": [c.delivery_id for c, _ in done],
                "codes": [o.status_code for _, o in done],
                "ms": [o.duration_ms for _, o in done],
            },
        )
        await conn.execute(
            text(
                "UPDATE webhook_endpoints SET failing_since = NULL "
                "WHERE id = ANY(CAST(:ids AS uuid[])) AND failing_since IS NOT NULL"
            ),
            {"ids": list({c.endpoint_id for c, _ in done})},
        )
    for claimed, outcome in zip(claims, outcomes, strict=True):
        if not outcome.succeeded:
            await record_outcome(session, claimed, outcome)


async def record_outcome(session: AsyncSession, claimed: Claimed, outcome: Outcome) -> None:
    """Store an attempt's outcome: success, a retry scheduled, or failure; a 410 and an
    endpoint failing for days disable the endpoint. The caller commits."""
    delivery = await session.get(WebhookDelivery, claimed.delivery_id, with_for_update=True)
    endpoint = await session.get(WebhookEndpoint, claimed.endpoint_id, with_for_update=True)
    if delivery is None or endpoint is None:
        return  # the endpoint was deleted meanwhile
    now = _now()
    delivery.attempts += 1
    delivery.last_status_code = outcome.status_code
    delivery.last_duration_ms = outcome.duration_ms
    delivery.last_error = outcome.error
    delivery.last_attempt_at = now
    delivery.locked_until = None
    delivery.log = [
        *delivery.log,
        {
            "at": now.isoformat(),
            "status_code": outcome.status_code,
            "duration_ms": outcome.duration_ms,
            "error": outcome.error,
        },
    ]
    if outcome.succeeded:
        delivery.status, delivery.next_attempt_at = "succeeded", None
        endpoint.failing_since = None
    else:
        delay = next_delay(delivery.attempts)
        if delay is None or outcome.status_code == 410:
            delivery.status, delivery.next_attempt_at = "failed", None
        else:
            delivery.status, delivery.next_attempt_at = "retrying", now + delay
        endpoint.failing_since = endpoint.failing_since or now
        limit = timedelta(hours=get_settings().webhook_disable_after_hours)
        if outcome.status_code == 410:
            await disable(session, endpoint, "gone")
        elif endpoint.active and now - endpoint.failing_since >= limit:
            await disable(session, endpoint, "failing")
    session.add(delivery)
    session.add(endpoint)


async def disable(session: AsyncSession, endpoint: WebhookEndpoint, reason: str) -> None:
    """Switch an endpoint off (`webhook.disabled` event) and tell the admins by email."""
    if not endpoint.active:
        return
    endpoint.active = False
    endpoint.disabled_reason = reason
    record_event(
        session,
        EventType.WEBHOOK_DISABLED,
        subject_type="webhook",
        subject_id=endpoint.id,
        actor_id=None,
        organization_id=endpoint.organization_id,
        payload={"reason": reason},
    )
    emails = (
        await session.exec(
            select(User.email)
            .join(OrganizationRole, col(OrganizationRole.user_id) == User.id)
            .where(
                col(OrganizationRole.organization_id) == endpoint.organization_id,
                col(OrganizationRole.role) == "admin",
                col(User.deleted_at).is_(None),
            )
        )
    ).all()
    why = (
        "it answered 410 Gone"
        if reason == "gone"
        else "every delivery to it has failed for "
        f"{get_settings().webhook_disable_after_hours // 24} days"
    )
    body = (
        f"Consulta has disabled the webhook endpoint {endpoint.url} because {why}.\n\n"
        "Deliveries are kept; fix the receiver, then turn the endpoint back on with "
        f'PATCH /v1/webhooks/{endpoint.id} {{"active": true}}.\n'
    )
    for email in emails:
        if email:
            _mail(session, email, body)


def _mail(session: AsyncSession, to: str, body: str) -> None:
    async def _send() -> None:
        await send_mail(to, "Consulta: a webhook endpoint was disabled", body)

    after_commit(session, _send)


async def send_all(client: aiohttp.ClientSession, claims: Sequence[Claimed]) -> list[Outcome]:
    return list(await asyncio.gather(*(send(client, c) for c in claims)))
