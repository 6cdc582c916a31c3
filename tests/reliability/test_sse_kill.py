"""`kill -9` of the server process that holds a live (SSE) stream while events keep
coming through another one: the client resumes on a new process with `Last-Event-ID`
and gets every event it missed, once, in order, then the live ones.

tests/e2e/test_live_stream.py resumes after a client-side disconnect; here the process
itself dies, with whatever it had queued for the client."""

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models.events import Event
from tests.e2e.live_support import SERVER_ENV, Message, Stream, stream, truncate_all
from tests.helpers import bearer
from tests.live_helpers import LiveScene, make_live_scene
from tests.metrics_helpers import AUTH, TOKEN, value
from tests.servers import ServerProcess, server_process

SETTINGS = {**SERVER_ENV, "METRICS_TOKEN": TOKEN}


@pytest.fixture
async def scene(engine: Any) -> AsyncIterator[LiveScene]:
    async with AsyncSession(engine, expire_on_commit=False) as s:
        built = await make_live_scene(s, members=2)
        await s.commit()
    yield built
    await truncate_all(engine)


async def _ask(server: ServerProcess, scene: LiveScene, body: str) -> str:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as api:
        response = await api.post(
            f"/v1/meetings/{scene.meeting.id}/questions",
            json={"body": body},
            headers=bearer(scene.members[1]),
        )
    assert response.status_code == 201, response.text
    question_id: str = response.json()["id"]
    return question_id


async def _spine(engine: Any, scene: LiveScene, after: int) -> list[int]:
    async with AsyncSession(engine) as s:
        rows = await s.exec(
            select(Event.seq)
            .where(col(Event.meeting_id) == scene.meeting.id, col(Event.seq) > after)
            .order_by(col(Event.seq))
        )
        return [int(seq or 0) for seq in rows.all()]


def _received(s: Stream) -> list[Message]:
    """What the stream had delivered before it broke."""
    got: list[Message] = []
    while not s.messages.empty():
        message = s.messages.get_nowait()
        if message is not None:
            got.append(message)
    return got


async def test_a_client_resumes_on_a_new_process_and_misses_nothing(
    scene, database_url, engine, tmp_path
):
    url = f"/v1/meetings/{scene.meeting.id}/live"
    headers = bearer(scene.members[0])
    with server_process(database_url, tmp_path, **SETTINGS) as writer:
        with server_process(database_url, tmp_path, **SETTINGS) as doomed:
            s = await Stream(doomed.url + url, headers).open()
            await s.next("live.state")
            first = await _ask(writer, scene, "Prima")
            heard = await s.next("question.created")
            assert heard.data["id"] == first and heard.id is not None
            # More events, and the process dies while they are on their way.
            await _ask(writer, scene, "Seconda")
            doomed.process.send_signal(signal.SIGKILL)
            assert doomed.process.wait(10) == -signal.SIGKILL
            assert s.task is not None
            with contextlib.suppress(httpx.HTTPError):
                await asyncio.wait_for(s.task, 10)
            # The last event id the client got (the second question's, if it arrived).
            ids = [m.id for m in [heard, *_received(s)] if m.id is not None]
            last_id = int(ids[-1])
            await s.close()
        # While the client is away.
        missed_questions = [await _ask(writer, scene, f"Mentre era via {i}") for i in range(3)]

        with server_process(database_url, tmp_path, **SETTINGS) as fresh:
            resume = {**headers, "Last-Event-ID": str(last_id)}
            async with stream(fresh.url + url, resume) as again:
                async with httpx.AsyncClient(base_url=fresh.url) as api:
                    metrics = (await api.get("/metrics", headers=AUTH)).text
                assert value(metrics, "consulta_live_streams") == 1
                marker = await _ask(writer, scene, "Dopo")
                got = await again.until(
                    lambda m: m.event == "question.created" and m.data["id"] == marker
                )
    spine = [int(m.id or 0) for m in got if m.id is not None]
    # Every event after the last one the client had, once, in order, the live one last.
    assert spine == await _spine(engine, scene, last_id)
    created = [m.data["id"] for m in got if m.event == "question.created"]
    assert created[-4:] == [*missed_questions, marker]
