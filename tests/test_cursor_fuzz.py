"""Every list refuses every cursor it did not issue with 422 `invalid_cursor`, never a 5xx.

The lists are found from the app's routes (every GET operation whose OpenAPI has a
`cursor` parameter), so a new list is covered as soon as it exists; a path parameter this
test cannot fill fails it, and says which one to add to `_path_values`.

Two kinds of hostile cursors: forged ones (the old unsigned format, tampered signatures,
junk), which the signature refuses; and cursors signed with the real key but carrying
values outside the list's key types (null, a number where a UUID belongs, date-times out
of range once in UTC, integers beyond int64, lone surrogates, the wrong arity), which the
type check refuses. A list whose keys reach SQL unchecked would answer 500 to the second.
"""

import base64
import hashlib
import hmac
import json
import random
import re
from typing import Any

import pytest

from app.config import get_settings
from app.main import create_app
from app.models.budgets import Budget, BudgetArea, BudgetProject
from app.models.integrations import WebhookEndpoint
from app.models.organizations import OrganizationRole
from app.pagination import encode_cursor
from tests.factories import (
    add_indicator,
    commit_setup,
    make_conversation,
    make_scene,
    make_user,
)
from tests.factories.budgets import phases_around
from tests.helpers import assert_problem, bearer


def list_paths() -> list[str]:
    spec = create_app().openapi()
    return sorted(
        path
        for path, operations in spec["paths"].items()
        if "get" in operations
        and any(p["name"] == "cursor" for p in operations["get"].get("parameters", []))
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def signed(values: Any) -> str:
    """A cursor signed like the service's, carrying whatever JSON `values` is."""
    payload = json.dumps(values).encode()
    digest = hmac.new(
        get_settings().secret_key.encode(), b"consulta-cursor\0" + payload, hashlib.sha256
    ).digest()[:12]
    return f"{_b64(payload)}.{_b64(digest)}"


def unsigned(values: Any) -> str:
    return _b64(json.dumps(values).encode())


HOSTILE_VALUES: list[Any] = [
    None,
    True,
    5,
    -1,
    2**63,
    -(2**63) - 1,
    2**31,
    10**400,
    1.5,
    float("nan"),
    float("inf"),
    1e300,
    "",
    "\ud800",
    "x\u0000y",
    "9999-12-31T23:59:59-23:59",
    "0001-01-01T00:00:00+14:00",
    "2026-05-02T16:30:00",
    "not-a-date",
    "00000000-0000-0000-0000-00000000000g",
    "NaN",
    "Infinity",
    [],
    {"a": 1},
]
# Values each key type accepts, so that random cursors get past the first keys.
PLAUSIBLE_VALUES: list[Any] = [
    "00000000-0000-4000-8000-000000000000",
    "2026-05-02T16:30:00+00:00",
    "2026-05-02",
    "cm-bari",
    3,
    0.5,
    "recent",
]


def forged_cursors() -> list[str]:
    """Cursors not signed with the service's key: every list refuses them all."""
    return [
        "WyJjbS1iYXJpIiw1XQ",  # the probe's: ["cm-bari", 5], unsigned
        unsigned(["cm-bari", "00000000-0000-4000-8000-000000000000"]),
        "%%%garbage",
        "a.b",
        ".",
        "....",
        "x" * 600,
        "WyJjbS1iYXJpIiw1XQ.AAAAAAAAAAAAAAAA",  # a forged signature
        encode_cursor(["cm-bari", 5]) + "x",  # a tampered signature
        "W10." + "_" * 16,
        "🙂.🙂",
    ]


def signed_cursors() -> list[str]:
    """Cursors signed with the service's key but with hostile values: refused unless they
    happen to fit the list's key types (`[5]` is a fine cursor for a list ordered by one
    integer), and never a server error."""
    rng = random.Random(20261204)
    cursors = [
        signed([]),
        signed({}),
        signed("cm-bari"),
        signed(None),
        signed([[[[[[[[[[[]]]]]]]]]]]),
    ]
    for arity in range(1, 5):
        for value in HOSTILE_VALUES:
            cursors.append(signed([value] * arity))
    pool = HOSTILE_VALUES + PLAUSIBLE_VALUES * 2
    for _ in range(40):
        arity = rng.randint(1, 5)
        cursors.append(signed([rng.choice(pool) for _ in range(arity)]))
    return cursors


async def _path_values(session: Any) -> tuple[dict[str, str], dict[str, str]]:
    """A world with one of everything a list hangs from, and an admin who sees it all."""
    scene = await make_scene(session)
    admin = await make_user(session, platform_admin=True, name="Amministratrice")
    session.add(OrganizationRole(organization_id=scene.org.id, user_id=admin.id, role="admin"))
    await session.flush()
    indicator_id = await add_indicator(session, admin, scene.node.id)
    budget = Budget(
        organization_id=scene.org.id,
        slug="bilancio-fuzz",
        title={"it": "Bilancio"},
        description={"it": "Per il fuzz dei cursori."},
        phases=phases_around("voting"),
        voting_method="approval",
        counting="greedy",
    )
    session.add(budget)
    await session.flush()
    area = BudgetArea(budget_id=budget.id, name="Area A", amount=100_00)
    session.add(area)
    await session.flush()
    project = BudgetProject(
        budget_id=budget.id,
        organization_id=scene.org.id,
        area_id=area.id,
        title={"it": "Progetto"},
        cost=50_00,
        feasibility="feasible",
    )
    webhook = WebhookEndpoint(
        organization_id=scene.org.id, url="https://portale.example.org/hook", event_types=["*"]
    )
    session.add_all([project, webhook])
    await session.flush()
    conversation = await make_conversation(session, scene.table)
    await commit_setup(session)
    values = {
        "org": scene.org.slug,
        "table_id": str(scene.table.id),
        "meeting_id": str(scene.meeting.id),
        "plan_id": str(scene.plan.id),
        "node_id": str(scene.node.id),
        "indicator_id": str(indicator_id),
        "proposal_id": str(scene.proposal.id),
        "poll_id": str(scene.poll.id),
        "budget_id": str(budget.id),
        "project_id": str(project.id),
        "webhook_id": str(webhook.id),
        "conversation_id": str(conversation.id),
    }
    return values, bearer(admin)


def _fill(path: str, values: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        assert name in values, f"add a value for the path parameter {name!r} to _path_values"
        return values[name]

    return re.sub(r"\{([^}]+)\}", value, path)


async def test_the_lists_are_found_from_the_routes():
    paths = list_paths()
    assert "/v1/organizations" in paths
    assert "/v1/tables/{table_id}/proposals" in paths
    assert len(paths) >= 20


@pytest.mark.parametrize("path", list_paths())
async def test_every_list_refuses_cursors_it_did_not_issue(client, session, path):
    values, admin = await _path_values(session)
    url = _fill(path, values)
    anonymous = await client.get(url)
    as_admin = await client.get(url, headers=admin)
    assert as_admin.status_code == 200, as_admin.text
    callers = [admin] + ([{}] if anonymous.status_code == 200 else [])
    refused = 0
    for headers in callers:
        for cursor in forged_cursors():
            response = await client.get(url, params={"cursor": cursor}, headers=headers)
            problem = assert_problem(response, 422, "invalid_cursor")
            assert problem["errors"][0]["loc"] == ["query", "cursor"]
        for cursor in signed_cursors():
            response = await client.get(url, params={"cursor": cursor}, headers=headers)
            if response.status_code != 200:
                assert_problem(response, 422, "invalid_cursor")
                refused += 1
    assert refused >= len(callers) * len(signed_cursors()) * 0.8
    # The list itself is unharmed: its own cursors still page.
    first = (await client.get(url, params={"limit": 1}, headers=admin)).json()
    # (The change feed answers a next_cursor even after an empty page.)
    if first["next_cursor"] and first["items"]:
        following = await client.get(
            url, params={"limit": 1, "cursor": first["next_cursor"]}, headers=admin
        )
        assert following.status_code == 200, following.text
        assert following.json()["items"] != first["items"]
