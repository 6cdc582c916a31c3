"""ASGI middleware: request id, access log, request body limit, last-resort error page;
NUL characters refused before they reach anything.

Written as plain ASGI (not BaseHTTPMiddleware) so it streams and sits inside Starlette's
ServerErrorMiddleware: even a crash answers problem+json with the request id header.
"""

import email.message
import json
import logging
import re
import time
import uuid
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import parse_qsl

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.error_codes import ErrorCode
from app.errors import (
    PROBLEM_JSON,
    TYPE_BASE,
    database_problem,
    invalid_character_response,
)
from app.logs import request_id_var
from app.metrics import observe_request

logger = logging.getLogger("consulta.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


class _BodyTooLarge(HTTPException):
    """An HTTPException so that FastAPI's body parsing lets it through to the 413 handler
    (it turns any other error raised while reading the body into a 400)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body exceeds {limit} bytes.")


def _problem(
    status: int, code: str, title: str, detail: str, request_id: str
) -> tuple[Message, Message]:
    body = json.dumps(
        {"type": TYPE_BASE + code, "title": title, "status": status, "detail": detail, "code": code}
    ).encode()
    start: Message = {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", PROBLEM_JSON.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"x-request-id", request_id.encode()),
        ],
    }
    return start, {"type": "http.response.body", "body": body}


def route_template(scope: Scope) -> str | None:
    """The path template of the route that answered (`/v1/proposals/{proposal_id}`), set
    in the scope by the router; None when no route matched."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else None


class RequestContextMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        path_limits: Mapping[str, int] | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        # Exact paths allowed a different body limit (e.g. plan documents to import).
        self.path_limits = dict(path_limits or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        incoming = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status_holder: dict[str, Any] = {"status": 500, "started": False}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                status_holder["started"] = True
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        declared = headers.get(b"content-length")
        limit = self.path_limits.get(scope.get("path", ""), self.max_body_bytes)
        try:
            if declared is not None and declared.isdigit() and int(declared) > limit:
                raise _BodyTooLarge(limit)
            received = 0

            async def limited_receive() -> Message:
                nonlocal received
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > limit:
                        raise _BodyTooLarge(limit)
                return message

            await self.app(scope, limited_receive, send_with_id)
        except _BodyTooLarge:
            if not status_holder["started"]:
                start, body = _problem(
                    413,
                    ErrorCode.PAYLOAD_TOO_LARGE,
                    "Request body too large",
                    f"The request body exceeds {limit} bytes.",
                    request_id,
                )
                status_holder["status"] = 413
                await send(start)
                await send(body)
        except Exception as exc:
            problem = database_problem(exc, scope["path"])
            if problem is not None:
                # Raised outside the routes (the idempotency or write-limit middleware).
                logger.warning("database problem: %s: %s", type(exc).__name__, exc)
                if not status_holder["started"]:
                    status_holder["status"] = 503
                    problem.headers["x-request-id"] = request_id
                    await problem(scope, receive, send)
                return
            logger.exception("unhandled error")
            if not status_holder["started"]:
                start, body = _problem(
                    500,
                    ErrorCode.INTERNAL_ERROR,
                    "Internal server error",
                    "Something went wrong on our side. The request id identifies it in our logs.",
                    request_id,
                )
                await send(start)
                await send(body)
        finally:
            elapsed = time.perf_counter() - started
            route = route_template(scope)
            observe_request(scope.get("method", ""), route, status_holder["status"], elapsed)
            logger.info(
                "%s %s %s",
                scope.get("method"),
                scope.get("path"),
                status_holder["status"],
                extra={
                    "method": scope.get("method"),
                    "path": scope.get("path"),
                    "route": route,
                    "status": status_holder["status"],
                    "duration_ms": round(elapsed * 1000, 2),
                },
            )
            request_id_var.reset(token)


# --- NUL characters ----------------------------------------------------------------------

Loc = list[str | int]
_MAX_REPORTED = 20


def _query_nul_locs(raw: bytes, where: str) -> list[Loc]:
    """Fields of a query string or urlencoded form whose name or value holds a NUL."""
    if b"%00" not in raw and b"\x00" not in raw:
        return []
    locs: list[Loc] = []
    pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True, errors="replace")
    for name, value in pairs:
        if "\x00" in name:
            locs.append([where])
        elif "\x00" in value:
            locs.append([where, name])
    return locs


def _walk_json(value: Any) -> Iterator[Loc]:
    """Where in a decoded JSON document a string (or an object key) holds a NUL, in
    document order."""
    stack: list[tuple[Loc, Any]] = [(["body"], value)]
    while stack:
        loc, node = stack.pop()
        if isinstance(node, str):
            if "\x00" in node:
                yield loc
        elif isinstance(node, dict):
            if any("\x00" in key for key in node):
                yield loc
            children = [([*loc, key], child) for key, child in node.items() if "\x00" not in key]
            stack.extend(reversed(children))
        elif isinstance(node, list):
            stack.extend(reversed([([*loc, i], child) for i, child in enumerate(node)]))


def _json_nul_locs(body: bytes) -> list[Loc]:
    # A NUL is either a raw 0x00 byte or the escape \u0000; an escaped backslash followed
    # by "u0000" (\\u0000) is not one, so anything that looks suspicious is decoded, as the
    # route will decode it, and the decoded strings are what counts.
    if b"\x00" not in body and b"\\u0000" not in body:
        return []
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        # Undecodable: a raw NUL is refused here; anything else is the route's 422.
        return [["body"]] if b"\x00" in body else []
    return list(_walk_json(document))


def _body_kind(headers: Mapping[bytes, bytes]) -> str | None:
    """The bodies routes decode into strings: JSON ("json") and urlencoded forms ("form").
    Others (multipart…) are not inspected: the database error handler is their safety net."""
    content_type = headers.get(b"content-type")
    if not content_type:
        return None
    message = email.message.Message()
    message["content-type"] = content_type.decode("latin-1")
    if message.get_content_maintype() != "application":
        return None
    subtype = message.get_content_subtype()
    if subtype == "json" or subtype.endswith("+json"):
        return "json"
    if subtype == "x-www-form-urlencoded":
        return "form"
    return None


class RejectNulMiddleware:
    """422 `invalid_character` for a NUL (U+0000) in the path, the query string or a JSON
    or urlencoded body, before any route or database work.

    PostgreSQL cannot store NUL in text or jsonb, so such input would otherwise fail deep
    inside a write with a 500. JSON and form bodies are read whole (they are small and the
    route reads them whole anyway, within the body limit enforced outside) and replayed.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        locs: list[Loc] = [["path"]] if "\x00" in path else []
        locs += _query_nul_locs(scope.get("query_string", b""), "query")
        kind = _body_kind(dict(scope.get("headers") or []))
        if kind is None:
            if locs:
                await self._refuse(scope, receive, send, locs)
            else:
                await self.app(scope, receive, send)
            return

        messages: list[Message] = []
        chunks: list[bytes] = []
        complete = False
        while not complete:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break  # the client went away; let the app find out
            chunks.append(message.get("body", b""))
            complete = not message.get("more_body", False)
        if complete:
            body = b"".join(chunks)
            locs += _json_nul_locs(body) if kind == "json" else _query_nul_locs(body, "body")
            messages = [{"type": "http.request", "body": body, "more_body": False}]
        if locs:
            await self._refuse(scope, receive, send, locs)
            return

        async def replay() -> Message:
            if messages:
                return messages.pop(0)
            return await receive()

        await self.app(scope, replay, send)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, locs: list[Loc]) -> None:
        unique: list[Loc] = []
        for loc in locs:
            if loc not in unique:
                unique.append(loc)
        instance = scope.get("root_path", "") + scope.get("path", "")
        response = invalid_character_response(instance, unique[:_MAX_REPORTED])
        await response(scope, receive, send)
