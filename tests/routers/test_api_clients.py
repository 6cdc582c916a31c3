"""Service clients: CRUD by org admins, the client_credentials grant, rotation with a
grace period, deactivation and deletion stopping tokens at once."""

import base64
import hashlib
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlmodel import col, select

from app.models.events import Event
from app.models.integrations import ApiClient, ApiClientSecret
from app.models.moderation import AuditEntry
from tests.factories import make_org, make_user
from tests.factories.integrations import client_token, create_client
from tests.helpers import assert_problem, bearer


async def test_admin_creates_a_client_whose_secret_is_shown_once_and_stored_hashed(client, session):
    admin = await make_user(session)
    org = await make_org(session, admin=admin)
    created = await create_client(client, admin, org, ["changes:read", "webhooks:manage"])
    assert created["scopes"] == ["changes:read", "webhooks:manage"]
    assert created["client_secret"].startswith("cs_")
    assert created["active"] is True
    stored = (
        await session.exec(
            select(ApiClientSecret).where(
                col(ApiClientSecret.client_id) == uuid.UUID(created["client_id"])
            )
        )
    ).all()
    assert [s.secret_hash for s in stored] == [
        hashlib.sha256(created["client_secret"].encode()).hexdigest()
    ]
    shown = await client.get(f"/v1/api-clients/{created['id']}", headers=bearer(admin))
    assert shown.status_code == 200
    assert "client_secret" not in shown.json()
    listed = await client.get(f"/v1/organizations/{org.slug}/api-clients", headers=bearer(admin))
    assert [c["id"] for c in listed.json()["items"]] == [created["id"]]
    assert "client_secret" not in listed.json()["items"][0]
    audit = (
        await session.exec(select(AuditEntry).where(col(AuditEntry.action) == "api_client.created"))
    ).one()
    assert audit.actor_id == admin.id and audit.data == {"scopes": created["scopes"]}


async def test_other_people_cannot_see_or_create_clients(client, session):
    admin = await make_user(session)
    org = await make_org(session, admin=admin)
    stranger = await make_user(session)
    other_admin = await make_user(session)
    await make_org(session, admin=other_admin)
    created = await create_client(client, admin, org, ["changes:read"])
    for person in (stranger, other_admin):
        assert_problem(
            await client.get(f"/v1/api-clients/{created['id']}", headers=bearer(person)), 404
        )
        assert_problem(
            await client.post(
                f"/v1/organizations/{org.slug}/api-clients",
                json={"name": "x", "scopes": ["changes:read"]},
                headers=bearer(person),
            ),
            404,
        )
    assert_problem(
        await client.post(
            f"/v1/organizations/{org.slug}/api-clients",
            json={"name": "x", "scopes": ["everything"]},
            headers=bearer(admin),
        ),
        422,
    )


async def test_client_credentials_with_form_fields_basic_auth_and_a_scope_subset(client, session):
    admin = await make_user(session)
    org = await make_org(session, admin=admin)
    created = await create_client(client, admin, org, ["changes:read", "plans:write"])
    response = await client_token(client, created["client_id"], created["client_secret"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 900
    assert body["scope"] == "changes:read plans:write"
    assert "refresh_token" not in body

    basic = base64.b64encode(f"{created['client_id']}:{created['client_secret']}".encode())
    response = await client.post(
        "/v1/auth/token",
        data={"grant_type": "client_credentials", "scope": "changes:read"},
        headers={"Authorization": f"Basic {basic.decode()}"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == "changes:read"

    refused = await client_token(
        client, created["client_id"], created["client_secret"], scope="webhooks:manage"
    )
    assert assert_problem(refused, 400, "invalid_scope")["error"] == "invalid_scope"
    unknown = await client_token(
        client, created["client_id"], created["client_secret"], scope="root"
    )
    assert_problem(unknown, 400, "invalid_scope")


async def test_a_wrong_secret_is_invalid_client_and_throttled(client, session):
    admin = await make_user(session)
    org = await make_org(session, admin=admin)
    created = await create_client(client, admin, org, ["changes:read"])
    for _ in range(5):
        response = await client_token(client, created["client_id"], "cs_wrong")
        body = assert_problem(response, 401, "invalid_client")
        assert body["error"] == "invalid_client"
        assert response.headers["www-authenticate"].startswith("Basic")
    throttled = await client_token(client, created["client_id"], created["client_secret"])
    assert_problem(throttled, 429, "too_many_attempts")
    assert int(throttled.headers["retry-after"]) >= 1
    unknown = await client_token(client, str(uuid.uuid4()), "cs_whatever")
    assert_problem(unknown, 401, "invalid_client")
    assert_problem(await client_token(client, "not-a-uuid", "x"), 401, "invalid_client")


async def test_a_rotated_secret_works_during_the_grace_period_then_stops(client, session):
    admin = await make_user(session)
    org = await make_org(session, admin=admin)
    created = await create_client(client, admin, org, ["changes:read"])
    old = created["client_secret"]
    rotated = await client.post(f"/v1/api-clients/{created['id']}/secrets", headers=bearer(admin))
    assert rotated.status_code == 201, rotated.text
    new = rotated.json()["client_secret"]
    assert new != old
    old_info, new_info = rotated.json()["secrets"]
    assert old_info["expires_at"] is not None and new_info["expires_at"] is None
    grace = datetime.fromisoformat(old_info["expires_at"]) - datetime.now(UTC)
    assert timedelta(hours=23, minutes=59) < grace <= timedelta(hours=24)
    assert (await client_token(client, created["client_id"], old)).status_code == 200
    assert (await client_token(client, created["client_id"], new)).status_code == 200
    # The grace period ends.
    await session.exec(
        update(ApiClientSecret)
        .where(col(ApiClientSecret.expires_at).is_not(None))
        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    assert_problem(await client_token(client, created["client_id"], old), 401, "invalid_client")
    assert (await client_token(client, created["client_id"], new)).status_code == 200


async def test_deactivating_or_deleting_a_client_stops_its_tokens_at_once(client, session):
    admin = await make_user(session)
    org = await make_org(session, admin=admin)
    created = await create_client(client, admin, org, ["changes:read"])
    token = (await client_token(client, created["client_id"], created["client_secret"])).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    feed = f"/v1/organizations/{org.slug}/changes"
    assert (await client.get(feed, headers=headers)).status_code == 200

    off = await client.patch(
        f"/v1/api-clients/{created['id']}", json={"active": False}, headers=bearer(admin)
    )
    assert off.status_code == 200 and off.json()["active"] is False
    assert_problem(await client.get(feed, headers=headers), 401)
    assert_problem(
        await client_token(client, created["client_id"], created["client_secret"]),
        401,
        "invalid_client",
    )
    on = await client.patch(
        f"/v1/api-clients/{created['id']}", json={"active": True}, headers=bearer(admin)
    )
    assert on.status_code == 200
    assert (await client.get(feed, headers=headers)).status_code == 200

    deleted = await client.delete(f"/v1/api-clients/{created['id']}", headers=bearer(admin))
    assert deleted.status_code == 204
    assert await session.get(ApiClient, uuid.UUID(created["id"])) is None
    assert_problem(await client.get(feed, headers=headers), 401)
    actions = (
        await session.exec(
            select(Event.type)
            .where(col(Event.subject_id) == uuid.UUID(created["id"]))
            .order_by(col(Event.seq))
        )
    ).all()
    assert actions == [
        "api_client.created",
        "api_client.updated",
        "api_client.updated",
        "api_client.deleted",
    ]


async def test_narrowing_a_clients_scopes_applies_to_tokens_already_issued(client, session):
    admin = await make_user(session)
    org = await make_org(session, admin=admin)
    created = await create_client(client, admin, org, ["changes:read", "webhooks:manage"])
    token = (await client_token(client, created["client_id"], created["client_secret"])).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    feed = f"/v1/organizations/{org.slug}/changes"
    assert (await client.get(feed, headers=headers)).status_code == 200
    narrowed = await client.patch(
        f"/v1/api-clients/{created['id']}",
        json={"scopes": ["webhooks:manage"]},
        headers=bearer(admin),
    )
    assert narrowed.json()["scopes"] == ["webhooks:manage"]
    response = await client.get(feed, headers=headers)
    assert_problem(response, 403, "insufficient_scope")
