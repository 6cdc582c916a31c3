"""HTTP conventions applied to every answer, in one pure ASGI middleware:

- **HEAD on every GET.** FastAPI's GET routes do not answer HEAD: a HEAD request runs
  as the GET and its body is dropped (its headers, `Content-Length` included, stay). A
  streamed answer (server-sent events, CSV exports) is cut after its headers.
- **Conditional GETs** (`app/etag.py` has the validator): a GET answered 200 with a body
  of known length (not a stream) gets `ETag`, a strong hash of the representation
  (`"<version>.<hash>"` for editable documents, whose version `If-Match` compares). A
  GET whose `If-None-Match` lists it answers 304 with no body and the same `ETag`,
  `Cache-Control`, `Vary` and rate-limit headers.
- **Caching.** `Cache-Control` on every GET that does not set its own: `private,
  no-cache` when the request is authenticated (the body depends on the caller),
  `public, max-age=PUBLIC_MAX_AGE_SECONDS` for anonymous public data (iCalendar feeds
  without a personal token, open data), `no-cache` otherwise (store, but revalidate: the
  304 is cheap). `Vary: Authorization, Accept-Language`. `Last-Modified` from the
  document's `updated_at` where it has one (informational: counters change without it,
  so `If-Modified-Since` is not evaluated; revalidate with `If-None-Match`).
- **`Location` on every 201** (`app/locations.py` names the created resource's address).
- **One date-time form** in every JSON answer (`app/datetimes.py`): UTC, `Z`.
- **Problems in Italian** with `Accept-Language: it` (`app/problems_it.py`), and
  `Content-Language` on every problem.

JSON and other bodies of known length are buffered (they are complete in memory already:
Starlette renders them whole); streams (no `Content-Length`, or `text/event-stream`) pass
through untouched.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import format_datetime
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.config import get_settings
from app.datetimes import normalize_json_datetimes, parse_datetime
from app.etag import none_match, representation_etag
from app.locations import created_location
from app.problems_it import negotiate_language, translate_problem

logger = logging.getLogger(__name__)

Headers = list[tuple[bytes, bytes]]
# Kept on a 304: what the 200 would have carried, minus its body's description.
_DROPPED_ON_304 = {b"content-length", b"content-type", b"content-disposition"}
_PUBLIC_TYPES = (b"text/calendar",)
_PUBLIC_PATH_PARTS = ("/open-data",)
_PERSONAL_QUERY = frozenset({"token", "ticket", "api_key"})


def _header(headers: Headers, name: bytes) -> bytes | None:
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


def _set_header(headers: Headers, name: bytes, value: bytes) -> None:
    headers[:] = [(k, v) for k, v in headers if k.lower() != name]
    headers.append((name, value))


def _add_vary(headers: Headers, *names: str) -> None:
    """Merge `names` into the `Vary` header (CORS may have set `Origin`)."""
    present = [v.strip() for v in (_header(headers, b"vary") or b"").decode().split(",")]
    values = [v for v in present if v]
    values += [n for n in names if n.lower() not in {v.lower() for v in values}]
    _set_header(headers, b"vary", ", ".join(values).encode())


def _is_json(content_type: bytes) -> bool:
    media = content_type.split(b";")[0].strip().lower()
    return media == b"application/json" or media.endswith(b"+json")


@dataclass
class _Request:
    """What the middleware needs to know about the request."""

    method: str
    head: bool
    path: str
    query: bytes
    authenticated: bool
    if_none_match: str | None
    language: str

    @classmethod
    def of(cls, scope: Scope) -> _Request:
        headers = dict(scope.get("headers") or [])
        inm = headers.get(b"if-none-match")
        return cls(
            method=scope["method"],
            head=scope["method"] == "HEAD",
            path=scope.get("path", ""),
            query=scope.get("query_string", b""),
            authenticated=bool(headers.get(b"authorization")),
            if_none_match=inm.decode("latin-1") if inm is not None else None,
            language=negotiate_language(headers.get(b"accept-language", b"").decode("latin-1")),
        )

    @property
    def is_get(self) -> bool:
        return self.method in ("GET", "HEAD")


def cache_control(request: _Request, content_type: bytes) -> bytes:
    """The `Cache-Control` of a GET answer that did not set its own."""
    if request.authenticated:
        return b"private, no-cache"
    # A personal calendar feed's token, a live stream's ticket, an Open311 api_key.
    keys = {key for key, _ in parse_qsl(request.query.decode("latin-1"), keep_blank_values=True)}
    personal = bool(keys & _PERSONAL_QUERY)
    public = content_type.split(b";")[0].strip().lower() in _PUBLIC_TYPES or any(
        part in request.path for part in _PUBLIC_PATH_PARTS
    )
    if public and not personal:
        return f"public, max-age={get_settings().public_max_age_seconds}".encode()
    if personal:
        return b"private, no-cache"
    return b"no-cache"


def _last_modified(body: bytes) -> bytes | None:
    """The HTTP date of a JSON document's top-level `updated_at`, if it has one."""
    if not body.startswith(b"{") or b'"updated_at"' not in body or len(body) > 256 * 1024:
        return None
    try:
        document = json.loads(body)
    except ValueError:
        return None
    value = document.get("updated_at") if isinstance(document, dict) else None
    moment = parse_datetime(value) if isinstance(value, str) else None
    if moment is None:
        return None
    try:
        return format_datetime(moment.astimezone(UTC), usegmt=True).encode()
    except (OverflowError, ValueError):
        return None


@dataclass
class _Exchange:
    request: _Request
    scope: Scope
    send: Send
    start: Message | None = None
    chunks: list[bytes] = field(default_factory=list)
    buffering: bool = False
    finished: bool = False  # a HEAD answer was sent whole; the rest is dropped

    async def on_start(self, message: Message) -> None:
        headers: Headers = list(message.get("headers", []))
        message["headers"] = headers
        content_type = _header(headers, b"content-type") or b""
        streamed = _header(headers, b"content-length") is None or content_type.startswith(
            b"text/event-stream"
        )
        if self.request.is_get and message["status"] == 200:
            if _header(headers, b"cache-control") is None:
                headers.append((b"cache-control", cache_control(self.request, content_type)))
            _add_vary(headers, "Authorization", "Accept-Language")
        if streamed:
            await self.send(message)
            if self.request.head:
                await self.send({"type": "http.response.body", "body": b""})
                self.finished = True
            return
        self.start = message
        self.buffering = True

    async def on_body(self, message: Message) -> None:
        if self.finished:
            raise _HeadAnswered
        if not self.buffering:
            await self.send(message)
            return
        self.chunks.append(message.get("body", b""))
        if message.get("more_body", False):
            return
        assert self.start is not None
        await self._finish(self.start, b"".join(self.chunks))

    async def _finish(self, start: Message, body: bytes) -> None:
        headers: Headers = start["headers"]
        status: int = start["status"]
        content_type = _header(headers, b"content-type") or b""
        if _is_json(content_type):
            body = normalize_json_datetimes(body)
            if content_type.startswith(b"application/problem+json"):
                body = translate_problem(body, self.request.language)
                _set_header(headers, b"content-language", self.request.language.encode())
                _add_vary(headers, "Accept-Language")
            if status == 201 and _header(headers, b"location") is None:
                location = created_location(self.scope, body)
                if location is not None:
                    headers.append((b"location", location.encode()))
            if self.request.is_get and status == 200:
                modified = _last_modified(body)
                if modified is not None and _header(headers, b"last-modified") is None:
                    headers.append((b"last-modified", modified))
        if self.request.is_get and status == 200:
            existing = _header(headers, b"etag")
            etag = representation_etag(body, existing.decode("latin-1") if existing else None)
            _set_header(headers, b"etag", etag.encode())
            if none_match(self.request.if_none_match, etag):
                kept = [(k, v) for k, v in headers if k.lower() not in _DROPPED_ON_304]
                await self.send({"type": "http.response.start", "status": 304, "headers": kept})
                await self.send({"type": "http.response.body", "body": b""})
                return
        _set_header(headers, b"content-length", str(len(body)).encode())
        await self.send(start)
        await self.send({"type": "http.response.body", "body": b"" if self.request.head else body})


class _HeadAnswered(Exception):
    """Stops a streamed answer to HEAD once its headers are sent."""


class HttpConventions:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = _Request.of(scope)
        if request.head:
            scope = {**scope, "method": "GET"}
        exchange = _Exchange(request, scope, send)

        async def on_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                await exchange.on_start(message)
            elif message["type"] == "http.response.body":
                await exchange.on_body(message)
            else:
                await send(message)

        try:
            await self.app(scope, receive, on_send)
        except Exception:
            if exchange.finished:  # the HEAD answer is complete; the stream was cut
                logger.debug("HEAD: stream stopped after its headers")
                return
            raise
