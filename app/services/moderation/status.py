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

from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app.errors import NotFound
from app.models.comments import Comment
from app.models.live import LiveQuestion
from app.models.meetings import Meeting
from app.models.proposals import Proposal
from app.services.comments.counters import adjust_comments_count
from app.services.live.questions import set_question_status

# The statuses each kind of content may take; other targets (people, polls, plan nodes)
# have none.
CONTENT_STATUSES: dict[str, tuple[str, ...]] = {
    "proposal": ("visible", "hidden", "pending"),
    "comment": ("visible", "hidden", "pending"),
    "meeting": ("visible", "hidden"),
    # Live questions may also be `answered` (a facilitator's status, not moderation's).
    "question": ("visible", "hidden", "pending"),
}


def status_column(target_type: str) -> Any:
    """The status column of a kind of content (KeyError for kinds without one)."""
    return {
        "proposal": col(Proposal.moderation_status),
        "meeting": col(Meeting.moderation_status),
        "comment": col(Comment.status),
        "question": col(LiveQuestion.status),
    }[target_type]


def _id_column(target_type: str) -> Any:
    return {
        "proposal": col(Proposal.id),
        "meeting": col(Meeting.id),
        "comment": col(Comment.id),
        "question": col(LiveQuestion.id),
    }[target_type]


async def content_status(
    session: AsyncSession, target_type: str, target_id: uuid.UUID
) -> str | None:
    """The content's status as committed now (not from objects the session holds); None
    for kinds without one, or when the content does not exist."""
    if target_type not in CONTENT_STATUSES:
        return None
    value = (
        await session.exec(
            select(status_column(target_type)).where(_id_column(target_type) == target_id)
        )
    ).first()
    return str(value) if value is not None else None


async def set_content_status(
    session: AsyncSession, target_type: str, target_id: uuid.UUID, status: str
) -> None:
    """Set the moderation status of a proposal, meeting or comment, keeping the public
    counters exact (see the module docstring). Setting the current status is a no-op."""
    if status not in CONTENT_STATUSES.get(target_type, ()):
        raise ValueError(f"{target_type} cannot be {status}")
    if target_type == "comment":
        await _set_comment_status(session, target_id, status)
        return
    if target_type == "question":
        await set_question_status(session, target_id, status, None)
        return
    model: Any = Proposal if target_type == "proposal" else Meeting
    await session.exec(
        update(model)
        .where(_id_column(target_type) == target_id)
        .values(moderation_status=status)
        .execution_options(synchronize_session="fetch")
    )


async def _set_comment_status(session: AsyncSession, comment_id: uuid.UUID, status: str) -> None:
    # Locked like the author's own edits and deletes, so that the counter moves once.
    row = (
        await session.exec(
            select(Comment.status, Comment.deleted_at, Comment.target_type, Comment.target_id)
            .where(col(Comment.id) == comment_id)
            .with_for_update(key_share=True)
        )
    ).one_or_none()
    if row is None:
        raise NotFound("No comment with this id.")
    old, deleted_at, target_type, target_id = row
    if old == status:
        return
    await session.exec(
        update(Comment)
        .where(col(Comment.id) == comment_id)
        .values(status=status)
        .execution_options(synchronize_session="fetch")
    )
    was_counted, is_counted = old == "visible", status == "visible"
    if deleted_at is None and was_counted != is_counted:
        await adjust_comments_count(session, target_type, target_id, 1 if is_counted else -1)


# --- locks ------------------------------------------------------------------------------
