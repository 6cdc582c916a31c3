"""HTTP and assertion helpers for tests: signing in, authorization headers, problem
responses, the API calls several test modules share. Builders of rows and readers of the
database state are in `tests.factories`."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from app.error_codes import ErrorCode
from app.models.accounts import User
from app.security import create_access_token
from tests.factories.accounts import PASSWORD


def make_client(app: Any, address: str = "127.0.0.1") -> httpx.AsyncClient:
    """An HTTP client calling `app` in process, as if from `address`."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(address, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


# --- signing in -------------------------------------------------------------------------


async def login(
    client: httpx.AsyncClient, email: str | None, password: str = PASSWORD
) -> dict[str, Any]:
    response = await client.post(
        "/v1/auth/token",
        data={"grant_type": "password", "username": email or "", "password": password},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def auth_headers(client: httpx.AsyncClient, user: User) -> dict[str, str]:
    tokens = await login(client, user.email)
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def bearer(user: User) -> dict[str, str]:
    """Authorization header for `user`, minted directly (no sign-in round trip)."""
    token, _ = create_access_token(user.id)
    return {"Authorization": f"Bearer {token}"}


async def refresh(client: httpx.AsyncClient, refresh_token: str) -> httpx.Response:
    """The token endpoint's refresh_token grant."""
    return await client.post(
        "/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": refresh_token}
    )


# --- answers ----------------------------------------------------------------------------


def assert_problem(
    response: httpx.Response, status: int, code: str | None = None
) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    for field in ("type", "title", "status", "detail", "code"):
        assert field in body, f"problem without {field}: {body}"
    assert body["status"] == status
    # Every code the API answers is in the catalogue (app/error_codes.py).
    catalogue = {member.value for member in ErrorCode}
    assert body["code"] in catalogue, f"code not in ErrorCode: {body['code']}"
    for error in body.get("errors") or []:
        assert error["code"] in catalogue, f"field code not in ErrorCode: {error}"
    if code is not None:
        assert body["code"] == code, body
    return body


async def listed_ids(
    client: httpx.AsyncClient, url: str, headers: dict[str, str] | None = None
) -> list[str]:
    response = await client.get(url, headers=headers or {})
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def flatten(comments: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every comment of a page of threads, by id."""
    found: dict[str, dict[str, Any]] = {}
    for comment in comments:
        found[comment["id"]] = comment
        found.update(flatten(comment["replies"]))
    return found


# --- requests shared by several test modules ---------------------------------------------

BODY = "Chiediamo più spazi di coworking gratuiti per i giovani nei comuni dell'area."


def new_proposal(node_id: uuid.UUID, **fields: Any) -> dict[str, Any]:
    """A proposal's request body."""
    return {"title": "Coworking per i giovani", "body": BODY, "node_ids": [str(node_id)], **fields}


TARGET_PATHS = {
    "proposal": "proposals",
    "meeting": "meetings",
    "plan_node": "plan-nodes",
    "poll": "polls",
}


def comments_url(target_type: str, target_id: uuid.UUID) -> str:
    return f"/v1/{TARGET_PATHS[target_type]}/{target_id}/comments"


async def report(
    client: httpx.AsyncClient,
    user: User,
    target_type: str,
    target_id: uuid.UUID,
    *,
    reason: str = "spam",
    **extra: Any,
) -> httpx.Response:
    body = {"target_type": target_type, "target_id": str(target_id), "reason": reason, **extra}
    return await client.post("/v1/reports", json=body, headers=bearer(user))


async def act(
    client: httpx.AsyncClient,
    user: User,
    target_type: str,
    target_id: uuid.UUID,
    action: str,
    *,
    reason: str = "Rivisto dalla moderazione.",
    organization: str | None = None,
) -> httpx.Response:
    body = {
        "target_type": target_type,
        "target_id": str(target_id),
        "action": action,
        "reason": reason,
    }
    if organization is not None:
        body["organization"] = organization
    return await client.post("/v1/moderation/actions", json=body, headers=bearer(user))


def minutes_ago(minutes: float) -> datetime:
    return datetime.now(UTC) - timedelta(minutes=minutes)
