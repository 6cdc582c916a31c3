"""PostgreSQL restarted under load (a scratch server this test owns): while it is down,
requests answer 503 problem+json with Retry-After and /metrics says the database is
down; once it is back, the same API process and the same worker process work again
within 5 seconds, without a restart, and a live (SSE) stream opened before the restart
gets the events written after it (the LISTEN connection reconnected).

tests/test_database_outage.py checks every kind of route during an outage; this one
checks the processes together, under a steady load."""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import to_async_url
from app.models.organizations import OrganizationRole
from tests.e2e.live_support import SERVER_ENV, stream
from tests.factories import make_proposal, make_user
from tests.factories.webhooks import receiving
from tests.helpers import bearer
from tests.live_helpers import LiveScene, make_live_scene
from tests.metrics_helpers import AUTH, TOKEN, value
from tests.servers import ScratchPostgres, scratch_postgres, server_process, worker_process

RECOVERY_SECONDS = 5.0
SETTINGS = {
    **SERVER_ENV,
    "METRICS_TOKEN": TOKEN,
    "WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
    "DB_POOL_SIZE": "3",
    "DB_MAX_OVERFLOW": "0",
}


@dataclass
class World:
    url: str
    scene: LiveScene
    admin: Any
    proposal: Any


@pytest.fixture
async def world() -> AsyncIterator[tuple[ScratchPostgres, World]]:
    with scratch_postgres() as postgres:
        url = await postgres.create_migrated_database()
        engine = create_async_engine(to_async_url(url), poolclass=NullPool)
        async with AsyncSession(engine, expire_on_commit=False) as session:
            scene = await make_live_scene(session, members=2)
            admin = await make_user(session, name="Admin")
            session.add(
                OrganizationRole(organization_id=scene.org.id, user_id=admin.id, role="admin")
            )
            proposal = await make_proposal(session, scene.table, scene.members[0])
            await session.commit()
        await engine.dispose()
        yield postgres, World(url, scene, admin, proposal)


@dataclass
class Load:
    """GET requests one after the other until stopped; every answer kept."""

    client: httpx.AsyncClient
    path: str
    answers: list[httpx.Response]
    stop: asyncio.Event

    async def run(self) -> None:
        while not self.stop.is_set():
            self.answers.append(await self.client.get(self.path))
            await asyncio.sleep(0.05)


async def _within(seconds: float, check: Callable[[], Awaitable[bool]]) -> float:
    """Poll `check` until it holds; how long that took. Fails past `seconds`."""
    started = time.monotonic()
    while not await check():
        assert time.monotonic() - started < seconds, f"not within {seconds} s"
        await asyncio.sleep(0.05)
    return time.monotonic() - started


def _assert_clean(response: httpx.Response) -> None:
    """A 200, or the outage's 503: problem+json with Retry-After, nothing else."""
    if response.status_code == 200:
        return
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert int(response.headers["retry-after"]) >= 1
    assert response.json()["code"] == "database_unavailable"


async def test_the_processes_recover_from_a_database_restart(world, tmp_path):
    postgres, w = world
    s = w.scene
    support = f"/v1/proposals/{w.proposal.id}/support"
    async with receiving() as receiver:
        with (
            server_process(w.url, tmp_path, **SETTINGS) as server,
            worker_process(w.url, tmp_path, **SETTINGS) as worker,
        ):
            api = httpx.AsyncClient(base_url=server.url, timeout=30)
            hook = await api.post(
                f"/v1/organizations/{s.org.slug}/webhooks",
                json={"url": receiver.url, "event_types": ["proposal.*"]},
                headers=bearer(w.admin),
            )
            assert hook.status_code == 201, hook.text
            live = f"{server.url}/v1/meetings/{s.meeting.id}/live"
            async with stream(live, bearer(s.members[0])) as sse:
                await sse.next("live.state")
                assert (await api.put(support, headers=bearer(s.members[1]))).status_code == 201

                def delivered(count: int) -> Callable[[], Awaitable[bool]]:
                    async def check() -> bool:
                        return len(receiver.requests) >= count

                    return check

                await _within(30, delivered(1))
                load = Load(api, f"/v1/organizations/{s.org.slug}", [], asyncio.Event())
                running = asyncio.create_task(load.run())

                await asyncio.to_thread(postgres.stop)
                down = len(load.answers)

                async def some_503() -> bool:
                    return any(r.status_code == 503 for r in load.answers[down:])

                await _within(10, some_503)
                scrape = await api.get("/metrics", headers=AUTH)
                assert scrape.status_code == 200
                assert value(scrape.text, "consulta_database_up") == 0
                assert (await api.get("/healthz")).status_code == 200

                await asyncio.to_thread(postgres.start)
                up = len(load.answers)

                async def answers_again() -> bool:
                    return any(r.status_code == 200 for r in load.answers[up:])

                await _within(RECOVERY_SECONDS, answers_again)
                # The worker process, which has been failing its rounds, works again.
                wrote = await api.put(support, headers=bearer(s.members[0]))
                assert wrote.status_code == 201, wrote.text
                await _within(RECOVERY_SECONDS, delivered(2))
                # The stream opened before the restart hears what is written after it.
                asked = await api.post(
                    f"/v1/meetings/{s.meeting.id}/questions",
                    json={"body": "Dopo il riavvio"},
                    headers=bearer(s.members[1]),
                )
                assert asked.status_code == 201, asked.text
                heard = await sse.next("question.created")
                assert heard.data["id"] == asked.json()["id"]

                load.stop.set()
                await running
                scrape = await api.get("/metrics", headers=AUTH)
            await api.aclose()
            assert worker.poll() is None and server.process.poll() is None  # never restarted
    for answer in load.answers:
        _assert_clean(answer)
    assert value(scrape.text, "consulta_database_up") == 1
    assert (
        value(scrape.text, "consulta_database_errors_total", code="database_unavailable") or 0
    ) > 0
    assert [r.json["type"] for r in receiver.requests] == ["proposal.supported"] * 2
    assert "internal_error" not in server.output()
