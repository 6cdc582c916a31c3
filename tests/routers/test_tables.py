"""Participation tables: creation by org admins, visibility, editing, counts, lists."""

import uuid

from sqlmodel import col, select

from app.models.events import Event
from tests.factories import (
    add_member,
    commit_setup,
    make_meeting,
    make_municipality,
    make_org,
    make_plan,
    make_table,
    make_user,
)
from tests.helpers import assert_problem, bearer


async def _admin_org(session):
    admin = await make_user(session)
    org = await make_org(session, admin=admin)
    return admin, org


async def test_org_admin_creates_a_table_on_a_plan_axis(client, session):
    admin, org = await _admin_org(session)
    plan, nodes = await make_plan(session, org)
    bari = await make_municipality(session, org, "Bari")
    body = {
        "slug": "tavolo-giovani",
        "name": {"it": "Tavolo dei Talenti e delle Giovani Generazioni", "en": "Youth table"},
        "description": {"it": "Percorso partecipativo"},
        "plan_id": str(plan.id),
        "node_ids": [str(nodes["4"].id)],
        "membership_policy": "request",
        "eligibility": {"min_age": 16, "max_age": 35, "municipality_ids": [str(bari.id)]},
        "max_members": 200,
    }
    await commit_setup(session)
    response = await client.post(
        f"/v1/organizations/{org.slug}/tables", json=body, headers=bearer(admin)
    )
    assert response.status_code == 201, response.text
    table = response.json()
    assert response.headers["ETag"] == '"1"'
    assert table["organization_id"] == str(org.id)
    assert table["plan_id"] == str(plan.id)
    assert table["node_ids"] == [str(nodes["4"].id)]
    assert table["visibility"] == "public" and table["status"] == "open"
    assert table["membership_policy"] == "request"
    assert table["eligibility"] == {
        "min_age": 16,
        "max_age": 35,
        "municipality_ids": [str(bari.id)],
    }
    assert table["max_members"] == 200
    assert table["members_count"] == 0 and table["meetings_count"] == 0
    assert table["my_membership"] is None
    event = (
        await session.exec(select(Event).where(col(Event.subject_id) == uuid.UUID(table["id"])))
    ).one()
    assert event.type == "table.created" and event.actor_id == admin.id

    fetched = await client.get(f"/v1/tables/{table['id']}")
    assert fetched.status_code == 200 and fetched.json()["slug"] == "tavolo-giovani"
    assert_problem(
        await client.post(f"/v1/organizations/{org.slug}/tables", json=body, headers=bearer(admin)),
        409,
        "slug_taken",
    )


async def test_only_the_organizations_admins_create_tables(client, session):
    _, org = await _admin_org(session)
    other_admin, _ = await _admin_org(session)
    member = await make_user(session)
    body = {"slug": "tavolo-x", "name": {"it": "Tavolo"}}
    await commit_setup(session)
    assert_problem(await client.post(f"/v1/organizations/{org.slug}/tables", json=body), 401)
    for user in (member, other_admin):
        assert_problem(
            await client.post(
                f"/v1/organizations/{org.slug}/tables", json=body, headers=bearer(user)
            ),
            404,
        )


async def test_table_input_is_validated(client, session):
    admin, org = await _admin_org(session)
    plan, nodes = await make_plan(session, org)
    other_org = await make_org(session)
    _, foreign_nodes = await make_plan(session, other_org)
    foreign_town = await make_municipality(session, other_org, "Genova")
    foreign_plan, _ = await make_plan(session, other_org)
    await commit_setup(session)
    # (Failed requests roll back and detach the builders' objects: keep plain ids.)
    node, foreign_node = str(nodes["4"].id), str(foreign_nodes["4"].id)
    plan_id, foreign_plan_id, town = str(plan.id), str(foreign_plan.id), str(foreign_town.id)
    url = f"/v1/organizations/{org.slug}/tables"
    headers = bearer(admin)

    async def post(**fields):
        return await client.post(
            url, headers=headers, json={"slug": "tavolo-v", "name": {"it": "Tavolo"}, **fields}
        )

    body = assert_problem(await post(name={"en": "Table"}), 422, "missing_default_locale")
    assert body["errors"][0]["loc"] == ["body", "name", "it"]
    assert_problem(await post(node_ids=[node]), 422, "no_plan")
    assert_problem(await post(plan_id=plan_id, node_ids=[foreign_node]), 422)
    assert_problem(await post(plan_id=str(uuid.uuid4())), 422, "unknown_plan")
    assert_problem(await post(plan_id=foreign_plan_id), 422, "unknown_plan")
    assert_problem(
        await post(eligibility={"municipality_ids": [town]}), 422, "unknown_municipality"
    )
    assert_problem(await post(eligibility={"min_age": 40, "max_age": 30}), 422)
    assert_problem(await post(visibility="secret"), 422)
    assert_problem(await post(colour="red"), 422)


async def test_private_tables_are_invisible_to_non_members(client, session):
    admin, org = await _admin_org(session)
    public = await make_table(session, org, slug="a-public")
    private = await make_table(session, org, slug="b-private", visibility="private")
    member = await make_user(session)
    invited = await make_user(session)
    outsider = await make_user(session)
    other_admin, _ = await _admin_org(session)
    await add_member(session, private, member)
    await add_member(session, private, invited, status="invited")
    list_url = f"/v1/organizations/{org.slug}/tables"
    await commit_setup(session)

    async def slugs(user=None):
        response = await client.get(list_url, headers=bearer(user) if user else {})
        assert response.status_code == 200
        return [t["slug"] for t in response.json()["items"]]

    assert await slugs() == ["a-public"]
    assert await slugs(outsider) == ["a-public"]
    assert await slugs(other_admin) == ["a-public"]
    assert await slugs(member) == ["a-public", "b-private"]
    assert await slugs(invited) == ["a-public", "b-private"]
    assert await slugs(admin) == ["a-public", "b-private"]

    for user in (None, outsider, other_admin):
        headers = bearer(user) if user else {}
        assert_problem(await client.get(f"/v1/tables/{private.id}", headers=headers), 404)
        assert_problem(await client.get(f"/v1/tables/{private.id}/meetings", headers=headers), 404)
        assert_problem(
            await client.get(f"/v1/tables/{private.id}/memberships", headers=headers), 404
        )
    mine = (await client.get(f"/v1/tables/{private.id}", headers=bearer(member))).json()
    assert mine["my_membership"] == {"role": "member", "status": "active"}
    # Someone invited may read the table to decide, not its content.
    seen = await client.get(f"/v1/tables/{private.id}", headers=bearer(invited))
    assert seen.json()["my_membership"] == {"role": "member", "status": "invited"}
    assert_problem(
        await client.get(f"/v1/tables/{private.id}/meetings", headers=bearer(invited)), 404
    )
    assert (await client.get(f"/v1/tables/{public.id}")).status_code == 200


async def test_counts_and_keyset_pagination_without_n_plus_one(client, session, query_counter):
    _, org = await _admin_org(session)
    tables = [await make_table(session, org, slug=f"t-{i}") for i in range(5)]
    for i, table in enumerate(tables):
        for _ in range(i):
            await add_member(session, table, await make_user(session))
        await add_member(session, table, await make_user(session), status="pending")
        for _ in range(2):
            await make_meeting(session, table)
        await make_meeting(session, table, status="cancelled")
    viewer = await make_user(session)
    await add_member(session, tables[3], viewer)
    headers = bearer(viewer)
    await commit_setup(session)

    seen = []
    cursor = None
    while True:
        url = f"/v1/organizations/{org.slug}/tables?limit=2" + (
            f"&cursor={cursor}" if cursor else ""
        )
        page = (await client.get(url, headers=headers)).json()
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [t["slug"] for t in seen] == [f"t-{i}" for i in range(5)]
    assert [t["members_count"] for t in seen] == [0, 1, 2, 4, 4]
    assert {t["meetings_count"] for t in seen} == {2}
    assert [t["my_membership"] is not None for t in seen] == [False, False, False, True, False]

    query_counter.reset()
    await client.get(f"/v1/organizations/{org.slug}/tables?limit=1", headers=headers)
    one = query_counter.count
    query_counter.reset()
    await client.get(f"/v1/organizations/{org.slug}/tables?limit=5", headers=headers)
    assert query_counter.count == one


async def test_facilitators_edit_their_table_with_if_match(client, session):
    admin, org = await _admin_org(session)
    plan, nodes = await make_plan(session, org)
    table = await make_table(session, org, plan_id=plan.id)
    other = await make_table(session, org)
    facilitator = await make_user(session)
    member = await make_user(session)
    await add_member(session, table, facilitator, role="facilitator")
    await add_member(session, table, member)
    other_facilitator = await make_user(session)
    await add_member(session, other, other_facilitator, role="facilitator")
    url = f"/v1/tables/{table.id}"
    await commit_setup(session)

    response = await client.patch(
        url,
        headers={**bearer(facilitator), "If-Match": '"1"'},
        json={
            "name": {"it": "Nuovo nome"},
            "node_ids": [str(nodes["4"].id)],
            "visibility": "private",
            "max_members": 10,
        },
    )
    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == '"2"'
    body = response.json()
    assert body["name"] == {"it": "Nuovo nome"} and body["visibility"] == "private"
    assert body["node_ids"] == [str(nodes["4"].id)]

    assert_problem(
        await client.patch(
            url, headers={**bearer(facilitator), "If-Match": '"1"'}, json={"status": "closed"}
        ),
        412,
        "stale_etag",
    )
    assert_problem(await client.patch(url, headers=bearer(facilitator), json={"unknown": 1}), 422)
    assert_problem(
        await client.patch(url, headers=bearer(facilitator), json={"max_members": 1}),
        409,
        "max_members_below_members",
    )
    assert_problem(await client.patch(url, headers=bearer(facilitator), json={"name": None}), 422)
    # A member, and another table's facilitator, find nothing to edit.
    for user in (member, other_facilitator):
        assert_problem(
            await client.patch(url, headers=bearer(user), json={"status": "closed"}), 404
        )
    assert (
        await client.patch(url, headers=bearer(admin), json={"eligibility": {"min_age": 16}})
    ).status_code == 200
    events = (await session.exec(select(Event.type).where(col(Event.subject_id) == table.id))).all()
    assert events.count("table.updated") == 2
