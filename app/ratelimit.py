"""Fixed-window rate limits with the counters in PostgreSQL, shared by every worker.

Two ways to count, for two kinds of callers:

- `peek`, `hit`, `reset` run on the request's own session (sign-in, account erasure): a
  request never waits for a second pooled connection while holding one, which deadlocks
  the pool under a burst. A failure that must count is raised with `keep_changes`.
- `hit_many`, `hit_chain`, `refund` run on their own autocommitted connection, before the
  request's session touches the database or after its response (write limits).
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Integer, String, delete, func, literal, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import get_engine
from app.models.ratelimits import RateLimitCounter


@dataclass(frozen=True)
class Limit:
    key: str
    limit: int
    window_seconds: int

    def window(self, now: datetime) -> tuple[datetime, datetime]:
        epoch = int(now.timestamp())
        start = epoch - epoch % self.window_seconds
        return (
            datetime.fromtimestamp(start, UTC),
            datetime.fromtimestamp(start + self.window_seconds, UTC),
        )


@dataclass(frozen=True)
class Usage:
    count: int
    limit: int
    resets_at: datetime

    @property
    def exceeded(self) -> bool:
        return self.count >= self.limit

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.count)

    def retry_after(self, now: datetime | None = None) -> int:
        now = now or datetime.now(UTC)
        return max(1, math.ceil((self.resets_at - now).total_seconds()))


_table = RateLimitCounter.__table__  # type: ignore[attr-defined]


async def peek(limit: Limit, session: AsyncSession) -> Usage:
    """The usage of `limit` now."""
    now = datetime.now(UTC)
    start, end = limit.window(now)
    stmt = select(_table.c.count).where(_table.c.key == limit.key, _table.c.window_start == start)
    count = await (await session.connection()).scalar(stmt)
    return Usage(count=count or 0, limit=limit.limit, resets_at=end)


async def hit(limit: Limit, session: AsyncSession) -> Usage:
    """Count one event against `limit`, atomically, in the request's transaction, and
    return the usage after it; the caller makes sure it commits."""
    now = datetime.now(UTC)
    start, end = limit.window(now)
    stmt = (
        insert(_table)
        .values(key=limit.key, window_start=start, count=1, expires_at=end)
        .on_conflict_do_update(
            index_elements=[_table.c.key, _table.c.window_start],
            set_={"count": _table.c.count + 1},
        )
        .returning(_table.c.count)
    )
    count = int((await (await session.connection()).execute(stmt)).scalar_one())
    return Usage(count=count, limit=limit.limit, resets_at=end)


async def hit_many(limits: Sequence[Limit]) -> list[Usage]:
    """Count one event against each of `limits` (distinct keys), atomically, in ONE
    statement and round trip; the usages after it, in the order of `limits`.

    The statement runs on its own autocommitted connection, so the counts persist whatever
    becomes of the caller's transaction. Rows are upserted in key order: concurrent calls
    lock shared counters in the same order and cannot deadlock.
    """
    if not limits:
        return []
    if len({limit.key for limit in limits}) != len(limits):
        raise ValueError("hit_many needs distinct keys")
    now = datetime.now(UTC)
    windows = {limit.key: limit.window(now) for limit in limits}
    rows = [
        {"key": key, "window_start": start, "count": 1, "expires_at": end}
        for key, (start, end) in sorted(windows.items())
    ]
    stmt = (
        insert(_table)
        .values(rows)
        .on_conflict_do_update(
            index_elements=[_table.c.key, _table.c.window_start],
            set_={"count": _table.c.count + 1},
        )
        .returning(_table.c.key, _table.c.count)
    )
    engine = get_engine()
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        counts = {key: int(count) for key, count in (await conn.execute(stmt)).all()}
    return [
        Usage(count=counts[limit.key], limit=limit.limit, resets_at=windows[limit.key][1])
        for limit in limits
    ]


async def hit_chain(limits: Sequence[Limit]) -> list[Usage]:
    """Count one event against `limits` in turn, stopping at the first one it takes past
    its limit: the later ones are not charged (their usage is read as it stands). All in
    ONE statement and round trip; the usages, in the order of `limits`.

    Write limits use it with the person's limit first, then their address's: a person
    retrying past their own limit does not use up the allowance of everyone behind the
    same address (a school's NAT).

    The statement is a chain of data-modifying CTEs, each upserting its counter only if
    the previous one's new count is within its limit, so each depends on the one before
    and the counters are locked in the order of `limits`. Callers keep one order (person
    before address, never the reverse) and so cannot deadlock. Like `hit_many`, it runs on
    its own autocommitted connection.
    """
    if not limits:
        return []
    if len({limit.key for limit in limits}) != len(limits):
        raise ValueError("hit_chain needs distinct keys")
    now = datetime.now(UTC)
    windows = [limit.window(now) for limit in limits]
    steps: list[Any] = []
    for i, (limit, (start, end)) in enumerate(zip(limits, windows, strict=True)):
        if not steps:
            stmt = insert(_table).values(key=limit.key, window_start=start, count=1, expires_at=end)
        else:
            # Only when the previous counter's new count is within its limit.
            previous, within = steps[-1], limits[i - 1].limit
            row = select(
                literal(limit.key, String).label("key"),
                literal(start, DateTime(timezone=True)).label("window_start"),
                literal(1, Integer).label("count"),
                literal(end, DateTime(timezone=True)).label("expires_at"),
            ).select_from(previous)
            stmt = insert(_table).from_select(
                ["key", "window_start", "count", "expires_at"],
                row.where(previous.c.count <= within),
            )
        steps.append(
            stmt.on_conflict_do_update(
                index_elements=[_table.c.key, _table.c.window_start],
                set_={"count": _table.c.count + 1},
            )
            .returning(_table.c.count)
            .cte(f"hit_{i}")
        )
    columns = []
    for i, (limit, (start, _)) in enumerate(zip(limits, windows, strict=True)):
        charged = select(steps[i].c.count).scalar_subquery()
        # Not charged: the count as it stands (the statement's snapshot), or none yet.
        standing = (
            select(_table.c.count)
            .where(_table.c.key == limit.key, _table.c.window_start == start)
            .scalar_subquery()
        )
        columns.append(func.coalesce(charged, standing, 0).label(f"count_{i}"))
    engine = get_engine()
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        counts = (await conn.execute(select(*columns))).one()
    return [
        Usage(count=int(count), limit=limit.limit, resets_at=end)
        for limit, count, (_, end) in zip(limits, counts, windows, strict=True)
    ]


async def reset(limit: Limit, session: AsyncSession) -> None:
    """Forget `limit`'s counts, in the request's transaction."""
    await (await session.connection()).execute(delete(_table).where(_table.c.key == limit.key))


async def refund(charges: Sequence[tuple[str, datetime]]) -> None:
    """Take one event back from each counter, named by (key, window_start): a write that
    did not happen (refused or failed after it was counted) does not use up the limit."""
    if not charges:
        return
    stmt = (
        update(_table)
        .where(
            tuple_(_table.c.key, _table.c.window_start).in_(sorted(charges)),
            _table.c.count > 0,
        )
        .values(count=_table.c.count - 1)
    )
    async with get_engine().connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(stmt)
