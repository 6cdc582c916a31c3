"""Hidden content disappears for everyone but its author and its moderators: proposals
(lists, search, similar, lookups, their comments), comments (placeholders that keep the
thread, not counted), meetings (lists, lookups, calendar feeds, counts)."""

from sqlmodel import col, select

from app.models.comments import Comment
from app.services.moderation.status import set_content_status
from tests.factories import (
    add_member,
    comments_count,
    commit_setup,
    make_comment,
    make_meeting,
    make_proposal,
    make_scene,
    make_table,
    make_user,
)
from tests.helpers import assert_problem, bearer, comments_url, flatten, listed_ids

BIKES = "Un servizio di biciclette condivise per i quartieri periferici della città."


async def test_a_hidden_proposal_is_gone_for_others_but_not_for_its_author_and_moderators(
    client, session
):
    s = await make_scene(session, content=False)
    author = await make_user(session, name="Autrice")
    await add_member(session, s.table, author)
    outsider = await make_user(session)
    other_table = await make_table(session, s.org, plan_id=s.plan.id)
    other_facilitator = await make_user(session)
    await add_member(session, other_table, other_facilitator, role="facilitator")
    shown = await make_proposal(
        session, s.table, s.member, title="Biciclette condivise nei quartieri", body=BIKES
    )
    hidden = await make_proposal(
        session,
        s.table,
        author,
        title="Biciclette condivise per i quartieri",
        body=BIKES,
        moderation_status="hidden",
    )
    await commit_setup(session)
    table_url = f"/v1/tables/{s.table.id}/proposals"
    others = [None, bearer(outsider), bearer(s.member), bearer(other_facilitator)]
    for headers in others:
        assert await listed_ids(client, table_url, headers) == [str(shown.id)]
        assert await listed_ids(client, f"{table_url}?q=biciclette", headers) == [str(shown.id)]
        assert await listed_ids(client, f"{table_url}?sort=comments", headers) == [str(shown.id)]
        assert await listed_ids(client, f"/v1/proposals/{shown.id}/similar", headers) == []
        for url in (
            f"/v1/proposals/{hidden.id}",
            f"/v1/proposals/{hidden.id}/similar",
            comments_url("proposal", hidden.id),
        ):
            assert_problem(await client.get(url, headers=headers or {}), 404)
    assert_problem(
        await client.put(f"/v1/proposals/{hidden.id}/support", headers=bearer(s.member)), 404
    )
    # Its author still sees it, marked hidden.
    mine = await client.get(f"/v1/proposals/{hidden.id}", headers=bearer(author))
    assert mine.status_code == 200 and mine.json()["moderation_status"] == "hidden"
    listed = (await client.get(table_url, headers=bearer(author))).json()["items"]
    assert {p["id"]: p["moderation_status"] for p in listed} == {
        str(shown.id): "visible",
        str(hidden.id): "hidden",
    }
    # So do its moderators: the table's facilitators and the organization's admins.
    for moderator in (s.facilitator, s.admin):
        got = await client.get(f"/v1/proposals/{hidden.id}", headers=bearer(moderator))
        assert got.status_code == 200 and got.json()["moderation_status"] == "hidden"
        assert set(await listed_ids(client, table_url, bearer(moderator))) == {
            str(shown.id),
            str(hidden.id),
        }
    similar = await client.get(f"/v1/proposals/{shown.id}/similar", headers=bearer(s.facilitator))
    assert [(p["id"], p["moderation_status"]) for p in similar.json()["items"]] == [
        (str(hidden.id), "hidden")
    ]


async def test_a_hidden_comment_is_a_placeholder_that_keeps_its_thread_and_does_not_count(
    client, session
):
    scene = await make_scene(session)
    proposal = scene.proposal
    org_id, table_id = scene.org.id, scene.table.id
    root = await make_comment(
        session,
        scene.author,
        "proposal",
        proposal.id,
        body="Testo da nascondere",
        organization_id=org_id,
        table_id=table_id,
    )
    reply = await make_comment(
        session,
        scene.member,
        "proposal",
        proposal.id,
        parent=root,
        body="Risposta",
        organization_id=org_id,
        table_id=table_id,
    )
    await commit_setup(session)
    assert await comments_count(session, proposal.id) == 2
    await set_content_status(session, "comment", root.id, "hidden")
    await commit_setup(session)
    # The public count leaves it out.
    assert await comments_count(session, proposal.id) == 1
    shown = await client.get(f"/v1/proposals/{proposal.id}")
    assert shown.json()["comments_count"] == 1

    url = comments_url("proposal", proposal.id)
    for headers in ({}, bearer(scene.member)):
        page = (await client.get(url, headers=headers)).json()["items"]
        assert [c["id"] for c in page] == [str(root.id)]
        placeholder = page[0]
        assert placeholder["body"] is None and placeholder["author"] is None
        assert placeholder["moderation_status"] == "hidden"
        assert placeholder["deleted"] is False
        # Its replies stay reachable.
        assert [(r["id"], r["body"]) for r in placeholder["replies"]] == [
            (str(reply.id), "Risposta")
        ]
    for viewer in (scene.author, scene.facilitator):
        seen = flatten((await client.get(url, headers=bearer(viewer))).json()["items"])
        assert seen[str(root.id)]["body"] == "Testo da nascondere"
        assert seen[str(root.id)]["author"]["id"] == str(scene.author.id)
        assert seen[str(root.id)]["moderation_status"] == "hidden"
    # Nobody answers or votes on a hidden comment.
    assert_problem(
        await client.post(
            url, json={"body": "Ancora?", "parent_id": str(root.id)}, headers=bearer(scene.member)
        ),
        409,
        "comment_not_visible",
    )
    assert_problem(
        await client.put(
            f"/v1/comments/{root.id}/vote", json={"value": 1}, headers=bearer(scene.member)
        ),
        409,
    )
    # Its author deleting it does not move the count again.
    deleted = await client.delete(f"/v1/comments/{root.id}", headers=bearer(scene.author))
    assert deleted.status_code == 204
    assert await comments_count(session, proposal.id) == 1
    # Deleting a visible one does.
    assert (
        await client.delete(f"/v1/comments/{reply.id}", headers=bearer(scene.member))
    ).status_code == 204
    assert await comments_count(session, proposal.id) == 0
    rows = (
        await session.exec(
            select(Comment.status, Comment.deleted_at)
            .where(col(Comment.id) == root.id)
            .execution_options(populate_existing=True)
        )
    ).one()
    assert rows[0] == "hidden" and rows[1] is not None


async def test_a_hidden_meeting_is_gone_from_lists_feeds_and_lookups(client, session):
    scene = await make_scene(session)
    outsider = await make_user(session)
    hidden = await make_meeting(session, scene.table, moderation_status="hidden")
    await commit_setup(session)
    table = scene.table
    for headers in ({}, bearer(outsider), bearer(scene.member)):
        assert await listed_ids(client, f"/v1/tables/{table.id}/meetings", headers) == [
            str(scene.meeting.id)
        ]
        for url in (
            f"/v1/meetings/{hidden.id}",
            f"/v1/meetings/{hidden.id}.ics",
            comments_url("meeting", hidden.id),
        ):
            assert_problem(await client.get(url, headers=headers), 404)
        feed = await client.get(f"/v1/tables/{table.id}/calendar.ics", headers=headers)
        assert feed.status_code == 200
        assert str(scene.meeting.id) in feed.text and str(hidden.id) not in feed.text
        counted = await client.get(f"/v1/tables/{table.id}", headers=headers)
        assert counted.json()["meetings_count"] == 1
    assert_problem(
        await client.post(f"/v1/meetings/{hidden.id}/registrations", headers=bearer(outsider)),
        404,
    )
    # The table's facilitators (its moderators) still see it, marked hidden.
    moderator = bearer(scene.facilitator)
    listed = (await client.get(f"/v1/tables/{table.id}/meetings", headers=moderator)).json()
    assert {m["id"]: m["moderation_status"] for m in listed["items"]} == {
        str(scene.meeting.id): "visible",
        str(hidden.id): "hidden",
    }
    one = await client.get(f"/v1/meetings/{hidden.id}", headers=moderator)
    assert one.status_code == 200 and one.json()["moderation_status"] == "hidden"
    its_comments = await client.get(comments_url("meeting", hidden.id), headers=moderator)
    assert its_comments.status_code == 200


async def test_the_list_costs_the_same_queries_whatever_is_hidden(client, session, query_counter):
    s = await make_scene(session, content=False)
    authors = [await make_user(session) for _ in range(3)]
    for author in authors:
        await add_member(session, s.table, author)
    for i in range(24):
        await make_proposal(
            session,
            s.table,
            authors[i % 3],
            title=f"Proposta numero {i}",
            moderation_status=("visible", "hidden", "pending")[i % 3],
        )
    await commit_setup(session)
    url = f"/v1/tables/{s.table.id}/proposals"
    counts = {}
    for name, headers in (
        ("anonymous", {}),
        ("member", bearer(s.member)),
        ("author", bearer(authors[1])),
        ("facilitator", bearer(s.facilitator)),
    ):
        for limit in (5, 20):
            query_counter.reset()
            response = await client.get(f"{url}?limit={limit}", headers=headers)
            assert response.status_code == 200
            counts[(name, limit)] = len(
                [q for q in query_counter.statements if "SAVEPOINT" not in q]
            )
        body = response.json()["items"]
        statuses = {p["moderation_status"] for p in body}
        if name in ("anonymous", "member"):
            assert len(body) == 8 and statuses == {"visible"}
        elif name == "author":
            assert len(body) == 16 and statuses == {"visible", "hidden"}
        else:
            assert len(body) == 20 and statuses == {"visible", "hidden", "pending"}
    # A page of 20 costs what a page of 5 does, for everyone; and only a handful.
    for name in ("anonymous", "member", "author", "facilitator"):
        assert counts[(name, 5)] == counts[(name, 20)] <= 10, counts
