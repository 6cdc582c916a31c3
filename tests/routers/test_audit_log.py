"""The audit log: who may read it, newest first with keyset pages, the filters, the
actor's name without one query per row, and nothing of other organizations."""

import uuid
from datetime import UTC, datetime, timedelta

from app.event_types import EventType
from app.models.moderation import AuditEntry
from app.services.audit.write import record_audit
from tests.factories import commit_setup, make_org, make_user
from tests.helpers import assert_problem, bearer


def url(org) -> str:
    return f"/v1/organizations/{org.slug}/audit-log"


async def _log(session):
    """An organization with an admin and a few audit rows, plus another organization with
    its own admin and rows."""
    admin = await make_user(session, name="Anna Admin")
    org = await make_org(session, admin=admin)
    moderator = await make_user(session, name="Mario Moderatore")
    other_admin = await make_user(session, name="Altra Admin")
    other = await make_org(session, admin=other_admin)
    person, target = uuid.uuid4(), uuid.uuid4()
    record_audit(
        session,
        EventType.SUSPENSION_CREATED,
        organization_id=org.id,
        actor_id=admin.id,
        target_type="user",
        target_id=person,
        reason="Spam",
        data={"suspension_id": str(uuid.uuid4())},
    )
    record_audit(
        session,
        EventType.MODERATION_HIDE,
        organization_id=org.id,
        actor_id=moderator.id,
        target_type="proposal",
        target_id=target,
        reason="Offensivo",
    )
    record_audit(
        session,
        EventType.MODERATION_AUTO_HIDDEN,
        organization_id=org.id,
        actor_id=None,
        target_type="comment",
        target_id=uuid.uuid4(),
    )
    record_audit(
        session,
        EventType.SUSPENSION_LIFTED,
        organization_id=org.id,
        actor_id=admin.id,
        target_type="user",
        target_id=person,
        reason="Chiarito",
    )
    record_audit(
        session,
        EventType.MODERATION_HIDE,
        organization_id=other.id,
        actor_id=other_admin.id,
        target_type="proposal",
        target_id=uuid.uuid4(),
        reason="Altro",
    )
    await session.flush()
    return org, admin, moderator, other, other_admin, person, target


async def test_admins_read_their_log_newest_first_with_actors(client, session):
    org, admin, _, other, other_admin, person, _ = await _log(session)
    platform_admin = await make_user(session, platform_admin=True)
    await commit_setup(session)
    response = await client.get(url(org), headers=bearer(admin))
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [i["action"] for i in items] == [
        "suspension.lifted",
        "moderation.auto_hidden",
        "moderation.hide",
        "suspension.created",
    ]
    assert items[0]["actor"] == {"id": str(admin.id), "display_name": "Anna Admin"}
    assert items[0]["target_id"] == str(person) and items[0]["reason"] == "Chiarito"
    assert items[1]["actor"] is None and items[1]["actor_id"] is None
    assert items[2]["actor"]["display_name"] == "Mario Moderatore"
    assert items[3]["data"]["suspension_id"]
    assert {i["organization_id"] for i in items} == {str(org.id)}
    assert set(items[0]) >= {
        "id",
        "organization_id",
        "actor_id",
        "actor",
        "action",
        "target_type",
        "target_id",
        "reason",
        "data",
        "created_at",
    }
    assert (await client.get(url(org), headers=bearer(platform_admin))).status_code == 200
    # Their own log only.
    theirs = (await client.get(url(other), headers=bearer(other_admin))).json()["items"]
    assert [i["reason"] for i in theirs] == ["Altro"]


async def test_others_get_404(client, session):
    org, _, moderator, _, other_admin, _, _ = await _log(session)
    await commit_setup(session)
    assert_problem(await client.get(url(org), headers=bearer(other_admin)), 404)
    assert_problem(await client.get(url(org), headers=bearer(moderator)), 404)
    assert_problem(
        await client.get("/v1/organizations/nope/audit-log", headers=bearer(other_admin)), 404
    )
    assert_problem(await client.get(url(org)), 401)


async def test_filters(client, session):
    org, admin, moderator, _, _, person, target = await _log(session)
    await commit_setup(session)
    headers = bearer(admin)

    async def actions(**params):
        response = await client.get(url(org), params=params, headers=headers)
        assert response.status_code == 200, response.text
        return [i["action"] for i in response.json()["items"]]

    assert await actions(action="moderation.hide") == ["moderation.hide"]
    # A family: every action of that kind.
    assert await actions(action="suspension") == ["suspension.lifted", "suspension.created"]
    assert await actions(action="moderation") == ["moderation.auto_hidden", "moderation.hide"]
    assert await actions(action="suspension.") == []
    assert await actions(action="suspensio") == []
    assert await actions(action="%") == []
    assert await actions(actor_id=str(admin.id)) == ["suspension.lifted", "suspension.created"]
    assert await actions(actor_id=str(moderator.id)) == ["moderation.hide"]
    assert await actions(target_type="user") == ["suspension.lifted", "suspension.created"]
    assert await actions(target_id=str(target)) == ["moderation.hide"]
    assert await actions(target_type="user", target_id=str(person), action="suspension.lifted") == [
        "suspension.lifted"
    ]
    now = datetime.now(UTC)
    assert len(await actions(since=(now - timedelta(hours=1)).isoformat())) == 4
    assert await actions(since=(now + timedelta(hours=1)).isoformat()) == []
    assert await actions(until=(now - timedelta(hours=1)).isoformat()) == []
    assert len(await actions(until=(now + timedelta(hours=1)).isoformat())) == 4
    assert_problem(
        await client.get(url(org), params={"since": "2024-01-01T10:00:00"}, headers=headers),
        422,
    )
    assert_problem(await client.get(url(org), params={"actor_id": "nope"}, headers=headers), 422)


async def test_keyset_pages_and_bounded_queries(client, session, query_counter):
    org, admin, *_ = await _log(session)
    for i in range(25):
        record_audit(
            session,
            EventType.MODERATION_DISMISS,
            organization_id=org.id,
            actor_id=admin.id if i % 2 else None,
            target_type="comment",
            target_id=uuid.uuid4(),
            reason=f"n{i}",
        )
    await session.flush()
    await commit_setup(session)
    headers = bearer(admin)
    seen: list[str] = []
    cursor = None
    counts = []
    while True:
        params = {"limit": 10, **({"cursor": cursor} if cursor else {})}
        query_counter.reset()
        page = await client.get(url(org), params=params, headers=headers)
        counts.append(query_counter.count)
        assert page.status_code == 200, page.text
        seen += [i["id"] for i in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 29 == len(set(seen))
    # The same few queries for every page, whatever the number of actors on it.
    assert len(set(counts)) == 1, counts
    # Newest first: the last page ends with the oldest row.
    rows = (
        await session.exec(
            AuditEntry.__table__.select()  # type: ignore[attr-defined]
            .where(AuditEntry.__table__.c.organization_id == org.id)  # type: ignore[attr-defined]
            .order_by(AuditEntry.__table__.c.seq.desc())  # type: ignore[attr-defined]
        )
    ).all()
    assert seen == [str(r.id) for r in rows]
    assert_problem(await client.get(url(org), params={"cursor": "garbage"}, headers=headers), 422)
