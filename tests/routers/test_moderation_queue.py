"""GET /v1/tables/{id}/moderation and GET /v1/organizations/{org}/moderation: who sees
which queue, what an item shows (and never shows), filters, keyset pages oldest first,
and a bounded number of queries whatever the page's size."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlmodel import col

from app.models.moderation import Moderation
from app.models.organizations import OrganizationRole
from tests.factories import (
    commit_setup,
    make_comment,
    make_pending_comment,
    make_people,
    make_proposal,
    make_scene,
    make_user,
)
from tests.helpers import act, assert_problem, bearer, report


def table_queue(scene):
    return f"/v1/tables/{scene.table.id}/moderation"


def org_queue(scene):
    return f"/v1/organizations/{scene.org.slug}/moderation"


async def _make_admin(session, scene, name="Admin"):
    admin = await make_user(session, name=name)
    session.add(OrganizationRole(organization_id=scene.org.id, user_id=admin.id, role="admin"))
    await session.flush()
    return admin


async def test_the_table_queue_shows_reported_items_with_their_reports(client, session):
    scene = await make_scene(session)
    comment = await make_comment(
        session,
        scene.author,
        "proposal",
        scene.proposal.id,
        organization_id=scene.org.id,
        table_id=scene.table.id,
        body="Un commento sgradevole.",
    )
    reporters = await make_people(session, 2, prefix="Segnalatore")
    await commit_setup(session)
    r1 = await report(
        client, reporters[0], "comment", comment.id, reason="offensive", details="Offende"
    )
    assert r1.status_code == 201
    assert (await report(client, reporters[1], "comment", comment.id)).status_code == 201
    assert (await report(client, reporters[0], "proposal", scene.proposal.id)).status_code == 201

    response = await client.get(table_queue(scene), headers=bearer(scene.facilitator))
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["next_cursor"] is None
    assert sorted(i["target_type"] for i in page["items"]) == ["comment", "proposal"]
    items = {i["target_type"]: i for i in page["items"]}
    item = items["comment"]
    assert item["target_id"] == str(comment.id) and item["table_id"] == str(scene.table.id)
    assert item["state"] == "reported" and item["open"] is True and item["status"] == "visible"
    assert item["report_count"] == 2 and item["locked"] is False
    assert item["content"]["body"] == "Un commento sgradevole."
    assert item["content"]["author"] == {"id": str(scene.author.id), "display_name": "Giulia"}
    assert item["content"]["on_target_type"] == "proposal"
    assert item["content"]["on_target_id"] == str(scene.proposal.id)
    # Newest first (the tests' requests share one transaction, hence one clock: by id then).
    reports = {r["reporter"]["id"]: r for r in item["reports"]}
    assert {r["reporter"]["display_name"] for r in item["reports"]} == {
        "Segnalatore 1",
        "Segnalatore 2",
    }
    assert reports[str(reporters[0].id)]["reason"] == "offensive"
    assert reports[str(reporters[0].id)]["details"] == "Offende"
    assert reports[str(reporters[1].id)]["details"] is None
    assert item["history"] == []
    proposal_item = items["proposal"]
    assert proposal_item["content"]["title"] == scene.proposal.title
    assert proposal_item["content"]["body"].startswith("Aprire le biblioteche")
    # Never an email address.
    for person in (*reporters, scene.author):
        assert person.email not in response.text


async def test_who_sees_which_queue(client, session):
    scene_a = await make_scene(session)
    scene_b = await make_scene(session)
    admin_a = await _make_admin(session, scene_a)
    root = await make_user(session, platform_admin=True)
    reporter = await make_user(session)
    await commit_setup(session)
    assert (await report(client, reporter, "proposal", scene_a.proposal.id)).status_code == 201
    assert (await report(client, reporter, "proposal", scene_b.proposal.id)).status_code == 201

    def ids(response):
        assert response.status_code == 200, response.text
        return [i["target_id"] for i in response.json()["items"]]

    # Table A's facilitator: table A only.
    assert ids(await client.get(table_queue(scene_a), headers=bearer(scene_a.facilitator))) == [
        str(scene_a.proposal.id)
    ]
    for url in (table_queue(scene_b), org_queue(scene_a), org_queue(scene_b)):
        assert_problem(await client.get(url, headers=bearer(scene_a.facilitator)), 404)
    # Members, reporters and strangers: nothing.
    for person in (scene_a.member, reporter):
        assert_problem(await client.get(table_queue(scene_a), headers=bearer(person)), 404)
        assert_problem(await client.get(org_queue(scene_a), headers=bearer(person)), 404)
    assert_problem(await client.get(table_queue(scene_a)), 401)
    # Organization admins: their organization's queues; platform admins: all.
    assert ids(await client.get(table_queue(scene_a), headers=bearer(admin_a))) == [
        str(scene_a.proposal.id)
    ]
    assert ids(await client.get(org_queue(scene_a), headers=bearer(admin_a))) == [
        str(scene_a.proposal.id)
    ]
    assert_problem(await client.get(org_queue(scene_b), headers=bearer(admin_a)), 404)
    assert_problem(await client.get(table_queue(scene_b), headers=bearer(admin_a)), 404)
    assert ids(await client.get(org_queue(scene_b), headers=bearer(root))) == [
        str(scene_b.proposal.id)
    ]


async def test_the_organization_queue_has_people_and_plan_node_comments(client, session):
    scene = await make_scene(session)
    admin = await _make_admin(session, scene)
    node_comment = await make_comment(
        session, scene.author, "plan_node", scene.node.id, organization_id=scene.org.id
    )
    reporter = await make_user(session)
    await commit_setup(session)
    assert (await report(client, reporter, "comment", node_comment.id)).status_code == 201
    response = await report(client, reporter, "user", scene.author.id, organization=scene.org.slug)
    assert response.status_code == 201

    response = await client.get(org_queue(scene), headers=bearer(admin))
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert sorted((i["target_type"], i["table_id"]) for i in items) == [
        ("comment", None),
        ("user", None),
    ]
    person = next(i for i in items if i["target_type"] == "user")
    assert person["content"]["display_name"] == "Giulia" and person["status"] is None
    assert scene.author.email not in response.text
    # Neither is in the table's queue.
    table_items = (await client.get(table_queue(scene), headers=bearer(admin))).json()["items"]
    assert table_items == []


async def test_filters_by_state_and_target_type(client, session):
    scene = await make_scene(session)
    pending = await make_pending_comment(session, scene, scene.member)
    reporters = await make_people(session, 3)
    await commit_setup(session)
    for person in reporters:  # hides the meeting
        assert (await report(client, person, "meeting", scene.meeting.id)).status_code == 201
    assert (await report(client, reporters[0], "proposal", scene.proposal.id)).status_code == 201
    headers = bearer(scene.facilitator)

    async def targets(query):
        response = await client.get(table_queue(scene) + query, headers=headers)
        assert response.status_code == 200, response.text
        return sorted((i["target_type"], i["state"]) for i in response.json()["items"])

    assert await targets("") == [
        ("comment", "pending"),
        ("meeting", "hidden"),
        ("proposal", "reported"),
    ]
    assert await targets("?state=pending") == [("comment", "pending")]
    assert await targets("?state=hidden") == [("meeting", "hidden")]
    assert await targets("?state=reported") == [("proposal", "reported")]
    assert await targets("?target_type=meeting") == [("meeting", "hidden")]
    assert await targets("?target_type=meeting&state=reported") == []
    assert_problem(await client.get(table_queue(scene) + "?state=nope", headers=headers), 422)
    # Reviewed items leave the queue.
    assert (
        await act(client, scene.facilitator, "comment", pending.id, "approve")
    ).status_code == 200
    assert await targets("?state=pending") == []


async def test_pages_go_oldest_first_and_new_reports_keep_an_items_place(client, session):
    scene = await make_scene(session)
    proposals = [
        await make_proposal(session, scene.table, scene.author, title=f"Proposta {i}")
        for i in range(5)
    ]
    reporters = await make_people(session, 2)
    await commit_setup(session)
    for p in proposals:
        assert (await report(client, reporters[0], "proposal", p.id)).status_code == 201
    # Make the order explicit: proposal i entered the queue i minutes ago… reversed.
    base = datetime.now(UTC) - timedelta(hours=1)
    for i, p in enumerate(proposals):
        await session.exec(
            update(Moderation)
            .where(col(Moderation.target_id) == p.id)
            .values(updated_at=base + timedelta(minutes=i))
        )
    await commit_setup(session)
    # A second report of the oldest item does not send it to the back.
    assert (await report(client, reporters[1], "proposal", proposals[0].id)).status_code == 201

    seen, cursor = [], None
    while True:
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        response = await client.get(table_queue(scene) + query, headers=bearer(scene.facilitator))
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= 2
        seen += [i["target_id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [str(p.id) for p in proposals]


async def test_history_shows_the_latest_audit_entries_newest_first(client, session):
    scene = await make_scene(session)
    reporter = await make_user(session)
    await commit_setup(session)
    pid = scene.proposal.id
    for action in ("lock", "unlock", "lock"):
        assert (await act(client, scene.facilitator, "proposal", pid, action)).status_code == 200
    assert (await report(client, reporter, "proposal", pid)).status_code == 201
    response = await client.get(table_queue(scene), headers=bearer(scene.facilitator))
    (item,) = response.json()["items"]
    assert item["locked"] is True
    assert [h["action"] for h in item["history"]] == [
        "moderation.lock",
        "moderation.unlock",
        "moderation.lock",
    ]
    assert item["history"][0]["actor"] == {
        "id": str(scene.facilitator.id),
        "display_name": "Facilitatrice",
    }


async def test_a_page_costs_the_same_number_of_queries_whatever_its_size(
    client, session, query_counter
):
    scene = await make_scene(session)
    reporters = await make_people(session, 2)
    small = await make_scene(session)
    await commit_setup(session)

    async def fill(target_scene, count):
        for i in range(count):
            p = await make_proposal(session, target_scene.table, target_scene.author)
            c = await make_comment(
                session,
                target_scene.author,
                "proposal",
                p.id,
                organization_id=target_scene.org.id,
                table_id=target_scene.table.id,
            )
            m = await make_pending_comment(session, target_scene, target_scene.member)
            await commit_setup(session)
            for reporter in reporters:
                assert (await report(client, reporter, "proposal", p.id)).status_code == 201
                assert (await report(client, reporter, "comment", c.id)).status_code == 201
            assert (
                await act(client, target_scene.facilitator, "proposal", p.id, "lock")
            ).status_code == 200
            del m, i

    await fill(small, 1)
    await fill(scene, 8)

    async def count_queries(target_scene):
        query_counter.reset()
        response = await client.get(
            table_queue(target_scene) + "?limit=100", headers=bearer(target_scene.facilitator)
        )
        assert response.status_code == 200, response.text
        return query_counter.count, len(response.json()["items"])

    few, few_items = await count_queries(small)
    many, many_items = await count_queries(scene)
    assert (few_items, many_items) == (3, 24)
    assert few == many, query_counter.statements
    assert many <= 10, query_counter.statements
