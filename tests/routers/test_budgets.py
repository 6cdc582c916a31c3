"""Budgeting processes, areas and projects: who may create and edit them, phases, the
feasibility verdict (audited), the link with proposals, comments on projects."""

from datetime import UTC, datetime

from sqlmodel import col, select

from app.models.budgets import (
    Budget,
    BudgetArea,
    BudgetAreaMunicipality,
    BudgetProject,
    BudgetProjectProposal,
)
from app.models.events import Event
from app.models.moderation import AuditEntry
from app.models.proposals import Proposal
from tests.factories import (
    add_member,
    commit_setup,
    make_municipality,
    make_org,
    make_table,
    make_user,
)
from tests.factories.budgets import make_budget_scene, phases_around
from tests.helpers import assert_problem, bearer


def _budget_body(**overrides):
    body = {
        "slug": "bp-2027",
        "title": {"it": "Bilancio partecipativo 2027", "en": "Participatory budget 2027"},
        "description": {"it": "Proponi e vota."},
        "phases": phases_around("proposals"),
        "voting": {
            "method": "cumulative_cost",
            "min_spend_percent": 50,
            "counting": "equal_shares",
        },
        "eligibility": {"min_age": 16},
    }
    return body | overrides


async def test_admin_creates_a_process_and_anyone_reads_it(client, session):
    admin = await make_user(session)
    org = await make_org(session, admin=admin)
    await commit_setup(session)

    response = await client.post(
        f"/v1/organizations/{org.slug}/budgets", json=_budget_body(), headers=bearer(admin)
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["current_phase"] == "proposals"
    assert body["voting_open"] is False
    assert body["results_published"] is False
    assert body["voting"] == {
        "method": "cumulative_cost",
        "max_projects": None,
        "min_spend_percent": 50,
        "counting": "equal_shares",
    }
    assert body["eligibility"] == {"min_age": 16, "any_area": False}
    assert body["voters_count"] == 0
    stored = await session.get(Budget, body["id"])
    assert stored is not None and stored.counting == "equal_shares" and stored.min_age == 16
    events = (
        await session.exec(select(Event.type).where(col(Event.subject_id) == stored.id))
    ).all()
    assert events == ["budget.created"]

    anonymous = await client.get(f"/v1/budgets/{body['id']}")
    assert anonymous.status_code == 200
    assert anonymous.json()["title"]["en"] == "Participatory budget 2027"
    listed = await client.get(f"/v1/organizations/{org.slug}/budgets")
    assert [b["id"] for b in listed.json()["items"]] == [body["id"]]


async def test_only_admins_create_and_bad_phases_are_refused(client, session):
    admin = await make_user(session)
    org = await make_org(session, admin=admin)
    someone = await make_user(session)
    await commit_setup(session)
    url = f"/v1/organizations/{org.slug}/budgets"

    assert_problem(await client.post(url, json=_budget_body(), headers=bearer(someone)), 404)
    phases = phases_around("proposals")
    phases["voting"] = phases["evaluation"]
    assert_problem(
        await client.post(url, json=_budget_body(phases=phases), headers=bearer(admin)), 422
    )
    bad_voting = {"method": "approval", "min_spend_percent": 10}
    assert_problem(
        await client.post(url, json=_budget_body(voting=bad_voting), headers=bearer(admin)), 422
    )
    assert_problem(
        await client.post(url, json=_budget_body(title={"en": "x"}), headers=bearer(admin)),
        422,
        "missing_default_locale",
    )
    assert (await session.exec(select(Budget))).all() == []
    assert (await client.post(url, json=_budget_body(), headers=bearer(admin))).status_code == 201
    assert_problem(
        await client.post(url, json=_budget_body(), headers=bearer(admin)), 409, "slug_taken"
    )


async def test_areas_tie_amounts_to_municipalities(client, session):
    scene = await make_budget_scene(session, phase="proposals")
    other_org = await make_org(session)
    foreign = await make_municipality(session, other_org, "Torino")
    await commit_setup(session)
    url = f"/v1/budgets/{scene.budget.id}/areas"
    third = scene.municipalities[2]

    response = await client.post(
        url,
        json={"name": "Altrove", "municipality_ids": [str(third.id)], "amount": 5_000_000},
        headers=bearer(scene.admin),
    )
    assert response.status_code == 201, response.text
    assert response.json()["amount"] == 5_000_000
    row = (
        await session.exec(
            select(BudgetAreaMunicipality).where(
                col(BudgetAreaMunicipality.municipality_id) == third.id
            )
        )
    ).one()
    assert str(row.area_id) == response.json()["id"]
    # The same municipality in a second area; another organization's municipality.
    assert_problem(
        await client.post(
            url,
            json={"name": "Doppia", "municipality_ids": [str(third.id)], "amount": 100},
            headers=bearer(scene.admin),
        ),
        409,
        "municipality_in_other_area",
    )
    assert_problem(
        await client.post(
            url,
            json={"name": "Fuori", "municipality_ids": [str(foreign.id)], "amount": 100},
            headers=bearer(scene.admin),
        ),
        422,
        "unknown_municipality",
    )
    listed = (await client.get(url)).json()["items"]
    assert [a["name"] for a in listed] == ["Area A", "Area B", "Altrove"]
    assert listed[2]["municipality_ids"] == [str(third.id)]
    assert len((await session.exec(select(BudgetArea))).all()) == 3


async def test_projects_from_proposals_are_linked_both_ways(client, session):
    scene = await make_budget_scene(session, phase="proposals")
    table = await make_table(session, scene.org)
    author = await make_user(session)
    await add_member(session, table, author)
    proposal = Proposal(
        table_id=table.id,
        organization_id=scene.org.id,
        author_id=author.id,
        title="Un parco giochi",
        body="Nel quartiere mancano spazi per i bambini.",
        status="published",
        published_at=datetime.now(UTC),
    )
    session.add(proposal)
    await commit_setup(session)

    response = await client.post(
        f"/v1/budgets/{scene.budget.id}/projects",
        json={
            "title": {"it": "Parco giochi"},
            "area_id": str(scene.areas[0].id),
            "cost": 45_000_00,
            "proposal_ids": [str(proposal.id)],
        },
        headers=bearer(scene.admin),
    )
    assert response.status_code == 201, response.text
    project = response.json()
    assert project["feasibility"] == "pending"
    assert project["on_ballot"] is False
    assert project["proposal_ids"] == [str(proposal.id)]
    link = (await session.exec(select(BudgetProjectProposal))).one()
    assert str(link.project_id) == project["id"]
    shown = await client.get(f"/v1/proposals/{proposal.id}")
    assert shown.status_code == 200, shown.text
    assert shown.json()["budget_project_ids"] == [project["id"]]

    # An area of the process only; a participant may not add projects.
    assert_problem(
        await client.post(
            f"/v1/budgets/{scene.budget.id}/projects",
            json={"title": {"it": "X"}, "area_id": str(scene.org.id), "cost": 1},
            headers=bearer(scene.admin),
        ),
        422,
        "unknown_area",
    )
    assert_problem(
        await client.post(
            f"/v1/budgets/{scene.budget.id}/projects",
            json={"title": {"it": "X"}, "area_id": str(scene.areas[0].id), "cost": 1},
            headers=bearer(author),
        ),
        404,
    )


async def test_feasibility_verdict_is_audited_and_frozen_once_voting_starts(client, session):
    scene = await make_budget_scene(session, phase="evaluation", projects={"Pista": (0, 30_00)})
    project = scene.projects["Pista"]
    project.feasibility = "pending"
    session.add(project)
    facilitator_table = await make_table(session, scene.org)
    facilitator = await make_user(session)
    await add_member(session, facilitator_table, facilitator, role="facilitator")
    scene.budget.table_id = facilitator_table.id
    session.add(scene.budget)
    await commit_setup(session)
    url = f"/v1/budget-projects/{project.id}"

    response = await client.patch(
        url,
        json={"feasibility": "unfeasible", "feasibility_report": {"it": "Area vincolata."}},
        headers=bearer(facilitator),
    )
    assert response.status_code == 200, response.text
    assert response.json()["feasibility"] == "unfeasible"
    assert response.json()["feasibility_report"] == {"it": "Area vincolata."}
    audit = (
        await session.exec(select(AuditEntry).where(col(AuditEntry.target_id) == project.id))
    ).one()
    assert audit.action == "budget_project.evaluated"
    assert audit.actor_id == facilitator.id
    assert audit.data["feasibility"] == "unfeasible"

    session.expunge_all()
    budget = await session.get(Budget, scene.budget.id)
    assert budget is not None
    budget.phases = phases_around("voting")
    session.add(budget)
    await commit_setup(session)
    assert_problem(
        await client.patch(url, json={"feasibility": "feasible"}, headers=bearer(scene.admin)),
        409,
        "voting_started",
    )
    assert_problem(
        await client.patch(url, json={"cost": 10}, headers=bearer(scene.admin)),
        409,
        "voting_started",
    )
    stored = await session.get(BudgetProject, project.id)
    assert stored is not None and stored.feasibility == "unfeasible" and stored.cost == 30_00


async def test_voting_rules_cannot_change_once_voting_started(client, session):
    scene = await make_budget_scene(session, phase="voting")
    await commit_setup(session)
    response = await client.patch(
        f"/v1/budgets/{scene.budget.id}",
        json={"voting": {"method": "approval", "max_projects": 1}},
        headers=bearer(scene.admin),
    )
    assert_problem(response, 409, "voting_started")
    # Other fields still change.
    response = await client.patch(
        f"/v1/budgets/{scene.budget.id}",
        json={"title": {"it": "Nuovo titolo"}},
        headers=bearer(scene.admin),
    )
    assert response.status_code == 200, response.text
    assert response.json()["title"] == {"it": "Nuovo titolo"}
    stored = await session.get(Budget, scene.budget.id)
    assert stored is not None and stored.title == {"it": "Nuovo titolo"}


async def test_comments_on_projects(client, session):
    scene = await make_budget_scene(session, phase="voting", projects={"Pista": (0, 30_00)})
    commenter = await make_user(session)
    await commit_setup(session)
    project = scene.projects["Pista"]
    url = f"/v1/budget-projects/{project.id}/comments"

    response = await client.post(url, json={"body": "Ottima idea!"}, headers=bearer(commenter))
    assert response.status_code == 201, response.text
    assert response.json()["target_type"] == "budget_project"
    listed = await client.get(url)
    assert [c["body"] for c in listed.json()["items"]] == ["Ottima idea!"]
    assert (await client.get(f"/v1/budget-projects/{project.id}")).json()["comments_count"] == 1
    missing = await client.get(f"/v1/budget-projects/{scene.org.id}/comments")
    assert_problem(missing, 404)
