"""Housekeeping: expired rate-limit counters and idempotency records are deleted by a
background task of each server process, never on a request's path (hot paths keep a
fixed number of statements). Running it in several workers at once is harmless."""

import asyncio
import logging
import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete

from app.db import get_engine
from app.metrics import BACKGROUND_FAILURES
from app.models.idempotency import IdempotencyRecord
from app.models.ratelimits import RateLimitCounter

logger = logging.getLogger("consulta.housekeeping")

PURGE_INTERVAL_SECONDS = 600
# Counters are kept a little past their window, for anyone inspecting a recent 429.
COUNTER_GRACE = timedelta(hours=1)


async def purge_expired(now: datetime | None = None) -> tuple[int, int]:
    """Delete expired counters and idempotency records: (counters, records) deleted."""
    now = now or datetime.now(UTC)
    counters = RateLimitCounter.__table__  # type: ignore[attr-defined]
    records = IdempotencyRecord.__table__  # type: ignore[attr-defined]
    async with get_engine().begin() as conn:
        purged_counters = await conn.execute(
            delete(counters).where(counters.c.expires_at < now - COUNTER_GRACE)
        )
        purged_records = await conn.execute(delete(records).where(records.c.expires_at < now))
    return purged_counters.rowcount, purged_records.rowcount


async def purge_periodically(interval: float = PURGE_INTERVAL_SECONDS) -> None:
    """Run `purge_expired` every `interval` seconds (with jitter, so that workers started
    together do not all purge at once) until cancelled."""
    while True:
        await asyncio.sleep(interval * random.uniform(0.5, 1.5))  # noqa: S311 - jitter
        try:
            counters, records = await purge_expired()
            if counters or records:
                logger.info(
                    "purged expired rows",
                    extra={"rate_limit_counters": counters, "idempotency_records": records},
                )
        except Exception:
            logger.exception("housekeeping failed; trying again later")
            BACKGROUND_FAILURES.labels("housekeeping").inc()
