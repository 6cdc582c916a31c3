"""The moderation status of content, the public counters that depend on it, and locks.

Content carries its own moderation status — `proposals.moderation_status`,
`meetings.moderation_status`, `comments.status` — which every public query filters on.
`set_content_status` is the one way moderation changes it, and it keeps the counters that
depend on it exact. The definition, shared with the paths that create and delete
comments:

    proposals.comments_count = the proposal's comments with
                               status = 'visible' AND deleted_at IS NULL

so hiding a visible comment decrements it and unhiding or approving one increments it,
with the same atomic `UPDATE … SET comments_count = comments_count ± 1` as the comments
service, under the comment's row lock (no lost update with a concurrent delete).

Locks (a moderator locks a thread host or a root comment: see
`app/services/moderation/actions.py`) are checked by `require_thread_open` in
`app/services/guards/threads.py`; the counter itself moves through
`app/services/comments/counters.py`.
"""

import uuid
from typing import Any

from sqlmodel import select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app.errors import NotFound
from app.services.access.kinds import KINDS, ContentKind
from app.services.budgets.access import BUDGET_PROJECT
from app.services.comments.counters import adjust_comments_count
from app.services.conversations.statement_kind import STATEMENT
from app.services.live.question_kind import QUESTION

# The statuses each kind of content may take (from the registry); other targets
# (people, polls, plan nodes) have none.
CONTENT_STATUSES: dict[str, tuple[str, ...]] = {
    name: kind.statuses for name, kind in KINDS.items() if kind.statuses
}

# Kinds other domains register: imported so that they are registered before any lookup.
REGISTERED_ELSEWHERE = (QUESTION, BUDGET_PROJECT, STATEMENT)


def status_column(target_type: str) -> Any:
    """The status column of a kind of content (KeyError for kinds without one)."""
    if target_type not in CONTENT_STATUSES:
        raise KeyError(target_type)
    return KINDS[target_type].status


async def content_status(
    session: AsyncSession, target_type: str, target_id: uuid.UUID
) -> str | None:
    """The content's status as committed now (not from objects the session holds); None
    for kinds without one, or when the content does not exist."""
    if target_type not in CONTENT_STATUSES:
        return None
    kind = KINDS[target_type]
    value = (await session.exec(select(kind.status).where(kind.column("id") == target_id))).first()
    return str(value) if value is not None else None


async def set_content_status(
    session: AsyncSession, target_type: str, target_id: uuid.UUID, status: str
) -> None:
    """Set the moderation status of content (a proposal, meeting or comment…), keeping
    the public counters exact (see the module docstring). Setting the current status is a
    no-op."""
    if status not in CONTENT_STATUSES.get(target_type, ()):
        raise ValueError(f"{target_type} cannot be {status}")
    kind = KINDS[target_type]
    if kind.counted_in_host:
        await _set_counted_status(session, kind, target_id, status)
        return
    if kind.set_status is not None:
        await kind.set_status(session, target_id, status)
        return
    await session.exec(
        update(kind.model)
        .where(kind.column("id") == target_id)
        .values({kind.status_column: status})
        .execution_options(synchronize_session="fetch")
    )


async def _set_counted_status(
    session: AsyncSession, kind: ContentKind, content_id: uuid.UUID, status: str
) -> None:
    """Content counted in its host's `comments_count` (comments, with `deleted_at`,
    `target_type` and `target_id`): the counter moves with the status."""
    # Locked like the author's own edits and deletes, so that the counter moves once.
    row = (
        await session.exec(
            select(
                kind.status,
                kind.column("deleted_at"),
                kind.column("target_type"),
                kind.column("target_id"),
            )
            .where(kind.column("id") == content_id)
            .with_for_update(key_share=True)
        )
    ).one_or_none()
    if row is None:
        raise NotFound(kind.not_found)
    old, deleted_at, target_type, target_id = row
    if old == status:
        return
    await session.exec(
        update(kind.model)
        .where(kind.column("id") == content_id)
        .values({kind.status_column: status})
        .execution_options(synchronize_session="fetch")
    )
    was_counted, is_counted = old == "visible", status == "visible"
    if deleted_at is None and was_counted != is_counted:
        await adjust_comments_count(session, target_type, target_id, 1 if is_counted else -1)


# --- locks ------------------------------------------------------------------------------
