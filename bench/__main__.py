"""`make bench` (`python -m bench [--scale small|large]`): the hot paths through the real
HTTP stack, next to the database's own ceiling measured in the same run.

1. Generates the scale's database if it does not exist (`bench/generate.py`).
2. Starts `consulta serve` on a free loopback port against it, in the default
   configuration (workers, pool), with the write limits raised never to trip but still
   counted (every client shares one address).
3. Ceiling: the raw-SQL support transaction over asyncpg (32 connections).
4. Closed loop (64 clients, each with its own account and connection): support cast and
   withdraw, proposal read, every list sort at page 1 and deep (by cursor), `node` and
   `q` filters, comment create, thread read, refresh-token sign-in, `GET /v1/me`.
5. Open loop (fixed rate): supports at half the ceiling, proposal read and list at
   250 requests/s: p99 without coordinated omission.
6. Sequential latency of every list against page depth.
Prints a table (throughput, p50/p95/p99, ratio to the ceiling), writes
`bench/results/<scale>-<time>.json` (and `<scale>-latest.json`) and `latency.png`.
Not part of `make test`: timings depend on the machine.
"""

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from typing import Any

import asyncpg

from app.config import get_settings
from bench import report
from bench.benchdb import database_exists, database_url
from bench.ceiling import remove_supports, support_ceiling
from bench.generate import generate
from bench.load import Connection, Result, Step, closed_loop, open_loop, sequential
from bench.proposals import (
    SEED,
    SORTS,
    Client,
    Targets,
    check_cursor,
    deep_cursor,
    list_path,
    load_targets,
    refresh,
    sign_in,
)

HOST = "127.0.0.1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


async def _wait_ready(port: int, server: subprocess.Popen[bytes], within: float = 120) -> None:
    deadline = time.monotonic() + within
    conn = Connection(HOST, port)
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("the server exited")
        try:
            if (await conn.request("GET", "/readyz"))[0] == 200:
                await conn.close()
                return
        except OSError:
            await conn.close()
        await asyncio.sleep(0.3)
    raise SystemExit("server did not become ready")


def fixed(path: str) -> Callable[[int], str]:
    return lambda n: path


class Bench:
    def __init__(self, args: argparse.Namespace, port: int, url: str) -> None:
        self.args, self.port, self.url = args, port, url
        self.results: list[Result] = []
        self.clients: list[Client] = []
        self.conns: list[Connection] = []

    def connections(self, n: int) -> list[Connection]:
        while len(self.conns) < n:
            self.conns.append(Connection(HOST, self.port))
        return self.conns[:n]

    def keep(self, result: Result) -> Result:
        self.results.append(result)
        s = result.summary()
        print(
            f"  {s['name']:<44} {s['throughput']:8.1f}/s  p50 {s['p50_ms']:7.1f}  "
            f"p95 {s['p95_ms']:7.1f}  p99 {s['p99_ms']:7.1f} ms  {s['statuses']}",
            flush=True,
        )
        return result

    async def setup(self) -> Targets:
        per_client = 400 if self.args.scale == "large" else 150
        t = await load_targets(self.url, self.args.clients * per_client)
        if len(t.users) < self.args.clients + 64:
            raise SystemExit("the database has too few benchmark accounts")
        await remove_supports(self.url, [u for u, _ in t.users])  # leftovers of a stopped run
        self.clients = [Client(u, e) for u, e in t.users[: self.args.clients]]
        for i, client in enumerate(self.clients):
            client.to_support = t.supportable[i :: self.args.clients]
        semaphore = asyncio.Semaphore(8)  # argon2 on the server: a few at a time

        async def one(client: Client, conn: Connection) -> None:
            async with semaphore:
                await sign_in(conn, client)

        await asyncio.gather(
            *(
                one(c, k)
                for c, k in zip(self.clients, self.connections(len(self.clients)), strict=True)
            )
        )
        self.signed_in_at = time.monotonic()
        print(f"({len(self.clients)} clients signed in)", flush=True)
        return t

    async def fresh_tokens(self) -> None:
        """Access tokens live 15 minutes: renew them (refresh grant) every 10."""
        if time.monotonic() - self.signed_in_at < 600:
            return
        conns = self.connections(len(self.clients))
        await asyncio.gather(*(refresh(k, c) for c, k in zip(self.clients, conns, strict=True)))
        self.signed_in_at = time.monotonic()

    async def closed(self, name: str, step: Step, *, clients: int | None = None) -> Result:
        await self.fresh_tokens()
        n = clients or self.args.clients
        return self.keep(await closed_loop(name, self.connections(n), step, self.args.seconds))

    def get(self, path: Callable[[int], str]) -> Step:
        counters = [0] * self.args.clients

        async def step(conn: Connection, i: int) -> int:
            client = self.clients[i % len(self.clients)]
            counters[i % len(counters)] += 1
            status, _ = await conn.request(
                "GET", path(i * 7919 + counters[i % len(counters)]), headers=client.auth
            )
            return status

        return step

    async def run(self) -> dict[str, Any]:
        t = await self.setup()
        a = self.args
        ceiling_users = [u for u, _ in t.users[a.clients : a.clients + 192]]
        ceiling = self.keep(
            await support_ceiling(
                self.url,
                users=ceiling_users,
                proposals=t.supportable,
                table_id=t.table_id,
                organization_id=t.organization_id,
                seconds=a.seconds,
            )
        )
        await remove_supports(self.url, ceiling_users)
        ceiling_rate = ceiling.summary()["throughput"]

        async def cast(conn: Connection, i: int) -> int | None:
            client = self.clients[i % len(self.clients)]
            if not client.to_support:
                return None
            proposal = client.to_support.pop()
            status, _ = await conn.request(
                "PUT", f"/v1/proposals/{proposal}/support", headers=client.auth
            )
            if status < 300:
                client.supported.append(proposal)
            return status

        async def withdraw(conn: Connection, i: int) -> int | None:
            client = self.clients[i % len(self.clients)]
            if not client.supported:
                return None
            proposal = client.supported.pop()
            status, _ = await conn.request(
                "DELETE", f"/v1/proposals/{proposal}/support", headers=client.auth
            )
            return status

        async def me(conn: Connection, i: int) -> int:
            status, _ = await conn.request("GET", "/v1/me", headers=self.clients[i].auth)
            return status

        async def renew(conn: Connection, i: int) -> int:
            return await refresh(conn, self.clients[i])

        async def comment(conn: Connection, i: int) -> int:
            proposal = t.read[(i * 13 + int(time.perf_counter() * 1000)) % len(t.read)]
            body = json.dumps({"body": f"Commento di prova {uuid.uuid4().hex[:8]}"}).encode()
            status, _ = await conn.request(
                "POST",
                f"/v1/proposals/{proposal}/comments",
                headers=self.clients[i].auth,
                body=body,
            )
            return status

        print("closed loop:", flush=True)
        await self.closed("PUT support (cast)", cast)
        await self.closed("DELETE support (withdraw)", withdraw)
        await self.closed(
            "GET /v1/proposals/{id}", self.get(lambda n: f"/v1/proposals/{t.read[n % len(t.read)]}")
        )
        deep = min(400_000, int(t.proposals * 0.8))
        cursors: dict[str, dict[int, str | None]] = {}
        depths = [d for d in (0, 1_000, 10_000, 100_000, 400_000) if d < t.proposals - 40]
        depths = sorted({*depths, deep})
        for sort in SORTS:
            cursors[sort] = {d: await deep_cursor(self.url, t, sort, d) for d in depths}
        checks = {s: await check_cursor(self.connections(1)[0], self.url, t, s) for s in SORTS}
        print(f"(built cursors give the walked page: {checks})", flush=True)
        for sort in SORTS:
            seed = {"seed": SEED} if sort == "random" else {}
            for depth in (0, deep):
                cursor = cursors[sort][depth]
                query = {"sort": sort, **seed, **({"cursor": cursor} if cursor else {})}
                path = list_path(t.table_id, **query)
                label = f"GET list sort={sort} " + ("page 1" if depth == 0 else f"{depth} deep")
                await self.closed(label, self.get(fixed(path)))
        node_path = list_path(t.table_id, node=t.axis)
        q_path = list_path(t.table_id, q="bicicletta")
        await self.closed("GET list node=<axis>", self.get(lambda n: node_path))
        await self.closed("GET list q=bicicletta", self.get(lambda n: q_path))
        await self.closed("POST comment", comment)
        thread = f"/v1/proposals/{t.thread}/comments?limit=20"
        await self.closed("GET thread (most commented)", self.get(lambda n: thread))
        await self.closed("POST /v1/auth/token (refresh)", renew)
        await self.closed("GET /v1/me", me)

        print("open loop:", flush=True)
        await self.fresh_tokens()
        pool = self.connections(min(256, max(a.clients, 128)))
        rate = max(1.0, ceiling_rate / 2)
        self.keep(
            await open_loop("PUT support (cast) @ ceiling/2", pool, cast, rate, a.open_seconds)
        )
        read = self.get(lambda n: f"/v1/proposals/{t.read[n % len(t.read)]}")
        self.keep(
            await open_loop("GET /v1/proposals/{id} @ 250/s", pool, read, 250, a.open_seconds)
        )
        page1 = list_path(t.table_id, sort="recent")
        self.keep(
            await open_loop(
                "GET list sort=recent @ 250/s", pool, self.get(lambda n: page1), 250, a.open_seconds
            )
        )

        print("sequential (one client), latency against page depth:", flush=True)
        conn = self.connections(1)[0]
        curve: dict[str, list[dict[str, Any]]] = {}
        sequential_rows: list[Result] = []
        for sort in SORTS:
            seed = {"seed": SEED} if sort == "random" else {}
            curve[sort] = []
            for depth in depths:
                cursor = cursors[sort][depth]
                path = list_path(
                    t.table_id, sort=sort, **seed, **({"cursor": cursor} if cursor else {})
                )
                name = f"seq list sort={sort} depth={depth}"
                r = self.keep(
                    await sequential(name, conn, self.get(fixed(path)), requests=40, within=8)
                )
                curve[sort].append({"depth": depth, **r.summary()})
                if depth in (0, deep):
                    sequential_rows.append(r)
        for name, path in (("seq list node=<axis>", node_path), ("seq list q=bicicletta", q_path)):
            sequential_rows.append(
                self.keep(
                    await sequential(name, conn, self.get(fixed(path)), requests=40, within=8)
                )
            )
        for c in self.conns:
            await c.close()

        supported = {p for c in self.clients for p in c.supported}
        exact = await self._counters_exact(supported)
        removed = await remove_supports(self.url, [c.user_id for c in self.clients])
        print(
            f"(supports_count equal to the rows on {len(supported)} supported proposals: "
            f"{exact}; removed {removed} bench supports)"
        )
        return {
            "data": {"hot_table_proposals": t.proposals},
            "ceiling_throughput": ceiling_rate,
            "cursor_checks": checks,
            "counters_exact": exact,
            "depth_curve": curve,
            "results": [r.summary() for r in self.results if r.mode != "sequential"],
            "sequential": [r.summary() for r in sequential_rows],
        }

    async def _counters_exact(self, proposals: set[uuid.UUID]) -> bool:
        conn = await asyncpg.connect(self.url)
        try:
            wrong = await conn.fetchval(
                """SELECT count(*) FROM proposals p WHERE p.id = ANY($1::uuid[])
                   AND p.supports_count <> (SELECT count(*) FROM proposal_supports s
                                            WHERE s.proposal_id = p.id)""",
                list(proposals),
            )
        finally:
            await conn.close()
        return bool(wrong == 0)


def start_server(url: str, port: int, workers: int | None) -> subprocess.Popen[bytes]:
    """`consulta serve` against `url`, in the default configuration but for the limits."""
    mail_dir = tempfile.mkdtemp(prefix="consulta-bench-mail-")
    env = dict(
        os.environ,
        DATABASE_URL=url,
        LOG_LEVEL="WARNING",
        PORT=str(port),
        MAIL_BACKEND="file",
        MAIL_DIR=mail_dir,
        LOGIN_MAX_FAILURES_PER_ADDRESS="100000",
        # Every request comes from one address: limits high enough never to trip, but
        # still counted, so the limiter's cost is in the numbers.
        **{
            f"WRITE_LIMIT_{kind}_PER_{who}": "100000000"
            for kind in ("PROPOSALS", "COMMENTS", "REPORTS", "SUPPORTS")
            for who in ("PERSON", "ADDRESS")
        },
    )
    if workers:
        env["WORKERS"] = str(workers)
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--migrate"], env=env, stdout=subprocess.DEVNULL
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=("small", "large"), default="small")
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=4.0, help="per closed-loop scenario")
    parser.add_argument("--open-seconds", type=float, default=5.0, help="per open-loop scenario")
    parser.add_argument("--workers", type=int, help="server workers (default: the server's)")
    parser.add_argument("--label", default="", help="stored with the results (e.g. before)")
    args = parser.parse_args()
    if not asyncio.run(database_exists(args.scale)):
        generate(args.scale)
    url = database_url(args.scale)
    port = _free_port()
    workers = args.workers or get_settings().workers
    server = start_server(url, port, args.workers)
    started = time.monotonic()
    try:
        asyncio.run(_wait_ready(port, server))
        document: dict[str, Any] = asyncio.run(Bench(args, port, url).run())
    finally:
        server.terminate()
        server.wait(timeout=30)
    document.update(
        scale=args.scale,
        label=args.label,
        workers=workers,
        cpus=os.cpu_count(),
        seconds_total=round(time.monotonic() - started, 1),
    )
    report.print_table(document["results"] + document["sequential"], document["ceiling_throughput"])
    print(f"results: {report.write(args.scale, document)}")
    print(f"chart:   {report.chart()}")


if __name__ == "__main__":
    main()
