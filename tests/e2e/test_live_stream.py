"""The live stream for real: two uvicorn server processes on loopback ports, the SSE
stream read with httpx, everything committed in the test database (emptied after each
test)."""

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models.events import Event
from app.models.live import LiveQuestion
from app.services.live.hub import LISTENER_NAME
from tests.e2e.live_support import Server, servers, stream, truncate_all
from tests.factories import add_member, make_user
from tests.helpers import bearer
from tests.live_helpers import LiveScene, make_live_poll, make_live_scene


@pytest.fixture(scope="module")
def live_servers(database_url: str) -> Iterator[list[Server]]:
    with servers(database_url, 2) as started:
        yield started


@pytest.fixture
async def scene(engine: Any) -> AsyncIterator[LiveScene]:
    async with AsyncSession(engine, expire_on_commit=False) as s:
        built = await make_live_scene(s, members=3)
        await s.commit()
    yield built
    await truncate_all(engine)


def _live(server: Server, scene: LiveScene, meeting: Any = None) -> str:
    return f"{server.url}/v1/meetings/{(meeting or scene.meeting).id}/live"


async def _ask(server: Server, scene: LiveScene, user: Any, body: str) -> str:
    async with httpx.AsyncClient(base_url=server.url) as api:
        response = await api.post(
            f"/v1/meetings/{scene.meeting.id}/questions", json={"body": body}, headers=bearer(user)
        )
    assert response.status_code == 201, response.text
    question_id: str = response.json()["id"]
    return question_id


async def _call(server: Server, method: str, path: str, user: Any, **kw: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as api:
        return await api.request(method, path, headers=bearer(user), **kw)


async def _meeting_seqs(engine: Any, scene: LiveScene, after: int) -> list[tuple[int, str]]:
    async with AsyncSession(engine) as s:
        rows = await s.exec(
            select(Event.seq, Event.type)
            .where(col(Event.meeting_id) == scene.meeting.id, col(Event.seq) > after)
            .order_by(col(Event.seq))
        )
        return [(int(seq or 0), type_) for seq, type_ in rows.all()]


async def test_an_event_written_through_one_server_reaches_a_subscriber_of_the_other(
    live_servers, scene, engine
):
    a, b = live_servers
    async with stream(_live(b, scene), bearer(scene.members[0])) as s:
        hint = await s.next()
        assert hint.retry == 3000
        state = await s.next("live.state")
        assert state.data["meeting_id"] == str(scene.meeting.id)
        assert state.data["connected"] == 1

        question_id = await _ask(a, scene, scene.members[1], "Chi decide le priorità?")
        message = await s.next("question.created")

    assert message.data["id"] == question_id
    assert message.data["body"] == "Chi decide le priorità?"
    assert message.data["author"]["display_name"] == scene.members[1].display_name
    # The SSE id is the event's position in the spine.
    assert await _meeting_seqs(engine, scene, 0) == [(int(message.id or 0), "question.created")]


async def test_resuming_with_last_event_id_gets_each_missed_event_once_in_order(
    live_servers, scene, engine
):
    a, b = live_servers
    headers = bearer(scene.members[0])
    async with stream(_live(a, scene), headers) as s:
        first = await _ask(b, scene, scene.members[1], "Prima")
        seen = await s.next("question.created")
    assert seen.data["id"] == first and seen.id is not None

    # While the client is away: through both servers.
    second = await _ask(b, scene, scene.members[2], "Seconda")
    like = await _call(a, "PUT", f"/v1/questions/{first}/like", scene.members[2])
    assert like.status_code == 200
    pin = await _call(
        b, "PATCH", f"/v1/questions/{second}", scene.facilitator, json={"pinned": True}
    )
    assert pin.status_code == 200
    live = await _call(
        a,
        "PATCH",
        f"/v1/meetings/{scene.meeting.id}/live",
        scene.facilitator,
        json={"live_status": "live", "current_agenda_item": 0},
    )
    assert live.status_code == 200
    missed = await _meeting_seqs(engine, scene, int(seen.id))
    assert [t for _, t in missed] == [
        "question.created",
        "question.liked",
        "question.updated",
        "meeting.live_updated",
    ]

    async with stream(_live(b, scene), {**headers, "Last-Event-ID": seen.id}) as s:
        marker = await _ask(a, scene, scene.members[1], "Dopo")
        got = await s.until(lambda m: m.event == "question.created" and m.data["id"] == marker)
    spine = [m for m in got if m.id is not None]
    marker_seq = (await _meeting_seqs(engine, scene, missed[-1][0]))[0][0]
    assert [int(m.id or 0) for m in spine] == [seq for seq, _ in missed] + [marker_seq]
    assert [m.event for m in spine] == [
        "question.created",
        "question.liked",
        "question.updated",
        "meeting.live",
        "question.created",
    ]
    assert spine[0].data["id"] == second
    assert spine[1].data["likes_count"] == 1
    assert spine[2].data["pinned"] is True
    assert spine[3].data["live_status"] == "live" and spine[3].data["current_agenda_item"] == 0


async def _listeners(engine: Any) -> list[int]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT pid FROM pg_stat_activity WHERE application_name = :name "
                "AND datname = current_database()"
            ),
            {"name": LISTENER_NAME},
        )
        return [r[0] for r in rows]


async def test_a_killed_listener_connection_reconnects_and_subscribers_miss_nothing(
    live_servers, scene, engine
):
    a, b = live_servers
    # One listening connection per server process, whatever the number of streams.
    async with (
        stream(_live(b, scene), bearer(scene.members[0])) as s,
        stream(_live(b, scene), bearer(scene.members[1])),
    ):
        await s.next("live.state")
        before = await _listeners(engine)
        assert len(before) == 2
        async with engine.connect() as conn:
            await conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM unnest(CAST(:p AS int[])) AS pid"),
                {"p": before},
            )
        asked = [await _ask(a, scene, scene.members[2], f"Domanda {i}") for i in range(3)]
        got = await s.until(lambda m: m.event == "question.created" and m.data["id"] == asked[-1])
        assert [m.data["id"] for m in got if m.event == "question.created"] == asked

        for _ in range(100):
            after = await _listeners(engine)
            if len(after) == 2 and not set(after) & set(before):
                break
            await asyncio.sleep(0.1)
        assert len(after) == 2 and not set(after) & set(before)
        # And live delivery goes on through the new connections.
        later = await _ask(a, scene, scene.members[2], "Ancora")
        assert (await s.next("question.created")).data["id"] == later


async def test_a_hidden_question_disappears_from_other_peoples_streams_and_lists(
    live_servers, scene, engine
):
    a, b = live_servers
    asker, other = scene.members[0], scene.members[1]
    async with (
        stream(_live(b, scene), bearer(other)) as others,
        stream(_live(a, scene), bearer(scene.facilitator)) as facilitator,
        stream(_live(b, scene), bearer(asker)) as author,
    ):
        question = await _ask(a, scene, asker, "Domanda fuori tema")
        for s in (others, facilitator, author):
            assert (await s.next("question.created")).data["id"] == question
        hidden = await _call(
            a, "PATCH", f"/v1/questions/{question}", scene.facilitator, json={"status": "hidden"}
        )
        assert hidden.status_code == 200

        removed = await others.next("question.removed", "question.updated")
        assert removed.event == "question.removed" and removed.data == {"id": question}
        for s in (facilitator, author):
            update = await s.next("question.removed", "question.updated")
            assert update.event == "question.updated" and update.data["status"] == "hidden"

    listed = await _call(b, "GET", f"/v1/meetings/{scene.meeting.id}/questions", other)
    assert listed.json()["items"] == []
    async with AsyncSession(engine) as db:
        row = await db.get(LiveQuestion, question)
        assert row is not None and row.status == "hidden"


async def test_a_pending_question_reaches_only_its_author_and_the_facilitators(
    live_servers, engine
):
    async with AsyncSession(engine, expire_on_commit=False) as db:
        scene = await make_live_scene(db, premoderation=True)
        await db.commit()
    a, b = live_servers
    try:
        asker, other = scene.members
        async with (
            stream(_live(b, scene), bearer(other)) as others,
            stream(_live(a, scene), bearer(asker)) as author,
            stream(_live(a, scene), bearer(scene.facilitator)) as facilitator,
        ):
            held = await _ask(b, scene, asker, "In attesa")
            for listener in (author, facilitator):
                message = await listener.next("question.created")
                assert message.data["id"] == held and message.data["status"] == "pending"
            approve = await _call(
                a, "PATCH", f"/v1/questions/{held}", scene.facilitator, json={"status": "visible"}
            )
            assert approve.status_code == 200
            # The first thing the others hear of it is its approval.
            first = await others.next("question.created", "question.updated")
            assert first.event == "question.updated" and first.data["id"] == held
            assert first.data["status"] == "visible"
    finally:
        await truncate_all(engine)


async def test_a_ticket_opens_one_stream_once_only_for_its_meeting(live_servers, scene, engine):
    a, b = live_servers
    tickets = f"/v1/meetings/{scene.meeting.id}/live/tickets"

    async def ticket() -> str:
        response = await _call(a, "POST", tickets, scene.members[0])
        assert response.status_code == 201
        value: str = response.json()["ticket"]
        return value

    first = await ticket()
    async with stream(f"{_live(b, scene)}?ticket={first}") as s:
        assert s.status == 200
        state = await s.next("live.state")
        assert state.data["meeting_id"] == str(scene.meeting.id)
    async with stream(f"{_live(a, scene)}?ticket={first}") as reused:
        assert reused.status == 401 and "ticket" in reused.body

    other_meeting = await ticket()
    async with stream(f"{_live(b, scene, scene.other_meeting)}?ticket={other_meeting}") as s:
        assert s.status == 401
    # Refused for the other meeting, it was not used up.
    async with stream(f"{_live(b, scene)}?ticket={other_meeting}") as s:
        assert s.status == 200

    expired = await ticket()
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE live_tickets SET expires_at = now() - interval '1 second'"))
    async with stream(f"{_live(a, scene)}?ticket={expired}") as s:
        assert s.status == 401


async def test_presence_counts_distinct_people_across_servers(live_servers, scene):
    a, b = live_servers
    m0, m1 = scene.members[0], scene.members[1]
    async with (
        stream(_live(a, scene), bearer(m0)) as s,
        stream(_live(b, scene), bearer(m0)),
        stream(_live(b, scene), bearer(m1)),
    ):
        # Presence rows are written in batches, a moment after the streams open.
        for _ in range(100):
            response = await _call(a, "GET", f"/v1/meetings/{scene.meeting.id}/live/presence", m0)
            if response.json() == {"connected": 2}:
                break
            await asyncio.sleep(0.1)
        assert response.json() == {"connected": 2}
        pushed = await s.until(lambda m: m.event == "presence" and m.data["connected"] == 2)
        assert pushed[-1].id is None
    # Streams that end stop counting.
    for _ in range(100):
        response = await _call(b, "GET", f"/v1/meetings/{scene.meeting.id}/live/presence", m0)
        if response.json() == {"connected": 0}:
            break
        await asyncio.sleep(0.1)
    assert response.json() == {"connected": 0}


async def test_live_poll_results_are_pushed_coalesced(live_servers, scene, engine):
    a, b = live_servers
    async with AsyncSession(engine, expire_on_commit=False) as s:
        poll, options = await make_live_poll(s, scene.meeting, results_visibility="after_close")
        voters = [await make_user(s, name=f"Votante {i}") for i in range(40)]
        for voter in voters:
            await add_member(s, scene.table, voter)
        await s.commit()

    async with (
        stream(_live(b, scene), bearer(scene.members[0])) as member,
        stream(_live(a, scene), bearer(scene.facilitator)) as facilitator,
    ):
        opened = await _call(a, "POST", f"/v1/polls/{poll.id}/open", scene.facilitator)
        assert opened.status_code == 200
        message = await member.next("poll.opened")
        assert message.data["id"] == str(poll.id) and message.data["status"] == "open"

        ballots = await asyncio.gather(
            *(
                _call(
                    (a, b)[i % 2],
                    "POST",
                    f"/v1/polls/{poll.id}/ballots",
                    voter,
                    json={"option_ids": [str(options[i % 3].id)]},
                )
                for i, voter in enumerate(voters)
            )
        )
        assert all(r.status_code == 201 for r in ballots), [r.text for r in ballots][:3]

        def done(m: Any) -> bool:
            return m.event == "poll.results" and bool(m.data["ballots_count"] == 40)

        seen = await facilitator.until(done)
        results = [m for m in seen if m.event == "poll.results"]
        # Coalesced: far fewer updates than ballots.
        assert len(results) < len(voters)
        assert [o["votes_count"] for o in results[-1].data["options"]] == [14, 13, 13]
        # Participants do not see counts before the close (results_visibility).
        hidden = (await member.until(done))[-1]
        assert hidden.data["results_visible"] is False
        assert {o["votes_count"] for o in hidden.data["options"]} == {None}

        closed = await _call(a, "POST", f"/v1/polls/{poll.id}/close", scene.facilitator)
        assert closed.status_code == 200
        assert (await member.next("poll.closed")).data["status"] == "closed"
        final = await member.next("poll.results")
        assert final.data["results_visible"] is True
        assert [o["votes_count"] for o in final.data["options"]] == [14, 13, 13]


async def test_a_browser_resumes_with_a_new_ticket_and_last_event_id(live_servers, scene):
    a, b = live_servers
    tickets = f"/v1/meetings/{scene.meeting.id}/live/tickets"

    async def ticket() -> str:
        response = await _call(b, "POST", tickets, scene.members[0])
        value: str = response.json()["ticket"]
        return value

    async with stream(f"{_live(a, scene)}?ticket={await ticket()}") as s:
        first = await _ask(b, scene, scene.members[1], "Uno")
        seen = await s.next("question.created")
    assert seen.data["id"] == first and seen.id is not None
    missed = await _ask(b, scene, scene.members[1], "Due")

    url = f"{_live(b, scene)}?ticket={await ticket()}&last_event_id={seen.id}"
    async with stream(url) as s:
        resumed = await s.next("question.created")
    assert resumed.data["id"] == missed and int(resumed.id or 0) > int(seen.id)
