"""Secrecy of budget ballots: no endpoint, export or event but the voter's own ballot links
a person to a choice; one ballot per person under concurrency; the personal data export
and erasure cover the "has voted" record."""

import asyncio
import json

from sqlmodel import col, select

from app.db import get_sessionmaker
from app.models.budgets import BudgetBallot, BudgetVoter
from app.models.events import Event
from app.models.moderation import AuditEntry
from tests.factories import PASSWORD, commit_setup
from tests.factories.budgets import ids, make_budget_scene, make_resident, set_phase
from tests.helpers import assert_problem, bearer

PROJECTS = {"a": (0, 20_00), "b": (0, 30_00), "c": (0, 40_00), "orto": (1, 30_00)}


def test_ballots_have_no_column_that_names_a_person_or_a_time():
    columns = {c.name for c in BudgetBallot.__table__.columns}  # type: ignore[attr-defined]
    assert columns == {"budget_id", "voter_key", "area_id", "project_ids"}
    voter_columns = {c.name for c in BudgetVoter.__table__.columns}  # type: ignore[attr-defined]
    assert voter_columns == {"id", "budget_id", "user_id", "identity_key", "channel"}


async def test_no_staff_view_export_or_event_links_a_person_to_a_choice(client, session):
    scene = await make_budget_scene(session, projects=PROJECTS)
    voter = await make_resident(session, scene.municipalities[0])
    other = await make_resident(session, scene.municipalities[0])
    await commit_setup(session)
    p = scene.projects
    budget = scene.budget.id
    put = await client.put(
        f"/v1/budgets/{budget}/ballot", json={"project_ids": ids(p["c"])}, headers=bearer(voter)
    )
    assert put.status_code == 200
    # Another person cannot read it: their own (absent) ballot only.
    assert_problem(
        await client.get(f"/v1/budgets/{budget}/ballot", headers=bearer(other)), 404, "no_ballot"
    )

    # Every staff view during voting, and the public ones after it.
    staff = bearer(scene.admin)
    seen = [
        await client.get(f"/v1/budgets/{budget}", headers=staff),
        await client.get(f"/v1/budgets/{budget}/areas", headers=staff),
        await client.get(f"/v1/budgets/{budget}/projects", headers=staff),
        await client.get(f"/v1/budget-projects/{p['c'].id}", headers=staff),
        await client.get(f"/v1/budgets/{budget}/results", headers=staff),
        await client.get(f"/v1/budgets/{budget}/results.pb", headers=staff),
    ]
    await set_phase(session, scene.budget, "results")
    await commit_setup(session)
    seen += [
        await client.get(f"/v1/budgets/{budget}/results"),
        await client.get(
            f"/v1/budgets/{budget}/results.pb", params={"area": str(scene.areas[0].id)}
        ),
    ]
    for response in seen:
        assert response.status_code == 200, response.text
        text = response.content.decode(errors="replace")
        assert str(voter.id) not in text
        assert voter.email not in text

    # Events: the ballot's event has no actor and no choices; no audit row names them.
    events = (await session.exec(select(Event).where(col(Event.type).like("budget.ballot%")))).all()
    assert [e.type for e in events] == ["budget.ballot_cast"]
    assert events[0].actor_id is None
    assert events[0].payload == {"budget_id": str(budget)}
    everything = (await session.exec(select(Event))).all()
    audits = (await session.exec(select(AuditEntry))).all()
    dumped = json.dumps([e.payload for e in everything] + [a.data for a in audits], default=str)
    # (The projects were built directly, so nothing else on the spine names them.)
    assert str(p["c"].id) not in dumped
    assert all(e.actor_id != voter.id for e in everything)

    # The voter's own data export says they voted, not what they chose.
    export = (await client.get("/v1/me/export", headers=bearer(voter))).json()
    assert export["budget_participations"] == [
        {
            "budget_id": str(budget),
            "budget_slug": scene.budget.slug,
            "title": scene.budget.title,
            "channel": "online",
        }
    ]
    assert str(p["c"].id) not in json.dumps(export)
    # The stored ballot cannot be found from the person without SECRET_KEY.
    (ballot,) = (await session.exec(select(BudgetBallot))).all()
    assert str(voter.id) not in ballot.voter_key
    assert ballot.voter_key != voter.id.hex


async def test_erasure_forgets_that_they_voted_and_keeps_the_anonymous_ballot(client, session):
    scene = await make_budget_scene(session, projects=PROJECTS)
    voter = await make_resident(session, scene.municipalities[0])
    await commit_setup(session)
    put = await client.put(
        f"/v1/budgets/{scene.budget.id}/ballot",
        json={"project_ids": ids(scene.projects["a"])},
        headers=bearer(voter),
    )
    assert put.status_code == 200
    deleted = await client.request(
        "DELETE", "/v1/me", json={"password": PASSWORD}, headers=bearer(voter)
    )
    assert deleted.status_code == 204, deleted.text
    assert (await session.exec(select(BudgetVoter))).all() == []
    assert len((await session.exec(select(BudgetBallot))).all()) == 1
    audit = (
        await session.exec(select(AuditEntry).where(col(AuditEntry.action) == "user.deleted"))
    ).one()
    assert audit.data["budget_voter_records_erased"] == 1


async def test_two_phones_at_once_leave_one_ballot(committing_client):
    async with get_sessionmaker()() as setup:
        scene = await make_budget_scene(setup, projects=PROJECTS)
        voter = await make_resident(setup, scene.municipalities[0])
        crowd = [await make_resident(setup, scene.municipalities[0]) for _ in range(8)]
        await setup.commit()
    p = scene.projects
    url = f"/v1/budgets/{scene.budget.id}/ballot"
    choices = [ids(p["a"]), ids(p["b"]), ids(p["a"], p["b"]), ids(p["c"])]

    responses = await asyncio.gather(
        *(
            committing_client.put(url, json={"project_ids": choices[i % 4]}, headers=bearer(voter))
            for i in range(8)
        )
    )
    assert [r.status_code for r in responses] == [200] * 8, [r.text for r in responses]
    others = await asyncio.gather(
        *(
            committing_client.put(url, json={"project_ids": ids(p["a"])}, headers=bearer(person))
            for person in crowd
        )
    )
    assert [r.status_code for r in others] == [200] * 8, [r.text for r in others]

    async with get_sessionmaker()() as check:
        voters = (await check.exec(select(BudgetVoter))).all()
        ballots = (await check.exec(select(BudgetBallot))).all()
        mine = (await committing_client.get(url, headers=bearer(voter))).json()
    assert len(voters) == 9
    assert len([v for v in voters if v.user_id == voter.id]) == 1
    assert len(ballots) == 9
    assert mine["project_ids"] in choices
