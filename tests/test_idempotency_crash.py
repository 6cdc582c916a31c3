"""Idempotency-Key survives crashes: a real server process killed with SIGKILL right
before or right after the request's commit, then the retry after the lease — no
duplicate, and a replay whenever the write happened. Also: a retry right after a full
answer is a replay (never a 409), and a replay goes only to a caller still signed in."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlmodel import col, func, select

from app.db import get_sessionmaker
from app.models.comments import Comment
from app.models.organizations import OrganizationRole
from tests.factories import PASSWORD, make_scene, make_user
from tests.helpers import bearer, login
from tests.servers import server_process, truncate_all

LEASE_SECONDS = 5


@pytest.fixture
async def scene(engine: Any) -> AsyncIterator[Any]:
    """A committed scene (the server processes see it); every table emptied after."""
    async with get_sessionmaker()() as session:
        built = await make_scene(session)
        admin = await make_user(session, name="Admin")
        session.add(OrganizationRole(organization_id=built.org.id, user_id=admin.id, role="admin"))
        await session.commit()
    yield built, admin
    await truncate_all(engine)


def _live(database_url: str, tmp_path: Any) -> Any:
    return server_process(
        database_url,
        tmp_path,
        TEST_CRASH_HOOKS="true",
        IDEMPOTENCY_LEASE_SECONDS=str(LEASE_SECONDS),
    )


async def _comments(engine: Any, body: str) -> list[uuid.UUID]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(Comment.id).where(col(Comment.body) == body))
        return [row[0] for row in rows.all()]


async def test_a_kill_at_commit_never_duplicates_the_write(scene, database_url, engine, tmp_path):
    scene, _ = scene
    url = f"/v1/proposals/{scene.proposal.id}/comments"
    member = bearer(scene.member)
    moments = ["after-commit", "after-commit", "before-commit"]
    for i, moment in enumerate(moments):
        with _live(database_url, tmp_path) as server:
            async with httpx.AsyncClient(base_url=server.url, timeout=20) as client:
                with pytest.raises(httpx.TransportError):
                    await client.post(
                        url,
                        json={"body": f"Commento interrotto {i}"},
                        headers={**member, "Idempotency-Key": f"crash-{i}", "X-Test-Crash": moment},
                    )
            assert server.process.wait(10) == -9  # killed, as a crash would
        written = await _comments(engine, f"Commento interrotto {i}")
        assert len(written) == (1 if moment == "after-commit" else 0)

    with _live(database_url, tmp_path) as server:
        await asyncio.sleep(LEASE_SECONDS + 0.5)  # past the lease of every claim
        async with httpx.AsyncClient(base_url=server.url, timeout=20) as client:
            for i, moment in enumerate(moments):
                body = f"Commento interrotto {i}"
                before = await _comments(engine, body)
                retry = await client.post(
                    url, json={"body": body}, headers={**member, "Idempotency-Key": f"crash-{i}"}
                )
                assert retry.status_code == 201, retry.text
                after = await _comments(engine, body)
                assert len(after) == 1, (moment, after)  # never a duplicate
                if moment == "after-commit":
                    # The write happened: its response was stored with it, and is replayed.
                    assert retry.headers["idempotent-replayed"] == "true"
                    assert retry.json()["id"] == str(before[0])
                else:
                    # Nothing was written: the retry runs for real.
                    assert "idempotent-replayed" not in retry.headers
                    assert retry.json()["id"] == str(after[0])
    async with engine.connect() as conn:
        count = await conn.scalar(
            select(func.count())
            .select_from(Comment)
            .where(col(Comment.target_id) == scene.proposal.id)
        )
    assert count == len(moments)


async def test_a_retry_right_after_the_answer_is_a_replay(scene, database_url, tmp_path):
    scene, _ = scene
    url = f"/v1/proposals/{scene.proposal.id}/comments"
    member = bearer(scene.member)
    with _live(database_url, tmp_path) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=20) as client:
            for i in range(10):
                headers = {**member, "Idempotency-Key": f"subito-{i}"}
                body = {"body": f"Subito {i}"}
                first = await client.post(url, json=body, headers=headers)
                assert first.status_code == 201, first.text
                again = await client.post(url, json=body, headers=headers)
                assert again.status_code == 201, again.text  # never 409 in progress
                assert again.headers["idempotent-replayed"] == "true"
                assert again.json() == first.json()


async def test_a_replay_goes_only_to_a_caller_still_signed_in(scene, committing_client):
    scene, admin = scene
    client = committing_client
    url = f"/v1/proposals/{scene.proposal.id}/comments"
    # Signed out: the retry is a 401, not the stored 201.
    tokens = await login(client, scene.member.email, PASSWORD)
    headers = {"Authorization": f"Bearer {tokens['access_token']}", "Idempotency-Key": "k-out"}
    body = {"body": "Prima di uscire"}
    assert (await client.post(url, json=body, headers=headers)).status_code == 201
    assert (await client.post(url, json=body, headers=headers)).status_code == 201  # replay
    out = await client.post("/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]})
    assert out.status_code == 204
    refused = await client.post(url, json=body, headers=headers)
    assert refused.status_code == 401, refused.text
    assert refused.json()["code"] == "unauthorized"
    assert "idempotent-replayed" not in refused.headers
    assert refused.headers["www-authenticate"].startswith("Bearer")

    # Suspended: likewise.
    tokens = await login(client, scene.author.email, PASSWORD)
    headers = {"Authorization": f"Bearer {tokens['access_token']}", "Idempotency-Key": "k-susp"}
    body = {"body": "Prima della sospensione"}
    assert (await client.post(url, json=body, headers=headers)).status_code == 201
    suspended = await client.post(
        f"/v1/organizations/{scene.org.slug}/suspensions/{scene.author.id}",
        json={"reason": "Messaggi offensivi ripetuti"},
        headers=bearer(admin),
    )
    assert suspended.status_code == 201, suspended.text
    refused = await client.post(url, json=body, headers=headers)
    assert refused.status_code == 401, refused.text
    assert "idempotent-replayed" not in refused.headers
