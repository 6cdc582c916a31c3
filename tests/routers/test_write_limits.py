"""Abuse limits on writes (app/write_limits.py): per person and per client address, per
kind, 429 problem+json with Retry-After and RateLimit headers, 401 before 429, refused
writes count, Idempotency-Key replays do not; and the body limit on the write routes."""

import pytest
from sqlalchemy import text

from app.config import get_settings
from app.db import get_engine
from tests.factories import (
    add_member,
    comments_count,
    commit_setup,
    make_comment,
    make_proposal,
    make_scene,
    make_user,
)
from tests.helpers import assert_problem, bearer, comments_url, make_client

# Long windows: a test never straddles a window boundary (which would reset the counts).
WINDOW = 1_000_000


@pytest.fixture
def set_limits(monkeypatch):
    settings = get_settings()

    def set_(kind, *, person=1000, address=1000, window=WINDOW):
        monkeypatch.setattr(settings, f"write_limit_{kind}_per_person", person)
        monkeypatch.setattr(settings, f"write_limit_{kind}_per_address", address)
        monkeypatch.setattr(settings, f"write_limit_{kind}_window_seconds", window)

    return set_


async def counters():
    """The committed write counters: {key: count}."""
    async with get_engine().connect() as conn:
        rows = await conn.execute(
            text("SELECT key, count FROM rate_limit_counters WHERE key LIKE 'write:%'")
        )
        return {key: count for key, count in rows.all()}


def comment(n=0):
    return {"body": f"Commento numero {n}, con qualche parola in più."}


def assert_rate_limit_headers(response, *, limit, remaining, window=WINDOW):
    assert response.headers["RateLimit-Limit"] == str(limit)
    assert response.headers["RateLimit-Remaining"] == str(remaining)
    assert 1 <= int(response.headers["RateLimit-Reset"]) <= window


def assert_429(response, *, kind, limited_by, limit, window=WINDOW):
    body = assert_problem(response, 429, "too_many_writes")
    assert body["kind"] == kind and body["limited_by"] == limited_by
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= window
    assert_rate_limit_headers(response, limit=limit, remaining=0, window=window)
    assert response.headers["RateLimit-Reset"] == str(retry_after)
    return body


async def test_comments_past_the_per_person_limit_answer_429(client, session, set_limits):
    set_limits("comments", person=3, address=50)
    scene = await make_scene(session)
    await commit_setup(session)
    url = comments_url("proposal", scene.proposal.id)

    for n in range(3):
        response = await client.post(url, json=comment(n), headers=bearer(scene.member))
        assert response.status_code == 201, response.text
        # The tightest limit is the person's.
        assert_rate_limit_headers(response, limit=3, remaining=2 - n)
        assert response.headers["RateLimit-Policy"] == f"3;w={WINDOW}, 50;w={WINDOW}"

    refused = await client.post(url, json=comment(3), headers=bearer(scene.member))
    assert_429(refused, kind="comments", limited_by="person", limit=3)
    assert refused.headers["RateLimit-Policy"] == f"3;w={WINDOW}, 50;w={WINDOW}"
    assert await comments_count(session, scene.proposal.id) == 3
    # Per person, whatever the target: a meeting's comments are refused too.
    elsewhere = await client.post(
        comments_url("meeting", scene.meeting.id), json=comment(), headers=bearer(scene.member)
    )
    assert_429(elsewhere, kind="comments", limited_by="person", limit=3)
    # Someone else is not affected.
    other = await client.post(url, json=comment(), headers=bearer(scene.author))
    assert other.status_code == 201, other.text
    person = f"write:comments:user:{scene.member.id}"
    assert (await counters())[person] == 5  # the refused ones count too


async def test_under_the_default_limits_successes_carry_the_headers(client, session):
    settings = get_settings()
    scene = await make_scene(session)
    await commit_setup(session)
    response = await client.post(
        comments_url("poll", scene.poll.id), json=comment(), headers=bearer(scene.member)
    )
    assert response.status_code == 201, response.text
    window = settings.write_limit_comments_window_seconds
    assert_rate_limit_headers(
        response,
        limit=settings.write_limit_comments_per_person,
        remaining=settings.write_limit_comments_per_person - 1,
        window=window,
    )
    assert response.headers["RateLimit-Policy"] == (
        f"{settings.write_limit_comments_per_person};w={window}, "
        f"{settings.write_limit_comments_per_address};w={window}"
    )
    # Defaults: generous per address, because a class shares one school network.
    assert (
        settings.write_limit_comments_per_address >= 10 * settings.write_limit_comments_per_person
    )


async def test_the_per_address_limit_holds_across_people(app, session, set_limits):
    set_limits("comments", person=10, address=3)
    scene = await make_scene(session)
    third = await make_user(session, name="Terza")
    await add_member(session, scene.table, third)
    await commit_setup(session)
    url = comments_url("proposal", scene.proposal.id)

    async with (
        make_client(app, address="198.51.100.7") as school,
        make_client(app, address="203.0.113.20") as home,
    ):
        first = await school.post(url, json=comment(1), headers=bearer(scene.member))
        assert first.status_code == 201, first.text
        assert_rate_limit_headers(first, limit=3, remaining=2)  # the address is tighter
        assert (await school.post(url, json=comment(2), headers=bearer(scene.member))).is_success
        assert (await school.post(url, json=comment(3), headers=bearer(scene.author))).is_success
        # A fourth comment from the same address, by a person well under their own limit.
        refused = await school.post(url, json=comment(4), headers=bearer(scene.author))
        assert_429(refused, kind="comments", limited_by="address", limit=3)
        assert "network" in refused.json()["detail"]
        # From another address the same person may go on.
        assert (await home.post(url, json=comment(5), headers=bearer(scene.author))).is_success
        assert (await home.post(url, json=comment(6), headers=bearer(third))).is_success
    assert await comments_count(session, scene.proposal.id) == 5
    seen = await counters()
    assert seen["write:comments:address:198.51.100.7"] == 4
    assert seen["write:comments:address:203.0.113.20"] == 2
    # The comment the address refused is not held against the author: two written.
    assert seen[f"write:comments:user:{scene.author.id}"] == 2


async def test_one_person_past_their_limit_does_not_use_up_their_addresss(app, session, set_limits):
    # A student retrying in a loop must not lock the whole school network out.
    set_limits("comments", person=2, address=5)
    scene = await make_scene(session)
    await commit_setup(session)
    url = comments_url("proposal", scene.proposal.id)

    async with make_client(app, address="198.51.100.7") as school:
        statuses = [
            (await school.post(url, json=comment(n), headers=bearer(scene.member))).status_code
            for n in range(6)
        ]
        assert statuses == [201, 201, 429, 429, 429, 429]
        refused = await school.post(url, json=comment(7), headers=bearer(scene.member))
        assert_429(refused, kind="comments", limited_by="person", limit=2)
        seen = await counters()
        # Every attempt counts against the person; only the two allowed ones against the
        # address.
        assert seen[f"write:comments:user:{scene.member.id}"] == 7
        assert seen["write:comments:address:198.51.100.7"] == 2
        # A classmate on the same network still gets through, and sees the address's
        # allowance as the person-limited attempts left it.
        classmate = await school.post(url, json=comment(8), headers=bearer(scene.author))
        assert classmate.status_code == 201, classmate.text
        assert_rate_limit_headers(classmate, limit=2, remaining=1)
        assert (await counters())["write:comments:address:198.51.100.7"] == 3
    assert await comments_count(session, scene.proposal.id) == 3


async def test_supports_are_limited_but_withdrawing_is_not(client, session, set_limits):
    set_limits("supports", person=2)
    scene = await make_scene(session)
    proposals = [scene.proposal] + [
        await make_proposal(session, scene.table, scene.author, title=f"Proposta {n}")
        for n in range(2)
    ]
    await commit_setup(session)
    urls = [f"/v1/proposals/{p.id}/support" for p in proposals]

    for n, url in enumerate(urls[:2]):
        response = await client.put(url, headers=bearer(scene.member))
        assert response.status_code == 201, response.text
        assert_rate_limit_headers(response, limit=2, remaining=1 - n)
    assert_429(
        await client.put(urls[2], headers=bearer(scene.member)),
        kind="supports",
        limited_by="person",
        limit=2,
    )
    withdrawn = await client.delete(urls[0], headers=bearer(scene.member))
    assert withdrawn.status_code == 204
    assert "RateLimit-Limit" not in withdrawn.headers
    assert (await counters())[f"write:supports:user:{scene.member.id}"] == 3


async def test_poll_ballots_count_as_supports(client, session, set_limits):
    set_limits("supports", person=1)
    scene = await make_scene(session)
    await commit_setup(session)
    assert (
        await client.put(f"/v1/proposals/{scene.proposal.id}/support", headers=bearer(scene.member))
    ).status_code == 201
    ballot = await client.post(
        f"/v1/polls/{scene.poll.id}/ballots",
        json={"option_ids": [str(scene.options[0].id)]},
        headers=bearer(scene.member),
    )
    assert_429(ballot, kind="supports", limited_by="person", limit=1)
    other = await client.post(
        f"/v1/polls/{scene.poll.id}/ballots",
        json={"option_ids": [str(scene.options[0].id)]},
        headers=bearer(scene.author),
    )
    assert other.status_code == 201, other.text
    assert_rate_limit_headers(other, limit=1, remaining=0)


async def test_comment_votes_count_as_supports(client, session, set_limits):
    set_limits("supports", person=1)
    scene = await make_scene(session)
    first = await make_comment(
        session,
        scene.author,
        "proposal",
        scene.proposal.id,
        organization_id=scene.table.organization_id,
        table_id=scene.table.id,
    )
    second = await make_comment(
        session,
        scene.author,
        "proposal",
        scene.proposal.id,
        organization_id=scene.table.organization_id,
        table_id=scene.table.id,
        body="Anche io.",
    )
    await commit_setup(session)
    voted = await client.put(
        f"/v1/comments/{first.id}/vote", json={"value": 1}, headers=bearer(scene.member)
    )
    assert voted.status_code == 200, voted.text
    assert_rate_limit_headers(voted, limit=1, remaining=0)
    assert_429(
        await client.put(
            f"/v1/comments/{second.id}/vote", json={"value": 1}, headers=bearer(scene.member)
        ),
        kind="supports",
        limited_by="person",
        limit=1,
    )


async def test_proposals_are_limited(client, session, set_limits):
    set_limits("proposals", person=2)
    scene = await make_scene(session)
    await commit_setup(session)
    url = f"/v1/tables/{scene.table.id}/proposals"

    def new(n):
        return {
            "title": f"Proposta numero {n}",
            "body": "Chiediamo più spazi di studio aperti la sera nei quartieri.",
            "node_ids": [str(scene.node.id)],
        }

    for n in range(2):
        response = await client.post(url, json=new(n), headers=bearer(scene.member))
        assert response.status_code == 201, response.text
        assert_rate_limit_headers(response, limit=2, remaining=1 - n)
    assert_429(
        await client.post(url, json=new(2), headers=bearer(scene.member)),
        kind="proposals",
        limited_by="person",
        limit=2,
    )
    # Drafts count too: they are writes all the same.
    assert_429(
        await client.post(url, json=new(3) | {"status": "draft"}, headers=bearer(scene.member)),
        kind="proposals",
        limited_by="person",
        limit=2,
    )


async def test_reports_are_limited(client, session, set_limits):
    set_limits("reports", person=2)
    scene = await make_scene(session)
    proposals = [
        await make_proposal(session, scene.table, scene.author, title=f"Proposta {n}")
        for n in range(3)
    ]
    await commit_setup(session)

    def report(proposal):
        body = {"target_type": "proposal", "target_id": str(proposal.id), "reason": "spam"}
        return client.post("/v1/reports", json=body, headers=bearer(scene.member))

    for n, proposal in enumerate(proposals[:2]):
        response = await report(proposal)
        assert response.status_code == 201, response.text
        assert_rate_limit_headers(response, limit=2, remaining=1 - n)
    assert_429(await report(proposals[2]), kind="reports", limited_by="person", limit=2)


async def test_limits_are_per_kind(client, session, set_limits):
    set_limits("comments", person=1)
    set_limits("supports", person=5)
    scene = await make_scene(session)
    await commit_setup(session)
    url = comments_url("proposal", scene.proposal.id)
    assert (await client.post(url, json=comment(1), headers=bearer(scene.member))).is_success
    assert_problem(await client.post(url, json=comment(2), headers=bearer(scene.member)), 429)

    support = await client.put(
        f"/v1/proposals/{scene.proposal.id}/support", headers=bearer(scene.member)
    )
    assert support.status_code == 201, support.text
    assert_rate_limit_headers(support, limit=5, remaining=4)


async def test_401_comes_before_429_and_anonymous_calls_do_not_count(client, session, set_limits):
    set_limits("comments", person=1, address=1)
    scene = await make_scene(session)
    await commit_setup(session)
    url = comments_url("proposal", scene.proposal.id)
    assert (await client.post(url, json=comment(), headers=bearer(scene.member))).is_success
    before = await counters()

    anonymous = assert_problem(await client.post(url, json=comment()), 401)
    assert anonymous["code"] == "unauthorized"
    forged = {"Authorization": "Bearer not-a-token"}
    assert_problem(await client.post(url, json=comment(), headers=forged), 401)
    assert await counters() == before  # the address's count did not move


async def test_writes_that_fail_do_not_use_up_the_limit(client, session, set_limits):
    set_limits("comments", person=3, address=50)
    scene = await make_scene(session)
    await commit_setup(session)
    url = comments_url("proposal", scene.proposal.id)
    headers = bearer(scene.member)
    person = f"write:comments:user:{scene.member.id}"
    # An invalid body (422), a target that does not exist (404), a reply to a comment
    # of another thread (422): nothing written, nothing counted once answered.
    assert_problem(await client.post(url, json={"body": ""}, headers=headers), 422)
    assert_problem(await client.post(url, json={"body": 5}, headers=headers), 422)
    missing = comments_url("proposal", scene.meeting.id)
    assert_problem(await client.post(missing, json=comment(), headers=headers), 404)
    counts = await counters()
    assert counts.get(person, 0) == 0
    assert all(v == 0 for k, v in counts.items() if k.startswith("write:comments:address:"))
    # So the person still has their three comments.
    for n in range(3):
        response = await client.post(url, json=comment(n), headers=headers)
        assert response.status_code == 201, response.text
    assert_429(
        await client.post(url, json=comment(), headers=headers),
        kind="comments",
        limited_by="person",
        limit=3,
    )
    # The 429 itself counts (retrying in a loop keeps the person out).
    assert (await counters())[person] == 4


async def test_an_idempotent_replay_does_not_count_twice(client, session, set_limits):
    set_limits("comments", person=2)
    scene = await make_scene(session)
    await commit_setup(session)
    url = comments_url("proposal", scene.proposal.id)
    headers = bearer(scene.member)
    person = f"write:comments:user:{scene.member.id}"

    first = await client.post(url, json=comment(1), headers=headers | {"Idempotency-Key": "k-1"})
    assert first.status_code == 201, first.text
    replay = await client.post(url, json=comment(1), headers=headers | {"Idempotency-Key": "k-1"})
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json()["id"] == first.json()["id"]
    assert (await counters())[person] == 1
    # A reused key with another body (422) is answered before routing too.
    reused = await client.post(url, json=comment(9), headers=headers | {"Idempotency-Key": "k-1"})
    assert_problem(reused, 422, "idempotency_key_reused")
    assert (await counters())[person] == 1

    assert (await client.post(url, json=comment(2), headers=headers)).status_code == 201
    assert_problem(await client.post(url, json=comment(3), headers=headers), 429)
    # Past the limit, retrying the first request still replays its answer.
    late = await client.post(url, json=comment(1), headers=headers | {"Idempotency-Key": "k-1"})
    assert late.status_code == 201 and late.json()["id"] == first.json()["id"]
    assert await comments_count(session, scene.proposal.id) == 2


async def test_the_switch_turns_the_limits_off(client, session, set_limits, monkeypatch):
    set_limits("comments", person=1, address=1)
    monkeypatch.setattr(get_settings(), "write_limits_enabled", False)
    scene = await make_scene(session)
    await commit_setup(session)
    url = comments_url("proposal", scene.proposal.id)
    for n in range(3):
        response = await client.post(url, json=comment(n), headers=bearer(scene.member))
        assert response.status_code == 201, response.text
        assert "RateLimit-Limit" not in response.headers
    assert await counters() == {}


async def test_a_limit_set_to_zero_is_off(client, session, set_limits):
    set_limits("comments", person=0, address=2)
    scene = await make_scene(session)
    await commit_setup(session)
    url = comments_url("proposal", scene.proposal.id)
    response = await client.post(url, json=comment(), headers=bearer(scene.member))
    assert response.status_code == 201
    assert_rate_limit_headers(response, limit=2, remaining=1)
    assert response.headers["RateLimit-Policy"] == f"2;w={WINDOW}"
    assert list(await counters()) == ["write:comments:address:127.0.0.1"]


# --- the request body limit on the write routes ---------------------------------------


def _too_big() -> int:
    return get_settings().max_body_bytes + 1024


async def _chunks(total: int):
    sent = 0
    while sent < total:
        yield b"x" * 1024
        sent += 1024


@pytest.mark.parametrize("target", ["proposal", "comment"])
async def test_huge_bodies_are_413_problems_on_proposals_and_comments(client, session, target):
    scene = await make_scene(session)
    await commit_setup(session)
    if target == "proposal":
        url = f"/v1/tables/{scene.table.id}/proposals"
        huge = {"title": "Titolo", "body": "x" * _too_big(), "node_ids": [str(scene.node.id)]}
    else:
        url = comments_url("proposal", scene.proposal.id)
        huge = {"body": "x" * _too_big()}
    headers = bearer(scene.member)

    with_length = await client.post(url, json=huge, headers=headers)
    assert "exceeds" in assert_problem(with_length, 413, "payload_too_large")["detail"]
    assert with_length.headers["X-Request-ID"]

    for extra in ({}, {"Idempotency-Key": f"big-{target}"}):
        chunked = await client.post(
            url,
            content=_chunks(_too_big()),
            headers=headers | extra | {"Content-Type": "application/json"},
        )
        assert chunked.request.headers.get("Transfer-Encoding") == "chunked"
        assert "Content-Length" not in chunked.request.headers
        assert_problem(chunked, 413, "payload_too_large")

    # Nothing was written, nothing was counted, no idempotency claim is left behind.
    assert await comments_count(session, scene.proposal.id) == 0
    assert await counters() == {}
    async with get_engine().connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM idempotency_records")) == 0


def test_each_kind_reads_its_own_settings():
    import uuid

    from app.write_limits import limits_for

    settings = get_settings()
    user_id = uuid.uuid4()
    for kind in ("proposals", "comments", "reports", "supports"):
        scoped = limits_for(kind, user_id, "192.0.2.1", settings)
        window = getattr(settings, f"write_limit_{kind}_window_seconds")
        assert [
            (scope, limit.key, limit.limit, limit.window_seconds) for scope, limit in scoped
        ] == [
            (
                "person",
                f"write:{kind}:user:{user_id}",
                getattr(settings, f"write_limit_{kind}_per_person"),
                window,
            ),
            (
                "address",
                f"write:{kind}:address:192.0.2.1",
                getattr(settings, f"write_limit_{kind}_per_address"),
                window,
            ),
        ]


async def test_a_refused_write_is_not_replayed_after_the_wait(client, session, set_limits):
    set_limits("comments", person=1)
    scene = await make_scene(session)
    await commit_setup(session)
    url = comments_url("proposal", scene.proposal.id)
    headers = bearer(scene.member)
    assert (await client.post(url, json=comment(1), headers=headers)).status_code == 201
    keyed = headers | {"Idempotency-Key": "after-429"}
    assert_problem(await client.post(url, json=comment(2), headers=keyed), 429)
    set_limits("comments", person=5)  # as if the window had passed
    retried = await client.post(url, json=comment(2), headers=keyed)
    assert retried.status_code == 201, retried.text
