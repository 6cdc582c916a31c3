"""The ceiling: the support transaction sent straight through asyncpg, against the same
database, in the same run, as the HTTP scenarios it is compared with.

One transaction per support, as the service does at least: insert the support
(`ON CONFLICT DO NOTHING RETURNING`), bump the proposal's counter under its row lock,
write the `proposal.supported` event. 32 connections, closed loop, distinct
(person, proposal) pairs. The rows are removed afterwards (counters restored), so the
database stays as generated.
"""

import asyncio
import json
import time
import uuid
from collections.abc import Sequence

import asyncpg

from bench.load import Result

INSERT_SUPPORT = """INSERT INTO proposal_supports (proposal_id, user_id, table_id)
VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING proposal_id"""
BUMP = """UPDATE proposals SET supports_count = supports_count + 1
WHERE id = $1 RETURNING supports_count"""
EVENT = """INSERT INTO events (organization_id, type, subject_type, subject_id, actor_id, payload)
VALUES ($1, 'proposal.supported', 'proposal', $2, $3, $4::jsonb)"""


async def support_ceiling(
    url: str,
    *,
    users: Sequence[uuid.UUID],
    proposals: Sequence[uuid.UUID],
    table_id: uuid.UUID,
    organization_id: uuid.UUID,
    seconds: float,
    connections: int = 32,
) -> Result:
    pool = await asyncpg.create_pool(url, min_size=connections, max_size=connections)
    result = Result("ceiling: raw SQL support tx", "ceiling", connections, 0.0)
    payload = json.dumps({"table_id": str(table_id)})
    counter = [0]
    capacity = len(users) * len(proposals)
    try:
        started = time.perf_counter()
        stop_at = started + seconds

        async def worker() -> None:
            async with pool.acquire() as conn:
                while time.perf_counter() < stop_at and counter[0] < capacity:
                    n = counter[0]
                    counter[0] += 1
                    user, proposal = users[n % len(users)], proposals[n // len(users)]
                    t0 = time.perf_counter()
                    async with conn.transaction():
                        inserted = await conn.fetchval(INSERT_SUPPORT, proposal, user, table_id)
                        if inserted is not None:
                            await conn.fetchval(BUMP, proposal)
                            await conn.execute(EVENT, organization_id, proposal, user, payload)
                    result.record(time.perf_counter() - t0, 200 if inserted else 409)

        await asyncio.gather(*(worker() for _ in range(connections)))
        result.seconds = time.perf_counter() - started
    finally:
        await pool.close()
    return result


async def remove_supports(url: str, users: Sequence[uuid.UUID]) -> int:
    """Delete every support and event of `users`, restoring the counters exactly."""
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            removed = await conn.fetch(
                "DELETE FROM proposal_supports WHERE user_id = ANY($1::uuid[]) "
                "RETURNING proposal_id",
                list(users),
            )
            await conn.execute(
                """UPDATE proposals p SET supports_count = p.supports_count - d.n
                   FROM (SELECT x AS id, count(*) AS n FROM unnest($1::uuid[]) x GROUP BY x) d
                   WHERE p.id = d.id""",
                [r["proposal_id"] for r in removed],
            )
            await conn.execute(
                "DELETE FROM events WHERE actor_id = ANY($1::uuid[]) "
                "AND type IN ('proposal.supported', 'proposal.support_withdrawn')",
                list(users),
            )
    finally:
        await conn.close()
    return len(removed)
