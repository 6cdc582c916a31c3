"""Comments on proposals, meetings, plan nodes and polls.

A comment is visible exactly when its target is: every path goes through
`resolve_comment_target` (`targets.py`), which reuses each domain's own
visibility lookup, so a comment on a private table's proposal is a 404 for whoever
cannot see that table. Writers are participants (`ParticipantUser`) who may take part
where the target lives (`check_may_write`); only authors edit or delete, and another
person's comment is a 404 to them.

Threads: a root has depth 0 and `root_id` = its own id; a reply copies its parent's
target and root and goes one level down, to depth 3 at most. A page of a list is a page of
roots (keyset-paginated) with their whole sub-threads nested in `replies`, loaded in a
fixed number of queries: roots, all their replies (`root_id IN …`), the caller's votes.

Moderation: a comment is `visible`, `hidden` (reports, a moderator) or `pending` (held
for approval: written or edited on a pre-moderated table, or containing one of the
organization's blocked words — also when an edit brings one in; see `premoderation.py`).
Its author and its moderators (the table's facilitators, organization admins; for plan
nodes, organization admins) see it in full, with its `moderation_status`. Everyone else sees a
hidden comment as a placeholder — like a deleted one, `body` and `author` null — so that
its replies stay reachable (as Decidim does); a pending comment is not published yet, so
it is left out, unless it already has replies (an edit held it again), which keep it as a
placeholder. Nobody replies to a comment that is not visible.

`proposals.comments_count` counts the proposal's comments that are visible and not
deleted (`status = 'visible' AND deleted_at IS NULL`, the definition shared with
`app/services/moderation/status.py`): `counters.adjust_comments_count` moves it with an
atomic `UPDATE … SET comments_count = comments_count ± 1` in the transaction that adds,
deletes, holds or approves the comment, so it stays exact under concurrency. A held
comment does not count.
"""

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.error_codes import ErrorCode
from app.errors import Conflict, NotFound
from app.event_types import EventType
from app.events import record_event
from app.models.accounts import User
from app.models.comments import (
    MAX_DEPTH,
    Comment,
    CommentCreate,
    CommentPublic,
    CommentTargetType,
    CommentUpdate,
)
from app.services.comments.counters import adjust_comments_count
from app.services.comments.reading import (
    COMMENT_NOT_FOUND,
    comment_public,
    may_see_pending,
    moderates,
    to_public,
)
from app.services.comments.targets import (
    CommentTarget,
    check_may_write,
    closed,
    resolve_comment_target,
)
from app.services.guards.premoderation import HoldReason, hold_reason, queue_for_approval
from app.services.guards.threads import require_thread_open
from app.services.validation import invalid

# --- responses ------------------------------------------------------------------------


# --- moderation -----------------------------------------------------------------------


# --- list -----------------------------------------------------------------------------


# --- write ----------------------------------------------------------------------------


async def _hold(
    session: AsyncSession, actor: User, target: CommentTarget, comment: Comment
) -> HoldReason | None:
    """Hold a new or edited comment for approval when it must be (its status becomes
    pending); returns why, or None when it is shown as is."""
    moderator = await moderates(session, actor, target)
    reason = await hold_reason(
        session,
        organization_id=comment.organization_id,
        ctx=target.context,
        moderator=moderator,
        texts=(comment.body,),
    )
    if reason is not None:
        comment.status = "pending"
    return reason


async def _queue(session: AsyncSession, comment: Comment) -> None:
    await queue_for_approval(
        session,
        target_type="comment",
        target_id=comment.id,
        organization_id=comment.organization_id,
        table_id=comment.table_id,
    )


def _moderation_payload(comment: Comment, held: HoldReason | None) -> dict[str, Any]:
    if held is None:
        return {}
    return {"moderation_status": comment.status, "held_for": held}


async def create_comment(
    session: AsyncSession,
    actor: User,
    target_type: CommentTargetType,
    target_id: uuid.UUID,
    data: CommentCreate,
    *,
    approved: bool = False,
) -> CommentPublic:
    """Write a comment; held for approval when it must be (see the module docstring),
    unless `approved` (content already reviewed: the demo's seed)."""
    target = await resolve_comment_target(session, actor, target_type, target_id, write=True)
    check_may_write(target, actor)
    comment_id = uuid.uuid4()
    parent_id: uuid.UUID | None = None
    root_id, depth = comment_id, 0
    if data.parent_id is not None:
        parent = await session.get(Comment, data.parent_id)
        if parent is not None and not await may_see_pending(session, actor, parent, target):
            parent = None  # someone else's comment awaiting approval: as if it did not exist
        if parent is None or (parent.target_type, parent.target_id) != (target_type, target_id):
            raise invalid(
                ["body", "parent_id"],
                "The parent must be a comment on the same resource.",
                ErrorCode.INVALID_PARENT,
            )
        if parent.depth >= MAX_DEPTH:
            raise invalid(
                ["body", "parent_id"],
                f"Replies go down to depth {MAX_DEPTH}; reply to an earlier comment.",
                ErrorCode.MAX_DEPTH,
            )
        if parent.deleted_at is not None:
            raise Conflict(
                "This comment was deleted; it takes no replies.", code=ErrorCode.COMMENT_DELETED
            )
        if parent.status != "visible":
            raise Conflict(
                "This comment is hidden or awaiting moderation; it takes no replies.",
                code=ErrorCode.COMMENT_NOT_VISIBLE,
            )
        parent_id, root_id, depth = parent.id, parent.root_id, parent.depth + 1
    await require_thread_open(session, target_type, target_id, root_id if parent_id else None)
    comment = Comment(
        id=comment_id,
        target_type=target_type,
        target_id=target_id,
        organization_id=target.organization_id,
        table_id=target.table_id,
        author_id=actor.id,
        parent_id=parent_id,
        root_id=root_id,
        depth=depth,
        alignment=data.alignment,
        body=data.body,
    )
    held = None if approved else await _hold(session, actor, target, comment)
    session.add(comment)
    await session.flush()
    if held is None:
        await adjust_comments_count(session, target_type, target_id, +1)
    else:
        await _queue(session, comment)
    record_event(
        session,
        EventType.COMMENT_CREATED,
        subject_type="comment",
        subject_id=comment.id,
        actor_id=actor.id,
        organization_id=comment.organization_id,
        payload={
            "target_type": target_type,
            "target_id": str(target_id),
            "parent_id": str(comment.parent_id) if comment.parent_id else None,
            "depth": comment.depth,
            "alignment": comment.alignment,
            **_moderation_payload(comment, held),
        },
    )
    await session.flush()
    return to_public(comment, actor.display_name, None, reveal=True)


async def get_own_comment(session: AsyncSession, actor: User, comment_id: uuid.UUID) -> Comment:
    """The actor's own comment, locked for the change; anyone else's is a 404."""
    comment = (
        await session.exec(
            select(Comment)
            .where(col(Comment.id) == comment_id, col(Comment.author_id) == actor.id)
            .with_for_update(key_share=True)
        )
    ).one_or_none()
    if comment is None:
        raise NotFound(COMMENT_NOT_FOUND)
    return comment


async def update_comment(
    session: AsyncSession, actor: User, comment_id: uuid.UUID, data: CommentUpdate
) -> CommentPublic:
    """The author edits the text or alignment; the comment is marked edited."""
    comment = await get_own_comment(session, actor, comment_id)
    if comment.deleted_at is not None:
        raise Conflict(
            "This comment was deleted; it cannot be edited.", code=ErrorCode.COMMENT_DELETED
        )
    target = await resolve_comment_target(
        session, actor, comment.target_type, comment.target_id, write=True
    )
    if not target.open_for_comments:
        raise closed()
    changes = {
        field: value
        for field, value in data.model_dump(exclude_unset=True).items()
        if value is not None and getattr(comment, field) != value
    }
    if changes:
        for field, value in changes.items():
            setattr(comment, field, value)
        comment.edited_at = datetime.now(UTC)
        held: HoldReason | None = None
        if "body" in changes and comment.status == "visible":
            # A visible comment held again leaves the count (pre-moderation, blocked words).
            held = await _hold(session, actor, target, comment)
            if held is not None:
                await adjust_comments_count(session, comment.target_type, comment.target_id, -1)
                await _queue(session, comment)
        record_event(
            session,
            EventType.COMMENT_UPDATED,
            subject_type="comment",
            subject_id=comment.id,
            actor_id=actor.id,
            organization_id=comment.organization_id,
            payload={"fields": sorted(changes), **_moderation_payload(comment, held)},
        )
        await session.flush()
        await session.refresh(comment)
    return await comment_public(session, actor, comment)


async def delete_comment(session: AsyncSession, actor: User, comment_id: uuid.UUID) -> None:
    """Soft delete by the author: the text goes, the comment keeps its place in the
    thread (and its replies). Idempotent; allowed even where comments are closed."""
    comment = await get_own_comment(session, actor, comment_id)
    if comment.deleted_at is not None:
        return
    comment.deleted_at = datetime.now(UTC)
    comment.body = None
    await session.flush()
    # Only visible comments count (a hidden or pending one was never, or no longer, counted).
    if comment.status == "visible":
        await adjust_comments_count(session, comment.target_type, comment.target_id, -1)
    record_event(
        session,
        EventType.COMMENT_DELETED,
        subject_type="comment",
        subject_id=comment.id,
        actor_id=actor.id,
        organization_id=comment.organization_id,
        payload={"target_type": comment.target_type, "target_id": str(comment.target_id)},
    )
