"""A database outage is a 503 `database_unavailable` with Retry-After, on every route and
on /readyz, and the service recovers as soon as PostgreSQL is back, without a restart.

A real server process against a scratch PostgreSQL that this test stops and starts."""

from collections.abc import Iterator

import httpx
import pytest

from tests.servers import ScratchPostgres, scratch_postgres, server_process


@pytest.fixture(name="scratch_postgres")
def _scratch_postgres() -> Iterator[ScratchPostgres]:
    with scratch_postgres() as postgres:
        yield postgres


def _assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert int(response.headers["retry-after"]) >= 1
    body = response.json()
    assert body["code"] == "database_unavailable"
    assert body["status"] == 503
    assert "asyncpg" not in response.text and "Traceback" not in response.text


async def test_an_outage_is_503_and_recovery_needs_no_restart(scratch_postgres, tmp_path):
    url = await scratch_postgres.create_migrated_database()
    with server_process(url, tmp_path, DB_POOL_SIZE="2", DB_MAX_OVERFLOW="0") as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=20) as client:
            assert (await client.get("/readyz")).status_code == 200
            assert (await client.get("/v1/organizations")).status_code == 200

            scratch_postgres.stop()
            requests = [
                client.get("/readyz"),
                client.get("/status"),  # ModI: problem+json, 503
                client.get("/v1/organizations"),
                client.get("/v1/organizations/cm-bari"),
                client.post(
                    "/v1/auth/token",
                    data={"grant_type": "password", "username": "a@b.it", "password": "x" * 12},
                ),
                client.post(
                    "/v1/auth/register",
                    json={
                        "email": "nuova@example.org",
                        "password": "una password lunga",
                        "display_name": "Nuova",
                    },
                ),
                client.post(
                    "/v1/auth/password-reset",
                    json={"email": "nuova@example.org"},
                    headers={"Idempotency-Key": "outage-1"},
                ),
            ]
            for request in requests:
                _assert_unavailable(await request)
            assert (await client.get("/healthz")).status_code == 200  # the process is up

            scratch_postgres.start()
            # The very first requests after the restart answer: stale pooled connections
            # are checked before use and replaced.
            assert (await client.get("/readyz")).status_code == 200
            assert (await client.get("/v1/organizations")).status_code == 200
            registered = await client.post(
                "/v1/auth/register",
                json={
                    "email": "nuova@example.org",
                    "password": "una password lunga",
                    "display_name": "Nuova",
                },
            )
            assert registered.status_code == 201, registered.text
    assert "internal_error" not in server.output()
