"""Abuse limits on writes: per person and per client address, shared by every worker.

A route opts in with one line, ``dependencies=[Depends(write_limit("comments"))]``. Each
request counts once against the caller's per-person counter and once against their
address's counter of that kind (``WRITE_LIMIT_<KIND>_PER_PERSON`` / ``_PER_ADDRESS`` per
``_WINDOW_SECONDS``, see `app/config.py`); past either it answers 429 problem+json with
``Retry-After`` and the ``RateLimit-Limit`` / ``-Remaining`` / ``-Reset`` /
``RateLimit-Policy`` headers (draft-ietf-httpapi-ratelimit-headers, the three-header
form). Successful responses carry the same three headers for the tightest of the two
limits.

Kinds: ``proposals`` (creating one), ``comments`` (every comment or reply), ``reports``
(reporting content), ``supports`` (supporting a proposal and casting a poll ballot).

How it counts:

- The person's counter, then the address's, are bumped in one statement on their own
  autocommitted connection (`ratelimit.hit_chain`). A request the person's own limit
  refuses is not charged to the address: one student retrying in a loop cannot lock out
  everyone behind their school's address (with a limit of 0 the person is not counted
  and the address always is).
- Only writes that happen use up a limit: when the request then fails (a 4xx other than
  the 429 itself, or a 5xx), `RefundFailedWrites` takes the count back once the response
  is sent and the request's connection is released — a client with a validation bug, or
  one retrying after a 409, does not lock its user out. Requests that succeed without
  changing anything (supporting twice) still count: they are writes the client sent.
- Counting happens before the request's session touches the database, from the subject
  of the bearer token: a request never holds two pooled connections at once, so a burst
  of writes cannot starve the pool. Requests without a valid access token are not counted
  and answer 401 (``CurrentUser`` is checked before the 429); a well-signed token of a
  deleted or signed-out account counts, then answers 401.
- ``Idempotency-Key`` replays are answered by `app/idempotency.py` before routing, so a
  replay (or its 409 / 422) never reaches this dependency and never counts twice.
"""

import logging
import math
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Annotated, Literal

from fastapi import Depends, Request, Response
from fastapi.security.utils import get_authorization_scheme_param
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import ratelimit
from app.config import Settings, get_settings
from app.deps import ClientAddress, CurrentUser
from app.error_codes import ErrorCode
from app.errors import RateLimited
from app.security import InvalidToken, decode_access_token

WriteKind = Literal["proposals", "comments", "reports", "supports"]
LimitScope = Literal["person", "address"]

logger = logging.getLogger(__name__)

# Where a request's counted writes are noted (a list in the ASGI scope, put there by
# `RefundFailedWrites`), so that they can be taken back if the request fails.
CHARGES_KEY = "consulta.write_charges"

_NOUNS: dict[WriteKind, str] = {
    "proposals": "proposals",
    "comments": "comments",
    "reports": "reports",
    "supports": "supports and votes",
}


@dataclass(frozen=True)
class Counted:
    """One limit after this request's hit."""

    scope: LimitScope
    limit: ratelimit.Limit
    usage: ratelimit.Usage

    @property
    def exceeded(self) -> bool:  # this request went past the limit
        return self.usage.count > self.usage.limit

    @property
    def remaining(self) -> int:
        return self.usage.remaining

    def reset_seconds(self, now: datetime) -> int:
        return max(1, math.ceil((self.usage.resets_at - now).total_seconds()))

    @property
    def policy(self) -> str:
        return f"{self.limit.limit};w={self.limit.window_seconds}"


def limits_for(
    kind: WriteKind, user_id: uuid.UUID, address: str, settings: Settings
) -> list[tuple[LimitScope, ratelimit.Limit]]:
    """The limits one write of `kind` counts against (a limit set to 0 is off), in the
    order they are charged: the person's, then the address's (see `ratelimit.hit_chain`)."""
    per_person, per_address, window = {
        "proposals": (
            settings.write_limit_proposals_per_person,
            settings.write_limit_proposals_per_address,
            settings.write_limit_proposals_window_seconds,
        ),
        "comments": (
            settings.write_limit_comments_per_person,
            settings.write_limit_comments_per_address,
            settings.write_limit_comments_window_seconds,
        ),
        "reports": (
            settings.write_limit_reports_per_person,
            settings.write_limit_reports_per_address,
            settings.write_limit_reports_window_seconds,
        ),
        "supports": (
            settings.write_limit_supports_per_person,
            settings.write_limit_supports_per_address,
            settings.write_limit_supports_window_seconds,
        ),
    }[kind]
    limits: list[tuple[LimitScope, ratelimit.Limit]] = []
    if per_person > 0:
        limits.append(
            ("person", ratelimit.Limit(f"write:{kind}:user:{user_id}", per_person, window))
        )
    if per_address > 0:
        limits.append(
            ("address", ratelimit.Limit(f"write:{kind}:address:{address}", per_address, window))
        )
    return limits


def _token_subject(request: Request) -> uuid.UUID | None:
    scheme, token = get_authorization_scheme_param(request.headers.get("Authorization"))
    if scheme.lower() != "bearer" or not token:
        return None
    try:
        return decode_access_token(token).user_id
    except InvalidToken:
        return None


def rate_limit_headers(counted: Counted, policies: list[str], now: datetime) -> dict[str, str]:
    return {
        "RateLimit-Limit": str(counted.usage.limit),
        "RateLimit-Remaining": str(counted.remaining),
        "RateLimit-Reset": str(counted.reset_seconds(now)),
        "RateLimit-Policy": ", ".join(policies),
    }


def _check(kind: WriteKind, counted: list[Counted], response: Response) -> None:
    if not counted:
        return
    now = datetime.now(UTC)
    policies = [c.policy for c in counted]
    exceeded = [c for c in counted if c.exceeded]
    if exceeded:
        # Past both: the client must wait for the later reset.
        worst = max(exceeded, key=lambda c: c.reset_seconds(now))
        retry_after = worst.reset_seconds(now)
        whose = "from your network " if worst.scope == "address" else ""
        error = RateLimited(
            f"Too many {_NOUNS[kind]} {whose}in a short time; try again in {retry_after} s.",
            retry_after=retry_after,
            code=ErrorCode.TOO_MANY_WRITES,
        )
        error.headers.update(rate_limit_headers(worst, policies, now))
        error.extra.update({"kind": kind, "limited_by": worst.scope})
        raise error
    # The tightest: fewest writes left; on a tie, the one that resets last.
    tightest = min(counted, key=lambda c: (c.remaining, -c.reset_seconds(now)))
    response.headers.update(rate_limit_headers(tightest, policies, now))


@cache
def write_limit(kind: WriteKind) -> Callable[..., Awaitable[None]]:
    """The dependency limiting writes of `kind` (one callable per kind)."""

    async def count(request: Request, address: ClientAddress) -> list[Counted]:
        settings = get_settings()
        if not settings.write_limits_enabled:
            return []
        user_id = _token_subject(request)
        if user_id is None:  # not counted: CurrentUser answers 401
            return []
        scoped = limits_for(kind, user_id, address, settings)
        usages = await ratelimit.hit_chain([limit for _, limit in scoped])
        counted = [
            Counted(scope, limit, usage)
            for (scope, limit), usage in zip(scoped, usages, strict=True)
        ]
        charges = request.scope.get(CHARGES_KEY)
        if charges is not None:
            limited = any(c.exceeded for c in counted)
            for c in counted:  # in the order hit_chain charged them
                if c.exceeded:
                    # The limit that refuses keeps counting the retries; the ones after
                    # it were not charged.
                    break
                # Refunded if the request fails; when a later limit refuses it (the
                # address's), this one is refunded with the 429 too.
                start = c.usage.resets_at - timedelta(seconds=c.limit.window_seconds)
                charges.append((c.limit.key, start, limited))
        return counted

    async def enforce(
        counted: Annotated[list[Counted], Depends(count)],
        user: CurrentUser,  # 401 comes before 429
        response: Response,
    ) -> None:
        _check(kind, counted, response)

    enforce.__name__ = f"write_limit_{kind}"
    return enforce


class RefundFailedWrites:
    """Gives back the write-limit counts of a request that failed (see the module's
    docstring), after the response, when the request holds no database connection."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "DELETE"):
            await self.app(scope, receive, send)
            return
        # (counter key, window start, refunded even on a 429)
        charges: list[tuple[str, datetime, bool]] = []
        scope[CHARGES_KEY] = charges
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            refunds = [
                (key, start)
                for key, start, on_429 in charges
                if status >= 400 and (status != 429 or on_429)
            ]
            if refunds:
                try:
                    await ratelimit.refund(refunds)
                except Exception:  # the answer is sent; a lost refund only costs a count
                    logger.exception("could not refund write-limit counts")
