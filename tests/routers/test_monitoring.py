"""Indicators, measurements and the progress report over HTTP (JSON and CSV)."""

import csv
import io
import uuid
from datetime import date, timedelta

from sqlmodel import col, select

from app.models.events import Event
from app.models.plans import PlanNode
from app.services.plans.plans import today_in_rome
from tests.factories import count_rows, import_document, make_org, make_user, small_document
from tests.helpers import assert_problem, auth_headers

CO2 = {
    "name": {"it": "Emissioni di CO₂ dei trasporti", "en": "Transport CO₂ emissions"},
    "unit": "kt CO₂/anno",
    "direction": "decrease",
    "baseline_value": 1450,
    "baseline_date": "2019-12-31",
    "target_value": 1100,
    "target_date": "2030-12-31",
}


async def _setup(session, **document_changes):
    admin = await make_user(session)
    org = await make_org(session, admin=admin)
    document = small_document(org.slug)
    document["plan"].update(document_changes)
    report = await import_document(session, document)
    ids = {
        n.code: str(n.id)
        for n in (
            await session.exec(select(PlanNode).where(col(PlanNode.plan_id) == report.plan_id))
        ).all()
    }
    return admin, org, report.plan_id, ids


async def test_admin_attaches_an_indicator_and_records_measurements(client, session):
    admin, org, plan_id, ids = await _setup(session)
    headers = await auth_headers(client, admin)

    created = await client.post(
        f"/v1/plan-nodes/{ids['A.1']}/indicators", headers=headers, json=CO2
    )
    assert created.status_code == 201, created.text
    indicator = created.json()
    assert indicator["direction"] == "decrease" and indicator["progress"] is None
    assert indicator["node_id"] == ids["A.1"] and indicator["organization_id"] == str(org.id)
    assert indicator["measurements_count"] == 0 and indicator["latest_measurement"] is None
    url = f"/v1/indicators/{indicator['id']}/measurements"
    for value, measured_on, source in (
        (1380, "2022-12-31", "ISPRA"),
        (1290, "2024-12-31", "ISPRA 2025"),
        (1400, "2021-12-31", None),  # recorded late, measured earlier
    ):
        response = await client.post(
            url,
            headers=headers,
            json={"value": value, "measured_on": measured_on, "source": source, "note": None},
        )
        assert response.status_code == 201, response.text
    assert response.json()["indicator_id"] == indicator["id"]

    shown = (await client.get(f"/v1/indicators/{indicator['id']}")).json()
    assert shown["measurements_count"] == 3
    assert shown["latest_measurement"]["value"] == 1290
    assert shown["latest_measurement"]["source"] == "ISPRA 2025"
    assert shown["progress"] == 45.7  # (1450 - 1290) / (1450 - 1100)

    first = (await client.get(f"{url}?limit=2")).json()
    second = (await client.get(f"{url}?limit=2&cursor={first['next_cursor']}")).json()
    assert [m["measured_on"] for m in first["items"] + second["items"]] == [
        "2024-12-31",
        "2022-12-31",
        "2021-12-31",
    ]
    assert second["next_cursor"] is None

    listed = (await client.get(f"/v1/plan-nodes/{ids['A.1']}/indicators")).json()["items"]
    assert [i["id"] for i in listed] == [indicator["id"]]
    node = (await client.get(f"/v1/plan-nodes/{ids['A.1']}")).json()
    assert node["indicators"][0]["progress"] == 45.7 and node["progress"] == 45.7
    assert node["indicators_count"] == 1
    parent = (await client.get(f"/v1/plan-nodes/{ids['A']}")).json()
    assert parent["progress"] == 45.7
    assert (await client.get(f"/v1/plans/{plan_id}")).json()["indicators_count"] == 1

    events = (
        await session.exec(
            select(Event.type, Event.actor_id, Event.payload).where(
                col(Event.organization_id) == org.id,
                col(Event.type).in_(["indicator.created", "measurement.recorded"]),
            )
        )
    ).all()
    assert [(t, a) for t, a, _ in events] == [("indicator.created", admin.id)] + [
        ("measurement.recorded", admin.id)
    ] * 3
    assert all(
        p["indicator_id"] == indicator["id"] for t, _, p in events if t != "indicator.created"
    )


async def test_indicator_and_measurement_input_is_checked(client, session):
    admin, _, _, ids = await _setup(session)
    headers = await auth_headers(client, admin)
    url = f"/v1/plan-nodes/{ids['A']}/indicators"
    before = await count_rows(session)
    for changes, field in (
        ({"target_value": 1500}, "target_value"),  # a decrease that rises
        ({"direction": "increase"}, "target_value"),  # an increase that falls
        ({"target_date": "2018-01-01"}, "target_date"),
        ({"name": {"en": "CO₂"}}, "name"),  # no Italian
        ({"weight": 0}, "weight"),
        ({"direction": "sideways"}, "direction"),
        ({"colour": "green"}, "colour"),
    ):
        problem = assert_problem(
            await client.post(url, headers=headers, json={**CO2, **changes}), 422
        )
        assert field in problem["errors"][0]["loc"], problem
    assert await count_rows(session) == before

    indicator = (await client.post(url, headers=headers, json=CO2)).json()
    tomorrow = str(today_in_rome() + timedelta(days=1))
    for body, field in (
        ({"value": 1, "measured_on": tomorrow}, "measured_on"),
        ({"value": 1, "measured_on": "2024-02-30"}, "measured_on"),
        ({"value": "molto", "measured_on": "2024-01-01"}, "value"),
        ({"measured_on": "2024-01-01"}, "value"),
    ):
        problem = assert_problem(
            await client.post(
                f"/v1/indicators/{indicator['id']}/measurements", headers=headers, json=body
            ),
            422,
        )
        assert field in problem["errors"][0]["loc"], problem


async def test_only_the_organizations_admins_write_indicators(client, session):
    admin, _, _, ids = await _setup(session)
    indicator = (
        await client.post(
            f"/v1/plan-nodes/{ids['A']}/indicators",
            headers=await auth_headers(client, admin),
            json=CO2,
        )
    ).json()
    other_admin = await make_user(session)
    await make_org(session, admin=other_admin)
    plain = await make_user(session)
    measurement = {"value": 1300, "measured_on": "2024-12-31"}
    before = await count_rows(session)

    for headers in (await auth_headers(client, other_admin), await auth_headers(client, plain)):
        assert_problem(
            await client.post(f"/v1/plan-nodes/{ids['A']}/indicators", headers=headers, json=CO2),
            404,
            "not_found",
        )
        assert_problem(
            await client.post(
                f"/v1/indicators/{indicator['id']}/measurements", headers=headers, json=measurement
            ),
            404,
            "not_found",
        )
    assert_problem(await client.post(f"/v1/plan-nodes/{ids['A']}/indicators", json=CO2), 401)
    assert_problem(
        await client.post(f"/v1/indicators/{indicator['id']}/measurements", json=measurement), 401
    )
    assert (await count_rows(session))["indicators"] == before["indicators"]
    assert (await count_rows(session))["indicator_measurements"] == 0
    assert_problem(await client.get(f"/v1/indicators/{uuid.uuid4()}"), 404)


async def test_draft_plan_indicators_are_hidden(client, session):
    admin, _, plan_id, ids = await _setup(session, status="draft")
    headers = await auth_headers(client, admin)
    indicator = (
        await client.post(f"/v1/plan-nodes/{ids['A']}/indicators", headers=headers, json=CO2)
    ).json()
    for path in (
        f"/v1/indicators/{indicator['id']}",
        f"/v1/indicators/{indicator['id']}/measurements",
        f"/v1/plans/{plan_id}/progress",
        f"/v1/plans/{plan_id}/progress?format=csv",
    ):
        assert_problem(await client.get(path), 404)
        assert (await client.get(path, headers=headers)).status_code == 200


async def test_progress_report_as_json_and_csv(client, session):
    nodes_changes = {
        "nodes": [
            {
                "code": "A",
                "kind": "axis",
                "title": {"it": "Mobilità, sostenibile", "en": "Sustainable mobility"},
                "children": [
                    {"code": "A.1", "kind": "objective", "title": {"it": 'Meno "CO₂"'}},
                    {"code": "A.2", "kind": "objective", "title": {"it": "=SOMMA(1;2)"}},
                ],
            },
            {"code": "B", "kind": "axis", "title": {"it": "Àmbito senza dati"}},
        ]
    }
    admin, _, plan_id, ids = await _setup(session, **nodes_changes)
    headers = await auth_headers(client, admin)
    co2 = (
        await client.post(f"/v1/plan-nodes/{ids['A.1']}/indicators", headers=headers, json=CO2)
    ).json()
    await client.post(
        f"/v1/indicators/{co2['id']}/measurements",
        headers=headers,
        json={"value": 1275, "measured_on": str(date(2024, 12, 31))},
    )

    report = (await client.get(f"/v1/plans/{plan_id}/progress")).json()
    assert report["progress"] == 50.0
    assert [(n["code"], n["progress"]) for n in report["nodes"]] == [
        ("A", 50.0),
        ("A.1", 50.0),
        ("A.2", None),
        ("B", None),
    ]
    assert report["nodes"][1]["indicators"][0]["latest_value"] == 1275

    response = await client.get(f"/v1/plans/{plan_id}/progress?format=csv")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        'attachment; filename="piano-prova-progress.csv"'
    )
    raw = response.content
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM spreadsheets look for
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == [
        "code",
        "kind",
        "depth",
        "parent_code",
        "title",
        "progress",
        "indicators",
        "measured_indicators",
    ]
    assert rows[1:] == [
        ["A", "axis", "0", "", "Mobilità, sostenibile", "50.0", "0", "0"],
        ["A.1", "objective", "1", "A", 'Meno "CO₂"', "50.0", "1", "1"],
        ["A.2", "objective", "1", "A", "'=SOMMA(1;2)", "", "0", "0"],
        ["B", "axis", "0", "", "Àmbito senza dati", "", "0", "0"],
    ]
    english = await client.get(f"/v1/plans/{plan_id}/progress?format=csv&locale=en")
    rows = list(csv.reader(io.StringIO(english.content.decode("utf-8-sig"))))
    assert [r[4] for r in rows[1:3]] == ["Sustainable mobility", 'Meno "CO₂"']
    # The Italian spreadsheet convention: semicolons between fields, decimal comma.
    italian = await client.get(f"/v1/plans/{plan_id}/progress?format=csv&delimiter=;")
    text = italian.content.decode("utf-8-sig")
    assert text.splitlines()[1] == "A;axis;0;;Mobilità, sostenibile;50,0;0;0"
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[2] == ["A.1", "objective", "1", "A", 'Meno "CO₂"', "50,0", "1", "1"]
    assert_problem(await client.get(f"/v1/plans/{plan_id}/progress?format=csv&delimiter=|"), 422)
    assert_problem(await client.get(f"/v1/plans/{plan_id}/progress?format=xlsx"), 422)


async def test_progress_csv_by_path_and_by_accept(client, session):
    _, _, plan_id, _ = await _setup(session)
    legacy = await client.get(f"/v1/plans/{plan_id}/progress?format=csv&delimiter=;")
    assert legacy.status_code == 200
    for response in (
        await client.get(f"/v1/plans/{plan_id}/progress.csv?delimiter=;"),
        await client.get(
            f"/v1/plans/{plan_id}/progress?delimiter=;", headers={"Accept": "text/csv"}
        ),
        await client.get(
            f"/v1/plans/{plan_id}/progress?delimiter=;",
            headers={"Accept": "application/json;q=0.5, text/csv"},
        ),
    ):
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "text/csv; charset=utf-8"
        assert response.headers["content-disposition"] == legacy.headers["content-disposition"]
        assert response.content == legacy.content
    for accept in (None, "*/*", "application/json", "text/csv;q=0.1, application/json"):
        headers = {"Accept": accept} if accept else {}
        report = await client.get(f"/v1/plans/{plan_id}/progress", headers=headers)
        assert report.headers["content-type"] == "application/json", accept
        assert set(report.json()) >= {"nodes", "progress"}
    assert_problem(await client.get(f"/v1/plans/{uuid.uuid4()}/progress.csv"), 404)
