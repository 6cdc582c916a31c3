"""Up/down votes on comments: exact counts, changing and withdrawing a vote, my_vote,
no votes on one's own or deleted comments, and exact counters under concurrency."""

import asyncio

from sqlmodel import col, func, select

from app.db import get_sessionmaker
from app.models.comments import Comment, CommentVote
from app.models.events import Event
from tests.factories import (
    add_member,
    commit_setup,
    make_comment,
    make_org,
    make_proposal,
    make_scene,
    make_table,
    make_user,
)
from tests.helpers import assert_problem, bearer, comments_url


async def _counts(session, comment_id):
    comment = (
        await session.exec(
            select(Comment)
            .where(col(Comment.id) == comment_id)
            .execution_options(populate_existing=True)
        )
    ).one()
    ups = (
        await session.exec(
            select(func.count())
            .select_from(CommentVote)
            .where(col(CommentVote.comment_id) == comment_id, col(CommentVote.value) == 1)
        )
    ).one()
    downs = (
        await session.exec(
            select(func.count())
            .select_from(CommentVote)
            .where(col(CommentVote.comment_id) == comment_id, col(CommentVote.value) == -1)
        )
    ).one()
    return (comment.upvotes, comment.downvotes), (ups, downs)


async def test_votes_are_counted_exactly(client, session):
    scene = await make_scene(session)
    voters = [await make_user(session) for _ in range(3)]
    comment = await make_comment(
        session,
        scene.author,
        "proposal",
        scene.proposal.id,
        organization_id=scene.org.id,
        table_id=scene.table.id,
    )
    await commit_setup(session)
    url = f"/v1/comments/{comment.id}/vote"

    first = await client.put(url, json={"value": 1}, headers=bearer(voters[0]))
    assert first.status_code == 200, first.text
    assert (first.json()["upvotes"], first.json()["downvotes"]) == (1, 0)
    assert first.json()["my_vote"] == 1
    await client.put(url, json={"value": 1}, headers=bearer(voters[1]))
    down = await client.put(url, json={"value": -1}, headers=bearer(voters[2]))
    assert (down.json()["upvotes"], down.json()["downvotes"], down.json()["my_vote"]) == (2, 1, -1)
    assert await _counts(session, comment.id) == ((2, 1), (2, 1))

    # Repeating a vote changes nothing; changing it moves one count to the other.
    same = await client.put(url, json={"value": 1}, headers=bearer(voters[0]))
    assert (same.json()["upvotes"], same.json()["downvotes"]) == (2, 1)
    changed = await client.put(url, json={"value": -1}, headers=bearer(voters[0]))
    assert (changed.json()["upvotes"], changed.json()["downvotes"]) == (1, 2)
    assert changed.json()["my_vote"] == -1
    assert await _counts(session, comment.id) == ((1, 2), (1, 2))

    withdrawn = await client.delete(url, headers=bearer(voters[2]))
    assert withdrawn.status_code == 200
    assert (withdrawn.json()["upvotes"], withdrawn.json()["downvotes"]) == (1, 1)
    assert withdrawn.json()["my_vote"] is None
    again = await client.delete(url, headers=bearer(voters[2]))
    assert (again.json()["upvotes"], again.json()["downvotes"]) == (1, 1)
    assert await _counts(session, comment.id) == ((1, 1), (1, 1))

    # The list shows the counts, and each caller's own vote.
    list_url = comments_url("proposal", scene.proposal.id)
    mine = (await client.get(list_url, headers=bearer(voters[0]))).json()["items"][0]
    assert (mine["upvotes"], mine["downvotes"], mine["my_vote"]) == (1, 1, -1)
    theirs = (await client.get(list_url, headers=bearer(voters[1]))).json()["items"][0]
    assert theirs["my_vote"] == 1
    assert (await client.get(list_url)).json()["items"][0]["my_vote"] is None
    # A vote is not an edit.
    assert mine["edited"] is False

    events = (await session.exec(select(Event).where(col(Event.type) == "comment.voted"))).all()
    # Two ups, one down, one change, one withdrawal; repeats wrote nothing.
    assert sorted(e.payload["value"] for e in events) == [-1, -1, 0, 1, 1]


async def test_vote_values_are_validated(client, session):
    scene = await make_scene(session)
    comment = await make_comment(
        session,
        scene.author,
        "proposal",
        scene.proposal.id,
        organization_id=scene.org.id,
        table_id=scene.table.id,
    )
    await commit_setup(session)
    url = f"/v1/comments/{comment.id}/vote"
    for value in (0, 2, "1", None):
        assert_problem(
            await client.put(url, json={"value": value}, headers=bearer(scene.member)),
            422,
            "validation_error",
        )
    assert_problem(await client.put(url, json={"value": 1}), 401)
    assert await _counts(session, comment.id) == ((0, 0), (0, 0))


async def test_no_votes_on_own_deleted_or_invisible_comments(client, session):
    scene = await make_scene(session)
    private = await make_table(session, scene.org, visibility="private")
    hidden_proposal = await make_proposal(session, private, scene.author)
    own = await make_comment(
        session,
        scene.member,
        "proposal",
        scene.proposal.id,
        organization_id=scene.org.id,
        table_id=scene.table.id,
    )
    gone = await make_comment(
        session,
        scene.author,
        "proposal",
        scene.proposal.id,
        organization_id=scene.org.id,
        table_id=scene.table.id,
    )
    gone.deleted_at, gone.body = gone.created_at, None
    secret = await make_comment(
        session,
        scene.author,
        "proposal",
        hidden_proposal.id,
        organization_id=scene.org.id,
        table_id=private.id,
    )
    await commit_setup(session)
    headers = bearer(scene.member)

    assert_problem(
        await client.put(f"/v1/comments/{own.id}/vote", json={"value": 1}, headers=headers),
        409,
        "own_comment",
    )
    assert_problem(
        await client.put(f"/v1/comments/{gone.id}/vote", json={"value": 1}, headers=headers),
        409,
        "comment_deleted",
    )
    assert_problem(
        await client.put(f"/v1/comments/{secret.id}/vote", json={"value": 1}, headers=headers),
        404,
        "not_found",
    )
    assert_problem(
        await client.put(
            "/v1/comments/00000000-0000-0000-0000-000000000000/vote",
            json={"value": 1},
            headers=headers,
        ),
        404,
    )
    assert (await session.exec(select(CommentVote))).all() == []


async def test_non_members_of_a_request_table_cannot_vote(client, session):
    scene = await make_scene(session, membership_policy="request")
    outsider = await make_user(session)
    comment = await make_comment(
        session,
        scene.author,
        "proposal",
        scene.proposal.id,
        organization_id=scene.org.id,
        table_id=scene.table.id,
    )
    await commit_setup(session)
    response = await client.put(
        f"/v1/comments/{comment.id}/vote", json={"value": 1}, headers=bearer(outsider)
    )
    assert_problem(response, 403, "not_a_member")
    assert await _counts(session, comment.id) == ((0, 0), (0, 0))


async def test_concurrent_votes_keep_the_counters_exact(committing_client):
    async with get_sessionmaker()() as setup:
        org = await make_org(setup)
        table = await make_table(setup, org)
        author = await make_user(setup)
        proposal = await make_proposal(setup, table, author)
        comment = await make_comment(
            setup, author, "proposal", proposal.id, organization_id=org.id, table_id=table.id
        )
        voters = [await make_user(setup) for _ in range(16)]
        for voter in voters:
            await add_member(setup, table, voter)
        await setup.commit()
    url = f"/v1/comments/{comment.id}/vote"

    # Everyone votes at once: half up, half down, each sending their vote three times.
    first = await asyncio.gather(
        *(
            committing_client.put(url, json={"value": 1 if i % 2 else -1}, headers=bearer(v))
            for i, v in enumerate(voters)
            for _ in range(3)
        )
    )
    assert {r.status_code for r in first} == {200}
    async with get_sessionmaker()() as check:
        assert await _counts(check, comment.id) == ((8, 8), (8, 8))

    # Then at once: a quarter withdraw, a quarter flip, the rest repeat.
    def action(i, voter):
        value = 1 if i % 2 else -1
        if i % 4 in (0, 1):
            return committing_client.delete(url, headers=bearer(voter))
        if i % 4 == 2:
            return committing_client.put(url, json={"value": -value}, headers=bearer(voter))
        return committing_client.put(url, json={"value": value}, headers=bearer(voter))

    second = await asyncio.gather(*(action(i, v) for i, v in enumerate(voters) for _ in range(2)))
    assert {r.status_code for r in second} == {200}
    async with get_sessionmaker()() as check:
        (up, down), rows = await _counts(check, comment.id)
        assert (up, down) == rows
        # i % 4 == 2 (even: was -1) flip to +1; i % 4 == 3 (odd: +1) stay.
        assert (up, down) == (8, 0)
