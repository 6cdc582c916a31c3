"""Suspensions: who may suspend and lift, the effect on sessions and on every write path
of the organization (and only that organization), timed suspensions ending by themselves,
and one suspension in force under real concurrency."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from sqlmodel import col, select

from app.db import get_sessionmaker
from app.models.accounts import RefreshToken, User
from app.models.comments import Comment
from app.models.moderation import AuditEntry, Report, Suspension
from app.models.organizations import OrganizationRole
from app.security import create_access_token
from tests.factories import (
    PASSWORD_HASH,
    Scene,
    add_member,
    commit_setup,
    make_comment,
    make_proposal,
    make_scene,
    make_user,
)
from tests.helpers import assert_problem, bearer, comments_url, login, refresh


def fresh_bearer(user: User) -> dict[str, str]:
    """An access token issued a few milliseconds ago: most likely within the same second
    as the suspension that follows, which must stop it all the same."""
    token, _ = create_access_token(user.id, now=datetime.now(UTC) - timedelta(milliseconds=5))
    return {"Authorization": f"Bearer {token}"}


async def make_admin(session, scene: Scene, name: str = "Admin") -> User:
    admin = await make_user(session, name=name)
    session.add(OrganizationRole(organization_id=scene.org.id, user_id=admin.id, role="admin"))
    await session.flush()
    return admin


def suspensions_url(scene: Scene, user_id: uuid.UUID | None = None) -> str:
    base = f"/v1/organizations/{scene.org.slug}/suspensions"
    return f"{base}/{user_id}" if user_id else base


async def suspend(client, scene: Scene, admin: User, person: User, **body):
    body.setdefault("reason", "Messaggi offensivi ripetuti")
    return await client.post(suspensions_url(scene, person.id), json=body, headers=bearer(admin))


def proposal_body(scene: Scene) -> dict[str, object]:
    return {
        "title": "Più panchine nei parchi",
        "body": "Servono più panchine all'ombra nei parchi di quartiere.",
        "node_ids": [str(scene.node.id)],
    }


async def write_attempts(client, scene: Scene, person: User) -> dict[str, int]:
    """The person's writes in the scene's organization: name -> status."""
    headers = bearer(person)
    proposal, poll, meeting = scene.proposal.id, scene.poll.id, scene.meeting.id
    option = str(scene.options[0].id)
    attempts = {
        "proposal": client.post(
            f"/v1/tables/{scene.table.id}/proposals", json=proposal_body(scene), headers=headers
        ),
        "support": client.put(f"/v1/proposals/{proposal}/support", headers=headers),
        "comment": client.post(
            f"/v1/proposals/{proposal}/comments", json={"body": "Sono d'accordo"}, headers=headers
        ),
        "ballot": client.post(
            f"/v1/polls/{poll}/ballots", json={"option_ids": [option]}, headers=headers
        ),
        "registration": client.post(f"/v1/meetings/{meeting}/registrations", headers=headers),
        "report": client.post(
            "/v1/reports",
            json={"target_type": "proposal", "target_id": str(proposal), "reason": "spam"},
            headers=headers,
        ),
    }
    results = {}
    for name, request in attempts.items():
        response = await request
        results[name] = response.status_code
        if response.status_code == 403:
            assert_problem(response, 403, "suspended")
    return results


async def test_suspension_ends_sessions_and_blocks_writes_in_that_organization_only(
    client, session
):
    scene = await make_scene(session)
    admin = await make_admin(session, scene)
    other = await make_scene(session)
    person = scene.member
    await add_member(session, other.table, person)
    await commit_setup(session)
    old_headers = fresh_bearer(person)
    signed_in = await login(client, person.email)
    assert (await client.get("/v1/me", headers=old_headers)).status_code == 200

    response = await suspend(client, scene, admin, person)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["active"] is True and body["ends_at"] is None
    assert body["user"] == {"id": str(person.id), "display_name": "Marco"}
    assert body["organization_id"] == str(scene.org.id)
    assert body["created_by_id"] == str(admin.id)

    # Their sessions end at once: the access token and the refresh token.
    assert_problem(await client.get("/v1/me", headers=old_headers), 401)
    assert_problem(
        await refresh(client, signed_in["refresh_token"]),
        401,
        "invalid_grant",
    )
    live = (
        await session.exec(
            select(RefreshToken).where(
                col(RefreshToken.user_id) == person.id, col(RefreshToken.revoked_at).is_(None)
            )
        )
    ).all()
    assert live == []

    # They may sign in again and read, but not write in this organization…
    assert (await login(client, person.email))["access_token"]
    assert (
        await client.get(f"/v1/proposals/{scene.proposal.id}", headers=bearer(person))
    ).status_code == 200
    assert set((await write_attempts(client, scene, person)).values()) == {403}
    refused = await client.put(f"/v1/proposals/{scene.proposal.id}/support", headers=bearer(person))
    assert "until it is lifted" in assert_problem(refused, 403, "suspended")["detail"]
    # …while in another organization everything works.
    assert set((await write_attempts(client, other, person)).values()) <= {200, 201}

    audit = (
        await session.exec(
            select(AuditEntry).where(
                col(AuditEntry.target_id) == person.id,
                col(AuditEntry.action) == "suspension.created",
            )
        )
    ).one()
    assert audit.organization_id == scene.org.id and audit.actor_id == admin.id
    assert audit.reason == "Messaggi offensivi ripetuti"
    assert audit.data["suspension_id"] == body["id"]


async def test_every_write_path_is_refused_while_suspended(client, session):
    scene = await make_scene(session)
    admin = await make_admin(session, scene)
    person = scene.author  # wrote the scene's proposal
    own_comment = await make_comment(
        session,
        person,
        "proposal",
        scene.proposal.id,
        organization_id=scene.org.id,
        table_id=scene.table.id,
    )
    others_comment = await make_comment(
        session,
        scene.member,
        "proposal",
        scene.proposal.id,
        organization_id=scene.org.id,
        table_id=scene.table.id,
    )
    draft = await make_proposal(session, scene.table, person, status="draft")
    await commit_setup(session)
    assert (await suspend(client, scene, admin, person)).status_code == 201
    headers = bearer(person)

    attempts = {
        "edit proposal": client.patch(
            f"/v1/proposals/{draft.id}",
            json={"title": "Titolo nuovo e diverso"},
            headers={**headers, "If-Match": '"1"'},
        ),
        "publish": client.post(f"/v1/proposals/{draft.id}/publish", headers=headers),
        "edit comment": client.patch(
            f"/v1/comments/{own_comment.id}", json={"body": "Testo corretto"}, headers=headers
        ),
        "vote": client.put(
            f"/v1/comments/{others_comment.id}/vote", json={"value": 1}, headers=headers
        ),
    }
    for name, request in attempts.items():
        response = await request
        assert response.status_code == 403, (name, response.text)
        assert_problem(response, 403, "suspended")

    # Taking one's own part back stays possible: delete a comment, leave the table…
    assert (
        await client.delete(f"/v1/comments/{own_comment.id}", headers=headers)
    ).status_code == 204
    left = await client.delete(
        f"/v1/tables/{scene.table.id}/memberships/{person.id}", headers=headers
    )
    assert left.status_code == 204, left.text
    # …but not joining again.
    assert_problem(
        await client.post(f"/v1/tables/{scene.table.id}/memberships", headers=headers),
        403,
        "suspended",
    )


async def test_a_timed_suspension_ends_by_itself(client, session):
    scene = await make_scene(session)
    admin = await make_admin(session, scene)
    person = scene.member
    past = datetime.now(UTC) - timedelta(days=10)
    expired = Suspension(
        organization_id=scene.org.id,
        user_id=person.id,
        reason="Vecchia sospensione",
        created_at=past,
        updated_at=past,
        ends_at=past + timedelta(days=3),
        created_by_id=admin.id,
    )
    session.add(expired)
    await commit_setup(session)
    support_url = f"/v1/proposals/{scene.proposal.id}/support"
    assert (await client.put(support_url, headers=bearer(person))).status_code == 201
    listed = await client.get(
        suspensions_url(scene), params={"active": "true"}, headers=bearer(admin)
    )
    assert listed.json()["items"] == []

    # A new, timed suspension: refused until its end, with the end in the answer…
    ends_at = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    created = await suspend(client, scene, admin, person, ends_at=ends_at.isoformat())
    assert created.status_code == 201, created.text
    # …and the one that ran out was closed at its end.
    closed = await session.get(Suspension, expired.id)
    assert closed is not None and closed.lifted_by_id is None
    assert closed.lifted_at == closed.ends_at == past + timedelta(days=3)
    problem = assert_problem(
        await client.post(
            f"/v1/proposals/{scene.proposal.id}/comments",
            json={"body": "Ancora io"},
            headers=bearer(person),
        ),
        403,
        "suspended",
    )
    assert datetime.fromisoformat(problem["suspended_until"]) == ends_at
    assert ends_at.isoformat() in problem["detail"]

    # When the end passes, writing works again without anybody lifting it.
    row = (
        await session.exec(
            select(Suspension).where(
                col(Suspension.user_id) == person.id, col(Suspension.lifted_at).is_(None)
            )
        )
    ).one()
    row.created_at = past
    row.ends_at = datetime.now(UTC) - timedelta(minutes=1)
    session.add(row)
    await commit_setup(session)
    comment = await client.post(
        f"/v1/proposals/{scene.proposal.id}/comments",
        json={"body": "Eccomi di nuovo"},
        headers=bearer(person),
    )
    assert comment.status_code == 201, comment.text
    active = await client.get(
        suspensions_url(scene), params={"active": "false"}, headers=bearer(admin)
    )
    assert len(active.json()["items"]) == 2
    assert {s["active"] for s in active.json()["items"]} == {False}


async def test_lifting_restores_writing(client, session):
    scene = await make_scene(session)
    admin = await make_admin(session, scene)
    person = scene.member
    await commit_setup(session)
    assert (await suspend(client, scene, admin, person)).status_code == 201
    url = f"/v1/proposals/{scene.proposal.id}/support"
    assert_problem(await client.put(url, headers=bearer(person)), 403, "suspended")

    lifted = await client.request(
        "DELETE",
        suspensions_url(scene, person.id),
        json={"reason": "Chiarito con la persona"},
        headers=bearer(admin),
    )
    assert lifted.status_code == 200, lifted.text
    body = lifted.json()
    assert body["active"] is False and body["lift_reason"] == "Chiarito con la persona"
    assert body["lifted_by_id"] == str(admin.id) and body["lifted_at"] is not None
    assert (await client.put(url, headers=bearer(person))).status_code == 201
    # Nothing in force any more: 404; reason by query string works too.
    assert_problem(
        await client.delete(
            suspensions_url(scene, person.id), params={"reason": "x"}, headers=bearer(admin)
        ),
        404,
    )
    actions = (
        await session.exec(
            select(AuditEntry.action, AuditEntry.reason)
            .where(col(AuditEntry.target_id) == person.id)
            .order_by(col(AuditEntry.seq))
        )
    ).all()
    assert actions == [
        ("suspension.created", "Messaggi offensivi ripetuti"),
        ("suspension.lifted", "Chiarito con la persona"),
    ]
    # Suspended again later: a new row, lifted with ?reason=.
    assert (await suspend(client, scene, admin, person)).status_code == 201
    again = await client.delete(
        suspensions_url(scene, person.id), params={"reason": "Basta così"}, headers=bearer(admin)
    )
    assert again.status_code == 200 and again.json()["lift_reason"] == "Basta così"


async def test_who_may_suspend_and_whom(client, session):
    scene = await make_scene(session)
    admin = await make_admin(session, scene)
    co_admin = await make_admin(session, scene, name="Co-admin")
    platform_admin = await make_user(session, platform_admin=True)
    other = await make_scene(session)
    other_admin = await make_admin(session, other, name="Altra admin")
    person = scene.member
    await commit_setup(session)
    url = suspensions_url(scene, person.id)
    body = {"reason": "Spam"}

    # Another organization's admin, a facilitator, a member: the organization is a 404.
    for outsider in (other_admin, scene.facilitator, scene.author):
        assert_problem(await client.post(url, json=body, headers=bearer(outsider)), 404)
        assert_problem(await client.delete(url, headers=bearer(outsider)), 404)
        assert_problem(await client.get(suspensions_url(scene), headers=bearer(outsider)), 404)
    assert_problem(await client.post(url, json=body), 401)

    assert_problem(await suspend(client, scene, admin, admin), 422, "cannot_suspend_self")
    assert_problem(await suspend(client, scene, admin, co_admin), 409, "cannot_suspend_admin")
    await add_member(session, scene.table, platform_admin)
    await commit_setup(session)
    assert_problem(await suspend(client, scene, admin, platform_admin), 409, "cannot_suspend_admin")
    # Staff lose their role before they can be suspended (they would keep moderating).
    assert_problem(
        await suspend(client, scene, admin, scene.facilitator), 409, "cannot_suspend_facilitator"
    )
    # Someone with no tie to the organization is beyond its reach: as if unknown.
    stranger = await make_user(session, name="Estranea")
    other_person = await make_user(session, name="Di Milano")
    await add_member(session, other.table, other_person)
    await commit_setup(session)
    for unreachable in (stranger, other_person):
        response = await suspend(client, scene, admin, unreachable)
        assert_problem(response, 404)
        assert "Estranea" not in response.text and "Di Milano" not in response.text
    reported = await make_user(session, name="Segnalata")
    await commit_setup(session)
    await client.post(
        "/v1/reports",
        json={
            "target_type": "user",
            "target_id": str(reported.id),
            "reason": "offensive",
            "organization": scene.org.slug,
        },
        headers=bearer(scene.author),
    )
    assert (await suspend(client, scene, admin, reported)).status_code == 201
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    assert_problem(
        await suspend(client, scene, admin, person, ends_at=past), 422, "ends_at_in_past"
    )
    assert_problem(
        await suspend(client, scene, admin, person, ends_at="2999-01-01T10:00:00"),
        422,
        "timezone_required",
    )
    assert_problem(
        await client.post(suspensions_url(scene, uuid.uuid4()), json=body, headers=bearer(admin)),
        404,
    )
    assert_problem(await client.post(url, json={"reason": "  "}, headers=bearer(admin)), 422)
    assert_problem(await client.delete(url, headers=bearer(admin)), 404)

    first = await client.post(url, json=body, headers=bearer(platform_admin))
    assert first.status_code == 201, first.text
    assert_problem(await suspend(client, scene, admin, person), 409, "already_suspended")
    count = (
        await session.exec(select(Suspension).where(col(Suspension.user_id) == person.id))
    ).all()
    assert len(count) == 1


async def test_list_suspensions_filters_and_pages(client, session):
    scene = await make_scene(session)
    admin = await make_admin(session, scene)
    people = [await make_user(session, name=f"Persona {i}") for i in range(3)]
    for person in people:
        await add_member(session, scene.table, person)
    await commit_setup(session)
    for person in people:
        assert (await suspend(client, scene, admin, person)).status_code == 201
    assert (
        await client.delete(suspensions_url(scene, people[0].id), headers=bearer(admin))
    ).status_code == 200

    seen = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = await client.get(suspensions_url(scene), params=params, headers=bearer(admin))
        assert page.status_code == 200, page.text
        seen += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 3 and len({s["id"] for s in seen}) == 3
    active = await client.get(
        suspensions_url(scene), params={"active": "true"}, headers=bearer(admin)
    )
    assert {s["user"]["id"] for s in active.json()["items"]} == {
        str(people[1].id),
        str(people[2].id),
    }
    one = await client.get(
        suspensions_url(scene), params={"user_id": str(people[0].id)}, headers=bearer(admin)
    )
    assert [s["active"] for s in one.json()["items"]] == [False]
    # Nothing personal beyond the display name.
    assert "email" not in str(seen)


async def test_two_admins_suspending_at_once_make_one_suspension(committing_client):
    async with get_sessionmaker()() as session:
        scene = await make_scene(session)
        admins = [await make_admin(session, scene, name=f"Admin {i}") for i in range(4)]
        person = User(
            email=f"p-{uuid.uuid4().hex[:10]}@example.org",
            password_hash=PASSWORD_HASH,
            display_name="Persona",
            email_verified_at=datetime.now(UTC),
        )
        session.add(person)
        await session.flush()
        await add_member(session, scene.table, person)
        await session.commit()
    url = f"/v1/organizations/{scene.org.slug}/suspensions/{person.id}"
    responses = await asyncio.gather(
        *(committing_client.post(url, json={"reason": "Spam"}, headers=bearer(a)) for a in admins)
    )
    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409]
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"already_suspended"}
    async with get_sessionmaker()() as session:
        rows = (
            await session.exec(select(Suspension).where(col(Suspension.user_id) == person.id))
        ).all()
        audits = (
            await session.exec(
                select(AuditEntry).where(
                    col(AuditEntry.target_id) == person.id,
                    col(AuditEntry.action) == "suspension.created",
                )
            )
        ).all()
    assert len(rows) == 1 and len(audits) == 1


async def test_another_organizations_staff_are_beyond_an_admins_reach(client, session):
    # A suspension signs the person out of the whole platform: Bari's admin cannot do
    # that to Milano's facilitator or admin, even where they took part in Bari.
    scene = await make_scene(session)
    admin = await make_admin(session, scene)
    platform_admin = await make_user(session, platform_admin=True)
    other = await make_scene(session)
    other_admin = await make_admin(session, other, name="Admin di Milano")
    for person in (other.facilitator, other_admin):
        await make_comment(
            session,
            person,
            "proposal",
            scene.proposal.id,
            organization_id=scene.org.id,
            table_id=scene.table.id,
        )
    invited_only = await make_user(session, name="Invitata")
    await add_member(session, scene.table, invited_only, status="invited")
    await commit_setup(session)

    for person in (other.facilitator, other_admin):
        assert_problem(await suspend(client, scene, admin, person), 409, "cannot_suspend_staff")
        assert (await client.get("/v1/me", headers=fresh_bearer(person))).status_code == 200
    # An invitation nobody accepted does not bring someone within reach.
    assert_problem(await suspend(client, scene, admin, invited_only), 404)
    # A platform admin can.
    done = await suspend(client, scene, platform_admin, other.facilitator)
    assert done.status_code == 201, done.text


async def test_suspension_is_read_by_every_kind_of_target(client, session):
    """Comments on every kind of target (plan nodes too, which belong to no table) and
    reports of comments and of people are refused, and nothing is written."""
    scene = await make_scene(session)
    admin = await make_admin(session, scene)
    person = scene.member
    others_comment = await make_comment(
        session,
        scene.author,
        "proposal",
        scene.proposal.id,
        organization_id=scene.org.id,
        table_id=scene.table.id,
    )
    await commit_setup(session)
    assert (await suspend(client, scene, admin, person)).status_code == 201
    headers = bearer(person)
    for target_type in ("proposal", "meeting", "poll", "plan_node"):
        url = comments_url(target_type, scene.target(target_type))
        refused = await client.post(url, json={"body": "Sono d'accordo"}, headers=headers)
        assert_problem(refused, 403, "suspended")
        assert refused.json()["suspended_until"] is None
    for target_type, target_id, extra in (
        ("comment", others_comment.id, {}),
        ("user", scene.author.id, {"organization": scene.org.slug}),
    ):
        body = {"target_type": target_type, "target_id": str(target_id), "reason": "spam"}
        refused = await client.post("/v1/reports", json={**body, **extra}, headers=headers)
        assert_problem(refused, 403, "suspended")
    written = (await session.exec(select(Comment).where(col(Comment.author_id) == person.id))).all()
    reports = (await session.exec(select(Report).where(col(Report.reporter_id) == person.id))).all()
    assert (written, reports) == ([], [])
    # Reading stays possible.
    listed = await client.get(comments_url("plan_node", scene.node.id), headers=headers)
    assert listed.status_code == 200
