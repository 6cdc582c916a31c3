"""Opinion maps: on a constructed vote matrix with two known camps the worker's map finds
both camps and their representative statements; votes stay exact under concurrent
requests; and nothing but a person's own view links them to their votes or position."""

import asyncio
import json
import random
import uuid

from sqlmodel import col, select

from app.db import get_sessionmaker
from app.models.accounts import User
from app.models.conversations import Conversation, ConversationMap, ConversationVote
from app.services.conversations.maps import recompute, recompute_due
from app.services.conversations.opendata import (
    conversation_statement_rows,
    conversation_vote_rows,
)
from tests.factories import (
    add_member,
    add_votes,
    make_conversation,
    make_org,
    make_statement,
    make_table,
    make_user,
    vote_tally,
)
from tests.helpers import bearer

# Statements 0-3: camp A agrees, camp B disagrees; 4-7 the other way; 8-9 everyone agrees.
CAMP_A = range(0, 4)
CAMP_B = range(4, 8)
SHARED = range(8, 10)


def camp_vote(camp: int, index: int, rng: random.Random) -> int | None:
    if rng.random() < 0.1:
        return None  # not everyone votes on everything
    if index in SHARED:
        return 1
    agrees = (index in CAMP_A) == (camp == 0)
    return 1 if agrees else -1


async def two_camps(people_per_camp: int = 12):
    """A committed table, conversation and ten statements; two camps of members voting."""
    rng = random.Random(7)
    async with get_sessionmaker()() as setup:
        org = await make_org(setup)
        table = await make_table(setup, org)
        conversation = await make_conversation(setup, table)
        statements = [
            await make_statement(setup, conversation, f"Affermazione {i}") for i in range(10)
        ]
        camps: list[list[User]] = [[], []]
        votes = []
        for camp in (0, 1):
            for _ in range(people_per_camp):
                person = await make_user(setup)
                await add_member(setup, table, person)
                camps[camp].append(person)
                for i, statement in enumerate(statements):
                    value = camp_vote(camp, i, rng)
                    if value is not None:
                        votes.append((person, statement.id, value))
        await add_votes(setup, conversation, votes)
        await setup.commit()
    return conversation, statements, camps


async def test_the_map_finds_the_two_camps_and_what_each_stands_for(committing_client):
    conversation, statements, camps = await two_camps()
    assert await recompute(conversation.id) is True
    assert await recompute(conversation.id) is False  # nothing changed since

    member = camps[0][0]
    response = await committing_client.get(
        f"/v1/conversations/{conversation.id}/map", headers=bearer(member)
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["state"] == "ready" and body["outdated"] is False
    assert body["participants_count"] == 24
    assert body["votes_count"] > 200 and body["computation_ms"] >= 0
    groups = body["groups"]
    assert sorted(g["size"] for g in groups) == [12, 12]
    ids = [str(s.id) for s in statements]
    agreed_by = {}
    for group in groups:
        agreed = {
            ids.index(r["statement_id"])
            for r in group["representative"]
            if r["direction"] == "agree"
        }
        assert agreed, group
        # Each group's agreements come from one camp's statements only.
        assert agreed <= set(CAMP_A) or agreed <= set(CAMP_B), agreed
        agreed_by[group["id"]] = set(CAMP_A) if agreed <= set(CAMP_A) else set(CAMP_B)
    assert sorted(map(min, agreed_by.values())) == [0, 4]
    consensus = {ids.index(c["statement_id"]) for c in body["consensus"]["agree"]}
    assert consensus and consensus <= set(SHARED)
    informed = [ids.index(c["statement_id"]) for c in body["group_informed_consensus"]]
    assert set(informed[:2]) == set(SHARED)
    # The caller's own group is the one that agrees with camp A's statements.
    you = body["you"]
    assert you is not None and agreed_by[you["group"]] == set(CAMP_A)
    assert {"x": you["x"], "y": you["y"], "group": you["group"]} in body["participants"]
    assert sum(1 for p in body["participants"] if p["group"] == you["group"]) == 12

    svg = await committing_client.get(f"/v1/conversations/{conversation.id}/map.svg")
    assert svg.status_code == 200
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert svg.text.startswith("<svg") and svg.text.count("<circle") == 24


async def test_the_map_is_recomputed_when_votes_change_and_coalesced(committing_client):
    conversation, statements, camps = await two_camps(people_per_camp=6)
    url = f"/v1/conversations/{conversation.id}/map"
    before = (await committing_client.get(url)).json()
    assert before["state"] == "none" and before["outdated"] is True
    assert await recompute_due() == 1
    computed = (await committing_client.get(url)).json()
    assert computed["state"] == "ready" and computed["outdated"] is False
    newcomer = camps[0][0]
    for statement in statements[:3]:
        r = await committing_client.put(
            f"/v1/statements/{statement.id}/vote",
            json={"vote": "pass"},
            headers=bearer(newcomer),
        )
        assert r.status_code == 200
    assert (await committing_client.get(url)).json()["outdated"] is True
    async with get_sessionmaker()() as check:
        row = await check.get(Conversation, conversation.id)
        assert row is not None and row.map_dirty is True
    # Three votes, one recomputation — and not before the interval has passed.
    assert await recompute_due() == 0
    assert await recompute(conversation.id) is True
    assert (await committing_client.get(url)).json()["outdated"] is False


async def test_too_few_votes_draw_no_groups(committing_client):
    async with get_sessionmaker()() as setup:
        org = await make_org(setup)
        table = await make_table(setup, org)
        person = await make_user(setup)
        await add_member(setup, table, person)
        conversation = await make_conversation(setup, table)
        statement = await make_statement(setup, conversation)
        await add_votes(setup, conversation, [(person, statement.id, 1)])
        await setup.commit()
    await recompute(conversation.id)
    body = (await committing_client.get(f"/v1/conversations/{conversation.id}/map")).json()
    assert body["state"] == "too_few_votes"
    assert body["groups"] == [] and body["participants"] == [] and body["you"] is None
    svg = await committing_client.get(f"/v1/conversations/{conversation.id}/map.svg")
    assert "Not enough votes" in svg.text


async def test_votes_stay_exact_under_concurrent_requests(committing_client):
    async with get_sessionmaker()() as setup:
        org = await make_org(setup)
        table = await make_table(setup, org)
        conversation = await make_conversation(setup, table)
        statement = await make_statement(setup, conversation)
        people = [await make_user(setup) for _ in range(12)]
        for person in people:
            await add_member(setup, table, person)
        await setup.commit()
    url = f"/v1/statements/{statement.id}/vote"
    choices = ("agree", "disagree", "pass")
    # One person fires twelve different votes at once: one row, counted once.
    same = await asyncio.gather(
        *(
            committing_client.put(url, json={"vote": choices[i % 3]}, headers=bearer(people[0]))
            for i in range(12)
        )
    )
    assert [r.status_code for r in same] == [200] * 12, [r.text for r in same]

    # Eleven others vote, change their minds and some withdraw, all at once.
    async def churn(i: int, person: User):
        first = await committing_client.put(
            url, json={"vote": choices[i % 3]}, headers=bearer(person)
        )
        second = await committing_client.put(
            url, json={"vote": choices[(i + 1) % 3]}, headers=bearer(person)
        )
        if i % 4 == 0:
            return [first, second, await committing_client.delete(url, headers=bearer(person))]
        return [first, second]

    done = await asyncio.gather(*(churn(i, p) for i, p in enumerate(people[1:])))
    assert all(r.status_code == 200 for rs in done for r in rs)
    async with get_sessionmaker()() as check:
        tally = await vote_tally(check, statement.id)
        rows = (
            await check.exec(
                select(ConversationVote).where(col(ConversationVote.statement_id) == statement.id)
            )
        ).all()
    assert tally["agree"] == tally["agree_rows"]
    assert tally["disagree"] == tally["disagree_rows"]
    assert tally["pass"] == tally["pass_rows"]
    withdrawn = len([i for i in range(11) if i % 4 == 0])
    assert len(rows) == 12 - withdrawn
    assert len({r.user_id for r in rows}) == len(rows)


async def test_no_public_view_links_people_to_their_votes_or_position(committing_client):
    conversation, _, camps = await two_camps(people_per_camp=6)
    await recompute(conversation.id)
    people = [p for camp in camps for p in camp]
    secrets = (
        {str(p.id) for p in people} | {p.email for p in people} | {p.display_name for p in people}
    )
    texts = []
    for path in ("", "/statements", "/map", "/map.svg"):
        r = await committing_client.get(f"/v1/conversations/{conversation.id}{path}")
        assert r.status_code == 200
        texts.append(r.text)
    other = await committing_client.get(
        f"/v1/conversations/{conversation.id}/map", headers=bearer(camps[1][0])
    )
    texts.append(json.dumps({k: v for k, v in other.json().items() if k != "you"}))
    async with get_sessionmaker()() as session:
        texts.append(
            json.dumps(
                [
                    r
                    async for r in conversation_statement_rows(
                        session, conversation.organization_id
                    )
                ],
                default=str,  # created_at
            )
        )
        vote_rows = [r async for r in conversation_vote_rows(session, conversation.organization_id)]
        stored = await session.get(ConversationMap, conversation.id)
        assert stored is not None
        texts.append(json.dumps(stored.result))
    texts.append(json.dumps(vote_rows))
    for text in texts:
        for secret in secrets:
            assert secret not in text
    # The anonymous matrix: one pseudonym per person, the same one in every row.
    assert len({r["participant"] for r in vote_rows}) == 12
    keys = {"conversation_id", "participant", "statement_id", "vote"}
    assert all(set(r) == keys for r in vote_rows)
    # The positions carry nothing but coordinates and a group.
    body = json.loads(texts[2])
    assert all(set(p) == {"x", "y", "group"} for p in body["participants"])
    assert body["you"] is None
    assert "keys" not in body
    assert uuid.UUID(body["conversation_id"]) == conversation.id
