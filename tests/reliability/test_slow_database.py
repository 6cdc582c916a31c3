"""A runaway query and an exhausted pool answer a clean 503 problem+json with
Retry-After, and leave the process serving: nothing hangs.

The slow path is a real one, no test route: the test holds an exclusive lock on the
organizations table, so that a real request's query waits behind it until PostgreSQL
cancels it (DATABASE_STATEMENT_TIMEOUT_MS), while that request holds the pool's only
connection and the next one cannot get any (DB_POOL_TIMEOUT_SECONDS)."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from sqlalchemy import text

from tests.metrics_helpers import AUTH, TOKEN, value
from tests.servers import server_process


def _assert_503(response: httpx.Response, code: str) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert int(response.headers["retry-after"]) >= 1
    body = response.json()
    assert (body["code"], body["status"]) == (code, 503)
    assert "asyncpg" not in response.text and "Traceback" not in response.text


@asynccontextmanager
async def _organizations_locked(engine: Any) -> AsyncIterator[None]:
    async with engine.connect() as conn:
        transaction = await conn.begin()
        await conn.execute(text("LOCK TABLE organizations IN ACCESS EXCLUSIVE MODE"))
        try:
            yield
        finally:
            await transaction.rollback()


async def _waiting_for_the_lock(engine: Any) -> None:
    """Until a server's query waits behind the test's lock (it holds the connection)."""
    query = text(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'consulta' "
        "AND wait_event_type = 'Lock' AND datname = current_database()"
    )
    for _ in range(300):
        async with engine.connect() as conn:
            if await conn.scalar(query):
                return
        await asyncio.sleep(0.05)
    raise AssertionError("no request is waiting for the lock")


async def test_a_runaway_query_is_cancelled_into_a_503(database_url, engine, tmp_path):
    settings = {"DATABASE_STATEMENT_TIMEOUT_MS": "300", "METRICS_TOKEN": TOKEN}
    with server_process(database_url, tmp_path, **settings) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            assert (await client.get("/v1/organizations")).status_code == 200
            async with _organizations_locked(engine):
                _assert_503(await client.get("/v1/organizations"), "database_timeout")
                _assert_503(await client.get("/v1/organizations/cm-bari"), "database_timeout")
                assert (await client.get("/readyz")).status_code == 200  # the rest works
            # The connection went back to the pool, the process serves as before.
            assert (await client.get("/v1/organizations")).status_code == 200
            metrics = (await client.get("/metrics", headers=AUTH)).text
    assert value(metrics, "consulta_database_errors_total", code="database_timeout") == 2
    # The cancelled requests gave their connections back: only the scrape's own (and a
    # background task's, at times) is out.
    assert (value(metrics, "consulta_db_pool_connections_in_use") or 0) <= 2
    assert "internal_error" not in server.output()


async def test_an_exhausted_pool_answers_503_service_busy(database_url, engine, tmp_path):
    settings = {
        "DB_POOL_SIZE": "1",
        "DB_MAX_OVERFLOW": "0",
        "DB_POOL_TIMEOUT_SECONDS": "0.5",
        "DATABASE_STATEMENT_TIMEOUT_MS": "4000",
        "METRICS_TOKEN": TOKEN,
    }
    with server_process(database_url, tmp_path, **settings) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            assert (await client.get("/v1/organizations")).status_code == 200
            async with _organizations_locked(engine):
                # This one takes the only connection and waits behind the lock...
                stuck = asyncio.create_task(client.get("/v1/organizations"))
                await _waiting_for_the_lock(engine)
                # ...so these find no free connection in time.
                _assert_503(await client.get("/v1/organizations/cm-bari"), "service_busy")
                _assert_503(
                    await client.post("/v1/auth/password-reset", json={"email": "a@b.it"}),
                    "service_busy",
                )
                _assert_503(await stuck, "database_timeout")
            assert (await client.get("/v1/organizations")).status_code == 200
            metrics = (await client.get("/metrics", headers=AUTH)).text
    assert (value(metrics, "consulta_db_pool_timeouts_total") or 0) >= 2
    assert value(metrics, "consulta_database_errors_total", code="service_busy") == 2
    assert value(metrics, "consulta_db_pool_capacity") == 1
    wait = value(metrics, "consulta_db_pool_wait_seconds_sum")
    assert wait is not None and wait >= 1.0  # the two waits of half a second, at least
    assert "internal_error" not in server.output()
