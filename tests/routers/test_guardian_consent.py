"""Guardian consent for people under 14: who may record and withdraw it (and for whom),
its effect on writing, the checks, and what is (not) kept."""

import uuid
from datetime import UTC, date, datetime, timedelta

from sqlmodel import col, select

from app.models.accounts import User
from app.models.events import Event
from app.models.moderation import AuditEntry
from app.models.organizations import OrganizationRole
from tests.factories import add_member, commit_setup, make_scene, make_table, make_user
from tests.helpers import assert_problem, bearer

GUARDIAN = "Giovanna Esposito"


def years_ago(years: int, extra_days: int = 100) -> date:
    return datetime.now(UTC).date() - timedelta(days=365 * years + extra_days)


async def make_minor(session, name: str = "Luca", years: int = 13) -> User:
    user = await make_user(session, name=name)
    user.birth_date = years_ago(years)
    session.add(user)
    await session.flush()
    return user


def consents_url(org) -> str:
    return f"/v1/organizations/{org.slug}/guardian-consents"


def consent_body(user: User, **fields):
    return {
        "user_id": str(user.id),
        "guardian_name": GUARDIAN,
        "consented_on": datetime.now(UTC).date().isoformat(),
        **fields,
    }


async def test_consent_lets_a_13_year_old_write_and_withdrawal_stops_it(client, session):
    scene = await make_scene(session)
    minor = await make_minor(session)
    await add_member(session, scene.table, minor)
    await commit_setup(session)
    comments = f"/v1/proposals/{scene.proposal.id}/comments"
    assert_problem(
        await client.post(comments, json={"body": "Ciao a tutti"}, headers=bearer(minor)),
        403,
        "guardian_consent_required",
    )
    me = (await client.get("/v1/me", headers=bearer(minor))).json()
    assert (me["guardian_consent_needed"], me["guardian_consent_at"]) == (True, None)

    day = (datetime.now(UTC).date() - timedelta(days=3)).isoformat()
    recorded = await client.post(
        consents_url(scene.org),
        json=consent_body(minor, consented_on=day, note="Modulo firmato all'incontro"),
        headers=bearer(scene.facilitator),
    )
    assert recorded.status_code == 201, recorded.text
    assert recorded.json() == {
        "user": {"id": str(minor.id), "display_name": "Luca"},
        "consent_required": True,
        "consented_on": day,
        "recorded_by_id": str(scene.facilitator.id),
    }
    written = await client.post(comments, json={"body": "Ciao a tutti"}, headers=bearer(minor))
    assert written.status_code == 201, written.text
    me = (await client.get("/v1/me", headers=bearer(minor))).json()
    assert me["guardian_consent_needed"] is False and me["guardian_consent_at"] is not None
    stored = await session.get(User, minor.id)
    assert stored is not None
    await session.refresh(stored)
    assert stored.guardian_consent_by_id == scene.facilitator.id
    assert stored.guardian_consent_at is not None

    # Audited without the guardian's name, in the audit row and in the event alike.
    audit = (
        await session.exec(
            select(AuditEntry).where(
                col(AuditEntry.target_id) == minor.id,
                col(AuditEntry.action) == "guardian_consent.recorded",
            )
        )
    ).one()
    assert audit.actor_id == scene.facilitator.id and audit.organization_id == scene.org.id
    assert audit.data == {"consented_on": day}
    assert audit.reason == "Modulo firmato all'incontro"
    events = (
        await session.exec(select(Event.payload).where(col(Event.subject_id) == minor.id))
    ).all()
    assert GUARDIAN not in str(events) and GUARDIAN not in str(audit.data)
    # The consent's date stays in the audit row, off the event spine.
    assert events and all("consented_on" not in e and day not in str(e) for e in events)

    assert_problem(
        await client.post(
            consents_url(scene.org), json=consent_body(minor), headers=bearer(scene.facilitator)
        ),
        409,
        "consent_already_recorded",
    )

    # Withdrawal: writing stops again.
    url = f"{consents_url(scene.org)}/{minor.id}"
    assert (
        await client.delete(url, params={"reason": "Ritirato"}, headers=bearer(scene.facilitator))
    ).status_code == 204
    assert_problem(
        await client.post(comments, json={"body": "Di nuovo"}, headers=bearer(minor)),
        403,
        "guardian_consent_required",
    )
    assert_problem(await client.delete(url, headers=bearer(scene.facilitator)), 404)
    actions = (
        await session.exec(
            select(AuditEntry.action)
            .where(col(AuditEntry.target_id) == minor.id)
            .order_by(col(AuditEntry.seq))
        )
    ).all()
    assert actions == ["guardian_consent.recorded", "guardian_consent.withdrawn"]


async def test_only_people_who_can_see_the_person_may_record(client, session):
    scene = await make_scene(session)
    admin = await make_user(session, name="Admin")
    session.add(OrganizationRole(organization_id=scene.org.id, user_id=admin.id, role="admin"))
    minor = await make_minor(session)
    await add_member(session, scene.table, minor)
    # Another table of the same organization, with its own facilitator.
    other_table = await make_table(session, scene.org)
    other_facilitator = await make_user(session)
    await add_member(session, other_table, other_facilitator, role="facilitator")
    # Another organization, where the minor is also a member.
    elsewhere = await make_scene(session)
    await add_member(session, elsewhere.table, minor)
    elsewhere_admin = await make_user(session)
    session.add(
        OrganizationRole(organization_id=elsewhere.org.id, user_id=elsewhere_admin.id, role="admin")
    )
    await commit_setup(session)
    url = consents_url(scene.org)
    body = consent_body(minor)

    for outsider in (other_facilitator, elsewhere.facilitator, elsewhere_admin, scene.member):
        response = await client.post(url, json=body, headers=bearer(outsider))
        assert_problem(response, 404)
        assert_problem(await client.delete(f"{url}/{minor.id}", headers=bearer(outsider)), 404)
    unknown = await client.post(
        url, json={**body, "user_id": str(uuid.uuid4())}, headers=bearer(admin)
    )
    assert_problem(unknown, 404)
    assert_problem(await client.post(url, json=body), 401)
    # The organization's admin may.
    done = await client.post(url, json=body, headers=bearer(admin))
    assert done.status_code == 201, done.text
    assert done.json()["recorded_by_id"] == str(admin.id)


async def test_a_pending_request_is_enough_for_the_tables_facilitator(client, session):
    scene = await make_scene(session)
    request_table = await make_table(session, scene.org, membership_policy="request")
    facilitator = await make_user(session)
    await add_member(session, request_table, facilitator, role="facilitator")
    minor = await make_minor(session)
    await add_member(session, request_table, minor, status="pending")
    rejected = await make_minor(session, name="Rifiutato")
    await add_member(session, request_table, rejected, status="rejected")
    await commit_setup(session)
    url = consents_url(scene.org)
    ok = await client.post(url, json=consent_body(minor), headers=bearer(facilitator))
    assert ok.status_code == 201, ok.text
    assert_problem(
        await client.post(url, json=consent_body(rejected), headers=bearer(facilitator)), 404
    )


async def test_checks(client, session):
    scene = await make_scene(session)
    teen = await make_minor(session, name="Quindicenne", years=15)
    no_birth_date = await make_user(session)
    minor = await make_minor(session)
    for person in (teen, no_birth_date, minor):
        await add_member(session, scene.table, person)
    await commit_setup(session)
    url = consents_url(scene.org)
    headers = bearer(scene.facilitator)
    for person in (teen, no_birth_date):
        assert_problem(
            await client.post(url, json=consent_body(person), headers=headers),
            422,
            "consent_not_needed",
        )
    tomorrow = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
    assert_problem(
        await client.post(url, json=consent_body(minor, consented_on=tomorrow), headers=headers),
        422,
        "invalid_consent_date",
    )
    long_ago = years_ago(14, extra_days=10).isoformat()
    assert_problem(
        await client.post(url, json=consent_body(minor, consented_on=long_ago), headers=headers),
        422,
        "invalid_consent_date",
    )
    assert_problem(
        await client.post(url, json=consent_body(minor, guardian_name=""), headers=headers), 422
    )
    missing = consent_body(minor)
    del missing["guardian_name"]
    assert_problem(await client.post(url, json=missing, headers=headers), 422)
    stored = await session.get(User, minor.id)
    assert stored is not None and stored.guardian_consent_at is None
