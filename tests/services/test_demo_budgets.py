"""The demo participatory budget: Bari and Altamura, a dozen projects, voting open, some
ballots; a demo resident votes within their area's budget."""

from sqlmodel import col, func, select

from app.demo.budgets import SLUG, TRY_IT
from app.demo.seed import seed_demo
from app.models.budgets import Budget, BudgetArea, BudgetBallot, BudgetProject, BudgetVoter
from app.services.accounts.people import find_user_by_email
from tests.factories import commit_setup
from tests.helpers import bearer


async def test_demo_budget_is_in_its_voting_phase_and_idempotent(client, session):
    report = await seed_demo(session)
    assert any(line.startswith("budget cm-bari/") and "created" in line for line in report)
    budget = (await session.exec(select(Budget).where(col(Budget.slug) == SLUG))).one()
    again = await seed_demo(session)
    assert f"budget cm-bari/{SLUG}: present" in again
    assert len((await session.exec(select(Budget))).all()) == 1
    areas = (await session.exec(select(BudgetArea.name))).all()
    assert sorted(areas) == ["Altamura", "Bari"]
    projects = (await session.exec(select(BudgetProject))).all()
    assert len(projects) == 12
    assert sum(p.feasibility == "feasible" for p in projects) == 10
    ballots = (await session.exec(select(func.count()).select_from(BudgetBallot))).one()
    voters = (await session.exec(select(func.count()).select_from(BudgetVoter))).one()
    assert ballots == voters > 10
    person = await find_user_by_email(session, TRY_IT)
    assert person is not None
    await commit_setup(session)

    shown = (await client.get(f"/v1/budgets/{budget.id}")).json()
    assert shown["current_phase"] == "voting" and shown["voting_open"] is True
    bari = next(
        a
        for a in (await client.get(f"/v1/budgets/{budget.id}/areas")).json()["items"]
        if a["name"] == "Bari"
    )
    on_ballot = (
        await client.get(
            f"/v1/budgets/{budget.id}/projects",
            params={"area_id": bari["id"], "on_ballot": "true", "limit": 100},
        )
    ).json()["items"]
    chosen, spent = [], 0
    for project in sorted(on_ballot, key=lambda p: -p["cost"]):
        if spent + project["cost"] <= bari["amount"]:
            chosen.append(project["id"])
            spent += project["cost"]
    response = await client.put(
        f"/v1/budgets/{budget.id}/ballot", json={"project_ids": chosen}, headers=bearer(person)
    )
    assert response.status_code == 200, response.text
    staff = await find_user_by_email(session, "admin.bari@consulta.demo")
    assert staff is not None
    results = await client.get(f"/v1/budgets/{budget.id}/results", headers=bearer(staff))
    assert results.status_code == 200
    assert results.json()["counting"] == "equal_shares"
    assert sum(a["ballots_count"] for a in results.json()["areas"]) == ballots + 1
