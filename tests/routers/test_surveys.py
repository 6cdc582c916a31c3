"""Surveys: creation and checks of every question kind, answers validated per kind,
questions frozen after the first response, audiences, results (scale and NPS on known
data), hiding abusive text, and one response per person under concurrency."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlmodel import col, select

from app.db import get_sessionmaker
from app.models.events import Event
from app.models.surveys import Survey, SurveyAnswer, SurveyParticipation, SurveyResponse
from app.services.surveys.results import survey_results_aggregates
from tests.factories import add_member, commit_setup, make_org, make_table, make_user
from tests.factories.surveys import answers_for, iso, survey_body
from tests.helpers import assert_problem, bearer


async def _setup(session, **body):
    admin = await make_user(session)
    org = await make_org(session, admin=admin)
    await commit_setup(session)
    return admin, org


async def _create(client, org, admin, **overrides):
    response = await client.post(
        f"/v1/organizations/{org.slug}/surveys",
        json=survey_body(**overrides),
        headers=bearer(admin),
    )
    assert response.status_code == 201, response.text
    return response.json()


async def _close(session, survey_id):
    await session.exec(
        update(Survey)
        .where(col(Survey.id) == survey_id)
        .values(
            opens_at=Survey.opens_at - timedelta(days=30),
            closes_at=datetime.now(UTC) - timedelta(seconds=1),
        )
    )
    await commit_setup(session)


async def test_an_admin_creates_a_survey_with_every_kind(client, session):
    admin, org = await _setup(session)
    survey = await _create(client, org, admin)
    assert survey["status"] == "open" and survey["questions_frozen"] is False
    kinds = [q["kind"] for q in survey["questions"]]
    assert kinds == ["single", "multiple", "scale", "nps", "text", "matrix"]
    q = {item["kind"]: item for item in survey["questions"]}
    assert len(q["single"]["options"]) == 3 and all(o["id"] for o in q["single"]["options"])
    assert q["multiple"]["max_choices"] == 2
    assert (q["nps"]["min"], q["nps"]["max"]) == (0, 10)
    assert q["scale"]["labels"]["5"] == {"it": "Moltissimo"}
    assert q["text"]["max_length"] == 50
    assert [r["label"]["it"] for r in q["matrix"]["rows"]] == ["Cortesia", "Tempi"]
    listed = await client.get(f"/v1/organizations/{org.slug}/surveys")
    assert [s["id"] for s in listed.json()["items"]] == [survey["id"]]
    row = await session.get(Survey, survey["id"])
    assert row is not None and row.organization_id == org.id
    # Strangers may not create one.
    stranger = await make_user(session)
    await commit_setup(session)
    refused = await client.post(
        f"/v1/organizations/{org.slug}/surveys", json=survey_body(), headers=bearer(stranger)
    )
    assert_problem(refused, 404)


async def test_questionnaires_are_checked_with_every_problem_named(client, session):
    admin, org = await _setup(session)
    bad = [
        {"kind": "single", "text": {"it": "Una?"}, "options": [{"it": "Sola"}]},
        {
            "kind": "single",
            "text": {"it": "Due?"},
            "options": [{"it": "A"}, {"it": "B"}],
            "max_choices": 2,
        },
        {
            "kind": "multiple",
            "text": {"it": "Tre?"},
            "options": [{"it": "A"}, {"it": "B"}],
            "max_choices": 3,
        },
        {"kind": "scale", "text": {"it": "Scala?"}, "min": 5, "max": 1},
        {"kind": "nps", "text": {"it": "NPS?"}, "min": 1, "max": 5},
        {"kind": "matrix", "text": {"it": "Matrice?"}},
        {"kind": "text", "text": {"it": "Testo?"}, "options": [{"it": "x"}, {"it": "y"}]},
        {"kind": "scale", "text": {"it": "Etichette?"}, "labels": {"9": {"it": "fuori"}}},
    ]
    response = await client.post(
        f"/v1/organizations/{org.slug}/surveys",
        json=survey_body(questions=bad),
        headers=bearer(admin),
    )
    body = assert_problem(response, 422, "invalid_questions")
    codes = {(e["loc"][2], e["code"]) for e in body["errors"]}
    assert codes == {
        (0, "too_few_options"),
        (1, "field_not_allowed"),
        (2, "max_choices_too_high"),
        (3, "invalid_range"),
        (4, "nps_range"),
        (5, "too_few_rows"),
        (6, "field_not_allowed"),
        (7, "unknown_scale_value"),
    }
    missing_locale = await client.post(
        f"/v1/organizations/{org.slug}/surveys",
        json=survey_body(title={"en": "Only English"}),
        headers=bearer(admin),
    )
    assert_problem(missing_locale, 422, "missing_default_locale")
    assert (await session.exec(select(Survey))).all() == []


async def test_answers_are_validated_per_kind(client, session):
    admin, org = await _setup(session)
    survey = await _create(client, org, admin)
    person = await make_user(session)
    await commit_setup(session)
    q = {item["kind"]: item for item in survey["questions"]}
    url = f"/v1/surveys/{survey['id']}/responses"
    foreign = "00000000-0000-4000-8000-000000000000"
    answers = [
        # single: two options.
        {
            "question_id": q["single"]["id"],
            "option_ids": [o["id"] for o in q["single"]["options"][:2]],
        },
        # multiple: over max_choices.
        {
            "question_id": q["multiple"]["id"],
            "option_ids": [o["id"] for o in q["multiple"]["options"]],
        },
        # scale: out of range.
        {"question_id": q["scale"]["id"], "value": 6},
        # nps: wrong shape (text).
        {"question_id": q["nps"]["id"], "text": "dieci"},
        # text: too long.
        {"question_id": q["text"]["id"], "text": "x" * 51},
        # matrix: unknown row.
        {"question_id": q["matrix"]["id"], "rows": [{"row_id": foreign, "value": 2}]},
        # not a question of this survey.
        {"question_id": foreign, "value": 1},
    ]
    response = await client.post(url, json={"answers": answers}, headers=bearer(person))
    body = assert_problem(response, 422, "invalid_answers")
    found = {(e["loc"][2] if len(e["loc"]) > 2 else None, e["code"]) for e in body["errors"]}
    assert found == {
        (0, "single_choice"),
        (1, "too_many_choices"),
        (2, "value_out_of_range"),
        (3, "wrong_answer_shape"),
        (4, "text_too_long"),
        (5, "unknown_row"),
        (6, "unknown_question"),
    }
    # Required questions left out are named one by one.
    missing = await client.post(url, json={"answers": []}, headers=bearer(person))
    body = assert_problem(missing, 422, "invalid_answers")
    required = {e["question_id"] for e in body["errors"] if e["code"] == "required_question"}
    assert required == {q[k]["id"] for k in ("single", "scale", "nps", "matrix")}
    # A required matrix wants every row.
    partial = answers_for(survey)
    partial["answers"][5]["rows"] = partial["answers"][5]["rows"][:1]
    body = assert_problem(await client.post(url, json=partial, headers=bearer(person)), 422)
    assert [e["code"] for e in body["errors"]] == ["rows_missing"]
    assert (await session.exec(select(SurveyResponse))).all() == []
    assert (await session.exec(select(SurveyParticipation))).all() == []
    # A valid response is stored, once.
    ok = await client.post(url, json=answers_for(survey), headers=bearer(person))
    assert ok.status_code == 201, ok.text
    assert ok.json()["responses_count"] == 1 and ok.json()["response_id"]
    again = await client.post(url, json=answers_for(survey), headers=bearer(person))
    assert_problem(again, 409, "already_responded")
    stored = (await session.exec(select(SurveyResponse))).all()
    assert [r.user_id for r in stored] == [person.id]
    values = (await session.exec(select(SurveyAnswer))).all()
    # single 1 + multiple 1 + scale 1 + nps 1 + text 1 + matrix 2.
    assert len(values) == 7


async def test_questions_freeze_after_the_first_response(client, session):
    admin, org = await _setup(session)
    survey = await _create(client, org, admin)
    person = await make_user(session)
    await commit_setup(session)
    new_questions = {"questions": [{"kind": "nps", "text": {"it": "Ancora?"}}]}
    changed = await client.patch(
        f"/v1/surveys/{survey['id']}", json=new_questions, headers=bearer(admin)
    )
    assert changed.status_code == 200, changed.text
    assert [q["kind"] for q in changed.json()["questions"]] == ["nps"]
    nps = changed.json()["questions"][0]["id"]
    answered = await client.post(
        f"/v1/surveys/{survey['id']}/responses",
        json={"answers": [{"question_id": nps, "value": 10}]},
        headers=bearer(person),
    )
    assert answered.status_code == 201, answered.text
    frozen = await client.patch(
        f"/v1/surveys/{survey['id']}", json=survey_body(), headers=bearer(admin)
    )
    assert frozen.status_code == 422  # extra fields (closes_at etc. are fine, anonymous not)
    frozen = await client.patch(
        f"/v1/surveys/{survey['id']}", json=new_questions, headers=bearer(admin)
    )
    assert_problem(frozen, 409, "questions_frozen")
    retitled = await client.patch(
        f"/v1/surveys/{survey['id']}", json={"title": {"it": "Nuovo titolo"}}, headers=bearer(admin)
    )
    assert retitled.status_code == 200 and retitled.json()["questions_frozen"] is True
    assert [q["id"] for q in retitled.json()["questions"]] == [nps]


async def test_the_window_and_the_audience(client, session):
    admin, org = await _setup(session)
    table = await make_table(session, org)
    member = await make_user(session)
    await add_member(session, table, member)
    outsider = await make_user(session)
    unverified = await make_user(session, verified=False)
    await commit_setup(session)
    members_only = await _create(
        client,
        org,
        admin,
        audience="members",
        table_id=str(table.id),
        questions=[{"kind": "nps", "text": {"it": "NPS"}}],
    )
    verified_only = await _create(
        client, org, admin, audience="verified", questions=[{"kind": "nps", "text": {"it": "N"}}]
    )
    upcoming = await _create(
        client,
        org,
        admin,
        opens_at=iso(timedelta(days=1)),
        questions=[{"kind": "nps", "text": {"it": "N"}}],
    )

    def answer(s):
        return {"answers": [{"question_id": s["questions"][0]["id"], "value": 7}]}

    url = "/v1/surveys/{}/responses"
    refused = await client.post(
        url.format(members_only["id"]), json=answer(members_only), headers=bearer(outsider)
    )
    assert_problem(refused, 403, "not_a_member")
    ok = await client.post(
        url.format(members_only["id"]), json=answer(members_only), headers=bearer(member)
    )
    assert ok.status_code == 201, ok.text
    refused = await client.post(
        url.format(verified_only["id"]), json=answer(verified_only), headers=bearer(unverified)
    )
    assert_problem(refused, 403, "email_not_verified")
    early = await client.post(
        url.format(upcoming["id"]), json=answer(upcoming), headers=bearer(member)
    )
    assert_problem(early, 409, "survey_not_open")
    signed_out = await client.post(url.format(upcoming["id"]), json=answer(upcoming))
    assert_problem(signed_out, 401)
    # A private table's survey is not found by outsiders.
    private = await make_table(session, org, visibility="private")
    await commit_setup(session)
    hidden = await _create(
        client,
        org,
        admin,
        table_id=str(private.id),
        questions=[{"kind": "nps", "text": {"it": "N"}}],
    )
    assert_problem(await client.get(f"/v1/surveys/{hidden['id']}", headers=bearer(outsider)), 404)
    listed = await client.get(f"/v1/organizations/{org.slug}/surveys", headers=bearer(outsider))
    assert hidden["id"] not in {s["id"] for s in listed.json()["items"]}


async def test_results_on_known_data(client, session):
    admin, org = await _setup(session)
    survey = await _create(client, org, admin)
    people = [await make_user(session) for _ in range(5)]
    await commit_setup(session)
    url = f"/v1/surveys/{survey['id']}/responses"
    # NPS: 10, 9 (promoters), 8 (passive), 3, 6 (detractors) -> (2 - 2) / 5 = 0.
    # Scale: 1, 2, 4, 5, 5 -> mean 3.4, median 4.
    data = [
        dict(single=0, multiple=[0, 1], scale=1, nps=10, text="ottimo", matrix=[4, 1]),
        dict(single=0, multiple=[1], scale=2, nps=9, text="brutte parole", matrix=[4, 2]),
        dict(single=1, multiple=[1, 2], scale=4, nps=8, text="più orari", matrix=[3, 3]),
        dict(single=2, multiple=[0], scale=5, nps=3, text="bene", matrix=[1, 4]),
        dict(single=0, multiple=[2], scale=5, nps=6, text="così così", matrix=[2, 4]),
    ]
    for person, choice in zip(people, data, strict=True):
        response = await client.post(
            url, json=answers_for(survey, **choice), headers=bearer(person)
        )
        assert response.status_code == 201, response.text
    # Open and not staff: not visible yet.
    early = await client.get(f"/v1/surveys/{survey['id']}/results", headers=bearer(people[0]))
    assert_problem(early, 403, "results_not_visible")
    staff = await client.get(f"/v1/surveys/{survey['id']}/results", headers=bearer(admin))
    assert staff.status_code == 200, staff.text
    results = {r["kind"]: r for r in staff.json()["questions"]}
    assert staff.json()["responses_count"] == 5
    assert [o["count"] for o in results["single"]["options"]] == [3, 1, 1]
    assert [o["count"] for o in results["multiple"]["options"]] == [2, 3, 2]
    scale = results["scale"]
    assert scale["count"] == 5 and scale["mean"] == 3.4 and scale["median"] == 4
    assert scale["distribution"] == {"1": 1, "2": 1, "3": 0, "4": 1, "5": 2}
    nps = results["nps"]
    assert nps["nps"] == 0 and (nps["promoters"], nps["passives"], nps["detractors"]) == (2, 1, 2)
    assert nps["mean"] == 7.2 and nps["median"] == 8
    rows = results["matrix"]["rows"]
    assert rows[0]["mean"] == 2.8 and rows[0]["median"] == 3
    assert rows[1]["distribution"] == {"1": 1, "2": 1, "3": 1, "4": 2}
    assert results["text"]["texts_count"] == 5
    assert results["multiple"]["count"] == 5 and results["matrix"]["count"] == 5
    # The open-data view: the same aggregates, never free text.
    aggregates = await survey_results_aggregates(session, uuid.UUID(survey["id"]))
    by_kind = {r.kind: r for r in aggregates.questions}
    assert by_kind["nps"].nps == 0 and by_kind["scale"].mean == 3.4
    assert by_kind["text"].texts == [] and by_kind["text"].texts_count is None
    assert "brutte parole" not in aggregates.model_dump_json()
    # A moderator hides an abusive answer: gone from public results, flagged for staff.
    abusive = next(t for t in results["text"]["texts"] if t["text"] == "brutte parole")
    hidden = await client.patch(
        f"/v1/survey-answers/{abusive['id']}", json={"hidden": True}, headers=bearer(admin)
    )
    assert hidden.status_code == 200 and hidden.json()["hidden"] is True
    refused = await client.patch(
        f"/v1/survey-answers/{abusive['id']}", json={"hidden": False}, headers=bearer(people[0])
    )
    assert_problem(refused, 404)
    row = await session.get(SurveyAnswer, abusive["id"])
    assert row is not None and row.hidden is True
    await _close(session, survey["id"])
    public = await client.get(f"/v1/surveys/{survey['id']}/results")
    assert public.status_code == 200, public.text
    texts = {r["kind"]: r for r in public.json()["questions"]}["text"]
    assert "brutte parole" not in {t["text"] for t in texts["texts"]}
    assert texts["texts_count"] == 4
    staff = await client.get(f"/v1/surveys/{survey['id']}/results", headers=bearer(admin))
    staff_texts = {r["kind"]: r for r in staff.json()["questions"]}["text"]["texts"]
    assert {"text": "brutte parole", "hidden": True} in [
        {"text": t["text"], "hidden": t["hidden"]} for t in staff_texts
    ]


async def test_anonymous_answers_are_not_linked_to_the_person(client, session):
    admin, org = await _setup(session)
    survey = await _create(client, org, admin, anonymous=True)
    person = await make_user(session)
    await commit_setup(session)
    response = await client.post(
        f"/v1/surveys/{survey['id']}/responses",
        json=answers_for(survey, text="risposta segreta"),
        headers=bearer(person),
    )
    assert response.status_code == 201, response.text
    assert response.json()["response_id"] is None and response.json()["anonymous"] is True
    stored = (await session.exec(select(SurveyResponse))).all()
    assert len(stored) == 1 and stored[0].user_id is None and stored[0].submitted_at is None
    participation = (await session.exec(select(SurveyParticipation))).all()
    assert [p.user_id for p in participation] == [person.id]
    # No event links the person to the response.
    events = (await session.exec(select(Event).where(col(Event.type) == "survey.responded"))).all()
    assert len(events) == 1 and str(stored[0].id) not in str(events[0].payload)
    # The CSV has neither the person nor a time; the person's export neither the answers.
    csv = await client.get(f"/v1/surveys/{survey['id']}/responses", headers=bearer(admin))
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.lstrip("\ufeff").strip().splitlines()
    assert len(lines) == 2 and "respondent_id" not in lines[0]
    assert str(person.id) not in csv.text and str(stored[0].id) not in csv.text
    assert "risposta segreta" in lines[1]
    export = await client.get("/v1/me/export", headers=bearer(person))
    assert export.status_code == 200, export.text
    assert "risposta segreta" not in export.text
    assert survey["id"] in export.text  # that they answered, only
    # The CSV is for staff only.
    assert_problem(
        await client.get(f"/v1/surveys/{survey['id']}/responses", headers=bearer(person)), 403
    )


async def test_named_survey_csv_and_export(client, session):
    admin, org = await _setup(session)
    survey = await _create(client, org, admin)
    person = await make_user(session)
    await commit_setup(session)
    await client.post(
        f"/v1/surveys/{survey['id']}/responses",
        json=answers_for(survey, text="con il mio nome", multiple=[0, 2]),
        headers=bearer(person),
    )
    csv = await client.get(f"/v1/surveys/{survey['id']}/responses", headers=bearer(admin))
    lines = csv.text.lstrip("\ufeff").strip().splitlines()
    assert lines[0].startswith("response_id,respondent_id,submitted_at,Q1 ")
    assert str(person.id) in lines[1] and "Orari; Pulizia" in lines[1]
    export = await client.get("/v1/me/export", headers=bearer(person))
    assert "con il mio nome" in export.text


async def test_one_response_each_under_concurrency(committing_client):
    async with get_sessionmaker()() as setup:
        admin = await make_user(setup)
        org = await make_org(setup, admin=admin)
        person = await make_user(setup)
        others = [await make_user(setup) for _ in range(8)]
        await setup.commit()
    created = await committing_client.post(
        f"/v1/organizations/{org.slug}/surveys",
        json=survey_body(anonymous=True),
        headers=bearer(admin),
    )
    assert created.status_code == 201, created.text
    survey = created.json()
    url = f"/v1/surveys/{survey['id']}/responses"
    same = await asyncio.gather(
        *(
            committing_client.post(url, json=answers_for(survey), headers=bearer(person))
            for _ in range(8)
        )
    )
    statuses = sorted(r.status_code for r in same)
    assert statuses == [201] + [409] * 7, [r.text for r in same]
    crowd = await asyncio.gather(
        *(
            committing_client.post(url, json=answers_for(survey, nps=i), headers=bearer(p))
            for i, p in enumerate(others)
        )
    )
    assert [r.status_code for r in crowd] == [201] * 8
    async with get_sessionmaker()() as check:
        row = await check.get(Survey, survey["id"])
        assert row is not None and row.responses_count == 9
        responses = (
            await check.exec(select(SurveyResponse).where(col(SurveyResponse.survey_id) == row.id))
        ).all()
        assert len(responses) == 9
        participations = (
            await check.exec(
                select(SurveyParticipation).where(col(SurveyParticipation.survey_id) == row.id)
            )
        ).all()
        assert len(participations) == 9


async def test_a_facilitator_runs_a_survey_of_their_table(client, session):
    _admin, org = await _setup(session)
    table = await make_table(session, org)
    facilitator = await make_user(session)
    await add_member(session, table, facilitator, role="facilitator")
    other_org = await make_org(session)
    other_table = await make_table(session, other_org)
    await add_member(session, other_table, facilitator, role="facilitator")
    await commit_setup(session)
    url = f"/v1/organizations/{org.slug}/surveys"
    created = await client.post(
        url, json=survey_body(table_id=str(table.id)), headers=bearer(facilitator)
    )
    assert created.status_code == 201, created.text
    survey = created.json()
    # Not for the organization as a whole, nor with another organization's table.
    assert_problem(await client.post(url, json=survey_body(), headers=bearer(facilitator)), 404)
    wrong = await client.post(
        url, json=survey_body(table_id=str(other_table.id)), headers=bearer(facilitator)
    )
    assert_problem(wrong, 404)
    # Staff of this survey: results and the CSV.
    results = await client.get(f"/v1/surveys/{survey['id']}/results", headers=bearer(facilitator))
    assert results.status_code == 200 and results.json()["responses_count"] == 0
    listed = await client.get(url, headers=bearer(facilitator))
    assert [s["results_visible"] for s in listed.json()["items"]] == [True]
    rows = (await session.exec(select(Survey).where(col(Survey.organization_id) == org.id))).all()
    assert [r.table_id for r in rows] == [table.id]
