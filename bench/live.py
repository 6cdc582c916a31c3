"""Live-stream benchmark: `.venv/bin/python -m bench.live --clients 1000 --hold 60`.

Starts two API server processes on free loopback ports against one database (embedded
PostgreSQL in a scratch folder unless DATABASE_URL is set), loads the demo, connects
`--clients` SSE clients (spread over `--processes` client processes) to the demo's live
meeting on server B, then posts `--rounds`
questions through server A and measures, for every client, the time from the POST to the
`question.created` message (p50/p95/max over all deliveries). It also reports server B's
resident memory per idle connection and holds the connections for `--hold` seconds,
counting streams that ended or failed. Targets (issue 14): p95 ≤ 500 ms for 1 000
clients, ≤ 50 KiB per idle connection, no errors over a minute.
"""

import argparse
import asyncio
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx


# Small helpers of the live benchmark's own (the main bench has its own harness).
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


TITLE = "Sessione live: le vostre domande sul Piano"
FACILITATOR = "facilitazione.giovani@consulta.demo"


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _serve(env: dict[str, str], *flags: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", *flags], env=env, stdout=subprocess.DEVNULL
    )


async def _live_meeting(base: str) -> str:
    async with httpx.AsyncClient(base_url=base) as client:
        tables = (await client.get("/v1/organizations/cm-bari/tables?limit=100")).json()
        table = next(t for t in tables["items"] if t["slug"] == "tavolo-giovani")
        meetings = (await client.get(f"/v1/tables/{table['id']}/meetings?limit=100")).json()
        return str(next(m["id"] for m in meetings["items"] if m["title"]["it"] == TITLE))


class Client:
    """One SSE connection of a reader process."""

    def __init__(self) -> None:
        self.ready = asyncio.Event()
        self.failed: str | None = None

    async def run(self, http: httpx.AsyncClient, url: str) -> None:
        try:
            async with http.stream("GET", url) as response:
                response.raise_for_status()
                event = None
                async for line in response.aiter_lines():
                    if line.startswith("event:"):
                        event = line[6:].strip()
                    elif line.startswith("data:") and event == "question.created":
                        # The body is the marker; the wall clock is shared by processes.
                        marker = json.loads(line[5:])["body"]
                        sys.stdout.write(f"arrival {marker} {time.time_ns()}\n")
                    elif line.startswith("data:") and event == "live.state":
                        self.ready.set()
                    elif line == "":
                        event = None
            self.failed = "stream ended"
        except (httpx.HTTPError, OSError) as exc:
            self.failed = repr(exc)
        finally:
            self.ready.set()


async def _reader(url: str, clients: int) -> None:
    """A reader process: `clients` streams; prints `ready`, then one `arrival` line per
    question received, and `failed N` when told to stop (stdin closed)."""
    limits = httpx.Limits(max_connections=clients + 10, max_keepalive_connections=0)
    timeout = httpx.Timeout(120, read=None)
    async with httpx.AsyncClient(limits=limits, timeout=timeout) as http:
        readers = [Client() for _ in range(clients)]
        tasks = [asyncio.create_task(r.run(http, url)) for r in readers]
        await asyncio.gather(*(r.ready.wait() for r in readers))
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        loop = asyncio.get_running_loop()
        flusher = asyncio.create_task(_flush_forever())
        await loop.run_in_executor(None, sys.stdin.read)
        flusher.cancel()
        failed = [r.failed for r in readers if r.failed]
        sys.stdout.write(f"failed {len(failed)} {failed[:1]}\n")
        sys.stdout.flush()
        for task in tasks:
            task.cancel()


async def _flush_forever() -> None:
    while True:
        await asyncio.sleep(0.005)
        sys.stdout.flush()


async def _bench(args: argparse.Namespace, a: str, b: str, pid_b: int) -> None:
    await _wait_ready(a)
    await _wait_ready(b)
    meeting = await _live_meeting(a)
    # The facilitator asks: on the youth table (which admits minors) members' questions
    # wait for approval.
    member = {"Authorization": f"Bearer {await _token(a, FACILITATOR)}"}
    idle_before = _rss_kib(pid_b)
    url = f"{b}/v1/meetings/{meeting}/live"
    share = [args.clients // args.processes] * args.processes
    share[0] += args.clients - sum(share)
    started = time.perf_counter()
    readers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.live",
            "--reader",
            url,
            "--clients",
            str(n),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        for n in share
    ]
    arrivals: dict[str, list[int]] = {}
    ready = 0
    failures: list[str] = []

    async def listen(process: asyncio.subprocess.Process) -> None:
        nonlocal ready
        assert process.stdout is not None
        async for raw in process.stdout:
            kind, _, rest = raw.decode().strip().partition(" ")
            if kind == "ready":
                ready += 1
            elif kind == "arrival":
                marker, _, at = rest.partition(" ")
                arrivals.setdefault(marker, []).append(int(at))
            elif kind == "failed":
                failures.append(rest)

    listeners = [asyncio.create_task(listen(r)) for r in readers]
    while ready < len(readers):  # noqa: ASYNC110 (counts the readers' reports)
        await asyncio.sleep(0.1)
    print(f"{args.clients} streams open in {time.perf_counter() - started:.1f} s")
    await asyncio.sleep(2)
    per_conn = (_rss_kib(pid_b) - idle_before) / args.clients
    print(f"server B memory: {per_conn:.1f} KiB per idle connection")
    latencies: list[float] = []
    cpu_before = _cpu_seconds(pid_b)
    async with httpx.AsyncClient(base_url=a, timeout=30) as api:
        for i in range(args.rounds):
            marker = f"bench-{i}-{time.time_ns()}"
            sent = time.time_ns()
            response = await api.post(
                f"/v1/meetings/{meeting}/questions", json={"body": marker}, headers=member
            )
            response.raise_for_status()
            deadline = time.perf_counter() + 10
            while (  # noqa: ASYNC110 (counts the readers' reports)
                time.perf_counter() < deadline and len(arrivals.get(marker, ())) < args.clients
            ):
                await asyncio.sleep(0.01)
            got = arrivals.get(marker, [])
            latencies += [(at - sent) / 1e9 for at in got]
            if len(got) < args.clients:
                print(f"round {i}: {args.clients - len(got)} clients did not get the question")
            await asyncio.sleep(0.5)
    cpu = (_cpu_seconds(pid_b) - cpu_before) / max(1, len(latencies))
    print(f"server B CPU: {cpu * 1e6:.0f} µs per delivered message (rounds and idle pauses)")
    latencies.sort()
    if len(latencies) >= 2:
        p = statistics.quantiles(latencies, n=100)
        print(
            f"delivery A→B over {len(latencies)} messages: p50 {p[49] * 1000:.0f} ms  "
            f"p95 {p[94] * 1000:.0f} ms  max {latencies[-1] * 1000:.0f} ms"
        )
    await asyncio.sleep(args.hold)
    for process in readers:
        assert process.stdin is not None
        process.stdin.close()
    await asyncio.gather(*listeners)
    for process in readers:
        await process.wait()
    print(f"after holding {args.hold:.0f} s: failed streams per reader {failures}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--hold", type=float, default=60)
    parser.add_argument("--processes", type=int, default=4, help="client processes")
    parser.add_argument("--reader", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.reader:
        asyncio.run(_reader(args.reader, args.clients))
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
    port_a, port_b = _free_port(), _free_port()
    env: dict[str, Any] = dict(
        os.environ,
        LOG_LEVEL="WARNING",
        WORKERS="1",
        WRITE_LIMITS_ENABLED="false",
        DB_POOL_SIZE="20",
    )
    if not env.get("DATABASE_URL"):
        env["DATA_DIR"] = tempfile.mkdtemp(prefix="consulta-bench-live-")
    env["MAIL_DIR"] = tempfile.mkdtemp(prefix="consulta-bench-mail-")
    first = _serve({**env, "PORT": str(port_a)}, "--migrate", "--seed-demo")
    second: subprocess.Popen[bytes] | None = None
    try:
        asyncio.run(_wait_ready(f"http://127.0.0.1:{port_a}", 300))
        second = _serve({**env, "PORT": str(port_b)})
        asyncio.run(
            _bench(args, f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}", second.pid)
        )
    finally:
        for server in (first, second):
            if server is not None:
                server.terminate()
                server.wait(timeout=30)


if __name__ == "__main__":
    main()
