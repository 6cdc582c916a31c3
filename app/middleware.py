"""ASGI middleware: request id, access log, request body limit, last-resort error page.

Written as plain ASGI (not BaseHTTPMiddleware) so it streams and sits inside Starlette's
ServerErrorMiddleware: even a crash answers problem+json with the request id header.
"""

import json
import logging
import re
import time
import uuid
from collections.abc import Mapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import PROBLEM_JSON, TYPE_BASE
from app.logs import request_id_var

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
                    "payload_too_large",
                    "Request body too large",
                    f"The request body exceeds {limit} bytes.",
                    request_id,
                )
                status_holder["status"] = 413
                await send(start)
                await send(body)
        except Exception:
            logger.exception("unhandled error")
            if not status_holder["started"]:
                start, body = _problem(
                    500,
                    "internal_error",
                    "Internal server error",
                    "Something went wrong on our side. The request id identifies it in our logs.",
                    request_id,
                )
                await send(start)
                await send(body)
        finally:
            logger.info(
                "%s %s %s",
                scope.get("method"),
                scope.get("path"),
                status_holder["status"],
                extra={
                    "method": scope.get("method"),
                    "path": scope.get("path"),
                    "status": status_holder["status"],
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            request_id_var.reset(token)
