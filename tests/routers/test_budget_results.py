"""Results under both rules through the API, their visibility and stored count, the
pabulib export re-read by pabutools, and implementation tracking on plan nodes."""

import io
import zipfile

from pabutools.election import Cost_Sat
from pabutools.election.pabulib import parse_pabulib_from_string
from pabutools.rules import greedy_utilitarian_welfare, method_of_equal_shares
from sqlmodel import select

from app.models.budgets import BudgetProjectNode, BudgetProjectUpdate, BudgetResult
from app.services.budgets.counting import CHEAPER_THEN_ID
from tests.factories import commit_setup, make_plan
from tests.factories.budgets import ids, make_budget_scene, make_resident, phases_around, set_phase
from tests.helpers import assert_problem, bearer

# The election of test_budget_counting: six want a1 and a2, four want b; area A has 100 €.
PROJECTS = {"a1": (0, 50_00), "a2": (0, 50_00), "b": (0, 40_00), "orto": (1, 30_00)}


async def _election(client, session, *, counting="greedy"):
    scene = await make_budget_scene(session, counting=counting, projects=PROJECTS)
    majority = [await make_resident(session, scene.municipalities[0]) for _ in range(6)]
    minority = [await make_resident(session, scene.municipalities[0]) for _ in range(4)]
    in_b = await make_resident(session, scene.municipalities[1])
    await commit_setup(session)
    p = scene.projects
    url = f"/v1/budgets/{scene.budget.id}/ballot"
    for voter in majority:
        r = await client.put(
            url, json={"project_ids": ids(p["a1"], p["a2"])}, headers=bearer(voter)
        )
        assert r.status_code == 200, r.text
    for voter in minority:
        r = await client.put(url, json={"project_ids": ids(p["b"])}, headers=bearer(voter))
        assert r.status_code == 200, r.text
    r = await client.put(url, json={"project_ids": ids(p["orto"])}, headers=bearer(in_b))
    assert r.status_code == 200, r.text
    return scene


def _funded(area):
    return {p["title"]["it"] for p in area["projects"] if p["funded"]}


async def test_results_under_both_rules(client, session):
    scene = await _election(client, session)
    await set_phase(session, scene.budget, "results")
    await commit_setup(session)
    url = f"/v1/budgets/{scene.budget.id}/results"

    greedy = await client.get(url)
    assert greedy.status_code == 200, greedy.text
    body = greedy.json()
    assert body["counting"] == "greedy" and body["final"] is True
    area_a, area_b = body["areas"]
    assert area_a["ballots_count"] == 10
    assert [(p["title"]["it"], p["votes"]) for p in area_a["projects"]] == [
        ("a1", 6) if str(scene.projects["a1"].id) < str(scene.projects["a2"].id) else ("a2", 6),
        ("a2", 6) if str(scene.projects["a1"].id) < str(scene.projects["a2"].id) else ("a1", 6),
        ("b", 4),
    ]
    assert _funded(area_a) == {"a1", "a2"}
    assert (area_a["amount"], area_a["spent"], area_a["left"]) == (100_00, 100_00, 0)
    assert _funded(area_b) == {"orto"}
    assert (area_b["spent"], area_b["left"]) == (30_00, 70_00)

    mes = (await client.get(url, params={"counting": "equal_shares"})).json()
    area_a = mes["areas"][0]
    # The minority's project is funded with equal shares; one of a1/a2 (the smaller id).
    first = min((scene.projects["a1"], scene.projects["a2"]), key=lambda p: str(p.id))
    assert _funded(area_a) == {first.title["it"], "b"}
    assert (area_a["spent"], area_a["left"]) == (90_00, 10_00)
    # Voting has closed: both counts are stored and served from there.
    stored = (await session.exec(select(BudgetResult.counting))).all()
    assert sorted(stored) == ["equal_shares", "greedy"]


async def test_results_public_only_in_the_results_phase(client, session):
    scene = await _election(client, session, counting="equal_shares")
    someone = await make_resident(session, scene.municipalities[0])
    await commit_setup(session)
    url = f"/v1/budgets/{scene.budget.id}/results"

    assert_problem(await client.get(url), 409, "results_not_published")
    assert_problem(await client.get(url, headers=bearer(someone)), 409, "results_not_published")
    assert_problem(await client.get(f"{url}.pb"), 409, "results_not_published")
    staff = await client.get(url, headers=bearer(scene.admin))
    assert staff.status_code == 200
    assert staff.json()["final"] is False
    assert staff.json()["counting"] == "equal_shares"
    # Counted live while voting is open: nothing stored.
    assert (await session.exec(select(BudgetResult))).all() == []


async def test_pabulib_export_recounts_to_the_same_outcome(client, session):
    scene = await _election(client, session, counting="equal_shares")
    await set_phase(session, scene.budget, "results")
    await commit_setup(session)
    results = (await client.get(f"/v1/budgets/{scene.budget.id}/results")).json()
    area_a = results["areas"][0]

    response = await client.get(
        f"/v1/budgets/{scene.budget.id}/results.pb", params={"area": str(scene.areas[0].id)}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    instance, profile = parse_pabulib_from_string(text)
    assert instance.budget_limit == 100_00
    assert {p.name for p in instance} == {str(p["id"]) for p in area_a["projects"]}
    assert profile.num_ballots() == 10
    assert instance.meta["rule"] == "equalshares"
    mes = method_of_equal_shares(
        instance, profile, sat_class=Cost_Sat, tie_breaking=CHEAPER_THEN_ID
    )
    recount = greedy_utilitarian_welfare(
        instance,
        profile,
        sat_class=Cost_Sat,
        tie_breaking=CHEAPER_THEN_ID,
        initial_budget_allocation=list(mes),
    )
    assert {p.name for p in recount} == {str(p["id"]) for p in area_a["projects"] if p["funded"]}
    # The export's own `selected` column says the same.
    selected = {p.name for p in instance if instance.project_meta[p]["selected"] == "1"}
    assert selected == {p.name for p in recount}
    # Anonymous: voter ids are 1..n, no account or key appears.
    votes = text.split("VOTES\n", 1)[1].splitlines()[1:]
    assert sorted(int(line.split(";")[0]) for line in votes) == list(range(1, 11))

    archive = await client.get(f"/v1/budgets/{scene.budget.id}/results.pb")
    assert archive.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(archive.content)) as z:
        names = z.namelist()
        assert len(names) == 2
        second = z.read(names[1]).decode()
    instance_b, profile_b = parse_pabulib_from_string(second)
    assert {p.name for p in instance_b} == {str(scene.projects["orto"].id)}
    assert profile_b.num_ballots() == 1


async def test_implementation_of_funded_projects_shows_on_plan_nodes(client, session):
    scene = await _election(client, session)
    plan, nodes = await make_plan(session, scene.org)
    scene.budget.plan_id = plan.id
    session.add(scene.budget)
    p = scene.projects
    session.add(BudgetProjectNode(project_id=p["orto"].id, node_id=nodes["1"].id))
    session.add(BudgetProjectNode(project_id=p["b"].id, node_id=nodes["1"].id))
    await commit_setup(session)
    orto = f"/v1/budget-projects/{p['orto'].id}"

    assert_problem(
        await client.patch(
            orto, json={"implementation_status": "planned"}, headers=bearer(scene.admin)
        ),
        409,
        "results_not_published",
    )
    await set_phase(session, scene.budget, "implementation")
    await commit_setup(session)
    # Greedy did not fund b.
    assert_problem(
        await client.patch(
            f"/v1/budget-projects/{p['b'].id}",
            json={"implementation_status": "planned"},
            headers=bearer(scene.admin),
        ),
        409,
        "not_funded",
    )
    response = await client.patch(
        orto,
        json={
            "implementation_status": "in_progress",
            "implementation_note": {"it": "Cantiere aperto."},
            "implementation_date": "2027-03-01",
        },
        headers=bearer(scene.admin),
    )
    assert response.status_code == 200, response.text
    assert response.json()["implementation_status"] == "in_progress"
    assert response.json()["implementation_updates"] == [
        {"status": "in_progress", "happened_on": "2027-03-01", "note": {"it": "Cantiere aperto."}}
    ]
    (update,) = (await session.exec(select(BudgetProjectUpdate))).all()
    assert update.created_by_id == scene.admin.id

    node = (await client.get(f"/v1/plan-nodes/{nodes['1'].id}")).json()
    assert node["budget_projects"] == [
        {
            "id": str(p["orto"].id),
            "budget_id": str(scene.budget.id),
            "title": {"it": "orto"},
            "cost": 30_00,
            "implementation_status": "in_progress",
            "last_update_on": "2027-03-01",
        }
    ]


async def test_open_data_rows_for_published_results(client, session):
    from app.services.budgets.open_data import budget_results_rows

    scene = await _election(client, session)
    assert await budget_results_rows(session, scene.org.id) == []
    await set_phase(session, scene.budget, "results")
    await commit_setup(session)
    rows = await budget_results_rows(session, scene.org.id)
    assert len(rows) == 4
    by_title = {r.project_title["it"]: r for r in rows}
    assert by_title["b"].votes == 4 and by_title["b"].funded is False
    assert by_title["orto"].area_name == "Area B" and by_title["orto"].funded is True
    assert {r.counting for r in rows} == {"greedy"}
    assert "voter" not in str([r.model_dump() for r in rows])


async def test_new_phases_drop_the_stored_count(client, session):
    scene = await _election(client, session)
    await set_phase(session, scene.budget, "results")
    await commit_setup(session)
    assert (await client.get(f"/v1/budgets/{scene.budget.id}/results")).status_code == 200
    assert len((await session.exec(select(BudgetResult))).all()) == 1

    reopened = await client.patch(
        f"/v1/budgets/{scene.budget.id}",
        json={"phases": phases_around("voting")},
        headers=bearer(scene.admin),
    )
    assert reopened.status_code == 200, reopened.text
    assert reopened.json()["voting_open"] is True
    assert (await session.exec(select(BudgetResult))).all() == []
