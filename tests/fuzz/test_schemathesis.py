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

import httpx
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import make_engine
from tests.dbutil import RunDatabases, create_database, drop_database
from tests.factories import World, make_world
from tests.servers import server_process

MAX_EXAMPLES = 5
SEED = 20261207
CHECKS = "not_a_server_error,response_schema_conformance,content_type_conformance"
# Caller -> the world's headers for it: A's admin, a member of A's public table, A's
# service client (every scope).
CALLERS = {"anonymous": None, "participant": "member", "org_admin": "admin",
           "service_client": "client"}  # fmt: skip


async def _seed(url: str, base_url: str, tmp: Path) -> tuple[World, Path]:
    """The matrix's world (tests/factories/world.py), committed, and a schemathesis
    config that fills every path parameter with one of its objects (the public proposal
    rather than the hidden ones), so that the fuzzer gets past the 404s."""
    engine = make_engine(url)
    try:
        async with (
            AsyncSession(engine, expire_on_commit=False) as session,
            httpx.AsyncClient(base_url=base_url, timeout=30) as client,
        ):
            world = await make_world(session, client)
            await session.commit()
    finally:
        await engine.dispose()
    values = {name: found[0] for name, found in world.values.items()}
    values["proposal_id"] = str(world.scene.proposal.id)
    config = tmp / "schemathesis.toml"
    lines = ["[parameters]", *(f'"path.{k}" = {json.dumps(v)}' for k, v in values.items())]
    config.write_text("\n".join(lines) + "\n")
    return world, config


def _schemathesis(
    base_url: str, headers: dict[str, str], config: Path
) -> subprocess.CompletedProcess[str]:
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "--config-file",
        str(config),
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
        # A loaded machine may take more than schemathesis's 10 s to build the document.
        "--wait-for-schema",
        "120",
        "--phases",
        "examples,fuzzing",
        "--no-shrink",
        "--suppress-health-check",
        "all",
        "--output-truncate",
        "true",
        *[part for name, value in headers.items() for part in ("-H", f"{name}: {value}")],
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)


@pytest.mark.parametrize("caller", CALLERS)
def test_every_operation_survives_the_fuzzer(caller, run_databases: RunDatabases, tmp_path):
    name = f"{run_databases.prefix}_fuzz_{uuid.uuid4().hex[:6]}"
    url = asyncio.run(create_database(run_databases.server, name, template=run_databases.template))
    try:
        with server_process(
            url,
            tmp_path,
            WRITE_LIMITS_ENABLED="false",
            DATABASE_REPLICA_URLS=url,
            LOG_LEVEL="ERROR",
        ) as server:
            world, config = asyncio.run(_seed(url, server.url, tmp_path))
            role = CALLERS[caller]
            run = _schemathesis(server.url, world.insiders[role] if role else {}, config)
            log = server.output()
        assert run.returncode == 0, (
            run.stdout[-20000:]
            + "\n--- server log ---\n"
            + "\n".join(x for x in log.splitlines() if "Error" in x or "error:" in x)[-6000:]
        )
        assert "Traceback" not in log, log[-20000:]
    finally:
        asyncio.run(drop_database(run_databases.server, name))
