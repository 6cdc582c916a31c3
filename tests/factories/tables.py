"""Participation tables, their members and their settings."""

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from app.models.accounts import User
from app.models.organizations import Organization
from app.models.tables import (
    MembershipRole,
    MembershipStatus,
    ParticipationTable,
    TableMembership,
    TableSettings,
)


async def make_table(
    session: AsyncSession,
    org: Organization,
    *,
    premoderation: bool | None = False,
    **fields: Any,
) -> ParticipationTable:
    """A public, open table unless `fields` say otherwise (model field names).

    Pre-moderation is switched off explicitly unless asked for (`premoderation=True`) or
    left to the table's default (`premoderation=None`, no settings row): tables admitting
    minors hold new content by default, which only the moderation tests are about."""
    fields.setdefault("slug", f"tavolo-{uuid.uuid4().hex[:8]}")
    fields.setdefault("name", {"it": "Tavolo di prova"})
    table = ParticipationTable(organization_id=org.id, **fields)
    session.add(table)
    await session.flush()
    if premoderation is not None:
        session.add(TableSettings(table_id=table.id, premoderation=premoderation))
        await session.flush()
    return table


async def add_member(
    session: AsyncSession,
    table: ParticipationTable,
    user: User,
    *,
    role: MembershipRole = "member",
    status: MembershipStatus = "active",
) -> TableMembership:
    membership = TableMembership(
        table_id=table.id,
        user_id=user.id,
        role=role,
        status=status,
        activated_at=datetime.now(UTC) if status == "active" else None,
    )
    session.add(membership)
    await session.flush()
    return membership


async def set_settings(session: AsyncSession, table: ParticipationTable, **values: Any) -> None:
    """Set some of the table's settings (`comments_open=False`, `premoderation=True`…),
    creating its settings row if needed."""
    row = await session.get(TableSettings, table.id)
    if row is None:
        session.add(TableSettings(table_id=table.id, **values))
    else:
        for name, value in values.items():
            setattr(row, name, value)
    await session.flush()
