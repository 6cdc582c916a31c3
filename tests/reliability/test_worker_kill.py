"""`kill -9` of a `consulta worker` process in the middle of a delivery batch: another
worker process takes the killed one's claims over once their lease runs out, and every
event reaches the (real, loopback) receiver at least once, a redelivery under the same
`webhook-id`; events recorded while no worker ran are delivered too.

tests/test_webhooks.py covers the same hand-over inside one process (a cancelled round);
here the worker is a real process, killed by the operating system."""

import asyncio
import signal
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlmodel import select

from app.db import get_sessionmaker
from app.event_types import EventType
from app.events import record_event
from app.main import create_app
from app.models.integrations import WebhookDelivery
from tests.factories import Scene, make_proposal, make_scene
from tests.factories.webhooks import allow_private_targets, receiving
from tests.helpers import bearer, make_client
from tests.servers import truncate_all, worker_process

LEASE_SECONDS = 15  # the shortest WORKER_LEASE_SECONDS allowed
WORKER_SETTINGS = {
    "WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
    "WORKER_LEASE_SECONDS": str(LEASE_SECONDS),
}


@pytest.fixture
async def scene(engine: Any) -> AsyncIterator[tuple[Scene, Any]]:
    async with get_sessionmaker()() as session:
        built = await make_scene(session, content=False)
        proposal = await make_proposal(session, built.table, built.member)
        await session.commit()
    yield built, proposal
    await truncate_all(engine)


async def _record(scene: Scene, proposal: Any, count: int) -> None:
    async with get_sessionmaker()() as session:
        for _ in range(count):
            record_event(
                session,
                EventType.PROPOSAL_UPDATED,
                subject_type="proposal",
                subject_id=proposal.id,
                actor_id=None,
                organization_id=scene.org.id,
            )
        await session.commit()


async def _wait_for(predicate: Any, seconds: float) -> None:
    for _ in range(int(seconds * 10)):
        if await predicate():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"not within {seconds} s")


async def _deliveries() -> list[WebhookDelivery]:
    async with get_sessionmaker()() as session:
        return list((await session.exec(select(WebhookDelivery))).all())


async def test_a_killed_worker_process_loses_no_event(scene, database_url, monkeypatch, tmp_path):
    scene, proposal = scene
    allow_private_targets(monkeypatch)
    # The first request is held open: the worker is killed while its batch is in flight.
    async with receiving(script=[0]) as receiver:
        async with make_client(create_app()) as api:
            hook = await api.post(
                f"/v1/organizations/{scene.org.slug}/webhooks",
                json={"url": receiver.url, "event_types": ["*"]},
                headers=bearer(scene.admin),
            )
            assert hook.status_code == 201, hook.text
        await _record(scene, proposal, 6)

        with worker_process(database_url, tmp_path, **WORKER_SETTINGS) as doomed:

            async def all_sent() -> bool:
                return len(receiver.requests) >= 6

            await _wait_for(all_sent, 60)  # the process starts first
            doomed.send_signal(signal.SIGKILL)
            assert doomed.wait(10) == -signal.SIGKILL
        before_kill = {r.headers["webhook-id"] for r in receiver.requests}
        # No outcome was recorded: the batch waited for the held request.
        assert all(d.status == "pending" for d in await _deliveries())
        await _record(scene, proposal, 3)  # while no worker runs

        with worker_process(database_url, tmp_path, **WORKER_SETTINGS):

            async def all_delivered() -> bool:
                done = await _deliveries()
                return len(done) == 9 and all(d.status == "succeeded" for d in done)

            await _wait_for(all_delivered, LEASE_SECONDS + 60)

    deliveries = await _deliveries()
    expected = {f"msg_{d.id.hex}" for d in deliveries}
    received: dict[str, list[bytes]] = defaultdict(list)
    for request in receiver.requests:
        received[request.headers["webhook-id"]].append(request.body)
    assert set(received) == expected  # every event, under its delivery's id
    assert before_kill <= expected and len(before_kill) == 6
    # At least once: what the killed worker sent went again, under the same id, and the
    # same message each time.
    assert all(len(received[i]) >= 2 for i in before_kill)
    assert all(len(set(bodies)) == 1 for bodies in received.values())
    assert {d.type for d in deliveries} == {EventType.PROPOSAL_UPDATED.value}
