"""What a service client's token may do: each scope's endpoints, 403 without the scope,
404 for another organization's objects, and never a person's endpoints."""

import uuid

from sqlmodel import col, select

from app.models.events import Event
from app.models.meetings import Meeting
from app.models.plans import Indicator, Measurement, Plan
from tests.factories import commit_setup, make_org, make_plan, make_table, make_user
from tests.factories.integrations import client_headers
from tests.helpers import assert_problem, bearer

INDICATOR = {
    "name": {"it": "Emissioni"},
    "unit": "t",
    "direction": "decrease",
    "baseline_value": 100,
    "baseline_date": "2024-01-01",
    "target_value": 50,
    "target_date": "2030-01-01",
}
MEETING = {
    "title": {"it": "Plenaria"},
    "kind": "plenary",
    "format": "in_person",
    "starts_at": "2030-04-28T16:00:00+02:00",
    "ends_at": "2030-04-28T18:00:00+02:00",
}


async def _two_orgs(session):
    admin = await make_user(session)
    org = await make_org(session, admin=admin)
    plan, nodes = await make_plan(session, org)
    table = await make_table(session, org)
    other = await make_org(session)
    other_plan, other_nodes = await make_plan(session, other)
    other_table = await make_table(session, other)
    await commit_setup(session)
    return admin, org, plan, nodes, table, other_plan, other_nodes, other_table


def _assert_insufficient(response, scope):
    body = assert_problem(response, 403, "insufficient_scope")
    assert response.headers["www-authenticate"] == (
        f'Bearer realm="consulta", error="insufficient_scope", scope="{scope}"'
    )
    assert body["scope"] == scope


async def test_plans_write_edits_plans_nodes_indicators_and_measurements(client, session):
    admin, org, plan, nodes, _, other_plan, other_nodes, _ = await _two_orgs(session)
    headers, created = await client_headers(client, admin, org, ["plans:write"])
    client_id = uuid.UUID(created["client_id"])

    edited = await client.patch(
        f"/v1/plans/{plan.id}", json={"title": {"it": "Nuovo titolo"}}, headers=headers
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["title"] == {"it": "Nuovo titolo"}
    node = await client.patch(
        f"/v1/plan-nodes/{nodes['1'].id}", json={"summary": {"it": "In breve"}}, headers=headers
    )
    assert node.status_code == 200, node.text
    indicator = await client.post(
        f"/v1/plan-nodes/{nodes['1'].id}/indicators", json=INDICATOR, headers=headers
    )
    assert indicator.status_code == 201, indicator.text
    measurement = await client.post(
        f"/v1/indicators/{indicator.json()['id']}/measurements",
        json={"value": 90, "measured_on": "2025-01-01"},
        headers=headers,
    )
    assert measurement.status_code == 201, measurement.text

    stored = await session.get(Indicator, uuid.UUID(indicator.json()["id"]))
    assert stored is not None and stored.created_by_id is None
    recorded = await session.get(Measurement, uuid.UUID(measurement.json()["id"]))
    assert recorded is not None and recorded.recorded_by_id is None
    events = (
        await session.exec(
            select(Event.type, Event.actor_id, Event.actor_client_id)
            .where(col(Event.organization_id) == org.id, col(Event.actor_client_id).is_not(None))
            .order_by(col(Event.seq))
        )
    ).all()
    assert [(t, a, c) for t, a, c in events] == [
        ("plan.updated", None, client_id),
        ("plan_node.updated", None, client_id),
        ("indicator.created", None, client_id),
        ("measurement.recorded", None, client_id),
    ]

    # Another organization's objects do not exist for this client.
    assert_problem(
        await client.patch(
            f"/v1/plans/{other_plan.id}", json={"title": {"it": "x"}}, headers=headers
        ),
        404,
    )
    assert_problem(
        await client.post(
            f"/v1/plan-nodes/{other_nodes['1'].id}/indicators", json=INDICATOR, headers=headers
        ),
        404,
    )
    plan_row = await session.get(Plan, other_plan.id)
    assert plan_row is not None and plan_row.title == {"it": "Piano strategico"}


async def test_plans_write_imports_into_its_own_organization_only(client, session):
    admin, org, _, _, _, _, _, _ = await _two_orgs(session)
    headers, _ = await client_headers(client, admin, org, ["plans:write"])
    document = {
        "format": "consulta.plan/v1",
        "organization": {"slug": org.slug, "name": "Test Organization"},
        "plan": {
            "slug": "psm-import",
            "title": {"it": "Piano importato"},
            "status": "consultation",
            "levels": ["axis"],
            "nodes": [{"code": "1", "kind": "axis", "title": {"it": "Asse"}}],
        },
    }
    response = await client.post("/v1/plans/import", json=document, headers=headers)
    assert response.status_code == 201, response.text
    elsewhere = {**document, "organization": {"slug": "nuova-org", "name": "Nuova"}}
    assert_problem(await client.post("/v1/plans/import", json=elsewhere, headers=headers), 404)


async def test_meetings_write_schedules_and_edits_meetings_of_its_tables(client, session):
    admin, org, _, _, table, _, _, other_table = await _two_orgs(session)
    headers, created = await client_headers(client, admin, org, ["meetings:write"])
    response = await client.post(f"/v1/tables/{table.id}/meetings", json=MEETING, headers=headers)
    assert response.status_code == 201, response.text
    meeting_id = uuid.UUID(response.json()["id"])
    cancelled = await client.patch(
        f"/v1/meetings/{meeting_id}", json={"status": "cancelled"}, headers=headers
    )
    assert cancelled.status_code == 200, cancelled.text
    meeting = await session.get(Meeting, meeting_id)
    assert meeting is not None and meeting.status == "cancelled" and meeting.created_by_id is None
    types = (
        await session.exec(
            select(Event.type).where(
                col(Event.subject_id) == meeting_id,
                col(Event.actor_client_id) == uuid.UUID(created["client_id"]),
            )
        )
    ).all()
    assert sorted(types) == ["meeting.cancelled", "meeting.created"]
    assert_problem(
        await client.post(f"/v1/tables/{other_table.id}/meetings", json=MEETING, headers=headers),
        404,
    )


async def test_a_token_without_the_scope_is_403_insufficient_scope(client, session):
    admin, org, plan, nodes, table, _, _, _ = await _two_orgs(session)
    headers, _ = await client_headers(client, admin, org, ["changes:read"])
    _assert_insufficient(
        await client.patch(f"/v1/plans/{plan.id}", json={"title": {"it": "x"}}, headers=headers),
        "plans:write",
    )
    _assert_insufficient(
        await client.post(
            f"/v1/plan-nodes/{nodes['1'].id}/indicators", json=INDICATOR, headers=headers
        ),
        "plans:write",
    )
    _assert_insufficient(
        await client.post(f"/v1/tables/{table.id}/meetings", json=MEETING, headers=headers),
        "meetings:write",
    )
    _assert_insufficient(
        await client.get(f"/v1/organizations/{org.slug}/webhooks", headers=headers),
        "webhooks:manage",
    )
    writer, _ = await client_headers(client, admin, org, ["plans:write"])
    _assert_insufficient(
        await client.get(f"/v1/organizations/{org.slug}/changes", headers=writer), "changes:read"
    )
    assert (
        await client.get(f"/v1/organizations/{org.slug}/changes", headers=headers)
    ).status_code == 200


async def test_a_client_token_is_not_a_person(client, session):
    admin, org, _, _, table, _, _, _ = await _two_orgs(session)
    headers, _ = await client_headers(client, admin, org, ["changes:read", "meetings:write"])
    assert_problem(await client.get("/v1/me", headers=headers), 401)
    assert_problem(
        await client.get(f"/v1/organizations/{org.slug}/api-clients", headers=headers), 401
    )
    # And a person's token is no client's: the admin still uses the scoped endpoints.
    response = await client.post(
        f"/v1/tables/{table.id}/meetings", json=MEETING, headers=bearer(admin)
    )
    assert response.status_code == 201


async def test_the_feed_and_webhooks_of_another_organization_are_404(client, session):
    admin, org, _, _, _, _, _, _ = await _two_orgs(session)
    other_admin = await make_user(session)
    other = await make_org(session, admin=other_admin)
    await commit_setup(session)
    headers, _ = await client_headers(client, admin, org, ["changes:read", "webhooks:manage"])
    assert_problem(
        await client.get(f"/v1/organizations/{other.slug}/changes", headers=headers), 404
    )
    assert_problem(
        await client.get(f"/v1/organizations/{other.slug}/webhooks", headers=headers), 404
    )
    created = await client.post(
        f"/v1/organizations/{other.slug}/webhooks",
        json={"url": "https://93.184.215.14/hook", "event_types": ["*"]},
        headers=bearer(other_admin),
    )
    assert created.status_code == 201, created.text
    assert_problem(await client.get(f"/v1/webhooks/{created.json()['id']}", headers=headers), 404)
    # A person who is no admin of the organization: 404 too.
    stranger = await make_user(session)
    await commit_setup(session)
    assert_problem(
        await client.get(f"/v1/organizations/{org.slug}/changes", headers=bearer(stranger)), 404
    )
