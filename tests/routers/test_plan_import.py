"""POST /v1/plans/import: who may import, atomic refusals with every fault, body limits."""

import json
import os
import subprocess
import sys
from typing import Any

from sqlalchemy import text
from sqlmodel import col, select

from app.models.events import Event
from app.models.organizations import Organization
from app.models.plans import Plan
from tests.factories import count_rows, make_org, make_user, plan_document, small_document
from tests.helpers import assert_problem, auth_headers


async def test_platform_admin_imports_bari_then_reimports(client, session):
    admin = await make_user(session, platform_admin=True)
    headers = await auth_headers(client, admin)

    first = await client.post("/v1/plans/import", headers=headers, json=plan_document("bari"))
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["created"] and body["organization_created"] and body["changed"]
    assert body["nodes"]["created"] == 38

    second = await client.post("/v1/plans/import", headers=headers, json=plan_document("bari"))
    assert second.status_code == 200, second.text
    assert second.json()["plan_id"] == body["plan_id"]
    assert not second.json()["changed"] and second.json()["nodes"]["unchanged"] == 38

    events = (
        await session.exec(
            select(Event.type, Event.actor_id).where(col(Event.subject_id) == body["plan_id"])
        )
    ).all()
    assert events == [("plan.imported", admin.id)]
    listed = (await client.get("/v1/organizations/cm-bari/plans")).json()["items"]
    assert [(p["slug"], p["nodes_count"]) for p in listed] == [("psm-bari", 38)]


async def test_org_admin_imports_into_own_organization(client, session):
    admin = await make_user(session)
    org = await make_org(session, admin=admin)
    response = await client.post(
        "/v1/plans/import",
        headers=await auth_headers(client, admin),
        json=small_document(org.slug),
    )
    assert response.status_code == 201, response.text
    assert response.json()["organization_id"] == str(org.id)
    assert not response.json()["organization_created"]


async def test_who_may_not_import(client, session):
    admin_a = await make_user(session)
    org_a = await make_org(session, admin=admin_a)
    org_b = await make_org(session)
    user = await make_user(session)
    headers_a = await auth_headers(client, admin_a)

    assert_problem(await client.post("/v1/plans/import", json=small_document(org_a.slug)), 401)
    # Another organization, an organization that does not exist, any organization for a
    # plain user: all 404, nothing about existence leaks.
    for headers, slug in (
        (headers_a, org_b.slug),
        (headers_a, "cm-inesistente"),
        (await auth_headers(client, user), org_a.slug),
    ):
        response = await client.post("/v1/plans/import", headers=headers, json=small_document(slug))
        assert_problem(response, 404, "not_found")
    assert (await session.exec(select(Plan))).all() == []
    assert (
        await session.exec(select(Organization).where(col(Organization.slug) == "cm-inesistente"))
    ).first() is None


def _broken_document(slug: str) -> dict[str, Any]:
    """One fault of each class the issue names, and a few more."""
    document = plan_document("bari")
    document["organization"]["slug"] = slug
    plan = document["plan"]
    plan["status"] = "in_revisione"  # unknown status
    plan["approved_on"] = "2024-13-01"  # a date that does not parse
    plan["period"] = {"start": "2027-01-01", "end": "2025-12-31"}  # ends before it starts
    plan["phases"] = [  # a phase that ends before it starts
        {"name": {"it": "Ascolto"}, "starts_on": "2025-05-01", "ends_on": "2025-04-30"}
    ]
    plan["nodes"][3]["children"][1]["title"] = {"en": "Higher education"}  # no default locale
    plan["nodes"][5]["children"][0]["code"] = "1.1"  # duplicate code
    plan["nodes"][7]["weight"] = 3  # not a field of a node
    del plan["nodes"][8]["kind"]  # required
    return document


BROKEN_POINTERS = {
    "/plan/status",
    "/plan/approved_on",
    "/plan/period/end",
    "/plan/phases/0/ends_on",
    "/plan/nodes/3/children/1/title",
    "/plan/nodes/5/children/0/code",
    "/plan/nodes/7/weight",
    "/plan/nodes/8/kind",
}


async def test_broken_document_is_refused_with_every_fault_and_changes_nothing(client, session):
    admin = await make_user(session)
    org = await make_org(session, admin=admin)
    headers = await auth_headers(client, admin)
    assert (
        await client.post("/v1/plans/import", headers=headers, json=small_document(org.slug))
    ).status_code == 201
    before = await count_rows(session)

    response = await client.post(
        "/v1/plans/import", headers=headers, json=_broken_document(org.slug)
    )

    body = assert_problem(response, 422, "invalid_plan_document")
    assert {e["pointer"] for e in body["errors"]} == BROKEN_POINTERS
    assert "8 errors" in body["detail"] and "nothing was imported" in body["detail"]
    for error in body["errors"]:
        assert error["loc"][0] == "body" and error["msg"] and error["code"]
    codes = {e["pointer"]: e["code"] for e in body["errors"]}
    assert codes["/plan/nodes/5/children/0/code"] == "duplicate_code"
    assert codes["/plan/nodes/3/children/1/title"] == "missing_default_locale"
    assert codes["/plan/status"] == "invalid_choice"
    assert codes["/plan/phases/0/ends_on"] == "ends_before_start"
    assert await count_rows(session) == before


async def test_broken_document_for_a_new_organization_creates_nothing(client, session):
    admin = await make_user(session, platform_admin=True)
    headers = await auth_headers(client, admin)
    before = await count_rows(session)
    response = await client.post(
        "/v1/plans/import", headers=headers, json=_broken_document("cm-nuova")
    )
    assert {e["pointer"] for e in assert_problem(response, 422)["errors"]} == BROKEN_POINTERS
    assert await count_rows(session) == before


async def test_wrong_format_and_shape(client, session):
    admin = await make_user(session, platform_admin=True)
    headers = await auth_headers(client, admin)
    document = small_document("cm-prova")
    document["format"] = "consulta.plan/v2"
    del document["plan"]["nodes"]
    document["extra"] = True
    body = assert_problem(
        await client.post("/v1/plans/import", headers=headers, json=document), 422
    )
    assert {(e["pointer"], e["code"]) for e in body["errors"]} == {
        ("/format", "invalid_value"),
        ("/plan/nodes", "required"),
        ("/extra", "unknown_field"),
    }
    # Not an object at all: FastAPI's own validation, same problem shape.
    assert_problem(await client.post("/v1/plans/import", headers=headers, json=[1, 2]), 422)


async def test_malformed_json_is_a_422_problem(client, session):
    admin = await make_user(session, platform_admin=True)
    headers = await auth_headers(client, admin)
    before = await count_rows(session)
    response = await client.post(
        "/v1/plans/import",
        headers={**headers, "Content-Type": "application/json"},
        content=b'{"format": "consulta.plan/v1", "plan": {',
    )
    body = assert_problem(response, 422, "validation_error")
    assert body["errors"][0]["code"] == "invalid_json"
    assert await count_rows(session) == before


async def test_oversized_body_is_a_413_problem(client, session):
    admin = await make_user(session, platform_admin=True)
    headers = await auth_headers(client, admin)
    document = small_document("cm-prova")
    # Larger than any other endpoint accepts, yet allowed here (the plan files are ~30 KB).
    document["plan"]["summary"] = {"it": "x" * 4_000}
    big_ok = json.dumps(document).encode() + b" " * 100_000
    response = await client.post(
        "/v1/plans/import",
        headers={**headers, "Content-Type": "application/json"},
        content=big_ok,
    )
    assert response.status_code == 201, response.text

    before = await count_rows(session)
    too_big = json.dumps(small_document("cm-altra")).encode() + b" " * (2 * 1024 * 1024)
    response = await client.post(
        "/v1/plans/import",
        headers={**headers, "Content-Type": "application/json"},
        content=too_big,
    )
    assert "exceeds 2097152 bytes" in assert_problem(response, 413, "payload_too_large")["detail"]
    assert await count_rows(session) == before
    # Other endpoints keep the 64 KiB default.
    response = await client.patch(
        "/v1/organizations/cm-prova",
        headers={**headers, "Content-Type": "application/json"},
        content=b'{"name": "x"}' + b" " * 70_000,
    )
    assert_problem(response, 413)


def _run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LOG_LEVEL": "WARNING"}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "import-plan", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_cli_imports_a_file_and_refuses_a_broken_one(engine, tmp_path):
    """`consulta import-plan FILE` commits for real: it runs against the test database in
    a subprocess, and the test removes what it wrote."""
    slug = "cm-cli-prova"
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(small_document(slug)), encoding="utf-8")
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(_broken_document(slug)), encoding="utf-8")
    try:
        refused = _run_cli(str(broken))
        assert refused.returncode == 1
        assert "nothing was imported" in refused.stderr
        assert "/plan/nodes/5/children/0/code" in refused.stderr

        done = _run_cli(str(path))
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert report["created"] and report["nodes"]["created"] == 6

        again = _run_cli(str(path))
        assert json.loads(again.stdout)["changed"] is False

        missing = _run_cli(str(path), "--as-email", "nobody@example.org")
        assert missing.returncode == 1 and "no account" in missing.stderr
    finally:
        async with engine.begin() as conn:
            # The import is audited, and audit_log refuses DELETE through a trigger;
            # replica mode skips triggers (the test database's owner is a superuser), and
            # only for this statement: the organization's delete below must cascade.
            await conn.execute(text("SET LOCAL session_replication_role = replica"))
            await conn.execute(
                text(
                    "DELETE FROM audit_log WHERE organization_id IN "
                    "(SELECT id FROM organizations WHERE slug = :slug)"
                ),
                {"slug": slug},
            )
            await conn.execute(text("SET LOCAL session_replication_role = origin"))
            await conn.execute(
                text(
                    "DELETE FROM events WHERE organization_id IN "
                    "(SELECT id FROM organizations WHERE slug = :slug)"
                ),
                {"slug": slug},
            )
            await conn.execute(text("DELETE FROM organizations WHERE slug = :slug"), {"slug": slug})
