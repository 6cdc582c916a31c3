"""Where a server worker's time goes under each hot path:
`python -m bench.profile [--scale small] [--seconds 8]`.

Starts `consulta serve` with one worker (so that one process serves everything), and
for each hot path runs the closed-loop load while `py-spy record` samples the worker.
Each profile is summarized twice: by the layer of the innermost frame (self time) and
by layers a sample passes through (inclusive time), and the collapsed stacks are kept
in `bench/results/profile-<scale>-<scenario>.txt` (`flamegraph.pl` reads them).
"""

import argparse
import asyncio
import collections
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.__main__ import Bench, _free_port, _wait_ready, fixed, start_server
from bench.benchdb import database_url
from bench.load import Connection, Step
from bench.proposals import list_path
from bench.report import RESULTS

# (label, substring of a frame's "function (file:line)") — first match wins for self time.
LAYERS = [
    ("argon2 / jose (crypto)", ("argon2", "jose/", "cryptography")),
    ("asyncpg (driver)", ("asyncpg/",)),
    ("SQLAlchemy SQL compile + cache key", ("sqlalchemy/sql/",)),
    ("SQLAlchemy ORM (execute, load, flush)", ("sqlalchemy/orm/",)),
    ("SQLAlchemy engine / pool / async bridge", ("sqlalchemy/", "greenlet")),
    ("SQLModel", ("sqlmodel/",)),
    ("pydantic (validate, serialize)", ("pydantic",)),
    ("json encode / decode", ("json/", "orjson")),
    ("FastAPI (routing, deps, encode)", ("fastapi/",)),
    ("Starlette / uvicorn / httptools", ("starlette/", "uvicorn/", "httptools", "h11")),
    ("app code", ("/app/",)),
    ("asyncio event loop", ("asyncio/", "selectors.py")),
]
INCLUSIVE = [
    ("app middleware (app/middleware.py, write_limits, idempotency)", ("app/middleware.py",)),
    ("write limits", ("app/write_limits.py",)),
    ("authentication (app/deps.py)", ("app/deps.py",)),
    ("services (app/services/)", ("app/services/",)),
    ("SQLAlchemy statement compile", ("sqlalchemy/sql/compiler.py",)),
    ("SQLAlchemy cache key", ("sqlalchemy/sql/cache_key.py",)),
    ("SQLAlchemy expression building (coercions, operators)", ("coercions.py", "operators.py")),
    ("ORM loading of rows", ("sqlalchemy/orm/loading.py",)),
    ("asyncpg", ("asyncpg/",)),
    ("response serialization (FastAPI serialize_response)", ("serialize_response",)),
    ("pydantic", ("pydantic",)),
]


def layer(frame: str, table: list[tuple[str, tuple[str, ...]]]) -> str | None:
    for label, needles in table:
        if any(n in frame for n in needles):
            return label
    return None


def summarize(collapsed: str) -> dict[str, Any]:
    total = 0
    self_time: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        leaf = next((lab for f in reversed(frames) if (lab := layer(f, LAYERS))), "other")
        self_time[leaf] += count
        for label in {lab for f in frames if (lab := layer(f, INCLUSIVE))}:
            inclusive[label] += count
    share = {k: round(100 * v / total, 1) for k, v in self_time.most_common()} if total else {}
    through = {k: round(100 * v / total, 1) for k, v in inclusive.most_common()} if total else {}
    return {"samples": total, "self_percent": share, "inclusive_percent": through}


async def profile(args: argparse.Namespace) -> dict[str, Any]:
    url = database_url(args.scale)
    port = _free_port()
    server = start_server(url, port, workers=1)
    results: dict[str, Any] = {}
    try:
        await _wait_ready(port, server)
        bench_args = argparse.Namespace(
            scale=args.scale, clients=args.clients, seconds=args.seconds, open_seconds=0
        )
        bench = Bench(bench_args, port, url)
        t = await bench.setup()
        read = bench.get(lambda n: f"/v1/proposals/{t.read[n % len(t.read)]}")

        async def cast(conn: Connection, i: int) -> int | None:
            client = bench.clients[i % len(bench.clients)]
            if not client.to_support:
                return None
            proposal = client.to_support.pop()
            status, _ = await conn.request(
                "PUT", f"/v1/proposals/{proposal}/support", headers=client.auth
            )
            return status

        async def me(conn: Connection, i: int) -> int:
            return (await conn.request("GET", "/v1/me", headers=bench.clients[i].auth))[0]

        async def comment(conn: Connection, i: int) -> int:
            proposal = t.read[(i * 13 + int(time.perf_counter() * 1000)) % len(t.read)]
            status, _ = await conn.request(
                "POST",
                f"/v1/proposals/{proposal}/comments",
                headers=bench.clients[i].auth,
                body=b'{"body": "Commento di prova per il profilo"}',
            )
            return status

        scenarios: dict[str, Step] = {
            "support-cast": cast,
            "proposal-read": read,
            "list-recent": bench.get(fixed(list_path(t.table_id, sort="recent"))),
            "comment-create": comment,
            "thread-read": bench.get(fixed(f"/v1/proposals/{t.thread}/comments?limit=20")),
            "me": me,
        }
        pid = server.pid
        for name, step in scenarios.items():
            if args.only and name not in args.only:
                continue
            out = RESULTS / f"profile-{args.scale}-{name}.txt"
            spy = subprocess.Popen(  # noqa: ASYNC220 (it runs beside the load, on purpose)
                [
                    str(Path(sys.executable).parent / "py-spy"),
                    "record",
                    "--pid",
                    str(pid),
                    "--duration",
                    str(int(args.seconds)),
                    "--rate",
                    "200",
                    "--format",
                    "raw",
                    "--output",
                    str(out),
                    "--nonblocking",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            result = await bench.closed(name, step)
            await asyncio.to_thread(spy.wait, 60)
            summary = summarize(out.read_text()) if out.exists() else {}
            results[name] = {"load": result.summary(), **summary}
            print(f"  {name}: {summary}", flush=True)
        await asyncio.gather(*(c.close() for c in bench.conns))
    finally:
        server.terminate()
        server.wait(timeout=30)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=("small", "large"), default="small")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--only", nargs="*", help="scenario names")
    parser.add_argument("--label", default="")
    args = parser.parse_args()
    results = asyncio.run(profile(args))
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"profile-{args.scale}{'-' + args.label if args.label else ''}.json"
    path.write_text(json.dumps(results, indent=1))
    print(f"written to {path}")


if __name__ == "__main__":
    main()
