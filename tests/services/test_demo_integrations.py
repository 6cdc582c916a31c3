"""The demo's service client: created once, its secret printed once and usable."""

import re

from sqlmodel import col, func, select

from app.demo.seed import seed_demo
from app.models.integrations import ApiClient


async def test_the_demo_prints_baris_client_secret_once_and_it_works(client, session):
    first = "\n".join(await seed_demo(session))
    match = re.search(r"client_id (\S+), client_secret (\S+)", first)
    assert match, first
    again = "\n".join(await seed_demo(session))
    assert "client_secret" not in again and match.group(1) in again
    assert (await session.exec(select(func.count()).select_from(ApiClient))).one() == 1
    await session.commit()
    token = await client.post(
        "/v1/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": match.group(1),
            "client_secret": match.group(2),
        },
    )
    assert token.status_code == 200, token.text
    assert "changes:read" in token.json()["scope"]
    stored = (
        await session.exec(select(ApiClient).where(col(ApiClient.id) == match.group(1)))
    ).one()
    assert "webhooks:manage" in stored.scopes
