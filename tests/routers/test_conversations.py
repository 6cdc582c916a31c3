"""Conversations: facilitators open them; participants write statements (moderated like
comments) and vote agree / disagree / pass, one vote each, changeable; the next
statement is one the caller has not voted on."""

from sqlmodel import col, select

from app.models.conversations import Conversation, ConversationStatement, ConversationVote
from tests.factories import (
    PASSWORD,
    commit_setup,
    make_conversation,
    make_scene,
    make_statement,
    make_user,
    moderation_row,
    set_settings,
    vote_tally,
)
from tests.helpers import act, assert_problem, bearer, report


async def test_facilitators_open_conversations_that_the_table_sees(client, session):
    scene = await make_scene(session, content=False)
    await commit_setup(session)
    url = f"/v1/tables/{scene.table.id}/conversations"
    refused = await client.post(url, json={"title": "Nope"}, headers=bearer(scene.member))
    assert_problem(refused, 404, "not_found")
    created = await client.post(
        url,
        json={"title": "Spazi per i giovani", "description": "Dite la vostra."},
        headers=bearer(scene.facilitator),
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["title"] == "Spazi per i giovani"
    assert body["status"] == "open"
    assert body["statements_count"] == 0 and body["votes_count"] == 0
    assert "pseudonym_key" not in body and "map_dirty" not in body
    listed = (await client.get(url)).json()
    assert [c["id"] for c in listed["items"]] == [body["id"]]
    assert listed["next_cursor"] is None
    one = await client.get(f"/v1/conversations/{body['id']}")
    assert one.status_code == 200 and one.json()["id"] == body["id"]

    closed = await client.patch(
        f"/v1/conversations/{body['id']}",
        json={"status": "closed"},
        headers=bearer(scene.facilitator),
    )
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    by_member = await client.patch(
        f"/v1/conversations/{body['id']}", json={"title": "x"}, headers=bearer(scene.member)
    )
    assert_problem(by_member, 404, "not_found")
    nulls = await client.patch(
        f"/v1/conversations/{body['id']}", json={"title": None}, headers=bearer(scene.facilitator)
    )
    assert_problem(nulls, 422, "validation_error")
    row = await session.get(Conversation, body["id"])
    assert row is not None and row.status == "closed" and row.title == "Spazi per i giovani"


async def test_a_private_tables_conversation_is_a_404_to_outsiders(client, session):
    scene = await make_scene(session, content=False, visibility="private")
    conversation = await make_conversation(session, scene.table)
    outsider = await make_user(session)
    await commit_setup(session)
    for who in ({}, bearer(outsider)):
        assert_problem(await client.get(f"/v1/conversations/{conversation.id}", headers=who), 404)
        assert_problem(
            await client.get(f"/v1/conversations/{conversation.id}/map", headers=who), 404
        )
    assert (
        await client.get(f"/v1/conversations/{conversation.id}", headers=bearer(scene.member))
    ).status_code == 200


async def test_statements_are_short_and_counted(client, session):
    scene = await make_scene(session, content=False)
    conversation = await make_conversation(session, scene.table)
    await commit_setup(session)
    url = f"/v1/conversations/{conversation.id}/statements"
    too_long = await client.post(url, json={"body": "x" * 281}, headers=bearer(scene.member))
    assert_problem(too_long, 422, "validation_error")
    written = await client.post(
        url, json={"body": "  Più panchine nei parchi.  "}, headers=bearer(scene.member)
    )
    assert written.status_code == 201, written.text
    statement = written.json()
    assert statement["body"] == "Più panchine nei parchi."
    assert statement["status"] == "visible" and statement["mine"] is True
    assert "author_id" not in statement and "author" not in statement
    listed = (await client.get(url)).json()["items"]
    assert [s["id"] for s in listed] == [statement["id"]]
    assert listed[0]["mine"] is False
    counts = (await client.get(f"/v1/conversations/{conversation.id}")).json()
    assert counts["statements_count"] == 1


async def test_only_facilitators_add_statements_when_the_conversation_says_so(client, session):
    scene = await make_scene(session, content=False)
    conversation = await make_conversation(session, scene.table, participant_statements=False)
    await commit_setup(session)
    url = f"/v1/conversations/{conversation.id}/statements"
    refused = await client.post(url, json={"body": "Io no?"}, headers=bearer(scene.member))
    assert_problem(refused, 403, "statements_by_facilitators")
    done = await client.post(url, json={"body": "Io sì."}, headers=bearer(scene.facilitator))
    assert done.status_code == 201


async def test_statements_wait_for_approval_on_a_premoderated_table(client, session):
    scene = await make_scene(session, content=False)
    await set_settings(session, scene.table, premoderation=True)
    conversation = await make_conversation(session, scene.table)
    other = await make_user(session)
    await commit_setup(session)
    url = f"/v1/conversations/{conversation.id}/statements"
    held = await client.post(url, json={"body": "Aspetto."}, headers=bearer(scene.member))
    assert held.status_code == 201 and held.json()["status"] == "pending"
    sid = held.json()["id"]
    assert (await client.get(url, headers=bearer(other))).json()["items"] == []
    assert [
        s["id"] for s in (await client.get(url, headers=bearer(scene.member))).json()["items"]
    ] == [sid]
    vote = await client.put(
        f"/v1/statements/{sid}/vote", json={"vote": "agree"}, headers=bearer(scene.member)
    )
    assert_problem(vote, 409, "statement_not_visible")
    queued = await moderation_row(session, "statement", sid)
    assert queued is not None and queued.pending and queued.open
    approved = await act(client, scene.facilitator, "statement", sid, "approve")
    assert approved.status_code in (200, 201), approved.text
    assert [s["id"] for s in (await client.get(url, headers=bearer(other))).json()["items"]] == [
        sid
    ]


async def test_statements_are_reported_and_hidden_like_comments(client, session):
    scene = await make_scene(session, content=False)
    conversation = await make_conversation(session, scene.table)
    statement = await make_statement(session, conversation, "Testo da segnalare.")
    reporter = await make_user(session)
    await commit_setup(session)
    reported = await report(client, reporter, "statement", statement.id)
    assert reported.status_code == 201, reported.text
    hidden = await act(client, scene.facilitator, "statement", statement.id, "hide")
    assert hidden.status_code in (200, 201), hidden.text
    row = (
        await session.exec(
            select(ConversationStatement)
            .where(col(ConversationStatement.id) == statement.id)
            .execution_options(populate_existing=True)
        )
    ).one()
    assert row.status == "hidden"
    listed = await client.get(f"/v1/conversations/{conversation.id}/statements")
    assert listed.json()["items"] == []
    assert_problem(
        await client.put(
            f"/v1/statements/{statement.id}/vote",
            json={"vote": "agree"},
            headers=bearer(scene.member),
        ),
        404,
    )
    map_dirty = (await session.exec(select(Conversation.map_dirty))).one()
    assert map_dirty is True


async def test_one_vote_per_person_changeable_and_withdrawn(client, session):
    scene = await make_scene(session, content=False)
    conversation = await make_conversation(session, scene.table)
    statement = await make_statement(session, conversation)
    await commit_setup(session)
    url = f"/v1/statements/{statement.id}/vote"
    first = await client.put(url, json={"vote": "agree"}, headers=bearer(scene.member))
    assert first.status_code == 200, first.text
    assert first.json()["agree_count"] == 1 and first.json()["my_vote"] == "agree"
    again = await client.put(url, json={"vote": "agree"}, headers=bearer(scene.member))
    assert again.json()["agree_count"] == 1
    changed = await client.put(url, json={"vote": "disagree"}, headers=bearer(scene.member))
    body = changed.json()
    assert (body["agree_count"], body["disagree_count"], body["my_vote"]) == (0, 1, "disagree")
    other = await client.put(url, json={"vote": "pass"}, headers=bearer(scene.facilitator))
    assert other.json()["pass_count"] == 1 and other.json()["disagree_count"] == 1
    bad = await client.put(url, json={"vote": "maybe"}, headers=bearer(scene.member))
    assert_problem(bad, 422, "validation_error")
    withdrawn = await client.delete(url, headers=bearer(scene.member))
    assert withdrawn.status_code == 200 and withdrawn.json()["my_vote"] is None
    assert withdrawn.json()["disagree_count"] == 0
    assert await vote_tally(session, statement.id) == {
        "agree": 0,
        "disagree": 0,
        "pass": 1,
        "agree_rows": 0,
        "disagree_rows": 0,
        "pass_rows": 1,
    }
    assert_problem(await client.put(url, json={"vote": "agree"}), 401)


async def test_a_closed_conversation_takes_no_votes(client, session):
    scene = await make_scene(session, content=False)
    conversation = await make_conversation(session, scene.table, status="closed")
    statement = await make_statement(session, conversation)
    await commit_setup(session)
    refused = await client.put(
        f"/v1/statements/{statement.id}/vote", json={"vote": "agree"}, headers=bearer(scene.member)
    )
    assert_problem(refused, 409, "conversation_closed")
    assert (await session.exec(select(ConversationVote))).all() == []


async def test_next_statement_is_one_not_voted_yet(client, session):
    scene = await make_scene(session, content=False)
    conversation = await make_conversation(session, scene.table)
    first = await make_statement(session, conversation, "Uno.")
    second = await make_statement(session, conversation, "Due.")
    await make_statement(session, conversation, "Nascosta.", status="hidden")
    await commit_setup(session)
    url = f"/v1/conversations/{conversation.id}/statements/next"
    assert_problem(await client.get(url), 401)
    seen: set[str] = set()
    for _ in range(2):
        picked = (await client.get(url, headers=bearer(scene.member))).json()
        assert picked["statement"] is not None
        assert picked["remaining"] == 2 - len(seen)
        seen.add(picked["statement"]["id"])
        voted = await client.put(
            f"/v1/statements/{picked['statement']['id']}/vote",
            json={"vote": "pass"},
            headers=bearer(scene.member),
        )
        assert voted.status_code == 200
    assert seen == {str(first.id), str(second.id)}
    done = (await client.get(url, headers=bearer(scene.member))).json()
    assert done == {"statement": None, "remaining": 0}
    # Someone else still has both to vote on.
    assert (await client.get(url, headers=bearer(scene.facilitator))).json()["remaining"] == 2


async def test_my_vote_is_shown_to_me_only(client, session):
    scene = await make_scene(session, content=False)
    conversation = await make_conversation(session, scene.table)
    statement = await make_statement(session, conversation)
    await commit_setup(session)
    await client.put(
        f"/v1/statements/{statement.id}/vote", json={"vote": "agree"}, headers=bearer(scene.member)
    )
    url = f"/v1/conversations/{conversation.id}/statements"
    mine = (await client.get(url, headers=bearer(scene.member))).json()["items"][0]
    theirs = (await client.get(url, headers=bearer(scene.facilitator))).json()["items"][0]
    anonymous = (await client.get(url)).json()["items"][0]
    assert mine["my_vote"] == "agree"
    assert theirs["my_vote"] is None and anonymous["my_vote"] is None
    assert theirs["agree_count"] == anonymous["agree_count"] == 1
    assert str(scene.member.id) not in str(theirs) + str(anonymous)


async def test_export_and_erasure_cover_statements_and_votes(client, session):
    scene = await make_scene(session, content=False)
    conversation = await make_conversation(session, scene.table)
    shown = await make_statement(session, conversation, "Resta.", author=scene.member)
    held = await make_statement(
        session, conversation, "In attesa.", author=scene.member, status="pending"
    )
    await commit_setup(session)
    await client.put(
        f"/v1/statements/{shown.id}/vote", json={"vote": "agree"}, headers=bearer(scene.member)
    )
    exported = (await client.get("/v1/me/export", headers=bearer(scene.member))).json()
    assert {s["id"] for s in exported["conversation_statements"]} == {str(shown.id), str(held.id)}
    assert [(v["statement_id"], v["vote"]) for v in exported["conversation_votes"]] == [
        (str(shown.id), "agree")
    ]
    erased = await client.request(
        "DELETE", "/v1/me", json={"password": PASSWORD}, headers=bearer(scene.member)
    )
    assert erased.status_code == 204, erased.text
    rows = (
        await session.exec(select(ConversationStatement).execution_options(populate_existing=True))
    ).all()
    assert [(r.id, r.author_id) for r in rows] == [(shown.id, None)]
    # The vote stays, with the anonymous account: the count is unchanged.
    assert (await vote_tally(session, shown.id))["agree"] == 1
