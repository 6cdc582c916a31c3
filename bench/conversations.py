"""Opinion maps: `.venv/bin/python -m bench.conversations [--people 1000 --statements 200]
[--rate 200 --seconds 20]`.

1. Recomputation: a conversation of `--people` participants and `--statements`
   statements, each participant voting on ~60 % of them in one of three camps (~120 000
   votes at full scale); times the worker's whole recomputation (`maps.recompute`: claim,
   read the votes, red-dwarf's pipeline, store) and the pipeline alone. Target ≤ 10 s.
2. Votes while it recomputes: a separate worker process recomputes the map again and
   again (the flag is set by every vote, and `CONVERSATION_MAP_SECONDS` is 0.5 here),
   while votes arrive at a fixed `--rate` per second (open loop: each is sent on
   schedule, whether or not earlier ones answered) through the HTTP app (ASGI, no
   network); prints p50/p95/p99 of the vote latency. Target p99 ≤ 50 ms at 200 votes/s.

Uses a scratch embedded PostgreSQL unless DATABASE_URL is set (then it writes there:
point it at a scratch database). Not part of the test run.
"""

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid

if "DATABASE_URL" not in os.environ and "DATA_DIR" not in os.environ:
    os.environ["DATA_DIR"] = tempfile.mkdtemp(prefix="consulta-bench-")
os.environ.setdefault("ENVIRONMENT", "test")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ["WRITE_LIMITS_ENABLED"] = "false"
os.environ["CONVERSATION_MAP_SECONDS"] = "0.5"

import httpx
from sqlalchemy import text

from app.cli import migrate
from app.db import get_engine, get_sessionmaker
from app.main import create_app
from app.models.conversations import Conversation
from app.security import create_access_token
from app.services.conversations.maps import read_votes, recompute, recompute_due
from app.services.conversations.pipeline import compute_map
from tests.factories import make_conversation, make_org, make_table


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


async def build(people: int, statements: int) -> tuple[uuid.UUID, list[uuid.UUID], list[uuid.UUID]]:
    """The conversation, its statements and its participants, written in bulk."""
    async with get_sessionmaker()() as session:
        org = await make_org(session)
        table = await make_table(session, org)
        conversation = await make_conversation(session, table)
        await session.commit()
        cid, tid = conversation.id, table.id
    async with get_engine().begin() as conn:
        params = {"cid": cid, "tid": tid, "org": org.id}
        await conn.execute(
            text(
                "INSERT INTO conversation_statements "
                "(conversation_id, organization_id, table_id, body) "
                "SELECT :cid, :org, :tid, 'Affermazione ' || g FROM generate_series(1, :n) g"
            ),
            {**params, "n": statements},
        )
        await conn.execute(
            text(
                "INSERT INTO users (id, email, display_name, password_hash, email_verified_at) "
                "SELECT gen_random_uuid(), 'voter' || g || '-' || :tag || '@bench.example', "
                "'Voter ' || g, 'x', now() FROM generate_series(1, :n) g"
            ),
            {"n": people, "tag": str(cid)[:8]},
        )
        await conn.execute(
            text(
                "INSERT INTO table_memberships (table_id, user_id, role, status, activated_at) "
                "SELECT :tid, id, 'member', 'active', now() FROM users "
                "WHERE email LIKE 'voter%-' || :tag || '@bench.example'"
            ),
            {"tid": tid, "tag": str(cid)[:8]},
        )
        # Three camps (by the person's number), each voting on ~60 % of the statements:
        # statement k is agreed by camp k % 3, disagreed by the next, passed by the last.
        await conn.execute(
            text(
                "INSERT INTO conversation_votes (statement_id, user_id, conversation_id, vote) "
                "SELECT s.id, u.id, :cid, CASE (s.n - u.n + 3000) % 3 WHEN 0 THEN 1 "
                "WHEN 1 THEN -1 ELSE 0 END "
                "FROM (SELECT id, row_number() OVER (ORDER BY id) AS n "
                "      FROM conversation_statements WHERE conversation_id = :cid) s "
                "CROSS JOIN (SELECT id, row_number() OVER (ORDER BY id) AS n FROM users "
                "      WHERE email LIKE 'voter%-' || :tag || '@bench.example') u "
                "WHERE random() < 0.6"
            ),
            {"cid": cid, "tag": str(cid)[:8]},
        )
        await conn.execute(
            text(
                "UPDATE conversation_statements s SET agree_count = v.a, disagree_count = v.d, "
                "pass_count = v.p FROM (SELECT statement_id, count(*) FILTER (WHERE vote = 1) a, "
                "count(*) FILTER (WHERE vote = -1) d, count(*) FILTER (WHERE vote = 0) p "
                "FROM conversation_votes WHERE conversation_id = :cid GROUP BY statement_id) v "
                "WHERE s.id = v.statement_id"
            ),
            params,
        )
        await conn.execute(
            text("UPDATE conversations SET map_dirty = true WHERE id = :cid"), params
        )
        await conn.execute(text("ANALYZE"))
        sids = [
            r[0]
            for r in await conn.execute(
                text("SELECT id FROM conversation_statements WHERE conversation_id = :cid"), params
            )
        ]
        uids = [
            r[0]
            for r in await conn.execute(
                text("SELECT user_id FROM table_memberships WHERE table_id = :tid"), params
            )
        ]
    return cid, sids, uids


async def bench_recompute(cid: uuid.UUID) -> None:
    started = time.perf_counter()
    assert await recompute(cid)
    whole = time.perf_counter() - started
    started = time.perf_counter()
    async with get_sessionmaker()() as session:
        conversation = await session.get(Conversation, cid)
        assert conversation is not None
        _, votes, statements = await read_votes(session, cid, conversation.pseudonym_key)
    reading = time.perf_counter() - started
    started = time.perf_counter()
    result = compute_map(votes, statements)
    alone = time.perf_counter() - started
    print(
        f"recompute: {sum(len(p.statements) for p in votes)} votes, "
        f"{result['participants_count']} placed, "
        f"{len(result['groups'])} groups; whole recomputation {whole:.2f} s, "
        f"reading the votes {reading:.2f} s, pipeline alone {alone:.2f} s (target ≤ 10 s)"
    )


async def bench_votes(
    cid: uuid.UUID,
    sids: list[uuid.UUID],
    uids: list[uuid.UUID],
    rate: int,
    seconds: int,
    sequential: int,
) -> None:
    worker = subprocess.Popen(  # noqa: ASYNC220 - started once, before the clock runs
        [sys.executable, "-m", "bench.conversations", "--worker", str(seconds + 2)],
        env=os.environ.copy(),
    )
    headers = {u: {"Authorization": f"Bearer {create_access_token(u)[0]}"} for u in uids}
    transport = httpx.ASGITransport(app=create_app())
    latencies: list[float] = []
    errors: list[int] = []
    choices = ("agree", "disagree", "pass")
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:

        async def one(i: int) -> None:
            user = uids[i % len(uids)]
            statement = sids[(i * 7919) % len(sids)]
            t0 = time.perf_counter()
            r = await client.put(
                f"/v1/statements/{statement}/vote",
                json={"vote": choices[i % 3]},
                headers=headers[user],
            )
            latencies.append((time.perf_counter() - t0) * 1000)
            if r.status_code != 200:
                errors.append(r.status_code)

        await asyncio.sleep(2)  # let the worker start its first recomputation
        for i in range(20):  # warm up (first requests build caches, prepare statements)
            await one(-1 - i)
        latencies.clear()
        for i in range(sequential):  # closed loop: the service time of one vote
            await one(10_000_000 + i)
        if sequential:
            print(
                f"votes one at a time: p50 {_pct(latencies, 0.5):.1f} ms, "
                f"p99 {_pct(latencies, 0.99):.1f} ms ({sequential} votes)"
            )
        latencies.clear()
        tasks = []
        start = time.perf_counter()
        for i in range(rate * seconds):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
    worker.wait()
    async with get_engine().connect() as conn:
        row = (
            await conn.execute(
                text("SELECT computation_ms FROM conversation_maps WHERE conversation_id = :c"),
                {"c": cid},
            )
        ).one()
    print(
        f"votes: {len(latencies)} at {rate}/s asked ({len(latencies) / elapsed:.0f}/s sent) "
        f"while the map was recomputed; p50 {_pct(latencies, 0.5):.1f} ms, "
        f"p95 {_pct(latencies, 0.95):.1f} ms, p99 {_pct(latencies, 0.99):.1f} ms, "
        f"max {max(latencies):.1f} ms, errors {sorted(errors)} (target p99 ≤ 50 ms); "
        f"last map {row[0]} ms"
    )


async def worker_loop(seconds: float) -> None:
    """The worker's map task alone, for `seconds`: recompute whenever due."""
    deadline = time.perf_counter() + seconds
    rounds = 0
    while time.perf_counter() < deadline:
        rounds += await recompute_due()
        await asyncio.sleep(0.2)
    print(f"worker: {rounds} recomputations in {seconds:.0f} s")
    await get_engine().dispose()


async def main(args: argparse.Namespace) -> None:
    try:
        cid, sids, uids = await build(args.people, args.statements)
        await bench_recompute(cid)
        if args.rate:
            await bench_votes(cid, sids, uids, args.rate, args.seconds, args.sequential)
    finally:
        await get_engine().dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--statements", type=int, default=200)
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--sequential", type=int, default=100, help="votes one at a time first")
    parser.add_argument("--worker", type=float, default=None, help=argparse.SUPPRESS)
    parsed = parser.parse_args()
    if parsed.worker is not None:
        asyncio.run(worker_loop(parsed.worker))
    else:
        migrate()
        asyncio.run(main(parsed))
