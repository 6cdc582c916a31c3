"""POST /v1/moderation/actions: hide, unhide, dismiss, approve, lock, unlock — who may act
on what, the transitions, the counters they keep exact, locks on comment threads, and
an audit entry for every action."""

import pytest
from sqlmodel import col, select

from app.models.moderation import AuditEntry, Report
from tests.factories import (
    add_member,
    audit_actions,
    comments_count,
    commit_setup,
    make_comment,
    make_pending_comment,
    make_people,
    make_scene,
    make_user,
    moderation_row,
    status_of,
    undismissed_reports,
)
from tests.helpers import act, assert_problem, bearer, comments_url, report


async def _comment(session, scene, author=None, *, parent=None, target="proposal"):
    target_id = scene.target(target)
    return await make_comment(
        session,
        author or scene.author,
        target,
        target_id,
        organization_id=scene.org.id,
        table_id=None if target == "plan_node" else scene.table.id,
        parent=parent,
    )


async def _reported(client, session, target_type, target_id, count=3):
    people = await make_people(session, count, prefix="Segnalatore")
    await commit_setup(session)
    for person in people:
        response = await report(client, person, target_type, target_id)
        assert response.status_code == 201, response.text


# --- hide and unhide ----------------------------------------------------------------------


async def test_a_moderator_unhides_a_proposal_hidden_by_reports(client, session):
    scene = await make_scene(session)
    await commit_setup(session)
    pid = scene.proposal.id
    await _reported(client, session, "proposal", pid)
    assert await status_of(session, "proposal", pid) == "hidden"

    response = await act(client, scene.facilitator, "proposal", pid, "unhide", reason="Legittima")
    assert response.status_code == 200, response.text
    item = response.json()
    assert item["target_type"] == "proposal" and item["target_id"] == str(pid)
    assert item["status"] == "visible" and item["state"] == "closed" and item["open"] is False
    assert item["report_count"] == 0 and item["hidden_by"] is None
    assert item["reviewed_by"] == {"id": str(scene.facilitator.id), "display_name": "Facilitatrice"}
    assert len(item["reports"]) == 3 and all(r["dismissed_at"] for r in item["reports"])
    assert [h["action"] for h in item["history"]] == [
        "moderation.unhide",
        "moderation.auto_hidden",
    ]
    assert item["history"][0]["reason"] == "Legittima"
    assert item["history"][0]["actor"]["id"] == str(scene.facilitator.id)

    assert await status_of(session, "proposal", pid) == "visible"
    row = await moderation_row(session, "proposal", pid)
    assert row is not None
    assert (row.report_count, row.open, row.hidden_at, row.hidden_by) == (0, False, None, None)
    assert row.reviewed_by_id == scene.facilitator.id and row.reviewed_at is not None
    assert await undismissed_reports(session, row.id) == 0
    # Visible again to everyone.
    bystander = await make_user(session)
    await commit_setup(session)
    assert (await client.get(f"/v1/proposals/{pid}", headers=bearer(bystander))).status_code == 200


async def test_hiding_a_comment_decrements_comments_count_and_unhiding_restores_it(client, session):
    scene = await make_scene(session)
    first = await _comment(session, scene)
    await _comment(session, scene, scene.member)
    await commit_setup(session)
    pid = scene.proposal.id
    assert await comments_count(session, pid) == 2

    hidden = await act(client, scene.facilitator, "comment", first.id, "hide")
    assert hidden.status_code == 200, hidden.text
    assert hidden.json()["status"] == "hidden" and hidden.json()["hidden_by"] == "moderator"
    assert await status_of(session, "comment", first.id) == "hidden"
    assert await comments_count(session, pid) == 1
    # Hiding twice is refused and changes nothing.
    assert_problem(
        await act(client, scene.facilitator, "comment", first.id, "hide"), 409, "already_hidden"
    )
    assert await comments_count(session, pid) == 1

    shown = await act(client, scene.facilitator, "comment", first.id, "unhide")
    assert shown.status_code == 200, shown.text
    assert await status_of(session, "comment", first.id) == "visible"
    assert await comments_count(session, pid) == 2
    assert_problem(
        await act(client, scene.facilitator, "comment", first.id, "unhide"), 409, "not_hidden"
    )
    assert await comments_count(session, pid) == 2


async def test_a_deleted_comment_moves_no_counter(client, session):
    scene = await make_scene(session)
    comment = await _comment(session, scene)
    await commit_setup(session)
    assert (
        await client.delete(f"/v1/comments/{comment.id}", headers=bearer(scene.author))
    ).status_code == 204
    assert await comments_count(session, scene.proposal.id) == 0
    assert (await act(client, scene.facilitator, "comment", comment.id, "hide")).status_code == 200
    assert (
        await act(client, scene.facilitator, "comment", comment.id, "unhide")
    ).status_code == 200
    assert await comments_count(session, scene.proposal.id) == 0


async def test_hide_confirms_a_hiding_by_reports(client, session):
    scene = await make_scene(session)
    await commit_setup(session)
    await _reported(client, session, "meeting", scene.meeting.id)
    response = await act(client, scene.facilitator, "meeting", scene.meeting.id, "hide")
    assert response.status_code == 200, response.text
    item = response.json()
    assert item["hidden_by"] == "moderator" and item["state"] == "closed"
    assert item["report_count"] == 3  # confirmed, not dismissed
    assert await status_of(session, "meeting", scene.meeting.id) == "hidden"


# --- dismiss --------------------------------------------------------------------------------


async def test_dismiss_closes_the_item_and_leaves_the_content_as_it_is(client, session):
    scene = await make_scene(session)
    await commit_setup(session)
    pid = scene.proposal.id
    await _reported(client, session, "proposal", pid, count=2)

    response = await act(client, scene.facilitator, "proposal", pid, "dismiss")
    assert response.status_code == 200, response.text
    item = response.json()
    assert item["state"] == "closed" and item["status"] == "visible" and item["report_count"] == 0
    assert item["history"][0]["action"] == "moderation.dismiss"
    assert item["history"][0]["data"]["dismissed_reports"] == 2
    assert await status_of(session, "proposal", pid) == "visible"
    assert_problem(
        await act(client, scene.facilitator, "proposal", pid, "dismiss"), 409, "nothing_to_dismiss"
    )


@pytest.mark.parametrize("target_type", ["proposal", "comment", "meeting"])
async def test_dismissing_what_the_reports_hid_is_refused(client, session, target_type):
    # Dismissed, it would stay hidden with no reports, out of every queue: orphaned.
    scene = await make_scene(session)
    target_id = (
        (await _comment(session, scene)).id
        if target_type == "comment"
        else scene.target(target_type)
    )
    await commit_setup(session)
    await _reported(client, session, target_type, target_id)
    assert await status_of(session, target_type, target_id) == "hidden"
    before = await moderation_row(session, target_type, target_id)
    assert before is not None and before.hidden_by == "reports" and before.open

    refused = await act(client, scene.facilitator, target_type, target_id, "dismiss")
    body = assert_problem(refused, 409, "hidden_by_reports")
    assert "unhide" in body["detail"] and "hide" in body["detail"]
    # Nothing changed: still hidden by the reports, counted, in the queue.
    row = await moderation_row(session, target_type, target_id)
    assert row is not None
    assert (row.report_count, row.open, row.hidden_by) == (3, True, "reports")
    assert await undismissed_reports(session, row.id) == 3
    assert await status_of(session, target_type, target_id) == "hidden"
    assert [e.action for e in await audit_actions(session, target_type, target_id)] == [
        "moderation.auto_hidden"
    ]
    queue = await client.get(
        f"/v1/tables/{scene.table.id}/moderation", headers=bearer(scene.facilitator)
    )
    assert queue.status_code == 200, queue.text
    assert str(target_id) in [item["target_id"] for item in queue.json()["items"]]

    # The moderator decides instead: restore it, or confirm the hiding.
    restored = await act(client, scene.facilitator, target_type, target_id, "unhide")
    assert restored.status_code == 200, restored.text
    assert restored.json()["status"] == "visible" and restored.json()["open"] is False
    assert await status_of(session, target_type, target_id) == "visible"


# --- approve --------------------------------------------------------------------------------


async def test_approving_a_pending_comment_publishes_and_counts_it(client, session):
    scene = await make_scene(session)
    await _comment(session, scene)
    pending = await make_pending_comment(session, scene, scene.member)
    await commit_setup(session)
    pid = scene.proposal.id
    assert await comments_count(session, pid) == 1

    response = await act(client, scene.facilitator, "comment", pending.id, "approve")
    assert response.status_code == 200, response.text
    item = response.json()
    assert item["status"] == "visible" and item["state"] == "closed"
    assert item["content"]["body"] == "In attesa."
    assert await status_of(session, "comment", pending.id) == "visible"
    assert await comments_count(session, pid) == 2
    row = await moderation_row(session, "comment", pending.id)
    assert row is not None and row.pending is False and row.open is False

    assert_problem(
        await act(client, scene.facilitator, "comment", pending.id, "approve"), 409, "not_pending"
    )
    assert await comments_count(session, pid) == 2


async def test_hiding_a_pending_comment_rejects_it_without_counting(client, session):
    scene = await make_scene(session)
    pending = await make_pending_comment(session, scene, scene.member)
    await commit_setup(session)
    response = await act(client, scene.facilitator, "comment", pending.id, "hide")
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "closed"
    assert await status_of(session, "comment", pending.id) == "hidden"
    assert await comments_count(session, scene.proposal.id) == 0
    # Dismissing reports of pending content that has none is refused (approve or hide it).
    other = await make_pending_comment(session, scene, scene.member)
    await commit_setup(session)
    assert_problem(
        await act(client, scene.facilitator, "comment", other.id, "dismiss"),
        409,
        "nothing_to_dismiss",
    )


# --- locks ----------------------------------------------------------------------------------


async def test_locking_a_proposal_refuses_new_comments_and_replies(client, session):
    scene = await make_scene(session)
    root = await _comment(session, scene)
    await commit_setup(session)
    url = comments_url("proposal", scene.proposal.id)
    comment = {"body": "Un nuovo commento.", "alignment": "neutral"}
    reply = {**comment, "parent_id": str(root.id)}

    locked = await act(client, scene.facilitator, "proposal", scene.proposal.id, "lock")
    assert locked.status_code == 200, locked.text
    assert locked.json()["locked"] is True and locked.json()["locked_at"]
    assert locked.json()["state"] == "closed"  # a lock does not open an item
    for body in (comment, reply):
        response = await client.post(url, json=body, headers=bearer(scene.member))
        assert_problem(response, 409, "thread_locked")
    assert await comments_count(session, scene.proposal.id) == 1
    # Clients can tell before trying: the proposal says so, in lists too.
    shown = (await client.get(f"/v1/proposals/{scene.proposal.id}")).json()
    assert shown["comments_locked"] is True
    listed = (await client.get(f"/v1/tables/{scene.table.id}/proposals")).json()["items"]
    assert [p["comments_locked"] for p in listed if p["id"] == str(scene.proposal.id)] == [True]
    assert_problem(
        await act(client, scene.facilitator, "proposal", scene.proposal.id, "lock"),
        409,
        "already_locked",
    )

    unlocked = await act(client, scene.facilitator, "proposal", scene.proposal.id, "unlock")
    assert unlocked.status_code == 200, unlocked.text
    assert unlocked.json()["locked"] is False
    shown = (await client.get(f"/v1/proposals/{scene.proposal.id}")).json()
    assert shown["comments_locked"] is False
    for body in (comment, reply):
        response = await client.post(url, json=body, headers=bearer(scene.member))
        assert response.status_code == 201, response.text
    assert await comments_count(session, scene.proposal.id) == 3
    assert_problem(
        await act(client, scene.facilitator, "proposal", scene.proposal.id, "unlock"),
        409,
        "not_locked",
    )


async def test_locking_a_root_comment_closes_its_thread_only(client, session):
    scene = await make_scene(session)
    root = await _comment(session, scene)
    child = await _comment(session, scene, scene.member, parent=root)
    other_root = await _comment(session, scene, scene.member)
    await commit_setup(session)
    url = comments_url("proposal", scene.proposal.id)

    assert_problem(
        await act(client, scene.facilitator, "comment", child.id, "lock"), 422, "not_a_thread_root"
    )
    assert (await act(client, scene.facilitator, "comment", root.id, "lock")).status_code == 200
    thread = (await client.get(url)).json()["items"]
    assert {c["id"]: c["replies_locked"] for c in thread} == {
        str(root.id): True,
        str(other_root.id): False,
    }
    for parent in (root, child):
        body = {"body": "Risposta.", "alignment": "neutral", "parent_id": str(parent.id)}
        response = await client.post(url, json=body, headers=bearer(scene.author))
        assert_problem(response, 409, "thread_locked")
    # The rest of the discussion goes on.
    for body in (
        {"body": "Nuovo filone.", "alignment": "neutral"},
        {"body": "Risposta.", "alignment": "neutral", "parent_id": str(other_root.id)},
    ):
        response = await client.post(url, json=body, headers=bearer(scene.author))
        assert response.status_code == 201, response.text

    assert (await act(client, scene.facilitator, "comment", root.id, "unlock")).status_code == 200
    body = {"body": "Risposta.", "alignment": "neutral", "parent_id": str(child.id)}
    assert (await client.post(url, json=body, headers=bearer(scene.author))).status_code == 201


@pytest.mark.parametrize("target_type", ["meeting", "poll", "plan_node"])
async def test_locking_other_thread_hosts(client, session, target_type):
    scene = await make_scene(session)
    await commit_setup(session)
    moderator = scene.facilitator
    if target_type == "plan_node":
        # Plan nodes belong to no table: their moderators are the organization's admins.
        moderator = await make_user(session, name="Admin")
        from app.models.organizations import OrganizationRole

        session.add(
            OrganizationRole(organization_id=scene.org.id, user_id=moderator.id, role="admin")
        )
        await commit_setup(session)
    target_id = scene.target(target_type)
    assert (await act(client, moderator, target_type, target_id, "lock")).status_code == 200
    url = comments_url(target_type, target_id)
    body = {"body": "Commento.", "alignment": "neutral"}
    assert_problem(
        await client.post(url, json=body, headers=bearer(scene.member)), 409, "thread_locked"
    )
    assert (await act(client, moderator, target_type, target_id, "unlock")).status_code == 200
    assert (await client.post(url, json=body, headers=bearer(scene.member))).status_code == 201


# --- who may act ----------------------------------------------------------------------------


async def test_a_facilitator_cannot_act_on_another_tables_content(client, session):
    scene_a = await make_scene(session)
    scene_b = await make_scene(session)
    comment_b = await _comment(session, scene_b)
    node_comment = await _comment(session, scene_a, target="plan_node")
    await commit_setup(session)
    facilitator_a = scene_a.facilitator
    for target_type, target_id, action in [
        ("proposal", scene_b.proposal.id, "hide"),
        ("comment", comment_b.id, "hide"),
        ("meeting", scene_b.meeting.id, "hide"),
        ("poll", scene_b.poll.id, "lock"),
        ("proposal", scene_b.proposal.id, "lock"),
        # Plan nodes and comments on them: organization admins only.
        ("plan_node", scene_a.node.id, "lock"),
        ("comment", node_comment.id, "hide"),
    ]:
        response = await act(client, facilitator_a, target_type, target_id, action)
        assert_problem(response, 404, "not_found")
    # Members of the table are not moderators either.
    assert_problem(await act(client, scene_b.member, "proposal", scene_b.proposal.id, "hide"), 404)
    assert await status_of(session, "proposal", scene_b.proposal.id) == "visible"
    assert await status_of(session, "comment", comment_b.id) == "visible"
    assert (await session.exec(select(AuditEntry))).all() == []


async def test_organization_and_platform_admins_moderate_everything_of_theirs(client, session):
    scene = await make_scene(session)
    other = await make_scene(session)
    node_comment = await _comment(session, scene, target="plan_node")
    admin = await make_user(session, name="Admin")
    root = await make_user(session, platform_admin=True, name="Root")
    from app.models.organizations import OrganizationRole

    session.add(OrganizationRole(organization_id=scene.org.id, user_id=admin.id, role="admin"))
    await commit_setup(session)
    assert (await act(client, admin, "comment", node_comment.id, "hide")).status_code == 200
    assert (await act(client, admin, "proposal", scene.proposal.id, "hide")).status_code == 200
    assert (await act(client, admin, "plan_node", scene.node.id, "lock")).status_code == 200
    assert_problem(await act(client, admin, "proposal", other.proposal.id, "hide"), 404)
    assert (await act(client, root, "proposal", other.proposal.id, "hide")).status_code == 200


async def test_people_are_moderated_by_organization_admins_once_reported(client, session):
    scene = await make_scene(session)
    admin = await make_user(session, name="Admin")
    from app.models.organizations import OrganizationRole

    session.add(OrganizationRole(organization_id=scene.org.id, user_id=admin.id, role="admin"))
    await add_member(session, scene.table, admin)
    reporter = await make_user(session)
    await commit_setup(session)
    # Nothing reported: nothing to act on.
    assert_problem(await act(client, admin, "user", scene.author.id, "dismiss"), 404)
    response = await report(client, reporter, "user", scene.author.id, organization=scene.org.slug)
    assert response.status_code == 201
    assert_problem(await act(client, scene.facilitator, "user", scene.author.id, "dismiss"), 404)
    for action in ("hide", "unhide", "approve", "lock"):
        assert_problem(
            await act(client, admin, "user", scene.author.id, action), 422, "action_not_applicable"
        )
    response = await act(client, admin, "user", scene.author.id, "dismiss")
    assert response.status_code == 200, response.text
    item = response.json()
    assert item["content"] == {
        "title": None,
        "body": None,
        "display_name": "Giulia",
        "author": None,
        "on_target_type": None,
        "on_target_id": None,
        "deleted": False,
    }
    assert item["report_count"] == 0 and item["state"] == "closed"


async def test_actions_that_do_not_apply_are_422(client, session):
    scene = await make_scene(session)
    await commit_setup(session)
    for target_type, action in [("poll", "hide"), ("plan_node", "approve"), ("poll", "unhide")]:
        moderator = scene.facilitator
        if target_type == "plan_node":
            moderator = await make_user(session, platform_admin=True)
            await commit_setup(session)
        response = await act(client, moderator, target_type, scene.target(target_type), action)
        assert_problem(response, 422, "action_not_applicable")
    assert_problem(
        await act(client, scene.facilitator, "meeting", scene.meeting.id, "approve"),
        409,
        "not_pending",
    )
    bad = await client.post(
        "/v1/moderation/actions",
        json={"target_type": "proposal", "target_id": str(scene.proposal.id), "action": "hide"},
        headers=bearer(scene.facilitator),
    )
    assert_problem(bad, 422)  # the reason is required
    assert (await session.exec(select(AuditEntry))).all() == []


# --- the audit log ----------------------------------------------------------------------------


async def test_every_action_writes_an_audit_entry(client, session):
    scene = await make_scene(session)
    root = await _comment(session, scene)
    pending = await make_pending_comment(session, scene, scene.member)
    await commit_setup(session)
    await _reported(client, session, "meeting", scene.meeting.id, count=1)
    steps = [
        ("proposal", scene.proposal.id, "hide"),
        ("proposal", scene.proposal.id, "unhide"),
        ("meeting", scene.meeting.id, "dismiss"),
        ("comment", pending.id, "approve"),
        ("comment", root.id, "lock"),
        ("comment", root.id, "unlock"),
    ]
    for i, (target_type, target_id, action) in enumerate(steps):
        reason = f"Motivo {i}"
        response = await act(
            client, scene.facilitator, target_type, target_id, action, reason=reason
        )
        assert response.status_code == 200, response.text
        entries = await audit_actions(session, target_type, target_id)
        last = entries[-1]
        assert last.action == f"moderation.{action}"
        assert last.actor_id == scene.facilitator.id
        assert last.organization_id == scene.org.id
        assert last.reason == reason
        assert last.data["table_id"] == str(scene.table.id)
    everything = (await session.exec(select(AuditEntry.action).order_by(col(AuditEntry.seq)))).all()
    assert everything == [f"moderation.{a}" for _, _, a in steps]
    # Reports were dismissed, not deleted.
    assert len((await session.exec(select(Report))).all()) == 1


async def test_what_is_hidden_or_locked_can_be_found_to_undo_it(client, session):
    scene = await make_scene(session)
    comment = await _comment(session, scene)
    other_table_facilitator = await make_user(session)
    await commit_setup(session)
    queue = f"/v1/tables/{scene.table.id}/moderation"
    headers = bearer(scene.facilitator)

    async def listed(view):
        response = await client.get(queue, params={"view": view}, headers=headers)
        assert response.status_code == 200, response.text
        return [(i["target_type"], i["target_id"]) for i in response.json()["items"]]

    hidden = await act(client, scene.facilitator, "comment", comment.id, "hide", reason="Spam")
    assert hidden.status_code == 200, hidden.text
    locked = await act(
        client, scene.facilitator, "proposal", scene.proposal.id, "lock", reason="Basta"
    )
    assert locked.status_code == 200, locked.text
    # Reviewed, so out of the queue…
    assert await listed("queue") == []
    # …but findable, to undo.
    assert await listed("hidden") == [("comment", str(comment.id))]
    assert await listed("locked") == [("proposal", str(scene.proposal.id))]
    org_hidden = await client.get(
        f"/v1/organizations/{scene.org.slug}/moderation",
        params={"view": "hidden"},
        headers=bearer(scene.facilitator),
    )
    assert_problem(org_hidden, 404)  # the organization's queue is for its admins
    assert_problem(
        await client.get(queue, params={"view": "hidden"}, headers=bearer(other_table_facilitator)),
        404,
    )
    assert_problem(await client.get(queue, params={"view": "all"}, headers=headers), 422)

    await act(client, scene.facilitator, "comment", comment.id, "unhide", reason="Ok")
    await act(client, scene.facilitator, "proposal", scene.proposal.id, "unlock", reason="Ok")
    assert await listed("hidden") == []
    assert await listed("locked") == []
