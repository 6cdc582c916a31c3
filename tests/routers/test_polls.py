"""Polls: creation by facilitators, the window, single and multiple choice, results
visibility, one ballot per person under concurrency, and secrecy of ballots."""

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import inspect as sa_inspect
from sqlmodel import col, select

from app.db import get_engine, get_sessionmaker
from app.models.events import Event
from app.models.polls import Poll, PollOption, PollParticipation
from tests.factories import (
    add_member,
    commit_setup,
    make_org,
    make_poll,
    make_scene,
    make_table,
    make_user,
)
from tests.helpers import assert_problem, bearer


def _iso(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat()


def _poll_body(**overrides):
    body = {
        "question": {"it": "Dove fare il prossimo incontro?", "en": "Where should we meet?"},
        "options": [{"it": "Bari"}, {"it": "Molfetta"}, {"it": "Altamura", "en": "Altamura"}],
        "kind": "single",
        "closes_at": _iso(timedelta(days=3)),
        "results_visibility": "after_close",
    }
    return body | overrides


async def _votes(session, poll_id):
    rows = (
        await session.exec(
            select(PollOption)
            .where(col(PollOption.poll_id) == poll_id)
            .order_by(col(PollOption.position))
            .execution_options(populate_existing=True)
        )
    ).all()
    return [o.votes_count for o in rows]


async def test_a_facilitator_creates_a_poll(client, session):
    scene = await make_scene(session)
    await commit_setup(session)
    url = f"/v1/tables/{scene.table.id}/polls"

    response = await client.post(url, json=_poll_body(), headers=bearer(scene.facilitator))
    assert response.status_code == 201, response.text
    poll = response.json()
    assert poll["table_id"] == str(scene.table.id)
    assert poll["organization_id"] == str(scene.org.id)
    assert poll["question"]["it"] == "Dove fare il prossimo incontro?"
    assert [o["label"] for o in poll["options"]] == [
        {"it": "Bari"},
        {"it": "Molfetta"},
        {"it": "Altamura", "en": "Altamura"},
    ]
    assert [o["position"] for o in poll["options"]] == [0, 1, 2]
    assert poll["kind"] == "single" and poll["max_choices"] == 1
    assert poll["status"] == "open"
    assert poll["ballots_count"] == 0 and poll["has_voted"] is False
    # Facilitators always see the results.
    assert poll["results_visible"] is True
    assert [o["votes_count"] for o in poll["options"]] == [0, 0, 0]

    listed = await client.get(url, headers=bearer(scene.member))
    ids = [p["id"] for p in listed.json()["items"]]
    assert ids == [poll["id"], str(scene.poll.id)]  # newest first
    event = (await session.exec(select(Event).where(col(Event.type) == "poll.created"))).one()
    assert str(event.subject_id) == poll["id"] and event.actor_id == scene.facilitator.id

    # Members (and strangers) may not create polls.
    for person in (scene.member, await _stranger(session)):
        assert_problem(await client.post(url, json=_poll_body(), headers=bearer(person)), 404)


async def _stranger(session):
    user = await make_user(session)
    await commit_setup(session)
    return user


async def test_poll_creation_is_validated(client, session):
    scene = await make_scene(session)
    await commit_setup(session)
    url = f"/v1/tables/{scene.table.id}/polls"
    headers = bearer(scene.facilitator)
    cases = [
        (_poll_body(options=[{"it": "Solo una"}]), "validation_error"),
        (_poll_body(options=[{"it": str(i)} for i in range(21)]), "validation_error"),
        (_poll_body(question={"en": "English only"}), "missing_default_locale"),
        (_poll_body(options=[{"it": "Sì"}, {"en": "No"}]), "missing_default_locale"),
        (_poll_body(max_choices=2), "max_choices_single"),
        (_poll_body(kind="multiple", max_choices=4), "max_choices_too_high"),
        (
            _poll_body(closes_at=_iso(timedelta(hours=-1)), opens_at=_iso(timedelta(hours=-2))),
            "closes_in_past",
        ),
        (_poll_body(opens_at=_iso(timedelta(days=5))), "invalid_window"),
        (_poll_body(kind="ranked"), "validation_error"),
        (_poll_body(closes_at="2030-01-01T10:00:00"), "validation_error"),  # no offset
    ]
    for body, code in cases:
        assert_problem(await client.post(url, json=body, headers=headers), 422, code)
    multiple = await client.post(url, json=_poll_body(kind="multiple"), headers=headers)
    assert multiple.status_code == 201 and multiple.json()["max_choices"] == 3
    polls = (await session.exec(select(Poll).where(col(Poll.table_id) == scene.table.id))).all()
    assert len(polls) == 2  # the scene's and the multiple one


async def test_single_choice_ballot(client, session):
    scene = await make_scene(session)
    await commit_setup(session)
    url = f"/v1/polls/{scene.poll.id}/ballots"
    opts = [str(o.id) for o in scene.options]

    assert_problem(
        await client.post(url, json={"option_ids": opts[:2]}, headers=bearer(scene.member)),
        422,
        "single_choice",
    )
    response = await client.post(url, json={"option_ids": [opts[1]]}, headers=bearer(scene.member))
    assert response.status_code == 201, response.text
    poll = response.json()
    assert poll["has_voted"] is True and poll["ballots_count"] == 1
    # after_close: no per-option counts for a member while it is open.
    assert poll["results_visible"] is False
    assert [o["votes_count"] for o in poll["options"]] == [None, None, None]
    assert await _votes(session, scene.poll.id) == [0, 1, 0]

    again = await client.post(url, json={"option_ids": [opts[0]]}, headers=bearer(scene.member))
    assert_problem(again, 409, "already_voted")
    assert await _votes(session, scene.poll.id) == [0, 1, 0]
    shown = (await client.get(f"/v1/polls/{scene.poll.id}", headers=bearer(scene.member))).json()
    assert shown["has_voted"] is True and shown["ballots_count"] == 1
    other = (await client.get(f"/v1/polls/{scene.poll.id}", headers=bearer(scene.author))).json()
    assert other["has_voted"] is False
    anonymous = (await client.get(f"/v1/polls/{scene.poll.id}")).json()
    assert anonymous["has_voted"] is False and anonymous["options"][1]["votes_count"] is None


async def test_multiple_choice_maximum(client, session):
    scene = await make_scene(session)
    poll, options = await make_poll(
        session, scene.table, options=5, kind="multiple", max_choices=2, results_visibility="live"
    )
    other_poll, other_options = await make_poll(session, scene.table)
    voters = [await make_user(session) for _ in range(2)]
    await commit_setup(session)
    url = f"/v1/polls/{poll.id}/ballots"
    ids = [str(o.id) for o in options]

    def ballot(choices, person=scene.member):
        return client.post(url, json={"option_ids": choices}, headers=bearer(person))

    assert_problem(await ballot(ids[:3]), 422, "too_many_choices")
    assert_problem(await ballot([ids[0], ids[0]]), 422, "duplicate_options")
    assert_problem(await ballot([ids[0], str(other_options[0].id)]), 422, "unknown_option")
    assert_problem(await ballot([]), 422, "validation_error")
    assert await _votes(session, poll.id) == [0, 0, 0, 0, 0]
    assert (await session.exec(select(PollParticipation))).all() == []

    two = await ballot([ids[0], ids[3]])
    assert two.status_code == 201, two.text
    # Live results: counts shown at once.
    assert [o["votes_count"] for o in two.json()["options"]] == [1, 0, 0, 1, 0]
    one = await ballot([ids[3]], voters[0])
    assert one.status_code == 201
    assert (await ballot([ids[1], ids[3]], voters[1])).status_code == 201
    assert await _votes(session, poll.id) == [1, 1, 0, 3, 0]
    shown = (await client.get(f"/v1/polls/{poll.id}")).json()
    assert shown["ballots_count"] == 3 and shown["results_visible"] is True
    assert [o["votes_count"] for o in shown["options"]] == [1, 1, 0, 3, 0]
    assert await _votes(session, other_poll.id) == [0, 0, 0]


async def test_ballots_only_inside_the_window(client, session):
    scene = await make_scene(session)
    upcoming, up_options = await make_poll(session, scene.table, opens_in=timedelta(hours=1))
    closed, closed_options = await make_poll(
        session, scene.table, opens_in=timedelta(days=-3), closes_in=timedelta(minutes=-1)
    )
    await commit_setup(session)

    for poll, options, status in (
        (upcoming, up_options, "upcoming"),
        (closed, closed_options, "closed"),
    ):
        response = await client.post(
            f"/v1/polls/{poll.id}/ballots",
            json={"option_ids": [str(options[0].id)]},
            headers=bearer(scene.member),
        )
        body = assert_problem(response, 409, "poll_not_open")
        assert body["poll_status"] == status
        assert (await client.get(f"/v1/polls/{poll.id}")).json()["status"] == status
    assert (await session.exec(select(PollParticipation))).all() == []


async def test_results_are_hidden_until_close_for_after_close(client, session):
    scene = await make_scene(session)
    poll, options = await make_poll(session, scene.table, results_visibility="after_close")
    await commit_setup(session)
    await client.post(
        f"/v1/polls/{poll.id}/ballots",
        json={"option_ids": [str(options[2].id)]},
        headers=bearer(scene.member),
    )

    for headers in ({}, bearer(scene.member), bearer(scene.author)):
        shown = (await client.get(f"/v1/polls/{poll.id}", headers=headers)).json()
        assert shown["results_visible"] is False
        assert [o["votes_count"] for o in shown["options"]] == [None, None, None]
        assert shown["ballots_count"] == 1
    listed = (await client.get(f"/v1/tables/{scene.table.id}/polls")).json()["items"]
    assert all(o["votes_count"] is None for p in listed for o in p["options"])
    facilitator = (
        await client.get(f"/v1/polls/{poll.id}", headers=bearer(scene.facilitator))
    ).json()
    assert [o["votes_count"] for o in facilitator["options"]] == [0, 0, 1]

    # Once it closes, everyone sees them.
    row = await session.get(Poll, poll.id)
    assert row is not None
    row.opens_at = datetime.now(UTC) - timedelta(days=2)
    row.closes_at = datetime.now(UTC) - timedelta(seconds=1)
    await commit_setup(session)
    shown = (await client.get(f"/v1/polls/{poll.id}")).json()
    assert shown["status"] == "closed" and shown["results_visible"] is True
    assert [o["votes_count"] for o in shown["options"]] == [0, 0, 1]


async def test_who_may_see_and_vote(client, session):
    scene = await make_scene(session, membership_policy="request")
    outsider = await make_user(session)
    private = await make_table(session, scene.org, visibility="private")
    secret, secret_options = await make_poll(session, private)
    unverified = await make_user(session, verified=False)
    await add_member(session, scene.table, unverified)
    await commit_setup(session)
    ballot = {"option_ids": [str(scene.options[0].id)]}

    # Public table by request: outsiders see the poll but do not vote.
    assert (await client.get(f"/v1/polls/{scene.poll.id}", headers=bearer(outsider))).is_success
    assert_problem(
        await client.post(
            f"/v1/polls/{scene.poll.id}/ballots", json=ballot, headers=bearer(outsider)
        ),
        403,
        "not_a_member",
    )
    assert_problem(
        await client.post(
            f"/v1/polls/{scene.poll.id}/ballots", json=ballot, headers=bearer(unverified)
        ),
        403,
        "email_not_verified",
    )
    assert_problem(await client.post(f"/v1/polls/{scene.poll.id}/ballots", json=ballot), 401)
    # A private table's poll does not exist for outsiders.
    assert_problem(await client.get(f"/v1/polls/{secret.id}", headers=bearer(outsider)), 404)
    assert_problem(
        await client.get(f"/v1/tables/{private.id}/polls", headers=bearer(outsider)), 404
    )
    assert_problem(
        await client.post(
            f"/v1/polls/{secret.id}/ballots",
            json={"option_ids": [str(secret_options[0].id)]},
            headers=bearer(outsider),
        ),
        404,
    )
    assert (await session.exec(select(PollParticipation))).all() == []


async def test_ballots_are_secret(client, session):
    scene = await make_scene(session)
    poll, options = await make_poll(
        session, scene.table, options=4, kind="multiple", max_choices=2, results_visibility="live"
    )
    voters = [scene.member, scene.author, await make_user(session, name="Terza")]
    await commit_setup(session)
    choices = {voters[0].id: [0, 1], voters[1].id: [2], voters[2].id: [1, 3]}

    about_the_poll = []
    for voter in voters:
        chosen = [str(options[i].id) for i in choices[voter.id]]
        response = await client.post(
            f"/v1/polls/{poll.id}/ballots", json={"option_ids": chosen}, headers=bearer(voter)
        )
        assert response.status_code == 201
        about_the_poll.append(response)
    # Everything anyone can read afterwards, as each voter, a facilitator and anonymously.
    profiles = []
    for viewer in (*voters, scene.facilitator, None):
        headers = bearer(viewer) if viewer else {}
        about_the_poll += [
            await client.get(f"/v1/polls/{poll.id}", headers=headers),
            await client.get(f"/v1/tables/{scene.table.id}/polls", headers=headers),
            await client.get(f"/v1/polls/{poll.id}/comments", headers=headers),
            await client.get(f"/v1/tables/{scene.table.id}", headers=headers),
        ]
        if viewer is not None:
            profiles.append(await client.get("/v1/me", headers=headers))
    for response in about_the_poll:
        assert response.status_code in (200, 201), response.text
        # No person appears next to poll data, and no per-person choice exists to show.
        for voter in voters:
            assert str(voter.id) not in response.text
        for key in ("option_id", "option_ids", "choices", "chosen", "ballot", "voters"):
            assert f'"{key}"' not in response.text
    for response in profiles:
        assert response.status_code == 200
        assert str(poll.id) not in response.text
        assert not any(str(o.id) in response.text for o in options)
    # Only totals: 1 + 2 + 1 + 1.
    assert await _votes(session, poll.id) == [1, 2, 1, 1]

    # The event of a ballot names the poll only.
    events = (await session.exec(select(Event).where(col(Event.type) == "poll.ballot_cast"))).all()
    assert len(events) == 3
    assert all(e.payload == {"poll_id": str(poll.id)} for e in events)

    # The database has no column that could tie a person to an option.
    async with get_engine().connect() as conn:
        columns = await conn.run_sync(
            lambda sync: {
                name: {c["name"] for c in sa_inspect(sync).get_columns(name)}
                for name in ("poll_options", "poll_participations", "polls")
            }
        )
        tables = await conn.run_sync(lambda sync: set(sa_inspect(sync).get_table_names()))
    assert "user_id" not in columns["poll_options"]
    assert not {"option_id", "option_ids", "choices"} & columns["poll_participations"]
    assert "updated_at" not in columns["poll_options"]
    assert not {"poll_ballots", "poll_votes", "poll_choices"} & tables


async def test_one_ballot_per_person_under_concurrency(committing_client):
    async with get_sessionmaker()() as setup:
        org = await make_org(setup)
        table = await make_table(setup, org)
        voter = await make_user(setup)
        await add_member(setup, table, voter)
        poll, options = await make_poll(setup, table, kind="multiple", max_choices=2)
        others = [await make_user(setup) for _ in range(10)]
        for person in others:
            await add_member(setup, table, person)
        await setup.commit()
    url = f"/v1/polls/{poll.id}/ballots"

    # The same person fires ten ballots at once.
    responses = await asyncio.gather(
        *(
            committing_client.post(
                url, json={"option_ids": [str(options[i % 3].id)]}, headers=bearer(voter)
            )
            for i in range(10)
        )
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 9, [r.text for r in responses]
    assert all(r.json()["code"] == "already_voted" for r in responses if r.status_code == 409)
    # And ten other people at once, with two choices each.
    crowd = await asyncio.gather(
        *(
            committing_client.post(
                url,
                json={"option_ids": [str(options[0].id), str(options[1].id)]},
                headers=bearer(p),
            )
            for p in others
        )
    )
    assert [r.status_code for r in crowd] == [201] * 10
    async with get_sessionmaker()() as check:
        participations = (
            await check.exec(
                select(PollParticipation).where(col(PollParticipation.poll_id) == poll.id)
            )
        ).all()
        assert len(participations) == 11
        row = await check.get(Poll, poll.id)
        assert row is not None and row.ballots_count == 11
        votes = await _votes(check, poll.id)
        assert sum(votes) == 1 + 20
        assert votes[0] >= 10 and votes[1] >= 10


async def test_a_closed_table_takes_no_polls_or_ballots(client, session):
    scene = await make_scene(session)
    scene.table.status = "closed"
    await commit_setup(session)
    created = await client.post(
        f"/v1/tables/{scene.table.id}/polls", json=_poll_body(), headers=bearer(scene.facilitator)
    )
    assert_problem(created, 409, "table_closed")
    ballot = await client.post(
        f"/v1/polls/{scene.poll.id}/ballots",
        json={"option_ids": [str(scene.options[0].id)]},
        headers=bearer(scene.member),
    )
    assert_problem(ballot, 409, "table_closed")
    assert (await session.exec(select(PollParticipation))).all() == []
    assert len((await session.exec(select(Poll))).all()) == 1
