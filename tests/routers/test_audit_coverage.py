"""Administration actions reach the audit log: each one, done through the API by the
person allowed to, shows up in `GET /v1/organizations/{org}/audit-log` (found with
`?target_id=`), with ids and field names only, and is on the event spine exactly once
(the audit's event is the action's event, not a second one)."""

import uuid
from typing import Any

from sqlmodel import col, select

from app.models.events import Event
from app.models.tables import TableMembership
from tests.factories import (
    add_member,
    commit_setup,
    make_meeting,
    make_org,
    make_proposal,
    make_scene,
    make_table,
    make_user,
    small_document,
)
from tests.helpers import bearer


async def audited(
    client, session, org, reader, target_id: Any, action: str, actor_id: Any
) -> dict[str, Any]:
    """The one audit row of `action` on `target_id`, as an organization admin reads it,
    checked against its one event."""
    response = await client.get(
        f"/v1/organizations/{org.slug}/audit-log",
        params={"target_id": str(target_id)},
        headers=bearer(reader),
    )
    assert response.status_code == 200, response.text
    rows = [row for row in response.json()["items"] if row["action"] == action]
    assert len(rows) == 1, response.json()
    row: dict[str, Any] = rows[0]
    assert row["actor_id"] == str(actor_id) and row["organization_id"] == str(org.id)
    assert row["target_id"] == str(target_id)
    events = (
        await session.exec(
            select(Event).where(
                col(Event.type) == action, col(Event.subject_id) == uuid.UUID(str(target_id))
            )
        )
    ).all()
    assert len(events) == 1
    assert events[0].payload["audit_id"] == row["id"] and "reason" not in events[0].payload
    return row


async def test_roles_granted_and_revoked_both_ways(client, session):
    admin = await make_user(session)
    org = await make_org(session, admin=admin)
    colleague = await make_user(session, name="Collega")
    second = await make_user(session, name="Seconda")
    await commit_setup(session)
    url = f"/v1/organizations/{org.slug}/roles"
    granted = await client.post(url, json={"user_id": str(colleague.id)}, headers=bearer(admin))
    assert granted.status_code == 201, granted.text
    role_id = granted.json()["id"]
    row = await audited(
        client, session, org, admin, colleague.id, "organization.role_assigned", admin.id
    )
    assert row["data"] == {"role": "admin", "role_id": role_id}

    revoked = await client.request(
        "DELETE", url, json={"user_id": str(colleague.id)}, headers=bearer(admin)
    )
    assert revoked.status_code == 204, revoked.text
    row = await audited(
        client, session, org, admin, colleague.id, "organization.role_revoked", admin.id
    )
    assert row["data"] == {"role": "admin", "role_id": role_id}

    # The other path: revoking a role assignment by its id.
    granted = await client.post(url, json={"user_id": str(second.id)}, headers=bearer(admin))
    role_id = granted.json()["id"]
    assert (await client.delete(f"{url}/{role_id}", headers=bearer(admin))).status_code == 204
    row = await audited(
        client, session, org, admin, second.id, "organization.role_revoked", admin.id
    )
    assert row["data"] == {"role": "admin", "role_id": role_id}


async def test_facilitator_appointed_and_dismissed(client, session):
    admin = await make_user(session)
    org = await make_org(session, admin=admin)
    table = await make_table(session, org)
    person = await make_user(session, name="Futura Facilitatrice")
    await commit_setup(session)
    url = f"/v1/organizations/{org.slug}/roles"
    body = {"role": "facilitator", "table_id": str(table.id), "user_id": str(person.id)}
    appointed = await client.post(url, json=body, headers=bearer(admin))
    assert appointed.status_code == 201, appointed.text
    membership_id = appointed.json()["id"]
    row = await audited(
        client, session, org, admin, membership_id, "membership.role_changed", admin.id
    )
    assert row["target_type"] == "membership"
    assert row["data"] == {
        "table_id": str(table.id),
        "user_id": str(person.id),
        "role": "facilitator",
    }

    dismissed = await client.request("DELETE", url, json=body, headers=bearer(admin))
    assert dismissed.status_code == 204, dismissed.text
    response = await client.get(
        f"/v1/organizations/{org.slug}/audit-log",
        params={"target_id": membership_id, "action": "membership.role_changed"},
        headers=bearer(admin),
    )
    assert [r["data"]["role"] for r in response.json()["items"]] == ["member", "facilitator"]


async def test_a_facilitators_membership_decisions_but_not_joining_or_leaving(client, session):
    admin = await make_user(session)
    org = await make_org(session, admin=admin)
    table = await make_table(session, org, membership_policy="request")
    facilitator = await make_user(session)
    await add_member(session, table, facilitator, role="facilitator")
    applicant = await make_user(session, name="Richiedente")
    leaver = await make_user(session, name="Chi esce")
    await add_member(session, table, leaver)
    await commit_setup(session)
    memberships = f"/v1/tables/{table.id}/memberships"

    asked = await client.post(memberships, headers=bearer(applicant))
    assert asked.status_code == 201 and asked.json()["status"] == "pending", asked.text
    membership_id = asked.json()["id"]
    approved = await client.patch(
        f"{memberships}/{applicant.id}", json={"status": "active"}, headers=bearer(facilitator)
    )
    assert approved.status_code == 200, approved.text
    row = await audited(
        client, session, org, admin, membership_id, "membership.approved", facilitator.id
    )
    assert row["data"] == {"table_id": str(table.id), "user_id": str(applicant.id)}

    removed = await client.delete(f"{memberships}/{applicant.id}", headers=bearer(facilitator))
    assert removed.status_code == 204, removed.text
    row = await audited(
        client, session, org, admin, membership_id, "membership.removed", facilitator.id
    )
    assert row["data"] == {
        "table_id": str(table.id),
        "user_id": str(applicant.id),
        "role": "member",
        "status": "active",
    }
    # Asking to join was the applicant's own doing: not audited, still an event.
    actions = await client.get(
        f"/v1/organizations/{org.slug}/audit-log",
        params={"target_id": membership_id},
        headers=bearer(admin),
    )
    assert [r["action"] for r in actions.json()["items"]] == [
        "membership.removed",
        "membership.approved",
    ]

    leaver_membership = (
        await session.exec(
            select(TableMembership.id).where(col(TableMembership.user_id) == leaver.id)
        )
    ).one()
    assert (
        await client.delete(f"{memberships}/{leaver.id}", headers=bearer(leaver))
    ).status_code == 204
    left = await client.get(
        f"/v1/organizations/{org.slug}/audit-log",
        params={"target_id": str(leaver_membership)},
        headers=bearer(admin),
    )
    assert left.json()["items"] == []
    assert (
        await session.exec(select(Event.type).where(col(Event.subject_id) == leaver_membership))
    ).all() == ["membership.left"]


async def test_table_created_and_its_settings_changed(client, session):
    admin = await make_user(session)
    org = await make_org(session, admin=admin)
    await commit_setup(session)
    created = await client.post(
        f"/v1/organizations/{org.slug}/tables",
        json={
            "slug": "tavolo-giovani",
            "name": {"it": "Tavolo dei giovani"},
            "eligibility": {"min_age": 14, "max_age": 17},
        },
        headers=bearer(admin),
    )
    assert created.status_code == 201, created.text
    table_id = created.json()["id"]
    row = await audited(client, session, org, admin, table_id, "table.created", admin.id)
    assert row["data"] == {"slug": "tavolo-giovani", "visibility": "public"}

    # Pre-moderation switched off on a youth table shows in the log.
    url = f"/v1/tables/{table_id}/settings"
    assert (await client.get(url)).json()["premoderation_effective"] is True
    changed = await client.patch(
        url, json={"premoderation": False, "comments_open": True}, headers=bearer(admin)
    )
    assert changed.status_code == 200 and changed.json()["premoderation_effective"] is False
    row = await audited(client, session, org, admin, table_id, "table.settings_updated", admin.id)
    assert row["data"] == {"fields": ["premoderation"], "premoderation": False}


async def test_a_proposal_answered(client, session):
    s = await make_scene(session, content=False)
    proposal = await make_proposal(session, s.table, s.member)
    await commit_setup(session)
    text = "La proposta entra nel piano operativo 2026."
    response = await client.post(
        f"/v1/proposals/{proposal.id}/answer",
        json={"state": "accepted", "answer": text},
        headers=bearer(s.facilitator),
    )
    assert response.status_code == 200, response.text
    row = await audited(
        client, session, s.org, s.admin, proposal.id, "proposal.answered", s.facilitator.id
    )
    assert row["data"] == {"table_id": str(s.table.id), "state": "accepted"}
    assert row["reason"] is None and text not in str(row)


async def test_a_meeting_cancelled(client, session):
    admin = await make_user(session)
    org = await make_org(session, admin=admin)
    table = await make_table(session, org)
    facilitator = await make_user(session)
    await add_member(session, table, facilitator, role="facilitator")
    meeting = await make_meeting(session, table)
    person = await make_user(session)
    await commit_setup(session)
    registered = await client.post(
        f"/v1/meetings/{meeting.id}/registrations", headers=bearer(person)
    )
    assert registered.status_code == 201, registered.text
    cancelled = await client.patch(
        f"/v1/meetings/{meeting.id}", json={"status": "cancelled"}, headers=bearer(facilitator)
    )
    assert cancelled.status_code == 200, cancelled.text
    row = await audited(
        client, session, org, admin, meeting.id, "meeting.cancelled", facilitator.id
    )
    # Who must be told is for the event's readers, not for the permanent record.
    assert row["data"] == {"table_id": str(table.id)}
    event = (
        await session.exec(
            select(Event).where(
                col(Event.type) == "meeting.cancelled", col(Event.subject_id) == meeting.id
            )
        )
    ).one()
    assert event.payload["registered_user_ids"] == [str(person.id)]


async def test_a_plan_imported(client, session):
    admin = await make_user(session)
    org = await make_org(session, admin=admin)
    await commit_setup(session)
    response = await client.post(
        "/v1/plans/import", json=small_document(org.slug), headers=bearer(admin)
    )
    assert response.status_code == 201, response.text
    plan_id = response.json()["plan_id"]
    row = await audited(client, session, org, admin, plan_id, "plan.imported", admin.id)
    assert row["target_type"] == "plan"
    assert row["data"]["created"] is True
    assert row["data"]["nodes"]["created"] == response.json()["nodes"]["created"] > 0
