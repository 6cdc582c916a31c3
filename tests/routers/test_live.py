"""Live sessions over plain HTTP: questions, likes, moderation of questions, the session's
state, tickets, live polls. (The stream itself: tests/e2e/test_live_stream.py.)"""

import asyncio

from sqlalchemy import func
from sqlmodel import col, select

from app.models.events import Event
from app.models.live import LiveQuestion, LiveQuestionLike, LiveTicket
from app.models.meetings import Meeting
from app.models.polls import Poll
from tests.factories import add_member, commit_setup, make_user
from tests.helpers import assert_problem, bearer
from tests.live_helpers import make_live_poll, make_live_scene


async def _ask(client, scene, user, body="Quando parte il bando?"):
    response = await client.post(
        f"/v1/meetings/{scene.meeting.id}/questions", json={"body": body}, headers=bearer(user)
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_a_member_asks_and_everyone_who_sees_the_meeting_lists_it(client, session):
    scene = await make_live_scene(session)
    await commit_setup(session)
    asker = scene.members[0]

    question = await _ask(client, scene, asker)
    assert question["status"] == "visible"
    assert question["likes_count"] == 0 and question["pinned"] is False
    assert question["author"] == {"id": str(asker.id), "display_name": asker.display_name}

    listed = await client.get(f"/v1/meetings/{scene.meeting.id}/questions")
    assert listed.status_code == 200
    assert [q["id"] for q in listed.json()["items"]] == [question["id"]]
    row = await session.get(LiveQuestion, question["id"])
    assert row is not None and row.body == "Quando parte il bando?"
    event = (await session.exec(select(Event).where(col(Event.subject_id) == row.id))).one()
    assert event.type == "question.created" and event.meeting_id == scene.meeting.id


async def test_only_participants_ask_and_within_the_length_limit(client, session):
    # A public table with open membership lets any verified person take part; one that
    # takes members by request does not.
    scene = await make_live_scene(session, membership_policy="request")
    await commit_setup(session)
    url = f"/v1/meetings/{scene.meeting.id}/questions"

    response = await client.post(url, json={"body": "Posso?"}, headers=bearer(scene.outsider))
    assert_problem(response, 403, "not_a_member")
    response = await client.post(url, json={"body": "x" * 501}, headers=bearer(scene.members[0]))
    assert_problem(response, 422)
    response = await client.post(url, json={"body": "Ciao"})
    assert_problem(response, 401)
    count = await session.exec(select(func.count()).select_from(LiveQuestion))
    assert count.one() == 0


async def test_questions_on_a_table_admitting_minors_wait_for_approval(client, session):
    scene = await make_live_scene(session, premoderation=True)
    await commit_setup(session)
    asker, other = scene.members

    question = await _ask(client, scene, asker)
    assert question["status"] == "pending"
    url = f"/v1/meetings/{scene.meeting.id}/questions"
    assert (await client.get(url, headers=bearer(other))).json()["items"] == []
    mine = (await client.get(url, headers=bearer(asker))).json()["items"]
    assert [q["id"] for q in mine] == [question["id"]]
    response = await client.get(f"/v1/questions/{question['id']}", headers=bearer(other))
    assert_problem(response, 404)

    response = await client.patch(
        f"/v1/questions/{question['id']}",
        json={"status": "visible"},
        headers=bearer(scene.facilitator),
    )
    assert response.status_code == 200 and response.json()["status"] == "visible"
    shown = (await client.get(url, headers=bearer(other))).json()["items"]
    assert [q["id"] for q in shown] == [question["id"]]


async def test_likes_are_idempotent_and_sort_the_list(client, session):
    scene = await make_live_scene(session, members=3)
    await commit_setup(session)
    first = await _ask(client, scene, scene.members[0], "Prima domanda")
    second = await _ask(client, scene, scene.members[1], "Seconda domanda")

    for _ in range(2):
        response = await client.put(
            f"/v1/questions/{first['id']}/like", headers=bearer(scene.members[2])
        )
        assert response.status_code == 200
        assert response.json()["likes_count"] == 1 and response.json()["liked"] is True

    url = f"/v1/meetings/{scene.meeting.id}/questions"
    by_likes = (await client.get(url, params={"sort": "likes"})).json()["items"]
    assert [q["id"] for q in by_likes] == [first["id"], second["id"]]
    recent = (await client.get(url, params={"sort": "recent"})).json()["items"]
    assert [q["id"] for q in recent] == [second["id"], first["id"]]

    response = await client.delete(
        f"/v1/questions/{first['id']}/like", headers=bearer(scene.members[2])
    )
    assert response.json()["likes_count"] == 0 and response.json()["liked"] is False
    response = await client.delete(
        f"/v1/questions/{first['id']}/like", headers=bearer(scene.members[2])
    )
    assert response.json()["likes_count"] == 0
    row = await session.get(LiveQuestion, first["id"], populate_existing=True)
    assert row is not None and row.likes_count == 0
    likes = await session.exec(select(func.count()).select_from(LiveQuestionLike))
    assert likes.one() == 0


async def test_a_facilitator_pins_answers_and_hides(client, session):
    scene = await make_live_scene(session)
    await commit_setup(session)
    asker, other = scene.members
    question = await _ask(client, scene, asker)
    url = f"/v1/questions/{question['id']}"

    response = await client.patch(url, json={"pinned": True}, headers=bearer(other))
    assert_problem(response, 403, "not_facilitator")
    response = await client.patch(
        url, json={"pinned": True, "status": "answered"}, headers=bearer(scene.facilitator)
    )
    assert response.status_code == 200
    assert response.json()["pinned"] is True and response.json()["status"] == "answered"

    response = await client.patch(url, json={"status": "hidden"}, headers=bearer(scene.facilitator))
    assert response.json()["status"] == "hidden"
    listing = f"/v1/meetings/{scene.meeting.id}/questions"
    assert (await client.get(listing, headers=bearer(other))).json()["items"] == []
    assert_problem(await client.get(url, headers=bearer(other)), 404)
    assert_problem(await client.put(f"{url}/like", headers=bearer(other)), 404)
    # The author and the facilitators still see it, as hidden.
    assert (await client.get(url, headers=bearer(asker))).json()["status"] == "hidden"
    everything = (await client.get(listing, headers=bearer(scene.facilitator))).json()["items"]
    assert [q["status"] for q in everything] == ["hidden"]
    row = await session.get(LiveQuestion, question["id"], populate_existing=True)
    assert row is not None and row.status == "hidden" and row.pinned is True


async def test_the_session_state_is_set_by_facilitators_and_shown_on_the_meeting(client, session):
    scene = await make_live_scene(session)
    await commit_setup(session)
    url = f"/v1/meetings/{scene.meeting.id}/live"

    response = await client.patch(
        url, json={"live_status": "live"}, headers=bearer(scene.members[0])
    )
    assert_problem(response, 403, "not_facilitator")
    response = await client.patch(
        url,
        json={"live_status": "live", "current_agenda_item": 5},
        headers=bearer(scene.facilitator),
    )
    assert_problem(response, 422, "unknown_agenda_item")
    response = await client.patch(
        url,
        json={"live_status": "live", "current_agenda_item": 1},
        headers=bearer(scene.facilitator),
    )
    assert response.status_code == 200
    assert response.json() == {
        "meeting_id": str(scene.meeting.id),
        "live_status": "live",
        "current_agenda_item": 1,
    }
    meeting = (await client.get(f"/v1/meetings/{scene.meeting.id}")).json()
    assert meeting["live_status"] == "live" and meeting["current_agenda_item"] == 1

    await client.patch(url, json={"live_status": "ended"}, headers=bearer(scene.facilitator))
    row = await session.get(Meeting, scene.meeting.id, populate_existing=True)
    assert row is not None and row.live_status == "ended" and row.current_agenda_item is None
    response = await client.post(
        f"/v1/meetings/{scene.meeting.id}/questions",
        json={"body": "Troppo tardi?"},
        headers=bearer(scene.members[0]),
    )
    assert_problem(response, 409, "live_session_ended")
    presence = await client.get(f"{url}/presence")
    assert presence.status_code == 200 and presence.json() == {"connected": 0}


async def test_tickets_are_issued_to_people_who_see_the_meeting(client, session):
    scene = await make_live_scene(session, visibility="private")
    await commit_setup(session)
    url = f"/v1/meetings/{scene.meeting.id}/live/tickets"

    assert_problem(await client.post(url), 401)
    assert_problem(await client.post(url, headers=bearer(scene.outsider)), 404)
    response = await client.post(url, headers=bearer(scene.members[0]))
    assert response.status_code == 201
    ticket = response.json()["ticket"]
    assert len(ticket) >= 40
    rows = (await session.exec(select(LiveTicket))).all()
    # Only a hash is stored.
    assert len(rows) == 1 and rows[0].token_hash != ticket
    assert rows[0].meeting_id == scene.meeting.id and rows[0].user_id == scene.members[0].id


async def test_a_facilitator_opens_and_closes_a_live_poll(client, session):
    scene = await make_live_scene(session)
    poll, _ = await make_live_poll(session, scene.meeting)
    await commit_setup(session)

    response = await client.post(f"/v1/polls/{poll.id}/open", headers=bearer(scene.members[0]))
    assert_problem(response, 403, "not_facilitator")
    response = await client.post(f"/v1/polls/{poll.id}/open", headers=bearer(scene.facilitator))
    assert response.status_code == 200
    assert response.json()["status"] == "open"
    assert response.json()["meeting_id"] == str(scene.meeting.id)
    response = await client.post(f"/v1/polls/{poll.id}/close", headers=bearer(scene.facilitator))
    assert response.json()["status"] == "closed"
    response = await client.post(f"/v1/polls/{poll.id}/open", headers=bearer(scene.facilitator))
    assert_problem(response, 409, "poll_closed")
    types = (
        await session.exec(
            select(Event.type).where(col(Event.subject_id) == poll.id).order_by(col(Event.seq))
        )
    ).all()
    assert types == ["poll.opened", "poll.closed"]
    row = await session.get(Poll, poll.id, populate_existing=True)
    assert row is not None and row.closes_at > row.opens_at


async def test_a_poll_belongs_to_a_meeting_of_its_own_table(client, session):
    scene = await make_live_scene(session)
    other = await make_live_scene(session)
    await commit_setup(session)
    body = {
        "question": {"it": "Sì o no?"},
        "options": [{"it": "Sì"}, {"it": "No"}],
        "closes_at": "2099-01-01T00:00:00+00:00",
        "meeting_id": str(other.meeting.id),
    }
    url = f"/v1/tables/{scene.table.id}/polls"
    response = await client.post(url, json=body, headers=bearer(scene.facilitator))
    assert_problem(response, 422, "unknown_meeting")
    body["meeting_id"] = str(scene.meeting.id)
    response = await client.post(url, json=body, headers=bearer(scene.facilitator))
    assert response.status_code == 201 and response.json()["meeting_id"] == str(scene.meeting.id)


async def test_a_hundred_concurrent_likes_count_exactly(committing_client, engine):
    from sqlmodel.ext.asyncio.session import AsyncSession

    async with AsyncSession(engine, expire_on_commit=False) as s:
        scene = await make_live_scene(s, members=1)
        likers = [await make_user(s, name=f"Fan {i}") for i in range(100)]
        for person in likers:
            await add_member(s, scene.table, person)
        await s.commit()
    question = await _ask(committing_client, scene, scene.members[0])
    url = f"/v1/questions/{question['id']}/like"

    responses = await asyncio.gather(
        *(committing_client.put(url, headers=bearer(p)) for p in likers + likers[:20])
    )
    assert all(r.status_code == 200 for r in responses), {r.status_code for r in responses}
    async with AsyncSession(engine) as s:
        row = await s.get(LiveQuestion, question["id"])
        assert row is not None and row.likes_count == 100
        likes = await s.exec(
            select(func.count())
            .select_from(LiveQuestionLike)
            .where(col(LiveQuestionLike.question_id) == row.id)
        )
        assert likes.one() == 100
        events = await s.exec(
            select(func.count())
            .select_from(Event)
            .where(col(Event.subject_id) == row.id, col(Event.type) == "question.liked")
        )
        assert events.one() == 100


async def test_export_and_erasure_include_live_questions(client, session):
    from tests.factories import PASSWORD

    scene = await make_live_scene(session, premoderation=True)
    await commit_setup(session)
    asker, other = scene.members
    shown = await _ask(client, scene, asker, "Approvata")
    await client.patch(
        f"/v1/questions/{shown['id']}",
        json={"status": "visible"},
        headers=bearer(scene.facilitator),
    )
    held = await _ask(client, scene, asker, "Ancora in attesa")
    theirs = await _ask(client, scene, scene.facilitator, "Del facilitatore")
    await client.put(f"/v1/questions/{theirs['id']}/like", headers=bearer(asker))

    export = (await client.get("/v1/me/export", headers=bearer(asker))).json()
    assert [(q["id"], q["status"]) for q in export["live_questions"]] == [
        (shown["id"], "visible"),
        (held["id"], "pending"),
    ]
    assert [lk["question_id"] for lk in export["live_question_likes"]] == [theirs["id"]]
    other_export = (await client.get("/v1/me/export", headers=bearer(other))).json()
    assert other_export["live_questions"] == [] and other_export["live_question_likes"] == []

    response = await client.request(
        "DELETE", "/v1/me", json={"password": PASSWORD}, headers=bearer(asker)
    )
    assert response.status_code == 204, response.text
    assert await session.get(LiveQuestion, held["id"]) is None
    kept = await session.get(LiveQuestion, shown["id"], populate_existing=True)
    assert kept is not None and kept.author_id is None and kept.body == "Approvata"
    liked = await session.get(LiveQuestion, theirs["id"], populate_existing=True)
    assert liked is not None and liked.likes_count == 1
    listed = (await client.get(f"/v1/meetings/{scene.meeting.id}/questions")).json()["items"]
    assert {q["id"]: q["author"] for q in listed}[shown["id"]] is None


async def test_questions_are_reported_and_moderated_like_comments(client, session):
    scene = await make_live_scene(session, members=4)
    await commit_setup(session)
    asker, *reporters = scene.members
    question = await _ask(client, scene, asker, "Contenuto offensivo")
    report = {"target_type": "question", "target_id": question["id"], "reason": "offensive"}

    response = await client.post("/v1/reports", json=report, headers=bearer(asker))
    assert_problem(response, 422, "own_content")
    for reporter in reporters:
        response = await client.post("/v1/reports", json=report, headers=bearer(reporter))
        assert response.status_code == 201, response.text
    # Three reports (the default threshold) hide it, for everyone but author and moderators.
    row = await session.get(LiveQuestion, question["id"], populate_existing=True)
    assert row is not None and row.status == "hidden"
    listing = f"/v1/meetings/{scene.meeting.id}/questions"
    assert (await client.get(listing, headers=bearer(reporters[0]))).json()["items"] == []
    event = (
        await session.exec(
            select(Event)
            .where(col(Event.subject_id) == row.id, col(Event.type) == "question.updated")
            .order_by(col(Event.seq).desc())
        )
    ).first()
    assert event is not None and event.meeting_id == scene.meeting.id
    assert event.payload["status"] == "hidden"

    queue = await client.get(
        f"/v1/tables/{scene.table.id}/moderation", headers=bearer(scene.facilitator)
    )
    assert queue.status_code == 200, queue.text
    items = [i for i in queue.json()["items"] if i["target_type"] == "question"]
    assert len(items) == 1 and items[0]["content"]["body"] == "Contenuto offensivo"

    action = {
        "target_type": "question",
        "target_id": question["id"],
        "action": "unhide",
        "reason": "Non è offensivo.",
    }
    response = await client.post(
        "/v1/moderation/actions", json=action, headers=bearer(reporters[0])
    )
    assert_problem(response, 404)
    response = await client.post(
        "/v1/moderation/actions", json=action, headers=bearer(scene.facilitator)
    )
    assert response.status_code == 200, response.text
    row = await session.get(LiveQuestion, question["id"], populate_existing=True)
    assert row is not None and row.status == "visible"
    shown = (await client.get(listing, headers=bearer(reporters[0]))).json()["items"]
    assert [q["id"] for q in shown] == [question["id"]]
