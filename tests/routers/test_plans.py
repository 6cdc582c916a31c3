"""Browsing and editing plans and nodes: visibility of drafts, tree and list, ETags."""

import uuid
from datetime import date, timedelta

import pytest
from sqlmodel import col, select

from app.errors import Unprocessable
from app.models.events import Event
from app.models.plans import Plan, PlanNode
from app.services.plans.plans import get_plan_nodes_by_ids, today_in_rome
from tests.factories import (
    add_indicator,
    import_document,
    make_org,
    make_user,
    plan_document,
    small_document,
    walk,
)
from tests.helpers import assert_problem, auth_headers


async def _imported(session, name="bari", **changes):
    """An organization with an admin, and the bundled plan `name` imported into it."""
    admin = await make_user(session)
    org = await make_org(session, admin=admin)
    document = plan_document(name)
    document["organization"]["slug"] = org.slug
    document["plan"].update(changes)
    report = await import_document(session, document)
    return admin, org, report.plan_id, document


async def _codes_to_ids(session, plan_id):
    rows = (
        await session.exec(
            select(PlanNode.code, PlanNode.id).where(col(PlanNode.plan_id) == plan_id)
        )
    ).all()
    return {code: str(node_id) for code, node_id in rows}


async def test_drafts_are_listed_and_shown_to_their_admins_only(client, session):
    admin, org, published_id, _ = await _imported(session)
    draft = await import_document(
        session, small_document(org.slug, plan_slug="bozza", status="draft")
    )
    draft_node = (await _codes_to_ids(session, draft.plan_id))["A"]
    other_admin = await make_user(session)
    await make_org(session, admin=other_admin)
    platform_admin = await make_user(session, platform_admin=True)
    outsiders = [
        {},
        await auth_headers(client, await make_user(session)),
        await auth_headers(client, other_admin),
    ]
    insiders = [await auth_headers(client, admin), await auth_headers(client, platform_admin)]

    for headers in outsiders:
        listed = (await client.get(f"/v1/organizations/{org.slug}/plans", headers=headers)).json()
        assert [p["slug"] for p in listed["items"]] == ["psm-bari"]
        for path in (
            f"/v1/plans/{draft.plan_id}",
            f"/v1/plans/{draft.plan_id}/nodes",
            f"/v1/plans/{draft.plan_id}/nodes?format=tree",
            f"/v1/plans/{draft.plan_id}/progress",
            f"/v1/plan-nodes/{draft_node}",
            f"/v1/plan-nodes/{draft_node}/indicators",
        ):
            assert_problem(await client.get(path, headers=headers), 404, "not_found")
        assert (await client.get(f"/v1/plans/{published_id}", headers=headers)).status_code == 200
    for headers in insiders:
        listed = (await client.get(f"/v1/organizations/{org.slug}/plans", headers=headers)).json()
        assert [p["slug"] for p in listed["items"]] == ["bozza", "psm-bari"]
        shown = await client.get(f"/v1/plans/{draft.plan_id}", headers=headers)
        assert shown.status_code == 200 and shown.json()["status"] == "draft"
        assert (
            await client.get(f"/v1/plan-nodes/{draft_node}", headers=headers)
        ).status_code == 200
    assert_problem(await client.get("/v1/organizations/nessuna/plans"), 404)
    assert_problem(await client.get(f"/v1/plans/{uuid.uuid4()}"), 404)


async def test_plan_shows_phases_and_the_current_one_in_rome(client, session):
    today = today_in_rome()
    phases = [
        {"name": {"it": "Ascolto"}, "starts_on": str(today - timedelta(days=60)),
         "ends_on": str(today - timedelta(days=1))},
        {"name": {"it": "Proposte"}, "starts_on": str(today), "ends_on": str(today)},
        {"name": {"it": "Approvazione"}, "starts_on": str(today + timedelta(days=1)),
         "ends_on": str(today + timedelta(days=90))},
    ]  # fmt: skip
    _, _, plan_id, _ = await _imported(session, "milano", phases=phases)

    response = await client.get(f"/v1/plans/{plan_id}")

    assert response.status_code == 200
    body = response.json()
    # The version, then a hash of the representation (app/etag.py).
    assert response.headers["ETag"].startswith(f'"{body["version"]}.')
    assert [p["name"]["it"] for p in body["phases"]] == ["Ascolto", "Proposte", "Approvazione"]
    assert [p["is_current"] for p in body["phases"]] == [False, True, False]
    assert body["current_phase"]["name"] == {"it": "Proposte"}
    assert body["period_start"] == "2025-01-01" and body["period_end"] == "2027-12-31"
    assert body["nodes_count"] == 51 and body["levels"] == ["mission", "objective"]


async def test_plan_without_a_running_phase_has_no_current_phase(client, session):
    _, _, plan_id, _ = await _imported(session, "milano")  # phases ended in 2025
    body = (await client.get(f"/v1/plans/{plan_id}")).json()
    assert len(body["phases"]) == 3 and body["current_phase"] is None


async def test_tree_matches_the_document(client, session):
    _, _, plan_id, document = await _imported(session, "torino")

    tree = (await client.get(f"/v1/plans/{plan_id}/nodes?format=tree")).json()

    def shape(nodes):
        return [(n["code"], shape(n.get("children", []))) for n in nodes]

    assert tree["nodes_count"] == 47
    assert shape(tree["items"]) == shape(document["plan"]["nodes"])
    first = tree["items"][0]
    assert first["depth"] == 0 and first["children"][0]["depth"] == 1
    assert first["children"][0]["children"][0]["depth"] == 2
    # Below one node only.
    sub = (await client.get(f"/v1/plans/{plan_id}/nodes?format=tree&parent={first['id']}")).json()
    assert shape(sub["items"]) == shape(document["plan"]["nodes"][0]["children"])
    assert_problem(
        await client.get(f"/v1/plans/{plan_id}/nodes?format=tree&kind=theme"), 422, "invalid_query"
    )


async def test_flat_list_filters_by_kind_and_parent_and_paginates(client, session):
    _, _, plan_id, document = await _imported(session, "milano")
    ids = await _codes_to_ids(session, plan_id)
    url = f"/v1/plans/{plan_id}/nodes"

    drivers = (await client.get(f"{url}?kind=driver&limit=100")).json()
    assert [n["code"] for n in drivers["items"]] == [f"D{i}" for i in range(1, 11)]
    assert drivers["next_cursor"] is None
    roots = (await client.get(f"{url}?parent=root&limit=100")).json()["items"]
    assert [n["code"] for n in roots] == [n["code"] for n in document["plan"]["nodes"]]
    assert roots[2]["children_count"] == 10 and roots[2]["parent_id"] is None
    children = (await client.get(f"{url}?parent={ids['M3']}&limit=100")).json()["items"]
    assert [n["code"] for n in children] == [f"M3.{i}" for i in range(1, 11)]
    assert {n["parent_id"] for n in children} == {ids["M3"]}
    both = (await client.get(f"{url}?parent={ids['M3']}&kind=mission")).json()["items"]
    assert both == []

    # Every node once, in document order, across pages of 7.
    seen, cursor = [], None
    while True:
        page = (await client.get(f"{url}?limit=7" + (f"&cursor={cursor}" if cursor else ""))).json()
        assert len(page["items"]) <= 7
        seen += [n["code"] for n in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [code for code, _ in walk(document["plan"]["nodes"])]

    other = await import_document(session, small_document((await make_org(session)).slug))
    foreign = (await _codes_to_ids(session, other.plan_id))["A"]
    for parent in ("nonsense", foreign, str(uuid.uuid4())):
        assert_problem(await client.get(f"{url}?parent={parent}"), 422, "unknown_parent")


async def test_tree_and_progress_take_the_same_queries_whatever_the_size(
    client, session, query_counter
):
    _, _, big, _ = await _imported(session, "bari")  # 38 nodes
    small = (await import_document(session, small_document((await make_org(session)).slug))).plan_id
    # Indicators with measurements on many nodes of the big plan, one on the small one.
    root = await make_user(session, platform_admin=True)
    big_ids = await _codes_to_ids(session, big)
    for code in ("1", "1.1", "2.1", "2.2", "5", "10.3"):
        await add_indicator(session, root, big_ids[code], measurements=((date(2024, 1, 1), 5.0),))
    small_ids = await _codes_to_ids(session, small)
    await add_indicator(session, root, small_ids["A.1"], measurements=((date(2024, 1, 1), 5.0),))

    counts = []
    for plan_id in (big, small):
        for path in ("nodes?format=tree", "progress", "progress?format=csv", "nodes?limit=100"):
            query_counter.reset()
            assert (await client.get(f"/v1/plans/{plan_id}/{path}")).status_code == 200
            # The test's savepoints aside.
            counts.append(sum(s.startswith("SELECT") for s in query_counter.statements))
    assert counts[:4] == counts[4:]
    assert counts[:4] == [3, 4, 5, 4]


async def test_node_detail_has_ancestors_children_and_expected_results(client, session):
    _, _, plan_id, document = await _imported(session, "torino")
    ids = await _codes_to_ids(session, plan_id)
    strategy = document["plan"]["nodes"][0]
    theme = strategy["children"][0]
    project = theme["children"][0]

    response = await client.get(f"/v1/plan-nodes/{ids[project['code']]}")
    assert response.status_code == 200
    body = response.json()
    assert response.headers["ETag"].startswith('"1.')
    assert [a["code"] for a in body["ancestors"]] == [strategy["code"], theme["code"]]
    assert body["children"] == [] and body["indicators"] == [] and body["progress"] is None

    body = (await client.get(f"/v1/plan-nodes/{ids[theme['code']]}")).json()
    assert [c["code"] for c in body["children"]] == [c["code"] for c in theme["children"]]
    assert body["children_count"] == len(theme["children"])
    assert body["title"] == theme["title"] and body["depth"] == 1

    _, _, bari_id, bari = await _imported(session, "bari")
    axis = bari["plan"]["nodes"][0]
    body = (
        await client.get(f"/v1/plan-nodes/{(await _codes_to_ids(session, bari_id))['1']}")
    ).json()
    assert body["expected_results"] == axis["expected_results"]
    assert body["description"] == axis["description"]
    assert_problem(await client.get(f"/v1/plan-nodes/{uuid.uuid4()}"), 404)


async def test_patch_plan_honours_if_match(client, session):
    admin, _, plan_id, _ = await _imported(session)
    headers = await auth_headers(client, admin)
    etag = (await client.get(f"/v1/plans/{plan_id}")).headers["ETag"]

    response = await client.patch(
        f"/v1/plans/{plan_id}",
        headers={**headers, "If-Match": etag},
        json={
            "title": {"it": "Il Futuro che Arriva", "en": "The future is coming"},
            "status": "approved",
            "approved_on": "2025-03-31",
        },
    )
    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == '"2"' != etag
    body = response.json()
    assert body["title"]["en"] == "The future is coming" and body["status"] == "approved"
    assert body["approved_on"] == "2025-03-31" and body["version"] == 2

    stale = await client.patch(
        f"/v1/plans/{plan_id}",
        headers={**headers, "If-Match": etag},
        json={"title": {"it": "Titolo perso"}},
    )
    assert assert_problem(stale, 412, "stale_etag")["current_etag"] == '"2"'
    plan = await session.get(Plan, plan_id)
    await session.refresh(plan)
    assert plan.title["it"] == "Il Futuro che Arriva" and plan.version == 2

    event = (
        await session.exec(
            select(Event).where(col(Event.subject_id) == plan_id, col(Event.type) == "plan.updated")
        )
    ).one()
    assert event.actor_id == admin.id
    assert event.payload["fields"] == ["title", "status", "approved_on"]

    # Phases replaced as a whole; the current one follows.
    today = str(today_in_rome())
    response = await client.patch(
        f"/v1/plans/{plan_id}",
        headers={**headers, "If-Match": '"2"'},
        json={"phases": [{"name": {"it": "Oggi"}, "starts_on": today, "ends_on": today}]},
    )
    assert response.json()["current_phase"]["name"] == {"it": "Oggi"}


async def test_patch_plan_refuses_bad_input(client, session):
    admin, _, plan_id, _ = await _imported(session)
    headers = await auth_headers(client, admin)
    url = f"/v1/plans/{plan_id}"
    for body, field in (
        ({"slug": "altro"}, "slug"),
        ({"title": {"en": "No Italian"}}, "title"),
        ({"title": None}, "title"),
        ({"status": "bozza"}, "status"),
        ({"period_start": "2030-01-01", "period_end": "2029-01-01"}, "period_end"),
        ({"phases": [{"name": {"it": "F"}, "starts_on": "2025-02-01", "ends_on": "2025-01-01"}]},
         "phases"),
    ):  # fmt: skip
        problem = assert_problem(await client.patch(url, headers=headers, json=body), 422)
        assert field in problem["errors"][0]["loc"], problem
    assert (await client.get(url)).json()["version"] == 1


async def test_only_the_organizations_admins_edit(client, session):
    _, _, plan_id, _ = await _imported(session)
    node_id = (await _codes_to_ids(session, plan_id))["1"]
    other_admin = await make_user(session)
    await make_org(session, admin=other_admin)
    plain = await make_user(session)

    for headers in (await auth_headers(client, other_admin), await auth_headers(client, plain)):
        assert_problem(
            await client.patch(
                f"/v1/plans/{plan_id}", headers=headers, json={"status": "archived"}
            ),
            404,
        )
        assert_problem(
            await client.patch(
                f"/v1/plan-nodes/{node_id}", headers=headers, json={"title": {"it": "Preso"}}
            ),
            404,
        )
    assert_problem(await client.patch(f"/v1/plans/{plan_id}", json={"status": "archived"}), 401)
    assert (await client.get(f"/v1/plans/{plan_id}")).json()["status"] == "consultation"
    assert (await client.get(f"/v1/plan-nodes/{node_id}")).json()["version"] == 1


async def test_patch_node_honours_if_match(client, session):
    admin, _, plan_id, _ = await _imported(session)
    node_id = (await _codes_to_ids(session, plan_id))["2.1"]
    headers = await auth_headers(client, admin)
    etag = (await client.get(f"/v1/plan-nodes/{node_id}")).headers["ETag"]

    response = await client.patch(
        f"/v1/plan-nodes/{node_id}",
        headers={**headers, "If-Match": etag},
        json={
            "title": {"it": "Riduzione delle emissioni di CO₂", "en": "Cutting CO₂ emissions"},
            "expected_results": [{"it": "Meno emissioni"}],
        },
    )
    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == '"2"'
    assert response.json()["expected_results"] == [{"it": "Meno emissioni"}]

    stale = await client.patch(
        f"/v1/plan-nodes/{node_id}", headers={**headers, "If-Match": etag}, json={"kind": "goal"}
    )
    assert_problem(stale, 412, "stale_etag")
    assert (await client.get(f"/v1/plan-nodes/{node_id}")).json()["kind"] == "objective"
    for body in ({"code": "X"}, {"parent_id": None}, {"title": {"en": "Only English"}}):
        assert_problem(
            await client.patch(f"/v1/plan-nodes/{node_id}", headers=headers, json=body), 422
        )
    events = (
        await session.exec(
            select(Event).where(
                col(Event.subject_id) == uuid.UUID(node_id), col(Event.type) == "plan_node.updated"
            )
        )
    ).all()
    assert [e.payload["fields"] for e in events] == [["title", "expected_results"]]


async def test_archived_nodes_are_readable_but_not_listed_or_editable(client, session):
    admin, _, plan_id, document = await _imported(session)
    ids = await _codes_to_ids(session, plan_id)
    document["plan"]["nodes"].pop()  # axis 11 and its objectives
    await import_document(session, document)

    tree = (await client.get(f"/v1/plans/{plan_id}/nodes?format=tree")).json()
    assert tree["nodes_count"] == 35 and "11" not in [n["code"] for n in tree["items"]]
    listed = (await client.get(f"/v1/plans/{plan_id}/nodes?kind=axis")).json()["items"]
    assert len(listed) == 11 - 1
    archived = (await client.get(f"/v1/plan-nodes/{ids['11']}")).json()
    assert archived["archived_at"] is not None and archived["code"] == "11"
    assert (await client.get(f"/v1/plans/{plan_id}")).json()["nodes_count"] == 35
    assert_problem(
        await client.patch(
            f"/v1/plan-nodes/{ids['11']}",
            headers=await auth_headers(client, admin),
            json={"title": {"it": "Ancora qui"}},
        ),
        409,
        "node_archived",
    )


async def test_get_plan_nodes_by_ids_names_every_stranger(session):
    _, _, plan_id, document = await _imported(session)
    ids = {code: uuid.UUID(i) for code, i in (await _codes_to_ids(session, plan_id)).items()}
    nodes = await get_plan_nodes_by_ids(session, plan_id, [ids["3.1"], ids["1"]])
    assert [n.code for n in nodes] == ["3.1", "1"]

    other = await import_document(session, small_document((await make_org(session)).slug))
    foreign = uuid.UUID((await _codes_to_ids(session, other.plan_id))["A"])
    document["plan"]["nodes"].pop()
    await import_document(session, document)  # archives 11, 11.1, 11.2
    with pytest.raises(Unprocessable) as raised:
        await get_plan_nodes_by_ids(
            session, plan_id, [ids["1"], foreign, ids["11.1"], uuid.uuid4(), ids["2"]]
        )
    assert [e["loc"] for e in raised.value.errors or []] == [
        ["body", "node_ids", 1],
        ["body", "node_ids", 2],
        ["body", "node_ids", 3],
    ]


async def test_the_tree_has_its_own_path_and_the_list_one_shape(client, session):
    _, _, plan_id, document = await _imported(session, "torino")

    def shape(nodes):
        return [(n["code"], shape(n.get("children", []))) for n in nodes]

    tree = await client.get(f"/v1/plans/{plan_id}/nodes/tree")
    assert tree.status_code == 200, tree.text
    assert tree.json() == (await client.get(f"/v1/plans/{plan_id}/nodes?format=tree")).json()
    assert shape(tree.json()["items"]) == shape(document["plan"]["nodes"])
    first = tree.json()["items"][0]
    sub = (await client.get(f"/v1/plans/{plan_id}/nodes/tree?parent={first['id']}")).json()
    assert shape(sub["items"]) == shape(document["plan"]["nodes"][0]["children"])
    assert_problem(await client.get(f"/v1/plans/{plan_id}/nodes/tree?kind=theme"), 422)
    assert_problem(await client.get(f"/v1/plans/{uuid.uuid4()}/nodes/tree"), 404)
    flat = (await client.get(f"/v1/plans/{plan_id}/nodes?limit=5")).json()
    assert set(flat) == {"items", "next_cursor"} and len(flat["items"]) == 5
