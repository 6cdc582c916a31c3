"""Staff workflow on service requests: the queue and its filters, updates with the
reporter emailed at each public status change, internal notes never public, deadlines,
audit, and the reporter's personal data in the GDPR export and erasure."""

from datetime import UTC, datetime, timedelta
from email import message_from_bytes

from sqlalchemy import update
from sqlmodel import col, select

from app.models.moderation import AuditEntry
from app.models.organizations import OrganizationRole
from app.models.service_requests import ServiceRequest, ServiceRequestNote
from tests.factories import PASSWORD, commit_setup, make_user
from tests.helpers import assert_problem, bearer
from tests.open311_client import GeoReportClient
from tests.routers.test_open311 import PERSONAL, city


def _mails(mail_dir, to):
    return [
        message_from_bytes(p.read_bytes())
        for p in sorted(mail_dir.glob("*.eml"))
        if to.lower() in p.name.lower()
    ]


async def _file(app: GeoReportClient, code="suggerimento", **fields):
    return (await app.post_request(code, **fields))[0]["service_request_id"]


async def test_the_queue_and_its_filters(client, session):
    admin, org, app, _ = await city(client, session)
    old = await _file(app, description="vecchia")
    late = await _file(app, description="in ritardo")
    pothole = await _file(
        app,
        code="strade",
        lat="41.1",
        long="16.8",
        attributes={"gravita": "bassa"},
    )
    # Time passes: the first is 40 days old and past its deadline; the second is late.
    now = datetime.now(UTC)
    await session.exec(
        update(ServiceRequest)
        .where(col(ServiceRequest.id) == old)
        .values(created_at=now - timedelta(days=40), expected_datetime=now - timedelta(days=10))
    )
    await session.exec(
        update(ServiceRequest)
        .where(col(ServiceRequest.id) == late)
        .values(expected_datetime=now - timedelta(hours=1))
    )
    await commit_setup(session)
    url = f"/v1/organizations/{org.slug}/service-requests"

    async def ids(**params):
        response = await client.get(url, params=params, headers=bearer(admin))
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert await ids() == [pothole, late, old]
    assert await ids(service="strade") == [pothole]
    assert await ids(overdue="true") == [late, old]
    assert await ids(overdue="false") == [pothole]
    assert await ids(min_age_days=30) == [old]
    assert await ids(status="closed") == []
    # Keyset pages.
    first = await client.get(url, params={"limit": 2}, headers=bearer(admin))
    assert [i["id"] for i in first.json()["items"]] == [pothole, late]
    second = await client.get(
        url, params={"limit": 2, "cursor": first.json()["next_cursor"]}, headers=bearer(admin)
    )
    assert [i["id"] for i in second.json()["items"]] == [old]
    assert second.json()["next_cursor"] is None
    item = first.json()["items"][0]
    assert item["overdue"] is False and item["reporter"]["anonymized"] is False
    # Not an admin of this organization: 404.
    stranger = await make_user(session)
    await commit_setup(session)
    assert_problem(await client.get(url, headers=bearer(stranger)), 404)
    assert_problem(await client.get(f"/v1/service-requests/{old}", headers=bearer(stranger)), 404)


async def test_staff_handle_a_request_and_the_reporter_is_told(client, session, mail_dir):
    admin, org, app, _ = await city(client, session)
    colleague = await make_user(session)
    session.add(OrganizationRole(organization_id=org.id, user_id=colleague.id, role="facilitator"))
    outsider = await make_user(session)
    await commit_setup(session)
    reporter = "lucia.bianchi@example.org"
    request_id = await _file(app, description="Lampione spento", email=reporter, first_name="Lucia")
    url = f"/v1/service-requests/{request_id}"

    # Assignment and an internal note: no public change, no email.
    assigned = await client.patch(
        url,
        json={
            "assigned_to": str(colleague.id),
            "internal_note": "Chiamare la ditta dell'illuminazione",
            "agency_responsible": "Ufficio illuminazione",
        },
        headers=bearer(admin),
    )
    assert assigned.status_code == 200, assigned.text
    body = assigned.json()
    assert body["assigned_to"] == str(colleague.id)
    assert [n["body"] for n in body["notes"]] == ["Chiamare la ditta dell'illuminazione"]
    assert body["reporter"]["email"] == reporter
    assert _mails(mail_dir, reporter) == []
    refused = await client.patch(url, json={"assigned_to": str(outsider.id)}, headers=bearer(admin))
    assert_problem(refused, 422, "unknown_assignee")

    # A new deadline, then public notes: one email.
    deadline = (datetime.now(UTC) + timedelta(days=5)).replace(microsecond=0)
    noted = await client.patch(
        url,
        json={"status_notes": "Intervento programmato", "expected_datetime": deadline.isoformat()},
        headers=bearer(admin),
    )
    assert noted.status_code == 200, noted.text
    assert datetime.fromisoformat(noted.json()["expected_datetime"]) == deadline
    mails = _mails(mail_dir, reporter)
    assert len(mails) == 1 and "Intervento programmato" in mails[0].get_payload()

    closed = await client.patch(url, json={"status": "closed"}, headers=bearer(admin))
    assert closed.status_code == 200 and closed.json()["closed_at"]
    mails = _mails(mail_dir, reporter)
    assert len(mails) == 2 and "chiusa / closed" in mails[1].get_payload()
    reopened = await client.patch(url, json={"status": "open"}, headers=bearer(admin))
    assert reopened.json()["closed_at"] is None and len(_mails(mail_dir, reporter)) == 3

    # The public sees status, notes and agency — never the note, assignee or reporter.
    public = await app.request(request_id)
    assert public["status_notes"] == "Intervento programmato"
    assert public["agency_responsible"] == "Ufficio illuminazione"
    text = str(public) + str(await app.requests())
    assert "Chiamare" not in text and reporter not in text and "Lucia" not in text
    assert str(colleague.id) not in text
    for field in (*PERSONAL, "notes", "assigned_to", "reporter"):
        assert field not in public
    # Audited, field names only.
    audit = (
        await session.exec(
            select(AuditEntry)
            .where(col(AuditEntry.target_id) == request_id)
            .order_by(col(AuditEntry.seq))
        )
    ).all()
    assert [a.data["fields"] for a in audit] == [
        ["agency_responsible", "assigned_to", "internal_note"],
        ["status_notes", "expected_datetime"],
        ["status"],
        ["status"],
    ]
    assert "Chiamare" not in str([a.data for a in audit])
    # A failed update changes nothing and sends nothing.
    bad = await client.patch(url, json={"status": "done"}, headers=bearer(admin))
    assert_problem(bad, 422)
    assert len(_mails(mail_dir, reporter)) == 3


async def test_default_deadline_is_thirty_days(client, session):
    admin, _org, app, _ = await city(client, session)
    before = datetime.now(UTC)
    request_id = await _file(app, description="Cestino rotto")
    stored = await session.get(ServiceRequest, request_id)
    assert stored is not None
    assert abs(stored.expected_datetime - (before + timedelta(days=30))) < timedelta(minutes=1)
    staff = await client.get(f"/v1/service-requests/{request_id}", headers=bearer(admin))
    assert staff.json()["overdue"] is False


async def test_reporter_data_in_the_export_and_erased_with_the_account(client, session):
    admin, org, app, _ = await city(client, session)
    person = await make_user(session, email="giovanni@example.org")
    await commit_setup(session)
    signed_in = GeoReportClient(client, "/open311/v2", org.slug)
    mine = (
        await signed_in.post_request(
            "suggerimento", description="Da app", phone="333 1234567", headers=bearer(person)
        )
    )[0]["service_request_id"]
    via_app = await _file(
        app, description="Via app", email="Giovanni@example.org", last_name="Verdi"
    )
    someone_else = await _file(app, description="Altro", email="altra@example.org")
    await client.patch(
        f"/v1/service-requests/{mine}",
        json={"internal_note": "nota interna"},
        headers=bearer(admin),
    )

    export = await client.get("/v1/me/export", headers=bearer(person))
    assert export.status_code == 200, export.text
    exported = {r["id"]: r for r in export.json()["service_requests"]}
    assert set(exported) == {mine, via_app}
    assert exported[mine]["phone"] == "333 1234567" and exported[via_app]["last_name"] == "Verdi"
    assert "nota interna" not in export.text

    deleted = await client.request(
        "DELETE", "/v1/me", json={"password": PASSWORD}, headers=bearer(person)
    )
    assert deleted.status_code == 204, deleted.text
    for request_id in (mine, via_app):
        row = await session.get(ServiceRequest, request_id)
        await session.refresh(row)
        assert row is not None and row.anonymized_at is not None
        assert all(getattr(row, f) is None for f in PERSONAL) and row.reporter_id is None
        assert row.description in ("Da app", "Via app")  # the request stays
    other = await session.get(ServiceRequest, someone_else)
    assert other is not None and other.email == "altra@example.org"
    notes = (await session.exec(select(ServiceRequestNote))).all()
    assert len(notes) == 1  # staff's records stay
    staff_view = await client.get(f"/v1/service-requests/{mine}", headers=bearer(admin))
    assert staff_view.json()["reporter"]["anonymized"] is True
