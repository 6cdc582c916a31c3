"""Conditional GETs: what a 304 costs next to the 200 it replaces.

`.venv/bin/python -m bench.conditional [--proposals 100] [--rounds 200]`

Through the HTTP app in process (ASGI, no network), against a scratch embedded
PostgreSQL (or DATABASE_URL: point it at a scratch database). For a page of
`--proposals` proposals and for one proposal, as a signed-in member: `--rounds`
alternating pairs of a plain GET (200) and a GET with the `If-None-Match` it returned
(304). Prints p50/p95 of the time to the complete answer, the client's decoding of the
JSON included (which a 304 spares), and the bytes of each. Target: a 304 costs at most
half of the 200.
"""

import argparse
import asyncio
import os
import tempfile
import time

if "DATABASE_URL" not in os.environ:
    os.environ["DATA_DIR"] = tempfile.mkdtemp(prefix="consulta-bench-")
os.environ.setdefault("ENVIRONMENT", "test")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ["READ_LIMIT_PER_CALLER"] = "0"

import httpx

from app.cli import migrate
from app.db import get_sessionmaker
from app.main import create_app
from tests.factories import make_proposal, make_scene
from tests.helpers import bearer, make_client


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


async def _timed(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> tuple[float, int]:
    started = time.perf_counter()
    response = await client.get(url, headers=headers)
    if response.status_code == 200:
        response.json()
    elapsed = time.perf_counter() - started
    assert response.status_code in (200, 304), response.text
    return elapsed, len(response.content)


async def _compare(
    client: httpx.AsyncClient, label: str, url: str, auth: dict[str, str], rounds: int
) -> None:
    first = await client.get(url, headers=auth)
    etag = first.headers["ETag"]
    conditional = {**auth, "If-None-Match": etag}
    full: list[float] = []
    revalidated: list[float] = []
    sizes = (0, 0)
    for _ in range(rounds):
        t200, n200 = await _timed(client, url, auth)
        t304, n304 = await _timed(client, url, conditional)
        full.append(t200)
        revalidated.append(t304)
        sizes = (n200, n304)
    p50 = _pct(revalidated, 0.5) / _pct(full, 0.5)
    print(
        f"{label}: 200 p50 {_pct(full, 0.5) * 1000:.1f} ms p95 {_pct(full, 0.95) * 1000:.1f} ms "
        f"({sizes[0]} B); 304 p50 {_pct(revalidated, 0.5) * 1000:.1f} ms "
        f"p95 {_pct(revalidated, 0.95) * 1000:.1f} ms ({sizes[1]} B); 304/200 at p50 {p50:.2f}"
    )


async def main(proposals: int, rounds: int) -> None:
    async with get_sessionmaker()() as session:
        s = await make_scene(session, content=False)
        items = [await make_proposal(session, s.table, s.member) for _ in range(proposals)]
        await session.commit()
    auth = bearer(s.member)
    async with make_client(create_app()) as client:
        await _compare(
            client,
            f"page of {proposals}",
            f"/v1/tables/{s.table.id}/proposals?limit=100",
            auth,
            rounds,
        )
        await _compare(client, "one proposal", f"/v1/proposals/{items[0].id}", auth, rounds)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--proposals", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    migrate()
    asyncio.run(main(args.proposals, args.rounds))
