"""Holding new content for a moderator's approval (pre-moderation).

A proposal being published, or a comment being written, is held — created with
`moderation_status` / `status` = `pending` instead of `visible` — when:

* its table is pre-moderated (`effective_premoderation`, see `table_settings.py`), for
  new content and for edits of the text of content already shown: an approved comment
  or proposal edited to anything goes back to `pending` until approved again; or
* its text contains one of the organization's blocked words
  (`content_filter.py`), for new content and for edits of published content.

The content of the people who moderate it — the table's facilitators, organization
admins, platform admins — is never held. Held content is shown only to its author and
its moderators, counts nowhere (`comments_count` counts visible comments only), and is
put in the moderation queue: its `moderations` row is upserted with `pending` and `open`
set. A moderator's `approve` (`app/services/moderation/status.py`) makes it visible.
"""

import uuid
from collections.abc import Iterable
from typing import Literal

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models.moderation import Moderation
from app.models.tables import ParticipationTable, TableSettings
from app.services.access.standing import TableContext
from app.services.guards.content_filter import contains_blocked
from app.services.guards.org_settings import blocked_words

HoldReason = Literal["premoderation", "blocked_words"]


async def hold_reason(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID,
    ctx: TableContext | None,
    moderator: bool,
    texts: Iterable[str | None],
) -> HoldReason | None:
    """Why this content — new, or shown content whose text is being edited — must wait
    for approval, or None to publish it. `ctx` is the table's context (None for content
    outside tables). On a pre-moderated table every such write waits: approving a text
    does not approve whatever it is edited into."""
    if moderator:
        return None
    if ctx is not None and effective_premoderation(ctx.table, ctx.settings):
        return "premoderation"
    words = await blocked_words(session, organization_id)
    if contains_blocked(texts, words):
        return "blocked_words"
    return None


async def queue_for_approval(
    session: AsyncSession,
    *,
    target_type: Literal["proposal", "comment", "statement"],
    target_id: uuid.UUID,
    organization_id: uuid.UUID,
    table_id: uuid.UUID | None,
) -> None:
    """Put the target in its moderators' queue as awaiting approval (one row per target:
    an existing row is reopened)."""
    stmt = insert(Moderation).values(
        organization_id=organization_id,
        table_id=table_id,
        target_type=target_type,
        target_id=target_id,
        pending=True,
        open=True,
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["organization_id", "target_type", "target_id"],
        set_={"pending": True, "open": True, "updated_at": func.now()},
    )
    await session.exec(stmt)


# Age of majority: tables admitting younger people are pre-moderated by default.
ADULT_AGE = 18


def default_premoderation(table: ParticipationTable) -> bool:
    """Whether the table is pre-moderated when its settings leave it to the default: when
    its eligibility rules admit people under 18 — which a table without a minimum age
    of 18 does (minors may register from 14, younger ones with a guardian's consent).
    Tables for adults only, or facilitators who switch it off, publish at once."""
    return table.min_age is None or table.min_age < ADULT_AGE


def effective_premoderation(table: ParticipationTable, settings: TableSettings) -> bool:
    if settings.premoderation is not None:
        return settings.premoderation
    return default_premoderation(table)
