"""Every operation fuzzed, in CI: schemathesis over the whole OpenAPI document, against a
real server on a database of its own, as four callers — anonymous, a participant, an
organization's admin and that organization's service client (a client_credentials token
with every scope). Zero server errors and zero responses outside their declared schema
(and content type); the status-code conformance check is left to the longer manual run
(`python -m tests.fuzz.run_schemathesis`), since every route may also answer the shared
401/403/404/409/429 problems.

Bounded: a few examples per operation (`MAX_EXAMPLES`), a fixed seed, the examples and
fuzzing phases. The server reads its GETs "from a replica" that is the primary itself,
read-only (`DATABASE_REPLICA_URLS`): a GET that writes is a server error here.
"""

import asyncio
import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from app.db import make_engine
from app.models.integrations import ApiClient
from app.models.organizations import OrganizationRole
from app.security import create_access_token, create_client_token
from tests.dbutil import RunDatabases, create_database, drop_database
from tests.factories import make_scene, make_user
from tests.servers import server_process

MAX_EXAMPLES = 5
SEED = 20261207
CHECKS = "not_a_server_error,response_schema_conformance,content_type_conformance"
SCOPES = ["changes:read", "meetings:write", "plans:write", "webhooks:manage"]
CALLERS = ["anonymous", "participant", "org_admin", "service_client"]


async def _seed(url: str) -> dict[str, str]:
    """A scene (organization, admin, plan, public table, content), and a token per caller."""
    from sqlmodel.ext.asyncio.session import AsyncSession

    engine = make_engine(url)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as session:
            scene = await make_scene(session)
            admin = await make_user(session, name="Amministratrice")
            session.add(
                OrganizationRole(organization_id=scene.org.id, user_id=admin.id, role="admin")
            )
            api_client = ApiClient(organization_id=scene.org.id, name="Fuzz", scopes=SCOPES)
            session.add(api_client)
            await session.commit()
            client_token, _ = create_client_token(api_client.id, scene.org.id, SCOPES)
            return {
                "anonymous": "",
                "participant": create_access_token(scene.member.id)[0],
                "org_admin": create_access_token(admin.id)[0],
                "service_client": client_token,
            }
    finally:
        await engine.dispose()


def _schemathesis(base_url: str, token: str, report: Path) -> subprocess.CompletedProcess[str]:
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "run",
        f"{base_url}/openapi.json",
        "--checks",
        CHECKS,
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--phases",
        "examples,fuzzing",
        "--no-shrink",
        "--suppress-health-check",
        "all",
        "--report",
        "ndjson",
        "--report-ndjson-path",
        str(report),
        "--output-truncate",
        "true",
    ]
    if token:
        command += ["-H", f"Authorization: Bearer {token}"]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)


def _failures(report: Path) -> list[str]:
    """The failed checks of the run's ndjson report, one line each."""
    found: list[str] = []
    for line in report.read_text().splitlines():
        event: dict[str, Any] = json.loads(line)
        text = json.dumps(event)
        if ('"failure"' in text and '"not_a_server_error"' in text) or "FAILURE" in text:
            found.append(text[:400])
    return found


@pytest.mark.parametrize("caller", CALLERS)
def test_every_operation_survives_the_fuzzer(caller, run_databases: RunDatabases, tmp_path):
    name = f"{run_databases.prefix}_fuzz_{uuid.uuid4().hex[:6]}"
    url = asyncio.run(create_database(run_databases.server, name, template=run_databases.template))
    try:
        tokens = asyncio.run(_seed(url))
        with server_process(
            url,
            tmp_path,
            WRITE_LIMITS_ENABLED="false",
            DATABASE_REPLICA_URLS=url,
            LOG_LEVEL="ERROR",
        ) as server:
            report = tmp_path / "report.ndjson"
            run = _schemathesis(server.url, tokens[caller], report)
            log = server.output()
        assert run.returncode == 0, (
            run.stdout[-20000:]
            + "\n--- server log ---\n"
            + "\n".join(x for x in log.splitlines() if "Error" in x or "error:" in x)[-6000:]
        )
        assert "Traceback" not in log, log[-20000:]
    finally:
        asyncio.run(drop_database(run_databases.server, name))
