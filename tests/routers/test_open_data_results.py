"""Open data: budget and survey results, and a dataset streamed on the real request
session in chunks (server-side cursor, real commits)."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import col

from app.db import get_sessionmaker
from app.models.surveys import Survey
from app.services.open_data import tabular
from tests.factories import (
    commit_setup,
    make_org,
    make_proposal,
    make_table,
    make_user,
    read_csv,
    read_jsonl,
)
from tests.factories.budgets import ids, make_budget_scene, make_resident, set_phase
from tests.factories.surveys import answers_for, survey_body
from tests.helpers import bearer


def dataset_url(org_slug: str, dataset: str, ext: str = "csv") -> str:
    return f"/v1/organizations/{org_slug}/open-data/{dataset}.{ext}"


async def test_budget_results_once_published(client, session):
    scene = await make_budget_scene(session, projects={"orto": (0, 60_00), "parco": (0, 80_00)})
    voters = [await make_resident(session, scene.municipalities[0]) for _ in range(3)]
    await commit_setup(session)
    for voter in voters:
        r = await client.put(
            f"/v1/budgets/{scene.budget.id}/ballot",
            json={"project_ids": ids(scene.projects["orto"])},
            headers=bearer(voter),
        )
        assert r.status_code == 200, r.text
    during_voting = read_csv(await client.get(dataset_url(scene.org.slug, "budget-results")))
    assert during_voting == []
    await set_phase(session, scene.budget, "results")
    await commit_setup(session)
    rows = read_jsonl(await client.get(dataset_url(scene.org.slug, "budget-results", "jsonl")))
    by_title = {r["project_title"]: r for r in rows}
    assert set(by_title) == {"orto", "parco"}
    assert by_title["orto"]["votes"] == 3 and by_title["orto"]["funded"] is True
    assert by_title["parco"]["votes"] == 0 and by_title["orto"]["cost"] == 60_00
    assert all(str(v.id) not in str(rows) for v in voters)


async def _survey(client: httpx.AsyncClient, org_slug: str, admin, **overrides) -> dict[str, Any]:
    response = await client.post(
        f"/v1/organizations/{org_slug}/surveys",
        json=survey_body(**overrides),
        headers=bearer(admin),
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def _close(session, survey_id: str) -> None:
    await session.exec(
        update(Survey)
        .where(col(Survey.id) == uuid.UUID(survey_id))
        .values(
            opens_at=Survey.opens_at - timedelta(days=30),
            closes_at=datetime.now(UTC) - timedelta(seconds=1),
        )
    )
    await commit_setup(session)


async def test_survey_results_closed_public_surveys_aggregates_only(client, session):
    admin = await make_user(session)
    org = await make_org(session, admin=admin)
    people = [await make_user(session) for _ in range(3)]
    await commit_setup(session)
    published = await _survey(client, org.slug, admin)
    private_results = await _survey(client, org.slug, admin, results_public=False)
    still_open = await _survey(client, org.slug, admin)
    for survey in (published, private_results, still_open):
        for i, person in enumerate(people):
            answers = answers_for(survey, single=i % 2, scale=3 + i, text=f"segreto {i}")
            r = await client.post(
                f"/v1/surveys/{survey['id']}/responses", json=answers, headers=bearer(person)
            )
            assert r.status_code == 201, r.text
    await _close(session, published["id"])
    await _close(session, private_results["id"])
    response = await client.get(dataset_url(org.slug, "survey-results"))
    rows = read_csv(response)
    assert {r["survey_id"] for r in rows} == {published["id"]}
    assert "segreto" not in response.text
    single = [r for r in rows if r["question_kind"] == "single"]
    assert [(r["option_label"], r["count"]) for r in single] == [
        ("Autobus", "2"),
        ("Biblioteca", "1"),
        ("Anagrafe", "0"),
    ]
    scale = next(r for r in rows if r["question_kind"] == "scale")
    assert scale["count"] == "3" and scale["mean"] == "4" and scale["responses_count"] == "3"
    matrix = [r for r in rows if r["question_kind"] == "matrix"]
    assert [r["row_label"] for r in matrix] == ["Cortesia", "Tempi"]
    text = next(r for r in rows if r["question_kind"] == "text")
    assert text["count"] == "3" and text["distribution"] == ""


async def test_a_dataset_streams_in_chunks_on_the_real_request_session(
    committing_client, monkeypatch: pytest.MonkeyPatch
):
    """The real `get_session` (request scope: held while the body is sent), real commits,
    and chunks of 3 rows from the server-side cursor."""
    monkeypatch.setattr(tabular, "CHUNK_ROWS", 3)
    async with get_sessionmaker()() as session:
        owner = await make_user(session)
        org = await make_org(session, admin=owner)
        table = await make_table(session, org)
        for n in range(10):
            await make_proposal(session, table, owner, title=f"Proposta {n}")
        await session.commit()
    response = await committing_client.get(dataset_url(org.slug, "proposals"))
    assert response.status_code == 200, response.text
    rows = read_csv(response)
    assert sorted(r["title"] for r in rows) == [f"Proposta {n}" for n in range(10)]
    assert [r["id"] for r in rows] == sorted(r["id"] for r in rows)
    # The session went back to the pool: the next request is served as usual.
    again = await committing_client.get(dataset_url(org.slug, "proposals", "jsonl"))
    assert len(read_jsonl(again)) == 10
