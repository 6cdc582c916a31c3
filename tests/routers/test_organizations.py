"""Organizations, municipalities, roles — and tenancy between organizations."""

from sqlmodel import col, select

from app.models.events import Event
from app.models.organizations import Organization
from tests.factories import make_org, make_user
from tests.helpers import assert_problem, auth_headers


async def test_platform_admin_creates_an_organization(client, session):
    admin = await make_user(session, platform_admin=True)
    response = await client.post(
        "/v1/organizations",
        headers=await auth_headers(client, admin),
        json={
            "slug": "cm-genova",
            "name": "Città Metropolitana di Genova",
            "municipalities": ["Genova", "Chiavari", "Rapallo", "Genova"],
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["slug"] == "cm-genova"
    assert body["municipalities_count"] == 3
    assert (await client.get("/v1/organizations/cm-genova")).json()["id"] == body["id"]
    names = [
        m["name"]
        for m in (await client.get("/v1/organizations/cm-genova/municipalities")).json()["items"]
    ]
    assert names == ["Chiavari", "Genova", "Rapallo"]
    event = (await session.exec(select(Event).where(col(Event.subject_id) == body["id"]))).one()
    assert event.type == "organization.created" and event.actor_id == admin.id


async def test_anonymous_and_ordinary_users_cannot_create(client, session):
    assert_problem(await client.post("/v1/organizations", json={"slug": "x-org", "name": "X"}), 401)
    user = await make_user(session)
    assert_problem(
        await client.post(
            "/v1/organizations",
            headers=await auth_headers(client, user),
            json={"slug": "x-org", "name": "X"},
        ),
        403,
    )
    assert (
        await session.exec(select(Organization).where(col(Organization.slug) == "x-org"))
    ).first() is None


async def test_listing_is_public_and_keyset_paginated(client, session):
    for i in range(5):
        await make_org(session, slug=f"zz-page-{i}")
    seen: list[str] = []
    cursor = None
    while True:
        url = "/v1/organizations?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = (await client.get(url)).json()
        assert len(page["items"]) <= 2
        seen += [o["slug"] for o in page["items"]]
        if cursor is None:
            # An organization inserted behind the cursor must not shift later pages.
            await make_org(session, slug="aa-inserted-late")
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen))
    assert [s for s in seen if s.startswith("zz-page-")] == [f"zz-page-{i}" for i in range(5)]


async def test_unknown_organization_is_404(client):
    assert_problem(await client.get("/v1/organizations/does-not-exist"), 404, "not_found")
    assert_problem(await client.get("/v1/organizations/does-not-exist/municipalities"), 404)


async def test_org_admin_edits_own_organization_only(client, session):
    admin_a = await make_user(session)
    admin_b = await make_user(session)
    org_a = await make_org(session, admin=admin_a)
    org_b = await make_org(session, admin=admin_b)
    headers_a = await auth_headers(client, admin_a)

    ok = await client.patch(
        f"/v1/organizations/{org_a.slug}", headers=headers_a, json={"name": "Nome nuovo"}
    )
    assert ok.status_code == 200 and ok.json()["name"] == "Nome nuovo"

    # Another organization's admin: every admin action is a 404, nothing changes.
    for method, path, body in [
        ("PATCH", f"/v1/organizations/{org_b.slug}", {"name": "Hijacked"}),
        ("GET", f"/v1/organizations/{org_b.slug}/roles", None),
        ("POST", f"/v1/organizations/{org_b.slug}/roles", {"user_id": str(admin_a.id)}),
        (
            "DELETE",
            f"/v1/organizations/{org_b.slug}/roles",
            {"user_id": str(admin_b.id), "role": "admin"},
        ),
        ("POST", f"/v1/organizations/{org_b.slug}/municipalities", {"name": "Fake"}),
    ]:
        response = await client.request(method, path, headers=headers_a, json=body)
        assert_problem(response, 404, "not_found")
    assert (await client.get(f"/v1/organizations/{org_b.slug}")).json()[
        "name"
    ] == "Test Organization"
    roles = (
        await client.get(
            f"/v1/organizations/{org_b.slug}/roles", headers=await auth_headers(client, admin_b)
        )
    ).json()["items"]
    assert [r["user_id"] for r in roles] == [str(admin_b.id)]


async def test_roles_assign_list_and_revoke(client, session):
    admin = await make_user(session)
    colleague = await make_user(session, email="collega@example.org", name="Collega")
    org = await make_org(session, admin=admin)
    headers = await auth_headers(client, admin)

    created = await client.post(
        f"/v1/organizations/{org.slug}/roles",
        headers=headers,
        json={"email": "Collega@Example.org", "role": "admin"},
    )
    assert created.status_code == 201, created.text
    assert created.json()["display_name"] == "Collega"
    assert_problem(
        await client.post(
            f"/v1/organizations/{org.slug}/roles",
            headers=headers,
            json={"user_id": str(colleague.id)},
        ),
        409,
        "role_exists",
    )
    assert_problem(
        await client.post(
            f"/v1/organizations/{org.slug}/roles",
            headers=headers,
            json={"email": "ghost@example.org"},
        ),
        422,
        "unknown_user",
    )
    assert_problem(
        await client.post(f"/v1/organizations/{org.slug}/roles", headers=headers, json={}),
        422,
        "validation_error",
    )

    listed = (await client.get(f"/v1/organizations/{org.slug}/roles", headers=headers)).json()
    assert {r["user_id"] for r in listed["items"]} == {str(admin.id), str(colleague.id)}
    me = (await client.get("/v1/me", headers=await auth_headers(client, colleague))).json()
    assert me["roles"] == [
        {"organization_id": str(org.id), "organization_slug": org.slug, "role": "admin"}
    ]

    # The new admin can act, and can remove the first one by role id.
    colleague_headers = await auth_headers(client, colleague)
    first_role = next(r for r in listed["items"] if r["user_id"] == str(admin.id))
    assert (
        await client.delete(
            f"/v1/organizations/{org.slug}/roles/{first_role['id']}", headers=colleague_headers
        )
    ).status_code == 204
    # ...but not leave the organization without admins.
    assert_problem(
        await client.request(
            "DELETE",
            f"/v1/organizations/{org.slug}/roles",
            headers=colleague_headers,
            json={"user_id": str(colleague.id), "role": "admin"},
        ),
        409,
        "last_admin",
    )
    # The removed admin has lost their powers at once.
    assert_problem(await client.get(f"/v1/organizations/{org.slug}/roles", headers=headers), 404)


async def test_municipality_added_by_admin(client, session):
    admin = await make_user(session)
    org = await make_org(session, admin=admin)
    headers = await auth_headers(client, admin)
    response = await client.post(
        f"/v1/organizations/{org.slug}/municipalities",
        headers=headers,
        json={"name": "Bitonto", "istat_code": "072011"},
    )
    assert response.status_code == 201
    assert_problem(
        await client.post(
            f"/v1/organizations/{org.slug}/municipalities",
            headers=headers,
            json={"name": "Bitonto"},
        ),
        409,
    )
    assert_problem(
        await client.post(
            f"/v1/organizations/{org.slug}/municipalities",
            headers=headers,
            json={"name": "X", "istat_code": "abc"},
        ),
        422,
    )
