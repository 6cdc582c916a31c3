"""A per-caller budget of reads, counted in memory, and the ModI rate-limit headers.

Reads (`GET`, `HEAD`) count against the caller's budget, `READ_LIMIT_PER_CALLER` per
`READ_LIMIT_WINDOW_SECONDS` (a fixed window; 0 turns it off). The caller is the subject
of a valid bearer token (a person or a service client), else the client address. Past
the budget a read answers 429 `rate_limited` problem+json with `Retry-After`.

Approximate on purpose: the counts live in this process's memory, with no database write
per read, so with N server processes a caller may read up to N times the budget, and a
restart forgets the counts. Writes stay exact, in PostgreSQL (`app/write_limits.py`).

Headers (AgID ModI, and the IETF draft alongside): every answer to a read carries
`X-RateLimit-Limit`, `X-RateLimit-Remaining`, `X-RateLimit-Reset` (seconds until the
window resets) and the same values as `RateLimit-Limit` / `-Remaining` / `-Reset`, with
`RateLimit-Policy`. An answer to a write that a write limit counted mirrors that limit's
`RateLimit-*` headers as `X-RateLimit-*`. Probes (`/healthz`, `/readyz`, `/status`) are
not counted.
"""

import math
import time
from dataclasses import dataclass

from fastapi.security.utils import get_authorization_scheme_param
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.config import get_settings
from app.error_codes import ErrorCode
from app.errors import problem_response
from app.security import InvalidToken, decode_access_token, decode_client_token

_PROBES = frozenset({"/healthz", "/readyz", "/status", "/v1/status"})
_MIRRORED = (
    (b"ratelimit-limit", b"x-ratelimit-limit"),
    (b"ratelimit-remaining", b"x-ratelimit-remaining"),
    (b"ratelimit-reset", b"x-ratelimit-reset"),
)


def caller_key(scope: Scope) -> str:
    """Whose budget a request counts against: the token's subject, else the address."""
    headers = dict(scope.get("headers") or [])
    scheme, token = get_authorization_scheme_param(
        headers.get(b"authorization", b"").decode("latin-1")
    )
    if scheme.lower() == "bearer" and token:
        try:
            client = decode_client_token(token)
            if client is not None:
                return f"client:{client.client_id}"
            return f"user:{decode_access_token(token).user_id}"
        except InvalidToken:
            pass
    client_address = scope.get("client")
    return f"address:{client_address[0] if client_address else 'unknown'}"


@dataclass
class _Window:
    start: int
    count: int


class ReadBudget:
    """Fixed-window counters per caller, in this process (not shared, not persisted)."""

    def __init__(self) -> None:
        self._windows: dict[str, _Window] = {}
        self._current = 0

    def hit(self, key: str, limit: int, window: int, now: float) -> tuple[int, int, int]:
        """Count one read; (count after it, limit, seconds until the window resets)."""
        start = int(now) - int(now) % window
        if start != self._current:  # a new window: forget the old counts
            self._windows = {k: w for k, w in self._windows.items() if w.start == start}
            self._current = start
        entry = self._windows.get(key)
        if entry is None or entry.start != start:
            entry = self._windows[key] = _Window(start, 0)
        entry.count += 1
        return entry.count, limit, max(1, math.ceil(start + window - now))


def _limit_headers(count: int, limit: int, reset: int, window: int) -> list[tuple[bytes, bytes]]:
    values = {
        b"limit": str(limit).encode(),
        b"remaining": str(max(0, limit - count)).encode(),
        b"reset": str(reset).encode(),
    }
    headers = [(b"x-ratelimit-" + name, value) for name, value in values.items()]
    headers += [(b"ratelimit-" + name, value) for name, value in values.items()]
    headers.append((b"ratelimit-policy", f"{limit};w={window}".encode()))
    return headers


class ReadLimits:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.budget = ReadBudget()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in _PROBES:
            await self.app(scope, receive, send)
            return
        if scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, self._mirroring(send))
            return
        settings = get_settings()
        limit, window = settings.read_limit_per_caller, settings.read_limit_window_seconds
        if limit <= 0:
            await self.app(scope, receive, send)
            return
        count, limit, reset = self.budget.hit(caller_key(scope), limit, window, time.time())
        headers = _limit_headers(count, limit, reset, window)
        if count > limit:
            response = problem_response(
                429,
                ErrorCode.RATE_LIMITED,
                "Too many requests",
                f"Too many requests in a short time; try again in {reset} s.",
                instance=scope.get("root_path", "") + scope.get("path", ""),
                headers={"Retry-After": str(reset)},
            )
            response.raw_headers.extend(headers)
            await response(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *headers]
            await send(message)

        await self.app(scope, receive, with_headers)

    @staticmethod
    def _mirroring(send: Send) -> Send:
        async def mirror(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower(): v for k, v in headers}
                for ietf, modi in _MIRRORED:
                    if ietf in present and modi not in present:
                        headers.append((modi, present[ietf]))
                message["headers"] = headers
            await send(message)

        return mirror
