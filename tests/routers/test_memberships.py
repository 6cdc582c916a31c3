"""Memberships: policies, eligibility, approval, roles, leaving, facilitator scope, caps."""

import asyncio
from datetime import date, datetime, timedelta

import pytest
from sqlmodel import col, func, select

from app.db import get_sessionmaker
from app.models.events import Event
from app.models.meetings import MEETING_TIMEZONE
from app.models.tables import TableMembership
from tests.factories import (
    add_member,
    commit_setup,
    make_municipality,
    make_org,
    make_table,
    make_user,
)
from tests.helpers import assert_problem, bearer


def _years_ago(years: int, days: int = 0) -> date:
    today = datetime.now(MEETING_TIMEZONE).date()
    try:
        birthday = today.replace(year=today.year - years)
    except ValueError:  # 29 February
        birthday = today.replace(year=today.year - years, day=28)
    return birthday - timedelta(days=days)


async def _events(session, type_):
    return (await session.exec(select(Event).where(col(Event.type) == type_))).all()


async def test_open_table_join_is_immediate_and_idempotent(client, session):
    org = await make_org(session)
    table = await make_table(session, org)
    user = await make_user(session)
    await commit_setup(session)
    url = f"/v1/tables/{table.id}/memberships"

    first = await client.post(url, headers=bearer(user))
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "active" and first.json()["role"] == "member"
    again = await client.post(url, headers=bearer(user))
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    table_body = (await client.get(f"/v1/tables/{table.id}", headers=bearer(user))).json()
    assert table_body["members_count"] == 1
    assert table_body["my_membership"] == {"role": "member", "status": "active"}
    joined = await _events(session, "membership.joined")
    assert [str(e.subject_id) for e in joined] == [first.json()["id"]]
    assert joined[0].actor_id == user.id


async def test_joining_needs_a_verified_email(client, session):
    org = await make_org(session)
    table = await make_table(session, org)
    user = await make_user(session, verified=False)
    await commit_setup(session)
    assert_problem(
        await client.post(f"/v1/tables/{table.id}/memberships", headers=bearer(user)),
        403,
        "email_not_verified",
    )
    assert_problem(await client.post(f"/v1/tables/{table.id}/memberships"), 401)


async def test_request_policy_waits_for_a_facilitator(client, session):
    org = await make_org(session)
    table = await make_table(session, org, membership_policy="request")
    facilitator, asker, rejected, member = [await make_user(session) for _ in range(4)]
    await add_member(session, table, facilitator, role="facilitator")
    await add_member(session, table, member)
    await commit_setup(session)
    url = f"/v1/tables/{table.id}/memberships"

    pending = await client.post(url, headers=bearer(asker))
    assert pending.status_code == 201 and pending.json()["status"] == "pending"
    assert (await client.post(url, headers=bearer(rejected))).json()["status"] == "pending"
    assert len(await _events(session, "membership.requested")) == 2

    # Members see active members only; facilitators see requests too.
    seen_by_member = (await client.get(url, headers=bearer(member))).json()["items"]
    assert {m["status"] for m in seen_by_member} == {"active"}
    requests = (await client.get(url + "?status=pending", headers=bearer(facilitator))).json()[
        "items"
    ]
    assert {m["user_id"] for m in requests} == {str(asker.id), str(rejected.id)}
    assert (await client.get(url + "?status=pending", headers=bearer(member))).json()["items"] == []
    # Only a facilitator decides.
    assert_problem(
        await client.patch(f"{url}/{asker.id}", headers=bearer(member), json={"status": "active"}),
        404,
    )

    approved = await client.patch(
        f"{url}/{asker.id}", headers=bearer(facilitator), json={"status": "active"}
    )
    assert approved.status_code == 200 and approved.json()["status"] == "active"
    refused = await client.patch(
        f"{url}/{rejected.id}", headers=bearer(facilitator), json={"status": "rejected"}
    )
    assert refused.json()["status"] == "rejected"
    assert_problem(await client.post(url, headers=bearer(rejected)), 409, "membership_rejected")
    assert len(await _events(session, "membership.approved")) == 1
    assert len(await _events(session, "membership.rejected")) == 1
    assert (await client.get(f"/v1/tables/{table.id}")).json()["members_count"] == 3


async def test_invitation_policy_needs_an_invitation(client, session):
    org = await make_org(session)
    table = await make_table(session, org, membership_policy="invitation", visibility="private")
    facilitator = await make_user(session)
    guest = await make_user(session, email="ospite@example.org")
    stranger = await make_user(session)
    await add_member(session, table, facilitator, role="facilitator")
    await commit_setup(session)
    url = f"/v1/tables/{table.id}/memberships"

    # A private table does not exist for strangers; invited people may see and accept it.
    assert_problem(await client.post(url, headers=bearer(guest)), 404)
    invited = await client.post(
        url, headers=bearer(facilitator), json={"email": "Ospite@Example.org"}
    )
    assert invited.status_code == 201 and invited.json()["status"] == "invited"
    assert invited.json()["user_id"] == str(guest.id)
    assert_problem(
        await client.post(url, headers=bearer(stranger), json={"user_id": str(guest.id)}), 404
    )
    accepted = await client.post(url, headers=bearer(guest))
    assert accepted.status_code == 201 and accepted.json()["status"] == "active"
    assert len(await _events(session, "membership.invited")) == 1


async def test_public_invitation_table_refuses_self_joins(client, session):
    org = await make_org(session)
    table = await make_table(session, org, membership_policy="invitation")
    user = await make_user(session)
    await commit_setup(session)
    assert_problem(
        await client.post(f"/v1/tables/{table.id}/memberships", headers=bearer(user)),
        403,
        "invitation_required",
    )


@pytest.mark.parametrize(
    ("birth", "residence", "codes"),
    [
        (_years_ago(15), "eligible", ["too_young"]),
        (_years_ago(36), "eligible", ["too_old"]),
        (None, "eligible", ["birth_date_required"]),
        (_years_ago(20), None, ["municipality_required"]),
        (_years_ago(20), "elsewhere", ["municipality_not_eligible"]),
        (_years_ago(40), "elsewhere", ["too_old", "municipality_not_eligible"]),
        (_years_ago(16), "eligible", []),
        (_years_ago(36, days=-1), "eligible", []),  # 35 until tomorrow
    ],
)
async def test_eligibility_rules_say_which_rule_failed(client, session, birth, residence, codes):
    org = await make_org(session)
    bari = await make_municipality(session, org, "Bari")
    altamura = await make_municipality(session, org, "Altamura")
    table = await make_table(
        session, org, min_age=16, max_age=35, eligible_municipality_ids=[bari.id]
    )
    user = await make_user(session)
    user.birth_date = birth
    user.municipality_id = {"eligible": bari.id, "elsewhere": altamura.id, None: None}[residence]
    await commit_setup(session)

    response = await client.post(f"/v1/tables/{table.id}/memberships", headers=bearer(user))
    if not codes:
        assert response.status_code == 201, response.text
        return
    body = assert_problem(response, 422, codes[0])
    assert [e["code"] for e in body["errors"]] == codes
    assert all(e["loc"][0] == "user" for e in body["errors"])


async def test_member_cap_is_enforced(client, session):
    org = await make_org(session)
    table = await make_table(session, org, max_members=2)
    users = [await make_user(session) for _ in range(3)]
    await commit_setup(session)
    url = f"/v1/tables/{table.id}/memberships"
    assert (await client.post(url, headers=bearer(users[0]))).status_code == 201
    assert (await client.post(url, headers=bearer(users[1]))).status_code == 201
    assert_problem(await client.post(url, headers=bearer(users[2])), 409, "table_full")


async def test_member_cap_holds_under_concurrent_joins(committing_client):
    async with get_sessionmaker()() as setup:
        org = await make_org(setup)
        table = await make_table(setup, org, max_members=3)
        users = [await make_user(setup) for _ in range(12)]
        await setup.commit()
    url = f"/v1/tables/{table.id}/memberships"
    responses = await asyncio.gather(
        *(committing_client.post(url, headers=bearer(u)) for u in users)
    )
    assert sorted(r.status_code for r in responses) == [201] * 3 + [409] * 9
    async with get_sessionmaker()() as check:
        count = (
            await check.exec(
                select(func.count())
                .select_from(TableMembership)
                .where(col(TableMembership.table_id) == table.id)
            )
        ).one()
    assert count == 3


async def test_roles_leaving_and_removal(client, session):
    org = await make_org(session)
    table = await make_table(session, org)
    facilitator, member, other = [await make_user(session) for _ in range(3)]
    await add_member(session, table, facilitator, role="facilitator")
    await add_member(session, table, member)
    await add_member(session, table, other)
    await commit_setup(session)
    url = f"/v1/tables/{table.id}/memberships"

    promoted = await client.patch(
        f"{url}/{member.id}", headers=bearer(facilitator), json={"role": "facilitator"}
    )
    assert promoted.status_code == 200 and promoted.json()["role"] == "facilitator"
    assert_problem(
        await client.patch(
            f"{url}/{member.id}", headers=bearer(facilitator), json={"role": "boss"}
        ),
        422,
    )
    assert_problem(
        await client.patch(f"{url}/{member.id}", headers=bearer(facilitator), json={}), 422
    )
    # A member cannot remove another; a facilitator can; anyone can leave.
    assert_problem(await client.delete(f"{url}/{facilitator.id}", headers=bearer(other)), 404)
    assert (await client.delete(f"{url}/{other.id}", headers=bearer(member))).status_code == 204
    assert (
        await client.delete(f"{url}/{facilitator.id}", headers=bearer(facilitator))
    ).status_code == 204
    assert_problem(await client.delete(f"{url}/{facilitator.id}", headers=bearer(facilitator)), 404)
    remaining = (await client.get(url)).json()["items"]
    assert [m["user_id"] for m in remaining] == [str(member.id)]
    assert len(await _events(session, "membership.removed")) == 1
    assert len(await _events(session, "membership.left")) == 1
    assert len(await _events(session, "membership.role_changed")) == 1


async def test_a_facilitators_powers_stop_at_their_own_table(client, session):
    org = await make_org(session)
    table_a = await make_table(session, org)
    table_b = await make_table(session, org, membership_policy="request")
    facilitator_a, member_b, asker_b = [await make_user(session) for _ in range(3)]
    await add_member(session, table_a, facilitator_a, role="facilitator")
    await add_member(session, table_b, member_b)
    await add_member(session, table_b, asker_b, status="pending")
    await commit_setup(session)
    url_b = f"/v1/tables/{table_b.id}/memberships"
    headers = bearer(facilitator_a)

    assert_problem(
        await client.patch(f"{url_b}/{asker_b.id}", headers=headers, json={"status": "active"}), 404
    )
    assert_problem(
        await client.patch(f"{url_b}/{member_b.id}", headers=headers, json={"role": "facilitator"}),
        404,
    )
    assert_problem(await client.delete(f"{url_b}/{member_b.id}", headers=headers), 404)
    assert_problem(
        await client.post(url_b, headers=headers, json={"user_id": str(member_b.id)}), 404
    )
    pending = (await client.get(url_b + "?status=pending", headers=headers)).json()["items"]
    assert pending == []


async def test_org_admin_appoints_and_dismisses_facilitators_through_roles(client, session):
    admin = await make_user(session)
    org = await make_org(session, admin=admin)
    other_org = await make_org(session)
    table = await make_table(session, org, membership_policy="request")
    foreign_table = await make_table(session, other_org)
    person = await make_user(session, email="facilitatrice@example.org", name="Facilitatrice")
    asker = await make_user(session)
    await add_member(session, table, asker, status="pending")
    await commit_setup(session)
    roles_url = f"/v1/organizations/{org.slug}/roles"
    headers = bearer(admin)

    appointed = await client.post(
        roles_url,
        headers=headers,
        json={
            "role": "facilitator",
            "table_id": str(table.id),
            "email": "facilitatrice@example.org",
        },
    )
    assert appointed.status_code == 201, appointed.text
    body = appointed.json()
    assert body["role"] == "facilitator" and body["table_id"] == str(table.id)
    assert body["user_id"] == str(person.id) and body["display_name"] == "Facilitatrice"
    assert_problem(
        await client.post(
            roles_url,
            headers=headers,
            json={"role": "facilitator", "table_id": str(table.id), "user_id": str(person.id)},
        ),
        409,
        "role_exists",
    )
    assert_problem(
        await client.post(
            roles_url, headers=headers, json={"role": "facilitator", "user_id": str(person.id)}
        ),
        422,
    )
    assert_problem(
        await client.post(
            roles_url,
            headers=headers,
            json={"role": "admin", "table_id": str(table.id), "user_id": str(person.id)},
        ),
        422,
    )
    assert_problem(
        await client.post(
            roles_url,
            headers=headers,
            json={
                "role": "facilitator",
                "table_id": str(foreign_table.id),
                "user_id": str(person.id),
            },
        ),
        422,
        "unknown_table",
    )

    # The new facilitator can now approve requests at that table.
    approved = await client.patch(
        f"/v1/tables/{table.id}/memberships/{asker.id}",
        headers=bearer(person),
        json={"status": "active"},
    )
    assert approved.status_code == 200

    # The roles list has the organization's admins and its tables' facilitators.
    listed = (await client.get(roles_url, headers=headers)).json()["items"]
    assert [(r["role"], r["table_id"]) for r in listed] == [
        ("admin", None),
        ("facilitator", str(table.id)),
    ]
    assert listed[1]["id"] == body["id"] and listed[1]["user_id"] == str(person.id)
    only = (await client.get(f"{roles_url}?role=facilitator", headers=headers)).json()
    assert [r["id"] for r in only["items"]] == [body["id"]]
    other_table = (
        await client.get(f"{roles_url}?table_id={foreign_table.id}", headers=headers)
    ).json()
    assert other_table["items"] == []

    dismissed = await client.request(
        "DELETE",
        roles_url,
        headers=headers,
        json={"role": "facilitator", "table_id": str(table.id), "user_id": str(person.id)},
    )
    assert dismissed.status_code == 204
    me = (await client.get(f"/v1/tables/{table.id}", headers=bearer(person))).json()
    assert me["my_membership"] == {"role": "member", "status": "active"}
    listed = (await client.get(roles_url, headers=headers)).json()["items"]
    assert [r["role"] for r in listed] == ["admin"]

    # Appointed again, and dismissed by the id the appointment was listed under.
    again = await client.post(
        roles_url,
        headers=headers,
        json={"role": "facilitator", "table_id": str(table.id), "user_id": str(person.id)},
    )
    assert again.status_code == 201, again.text
    assert_problem(await client.delete(f"{roles_url}/{asker.id}", headers=headers), 404)
    # Only the organization's admins can.
    assert_problem(
        await client.delete(f"{roles_url}/{again.json()['id']}", headers=bearer(person)), 404
    )
    assert (
        await client.delete(f"{roles_url}/{again.json()['id']}", headers=headers)
    ).status_code == 204
    me = (await client.get(f"/v1/tables/{table.id}", headers=bearer(person))).json()
    assert me["my_membership"] == {"role": "member", "status": "active"}
    assert_problem(await client.delete(f"{roles_url}/{again.json()['id']}", headers=headers), 404)


async def test_only_the_organization_demotes_or_removes_a_facilitator(client, session):
    admin = await make_user(session)
    org = await make_org(session, admin=admin)
    table = await make_table(session, org)
    appointed, colleague, member = [await make_user(session) for _ in range(3)]
    await add_member(session, table, appointed, role="facilitator")
    await add_member(session, table, colleague, role="facilitator")
    await add_member(session, table, member)
    await commit_setup(session)
    url = f"/v1/tables/{table.id}/memberships"

    # A facilitator may make a member a co-facilitator…
    promoted = await client.patch(
        f"{url}/{member.id}", headers=bearer(appointed), json={"role": "facilitator"}
    )
    assert promoted.status_code == 200, promoted.text
    # …but not demote or remove a fellow facilitator.
    assert_problem(
        await client.patch(
            f"{url}/{appointed.id}", headers=bearer(member), json={"role": "member"}
        ),
        403,
        "facilitator_appointed_by_organization",
    )
    assert_problem(
        await client.delete(f"{url}/{appointed.id}", headers=bearer(member)),
        403,
        "facilitator_appointed_by_organization",
    )
    mine = (await client.get(f"/v1/tables/{table.id}", headers=bearer(appointed))).json()
    assert mine["my_membership"] == {"role": "facilitator", "status": "active"}
    # Stepping down oneself is fine; the organization's admin does the rest.
    stepped = await client.patch(
        f"{url}/{colleague.id}", headers=bearer(colleague), json={"role": "member"}
    )
    assert stepped.status_code == 200 and stepped.json()["role"] == "member"
    demoted = await client.patch(
        f"{url}/{member.id}", headers=bearer(admin), json={"role": "member"}
    )
    assert demoted.status_code == 200 and demoted.json()["role"] == "member"
    assert (await client.delete(f"{url}/{appointed.id}", headers=bearer(admin))).status_code == 204


async def test_an_empty_body_joins_like_no_body(client, session):
    org = await make_org(session)
    table = await make_table(session, org)
    user = await make_user(session)
    await commit_setup(session)
    joined = await client.post(f"/v1/tables/{table.id}/memberships", headers=bearer(user), json={})
    assert joined.status_code == 201, joined.text
    assert joined.json()["user_id"] == str(user.id) and joined.json()["status"] == "active"
    both = {"user_id": str(user.id), "email": "x@example.org"}
    assert_problem(
        await client.post(f"/v1/tables/{table.id}/memberships", headers=bearer(user), json=both),
        422,
    )


async def test_a_closed_table_takes_no_invitations(client, session):
    org = await make_org(session)
    table = await make_table(session, org, membership_policy="invitation")
    facilitator, invited, later = [await make_user(session) for _ in range(3)]
    await add_member(session, table, facilitator, role="facilitator")
    await commit_setup(session)
    url = f"/v1/tables/{table.id}/memberships"
    sent = await client.post(url, headers=bearer(facilitator), json={"user_id": str(invited.id)})
    assert sent.status_code == 201 and sent.json()["status"] == "invited"

    closed = await client.patch(
        f"/v1/tables/{table.id}", headers=bearer(facilitator), json={"status": "closed"}
    )
    assert closed.status_code == 200, closed.text
    assert_problem(
        await client.post(url, headers=bearer(facilitator), json={"user_id": str(later.id)}),
        409,
        "table_closed",
    )
    # An invitation sent before it closed cannot be accepted while it is closed.
    assert_problem(await client.post(url, headers=bearer(invited)), 409, "table_closed")
    members = (await client.get(url, headers=bearer(facilitator))).json()["items"]
    assert {(m["user_id"], m["status"]) for m in members} == {
        (str(facilitator.id), "active"),
        (str(invited.id), "invited"),
    }


async def test_a_promotion_is_dated_from_when_the_role_was_given(client, session):
    admin = await make_user(session)
    org = await make_org(session, admin=admin)
    table = await make_table(session, org)
    veteran = await make_user(session)
    membership = await add_member(session, table, veteran)
    membership.created_at = datetime(2020, 1, 1, tzinfo=MEETING_TIMEZONE)
    await commit_setup(session)
    roles_url = f"/v1/organizations/{org.slug}/roles"
    before = (await client.get(roles_url, headers=bearer(admin))).json()
    assert [r["role"] for r in before["items"]] == ["admin"]

    promoted = await client.patch(
        f"/v1/tables/{table.id}/memberships/{veteran.id}",
        headers=bearer(admin),
        json={"role": "facilitator"},
    )
    assert promoted.status_code == 200, promoted.text
    listed = (await client.get(roles_url, headers=bearer(admin))).json()["items"]
    assert [r["role"] for r in listed] == ["admin", "facilitator"]
    since = datetime.fromisoformat(listed[1]["created_at"])
    assert since > datetime.fromisoformat(listed[0]["created_at"])
    assert since.year >= 2026
