"""Comments: every target type, threads to depth 3, alignment, visibility, closing,
author-only edits, soft delete, the proposals' comments_count, events, bounded queries."""

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import col, select

from app.db import get_sessionmaker
from app.models.accounts import User
from app.models.comments import Comment, CommentTargetType
from app.models.events import Event
from app.models.plans import Plan
from tests.factories import (
    add_member,
    comments_count,
    commit_setup,
    make_comment,
    make_meeting,
    make_org,
    make_plan,
    make_proposal,
    make_scene,
    make_table,
    make_user,
    set_settings,
)
from tests.helpers import assert_problem, bearer, comments_url

TARGETS = ("proposal", "meeting", "plan_node", "poll")


@pytest.mark.parametrize("target_type", TARGETS)
async def test_comment_on_each_target_type(client, session, target_type):
    scene = await make_scene(session)
    target_id = scene.target(target_type)
    await commit_setup(session)
    url = comments_url(target_type, target_id)

    response = await client.post(
        url,
        json={"body": "  Ottima idea, la sostengo.  ", "alignment": "in_favor"},
        headers=bearer(scene.member),
    )
    assert response.status_code == 201, response.text
    comment = response.json()
    assert comment["target_type"] == target_type
    assert comment["target_id"] == str(target_id)
    assert comment["parent_id"] is None and comment["depth"] == 0
    assert comment["alignment"] == "in_favor"
    assert comment["body"] == "Ottima idea, la sostengo."
    assert comment["author"] == {"id": str(scene.member.id), "display_name": "Marco"}
    assert (comment["upvotes"], comment["downvotes"], comment["my_vote"]) == (0, 0, None)
    assert comment["edited"] is False and comment["edited_at"] is None
    assert comment["deleted"] is False
    assert comment["replies"] == []

    listed = await client.get(url)
    assert listed.status_code == 200, listed.text
    assert [c["id"] for c in listed.json()["items"]] == [comment["id"]]
    assert listed.json()["next_cursor"] is None

    row = await session.get(Comment, comment["id"])
    assert row is not None
    assert row.organization_id == scene.org.id
    assert row.table_id == (None if target_type == "plan_node" else scene.table.id)
    assert row.root_id == row.id
    expected = 1 if target_type == "proposal" else 0
    assert await comments_count(session, scene.proposal.id) == expected


async def test_alignment_defaults_to_neutral_and_is_validated(client, session):
    scene = await make_scene(session)
    await commit_setup(session)
    url = comments_url("proposal", scene.proposal.id)
    headers = bearer(scene.member)

    plain = await client.post(url, json={"body": "Una domanda."}, headers=headers)
    assert plain.status_code == 201 and plain.json()["alignment"] == "neutral"
    against = await client.post(
        url, json={"body": "Contrario.", "alignment": "against"}, headers=headers
    )
    assert against.json()["alignment"] == "against"
    bad = await client.post(url, json={"body": "Boh", "alignment": "maybe"}, headers=headers)
    assert_problem(bad, 422, "validation_error")
    empty = await client.post(url, json={"body": "   "}, headers=headers)
    assert_problem(empty, 422, "validation_error")
    assert await comments_count(session, scene.proposal.id) == 2


async def test_replies_go_down_to_depth_three(client, session):
    scene = await make_scene(session)
    await commit_setup(session)
    url = comments_url("proposal", scene.proposal.id)
    headers = bearer(scene.member)

    ids = []
    parent_id = None
    for depth in range(4):
        body = {"body": f"Livello {depth}", "parent_id": parent_id}
        response = await client.post(url, json=body, headers=headers)
        assert response.status_code == 201, response.text
        assert response.json()["depth"] == depth
        assert response.json()["parent_id"] == parent_id
        parent_id = response.json()["id"]
        ids.append(parent_id)

    too_deep = await client.post(url, json={"body": "Troppo", "parent_id": ids[3]}, headers=headers)
    body = assert_problem(too_deep, 422, "max_depth")
    assert body["errors"][0]["loc"] == ["body", "parent_id"]
    # A sibling at depth 3 is fine.
    sibling = await client.post(url, json={"body": "Accanto", "parent_id": ids[2]}, headers=headers)
    assert sibling.status_code == 201 and sibling.json()["depth"] == 3

    rows = (
        await session.exec(
            select(Comment)
            .where(col(Comment.target_id) == scene.proposal.id)
            .order_by(col(Comment.depth))
        )
    ).all()
    assert max(r.depth for r in rows) == 3
    assert {str(r.root_id) for r in rows} == {ids[0]}
    assert await comments_count(session, scene.proposal.id) == 5

    # One root, its thread nested.
    items = (await client.get(url)).json()["items"]
    assert [c["id"] for c in items] == [ids[0]]
    level1 = items[0]["replies"]
    assert [c["id"] for c in level1] == [ids[1]]
    level2 = level1[0]["replies"]
    assert [c["id"] for c in level2] == [ids[2]]
    level3 = level2[0]["replies"]
    assert [c["id"] for c in level3] == [ids[3], sibling.json()["id"]]
    assert all(c["depth"] == 3 and c["replies"] == [] for c in level3)


async def test_a_reply_must_have_its_parents_target(client, session):
    scene = await make_scene(session)
    other = await make_proposal(session, scene.table, scene.author, title="Altra proposta")
    parent = await make_comment(
        session,
        scene.author,
        "proposal",
        scene.proposal.id,
        organization_id=scene.org.id,
        table_id=scene.table.id,
    )
    on_meeting = await make_comment(
        session,
        scene.author,
        "meeting",
        scene.meeting.id,
        organization_id=scene.org.id,
        table_id=scene.table.id,
    )
    await commit_setup(session)
    headers = bearer(scene.member)

    for parent_id in (parent.id, on_meeting.id, "00000000-0000-0000-0000-000000000001"):
        response = await client.post(
            comments_url("proposal", other.id),
            json={"body": "Risposta fuori posto", "parent_id": str(parent_id)},
            headers=headers,
        )
        assert_problem(response, 422, "invalid_parent")
    assert await comments_count(session, other.id) == 0
    count = (await session.exec(select(Comment).where(col(Comment.target_id) == other.id))).all()
    assert count == []


async def test_invisible_targets_are_404_for_list_and_create(client, session):
    scene = await make_scene(session, visibility="private")
    outsider = await make_user(session)
    draft_org = await make_org(session)
    draft_plan, draft_nodes = await make_plan(session, draft_org, status="draft")
    draft = await make_proposal(session, scene.table, scene.author, status="draft")
    await commit_setup(session)

    for target_type in ("proposal", "meeting", "poll"):
        url = comments_url(target_type, scene.target(target_type))
        for headers in ({}, bearer(outsider)):
            assert_problem(await client.get(url, headers=headers), 404, "not_found")
        assert_problem(await client.post(url, json={"body": "Ciao"}, headers=bearer(outsider)), 404)
        # Members see it.
        assert (await client.get(url, headers=bearer(scene.member))).status_code == 200
    node_url = comments_url("plan_node", draft_nodes["1"].id)
    assert_problem(await client.get(node_url, headers=bearer(outsider)), 404)
    assert_problem(
        await client.post(node_url, json={"body": "Ciao"}, headers=bearer(outsider)), 404
    )
    # A draft proposal is its author's alone.
    draft_url = comments_url("proposal", draft.id)
    assert_problem(await client.get(draft_url, headers=bearer(scene.member)), 404)
    missing = comments_url("meeting", draft_plan.id)
    assert_problem(await client.get(missing, headers=bearer(scene.member)), 404)
    rows = (await session.exec(select(Comment))).all()
    assert rows == []


async def test_writers_must_be_able_to_take_part(client, session):
    scene = await make_scene(session, membership_policy="request")
    unverified = await make_user(session, verified=False)
    child = await make_user(session)
    child.birth_date = date.today() - timedelta(days=12 * 365)
    outsider = await make_user(session)
    await add_member(session, scene.table, unverified)
    await add_member(session, scene.table, child)
    await commit_setup(session)
    url = comments_url("proposal", scene.proposal.id)
    body = {"body": "Posso scrivere?"}

    assert_problem(await client.post(url, json=body), 401)
    assert_problem(
        await client.post(url, json=body, headers=bearer(unverified)), 403, "email_not_verified"
    )
    assert_problem(
        await client.post(url, json=body, headers=bearer(child)), 403, "guardian_consent_required"
    )
    # A public table that admits by request: visible to all, writable by its members.
    assert (await client.get(url, headers=bearer(outsider))).status_code == 200
    assert_problem(await client.post(url, json=body, headers=bearer(outsider)), 403, "not_a_member")
    # Plan nodes belong to no table: any participant may comment.
    node_url = comments_url("plan_node", scene.node.id)
    assert (await client.post(node_url, json=body, headers=bearer(outsider))).status_code == 201
    assert await comments_count(session, scene.proposal.id) == 0
    # With a guardian's consent on record, the under-14 member writes.
    grown = await session.get(User, child.id)
    assert grown is not None
    grown.guardian_consent_at = datetime.now(UTC)
    await commit_setup(session)
    assert (await client.post(url, json=body, headers=bearer(child))).status_code == 201
    assert await comments_count(session, scene.proposal.id) == 1


async def test_anyone_eligible_may_comment_on_a_public_open_table(client, session):
    scene = await make_scene(session)  # public, open membership
    passer_by = await make_user(session)
    await commit_setup(session)
    response = await client.post(
        comments_url("proposal", scene.proposal.id),
        json={"body": "Passavo di qui."},
        headers=bearer(passer_by),
    )
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    "case",
    [
        "table_closed",
        "table_archived",
        "settings",
        "withdrawn",
        "rejected",
        "cancelled",
        "node_archived",
        "plan_archived",
    ],
)
async def test_comments_closed(client, session, case):
    scene = await make_scene(session)
    target_type: CommentTargetType = "proposal"
    target_id = scene.proposal.id
    if case == "table_closed":
        scene.table.status = "closed"
    elif case == "table_archived":
        scene.table.status = "archived"
    elif case == "settings":
        await set_settings(session, scene.table, comments_open=False)
    elif case == "withdrawn":
        target_id = (await make_proposal(session, scene.table, scene.author, status="withdrawn")).id
    elif case == "rejected":
        target_id = (
            await make_proposal(session, scene.table, scene.author, answer_state="rejected")
        ).id
    elif case == "cancelled":
        target_type = "meeting"
        target_id = (await make_meeting(session, scene.table, status="cancelled")).id
    elif case == "node_archived":
        target_type, target_id = "plan_node", scene.node.id
        scene.node.archived_at = datetime.now(UTC)
    elif case == "plan_archived":
        target_type, target_id = "plan_node", scene.node.id
        plan = await session.get(Plan, scene.plan.id)
        assert plan is not None
        plan.status = "archived"
    existing = await make_comment(
        session, scene.author, target_type, target_id, organization_id=scene.org.id
    )
    await session.flush()
    await commit_setup(session)
    url = comments_url(target_type, target_id)

    response = await client.post(url, json={"body": "Troppo tardi?"}, headers=bearer(scene.member))
    assert_problem(response, 409, "comments_closed")
    # Still readable; the author cannot edit any more, but may still delete.
    listed = await client.get(url, headers=bearer(scene.member))
    assert [c["id"] for c in listed.json()["items"]] == [str(existing.id)]
    edit = await client.patch(
        f"/v1/comments/{existing.id}", json={"body": "Modifica"}, headers=bearer(scene.author)
    )
    assert_problem(edit, 409, "comments_closed")
    vote = await client.put(
        f"/v1/comments/{existing.id}/vote", json={"value": 1}, headers=bearer(scene.member)
    )
    assert_problem(vote, 409, "comments_closed")
    deleted = await client.delete(f"/v1/comments/{existing.id}", headers=bearer(scene.author))
    assert deleted.status_code == 204
    rows = (await session.exec(select(Comment).where(col(Comment.target_id) == target_id))).all()
    assert len(rows) == 1


async def test_the_author_edits_and_the_comment_is_marked_edited(client, session):
    scene = await make_scene(session)
    comment = await make_comment(
        session,
        scene.author,
        "proposal",
        scene.proposal.id,
        organization_id=scene.org.id,
        table_id=scene.table.id,
        body="Prima versione",
    )
    await commit_setup(session)

    response = await client.patch(
        f"/v1/comments/{comment.id}",
        json={"body": "Seconda versione", "alignment": "against"},
        headers=bearer(scene.author),
    )
    assert response.status_code == 200, response.text
    edited = response.json()
    assert edited["body"] == "Seconda versione" and edited["alignment"] == "against"
    assert edited["edited"] is True and edited["edited_at"] is not None
    assert edited["author"]["id"] == str(scene.author.id)
    row = await session.get(Comment, comment.id)
    assert row is not None and row.body == "Seconda versione" and row.edited_at is not None
    # Sending the same text again changes nothing.
    again = await client.patch(
        f"/v1/comments/{comment.id}",
        json={"body": "Seconda versione"},
        headers=bearer(scene.author),
    )
    assert again.json()["edited_at"] == edited["edited_at"]
    events = (await session.exec(select(Event).where(col(Event.type) == "comment.updated"))).all()
    assert len(events) == 1
    assert events[0].subject_id == comment.id and events[0].actor_id == scene.author.id
    assert events[0].payload == {"fields": ["alignment", "body"]}


async def test_nobody_edits_or_deletes_another_persons_comment(client, session):
    scene = await make_scene(session)
    admin = await make_user(session, platform_admin=True)
    comment = await make_comment(
        session,
        scene.author,
        "proposal",
        scene.proposal.id,
        organization_id=scene.org.id,
        table_id=scene.table.id,
        body="Il mio testo",
    )
    await commit_setup(session)
    url = f"/v1/comments/{comment.id}"

    for person in (scene.member, scene.facilitator, admin):
        assert_problem(
            await client.patch(url, json={"body": "Vandalismo"}, headers=bearer(person)),
            404,
            "not_found",
        )
        assert_problem(await client.delete(url, headers=bearer(person)), 404, "not_found")
    assert_problem(await client.patch(url, json={"body": "Anonimo"}), 401)
    row = await session.get(Comment, comment.id)
    assert row is not None
    assert row.body == "Il mio testo" and row.edited_at is None and row.deleted_at is None
    assert (
        await session.exec(select(Event).where(col(Event.subject_id) == comment.id))
    ).all() == []


async def test_soft_delete_keeps_the_thread(client, session):
    scene = await make_scene(session)
    await commit_setup(session)
    url = comments_url("proposal", scene.proposal.id)
    root = (
        await client.post(
            url, json={"body": "Radice", "alignment": "in_favor"}, headers=bearer(scene.author)
        )
    ).json()
    reply = (
        await client.post(
            url, json={"body": "Risposta", "parent_id": root["id"]}, headers=bearer(scene.member)
        )
    ).json()
    assert await comments_count(session, scene.proposal.id) == 2

    deleted = await client.delete(f"/v1/comments/{root['id']}", headers=bearer(scene.author))
    assert deleted.status_code == 204
    assert await comments_count(session, scene.proposal.id) == 1
    # Deleting again changes nothing (retries are safe).
    again = await client.delete(f"/v1/comments/{root['id']}", headers=bearer(scene.author))
    assert again.status_code == 204
    assert await comments_count(session, scene.proposal.id) == 1

    items = (await client.get(url, headers=bearer(scene.member))).json()["items"]
    assert len(items) == 1
    shown = items[0]
    assert shown["id"] == root["id"]
    assert shown["deleted"] is True and shown["body"] is None and shown["author"] is None
    assert shown["alignment"] == "in_favor"
    assert [r["id"] for r in shown["replies"]] == [reply["id"]]
    assert shown["replies"][0]["body"] == "Risposta"
    assert shown["replies"][0]["author"]["id"] == str(scene.member.id)

    row = await session.get(Comment, root["id"])
    assert row is not None and row.deleted_at is not None and row.body is None

    assert_problem(
        await client.patch(
            f"/v1/comments/{root['id']}", json={"body": "Torno"}, headers=bearer(scene.author)
        ),
        409,
        "comment_deleted",
    )
    assert_problem(
        await client.post(
            url, json={"body": "A chi?", "parent_id": root["id"]}, headers=bearer(scene.member)
        ),
        409,
        "comment_deleted",
    )
    events = (await session.exec(select(Event).where(col(Event.type) == "comment.deleted"))).all()
    assert [str(e.subject_id) for e in events] == [root["id"]]


async def test_events_are_written_for_every_change(client, session):
    scene = await make_scene(session)
    await commit_setup(session)
    url = comments_url("proposal", scene.proposal.id)
    created = await client.post(url, json={"body": "Evento"}, headers=bearer(scene.author))
    comment_id = created.json()["id"]
    await client.patch(
        f"/v1/comments/{comment_id}", json={"body": "Evento 2"}, headers=bearer(scene.author)
    )
    await client.put(
        f"/v1/comments/{comment_id}/vote", json={"value": 1}, headers=bearer(scene.member)
    )
    await client.delete(f"/v1/comments/{comment_id}", headers=bearer(scene.author))

    events = (
        await session.exec(
            select(Event).where(col(Event.subject_id) == comment_id).order_by(col(Event.created_at))
        )
    ).all()
    assert [e.type for e in events] == [
        "comment.created",
        "comment.updated",
        "comment.voted",
        "comment.deleted",
    ]
    assert all(e.organization_id == scene.org.id for e in events)
    assert events[0].payload["target_type"] == "proposal"
    assert events[0].payload["target_id"] == str(scene.proposal.id)
    assert events[0].actor_id == scene.author.id
    assert events[2].actor_id == scene.member.id and events[2].payload == {"value": 1}


async def test_list_orders_and_keyset_pages(client, session):
    scene = await make_scene(session)
    start = datetime.now(UTC) - timedelta(hours=1)
    roots = []
    for i, (up, down) in enumerate([(0, 0), (5, 1), (2, 0), (9, 9), (3, 0)]):
        roots.append(
            await make_comment(
                session,
                scene.author,
                "proposal",
                scene.proposal.id,
                organization_id=scene.org.id,
                table_id=scene.table.id,
                body=f"Commento {i}",
                created_at=start + timedelta(minutes=i),
                upvotes=up,
                downvotes=down,
            )
        )
    await make_comment(
        session,
        scene.member,
        "proposal",
        scene.proposal.id,
        organization_id=scene.org.id,
        parent=roots[0],
        body="Risposta",
        created_at=start + timedelta(minutes=10),
    )
    await commit_setup(session)
    url = comments_url("proposal", scene.proposal.id)

    async def walk(order):
        seen, cursor = [], None
        while True:
            params = {"limit": 2, "order": order} | ({"cursor": cursor} if cursor else {})
            page = (await client.get(url, params=params)).json()
            assert len(page["items"]) <= 2
            seen += [c["body"] for c in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                return seen

    names = [f"Commento {i}" for i in range(5)]
    assert await walk("oldest") == names
    assert await walk("recent") == names[::-1]
    # Best: upvotes - downvotes (4, 3, 2, 0, 0), ties oldest first.
    assert await walk("best") == [
        "Commento 1",
        "Commento 4",
        "Commento 2",
        "Commento 0",
        "Commento 3",
    ]
    assert_problem(await client.get(url, params={"order": "loudest"}), 422)
    assert_problem(await client.get(url, params={"cursor": "nonsense"}), 422, "invalid_cursor")


async def test_listing_comments_takes_a_bounded_number_of_queries(client, session, query_counter):
    scene = await make_scene(session)
    for i in range(30):
        root = await make_comment(
            session,
            scene.author,
            "proposal",
            scene.proposal.id,
            organization_id=scene.org.id,
            table_id=scene.table.id,
            body=f"Radice {i}",
        )
        child = await make_comment(
            session,
            scene.member,
            "proposal",
            scene.proposal.id,
            organization_id=scene.org.id,
            parent=root,
        )
        await make_comment(
            session,
            scene.facilitator,
            "proposal",
            scene.proposal.id,
            organization_id=scene.org.id,
            parent=child,
        )
    await commit_setup(session)
    url = comments_url("proposal", scene.proposal.id)
    headers = bearer(scene.member)

    counts = {}
    for limit in (2, 30):
        query_counter.reset()
        response = await client.get(url, params={"limit": limit}, headers=headers)
        assert response.status_code == 200
        assert len(response.json()["items"]) == limit
        assert all(len(c["replies"]) == 1 for c in response.json()["items"])
        counts[limit] = query_counter.count
    assert counts[2] == counts[30], query_counter.statements
    assert counts[30] <= 8, query_counter.statements


async def test_adding_a_comment_takes_a_bounded_number_of_queries(client, session, query_counter):
    scene = await make_scene(session)
    await commit_setup(session)
    url = comments_url("proposal", scene.proposal.id)
    query_counter.reset()
    response = await client.post(url, json={"body": "Conto le query"}, headers=bearer(scene.member))
    assert response.status_code == 201
    # The write-rate counter; the caller; the target with its table and the caller's
    # standing; the suspension and thread-lock checks; the organization's word list; the
    # insert; the counter; the event — plus the harness's savepoint and its release.
    assert query_counter.count <= 12, query_counter.statements


async def test_n_concurrent_comments_keep_comments_count_exact(committing_client):
    async with get_sessionmaker()() as setup:
        org = await make_org(setup)
        table = await make_table(setup, org)
        author = await make_user(setup)
        proposal = await make_proposal(setup, table, author)
        people = [await make_user(setup) for _ in range(12)]
        for person in people:
            await add_member(setup, table, person)
        await setup.commit()
    url = comments_url("proposal", proposal.id)

    responses = await asyncio.gather(
        *(
            committing_client.post(url, json={"body": f"Commento {i}"}, headers=bearer(p))
            for i, p in enumerate(people)
        )
    )
    assert [r.status_code for r in responses] == [201] * 12
    # Half of them delete theirs at once, twice over (retries).
    deletions = await asyncio.gather(
        *(
            committing_client.delete(f"/v1/comments/{r.json()['id']}", headers=bearer(p))
            for r, p in list(zip(responses, people, strict=True))[:6] * 2
        )
    )
    assert [d.status_code for d in deletions] == [204] * 12
    async with get_sessionmaker()() as check:
        assert await comments_count(check, proposal.id) == 6
        live = (
            await check.exec(
                select(Comment).where(
                    col(Comment.target_id) == proposal.id, col(Comment.deleted_at).is_(None)
                )
            )
        ).all()
        assert len(live) == 6
