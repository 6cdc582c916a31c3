"""Idempotency-Key on POST: replay, mismatch, concurrent duplicates."""

import asyncio

from sqlmodel import col, func, select

from app.models.organizations import Organization
from tests.factories import PASSWORD, make_user
from tests.helpers import assert_problem, auth_headers, login


async def test_retry_replays_the_first_response(client, session):
    admin = await make_user(session, platform_admin=True)
    headers = {**await auth_headers(client, admin), "Idempotency-Key": "create-genova-1"}
    body = {"slug": "cm-genova", "name": "Città Metropolitana di Genova"}
    first = await client.post("/v1/organizations", headers=headers, json=body)
    assert first.status_code == 201
    again = await client.post("/v1/organizations", headers=headers, json=body)
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    count = (
        await session.exec(
            select(func.count())
            .select_from(Organization)
            .where(col(Organization.slug) == "cm-genova")
        )
    ).one()
    assert count == 1


async def test_same_key_different_body_is_422(client, session):
    admin = await make_user(session, platform_admin=True)
    headers = {**await auth_headers(client, admin), "Idempotency-Key": "k-2"}
    assert (
        await client.post(
            "/v1/organizations", headers=headers, json={"slug": "org-one", "name": "One"}
        )
    ).status_code == 201
    problem = assert_problem(
        await client.post(
            "/v1/organizations", headers=headers, json={"slug": "org-two", "name": "Two"}
        ),
        422,
        "idempotency_key_reused",
    )
    assert problem["detail"]
    assert (
        await session.exec(select(Organization).where(col(Organization.slug) == "org-two"))
    ).first() is None


async def test_keys_are_per_caller(client, session):
    first = await make_user(session, platform_admin=True)
    second = await make_user(session, platform_admin=True)
    for user, slug in ((first, "org-a1"), (second, "org-b1")):
        response = await client.post(
            "/v1/organizations",
            json={"slug": slug, "name": slug},
            headers={**await auth_headers(client, user), "Idempotency-Key": "shared-key"},
        )
        assert response.status_code == 201
        assert "idempotent-replayed" not in response.headers


async def test_errors_are_replayed_too_but_not_crashes(client, session):
    user = await make_user(session)
    headers = {**await auth_headers(client, user), "Idempotency-Key": "k-403"}
    body = {"slug": "not-allowed", "name": "X"}
    assert_problem(await client.post("/v1/organizations", headers=headers, json=body), 403)
    replay = await client.post("/v1/organizations", headers=headers, json=body)
    assert_problem(replay, 403)
    assert replay.headers["idempotent-replayed"] == "true"


async def test_invalid_key_is_422(client):
    assert_problem(
        await client.post("/v1/organizations", json={}, headers={"Idempotency-Key": "x" * 300}),
        422,
        "invalid_idempotency_key",
    )


async def test_concurrent_duplicates_create_once(committing_client):
    client = committing_client
    from app.db import get_sessionmaker

    async with get_sessionmaker()() as s, s.begin():
        admin = await make_user(s, platform_admin=True)
        email = admin.email
    tokens = await login(client, email, PASSWORD)
    headers = {"Authorization": f"Bearer {tokens['access_token']}", "Idempotency-Key": "race-1"}
    body = {"slug": "cm-race", "name": "Race", "municipalities": [f"C{i}" for i in range(200)]}
    responses = await asyncio.gather(
        *[client.post("/v1/organizations", headers=headers, json=body) for _ in range(8)]
    )
    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {201, 409}, statuses
    created = [r for r in responses if r.status_code == 201]
    assert len({r.json()["id"] for r in created}) == 1
    for r in responses:
        if r.status_code == 409:
            assert_problem(r, 409, "idempotency_request_in_progress")
    listed = (await client.get("/v1/organizations?limit=100")).json()["items"]
    assert [o["slug"] for o in listed].count("cm-race") == 1
    # Once finished, a retry replays.
    replay = await client.post("/v1/organizations", headers=headers, json=body)
    assert replay.status_code == 201 and replay.headers["idempotent-replayed"] == "true"


async def test_registration_retried_with_its_key_replays_but_tokens_are_never_stored(client):
    body = {"email": "ritenta@example.org", "password": "una frase lunga", "display_name": "R"}
    headers = {"Idempotency-Key": "register-1"}
    first = await client.post("/v1/auth/register", json=body, headers=headers)
    assert first.status_code == 201, first.text
    again = await client.post("/v1/auth/register", json=body, headers=headers)
    assert again.status_code == 201 and again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    # Without the key, the same registration is a conflict (the email is taken).
    assert_problem(await client.post("/v1/auth/register", json=body), 409)

    # The token endpoint runs every time: its answer is a secret, not stored.
    form = {"grant_type": "password", "username": body["email"], "password": body["password"]}
    one = await client.post("/v1/auth/token", data=form, headers={"Idempotency-Key": "t-1"})
    two = await client.post("/v1/auth/token", data=form, headers={"Idempotency-Key": "t-1"})
    assert one.status_code == two.status_code == 200
    assert one.json()["refresh_token"] != two.json()["refresh_token"]
    assert "idempotent-replayed" not in two.headers


async def test_a_401_is_not_stored_so_the_retry_after_signing_in_runs(client, session):
    admin = await make_user(session, platform_admin=True)
    first = await login(client, admin.email, PASSWORD)
    await client.post("/v1/auth/logout", json={"refresh_token": first["refresh_token"]})
    body = {"slug": "cm-ritorno", "name": "Ritorno"}
    key = {"Idempotency-Key": "after-sign-in"}
    ended = await client.post(
        "/v1/organizations",
        json=body,
        headers={"Authorization": f"Bearer {first['access_token']}", **key},
    )
    assert_problem(ended, 401)
    again = await login(client, admin.email, PASSWORD)
    created = await client.post(
        "/v1/organizations",
        json=body,
        headers={"Authorization": f"Bearer {again['access_token']}", **key},
    )
    assert created.status_code == 201, created.text
    assert "idempotent-replayed" not in created.headers
