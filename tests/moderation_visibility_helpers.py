"""Builders and readers for the hidden-content, pre-moderation and word-filter tests."""

import uuid
from typing import Any

import httpx
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models.moderation import Moderation
from app.models.organizations import Organization
from app.models.proposals import Proposal

BODY = "Chiediamo più spazi di coworking gratuiti per i giovani nei comuni dell'area."


def new_proposal(node_id: uuid.UUID, **fields: Any) -> dict[str, Any]:
    return {"title": "Coworking per i giovani", "body": BODY, "node_ids": [str(node_id)], **fields}


async def set_blocked_words(session: AsyncSession, org: Organization, words: list[str]) -> None:
    org.settings = {**(org.settings or {}), "blocked_words": words}
    session.add(org)
    await session.flush()


async def moderation_row(
    session: AsyncSession, target_type: str, target_id: uuid.UUID | str
) -> Moderation | None:
    return (
        await session.exec(
            select(Moderation)
            .where(
                col(Moderation.target_type) == target_type,
                col(Moderation.target_id) == uuid.UUID(str(target_id)),
            )
            .execution_options(populate_existing=True)
        )
    ).one_or_none()


async def stored_status(session: AsyncSession, proposal_id: uuid.UUID | str) -> str:
    value = (
        await session.exec(
            select(Proposal.moderation_status)
            .where(col(Proposal.id) == uuid.UUID(str(proposal_id)))
            .execution_options(populate_existing=True)
        )
    ).one()
    return str(value)


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
