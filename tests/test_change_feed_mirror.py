"""A real client mirrors the change feed while 32 clients write at once — supports,
withdrawals, comments, proposals, and transactions held open across others' commits —
and ends with exactly the server's state, having seen every committed event once."""

import asyncio
import random
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlmodel import col, func, select

from app.db import get_sessionmaker
from app.event_types import EventType
from app.events import record_event
from app.models.accounts import User
from app.models.comments import Comment
from app.models.events import Event
from app.models.proposals import Proposal
from app.security import hash_password
from app.services.integrations.subjects import FEED_SUBJECT_TYPES
from tests.factories import add_member, make_proposal, make_scene
from tests.factories.integrations import client_headers
from tests.helpers import bearer

WRITERS = 32
ROUNDS = 4


async def _scene():
    async with get_sessionmaker()() as session:
        s = await make_scene(session, content=False)
        proposals = [await make_proposal(session, s.table, s.facilitator) for _ in range(4)]
        digest = hash_password("irrelevant-password-123")
        people = [
            User(
                email=f"mirror-{uuid.uuid4().hex[:10]}@example.org",
                password_hash=digest,
                display_name=f"Persona {i}",
                email_verified_at=datetime.now(UTC),
            )
            for i in range(WRITERS)
        ]
        session.add_all(people)
        await session.flush()
        for person in people:
            await add_member(session, s.table, person)
        await session.commit()
    return s, proposals, people


class Mirror:
    def __init__(self) -> None:
        self.seen: list[str] = []
        self.proposals: dict[str, dict[str, Any] | None] = {}
        self.comments: dict[str, dict[str, Any] | None] = {}

    def apply(self, item: dict[str, Any]) -> None:
        self.seen.append(item["id"])
        if item["subject_type"] == "proposal":
            self.proposals[item["subject_id"]] = item["data"]
        elif item["subject_type"] == "comment":
            self.comments[item["subject_id"]] = item["data"]

    def comments_on(self, proposal_id: str) -> int:
        return sum(
            1
            for c in self.comments.values()
            if c is not None and c["target_id"] == proposal_id and not c["deleted"]
        )


async def _writer(client, s, person, proposals, rng):
    headers = bearer(person)
    node = str(s.nodes["1"].id)
    for round_ in range(ROUNDS):
        target = rng.choice(proposals)
        action = rng.choice(["support", "withdraw", "comment", "propose", "hold"])
        if action == "support":
            r = await client.put(f"/v1/proposals/{target}/support", headers=headers)
            assert r.status_code in (200, 201), r.text
        elif action == "withdraw":
            r = await client.delete(f"/v1/proposals/{target}/support", headers=headers)
            assert r.status_code in (204, 404), r.text
        elif action == "comment":
            r = await client.post(
                f"/v1/proposals/{target}/comments",
                json={"body": f"Commento numero {round_} di prova."},
                headers=headers,
            )
            assert r.status_code == 201, r.text
        elif action == "propose":
            r = await client.post(
                f"/v1/tables/{s.table.id}/proposals",
                json={
                    "title": f"Proposta di {person.display_name} {round_}",
                    "body": "Una proposta scritta durante la raffica di scritture.",
                    "node_ids": [node],
                },
                headers=headers,
            )
            assert r.status_code == 201, r.text
        else:
            # A transaction that writes an event, then stays open while others commit.
            async with get_sessionmaker()() as session:
                record_event(
                    session,
                    EventType.PROPOSAL_UPDATED,
                    subject_type="proposal",
                    subject_id=uuid.UUID(target),
                    actor_id=None,
                    organization_id=s.org.id,
                )
                await session.flush()
                await asyncio.sleep(rng.uniform(0.05, 0.4))
                await session.commit()


async def test_a_mirror_following_the_feed_during_a_burst_ends_equal(committing_client):
    client = committing_client
    s, proposals, people = await _scene()
    headers, _ = await client_headers(client, s.admin, s.org, ["changes:read"])
    mirror = Mirror()
    done = asyncio.Event()

    async def poll():
        cursor = None
        quiet_after_done = 0
        deadline = asyncio.get_running_loop().time() + 120
        while quiet_after_done < 2:
            assert asyncio.get_running_loop().time() < deadline, "the feed never caught up"
            params = {"limit": 50, **({"cursor": cursor} if cursor else {})}
            r = await client.get(
                f"/v1/organizations/{s.org.slug}/changes", params=params, headers=headers
            )
            assert r.status_code == 200, r.text
            page = r.json()
            for item in page["items"]:
                mirror.apply(item)
            cursor = page["next_cursor"]
            if done.is_set() and not page["items"]:
                quiet_after_done += 1
            await asyncio.sleep(0.01)

    poller = asyncio.create_task(poll())
    ids = [str(p.id) for p in proposals]
    try:
        await asyncio.gather(
            *(_writer(client, s, p, ids, random.Random(i)) for i, p in enumerate(people))
        )
        done.set()
        await asyncio.wait_for(poller, timeout=150)
    finally:
        poller.cancel()  # a failed writer must not leave the poller running

    assert len(mirror.seen) == len(set(mirror.seen)), "an event was shown twice"
    async with get_sessionmaker()() as session:
        committed = (
            await session.exec(
                select(Event.id).where(
                    col(Event.organization_id) == s.org.id,
                    col(Event.subject_type).in_(FEED_SUBJECT_TYPES),
                )
            )
        ).all()
        assert set(mirror.seen) == {str(i) for i in committed}
        assert len(committed) > WRITERS  # the burst did write
        rows = (
            await session.exec(select(Proposal).where(col(Proposal.table_id) == s.table.id))
        ).all()
        visible = (
            await session.exec(
                select(Comment.target_id, func.count())
                .where(col(Comment.deleted_at).is_(None), col(Comment.status) == "visible")
                .group_by(col(Comment.target_id))
            )
        ).all()
    counts = {str(t): n for t, n in visible}
    for proposal in rows:
        mirrored = mirror.proposals.get(str(proposal.id))
        if mirrored is None:  # never changed during the burst: nothing to mirror
            assert str(proposal.id) not in mirror.proposals
            continue
        assert mirrored["supports_count"] == proposal.supports_count
        assert mirror.comments_on(str(proposal.id)) == counts.get(str(proposal.id), 0)
        assert proposal.comments_count == counts.get(str(proposal.id), 0)
    created = [p for p in rows if p.id not in {x.id for x in proposals}]
    assert {str(p.id) for p in created} <= set(mirror.proposals)
