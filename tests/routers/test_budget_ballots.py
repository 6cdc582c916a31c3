"""Ballots: each voting rule's validation, eligibility by age and residence, changing and
withdrawing, paper ballots checked against the "has voted" record."""

from datetime import date

from sqlmodel import col, select

from app.models.budgets import BudgetBallot, BudgetProject, BudgetVoter
from app.models.moderation import AuditEntry
from app.services.budgets.ballots import voter_key
from tests.factories import commit_setup, make_user
from tests.factories.budgets import ids, make_budget_scene, make_resident, set_phase
from tests.helpers import assert_problem, bearer

PROJECTS = {
    "Panchine": (0, 20_00),
    "Pista ciclabile": (0, 60_00),
    "Biblioteca": (0, 50_00),
    "Orto urbano": (1, 30_00),
}


async def _ballots(session):
    return (await session.exec(select(BudgetBallot))).all()


async def test_cast_read_change_and_withdraw_a_ballot(client, session):
    scene = await make_budget_scene(session, max_projects=2, projects=PROJECTS)
    voter = await make_resident(session, scene.municipalities[0])
    await commit_setup(session)
    p = scene.projects
    url = f"/v1/budgets/{scene.budget.id}/ballot"

    assert_problem(await client.get(url, headers=bearer(voter)), 404, "no_ballot")
    response = await client.put(
        url, json={"project_ids": ids(p["Panchine"], p["Biblioteca"])}, headers=bearer(voter)
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "budget_id": str(scene.budget.id),
        "area_id": str(scene.areas[0].id),
        "project_ids": ids(p["Panchine"], p["Biblioteca"]),
        "channel": "online",
    }
    (ballot,) = await _ballots(session)
    assert ballot.voter_key == voter_key(scene.budget.id, voter.id)
    assert set(ballot.project_ids) == {p["Panchine"].id, p["Biblioteca"].id}
    voters = (await session.exec(select(BudgetVoter))).all()
    assert [(v.user_id, v.channel) for v in voters] == [(voter.id, "online")]

    # Changed: still one ballot, one "has voted" record.
    response = await client.put(
        url, json={"project_ids": ids(p["Pista ciclabile"])}, headers=bearer(voter)
    )
    assert response.status_code == 200
    session.expunge_all()
    (ballot,) = await _ballots(session)
    assert ballot.project_ids == [p["Pista ciclabile"].id]
    assert len((await session.exec(select(BudgetVoter))).all()) == 1
    shown = await client.get(url, headers=bearer(voter))
    assert shown.json()["project_ids"] == ids(p["Pista ciclabile"])
    assert (await client.get(f"/v1/budgets/{scene.budget.id}")).json()["voters_count"] == 1

    assert (await client.delete(url, headers=bearer(voter))).status_code == 204
    assert await _ballots(session) == []
    assert (await session.exec(select(BudgetVoter))).all() == []
    assert_problem(await client.delete(url, headers=bearer(voter)), 404, "no_ballot")


async def test_approval_rules(client, session):
    scene = await make_budget_scene(session, max_projects=2, projects=PROJECTS)
    unfeasible = BudgetProject(
        budget_id=scene.budget.id,
        organization_id=scene.org.id,
        area_id=scene.areas[0].id,
        title={"it": "Grattacielo"},
        cost=10_00,
        feasibility="unfeasible",
    )
    session.add(unfeasible)
    voter = await make_resident(session, scene.municipalities[0])
    await commit_setup(session)
    p = scene.projects
    url = f"/v1/budgets/{scene.budget.id}/ballot"

    async def refused(project_ids, code):
        response = await client.put(url, json={"project_ids": project_ids}, headers=bearer(voter))
        body = assert_problem(response, 422, code)
        assert body["errors"][0]["code"] == code

    await refused(ids(p["Panchine"], p["Biblioteca"], p["Pista ciclabile"]), "too_many_projects")
    await refused(ids(p["Panchine"], p["Panchine"]), "duplicate_projects")
    await refused([str(scene.org.id)], "unknown_project")
    await refused(ids(unfeasible), "unfeasible_project")
    await refused(ids(p["Orto urbano"]), "other_area")
    await refused(ids(p["Panchine"], p["Orto urbano"]), "other_area")
    assert_problem(await client.put(url, json={"project_ids": []}, headers=bearer(voter)), 422)
    assert await _ballots(session) == []
    assert (await session.exec(select(BudgetVoter))).all() == []


async def test_cumulative_cost_rules(client, session):
    scene = await make_budget_scene(
        session, method="cumulative_cost", min_spend_percent=50, projects=PROJECTS
    )
    voter = await make_resident(session, scene.municipalities[0])
    await commit_setup(session)
    p = scene.projects
    url = f"/v1/budgets/{scene.budget.id}/ballot"

    # 60 + 50 = 110 € over the area's 100 €; 20 € is under half of it.
    over = await client.put(
        url, json={"project_ids": ids(p["Pista ciclabile"], p["Biblioteca"])}, headers=bearer(voter)
    )
    assert_problem(over, 422, "over_budget")
    under = await client.put(url, json={"project_ids": ids(p["Panchine"])}, headers=bearer(voter))
    assert_problem(under, 422, "under_min_spend")
    assert await _ballots(session) == []
    # 20 + 60 = 80 €: within budget, over half of it; any number of projects.
    ok = await client.put(
        url, json={"project_ids": ids(p["Panchine"], p["Pista ciclabile"])}, headers=bearer(voter)
    )
    assert ok.status_code == 200, ok.text
    assert len(await _ballots(session)) == 1


async def test_voting_only_in_the_voting_phase(client, session):
    scene = await make_budget_scene(session, phase="evaluation", projects=PROJECTS)
    voter = await make_resident(session, scene.municipalities[0])
    await commit_setup(session)
    url = f"/v1/budgets/{scene.budget.id}/ballot"
    body = {"project_ids": ids(scene.projects["Panchine"])}

    assert_problem(
        await client.put(url, json=body, headers=bearer(voter)), 422, "not_in_voting_phase"
    )
    await set_phase(session, scene.budget, "voting")
    await commit_setup(session)
    assert (await client.put(url, json=body, headers=bearer(voter))).status_code == 200
    await set_phase(session, scene.budget, "results")
    await commit_setup(session)
    assert_problem(
        await client.put(url, json=body, headers=bearer(voter)), 422, "not_in_voting_phase"
    )
    assert_problem(await client.delete(url, headers=bearer(voter)), 422, "not_in_voting_phase")
    assert len(await _ballots(session)) == 1
    # The voter still reads their own ballot after voting closed.
    assert (await client.get(url, headers=bearer(voter))).json()["project_ids"] == body[
        "project_ids"
    ]


async def test_eligibility_by_age(client, session):
    scene = await make_budget_scene(session, min_age=16, projects=PROJECTS)
    today = date.today()
    fifteen = await make_resident(
        session, scene.municipalities[0], birth_date=date(today.year - 15, 1, 1)
    )
    sixteen = await make_resident(
        session, scene.municipalities[0], birth_date=date(today.year - 17, 1, 1)
    )
    unknown = await make_resident(session, scene.municipalities[0], birth_date=None)
    await commit_setup(session)
    url = f"/v1/budgets/{scene.budget.id}/ballot"
    body = {"project_ids": ids(scene.projects["Panchine"])}

    assert_problem(await client.put(url, json=body, headers=bearer(fifteen)), 403, "too_young")
    assert_problem(
        await client.put(url, json=body, headers=bearer(unknown)), 403, "birth_date_required"
    )
    assert (await client.put(url, json=body, headers=bearer(sixteen))).status_code == 200
    voters = (await session.exec(select(BudgetVoter.user_id))).all()
    assert voters == [sixteen.id]


async def test_eligibility_by_residence_and_any_area(client, session):
    scene = await make_budget_scene(session, projects=PROJECTS)
    elsewhere = await make_resident(session, scene.municipalities[2])
    nowhere = await make_resident(session, None)
    in_b = await make_resident(session, scene.municipalities[1])
    await commit_setup(session)
    url = f"/v1/budgets/{scene.budget.id}/ballot"
    in_a = {"project_ids": ids(scene.projects["Panchine"])}

    assert_problem(await client.put(url, json=in_a, headers=bearer(elsewhere)), 403, "not_resident")
    assert_problem(
        await client.put(url, json=in_a, headers=bearer(nowhere)), 403, "residence_required"
    )
    assert_problem(await client.put(url, json=in_a, headers=bearer(in_b)), 422, "other_area")
    in_b_ok = {"project_ids": ids(scene.projects["Orto urbano"])}
    assert (await client.put(url, json=in_b_ok, headers=bearer(in_b))).status_code == 200

    # With any_area, a resident of B may vote in A instead (one area per ballot).
    scene.budget.any_area = True
    session.add(scene.budget)
    await commit_setup(session)
    response = await client.put(url, json=in_a, headers=bearer(in_b))
    assert response.status_code == 200, response.text
    assert response.json()["area_id"] == str(scene.areas[0].id)
    assert_problem(await client.put(url, json=in_a, headers=bearer(elsewhere)), 403, "not_resident")
    (ballot,) = await _ballots(session)
    assert ballot.area_id == scene.areas[0].id


async def test_paper_ballots_are_checked_against_the_has_voted_record(client, session):
    scene = await make_budget_scene(session, projects=PROJECTS)
    online = await make_resident(session, scene.municipalities[0])
    walk_in = await make_resident(session, scene.municipalities[0])
    participant = await make_user(session)
    await commit_setup(session)
    p = scene.projects
    url = f"/v1/budgets/{scene.budget.id}/paper-ballots"
    area = str(scene.areas[0].id)
    assert (
        await client.put(
            f"/v1/budgets/{scene.budget.id}/ballot",
            json={"project_ids": ids(p["Panchine"])},
            headers=bearer(online),
        )
    ).status_code == 200

    def paper(**voter):
        return {"area_id": area, "project_ids": ids(p["Biblioteca"]), **voter}

    # Staff only.
    assert_problem(
        await client.post(
            url, json=paper(identity="RSSMRA80A01A662X"), headers=bearer(participant)
        ),
        404,
    )
    # Someone who already voted online; then a new person, twice (same document, spaced).
    assert_problem(
        await client.post(url, json=paper(user_id=str(online.id)), headers=bearer(scene.admin)),
        409,
        "already_voted",
    )
    first = await client.post(
        url, json=paper(identity="RSSMRA80A01A662X"), headers=bearer(scene.admin)
    )
    assert first.status_code == 201, first.text
    assert first.json()["voters_count"] == 2
    assert_problem(
        await client.post(
            url, json=paper(identity="rssmra80a01 a662x"), headers=bearer(scene.admin)
        ),
        409,
        "already_voted",
    )
    # An account holder votes on paper: their online ballot is then refused.
    walked = await client.post(
        url, json=paper(user_id=str(walk_in.id)), headers=bearer(scene.admin)
    )
    assert walked.status_code == 201, walked.text
    assert_problem(
        await client.put(
            f"/v1/budgets/{scene.budget.id}/ballot",
            json={"project_ids": ids(p["Panchine"])},
            headers=bearer(walk_in),
        ),
        409,
        "voted_on_paper",
    )
    assert_problem(
        await client.get(f"/v1/budgets/{scene.budget.id}/ballot", headers=bearer(walk_in)),
        404,
        "voted_on_paper",
    )
    # A paper ballot is validated like any other.
    over = paper(identity="VRDLGI70B02A662Y") | {"project_ids": ids(p["Orto urbano"])}
    assert_problem(
        await client.post(url, json=over, headers=bearer(scene.admin)), 422, "other_area"
    )

    session.expunge_all()
    ballots = await _ballots(session)
    assert len(ballots) == 3
    voters = (await session.exec(select(BudgetVoter).order_by(col(BudgetVoter.channel)))).all()
    assert sorted(v.channel for v in voters) == ["online", "paper", "paper"]
    stranger = next(v for v in voters if v.user_id is None)
    assert stranger.identity_key is not None and "RSSMRA" not in stranger.identity_key
    audits = (
        await session.exec(
            select(AuditEntry).where(col(AuditEntry.action) == "budget.paper_ballot_entered")
        )
    ).all()
    assert len(audits) == 2
    assert all(a.actor_id == scene.admin.id for a in audits)
    assert all("project_ids" not in a.data and "user_id" not in a.data for a in audits)


async def test_a_ballot_stored_under_an_old_key_is_not_doubled(client, session):
    """After SECRET_KEY changed, the voter's ballot cannot be found; a new one would count
    twice, so it is refused."""
    from sqlalchemy import update

    scene = await make_budget_scene(session, projects=PROJECTS)
    voter = await make_resident(session, scene.municipalities[0])
    await commit_setup(session)
    url = f"/v1/budgets/{scene.budget.id}/ballot"
    body = {"project_ids": ids(scene.projects["Panchine"])}
    assert (await client.put(url, json=body, headers=bearer(voter))).status_code == 200
    await session.exec(update(BudgetBallot).values(voter_key="0" * 64))
    await commit_setup(session)

    assert_problem(
        await client.put(url, json=body, headers=bearer(voter)), 409, "ballot_unreachable"
    )
    assert len(await _ballots(session)) == 1
