"""Open-data export benchmark: `.venv/bin/python -m bench.open_data --scale medium`.

Generates the scale's database if it is missing (`bench/generate.py`; `medium` has
100 000 proposals and 1 000 000 comments, `small` 20 000 and ~40 000), starts `consulta
serve` with one worker on a free loopback port against it, then downloads
`/v1/organizations/cm-bari/open-data/{proposals,comments}.csv` (or `--datasets`, `--format
jsonl`) one after the other, reading the body as it streams and throwing it away. It
reports, per dataset and in total, the rows, bytes and wall time, the server's CPU time
(user + system: what the export costs the server whatever the machine's load), and its
resident memory (its process tree's VmRSS, sampled every 20 ms): before, at its peak,
and the growth. Targets (issue 13): proposals + comments of `medium` in ≤ 30 s, growth
≤ 150 MB. A last request with the answer's `ETag` in `If-None-Match` times the 304.
Not part of `make test`: the numbers depend on the machine.
"""

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.benchdb import database_exists, database_url
from bench.generate import generate

ORG = "cm-bari"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tree_rss_kib(pid: int) -> int:
    """VmRSS of a process and of all its descendants, in KiB."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        total += next(
            (int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")),
            0,
        )
        todo.extend(int(c) for c in children)
    return total


def _tree_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its descendants so far."""
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        todo.extend(int(c) for c in children)
    return total


class RssSampler:
    """The peak of a process tree's RSS while it runs (a background task)."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak = pid, _tree_rss_kib(pid)
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            self.peak = max(self.peak, _tree_rss_kib(self.pid))
            await asyncio.sleep(0.02)

    def __enter__(self) -> "RssSampler":
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        self.peak = max(self.peak, _tree_rss_kib(self.pid))


@dataclass
class Download:
    dataset: str
    rows: int
    bytes: int
    seconds: float
    first_byte: float  # seconds to the answer's headers
    etag: str


async def _download(client: httpx.AsyncClient, dataset: str, fmt: str) -> Download:
    started = time.perf_counter()
    size = newlines = 0
    async with client.stream("GET", f"/v1/organizations/{ORG}/open-data/{dataset}.{fmt}") as r:
        r.raise_for_status()
        first = time.perf_counter() - started
        async for chunk in r.aiter_raw(1 << 20):
            size += len(chunk)
            newlines += chunk.count(b"\n")
        etag = r.headers["etag"]
    # CSV rows may hold line breaks inside quoted fields: `rows` counts lines, less the
    # header, an upper bound of the records (exact for JSON Lines).
    rows = newlines - (1 if fmt == "csv" else 0)
    return Download(dataset, rows, size, time.perf_counter() - started, first, etag)


async def _wait_ready(client: httpx.AsyncClient, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("the server exited")
        try:
            if (await client.get("/readyz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.3)
    raise SystemExit("the server did not become ready")


async def _bench(base: str, server: subprocess.Popen[bytes], args: argparse.Namespace) -> None:
    timeout = httpx.Timeout(300, connect=10)
    async with httpx.AsyncClient(base_url=base, timeout=timeout) as client:
        await _wait_ready(client, server)
        # Warm up (imports, first connections) on a tiny dataset.
        await _download(client, "plan-nodes", args.format)
        before = _tree_rss_kib(server.pid)
        cpu_before = _tree_cpu_seconds(server.pid)
        results = []
        with RssSampler(server.pid) as sampler:
            for dataset in args.datasets.split(","):
                done = await _download(client, dataset, args.format)
                results.append(done)
                print(
                    f"{dataset:>12}.{args.format}: {done.rows:>9} rows  "
                    f"{done.bytes / 2**20:8.1f} MiB  {done.seconds:6.2f} s  "
                    f"(headers after {done.first_byte:.2f} s)",
                    flush=True,
                )
        total = sum(r.seconds for r in results)
        cpu = _tree_cpu_seconds(server.pid) - cpu_before
        growth = (sampler.peak - before) / 1024
        print(
            f"{'total':>12}: {sum(r.rows for r in results):>9} rows  "
            f"{sum(r.bytes for r in results) / 2**20:8.1f} MiB  {total:6.2f} s  (target ≤ 30 s)"
        )
        print(f"server CPU time during the downloads: {cpu:.2f} s (of {total:.2f} s wall)")
        print(
            f"server RSS: {before / 1024:.0f} MiB before, {sampler.peak / 1024:.0f} MiB at peak, "
            f"growth {growth:.0f} MiB (target ≤ 150 MB)"
        )
        last = results[-1]
        started = time.perf_counter()
        path = f"/v1/organizations/{ORG}/open-data/{last.dataset}.{args.format}"
        cached = await client.get(path, headers={"If-None-Match": last.etag})
        print(
            f"If-None-Match on {last.dataset}: {cached.status_code} in "
            f"{(time.perf_counter() - started) * 1000:.0f} ms (the 200 took {last.seconds:.2f} s)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=("small", "medium", "large"), default="medium")
    parser.add_argument("--datasets", default="proposals,comments")
    parser.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    args = parser.parse_args()
    if not asyncio.run(database_exists(args.scale)):
        generate(args.scale)
    port = _free_port()
    env = dict(
        os.environ,
        DATABASE_URL=database_url(args.scale),
        LOG_LEVEL="WARNING",
        PORT=str(port),
        WORKERS="1",
        MAIL_DIR=tempfile.mkdtemp(prefix="consulta-bench-mail-"),
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--migrate"], env=env, stdout=subprocess.DEVNULL
    )
    try:
        asyncio.run(_bench(f"http://127.0.0.1:{port}", server, args))
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
