"""Expired rate-limit counters and idempotency records are purged by the background task,
and only expired ones."""

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from app.db import get_engine
from app.housekeeping import purge_expired, purge_periodically


async def _rows(table: str) -> set[str]:
    async with get_engine().connect() as conn:
        return set((await conn.execute(text(f"SELECT key FROM {table}"))).scalars())


async def _seed(now: datetime) -> None:
    async with get_engine().begin() as conn:
        for key, expires in [
            ("old", now - timedelta(hours=2)),
            ("grace", now - timedelta(minutes=30)),
            ("live", now + timedelta(minutes=5)),
        ]:
            await conn.execute(
                text(
                    "INSERT INTO rate_limit_counters (key, window_start, count, expires_at) "
                    "VALUES (:key, :start, 1, :expires)"
                ),
                {"key": key, "start": expires - timedelta(minutes=10), "expires": expires},
            )
            await conn.execute(
                text(
                    "INSERT INTO idempotency_records (caller, key, fingerprint, expires_at) "
                    "VALUES ('user:x', :key, 'f', :expires)"
                ),
                {"key": key, "expires": expires},
            )


async def test_purge_deletes_only_what_has_expired(engine):
    now = datetime.now(UTC)
    await _seed(now)
    assert await purge_expired(now) == (1, 2)
    # Counters keep an hour's grace past their window; replays end when they expire.
    assert await _rows("rate_limit_counters") == {"grace", "live"}
    assert await _rows("idempotency_records") == {"live"}


async def test_the_periodic_task_purges_until_cancelled(engine):
    await _seed(datetime.now(UTC))
    task = asyncio.create_task(purge_periodically(interval=0.02))
    for _ in range(100):
        await asyncio.sleep(0.02)
        if await _rows("idempotency_records") == {"live"}:
            break
    task.cancel()
    assert await _rows("idempotency_records") == {"live"}
    assert await _rows("rate_limit_counters") == {"grace", "live"}
