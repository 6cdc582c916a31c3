"""Reads from a real streaming replica, and nobody misses their own write.

A scratch primary (embedded PostgreSQL), a hot standby made with `pg_basebackup -R` and
streaming from it, and two API processes with `DATABASE_REPLICA_URLS` set. Replay on the
standby is paused (`pg_wal_replay_pause()`), so the replica is visibly behind: the writer,
reading on the *other* process right after the write, sees it (the primary answers); an
anonymous reader sees the replica's older state. Once replay resumes everyone sees the
write, and the writer reads from the replica again (a change made behind the API's back,
on the primary only, stays invisible to them while replay is paused)."""

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import to_async_url
from tests.factories import make_org, make_user
from tests.helpers import bearer
from tests.replicas import ScratchReplica
from tests.servers import ScratchPostgres, server_process


@pytest.fixture
def primary(tmp_path: Path) -> Iterator[ScratchPostgres]:
    postgres = ScratchPostgres(tmp_path / "pg")
    try:
        yield postgres
    finally:
        postgres.close()


@pytest.fixture
async def world(primary: ScratchPostgres) -> AsyncIterator[dict[str, Any]]:
    url = await primary.create_migrated_database()
    engine = create_async_engine(to_async_url(url), isolation_level="AUTOCOMMIT")
    async with AsyncSession(engine, expire_on_commit=False) as session:
        admin = await make_user(session, name="Admin")
        org = await make_org(session, admin=admin)
        await session.commit()
    replica = await asyncio.to_thread(ScratchReplica, primary)
    standby = create_async_engine(to_async_url(replica.url(url)), isolation_level="AUTOCOMMIT")
    try:
        yield {
            "url": url,
            "replica": replica,
            "standby": standby,
            "primary": engine,
            "admin": admin,
            "org": org,
        }
    finally:
        await standby.dispose()
        await engine.dispose()
        await asyncio.to_thread(replica.close)


async def _scalar(engine: AsyncEngine, sql: str, **params: Any) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar()


async def _until(check: Any, seconds: float = 15.0) -> None:
    for _ in range(int(seconds / 0.1)):
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("timed out")


async def test_the_writer_reads_their_write_while_the_replica_lags(world, tmp_path):
    standby, primary = world["standby"], world["primary"]
    org, admin = world["org"], bearer(world["admin"])
    assert await _scalar(standby, "SELECT pg_is_in_recovery()") is True

    async def replica_has(name: str) -> bool:
        found = await _scalar(standby, "SELECT name FROM organizations WHERE id = :id", id=org.id)
        return bool(found == name)

    await _until(lambda: replica_has(org.name))
    settings = {"DATABASE_REPLICA_URLS": world["replica"].url(world["url"])}
    path = f"/v1/organizations/{org.slug}"
    with (
        server_process(world["url"], tmp_path, **settings) as one,
        server_process(world["url"], tmp_path, **settings) as other,
    ):
        async with (
            httpx.AsyncClient(base_url=one.url, timeout=20) as writer_side,
            httpx.AsyncClient(base_url=other.url, timeout=20) as reader_side,
        ):
            await _scalar(standby, "SELECT pg_wal_replay_pause()")
            await _until(
                lambda: _scalar(standby, "SELECT pg_get_wal_replay_pause_state() = 'paused'")
            )

            patched = await writer_side.patch(path, json={"name": "Città nuova"}, headers=admin)
            assert patched.status_code == 200, patched.text

            # The writer, on the other process, right away: their own write.
            mine = await reader_side.get(path, headers=admin)
            assert mine.status_code == 200 and mine.json()["name"] == "Città nuova"
            # An anonymous reader is served by the replica, which has not replayed it.
            theirs = await reader_side.get(path)
            assert theirs.status_code == 200 and theirs.json()["name"] == org.name
            assert not await replica_has("Città nuova")
            # Writes still go to the primary, also while the replica is behind.
            again = await reader_side.patch(path, json={"name": "Città di nuovo"}, headers=admin)
            assert again.status_code == 200, again.text
            assert (await writer_side.get(path, headers=admin)).json()["name"] == "Città di nuovo"

            await _scalar(standby, "SELECT pg_wal_replay_resume()")

            async def anonymous_sees_it() -> bool:
                return bool((await reader_side.get(path)).json()["name"] == "Città di nuovo")

            await _until(anonymous_sees_it)

            # Caught up, the writer reads from the replica too: pause replay, change the
            # name on the primary only (no API write, no fence), and they still see the
            # replica's value while the primary has moved on.
            await _scalar(standby, "SELECT pg_wal_replay_pause()")
            await _until(
                lambda: _scalar(standby, "SELECT pg_get_wal_replay_pause_state() = 'paused'")
            )
            async with primary.connect() as conn:
                await conn.execute(
                    text("UPDATE organizations SET name = 'Solo sul primario' WHERE id = :id"),
                    {"id": org.id},
                )
            assert (await reader_side.get(path, headers=admin)).json()["name"] == "Città di nuovo"
            await _scalar(standby, "SELECT pg_wal_replay_resume()")
    assert "Traceback" not in one.output() + other.output()


async def test_an_unreachable_replica_sends_reads_to_the_primary(database_url, tmp_path):
    dead = "postgresql://postgres:@/nowhere?host=/nonexistent-replica-socket"
    with server_process(database_url, tmp_path, DATABASE_REPLICA_URLS=dead) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=20) as client:
            for _ in range(3):
                response = await client.get("/v1/organizations")
                assert response.status_code == 200, response.text
                assert response.json()["items"] == []
        assert "replica 0 unreachable" in server.output()
