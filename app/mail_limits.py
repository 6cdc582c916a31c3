"""Limits on outgoing mail that anyone may trigger: password resets, verification resends
and registrations (each of which mails an address the caller need not own).

Counted in PostgreSQL (`app/ratelimit.py`, fixed windows shared by every worker), on the
request's own transaction (a request never holds two pooled connections):

- per recipient (`MAIL_LIMIT_PER_RECIPIENT`) and per client address
  (`MAIL_LIMIT_PER_ADDRESS`) per `MAIL_LIMIT_WINDOW_SECONDS`, for password resets and
  verification resends. Past either, the request still answers 202 (nothing is revealed
  about the account, nor that a limit was reached) but no token is issued and nothing is
  sent. Requests count whether or not the account exists, so the counters do not tell
  either.
- per client address for registrations (`REGISTRATION_LIMIT_PER_ADDRESS` per
  `REGISTRATION_LIMIT_WINDOW_SECONDS`): past it, 429 `too_many_registrations` with
  `Retry-After`. The refused registration's count is rolled back with it, so the counter
  holds the registrations that happened; the counter's row lock (held to the commit)
  keeps the limit exact under concurrent registrations.

Recipient counters are locked before address counters in every request, so concurrent
requests cannot deadlock on them.
"""

import hashlib
import logging

from sqlalchemy.ext.asyncio import AsyncSession

from app import ratelimit
from app.config import get_settings
from app.error_codes import ErrorCode
from app.errors import RateLimited

logger = logging.getLogger(__name__)


def _recipient_key(email: str) -> str:
    # Hashed: any email length fits the key column, and no address sits in the counters.
    return "mail:to:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()


async def mail_allowed(session: AsyncSession, recipient: str, address: str) -> bool:
    """Count one email to `recipient` asked for from `address`; whether it may be sent."""
    settings = get_settings()
    window = settings.mail_limit_window_seconds
    limits = [
        ratelimit.Limit(_recipient_key(recipient), settings.mail_limit_per_recipient, window),
        ratelimit.Limit(f"mail:address:{address}", settings.mail_limit_per_address, window),
    ]
    allowed = True
    for limit in limits:
        usage = await ratelimit.hit(limit, session)
        if usage.count > limit.limit:
            allowed = False
    if not allowed:
        logger.warning("outgoing mail limit reached; nothing sent (address %s)", address)
    return allowed


async def count_registration(session: AsyncSession, address: str) -> None:
    """Count one registration from `address`; 429 past the limit."""
    settings = get_settings()
    limit = ratelimit.Limit(
        f"register:address:{address}",
        settings.registration_limit_per_address,
        settings.registration_limit_window_seconds,
    )
    usage = await ratelimit.hit(limit, session)
    if usage.count > limit.limit:
        raise RateLimited(
            "Too many registrations from your network in a short time; try again later.",
            retry_after=usage.retry_after(),
            code=ErrorCode.TOO_MANY_REGISTRATIONS,
        )
