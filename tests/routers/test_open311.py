"""Open311 GeoReport v2: a round trip through an independent client (list services, read
a definition, post, read back by id and by token, list with filters), the spec's error
format, bad input refused with nothing stored, and no personal data in public reads."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from app.models.events import Event
from app.models.moderation import Suspension
from app.models.service_requests import ServiceRequest
from tests.factories import commit_setup, make_org, make_user
from tests.helpers import assert_problem, bearer
from tests.open311_client import GeoReportClient, GeoReportError

PERSONAL = ("email", "first_name", "last_name", "phone", "device_id", "account_id")

POTHOLE: dict[str, Any] = {
    "service_code": "strade",
    "service_name": "Segnalazione: strade",
    "description": "Buche, marciapiedi, segnaletica",
    "type": "realtime",
    "keywords": ["buca", "asfalto"],
    "group": "segnalazione",
    "location_required": True,
    "expected_days": 20,
    "attributes": [
        {
            "code": "gravita",
            "datatype": "singlevaluelist",
            "required": True,
            "order": 1,
            "description": "Quanto è grave?",
            "values": [{"key": "bassa", "name": "Bassa"}, {"key": "alta", "name": "Alta"}],
        },
        {
            "code": "pericoli",
            "datatype": "multivaluelist",
            "order": 2,
            "description": "Pericoli",
            "values": [{"key": "pedoni", "name": "Pedoni"}, {"key": "bici", "name": "Bici"}],
        },
        {"code": "larghezza_cm", "datatype": "number", "order": 3, "description": "cm"},
    ],
}
SUGGESTION: dict[str, Any] = {
    "service_code": "suggerimento",
    "service_name": "Suggerimento",
    "group": "suggerimento",
}


async def city(client, session):
    admin = await make_user(session)
    org = await make_org(session, admin=admin)
    await commit_setup(session)
    for service in (POTHOLE, SUGGESTION):
        created = await client.post(
            f"/v1/organizations/{org.slug}/services", json=service, headers=bearer(admin)
        )
        assert created.status_code == 201, created.text
    key = await client.post(
        f"/v1/organizations/{org.slug}/open311-keys",
        json={"label": "App municipale"},
        headers=bearer(admin),
    )
    assert key.status_code == 201, key.text
    app = GeoReportClient(client, "/open311/v2", org.slug, api_key=key.json()["api_key"])
    return admin, org, app, key.json()


async def test_a_municipal_app_files_and_follows_a_request(client, session):
    admin, _org, app, _ = await city(client, session)

    services = await app.services()
    assert [s["service_code"] for s in services] == ["strade", "suggerimento"]
    strade = services[0]
    assert strade == {
        "service_code": "strade",
        "service_name": "Segnalazione: strade",
        "description": "Buche, marciapiedi, segnaletica",
        "metadata": True,
        "type": "realtime",
        "keywords": "buca, asfalto",
        "group": "segnalazione",
    }
    assert services[1]["metadata"] is False

    definition = await app.definition("strade")
    assert definition["service_code"] == "strade"
    assert [a["code"] for a in definition["attributes"]] == ["gravita", "pericoli", "larghezza_cm"]
    gravita = definition["attributes"][0]
    assert gravita["datatype"] == "singlevaluelist" and gravita["required"] is True
    assert gravita["variable"] is True and gravita["values"][1] == {"key": "alta", "name": "Alta"}

    before = datetime.now(UTC)
    created = await app.post_request(
        "strade",
        attributes={"gravita": "alta", "pericoli": ["pedoni", "bici"], "larghezza_cm": "40"},
        description="Buca profonda davanti al civico 12",
        lat="41.1171",
        long="16.8719",
        address_string="Via Sparano 12, Bari",
        email="mario.rossi@example.org",
        first_name="Mario",
        last_name="Rossi",
        phone="+39 080 123456",
        device_id="device-42",
        account_id="app-account-7",
        media_url="https://example.org/buca.jpg",
    )
    assert len(created) == 1
    receipt = created[0]
    assert set(receipt) == {"service_request_id", "token", "service_notice", "account_id"}
    assert receipt["account_id"] == "app-account-7"
    request_id = receipt["service_request_id"]

    stored = await session.get(ServiceRequest, request_id)
    assert stored is not None and stored.email == "mario.rossi@example.org"
    assert stored.attributes == {
        "gravita": "alta",
        "pericoli": ["pedoni", "bici"],
        "larghezza_cm": 40.0,
    }
    assert stored.api_key_id is not None and stored.reporter_id is None
    # The deadline: the service's expected_days (20).
    assert abs(stored.expected_datetime - (before + timedelta(days=20))) < timedelta(minutes=1)

    by_id = await app.request(request_id)
    assert by_id["service_request_id"] == request_id
    assert by_id["status"] == "open" and by_id["service_code"] == "strade"
    assert by_id["service_name"] == "Segnalazione: strade"
    assert by_id["description"] == "Buca profonda davanti al civico 12"
    assert (by_id["lat"], by_id["long"]) == (41.1171, 16.8719)
    assert by_id["address"] == "Via Sparano 12, Bari"
    assert by_id["media_url"] == "https://example.org/buca.jpg"
    for field in ("requested_datetime", "updated_datetime", "expected_datetime"):
        assert datetime.fromisoformat(by_id[field]).tzinfo is not None
    for field in PERSONAL:
        assert field not in by_id
    assert "mario.rossi" not in str(by_id) and "Rossi" not in str(by_id)

    assert await app.token(receipt["token"]) == [
        {"service_request_id": request_id, "token": receipt["token"]}
    ]

    other = (await app.post_request("suggerimento", description="Più panchine"))[0]
    everything = await app.requests()
    assert [r["service_request_id"] for r in everything] == [
        other["service_request_id"],
        request_id,
    ]
    assert [r["service_request_id"] for r in await app.requests(service_code="strade")] == [
        request_id
    ]
    listed = await app.requests(service_request_id=f"{request_id},{other['service_request_id']}")
    assert len(listed) == 2
    assert await app.requests(status="closed") == []
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert await app.requests(start_date=later) == []
    window = await app.requests(
        start_date=(before - timedelta(minutes=1)).isoformat(), end_date=later, status="open"
    )
    assert len(window) == 2
    assert "mario.rossi" not in str(everything)

    # Staff close it; the app follows it to closure.
    closed = await client.patch(
        f"/v1/service-requests/{request_id}",
        json={"status": "closed", "status_notes": "Buca riparata il 3 dicembre."},
        headers=bearer(admin),
    )
    assert closed.status_code == 200, closed.text
    final = await app.request(request_id)
    assert final["status"] == "closed" and final["status_notes"] == "Buca riparata il 3 dicembre."
    assert [r["service_request_id"] for r in await app.requests(status="closed")] == [request_id]
    events = (
        await session.exec(
            select(Event.type)
            .where(col(Event.subject_id) == stored.id)
            .order_by(col(Event.created_at))
        )
    ).all()
    assert list(events) == ["service_request.created", "service_request.updated"]


async def test_a_signed_in_person_files_with_a_bearer_token(client, session):
    _, org, _, _ = await city(client, session)
    person = await make_user(session, email="cittadina@example.org")
    await commit_setup(session)
    app = GeoReportClient(client, "/open311/v2", org.slug)
    created = await app.post_request(
        "suggerimento", description="Una fontanella al parco", headers=bearer(person)
    )
    stored = await session.get(ServiceRequest, created[0]["service_request_id"])
    assert stored is not None and stored.reporter_id == person.id
    assert stored.email == "cittadina@example.org" and stored.api_key_id is None
    # Neither a key nor a token: 403; a bad token: 403, in GeoReport's format.
    with pytest.raises(GeoReportError) as refused:
        await app.post_request("suggerimento", description="x")
    assert refused.value.status == 403
    with pytest.raises(GeoReportError) as refused:
        await app.post_request("suggerimento", headers={"Authorization": "Bearer nope"})
    assert refused.value.status == 403


@pytest.mark.parametrize(
    ("fields", "status", "needle"),
    [
        ({"service_code": "nessuno"}, 404, "No service"),
        ({"lat": "41.1", "long": "16.8"}, 400, "attribute[gravita] is required"),
        ({"lat": "91", "long": "16.8", "attribute[gravita]": "alta"}, 400, "lat must be"),
        ({"lat": "41", "long": "-181", "attribute[gravita]": "alta"}, 400, "long must be"),
        ({"lat": "41", "attribute[gravita]": "alta"}, 400, "lat and long go together"),
        ({"attribute[gravita]": "alta"}, 400, "needs a location"),
        ({"lat": "41", "long": "16", "attribute[gravita]": "enorme"}, 400, "not a value"),
        (
            {"lat": "41", "long": "16", "attribute[gravita]": "alta", "description": "x" * 4001},
            400,
            "description is longer",
        ),
        (
            {"lat": "41", "long": "16", "attribute[gravita]": "alta", "attribute[colore]": "blu"},
            400,
            "not an attribute",
        ),
        (
            {"lat": "41", "long": "16", "attribute[gravita]": "alta", "email": "non-email"},
            400,
            "email is not",
        ),
        (
            {
                "lat": "41",
                "long": "16",
                "attribute[gravita]": "alta",
                "attribute[larghezza_cm]": "x",
            },
            400,
            "is not a number",
        ),
        (
            {"lat": "41", "long": "16", "attribute[gravita]": "alta", "api_key": "wrong"},
            403,
            "api_key",
        ),
        ({"jurisdiction_id": "nessuna-citta"}, 404, "No organization"),
        ({"jurisdiction_id": ""}, 400, "jurisdiction_id is required"),
    ],
)
async def test_bad_requests_are_refused_and_nothing_is_stored(
    client, session, fields, status, needle
):
    _, org, _app, key = await city(client, session)
    form = {"jurisdiction_id": org.slug, "service_code": "strade", "api_key": key["api_key"]}
    form |= fields
    response = await client.post("/open311/v2/requests.json", data=form)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert isinstance(body, list) and all(e["code"] == status for e in body)
    assert any(needle in e["description"] for e in body), body
    assert (await session.exec(select(ServiceRequest))).all() == []


async def test_every_problem_is_listed_and_errors_keep_the_spec_format(client, session):
    _, org, _app, key = await city(client, session)
    response = await client.post(
        "/open311/v2/requests.json",
        data={
            "jurisdiction_id": org.slug,
            "service_code": "strade",
            "api_key": key["api_key"],
            "lat": "100",
            "long": "200",
            "attribute[pericoli][]": "fuoco",
        },
    )
    assert response.status_code == 400
    descriptions = [e["description"] for e in response.json()]
    assert len(descriptions) == 4, descriptions  # lat, long, pericoli value, gravita
    for path, status in (
        ("/open311/v2/services.json", 400),
        (f"/open311/v2/services/nessuno.json?jurisdiction_id={org.slug}", 404),
        (f"/open311/v2/requests/not-an-id.json?jurisdiction_id={org.slug}", 404),
        (f"/open311/v2/tokens/nope.json?jurisdiction_id={org.slug}", 404),
        (f"/open311/v2/requests.json?jurisdiction_id={org.slug}&status=maybe", 400),
        (f"/open311/v2/requests.json?jurisdiction_id={org.slug}&start_date=ieri", 400),
        ("/open311/v2/nothing-here.json", 404),
    ):
        answer = await client.get(path)
        assert answer.status_code == status, (path, answer.text)
        assert answer.json()[0]["code"] == status and answer.json()[0]["description"]
    # Elsewhere, errors stay problem+json.
    assert_problem(await client.get("/v1/organizations/nessuna"), 404)


async def test_revoked_keys_stop_working(client, session):
    admin, org, app, key = await city(client, session)
    revoked = await client.delete(
        f"/v1/organizations/{org.slug}/open311-keys/{key['id']}", headers=bearer(admin)
    )
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    listed = await client.get(f"/v1/organizations/{org.slug}/open311-keys", headers=bearer(admin))
    assert [k["id"] for k in listed.json()["items"]] == [key["id"]]
    assert "api_key" not in listed.json()["items"][0]
    with pytest.raises(GeoReportError) as refused:
        await app.post_request("suggerimento", description="dopo la revoca")
    assert refused.value.status == 403
    # Another organization's key is no key here.
    other_admin = await make_user(session)
    other = await make_org(session, admin=other_admin)
    await commit_setup(session)
    foreign = await client.post(
        f"/v1/organizations/{other.slug}/open311-keys",
        json={"label": "x"},
        headers=bearer(other_admin),
    )
    app.api_key = foreign.json()["api_key"]
    with pytest.raises(GeoReportError) as refused:
        await app.post_request("suggerimento", description="chiave sbagliata")
    assert refused.value.status == 403
    assert (await session.exec(select(ServiceRequest))).all() == []


async def test_a_suspended_person_files_nothing(client, session):
    _, org, _, _ = await city(client, session)
    person = await make_user(session)
    session.add(Suspension(organization_id=org.id, user_id=person.id, reason="spam"))
    await commit_setup(session)
    app = GeoReportClient(client, "/open311/v2", org.slug)
    with pytest.raises(GeoReportError) as refused:
        await app.post_request("suggerimento", description="x", headers=bearer(person))
    assert refused.value.status == 403
    assert "suspended" in refused.value.errors[0]["description"].lower()
    assert (await session.exec(select(ServiceRequest))).all() == []
