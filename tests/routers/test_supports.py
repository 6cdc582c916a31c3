"""Supports: idempotent PUT/DELETE, the table's settings (blocked, hidden, limit,
threshold), who may support, and exact counts under real concurrency."""

import asyncio
import random
import uuid
from datetime import UTC, date, datetime

from sqlmodel import col, func, select

from app.db import get_sessionmaker
from app.models.accounts import User
from app.models.events import Event
from app.models.proposals import Proposal, ProposalSupport
from tests.factories import (
    PASSWORD_HASH,
    add_member,
    commit_setup,
    make_proposal,
    make_scene,
    make_table,
    make_user,
    set_settings,
    support_rows,
)
from tests.helpers import assert_problem, bearer


async def supports_count(session, proposal_id):
    return (
        await session.exec(
            select(Proposal.supports_count)
            .where(col(Proposal.id) == proposal_id)
            .execution_options(populate_existing=True)
        )
    ).one()


async def event_types(session, proposal_id):
    rows = await session.exec(
        select(Event.type).where(col(Event.subject_id) == proposal_id).order_by(col(Event.seq))
    )
    return list(rows.all())


async def test_support_is_idempotent_and_withdrawable(client, session):
    s = await make_scene(session, content=False)
    proposal = await make_proposal(session, s.table, s.facilitator)
    await commit_setup(session)
    url = f"/v1/proposals/{proposal.id}/support"
    first = await client.put(url, headers=bearer(s.member))
    assert first.status_code == 201, first.text
    assert first.json() == {
        "proposal_id": str(proposal.id),
        "supported_by_me": True,
        "supports_count": 1,
        "threshold_reached": False,
    }
    again = await client.put(url, headers=bearer(s.member))
    assert again.status_code == 200 and again.json()["supports_count"] == 1
    assert await support_rows(session, proposal.id) == 1
    seen = (await client.get(f"/v1/proposals/{proposal.id}", headers=bearer(s.member))).json()
    assert seen["supported_by_me"] is True and seen["supports_count"] == 1
    others = (
        await client.get(f"/v1/proposals/{proposal.id}", headers=bearer(s.facilitator))
    ).json()
    assert others["supported_by_me"] is False

    assert (await client.delete(url, headers=bearer(s.member))).status_code == 204
    assert (await client.delete(url, headers=bearer(s.member))).status_code == 204
    assert await support_rows(session, proposal.id) == 0
    assert await supports_count(session, proposal.id) == 0
    assert await event_types(session, proposal.id) == [
        "proposal.supported",
        "proposal.support_withdrawn",
    ]
    assert_problem(await client.put(url), 401)
    assert_problem(
        await client.put(f"/v1/proposals/{uuid.uuid4()}/support", headers=bearer(s.member)), 404
    )


async def test_no_support_on_a_blocked_table(client, session):
    s = await make_scene(session, content=False)
    proposal = await make_proposal(session, s.table, s.facilitator)
    await set_settings(session, s.table, supports="blocked")
    await commit_setup(session)
    url = f"/v1/proposals/{proposal.id}/support"
    assert_problem(await client.put(url, headers=bearer(s.member)), 409, "supports_blocked")
    assert_problem(await client.delete(url, headers=bearer(s.member)), 409, "supports_blocked")
    assert await support_rows(session, proposal.id) == 0


async def test_withdrawn_rejected_and_draft_proposals_cannot_be_supported(client, session):
    s = await make_scene(session, content=False)
    withdrawn = await make_proposal(session, s.table, s.facilitator, status="withdrawn")
    rejected = await make_proposal(
        session,
        s.table,
        s.facilitator,
        answer_state="rejected",
        answer_text="No.",
        answered_at=datetime.now(UTC),
    )
    draft = await make_proposal(session, s.table, s.member, status="draft")
    closed_table = await make_table(session, s.org, plan_id=s.plan.id, status="closed")
    await add_member(session, closed_table, s.member)
    on_closed = await make_proposal(session, closed_table, s.facilitator)
    await commit_setup(session)
    for proposal, code in (
        (withdrawn, "proposal_withdrawn"),
        (rejected, "proposal_rejected"),
        (draft, "proposal_not_published"),
        (on_closed, "table_closed"),
    ):
        assert_problem(
            await client.put(f"/v1/proposals/{proposal.id}/support", headers=bearer(s.member)),
            409,
            code,
        )
        assert await support_rows(session, proposal.id) == 0
    # Someone else's draft does not exist for the others.
    assert_problem(
        await client.put(f"/v1/proposals/{draft.id}/support", headers=bearer(s.facilitator)), 404
    )


async def test_who_may_support(client, session):
    s = await make_scene(session, content=False, membership_policy="request")
    outsider = await make_user(session)
    unverified = await make_user(session, verified=False)
    child = await make_user(session)
    child.birth_date = date(datetime.now(UTC).year - 13, 1, 1)
    consented = await make_user(session)
    consented.birth_date = child.birth_date
    consented.guardian_consent_at = datetime.now(UTC)
    for person in (unverified, child, consented):
        await add_member(session, s.table, person)
    proposal = await make_proposal(session, s.table, s.facilitator)
    open_table = await make_table(session, s.org, plan_id=s.plan.id)
    on_open = await make_proposal(session, open_table, s.facilitator)
    await commit_setup(session)
    url = f"/v1/proposals/{proposal.id}/support"
    assert_problem(await client.put(url, headers=bearer(outsider)), 403, "not_a_member")
    assert_problem(await client.put(url, headers=bearer(unverified)), 403, "email_not_verified")
    assert_problem(await client.put(url, headers=bearer(child)), 403, "guardian_consent_required")
    assert_problem(
        await client.delete(url, headers=bearer(child)), 403, "guardian_consent_required"
    )
    assert await support_rows(session, proposal.id) == 0
    # With a guardian's consent on record, a 13-year-old member takes part.
    assert (await client.put(url, headers=bearer(consented))).status_code == 201
    # On a public, open table anyone verified may support without joining.
    response = await client.put(f"/v1/proposals/{on_open.id}/support", headers=bearer(outsider))
    assert response.status_code == 201


async def test_hidden_supports_show_no_counts_to_participants(client, session):
    s = await make_scene(session, content=False)
    proposal = await make_proposal(session, s.table, s.facilitator)
    await set_settings(session, s.table, supports="hidden", support_threshold=1)
    await commit_setup(session)
    response = await client.put(f"/v1/proposals/{proposal.id}/support", headers=bearer(s.member))
    assert response.status_code == 201
    assert response.json()["supports_count"] is None
    assert response.json()["threshold_reached"] is None
    assert response.json()["supported_by_me"] is True
    for headers in ({}, bearer(s.member)):
        body = (await client.get(f"/v1/proposals/{proposal.id}", headers=headers)).json()
        assert body["supports_count"] is None and body["threshold_reached"] is None
        listed = (await client.get(f"/v1/tables/{s.table.id}/proposals", headers=headers)).json()
        assert listed["items"][0]["supports_count"] is None
        assert_problem(
            await client.get(f"/v1/tables/{s.table.id}/proposals?sort=supports", headers=headers),
            422,
            "sort_unavailable",
        )
    for person in (s.facilitator, s.admin):
        body = (await client.get(f"/v1/proposals/{proposal.id}", headers=bearer(person))).json()
        assert body["supports_count"] == 1 and body["threshold_reached"] is True
        sorted_page = await client.get(
            f"/v1/tables/{s.table.id}/proposals?sort=supports", headers=bearer(person)
        )
        assert sorted_page.status_code == 200


async def test_threshold_reached_flips_and_is_announced_once(client, session):
    s = await make_scene(session, content=False)
    await set_settings(session, s.table, support_threshold=2)
    proposal = await make_proposal(session, s.table, s.facilitator)
    people = [await make_user(session) for _ in range(3)]
    await commit_setup(session)
    url = f"/v1/proposals/{proposal.id}/support"
    assert (await client.put(url, headers=bearer(people[0]))).json()["threshold_reached"] is False
    assert (await client.put(url, headers=bearer(people[1]))).json()["threshold_reached"] is True
    got = (await client.get(f"/v1/proposals/{proposal.id}")).json()
    assert got["threshold_reached"] is True and got["supports_count"] == 2
    # Dropping below and reaching it again does not announce it twice.
    assert (await client.delete(url, headers=bearer(people[1]))).status_code == 204
    assert (await client.get(f"/v1/proposals/{proposal.id}")).json()["threshold_reached"] is False
    assert (await client.put(url, headers=bearer(people[2]))).json()["threshold_reached"] is True
    types = await event_types(session, proposal.id)
    assert types.count("proposal.threshold_reached") == 1
    assert types.index("proposal.threshold_reached") == types.index("proposal.supported") + 2


async def test_the_per_person_limit(client, session):
    s = await make_scene(session, content=False)
    await set_settings(session, s.table, support_limit=2)
    proposals = [await make_proposal(session, s.table, s.facilitator) for _ in range(4)]
    await commit_setup(session)
    urls = [f"/v1/proposals/{p.id}/support" for p in proposals]
    headers = bearer(s.member)
    assert (await client.put(urls[0], headers=headers)).status_code == 201
    assert (await client.put(urls[1], headers=headers)).status_code == 201
    body = assert_problem(await client.put(urls[2], headers=headers), 409, "support_limit_reached")
    assert body["support_limit"] == 2
    # Repeating a support at the limit is still fine (idempotent).
    assert (await client.put(urls[1], headers=headers)).status_code == 200
    # Withdrawing one frees a support.
    assert (await client.delete(urls[0], headers=headers)).status_code == 204
    assert (await client.put(urls[2], headers=headers)).status_code == 201
    # Supports of a proposal withdrawn by its author stop counting.
    assert (
        await client.post(
            f"/v1/proposals/{proposals[1].id}/withdraw", headers=bearer(s.facilitator)
        )
    ).status_code == 200
    assert (await client.put(urls[3], headers=headers)).status_code == 201


def sql_statements(counter):
    """The statements of a request, without the test harness's savepoints."""
    return [q for q in counter.statements if "SAVEPOINT" not in q]


async def test_support_uses_a_handful_of_queries(client, session, query_counter):
    s = await make_scene(session, content=False)
    proposal = await make_proposal(session, s.table, s.facilitator)
    people = [await make_user(session) for _ in range(2)]
    limited_table = await make_table(session, s.org, plan_id=s.plan.id)
    await set_settings(session, limited_table, support_limit=5)
    limited = await make_proposal(session, limited_table, s.facilitator)
    await commit_setup(session)
    query_counter.reset()
    response = await client.put(f"/v1/proposals/{proposal.id}/support", headers=bearer(people[0]))
    assert response.status_code == 201
    # The write-limit counters (their own round trip); the caller; the proposal with its
    # table, settings and the caller's standing (suspension included, in the same query);
    # the insert, the counter update and the event in one statement.
    assert len(sql_statements(query_counter)) == 4, sql_statements(query_counter)
    query_counter.reset()
    response = await client.put(f"/v1/proposals/{limited.id}/support", headers=bearer(people[1]))
    assert response.status_code == 201
    # … plus the advisory lock and the count of the person's supports.
    assert len(sql_statements(query_counter)) == 6, sql_statements(query_counter)
    query_counter.reset()
    assert (
        await client.delete(f"/v1/proposals/{proposal.id}/support", headers=bearer(people[0]))
    ).status_code == 204
    # The caller, the proposal with its context, the delete, counter and event together.
    assert len(sql_statements(query_counter)) == 3, sql_statements(query_counter)


# --- real concurrency (committed transactions, simultaneous requests) ----------------


async def _committed_setup(people: int, **settings):
    """A table with one proposal (or more) and `people` verified accounts, committed."""
    async with get_sessionmaker()() as session:
        s = await make_scene(session, content=False)
        if settings:
            await set_settings(session, s.table, **settings)
        proposals = [await make_proposal(session, s.table, s.facilitator) for _ in range(10)]
        now = datetime.now(UTC)
        users = [
            User(
                email=f"crowd-{uuid.uuid4().hex[:12]}@example.org",
                password_hash=PASSWORD_HASH,
                display_name=f"Persona {i}",
                email_verified_at=now,
            )
            for i in range(people)
        ]
        session.add_all(users)
        await session.commit()
        return s, proposals, users


async def _count_and_rows(proposal_id):
    async with get_sessionmaker()() as session:
        count = await supports_count(session, proposal_id)
        rows = await support_rows(session, proposal_id)
        return count, rows


async def test_200_people_supporting_at_once_count_exactly_200(committing_client):
    _, proposals, users = await _committed_setup(200)
    url = f"/v1/proposals/{proposals[0].id}/support"
    responses = await asyncio.gather(
        *(committing_client.put(url, headers=bearer(user)) for user in users)
    )
    assert sorted({r.status_code for r in responses}) == [201], responses[0].text
    assert await _count_and_rows(proposals[0].id) == (200, 200)


async def test_mixed_concurrent_supports_and_withdrawals_keep_count_equal_to_rows(
    committing_client,
):
    _, proposals, users = await _committed_setup(120)
    url = f"/v1/proposals/{proposals[0].id}/support"
    # Half the crowd supports first.
    first = await asyncio.gather(
        *(committing_client.put(url, headers=bearer(u)) for u in users[:60])
    )
    assert {r.status_code for r in first} == {201}
    # Then, all at once: withdrawals (some twice), new supports (some twice), repeats.
    requests = (
        [committing_client.delete(url, headers=bearer(u)) for u in users[:40]]
        + [committing_client.delete(url, headers=bearer(u)) for u in users[:10]]
        + [committing_client.put(url, headers=bearer(u)) for u in users[60:]]
        + [committing_client.put(url, headers=bearer(u)) for u in users[60:80]]
        + [committing_client.put(url, headers=bearer(u)) for u in users[40:60]]
    )
    random.Random(5).shuffle(requests)
    responses = await asyncio.gather(*requests)
    assert {r.status_code for r in responses} <= {200, 201, 204}, [
        r.text for r in responses if r.status_code >= 300 and r.status_code != 204
    ]
    count, rows = await _count_and_rows(proposals[0].id)
    assert count == rows == 20 + 60


async def test_the_per_person_limit_holds_when_ten_supports_fire_at_once(committing_client):
    _, proposals, users = await _committed_setup(1, support_limit=3)
    person = users[0]
    responses = await asyncio.gather(
        *(
            committing_client.put(f"/v1/proposals/{p.id}/support", headers=bearer(person))
            for p in proposals
        )
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] * 3 + [409] * 7
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {
        "support_limit_reached"
    }
    async with get_sessionmaker()() as session:
        given = (
            await session.exec(
                select(func.count())
                .select_from(ProposalSupport)
                .where(col(ProposalSupport.user_id) == person.id)
            )
        ).one()
        counted = (
            await session.exec(
                select(func.sum(Proposal.supports_count)).where(
                    col(Proposal.id).in_([p.id for p in proposals])
                )
            )
        ).one()
    assert given == counted == 3
