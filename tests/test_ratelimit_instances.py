"""Rate-limit counters shared through PostgreSQL: `ratelimit.hit_many` (one statement for
several keys, exact under concurrency), and a write limit holding across two separate
server processes on one database."""

import asyncio
import os
import random
import socket
import subprocess
import sys
import time
import uuid

import httpx
import pytest
from sqlalchemy import text

from app import ratelimit
from app.config import PROJECT_ROOT
from app.db import get_engine, get_sessionmaker
from tests.factories import PASSWORD, comments_count, make_scene
from tests.helpers import comments_url, login


def _limits(window: int = 1_000_000) -> list[ratelimit.Limit]:
    tag = uuid.uuid4().hex[:8]
    return [
        ratelimit.Limit(f"test:{tag}:person", 5, window),
        ratelimit.Limit(f"test:{tag}:address", 50, window),
    ]


async def _stored(key: str) -> int | None:
    async with get_engine().connect() as conn:
        value = await conn.scalar(
            text("SELECT sum(count) FROM rate_limit_counters WHERE key = :key"), {"key": key}
        )
        return None if value is None else int(value)


async def test_hit_many_counts_every_key_in_one_statement(engine, query_counter, monkeypatch):
    monkeypatch.setattr(random, "random", lambda: 1.0)  # no housekeeping now
    person, address = _limits()
    query_counter.reset()
    usages = await ratelimit.hit_many([person, address])
    assert query_counter.count == 1, query_counter.statements
    assert "ON CONFLICT" in query_counter.statements[0]
    assert [(u.count, u.limit) for u in usages] == [(1, 5), (1, 50)]
    assert usages[0].resets_at == person.window(usages[0].resets_at)[0]  # a window's end

    usages = await ratelimit.hit_many([address, person])  # answers in the order asked
    assert [(u.count, u.limit) for u in usages] == [(2, 50), (2, 5)]
    # Committed on their own: another connection sees them.
    assert (await _stored(person.key), await _stored(address.key)) == (2, 2)
    assert await ratelimit.hit_many([]) == []
    with pytest.raises(ValueError):
        await ratelimit.hit_many([person, person])


async def test_hit_many_is_exact_under_concurrency(engine):
    person, address = _limits()
    results = await asyncio.gather(*(ratelimit.hit_many([person, address]) for _ in range(40)))
    assert sorted(u[0].count for u in results) == list(range(1, 41))
    assert sorted(u[1].count for u in results) == list(range(1, 41))
    assert (await _stored(person.key), await _stored(address.key)) == (40, 40)


async def test_hit_chain_charges_the_next_limit_only_within_the_previous(
    engine, query_counter, monkeypatch
):
    monkeypatch.setattr(random, "random", lambda: 1.0)  # no housekeeping now
    person, address = (
        ratelimit.Limit(f"test:{uuid.uuid4().hex[:8]}:person", 2, 1_000_000),
        ratelimit.Limit(f"test:{uuid.uuid4().hex[:8]}:address", 50, 1_000_000),
    )
    query_counter.reset()
    usages = await ratelimit.hit_chain([person, address])
    assert query_counter.count == 1, query_counter.statements
    assert [(u.count, u.limit) for u in usages] == [(1, 2), (1, 50)]
    assert usages[1].resets_at == address.window(usages[1].resets_at)[0]  # a window's end
    assert [u.count for u in await ratelimit.hit_chain([person, address])] == [2, 2]
    # Past the first limit: the second is read as it stands, not charged.
    for expected in (3, 4):
        assert [u.count for u in await ratelimit.hit_chain([person, address])] == [expected, 2]
    assert (await _stored(person.key), await _stored(address.key)) == (4, 2)
    # Another first limit within its own still charges the shared one.
    other = ratelimit.Limit(f"test:{uuid.uuid4().hex[:8]}:person", 2, 1_000_000)
    assert [u.count for u in await ratelimit.hit_chain([other, address])] == [1, 3]
    # Nothing counted yet on the second: zero.
    fresh = ratelimit.Limit(f"test:{uuid.uuid4().hex[:8]}:address", 50, 1_000_000)
    assert [u.count for u in await ratelimit.hit_chain([person, fresh])] == [5, 0]
    assert await _stored(fresh.key) is None
    assert [u.count for u in await ratelimit.hit_chain([fresh])] == [1]
    assert await ratelimit.hit_chain([]) == []
    with pytest.raises(ValueError):
        await ratelimit.hit_chain([person, person])


async def test_hit_chain_is_exact_under_concurrency(engine):
    # Ten people on one address, eight requests each against a limit of 3: exactly 3 per
    # person reach the address, whatever the interleaving, and nothing deadlocks.
    tag = uuid.uuid4().hex[:8]
    address = ratelimit.Limit(f"test:{tag}:address", 1000, 1_000_000)
    people = [ratelimit.Limit(f"test:{tag}:person:{n}", 3, 1_000_000) for n in range(10)]
    results = await asyncio.gather(
        *(ratelimit.hit_chain([person, address]) for person in people for _ in range(8))
    )
    charged = sorted(u[1].count for u in results if u[0].count <= 3)
    assert charged == list(range(1, 31))
    for person in people:
        assert await _stored(person.key) == 8
    assert await _stored(address.key) == 30


# --- two server processes, one database ------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _start_server(port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "app.main:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


async def _wait_ready(process: subprocess.Popen[bytes], base_url: str) -> None:
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient(base_url=base_url, timeout=2) as probe:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                errors = process.stderr.read().decode() if process.stderr else ""
                raise AssertionError(f"server on {base_url} exited:\n{errors}")
            try:
                if (await probe.get("/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise AssertionError(f"server on {base_url} not ready in time")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    if process.stderr:
        process.stderr.close()


async def test_the_write_limit_holds_across_two_server_processes(database_url, committing_client):
    # committing_client: only for its cleanup, which empties every table afterwards.
    limit = 5
    async with get_sessionmaker()() as session:
        scene = await make_scene(session)
        await session.commit()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "ENVIRONMENT": "test",
        "LOG_LEVEL": "WARNING",
        "WRITE_LIMITS_ENABLED": "true",
        "WRITE_LIMIT_COMMENTS_PER_PERSON": str(limit),
        "WRITE_LIMIT_COMMENTS_PER_ADDRESS": "1000",
        # A long window: the test never straddles a window boundary.
        "WRITE_LIMIT_COMMENTS_WINDOW_SECONDS": "1000000",
    }
    ports = [_free_port(), _free_port()]
    processes = [_start_server(port, env) for port in ports]
    clients = [httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") for port in ports]
    try:
        for process, client in zip(processes, clients, strict=True):
            await _wait_ready(process, str(client.base_url))
        tokens = await login(clients[0], scene.member.email, PASSWORD)
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        url = comments_url("proposal", scene.proposal.id)

        statuses = []
        for n in range(limit):  # alternate between the two processes
            response = await clients[n % 2].post(
                url, json={"body": f"Commento {n} da un'istanza"}, headers=headers
            )
            assert response.status_code == 201, response.text
            assert response.headers["RateLimit-Remaining"] == str(limit - 1 - n)
            statuses.append(response.status_code)
        assert statuses == [201] * limit

        # The next one is refused on either instance.
        for client in clients:
            refused = await client.post(url, json={"body": "Uno di troppo"}, headers=headers)
            assert refused.status_code == 429, refused.text
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert refused.json()["code"] == "too_many_writes"
            assert int(refused.headers["Retry-After"]) >= 1
            assert refused.headers["RateLimit-Limit"] == str(limit)
            assert refused.headers["RateLimit-Remaining"] == "0"

        async with get_sessionmaker()() as session:
            assert await comments_count(session, scene.proposal.id) == limit
        assert await _stored(f"write:comments:user:{scene.member.id}") == limit + 2
    finally:
        for client in clients:
            await client.aclose()
        for process in processes:
            _stop(process)
