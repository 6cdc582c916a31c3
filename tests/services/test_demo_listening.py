"""The demo's citizen listening for Bari: La Spezia-style Open311 categories, a key a
municipal app can use at once, and a satisfaction survey with results; idempotent."""

from sqlmodel import col, func, select

from app.demo.seed import seed_demo
from app.models.organizations import Organization
from app.models.service_requests import Open311ApiKey, Service
from app.models.surveys import Survey
from app.services.accounts.people import find_user_by_email
from tests.factories import commit_setup
from tests.helpers import bearer
from tests.open311_client import GeoReportClient


async def test_bari_listens_and_a_municipal_app_follows_a_complaint(client, session):
    report = await seed_demo(session)
    again = await seed_demo(session)
    assert not any("open311" in line or "survey" in line for line in again)
    bari = (
        await session.exec(select(Organization).where(col(Organization.slug) == "cm-bari"))
    ).one()
    codes = set(
        (
            await session.exec(
                select(Service.service_code).where(col(Service.organization_id) == bari.id)
            )
        ).all()
    )
    assert codes == {
        "reclamo",
        "suggerimento",
        "segnalazione-strade",
        "segnalazione-illuminazione",
        "segnalazione-verde",
        "segnalazione-rifiuti",
    }
    keys = (await session.exec(select(func.count()).select_from(Open311ApiKey))).one()
    assert keys == 1
    survey = (
        await session.exec(select(Survey).where(col(Survey.organization_id) == bari.id))
    ).one()
    assert survey.anonymous and survey.responses_count == 2
    await commit_setup(session)

    key = next(line.rsplit(" ", 1)[1] for line in report if "api_key" in line)
    app = GeoReportClient(client, "/open311/v2", "cm-bari", api_key=key)
    services = await app.services()
    assert {s["group"] for s in services} == {"Reclami e suggerimenti", "Segnalazioni"}
    filed = await app.post_request(
        "reclamo",
        description="Sportello chiuso in orario di apertura",
        attributes={"ufficio": "Anagrafe", "data_fatto": "2026-12-01T10:00:00+01:00"},
        email="cittadino@example.org",
    )
    request_id = filed[0]["service_request_id"]
    admin = await find_user_by_email(session, "admin.bari@consulta.demo")
    assert admin is not None
    closed = await client.patch(
        f"/v1/service-requests/{request_id}",
        json={"status": "closed", "status_notes": "Ci scusiamo: orari ripristinati."},
        headers=bearer(admin),
    )
    assert closed.status_code == 200, closed.text
    assert (await app.request(request_id))["status"] == "closed"

    results = await client.get(f"/v1/surveys/{survey.id}/results", headers=bearer(admin))
    assert results.status_code == 200, results.text
    nps = next(q for q in results.json()["questions"] if q["kind"] == "nps")
    assert nps["nps"] == 0 and nps["count"] == 2  # a promoter (9) and a detractor (6)
