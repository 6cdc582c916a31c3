"""The authorization matrix, generated from the OpenAPI document: every operation that
takes an id or a slug in its path, called by every outsider of organization A — an
anonymous caller, a participant of nowhere, another organization's admin, another table's
facilitator and another organization's service client — on A's private and hidden
objects (`tests/factories/world.py`). It fails on any answer that

- reveals: a response (any status) carrying a secret object's id or text (`World.marker`,
  also in personal data), the request's own path aside; or
- changes: a write answered 2xx, or any change of the database's rows (every table but
  the rate-limit counters and idempotency records, digested before and after each call),
  unless `ALLOWED` below says that caller may.

A new operation is covered as soon as it exists: its path parameters are filled from
`World.values` (a parameter the world has no value for fails the test: add it there), its
body is a valid example generated from its request schema (schemathesis, positive mode,
derandomized), so that the call reaches the service's authorization rather than stopping
at validation.
"""

import asyncio
import itertools
import re
from functools import cache, partial
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import metadata
from app.main import create_app
from tests.factories import World, make_world

CALLERS = [
    "anonymous",
    "participant",
    "other_org_admin",
    "other_table_facilitator",
    "other_org_client",
]
# Written on their own transactions by every request (throttles, Idempotency-Key claims).
UNWATCHED = {"rate_limit_counters", "idempotency_records"}
PEOPLE = {"participant", "other_org_admin", "other_table_facilitator"}
# (method, path) -> the outsiders who may change state through it on A's objects: the
# public ones (A's plan, its budget's projects) take comments from anyone signed in.
ALLOWED: dict[tuple[str, str], set[str]] = {
    ("POST", "/v1/plan-nodes/{node_id}/comments"): PEOPLE,
    ("POST", "/v1/budget-projects/{project_id}/comments"): PEOPLE,
}
# Operations that stream forever when they succeed (called with a deadline; in process,
# without the live hub of the lifespan, they answer 503 `live_unavailable`).
STREAMS = {("GET", "/v1/meetings/{meeting_id}/live")}
PARAM = re.compile(r"\{([^}]+)\}")


@cache
def _spec() -> dict[str, Any]:
    spec: dict[str, Any] = create_app().openapi()
    return spec


def operations() -> list[tuple[str, str]]:
    return sorted(
        (method.upper(), path)
        for path, item in _spec()["paths"].items()
        if PARAM.search(path)
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    )


@cache
def _example(method: str, path: str) -> Any:
    """One valid request (query, headers, body) of the operation, the same every run."""
    schema = schemathesis.openapi.from_dict(_spec())
    strategy = schema[path][method].as_strategy(generation_mode=GenerationMode.POSITIVE)
    found: list[Any] = []

    @given(strategy)
    @settings(
        max_examples=1, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
    )
    def grab(case: Any) -> None:
        found.append(case)

    grab()
    return found[0]


async def _digest(session: AsyncSession) -> dict[str, str]:
    parts = [
        f"SELECT '{t.name}' AS name, count(*)::text || ':' || "
        f"coalesce(md5(string_agg(t::text, ',' ORDER BY t::text)), '') AS digest "
        f'FROM "{t.name}" AS t'
        for t in metadata.sorted_tables
        if t.name not in UNWATCHED
    ]
    rows = await (await session.connection()).execute(text(" UNION ALL ".join(parts)))
    return {name: digest for name, digest in rows.all()}


def _value(values: dict[str, str], match: re.Match[str]) -> str:
    return values[match.group(1)]


def _urls(world: World, path: str) -> list[str]:
    names = PARAM.findall(path)
    for name in names:
        assert name in world.values, (
            f"the matrix has no value for the path parameter {name!r} of {path}: add an "
            "object to tests/factories/world.py (World.values)"
        )
    urls = []
    for combination in itertools.product(*(world.values[name] for name in names)):
        filled = dict(zip(names, combination, strict=True))
        urls.append(PARAM.sub(partial(_value, filled), path))
    return urls


def _request(method: str, path: str, url: str, headers: dict[str, str]) -> dict[str, Any]:
    case = _example(method, path)
    request: dict[str, Any] = {
        "method": method,
        "url": url,
        "params": case.query or None,
        "headers": {
            **{k: str(v) for k, v in (case.headers or {}).items() if k.lower() != "authorization"},
            **headers,
        },
    }
    media = case.media_type or ""
    if case.body is not None and not isinstance(case.body, type(None)):
        if "json" in media:
            request["json"] = case.body
        elif "form-urlencoded" in media:
            request["data"] = case.body
        elif "multipart" in media:
            request["files"] = {k: (k, str(v).encode()) for k, v in dict(case.body).items()}
        elif isinstance(case.body, bytes | str):
            request["content"] = case.body
            request["headers"]["content-type"] = media
    return request


def _revealed(world: World, url: str, response: Any) -> list[str]:
    seen = response.text.replace(url, "") + response.headers.get("location", "").replace(url, "")
    found = [world.marker] if world.marker.lower() in seen.lower() else []
    return found + sorted(i for i in world.secret_ids if i in seen)


async def _call(client: Any, request: dict[str, Any], stream: bool) -> Any:
    if stream:
        return await asyncio.wait_for(client.request(**request), timeout=10)
    return await client.request(**request)


async def test_the_matrix_covers_every_operation_with_a_path_parameter():
    found = operations()
    assert ("GET", "/v1/tables/{table_id}") in found
    assert ("DELETE", "/v1/webhooks/{webhook_id}") in found
    assert len(found) >= 90


async def test_the_matrix_sees_a_leak_when_there_is_one(client, session):
    """Control: A's own admin is shown A's private things, and the check says so."""
    world = await make_world(session, client)
    for url in (
        f"/v1/tables/{world.values['table_id'][0]}",
        f"/v1/webhooks/{world.values['webhook_id'][0]}",
        f"/v1/surveys/{world.values['survey_id'][0]}",
    ):
        response = await client.get(url, headers=world.insiders["admin"])
        assert response.status_code == 200, response.text
        assert _revealed(world, url, response), url
    before = await _digest(session)
    webhook = world.values["webhook_id"][0]
    response = await client.delete(f"/v1/webhooks/{webhook}", headers=world.insiders["admin"])
    assert response.status_code < 300, response.text
    assert await _digest(session) != before


@pytest.mark.parametrize("caller", CALLERS)
async def test_an_outsider_neither_sees_nor_changes_what_is_not_theirs(client, session, caller):
    world = await make_world(session, client)
    headers = world.outsiders[caller]
    problems: list[str] = []
    reached = 0
    after = await _digest(session)
    for method, path in operations():
        for url in _urls(world, path):
            before = after
            request = _request(method, path, url, headers)
            response = await _call(client, request, (method, path) in STREAMS)
            after = await _digest(session)
            label = f"{caller} {method} {url} -> {response.status_code}"
            if response.status_code >= 500 and (method, path) not in STREAMS:
                problems.append(f"{label}: server error {response.text[:200]}")
            reached += response.status_code != 422
            leaked = _revealed(world, url, response)
            if leaked:
                problems.append(f"{label}: reveals {leaked} in {response.text[:300]}")
            # Allowed on A's public objects only: never with a secret one in the path.
            allowed = caller in ALLOWED.get((method, path), set()) and not any(
                i in url for i in world.secret_ids
            )
            changed = sorted(name for name in after if after[name] != before.get(name))
            if changed and not allowed:
                problems.append(f"{label}: changed {changed}")
            if method != "GET" and response.status_code < 300 and not allowed:
                problems.append(f"{label}: a write answered {response.text[:200]}")
    print(f"{caller}: {reached} calls past validation")
    assert not problems, "\n".join(problems)
    # The generated bodies get most calls past validation, to the authorization itself.
    assert reached >= len(operations()) * 0.6, reached
