"""Reading an organization's moderation settings (`organizations.settings`, JSONB),
defensively: the column is free-form JSON. Changing them is
`app/services/moderation/settings.py`.
"""

import uuid
from collections.abc import Mapping
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models.moderation import DEFAULT_REPORT_THRESHOLD
from app.models.moderation_settings import (
    BLOCKED_WORDS_MAX,
    REPORT_THRESHOLD_MAX,
    REPORT_THRESHOLD_MIN,
)
from app.models.organizations import Organization


def report_threshold_of(settings: Mapping[str, Any] | None) -> int:
    """The organization's automatic-hiding threshold (the default when unset)."""
    value = (settings or {}).get("report_threshold")
    if (
        isinstance(value, int)
        and not isinstance(value, bool)
        and REPORT_THRESHOLD_MIN <= value <= REPORT_THRESHOLD_MAX
    ):
        return value
    return DEFAULT_REPORT_THRESHOLD


def blocked_words_of(settings: Mapping[str, Any] | None) -> list[str]:
    """The organization's blocked words and phrases (none when unset)."""
    value = (settings or {}).get("blocked_words")
    if not isinstance(value, list):
        return []
    return [w for w in value if isinstance(w, str) and w.strip()][:BLOCKED_WORDS_MAX]


async def organization_settings(
    session: AsyncSession, organization_id: uuid.UUID
) -> dict[str, Any]:
    """The raw settings of an organization (one query; no authorization)."""
    value = (
        await session.exec(
            select(Organization.settings).where(col(Organization.id) == organization_id)
        )
    ).one_or_none()
    return dict(value or {})


async def blocked_words(session: AsyncSession, organization_id: uuid.UUID) -> list[str]:
    return blocked_words_of(await organization_settings(session, organization_id))
