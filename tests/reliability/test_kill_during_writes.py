"""`kill -9` of an API server process in the middle of a burst of concurrent writes
(supports, proposals, comments; the POSTs with an Idempotency-Key): every write that was
acknowledged is there, nothing is half-written (the counters equal the rows), and the
retries of the unanswered ones, on a new process, create no duplicate.

Unlike tests/test_idempotency_crash.py (a crash hook at a chosen moment of one request),
the process is killed from outside at whatever point each request has reached."""

import asyncio
import signal
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import get_sessionmaker
from app.models.comments import Comment
from app.models.proposals import Proposal, ProposalSupport
from tests.factories import Scene, add_member, make_people, make_scene
from tests.helpers import bearer, new_proposal
from tests.servers import server_process, truncate_all

LEASE_SECONDS = 5
PEOPLE = 25
KILL_AFTER = 8  # answers received before the kill


@dataclass
class Write:
    method: str
    url: str
    headers: dict[str, str]
    body: dict[str, Any] | None
    user_id: uuid.UUID
    response: httpx.Response | None = None


@pytest.fixture
async def scene(engine: Any) -> AsyncIterator[tuple[Scene, list[Any]]]:
    async with get_sessionmaker()() as session:
        built = await make_scene(session)
        people = await make_people(session, PEOPLE, prefix="Cittadina")
        for person in people:
            await add_member(session, built.table, person)
        await session.commit()
    yield built, people
    await truncate_all(engine)


def _burst(scene: Scene, people: list[Any]) -> list[Write]:
    assert scene.content is not None
    proposal = scene.content.proposal
    writes: list[Write] = []
    for i, person in enumerate(people):
        auth = bearer(person)
        writes += [
            Write("PUT", f"/v1/proposals/{proposal.id}/support", auth, None, person.id),
            Write(
                "POST",
                f"/v1/proposals/{proposal.id}/comments",
                {**auth, "Idempotency-Key": f"comment-{i}"},
                {"body": f"Commento della cittadina {i}"},
                person.id,
            ),
            Write(
                "POST",
                f"/v1/tables/{scene.table.id}/proposals",
                {**auth, "Idempotency-Key": f"proposal-{i}"},
                new_proposal(scene.node.id, title=f"Proposta della cittadina {i}"),
                person.id,
            ),
        ]
    return writes


async def _send_all(base_url: str, writes: list[Write], kill: Any) -> None:
    """Send every write at once; once KILL_AFTER have been answered, `kill()`."""
    answered = 0

    async def send(client: httpx.AsyncClient, write: Write) -> None:
        nonlocal answered
        try:
            write.response = await client.request(
                write.method, write.url, headers=write.headers, json=write.body
            )
        except httpx.TransportError:
            return  # unanswered: the process died
        answered += 1
        if answered == KILL_AFTER:
            kill()

    limits = httpx.Limits(max_connections=len(writes))
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as client:
        await asyncio.gather(*(send(client, w) for w in writes))


async def _assert_consistent(session: AsyncSession, proposal_id: uuid.UUID) -> tuple[int, int]:
    """The proposal's counters equal its rows; returns (supports, comments)."""
    stored = (
        await session.exec(
            select(Proposal.supports_count, Proposal.comments_count)
            .where(col(Proposal.id) == proposal_id)
            .execution_options(populate_existing=True)
        )
    ).one()
    supports = (
        await session.exec(
            select(func.count())
            .select_from(ProposalSupport)
            .where(col(ProposalSupport.proposal_id) == proposal_id)
        )
    ).one()
    comments = (
        await session.exec(
            select(func.count())
            .select_from(Comment)
            .where(
                col(Comment.target_id) == proposal_id,
                col(Comment.status) == "visible",
                col(Comment.deleted_at).is_(None),
            )
        )
    ).one()
    assert tuple(stored) == (supports, comments)
    return supports, comments


async def _rows_with(session: AsyncSession, model: Any, column: Any, value: str) -> list[Any]:
    return list((await session.exec(select(model.id).where(column == value))).all())


async def _assert_acknowledged_present(writes: list[Write], scene: Scene) -> None:
    assert scene.content is not None
    async with get_sessionmaker()() as session:
        for write in writes:
            if write.response is None:
                continue
            assert write.response.status_code in (200, 201), write.response.text
            if write.method == "PUT":
                support = await session.exec(
                    select(ProposalSupport).where(
                        col(ProposalSupport.proposal_id) == scene.content.proposal.id,
                        col(ProposalSupport.user_id) == write.user_id,
                    )
                )
                assert support.first() is not None
            else:
                created = uuid.UUID(write.response.json()["id"])
                model = Comment if "comments" in write.url else Proposal
                assert await session.get(model, created) is not None, write.url
        await _assert_consistent(session, scene.content.proposal.id)


async def test_killed_mid_burst_nothing_acknowledged_is_lost_nothing_duplicated(
    scene, database_url, tmp_path
):
    scene, people = scene
    assert scene.content is not None
    writes = _burst(scene, people)
    settings = {
        "WRITE_LIMITS_ENABLED": "false",
        "IDEMPOTENCY_LEASE_SECONDS": str(LEASE_SECONDS),
    }
    with server_process(database_url, tmp_path, **settings) as server:
        await _send_all(server.url, writes, lambda: server.process.send_signal(signal.SIGKILL))
        assert server.process.wait(10) == -signal.SIGKILL
    answered = [w for w in writes if w.response is not None]
    unanswered = [w for w in writes if w.response is None]
    assert len(answered) >= KILL_AFTER and unanswered, (len(answered), len(unanswered))
    await _assert_acknowledged_present(writes, scene)

    # Every unanswered write again, as a client would after the outage: the same key for
    # the POSTs, the same PUT for the supports, once the killed claims' lease is over.
    with server_process(database_url, tmp_path, **settings) as server:
        await asyncio.sleep(LEASE_SECONDS + 0.5)
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            for write in unanswered:
                retry = await client.request(
                    write.method, write.url, headers=write.headers, json=write.body
                )
                assert retry.status_code in (200, 201), (write.url, retry.text)

    async with get_sessionmaker()() as session:
        supports, comments = await _assert_consistent(session, scene.content.proposal.id)
        assert (supports, comments) == (PEOPLE, PEOPLE)  # one each, never two
        for i in range(PEOPLE):
            body = f"Commento della cittadina {i}"
            assert len(await _rows_with(session, Comment, col(Comment.body), body)) == 1
            title = f"Proposta della cittadina {i}"
            assert len(await _rows_with(session, Proposal, col(Proposal.title), title)) == 1
