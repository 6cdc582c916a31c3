"""Load benchmarks against a real server on loopback: `make bench` (or
`.venv/bin/python -m bench --requests 2000 --concurrency 50`).

Starts `consulta serve` on a free port (embedded PostgreSQL under a scratch DATA_DIR
unless DATABASE_URL is set), loads the demo data, fires a bounded number of concurrent
requests per scenario and prints throughput and latency percentiles. Not part of the
test run: timings depend on the machine.
"""

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from bench.proposals import bench_proposals

Scenario = Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _wait_ready(base: str, within_seconds: float = 60) -> None:
    deadline = time.monotonic() + within_seconds
    async with httpx.AsyncClient(base_url=base) as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get("/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.3)
    raise SystemExit("server did not become ready")


async def _run(name: str, base: str, scenario: Scenario, requests: int, concurrency: int) -> None:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(requests):
        queue.put_nowait(i)

    async def worker(client: httpx.AsyncClient) -> None:
        while True:
            try:
                queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            start = time.perf_counter()
            response = await scenario(client)
            latencies.append(time.perf_counter() - start)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    p = statistics.quantiles(latencies, n=100)
    print(
        f"{name:<28} {requests / elapsed:8.1f} req/s  p50 {p[49] * 1000:7.1f} ms  "
        f"p95 {p[94] * 1000:7.1f} ms  p99 {p[98] * 1000:7.1f} ms  statuses {statuses}"
    )


async def _token(base: str, username: str = "admin@consulta.demo") -> str:
    async with httpx.AsyncClient(base_url=base) as client:
        response = await client.post(
            "/v1/auth/token",
            data={
                "grant_type": "password",
                "username": username,
                "password": "consulta-demo-2026",
            },
        )
        response.raise_for_status()
        return str(response.json()["access_token"])


async def _youth_proposal(base: str) -> str:
    """A published demo proposal of Bari's youth table, to comment on."""
    async with httpx.AsyncClient(base_url=base) as client:
        tables = (await client.get("/v1/organizations/cm-bari/tables?limit=100")).json()
        table = next(t for t in tables["items"] if t["slug"] == "tavolo-giovani")
        proposals = (await client.get(f"/v1/tables/{table['id']}/proposals?limit=1")).json()
        return str(proposals["items"][0]["id"])


async def _bench(
    base: str, requests: int, concurrency: int, mail_dir: Path, supporters: int
) -> None:
    await _wait_ready(base)
    token = await _token(base)
    auth = {"Authorization": f"Bearer {token}"}
    scenarios: dict[str, Scenario] = {
        "GET /v1/organizations": lambda c: c.get("/v1/organizations"),
        "GET municipalities (41)": lambda c: c.get(
            "/v1/organizations/cm-bari/municipalities?limit=100"
        ),
        "GET /v1/me": lambda c: c.get("/v1/me", headers=auth),
    }
    for name, scenario in scenarios.items():
        await _run(name, base, scenario, requests, concurrency)
    # A write on a hot path: one comment per request (a bounded number of them).
    member = {"Authorization": f"Bearer {await _token(base, 'chiara@consulta.demo')}"}
    comments_url = f"/v1/proposals/{await _youth_proposal(base)}/comments"
    await _run(
        "POST comment",
        base,
        lambda c: c.post(comments_url, json={"body": "Commento di prova"}, headers=member),
        max(50, requests // 10),
        min(concurrency, 16),
    )
    await bench_proposals(base, _run, requests, concurrency, mail_dir, supporters)
    # Password hashing is deliberately slow (argon2id); measured with fewer requests.
    await _run(
        "POST /v1/auth/token",
        base,
        lambda c: c.post(
            "/v1/auth/token",
            data={
                "grant_type": "password",
                "username": "giulia@consulta.demo",
                "password": "consulta-demo-2026",
            },
        ),
        max(20, requests // 20),
        min(concurrency, 8),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--supporters", type=int, default=200, help="accounts that support")
    args = parser.parse_args()
    port = _free_port()
    env = dict(
        os.environ,
        LOG_LEVEL="WARNING",
        PORT=str(port),
        WORKERS=str(args.workers),
        LOGIN_MAX_FAILURES_PER_ADDRESS="100000",
        # Every request comes from one address and a few accounts: limits high enough
        # never to trip, but still counted, so the limiter's cost is in the numbers.
        **{
            f"WRITE_LIMIT_{kind}_PER_{who}": "100000000"
            for kind in ("PROPOSALS", "COMMENTS", "REPORTS", "SUPPORTS")
            for who in ("PERSON", "ADDRESS")
        },
    )
    if not env.get("DATABASE_URL"):
        env["DATA_DIR"] = tempfile.mkdtemp(prefix="consulta-bench-")
    mail_dir = Path(tempfile.mkdtemp(prefix="consulta-bench-mail-"))
    env["MAIL_BACKEND"], env["MAIL_DIR"] = "file", str(mail_dir)
    server = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--migrate", "--seed-demo"],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    try:
        asyncio.run(
            _bench(
                f"http://127.0.0.1:{port}",
                args.requests,
                args.concurrency,
                mail_dir,
                max(2, args.supporters),
            )
        )
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
