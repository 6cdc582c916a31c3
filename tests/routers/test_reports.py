"""POST /v1/reports: what may be reported and by whom, once per person and target, and
hiding by reports at the organization's threshold — exactly once under concurrency."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from sqlmodel import col, select

from app.db import get_sessionmaker
from app.models.accounts import User
from app.models.events import Event
from app.models.moderation import AuditEntry, Moderation, Report
from app.models.organizations import OrganizationRole
from tests.factories import (
    audit_actions,
    comments_count,
    commit_setup,
    make_comment,
    make_org,
    make_people,
    make_proposal,
    make_scene,
    make_user,
    moderation_row,
    set_report_threshold,
    status_of,
)
from tests.helpers import act, assert_problem, bearer, report

# --- hiding by reports --------------------------------------------------------------------


async def test_three_reports_hide_a_proposal(client, session):
    scene = await make_scene(session)
    reporters = await make_people(session, 3)
    bystander = await make_user(session, name="Passante")
    twin = await make_proposal(session, scene.table, scene.member, title=scene.proposal.title)
    await commit_setup(session)
    pid = scene.proposal.id
    word = max(scene.proposal.title.split(), key=len)
    table_url = f"/v1/tables/{scene.table.id}/proposals"

    async def seen_by_bystander() -> dict[str, set[str]]:
        headers = bearer(bystander)
        views = {
            "list": await client.get(table_url, headers=headers),
            "search": await client.get(table_url, params={"q": word}, headers=headers),
            "by_comments": await client.get(
                table_url, params={"sort": "comments"}, headers=headers
            ),
            "similar": await client.get(f"/v1/proposals/{twin.id}/similar", headers=headers),
        }
        for name, response in views.items():
            assert response.status_code == 200, (name, response.text)
        return {name: {p["id"] for p in r.json()["items"]} for name, r in views.items()}

    assert all(str(pid) in ids for ids in (await seen_by_bystander()).values())

    first = await report(
        client, reporters[0], "proposal", pid, reason="offensive", details="  Insulti  "
    )
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["target_type"] == "proposal" and body["target_id"] == str(pid)
    assert body["reason"] == "offensive" and body["details"] == "Insulti"
    assert uuid.UUID(body["id"]) and body["created_at"]

    second = await report(client, reporters[1], "proposal", pid)
    assert second.status_code == 201, second.text
    row = await moderation_row(session, "proposal", pid)
    assert row is not None
    assert (row.report_count, row.open, row.hidden_at) == (2, True, None)
    assert await status_of(session, "proposal", pid) == "visible"

    third = await report(client, reporters[2], "proposal", pid, reason="other")
    assert third.status_code == 201, third.text
    row = await moderation_row(session, "proposal", pid)
    assert row is not None
    assert row.report_count == 3 and row.open is True
    assert row.hidden_by == "reports" and row.hidden_at is not None
    assert row.organization_id == scene.org.id and row.table_id == scene.table.id
    assert await status_of(session, "proposal", pid) == "hidden"
    audits = await audit_actions(session, "proposal", pid)
    assert [a.action for a in audits] == ["moderation.auto_hidden"]
    assert audits[0].actor_id is None and audits[0].organization_id == scene.org.id
    assert audits[0].data["report_count"] == 3 and audits[0].data["report_threshold"] == 3
    # The audit also went on the event spine, as did each report.
    events = (
        await session.exec(select(Event.type).where(col(Event.organization_id) == scene.org.id))
    ).all()
    assert events.count("report.created") == 3 and events.count("moderation.auto_hidden") == 1

    # Hidden from people other than its author and its moderators: lists, search, sorts,
    # similar proposals and the proposal itself.
    after = await seen_by_bystander()
    assert all(str(pid) not in ids for ids in after.values()), after
    assert str(twin.id) in after["list"]
    assert_problem(await client.get(f"/v1/proposals/{pid}", headers=bearer(bystander)), 404)
    assert (
        await client.get(f"/v1/proposals/{pid}", headers=bearer(scene.author))
    ).status_code == 200
    # Hidden content can no longer be reported.
    assert_problem(await report(client, bystander, "proposal", pid), 404, "not_found")


async def test_the_organization_threshold_applies(client, session):
    scene = await make_scene(session)
    await set_report_threshold(session, scene.org, 2)
    reporters = await make_people(session, 2)
    await commit_setup(session)
    for reporter in reporters:
        assert (await report(client, reporter, "proposal", scene.proposal.id)).status_code == 201
    assert await status_of(session, "proposal", scene.proposal.id) == "hidden"


async def test_a_nonsense_threshold_falls_back_to_three(client, session):
    scene = await make_scene(session)
    await set_report_threshold(session, scene.org, 0)
    reporters = await make_people(session, 3)
    await commit_setup(session)
    for i, reporter in enumerate(reporters):
        assert (await report(client, reporter, "meeting", scene.meeting.id)).status_code == 201
        expected = "hidden" if i == 2 else "visible"
        assert await status_of(session, "meeting", scene.meeting.id) == expected


async def test_reports_hide_a_comment_and_its_count_drops(client, session):
    scene = await make_scene(session)
    comment = await make_comment(
        session,
        scene.author,
        "proposal",
        scene.proposal.id,
        organization_id=scene.org.id,
        table_id=scene.table.id,
    )
    reporters = await make_people(session, 3)
    await commit_setup(session)
    assert await comments_count(session, scene.proposal.id) == 1
    for reporter in reporters:
        response = await report(client, reporter, "comment", comment.id, reason="personal_data")
        assert response.status_code == 201, response.text
    assert await status_of(session, "comment", comment.id) == "hidden"
    assert await comments_count(session, scene.proposal.id) == 0
    row = await moderation_row(session, "comment", comment.id)
    assert row is not None and row.table_id == scene.table.id
    # A fourth report finds nothing to report.
    late = await make_user(session)
    await commit_setup(session)
    assert_problem(await report(client, late, "comment", comment.id), 404)
    assert await comments_count(session, scene.proposal.id) == 0


async def test_reports_after_a_review_count_afresh(client, session):
    scene = await make_scene(session)
    reporters = await make_people(session, 5)
    await commit_setup(session)
    pid = scene.proposal.id
    for reporter in reporters[:3]:
        assert (await report(client, reporter, "proposal", pid)).status_code == 201
    assert (await act(client, scene.facilitator, "proposal", pid, "unhide")).status_code == 200
    row = await moderation_row(session, "proposal", pid)
    assert row is not None and row.report_count == 0 and row.open is False

    # The people who reported before cannot report again; two new reports stay below 3.
    assert_problem(await report(client, reporters[0], "proposal", pid), 409, "already_reported")
    for reporter in reporters[3:]:
        assert (await report(client, reporter, "proposal", pid)).status_code == 201
    row = await moderation_row(session, "proposal", pid)
    assert row is not None and row.report_count == 2 and row.open is True
    assert await status_of(session, "proposal", pid) == "visible"


# --- once per person ----------------------------------------------------------------------


async def test_a_second_report_of_the_same_target_is_409(client, session):
    scene = await make_scene(session)
    reporter = await make_user(session)
    await commit_setup(session)
    assert (await report(client, reporter, "meeting", scene.meeting.id)).status_code == 201
    again = await report(client, reporter, "meeting", scene.meeting.id, reason="other")
    assert_problem(again, 409, "already_reported")
    row = await moderation_row(session, "meeting", scene.meeting.id)
    assert row is not None and row.report_count == 1
    reports = (await session.exec(select(Report).where(col(Report.moderation_id) == row.id))).all()
    assert [(r.reporter_id, r.reason) for r in reports] == [(reporter.id, "spam")]


# --- what may be reported -----------------------------------------------------------------


async def test_invisible_or_unknown_targets_are_404(client, session):
    scene = await make_scene(session)
    private = await make_scene(session, visibility="private")
    private_comment = await make_comment(
        session,
        private.author,
        "proposal",
        private.proposal.id,
        organization_id=private.org.id,
        table_id=private.table.id,
    )
    draft = await make_proposal(session, scene.table, scene.author, status="draft")
    hidden_comment = await make_comment(
        session,
        scene.author,
        "proposal",
        scene.proposal.id,
        organization_id=scene.org.id,
        table_id=scene.table.id,
    )
    hidden_comment.status = "hidden"
    deleted_comment = await make_comment(
        session,
        scene.author,
        "proposal",
        scene.proposal.id,
        organization_id=scene.org.id,
        table_id=scene.table.id,
    )
    deleted_comment.deleted_at = datetime.now(UTC)
    deleted_comment.body = None
    gone = await make_user(session)
    gone.deleted_at = datetime.now(UTC)
    outsider = await make_user(session, name="Esterno")
    await commit_setup(session)

    cases = [
        ("proposal", private.proposal.id, {}),
        ("meeting", private.meeting.id, {}),
        ("comment", private_comment.id, {}),
        ("proposal", draft.id, {}),
        ("comment", hidden_comment.id, {}),
        ("comment", deleted_comment.id, {}),
        ("proposal", uuid.uuid4(), {}),
        ("comment", uuid.uuid4(), {}),
        ("meeting", uuid.uuid4(), {}),
        ("user", uuid.uuid4(), {"organization": scene.org.slug}),
        ("user", gone.id, {"organization": scene.org.slug}),
        ("user", scene.author.id, {"organization": "no-such-org"}),
    ]
    for target_type, target_id, extra in cases:
        response = await report(client, outsider, target_type, target_id, **extra)
        assert_problem(response, 404, "not_found")
    assert (await session.exec(select(Moderation))).all() == []

    # A member of the private table may report its content.
    assert (
        await report(client, private.member, "proposal", private.proposal.id)
    ).status_code == 201


async def test_reporting_your_own_content_or_yourself_is_422(client, session):
    scene = await make_scene(session)
    comment = await make_comment(
        session,
        scene.author,
        "proposal",
        scene.proposal.id,
        organization_id=scene.org.id,
        table_id=scene.table.id,
    )
    await commit_setup(session)
    for target_type, target_id, extra in [
        ("proposal", scene.proposal.id, {}),
        ("comment", comment.id, {}),
        ("user", scene.author.id, {"organization": scene.org.slug}),
    ]:
        response = await report(client, scene.author, target_type, target_id, **extra)
        assert_problem(response, 422, "own_content")
    assert (await session.exec(select(Moderation))).all() == []


async def test_reporting_a_person_names_the_organization(client, session):
    scene = await make_scene(session)
    other_org = await make_org(session)
    reporter = await make_user(session)
    await commit_setup(session)

    missing = await report(client, reporter, "user", scene.author.id)
    body = assert_problem(missing, 422, "organization_required")
    assert body["errors"][0]["loc"] == ["body", "organization"]
    misplaced = await report(
        client, reporter, "proposal", scene.proposal.id, organization=scene.org.slug
    )
    assert_problem(misplaced, 422, "organization_not_applicable")

    response = await report(
        client, reporter, "user", scene.author.id, reason="offensive", organization=scene.org.slug
    )
    assert response.status_code == 201, response.text
    row = await moderation_row(session, "user", scene.author.id)
    assert row is not None
    assert (row.organization_id, row.table_id, row.report_count) == (scene.org.id, None, 1)
    # People have nothing to hide: past the threshold they are only queued.
    more = await make_people(session, 3)
    await commit_setup(session)
    for person in more:
        again = await report(client, person, "user", scene.author.id, organization=scene.org.slug)
        assert again.status_code == 201, again.text
    row = await moderation_row(session, "user", scene.author.id)
    assert row is not None and row.report_count == 4 and row.hidden_at is None
    assert await audit_actions(session, "user", scene.author.id) == []

    # Another organization gets its own record of the same person: its own queue and
    # count, and nothing that reveals the first organization's review.
    elsewhere = await report(client, reporter, "user", scene.author.id, organization=other_org.slug)
    assert elsewhere.status_code == 201, elsewhere.text
    theirs = await moderation_row(session, "user", scene.author.id, other_org.id)
    ours = await moderation_row(session, "user", scene.author.id, scene.org.id)
    assert theirs is not None and theirs.report_count == 1
    assert ours is not None and ours.report_count == 4
    assert_problem(
        await report(client, reporter, "user", scene.author.id, organization=other_org.slug),
        409,
        "already_reported",
    )

    # Someone who administers both must say which queue a decision is about.
    both = await make_user(session, name="Admin di entrambe")
    for org in (scene.org, other_org):
        session.add(OrganizationRole(organization_id=org.id, user_id=both.id, role="admin"))
    await commit_setup(session)
    unnamed = await act(client, both, "user", scene.author.id, "dismiss")
    assert_problem(unnamed, 422, "organization_required")
    named = await act(client, both, "user", scene.author.id, "dismiss", organization=other_org.slug)
    assert named.status_code == 200, named.text
    theirs = await moderation_row(session, "user", scene.author.id, other_org.id)
    ours = await moderation_row(session, "user", scene.author.id, scene.org.id)
    assert theirs is not None and theirs.report_count == 0
    assert ours is not None and ours.report_count == 4


async def test_comments_on_plan_nodes_have_no_table(client, session):
    scene = await make_scene(session)
    comment = await make_comment(
        session, scene.author, "plan_node", scene.node.id, organization_id=scene.org.id
    )
    reporter = await make_user(session)
    await commit_setup(session)
    assert (await report(client, reporter, "comment", comment.id)).status_code == 201
    row = await moderation_row(session, "comment", comment.id)
    assert row is not None and row.table_id is None and row.organization_id == scene.org.id


async def test_reporting_needs_a_participant_account(client, session):
    scene = await make_scene(session)
    unverified = await make_user(session, verified=False)
    child = await make_user(session, name="Tredicenne")
    child.birth_date = (datetime.now(UTC) - timedelta(days=13 * 366)).date()
    await commit_setup(session)
    body = {"target_type": "proposal", "target_id": str(scene.proposal.id), "reason": "spam"}
    assert_problem(await client.post("/v1/reports", json=body), 401)
    assert_problem(
        await client.post("/v1/reports", json=body, headers=bearer(unverified)),
        403,
        "email_not_verified",
    )
    # Details are free text: under 14, only once a guardian has consented.
    assert_problem(
        await client.post("/v1/reports", json=body, headers=bearer(child)),
        403,
        "guardian_consent_required",
    )


async def test_report_input_is_validated(client, session):
    scene = await make_scene(session)
    reporter = await make_user(session)
    await commit_setup(session)
    for body in [
        {"target_type": "poll", "target_id": str(scene.poll.id), "reason": "spam"},
        {"target_type": "proposal", "target_id": str(scene.proposal.id), "reason": "boring"},
        {"target_type": "proposal", "target_id": "nope", "reason": "spam"},
        {
            "target_type": "proposal",
            "target_id": str(scene.proposal.id),
            "reason": "spam",
            "details": "x" * 2001,
        },
        {"target_type": "proposal", "target_id": str(scene.proposal.id), "reason": "spam", "x": 1},
    ]:
        response = await client.post("/v1/reports", json=body, headers=bearer(reporter))
        assert_problem(response, 422)
    assert (await session.exec(select(Moderation))).all() == []


# --- concurrency (real commits) ---------------------------------------------------------


async def _committed_scene_and_people(count: int):
    async with get_sessionmaker()() as session:
        scene = await make_scene(session)
        now = datetime.now(UTC)
        people = [
            User(
                email=f"reporter-{uuid.uuid4().hex[:12]}@example.org",
                password_hash="x",
                display_name=f"Segnalatore {i}",
                email_verified_at=now,
            )
            for i in range(count)
        ]
        session.add_all(people)
        await session.commit()
        return scene, people


async def test_three_simultaneous_reports_hide_exactly_once(committing_client):
    scene, people = await _committed_scene_and_people(3)
    pid = scene.proposal.id
    responses = await asyncio.gather(
        *(report(committing_client, p, "proposal", pid) for p in people)
    )
    assert [r.status_code for r in responses] == [201] * 3, [r.text for r in responses]
    async with get_sessionmaker()() as session:
        row = await moderation_row(session, "proposal", pid)
        assert row is not None
        assert row.report_count == 3 and row.hidden_by == "reports"
        assert await status_of(session, "proposal", pid) == "hidden"
        audits = await audit_actions(session, "proposal", pid)
        assert [a.action for a in audits] == ["moderation.auto_hidden"]


async def test_a_crowd_of_reports_and_repeats_counts_exactly(committing_client):
    cid_scene, people = await _committed_scene_and_people(12)
    async with get_sessionmaker()() as session:
        comment = await make_comment(
            session,
            cid_scene.author,
            "proposal",
            cid_scene.proposal.id,
            organization_id=cid_scene.org.id,
            table_id=cid_scene.table.id,
        )
        await session.commit()
    # Everyone reports, and four of them twice, all at once.
    requests = [report(committing_client, p, "comment", comment.id) for p in people]
    requests += [report(committing_client, p, "comment", comment.id) for p in people[:4]]
    responses = await asyncio.gather(*requests)
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] * 12 + [409] * 4, [r.text for r in responses if r.status_code > 409]
    async with get_sessionmaker()() as session:
        row = await moderation_row(session, "comment", comment.id)
        assert row is not None and row.report_count == 12
        assert await status_of(session, "comment", comment.id) == "hidden"
        assert await comments_count(session, cid_scene.proposal.id) == 0
        hidden = (
            await session.exec(
                select(AuditEntry.action).where(col(AuditEntry.target_id) == comment.id)
            )
        ).all()
        assert hidden == ["moderation.auto_hidden"]
