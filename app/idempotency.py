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
runs again. The token endpoint (`/v1/auth/token`) is excluded: its responses carry
secrets that must not be stored. Registration is not: a phone retrying it gets its first
answer, not a 409 for the email it has just registered.

Crash safety: the response is stored in the request's own transaction, the one that
holds its writes (`app/db.py` hands the session over uncommitted, `DEFERRED_COMMIT`), so
a process that dies at any point leaves either the writes and their stored response, or
neither (and the claim, unfinished, is taken over after `IDEMPOTENCY_LEASE_SECONDS`).
Requests whose writes were undone (an error) store their answer on its own transaction.
Either way the response is stored before it is sent: a retry sent after a full answer
gets the replay, never a 409. A replay, 409 or 422 goes only to a caller whose access
token is still good (a signed-out or suspended person's retry is a 401).
"""

import contextlib
import hashlib
import hmac
import json
import logging
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.config import get_settings
from app.db import (
    DEFERRED_COMMIT,
    DeferredCommit,
    commit_request,
    get_engine,
    get_session,
    get_sessionmaker,
)
from app.deps import get_optional_user
from app.error_codes import ErrorCode
from app.errors import PROBLEM_JSON, TYPE_BASE, AppError, Unauthorized, is_database_unavailable
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


async def _send_problem(
    send: Send,
    status: int,
    code: str,
    title: str,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
) -> None:
    body = json.dumps(
        {"type": TYPE_BASE + code, "title": title, "status": status, "detail": detail, "code": code}
    ).encode()
    extra = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_JSON.encode()),
                (b"content-length", str(len(body)).encode()),
                *extra,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


@contextlib.asynccontextmanager
async def _app_session(scope: Scope) -> AsyncIterator[AsyncSession]:
    """A session as the app's routes get one (honouring a dependency override of
    `get_session`), for a read outside the routes."""
    overrides = getattr(scope.get("app"), "dependency_overrides", {})
    provider = overrides.get(get_session)
    if provider is None:
        async with get_sessionmaker()() as session:
            yield session
        return
    sessions = provider()
    try:
        yield await anext(sessions)
    finally:
        await sessions.aclose()


async def _refused_credentials(scope: Scope, headers: dict[bytes, bytes]) -> AppError | None:
    """Why the caller's access token no longer works (signed out, suspended, deleted),
    checked against the database as the routes check it; None when it still works."""
    _, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
    try:
        async with _app_session(scope) as session:
            await get_optional_user(session, token.strip())
    except Unauthorized as exc:
        return exc
    return None


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
            if caller.startswith("user:"):
                refused = await _refused_credentials(scope, headers)
                if refused is not None:
                    await _send_problem(
                        send,
                        refused.status,
                        refused.code,
                        refused.title,
                        refused.detail,
                        headers=refused.headers,
                    )
                    return
            await self._answer_existing(claimed, fingerprint, send)
            return
        await self._run_and_store(scope, receive, send, body, caller, key)

    async def _run_and_store(
        self, scope: Scope, receive: Receive, send: Send, body: bytes, caller: str, key: str
    ) -> None:
        """Run the claimed request, store its outcome (with its writes when it has any),
        then send its response."""
        sent_body = False

        async def replay_receive() -> Message:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        captured: dict[str, Any] = {"status": 500, "headers": [], "body": b""}
        messages: list[Message] = []

        async def capturing_send(message: Message) -> None:
            # Held back until the response is stored: see the module's docstring.
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                captured["headers"] = message.get("headers", [])
            elif message["type"] == "http.response.body":
                captured["body"] += message.get("body", b"")
            messages.append(message)

        deferred = DeferredCommit()
        scope[DEFERRED_COMMIT] = deferred
        try:
            await self.app(scope, replay_receive, capturing_send)
        except BaseException:
            if deferred.session is not None:
                await _discard(deferred.session)
            await self._complete(caller, key, {"status": 500, "headers": [], "body": b""})
            raise
        if deferred.session is not None:
            try:
                await self._commit_with_response(deferred.session, scope, caller, key, captured)
            except Exception as exc:
                logger.exception("could not commit the idempotent request")
                await self._failed_commit(exc, caller, key, send)
                return
        else:
            await self._complete(caller, key, captured)
        for message in messages:
            await send(message)

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

    async def _failed_commit(self, exc: Exception, caller: str, key: str, send: Send) -> None:
        if is_database_unavailable(exc):
            # The commit may or may not have happened: the claim stays, holding the stored
            # response if it did (a retry replays it), or unfinished if it did not (taken
            # over after the lease).
            await _send_problem(
                send,
                503,
                ErrorCode.DATABASE_UNAVAILABLE,
                "Service unavailable",
                "The service lost its database while answering; retry shortly.",
                headers={"Retry-After": "5"},
            )
            return
        # Refused by the database: nothing was written, the claim goes.
        await self._complete(caller, key, {"status": 500, "headers": [], "body": b""})
        await _send_problem(
            send,
            500,
            ErrorCode.INTERNAL_ERROR,
            "Internal server error",
            "Something went wrong on our side. The request id identifies it in our logs.",
        )

    async def _commit_with_response(
        self,
        session: AsyncSession,
        scope: Scope,
        caller: str,
        key: str,
        captured: dict[str, Any],
    ) -> None:
        """Store the outcome in the request's own transaction, commit, close."""
        try:
            conn = await session.connection()
            await conn.execute(_outcome(caller, key, captured))
            await commit_request(session, scope)
        except BaseException:
            await _discard(session)
            raise
        await session.close()

    async def _complete(self, caller: str, key: str, captured: dict[str, Any]) -> None:
        """Store the outcome on its own transaction (the request wrote nothing)."""
        try:
            async with get_engine().begin() as conn:
                await conn.execute(_outcome(caller, key, captured))
        except Exception:
            # The claim will be taken over after its lease.
            logger.exception("could not store the idempotent response")


def _outcome(caller: str, key: str, captured: dict[str, Any]) -> Any:
    """The statement recording a request's outcome on its claim."""
    status: int = captured["status"]
    where = (_table.c.caller == caller, _table.c.key == key)
    # A crash or a throttled request did not happen: a retry must run again (a replayed
    # 429 would outlive its Retry-After). Nor did one refused for its credentials: signed
    # in again, the client retries for real.
    if status >= 500 or status in (401, 429):
        return delete(_table).where(*where)
    headers = {
        k.decode("latin-1"): v.decode("latin-1")
        for k, v in captured["headers"]
        if k.decode("latin-1").lower() in _STORED_HEADERS
    }
    return (
        update(_table)
        .where(*where)
        .values(response_status=status, response_headers=headers, response_body=captured["body"])
    )


async def _discard(session: AsyncSession) -> None:
    try:
        await session.rollback()
    finally:
        await session.close()
