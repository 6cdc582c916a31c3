"""Each table's participation settings: proposals open or closed, supports enabled,
blocked or hidden, the per-person support limit, the support threshold, the authors'
edit window, whether comments are open and whether new content is pre-moderated.

**Pre-moderation.** `premoderation` is true, false or null (the default). The effective
value (`effective_premoderation`) is the setting when there is one; otherwise it is on
for tables whose eligibility admits people under 18 — `min_age` under 18, or a `max_age`
with no `min_age` — and off for the others. When on, new proposals and comments of
people other than the table's facilitators wait for approval
(`app/services/guards/premoderation.py`).

A table has the defaults until a facilitator changes something; the row is created by
that first change (`INSERT … ON CONFLICT DO NOTHING`, then locked), so reads never write.
"""

import uuid
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.error_codes import ErrorCode
from app.etag import check_if_match
from app.event_types import EventType
from app.models.accounts import User
from app.models.tables import (
    ParticipationTable,
    TableSettings,
    TableSettingsPublic,
    TableSettingsUpdate,
)
from app.services.access.standing import default_settings
from app.services.access.tables import get_facilitated_table, get_visible_table
from app.services.audit.write import record_audit
from app.services.guards.premoderation import effective_premoderation
from app.services.validation import field_error, invalid_fields


async def get_table_settings(session: AsyncSession, table_id: uuid.UUID) -> TableSettings:
    """The table's settings (the defaults when it has no row). No authorization: callers
    have already found the table through `visible_tables`/`facilitated_tables`."""
    row = await session.get(TableSettings, table_id)
    return row if row is not None else default_settings(table_id)


def settings_public(settings: TableSettings, table: ParticipationTable) -> TableSettingsPublic:
    return TableSettingsPublic(
        table_id=settings.table_id,
        proposals_open=settings.proposals_open,
        supports=settings.supports,
        support_limit=settings.support_limit,
        support_threshold=settings.support_threshold,
        edit_window_minutes=settings.edit_window_minutes,
        comments_open=settings.comments_open,
        premoderation=settings.premoderation,
        premoderation_effective=effective_premoderation(table, settings),
    )


def threshold_reached(supports_count: int, settings: TableSettings) -> bool:
    return 0 < settings.support_threshold <= supports_count


async def read_settings(
    session: AsyncSession, actor: User | None, table_id: uuid.UUID
) -> tuple[TableSettingsPublic, int]:
    """Settings of a table the actor may see, and their version (the ETag)."""
    table = await get_visible_table(session, actor, table_id)
    settings = await get_table_settings(session, table_id)
    return settings_public(settings, table), settings.version


async def update_settings(
    session: AsyncSession,
    actor: User,
    table_id: uuid.UUID,
    data: TableSettingsUpdate,
    if_match: str | None,
) -> tuple[TableSettingsPublic, int]:
    """A facilitator (or organization admin) changes the table's settings."""
    table = await get_facilitated_table(session, actor, table_id)
    sent: dict[str, Any] = data.model_dump(exclude_unset=True)
    # `premoderation: null` goes back to the default; no other setting may be null.
    nulls = sorted(
        field for field, value in sent.items() if value is None and field != "premoderation"
    )
    if nulls:
        raise invalid_fields(
            [field_error(["body", f], "cannot be null", ErrorCode.NULL_NOT_ALLOWED) for f in nulls],
            "These settings cannot be null: " + ", ".join(nulls) + ".",
        )
    await session.exec(insert(TableSettings).values(table_id=table.id).on_conflict_do_nothing())
    settings = (
        await session.exec(
            select(TableSettings)
            .where(col(TableSettings.table_id) == table.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).one()
    check_if_match(if_match, settings.version)
    changes = {field: value for field, value in sent.items() if getattr(settings, field) != value}
    if changes:
        for field, value in changes.items():
            setattr(settings, field, value)
        settings.version += 1
        settings.updated_by_id = actor.id
        # The new values are switches, numbers and choices, never text: they go into the
        # record too, so e.g. pre-moderation switched off on a youth table shows.
        record_audit(
            session,
            EventType.TABLE_SETTINGS_UPDATED,
            organization_id=table.organization_id,
            actor_id=actor.id,
            target_type="table",
            target_id=table.id,
            data={"fields": sorted(changes), **changes},
        )
        await session.flush()
        await session.refresh(settings)
    return settings_public(settings, table), settings.version
