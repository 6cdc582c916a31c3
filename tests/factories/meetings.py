"""Meetings of a table, and time passing for them."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models.meetings import Meeting
from app.models.tables import ParticipationTable
from tests.factories.base import commit_setup


async def make_meeting(
    session: AsyncSession,
    table: ParticipationTable,
    *,
    starts_at: datetime | None = None,
    hours: float = 2,
    **fields: Any,
) -> Meeting:
    """A public meeting a week from now unless `fields` say otherwise."""
    starts_at = starts_at or datetime.now(UTC).replace(microsecond=0) + timedelta(days=7)
    fields.setdefault("title", {"it": "Incontro"})
    fields.setdefault("kind", "public")
    meeting = Meeting(
        table_id=table.id,
        organization_id=table.organization_id,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=hours),
        **fields,
    )
    session.add(meeting)
    await session.flush()
    return meeting


async def let_meeting_begin(session: AsyncSession, meeting_id: uuid.UUID | str) -> None:
    """Time passes: the meeting started a minute ago (and ends an hour later)."""
    now = datetime.now(UTC)
    await session.exec(
        update(Meeting)
        .where(col(Meeting.id) == meeting_id)
        .values(starts_at=now - timedelta(minutes=1), ends_at=now + timedelta(hours=1))
    )
    await commit_setup(session)
