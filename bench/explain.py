"""Query plans and round trips of the proposal lists: `python -m bench.explain --scale large`.

Runs the app in-process (httpx ASGI transport) against the scale's database, signed in
as a benchmark account, and for every list request (each sort at page 1 and deep by
cursor, `node`, `q`) records every SQL statement the request sends, then runs
`EXPLAIN (ANALYZE, BUFFERS)` of the list's main query with the same parameters — and,
with `--generic`, `EXPLAIN (GENERIC_PLAN)` of it, the plan PostgreSQL may switch to
after five executions of the prepared statement. Writes
`bench/results/explain-<scale>.txt`.
"""

import argparse
import asyncio
import os
import re
import time
from typing import Any
from urllib.parse import urlencode

import asyncpg
import httpx
from sqlalchemy import event

from bench.benchdb import PASSWORD, database_url
from bench.proposals import SEED, SORTS, deep_cursor, load_targets
from bench.report import RESULTS


def _literal_free(statement: str) -> str:
    return re.sub(r"\s+", " ", statement).strip()


def _sql_literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


async def explain(scale: str, generic: bool) -> str:
    url = database_url(scale)
    os.environ["DATABASE_URL"] = url
    os.environ["LOG_LEVEL"] = "WARNING"
    from app.config import get_settings
    from app.db import get_engine
    from app.main import create_app

    get_settings.cache_clear()

    captured: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        captured.append((statement, parameters))

    event.listen(get_engine().sync_engine, "before_cursor_execute", capture)
    targets = await load_targets(url, 1)
    email = targets.users[0][1]
    out: list[str] = []
    transport = httpx.ASGITransport(app=create_app())
    raw = await asyncpg.connect(url)
    deep = min(400_000, int(targets.proposals * 0.8))
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        signed = await client.post(
            "/v1/auth/token",
            data={"grant_type": "password", "username": email, "password": PASSWORD},
        )
        signed.raise_for_status()
        auth = {"Authorization": f"Bearer {signed.json()['access_token']}"}
        cases: list[tuple[str, dict[str, Any]]] = []
        for sort in SORTS:
            seed = {"seed": SEED} if sort == "random" else {}
            for depth in (0, deep):
                cursor = await deep_cursor(url, targets, sort, depth)
                query = {"sort": sort, **seed, **({"cursor": cursor} if cursor else {})}
                cases.append((f"sort={sort} depth={depth}", query))
        cases.append(("node=<axis A2>", {"node": str(targets.axis)}))
        cases.append(("q=bicicletta", {"q": "bicicletta"}))
        cases.append(("q=bicicletta depth=400", {"q": "bicicletta", "_walk": 400}))
        for name, query in cases:
            walk = int(query.pop("_walk", 0))
            path = f"/v1/tables/{targets.table_id}/proposals?{urlencode({'limit': 20, **query})}"
            base = f"/v1/tables/{targets.table_id}/proposals?"
            cursor = None
            while walk:  # reach a deep page of the ranked list by walking it
                step = {"limit": 100, **query, **({"cursor": cursor} if cursor else {})}
                page = (await client.get(base + urlencode(step), headers=auth)).json()
                cursor, walk = page["next_cursor"], walk - 100
            if cursor:
                path = base + urlencode({"limit": 20, **query, "cursor": cursor})
            for _ in range(2):  # warm: the second request is the one measured
                captured.clear()
                started = time.perf_counter()
                response = await client.get(path, headers=auth)
                elapsed = (time.perf_counter() - started) * 1000
            out.append(
                f"=== {name}: HTTP {response.status_code}, {elapsed:.1f} ms in-process, "
                f"{len(captured)} SQL statements"
            )
            for statement, _ in captured:
                out.append(f"  - {_literal_free(statement)[:160]}")
            main = next(
                (c for c in captured if "FROM proposals JOIN participation_tables" in c[0]), None
            )
            if main is None:
                continue
            statement, parameters = main
            out.append("  main query: " + _literal_free(statement))
            out.append(f"  parameters: {list(parameters)!r}"[:2000])
            plan = await raw.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", *parameters)
            out += ["    " + r[0] for r in plan]
            if generic:  # what a prepared statement may switch to after 5 runs
                await raw.execute(f"PREPARE listing AS {statement}")
                await raw.execute("SET plan_cache_mode = force_generic_plan")
                values = ", ".join(_sql_literal(v) for v in parameters)
                plan = await raw.fetch(f"EXPLAIN (ANALYZE, BUFFERS) EXECUTE listing({values})")
                await raw.execute("RESET plan_cache_mode; DEALLOCATE listing")
                out.append("  generic plan (plan_cache_mode = force_generic_plan):")
                out += ["    " + r[0] for r in plan]
            out.append("")
    await raw.close()
    return "\n".join(out)


async def round_trips(scale: str, repeat: int = 0) -> str:
    """Round trips to PostgreSQL per request of every hot path, in-process: SQL
    statements, transactions (BEGIN and COMMIT/ROLLBACK: two round trips, none for an
    autocommitted connection), pool check-outs and the pings among them (asyncpg's ping
    is three round trips: BEGIN, `;`, ROLLBACK). With `repeat`, also the CPU time of
    this process (the app and the in-process client, not PostgreSQL) per request, over
    `repeat` more requests of each (a support cast is timed with its withdrawal)."""
    url = database_url(scale)
    os.environ["DATABASE_URL"] = url
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ["WRITE_LIMIT_COMMENTS_PER_PERSON"] = "100000"
    # Raised, still counted (as `make bench` does): --cpu casts hundreds of supports.
    os.environ["WRITE_LIMIT_SUPPORTS_PER_PERSON"] = "1000000"
    os.environ["WRITE_LIMIT_SUPPORTS_PER_ADDRESS"] = "1000000"
    from app.config import get_settings
    from app.db import get_engine
    from app.main import create_app

    get_settings.cache_clear()
    counts = {"statements": 0, "transactions": 0, "checkouts": 0, "pings": 0}
    statements: list[str] = []
    async_engine = get_engine()
    engine = async_engine.sync_engine

    def on_statement(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        counts["statements"] += 1
        statements.append(_literal_free(statement)[:110])

    def on_begin(conn: Any) -> None:
        if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            counts["transactions"] += 1

    def on_checkout(*_: Any) -> None:
        counts["checkouts"] += 1

    dialect: Any = async_engine.dialect
    do_ping = dialect.do_ping

    def counting_ping(dbapi_connection: Any) -> Any:
        counts["pings"] += 1
        return do_ping(dbapi_connection)

    dialect.do_ping = counting_ping
    event.listen(engine, "before_cursor_execute", on_statement)
    event.listen(engine, "begin", on_begin)
    event.listen(engine.pool, "checkout", on_checkout)
    targets = await load_targets(url, 10)
    out = []
    transport = httpx.ASGITransport(app=create_app())

    def line(name: str, status: int) -> str:
        trips = counts["statements"] + 2 * counts["transactions"] + 3 * counts["pings"]
        listed = "".join(f"\n      {statement}" for statement in statements)
        return f"{name}: HTTP {status}, {counts}, round trips {trips}{listed}"

    def reset() -> None:
        for k in counts:
            counts[k] = 0
        statements.clear()

    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        email = targets.users[1][1]
        signed = (
            await client.post(
                "/v1/auth/token",
                data={"grant_type": "password", "username": email, "password": PASSWORD},
            )
        ).json()
        auth = {"Authorization": f"Bearer {signed['access_token']}"}
        refresh_token = signed["refresh_token"]
        proposal = targets.supportable[0]
        cases: list[tuple[str, str, str, dict[str, Any]]] = [
            ("GET /v1/me", "GET", "/v1/me", {}),
            ("GET /v1/proposals/{id}", "GET", f"/v1/proposals/{proposal}", {}),
            ("PUT support", "PUT", f"/v1/proposals/{proposal}/support", {}),
            ("DELETE support", "DELETE", f"/v1/proposals/{proposal}/support", {}),
            ("GET list (recent)", "GET", f"/v1/tables/{targets.table_id}/proposals", {}),
            (
                "POST comment",
                "POST",
                f"/v1/proposals/{proposal}/comments",
                {"json": {"body": "Conteggio delle query"}},
            ),
            ("GET thread", "GET", f"/v1/proposals/{targets.thread}/comments", {}),
        ]
        for name, method, path, extra in cases:
            reset()
            response = await client.request(method, path, headers=auth, **extra)
            out.append(line(name, response.status_code))
        if repeat:
            out += await _cpu_per_request(client, auth, cases, repeat)
        reset()
        response = await client.post(
            "/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": refresh_token}
        )
        out.append(line("POST /v1/auth/token (refresh)", response.status_code))
    return "\n".join(out)


async def _cpu_per_request(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    cases: list[tuple[str, str, str, dict[str, Any]]],
    repeat: int,
) -> list[str]:
    timed = {"GET /v1/me", "GET /v1/proposals/{id}", "GET list (recent)", "PUT support"}
    out = [f"CPU time of this process per request ({repeat} requests each):"]
    for name, method, path, extra in cases:
        if name not in timed:
            continue
        started = time.process_time()
        for _ in range(repeat):
            response = await client.request(method, path, headers=auth, **extra)
            assert response.status_code < 300, response.text
            if method == "PUT":  # withdraw again, so that every cast inserts
                await client.delete(path, headers=auth)
        per = (time.process_time() - started) * 1000 / repeat
        out.append(f"  {name}{' + DELETE' if method == 'PUT' else ''}: {per:.2f} ms")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=("small", "large"), default="large")
    parser.add_argument("--generic", action="store_true")
    parser.add_argument("--label", default="")
    parser.add_argument("--round-trips", action="store_true", help="only count round trips")
    parser.add_argument(
        "--cpu", type=int, default=0, help="with --round-trips: time N requests of each"
    )
    args = parser.parse_args()
    if args.round_trips:
        print(asyncio.run(round_trips(args.scale, args.cpu)))
        return
    text = asyncio.run(explain(args.scale, args.generic))
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"explain-{args.scale}{'-' + args.label if args.label else ''}.txt"
    path.write_text(text + "\n")
    marks = ("===", "Execution Time", "generic plan")
    print("\n".join(line for line in text.splitlines() if any(m in line for m in marks)))
    print(f"written to {path}")


if __name__ == "__main__":
    main()
