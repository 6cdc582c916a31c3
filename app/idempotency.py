"""Idempotency-Key for POST requests (ASGI middleware).

Mobile clients on flaky networks retry. A `POST` sent with `Idempotency-Key: <key>`:

- the first time, runs normally; its response (any status below 500) is stored for
  `IDEMPOTENCY_HOURS` (24 h by default) under (caller, key);
- again with the same key and the same request, replays the stored response with
  `Idempotent-Replayed: true` and runs nothing;
- again with the same key and a different request (method, path, query or body): 422
  `idempotency_key_reused`;
- while the first is still running: 409 `idempotency_request_in_progress`.

The caller is the signed-in user (from a valid bearer token) or, for anonymous requests,
the client address. The record is claimed on its own transaction before the request runs
(a unique index decides between concurrent duplicates) and completed after it. A 5xx or a
429 or a 401 (credentials refused: sign in and retry) releases the key so that a retry
runs again. A process that dies between the request's
commit and storing its response leaves a claim that is taken over after
`IDEMPOTENCY_LEASE_SECONDS`. The token endpoint (`/v1/auth/token`) is excluded: its
responses carry secrets that must not be stored. Registration is not: a phone retrying
it gets its first answer, not a 409 for the email it has just registered.
"""

import hashlib
import hmac
import json
import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.config import get_settings
from app.db import get_engine
from app.error_codes import ErrorCode
from app.errors import PROBLEM_JSON, TYPE_BASE
from app.models.idempotency import IdempotencyRecord
from app.security import InvalidToken, decode_access_token

logger = logging.getLogger(__name__)

HEADER = b"idempotency-key"
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
_STORED_HEADERS = {"content-type", "location", "etag"}
# The token endpoint answers with secrets (tokens) that must not be stored.
IDEMPOTENCY_EXCLUDED_PREFIXES = ("/v1/auth/token",)
_table = IdempotencyRecord.__table__  # type: ignore[attr-defined]


def _caller(scope: Scope, headers: dict[bytes, bytes]) -> str:
    authorization = headers.get(b"authorization", b"").decode("latin-1")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token:
        try:
            return f"user:{decode_access_token(token.strip()).user_id}"
        except InvalidToken:
            pass
    client = scope.get("client")
    return f"address:{client[0] if client else 'unknown'}"


def _fingerprint(scope: Scope, body: bytes) -> str:
    # Keyed: bodies may hold passwords (registration), and a plain hash of one stored for
    # a day could be brute-forced from a copy of the database.
    digest = hmac.new(get_settings().secret_key.encode(), digestmod=hashlib.sha256)
    for part in (scope["method"].encode(), scope["path"].encode(), scope.get("query_string", b"")):
        digest.update(part + b"\0")
    digest.update(body)
    return digest.hexdigest()


async def _send_problem(send: Send, status: int, code: str, title: str, detail: str) -> None:
    body = json.dumps(
        {"type": TYPE_BASE + code, "title": title, "status": status, "detail": detail, "code": code}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_JSON.encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        raw_key = headers.get(HEADER)
        if raw_key is None or scope["path"].startswith(IDEMPOTENCY_EXCLUDED_PREFIXES):
            await self.app(scope, receive, send)
            return
        key = raw_key.decode("latin-1")
        if not _KEY.match(key):
            await _send_problem(
                send,
                422,
                ErrorCode.INVALID_IDEMPOTENCY_KEY,
                "Invalid Idempotency-Key",
                "Idempotency-Key must be 1 to 255 visible ASCII characters.",
            )
            return

        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        caller = _caller(scope, headers)
        fingerprint = _fingerprint(scope, body)

        claimed = await self._claim(caller, key, fingerprint)
        if isinstance(claimed, IdempotencyRecord):
            await self._answer_existing(claimed, fingerprint, send)
            return

        sent_body = False

        async def replay_receive() -> Message:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        captured: dict[str, Any] = {"status": 500, "headers": [], "body": b""}

        async def capturing_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                captured["headers"] = message.get("headers", [])
            elif message["type"] == "http.response.body":
                captured["body"] += message.get("body", b"")
            await send(message)

        try:
            await self.app(scope, replay_receive, capturing_send)
        finally:
            await self._complete(caller, key, captured)

    async def _claim(self, caller: str, key: str, fingerprint: str) -> IdempotencyRecord | None:
        """Claim (caller, key) for this request; None when claimed, else the existing record."""
        settings = get_settings()
        now = datetime.now(UTC)
        lease = timedelta(seconds=settings.idempotency_lease_seconds)
        async with get_engine().begin() as conn:
            inserted = await conn.scalar(
                insert(_table)
                .values(
                    caller=caller,
                    key=key,
                    fingerprint=fingerprint,
                    expires_at=now + timedelta(hours=settings.idempotency_hours),
                )
                .on_conflict_do_nothing(index_elements=["caller", "key"])
                .returning(_table.c.id)
            )
            if inserted is not None:
                return None
            row = (
                (
                    await conn.execute(
                        select(_table)
                        .where(_table.c.caller == caller, _table.c.key == key)
                        .with_for_update()
                    )
                )
                .mappings()
                .one()
            )
            expired = row["expires_at"] <= now
            abandoned = row["response_status"] is None and row["created_at"] <= now - lease
            if expired or (abandoned and row["fingerprint"] == fingerprint):
                await conn.execute(
                    update(_table)
                    .where(_table.c.id == row["id"])
                    .values(
                        fingerprint=fingerprint,
                        response_status=None,
                        response_headers={},
                        response_body=None,
                        created_at=now,
                        expires_at=now + timedelta(hours=settings.idempotency_hours),
                    )
                )
                return None
            return IdempotencyRecord(**dict(row))

    async def _answer_existing(
        self, record: IdempotencyRecord, fingerprint: str, send: Send
    ) -> None:
        if record.fingerprint != fingerprint:
            await _send_problem(
                send,
                422,
                ErrorCode.IDEMPOTENCY_KEY_REUSED,
                "Idempotency-Key reused",
                "This Idempotency-Key was used for a different request; use a new key.",
            )
            return
        if record.response_status is None:
            await _send_problem(
                send,
                409,
                ErrorCode.IDEMPOTENCY_REQUEST_IN_PROGRESS,
                "Request in progress",
                "A request with this Idempotency-Key is still being processed; retry shortly.",
            )
            return
        stored = [(k.encode(), v.encode()) for k, v in record.response_headers.items()]
        response_body = record.response_body or b""
        await send(
            {
                "type": "http.response.start",
                "status": record.response_status,
                "headers": [
                    *stored,
                    (b"content-length", str(len(response_body)).encode()),
                    (b"idempotent-replayed", b"true"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": response_body})

    async def _complete(self, caller: str, key: str, captured: dict[str, Any]) -> None:
        status: int = captured["status"]
        where = (_table.c.caller == caller, _table.c.key == key)
        try:
            async with get_engine().begin() as conn:
                # A crash or a throttled request did not happen: a retry must run again
                # (a replayed 429 would outlive its Retry-After). Nor did one refused
                # for its credentials: signed in again, the client retries for real.
                if status >= 500 or status in (401, 429):
                    await conn.execute(delete(_table).where(*where))
                    return
                headers = {
                    k.decode("latin-1"): v.decode("latin-1")
                    for k, v in captured["headers"]
                    if k.decode("latin-1").lower() in _STORED_HEADERS
                }
                await conn.execute(
                    update(_table)
                    .where(*where)
                    .values(
                        response_status=status,
                        response_headers=headers,
                        response_body=captured["body"],
                    )
                )
        except Exception:
            # The response went out already; the claim will be taken over after its lease.
            logger.exception("could not store the idempotent response")
