"""Integrations benchmarks: `.venv/bin/python -m bench.integrations [--events 1000000]`.

1. Change feed: fills `events` with `--events` rows (spread over 5 organizations, on
   real proposals), then times pages of 100 changes read at the start, middle and end
   of one organization's feed, through the HTTP app (ASGI, no network), p50/p95.
   Target: p95 ≤ 50 ms at 1 M events, flat along the feed.
2. Webhook fan-out: 10 endpoints on a loopback receiver, events committed at `--rate`
   per second for `--seconds`, one in-process worker; prints the delivery rate and the
   commit-to-receiver latency, p50/p95. Targets: keeps up with 200 events/s x 10
   endpoints; ≤ 1 s p95 when idle.

Uses a scratch embedded PostgreSQL unless DATABASE_URL is set (then it writes there:
point it at a scratch database). Not part of the test run.
"""

import argparse
import asyncio
import base64
import json
import os
import tempfile
import time
from typing import Any

if "DATABASE_URL" not in os.environ:
    os.environ["DATA_DIR"] = tempfile.mkdtemp(prefix="consulta-bench-")
os.environ.setdefault("ENVIRONMENT", "test")
os.environ["WEBHOOK_ALLOW_PRIVATE_TARGETS"] = "true"
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ["WRITE_LIMITS_ENABLED"] = "false"

import httpx
from sqlalchemy import text

from app.cli import migrate
from app.db import get_engine, get_sessionmaker
from app.event_types import EventType
from app.events import record_event
from app.main import create_app
from app.models.integrations import WebhookEndpoint, WebhookSecret
from app.security import new_webhook_secret
from app.worker import Worker
from tests.factories import make_proposal, make_scene
from tests.factories.webhooks import receiving
from tests.helpers import bearer


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


async def _scene(orgs: int = 5) -> list[Any]:
    scenes = []
    async with get_sessionmaker()() as session:
        for _ in range(orgs):
            s = await make_scene(session, content=False)
            proposals = [await make_proposal(session, s.table, s.member) for _ in range(50)]
            scenes.append((s, proposals))
        await session.commit()
    return scenes


async def _fill(scenes: list[Any], events: int) -> None:
    per_org = events // len(scenes)
    async with get_engine().begin() as conn:
        for s, proposals in scenes:
            ids = "ARRAY[" + ",".join(f"'{p.id}'::uuid" for p in proposals) + "]"
            await conn.execute(
                text(
                    "INSERT INTO events (organization_id, type, subject_type, subject_id, payload) "
                    f"SELECT :org, 'proposal.supported', 'proposal', ({ids})[1 + g % 50], '{{}}' "
                    "FROM generate_series(1, :n) g"
                ),
                {"org": s.org.id, "n": per_org},
            )
    async with get_engine().connect() as conn:
        await conn.execute(text("ANALYZE events"))


async def bench_feed(events: int, samples: int) -> None:
    scenes = await _scene()
    started = time.monotonic()
    await _fill(scenes, events)
    print(f"filled {events} events in {time.monotonic() - started:.1f} s")
    s, _ = scenes[2]
    app = create_app()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        url = f"/v1/organizations/{s.org.slug}/changes"
        headers = bearer(s.admin)
        # Cursors at the start, the middle and near the end of this organization's feed.
        positions: dict[str, str | None] = {"start": None}
        async with get_engine().connect() as conn:
            for name, fraction in (("middle", 0.5), ("end", 0.98)):
                row = (
                    await conn.execute(
                        text(
                            "SELECT xid::text, seq FROM events WHERE organization_id = :org "
                            "ORDER BY xid, seq OFFSET :k LIMIT 1"
                        ),
                        {"org": s.org.id, "k": int(events / len(scenes) * fraction)},
                    )
                ).one()
                raw = json.dumps({"x": row[0], "s": row[1], "t": int(time.time())}).encode()
                positions[name] = base64.urlsafe_b64encode(raw).decode()
        for name, cursor in positions.items():
            timings = []
            for _ in range(samples):
                params: dict[str, str | int] = {"limit": 100}
                if cursor:
                    params["cursor"] = cursor
                t0 = time.perf_counter()
                response = await client.get(url, params=params, headers=headers)
                timings.append((time.perf_counter() - t0) * 1000)
                assert response.status_code == 200 and len(response.json()["items"]) == 100
            print(
                f"feed page of 100 at the {name:<6}: p50 {_pct(timings, 0.5):6.1f} ms  "
                f"p95 {_pct(timings, 0.95):6.1f} ms  ({samples} pages, {events} events)"
            )


async def _outbox_at_the_end() -> None:
    """Steady state: the dispatcher has caught up with the events written so far."""
    async with get_engine().begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO webhook_outbox (id, last_xid, last_seq) "
                "SELECT 1, coalesce(max(xid::text::bigint), 0), coalesce(max(seq), 0) FROM events "
                "ON CONFLICT (id) DO UPDATE SET last_xid = excluded.last_xid, "
                "last_seq = excluded.last_seq"
            )
        )


async def bench_fanout(rate: int, seconds: int, endpoints: int) -> None:
    [(s, proposals)] = await _scene(1)
    await _outbox_at_the_end()
    async with receiving() as receiver:
        async with get_sessionmaker()() as session:
            for _ in range(endpoints):
                endpoint = WebhookEndpoint(
                    organization_id=s.org.id, url=receiver.url, event_types=["*"]
                )
                session.add(endpoint)
                await session.flush()
                session.add(WebhookSecret(endpoint_id=endpoint.id, secret=new_webhook_secret()))
            await session.commit()
        worker = Worker()
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop))
        committed: dict[str, float] = {}
        started = time.monotonic()
        producers = 20  # commits are slow one by one: several writers, like real traffic

        async def produce(offset: int) -> None:
            for tick in range(offset, rate * seconds, producers):
                async with get_sessionmaker()() as session:
                    event = record_event(
                        session,
                        EventType.PROPOSAL_UPDATED,
                        subject_type="proposal",
                        subject_id=proposals[tick % len(proposals)].id,
                        actor_id=None,
                        organization_id=s.org.id,
                    )
                    await session.commit()
                    committed[str(event.id)] = time.monotonic()
                delay = started + (tick + 1) / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)

        await asyncio.gather(*(produce(i) for i in range(producers)))
        produced = time.monotonic() - started
        expected = rate * seconds * endpoints
        deadline = time.monotonic() + 120
        while len(receiver.requests) < expected and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        elapsed = time.monotonic() - started
        stop.set()
        await task
        await worker.aclose()
    latencies = [
        (r.at - committed[r.json["data"]["id"]]) * 1000
        for r in receiver.requests
        if r.json["data"]["id"] in committed
    ]
    print(
        f"fan-out: {len(receiver.requests)}/{expected} deliveries in {elapsed:.1f} s "
        f"({len(receiver.requests) / elapsed:.0f}/s); events committed at "
        f"{rate * seconds / produced:.0f}/s (asked {rate}) x {endpoints} "
        f"endpoints; commit → receiver p50 {_pct(latencies, 0.5):.0f} ms, "
        f"p95 {_pct(latencies, 0.95):.0f} ms"
    )


async def bench_latency(samples: int) -> None:
    """Idle worker: one event at a time, time from commit to the receiver."""
    [(s, proposals)] = await _scene(1)
    await _outbox_at_the_end()
    async with receiving() as receiver:
        async with get_sessionmaker()() as session:
            endpoint = WebhookEndpoint(
                organization_id=s.org.id, url=receiver.url, event_types=["*"]
            )
            session.add(endpoint)
            await session.flush()
            session.add(WebhookSecret(endpoint_id=endpoint.id, secret=new_webhook_secret()))
            await session.commit()
        worker = Worker()
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop))
        timings = []
        for i in range(samples):
            receiver.arrived.clear()
            async with get_sessionmaker()() as session:
                record_event(
                    session,
                    EventType.PROPOSAL_UPDATED,
                    subject_type="proposal",
                    subject_id=proposals[i % len(proposals)].id,
                    actor_id=None,
                    organization_id=s.org.id,
                )
                await session.commit()
            t0 = time.monotonic()
            await asyncio.wait_for(receiver.arrived.wait(), timeout=30)
            timings.append((time.monotonic() - t0) * 1000)
            await asyncio.sleep(0.3)
        stop.set()
        await task
        await worker.aclose()
    print(
        f"idle latency commit → receiver: p50 {_pct(timings, 0.5):.0f} ms  "
        f"p95 {_pct(timings, 0.95):.0f} ms ({samples} events)"
    )


async def main(args: argparse.Namespace) -> None:
    try:
        if "feed" in args.only:
            await bench_feed(args.events, args.samples)
        if "latency" in args.only:
            await bench_latency(args.samples)
        if "fanout" in args.only:
            await bench_fanout(args.rate, args.seconds, args.endpoints)
    finally:
        await get_engine().dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--endpoints", type=int, default=10)
    parser.add_argument("--only", nargs="+", default=["feed", "latency", "fanout"])
    migrate()
    asyncio.run(main(parser.parse_args()))
