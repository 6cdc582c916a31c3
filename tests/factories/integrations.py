"""Builders for the integration tests: service clients and their tokens."""

from typing import Any

import httpx

from app.models.accounts import User
from app.models.organizations import Organization
from tests.helpers import bearer


async def create_client(
    client: httpx.AsyncClient, admin: User, org: Organization, scopes: list[str]
) -> dict[str, Any]:
    response = await client.post(
        f"/v1/organizations/{org.slug}/api-clients",
        json={"name": "Portale comunale", "scopes": scopes},
        headers=bearer(admin),
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def client_token(
    client: httpx.AsyncClient, client_id: str, secret: str, scope: str | None = None
) -> httpx.Response:
    data = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    if scope is not None:
        data["scope"] = scope
    return await client.post("/v1/auth/token", data=data)


async def client_headers(
    client: httpx.AsyncClient, admin: User, org: Organization, scopes: list[str]
) -> tuple[dict[str, str], dict[str, Any]]:
    """Authorization headers of a new client with `scopes`, and the client."""
    created = await create_client(client, admin, org, scopes)
    response = await client_token(client, created["client_id"], created["client_secret"])
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}, created
