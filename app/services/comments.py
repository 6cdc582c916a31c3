"""Comments on proposals, meetings, plan nodes and polls.

A comment is visible exactly when its target is: every path goes through
`resolve_comment_target` (`comment_targets.py`), which reuses each domain's own
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
`moderation_status.py`); it moves with an atomic `UPDATE … SET comments_count =
comments_count ± 1` in the transaction that adds, deletes, holds or approves the
comment, so it stays exact under concurrency. A held comment does not count.
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, exists, or_, update
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.errors import Conflict, NotFound, Unprocessable
from app.events import record_event
from app.models.accounts import User
from app.models.comments import (
    MAX_DEPTH,
    Comment,
    CommentAuthor,
    CommentCreate,
    CommentOrder,
    CommentPublic,
    CommentTargetType,
    CommentUpdate,
    CommentVote,
)
from app.models.moderation import Moderation
from app.models.proposals import Proposal
from app.pagination import PageParams, SortKey, paginate
from app.services.comment_targets import (
    CommentTarget,
    check_may_write,
    closed,
    resolve_comment_target,
)
from app.services.moderation_status import require_thread_open
from app.services.organizations import is_org_admin
from app.services.premoderation import HoldReason, hold_reason, queue_for_approval
from app.services.suspensions import ensure_not_suspended

COMMENT_NOT_FOUND = "No comment with this id."


# --- responses ------------------------------------------------------------------------


def _shown(comment: Comment, reveal: bool) -> bool:
    """Whether the text and author are shown: not deleted, and visible — or seen by its
    author or a moderator (`reveal`)."""
    return comment.deleted_at is None and (comment.status == "visible" or reveal)


def to_public(
    comment: Comment, author_name: str | None, my_vote: int | None, *, reveal: bool = False
) -> CommentPublic:
    shown = _shown(comment, reveal)
    author = (
        CommentAuthor(id=comment.author_id, display_name=author_name)
        if shown and comment.author_id is not None and author_name is not None
        else None
    )
    return CommentPublic(
        id=comment.id,
        target_type=comment.target_type,
        target_id=comment.target_id,
        parent_id=comment.parent_id,
        depth=comment.depth,
        alignment=comment.alignment,
        body=comment.body if shown else None,
        author=author,
        upvotes=comment.upvotes,
        downvotes=comment.downvotes,
        my_vote=my_vote,
        edited=comment.edited_at is not None,
        edited_at=comment.edited_at,
        deleted=comment.deleted_at is not None,
        moderation_status=comment.status,
        created_at=comment.created_at,
        updated_at=comment.updated_at,
        replies=[],
    )


def _with_author() -> Any:
    """Comments with their author's display name (null once the account is deleted)."""
    return select(Comment, User.display_name).outerjoin(
        User, (col(User.id) == Comment.author_id) & col(User.deleted_at).is_(None)
    )


async def my_votes(
    session: AsyncSession, actor: User | None, comment_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    if actor is None or not comment_ids:
        return {}
    rows = await session.exec(
        select(CommentVote.comment_id, CommentVote.value).where(
            col(CommentVote.user_id) == actor.id, col(CommentVote.comment_id).in_(comment_ids)
        )
    )
    return dict(rows.all())


async def comment_public(
    session: AsyncSession, actor: User | None, comment: Comment
) -> CommentPublic:
    """One comment (without its replies), in two queries; its author sees it in full."""
    name = None
    if comment.author_id is not None:
        author = await session.get(User, comment.author_id)
        name = author.display_name if author is not None and author.deleted_at is None else None
    votes = await my_votes(session, actor, [comment.id])
    mine = actor is not None and comment.author_id == actor.id
    return to_public(comment, name, votes.get(comment.id), reveal=mine)


# --- moderation -----------------------------------------------------------------------


async def moderates(session: AsyncSession, actor: User | None, target: CommentTarget) -> bool:
    """Whether the actor moderates the target's comments: its table's facilitators and
    organization admins (on a table); organization admins (plan nodes)."""
    if actor is None:
        return False
    if target.context is not None:
        return target.context.is_facilitator
    return await is_org_admin(session, actor, target.organization_id)


async def may_see_pending(
    session: AsyncSession, actor: User, comment: Comment, target: CommentTarget
) -> bool:
    """Whether the actor may know of this comment as far as pre-moderation goes: a
    comment awaiting approval exists only for its author and the target's moderators."""
    if comment.status != "pending" or comment.author_id == actor.id:
        return True
    return await moderates(session, actor, target)


def _listed(actor: User | None, moderator: bool) -> list[ColumnElement[bool]]:
    """Conditions on `Comment`: listed for the actor. Everything for moderators; for
    others, pending comments only when their own, or when answered (placeholders)."""
    if moderator:
        return []
    reply = aliased(Comment)
    shown = [
        col(Comment.status) != "pending",
        exists().where(col(reply.parent_id) == Comment.id),
    ]
    if actor is not None:
        shown.append(col(Comment.author_id) == actor.id)
    return [or_(*shown)]


# --- list -----------------------------------------------------------------------------


def _root_keys(order: CommentOrder) -> list[SortKey]:
    if order == "recent":
        return [
            SortKey(Comment.created_at, descending=True, kind=datetime),
            SortKey(Comment.id, descending=True, kind=uuid.UUID),
        ]
    oldest = [SortKey(Comment.created_at, kind=datetime), SortKey(Comment.id, kind=uuid.UUID)]
    if order == "best":
        score = col(Comment.upvotes) - col(Comment.downvotes)
        return [SortKey(score, descending=True, kind=int), *oldest]
    return oldest


def _root_key_of(order: CommentOrder) -> Any:
    if order == "best":
        return lambda r: (r[0].upvotes - r[0].downvotes, r[0].created_at, r[0].id)
    return lambda r: (r[0].created_at, r[0].id)


async def list_comments(
    session: AsyncSession,
    actor: User | None,
    target_type: CommentTargetType,
    target_id: uuid.UUID,
    order: CommentOrder,
    params: PageParams,
) -> tuple[list[CommentPublic], str | None]:
    """A page of root comments, each with its whole sub-thread (replies oldest first)."""
    target = await resolve_comment_target(session, actor, target_type, target_id)
    moderator = await moderates(session, actor, target)
    listed = _listed(actor, moderator)
    roots, cursor = await paginate(
        session,
        _with_author().where(
            col(Comment.target_type) == target_type,
            col(Comment.target_id) == target_id,
            col(Comment.depth) == 0,
            *listed,
        ),
        _root_keys(order),
        params,
        key_of=_root_key_of(order),
    )
    replies: list[tuple[Comment, str | None]] = []
    if roots:
        replies = list(
            (
                await session.exec(
                    _with_author()
                    .where(
                        col(Comment.root_id).in_([c.id for c, _ in roots]),
                        col(Comment.depth) > 0,
                        *listed,
                    )
                    .order_by(col(Comment.created_at), col(Comment.id))
                )
            ).all()
        )
    everything = [*roots, *replies]
    votes = await my_votes(session, actor, [c.id for c, _ in everything])
    locked_roots = await _locked_threads(session, [c.id for c, _ in roots])
    nodes = {
        c.id: to_public(
            c,
            name,
            votes.get(c.id),
            reveal=moderator or (actor is not None and c.author_id == actor.id),
        )
        for c, name in everything
    }
    for root_id in locked_roots:
        nodes[root_id].replies_locked = True
    for reply, _ in replies:
        parent = nodes.get(reply.parent_id) if reply.parent_id else None
        if parent is not None:
            parent.replies.append(nodes[reply.id])
    return [nodes[c.id] for c, _ in roots], cursor


async def _locked_threads(session: AsyncSession, root_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """The root comments, among these, whose thread the moderators locked."""
    if not root_ids:
        return set()
    return set(
        (
            await session.exec(
                select(Moderation.target_id).where(
                    col(Moderation.target_type) == "comment",
                    col(Moderation.target_id).in_(root_ids),
                    col(Moderation.locked_at).is_not(None),
                )
            )
        ).all()
    )


# --- write ----------------------------------------------------------------------------


def _invalid(field: str, msg: str, code: str) -> Unprocessable:
    return Unprocessable(
        msg, code=code, errors=[{"loc": ["body", field], "msg": msg, "code": code}]
    )


async def _adjust_comments_count(
    session: AsyncSession, target_type: str, target_id: uuid.UUID, delta: int
) -> None:
    if target_type != "proposal":
        return
    await session.exec(
        update(Proposal)
        .where(col(Proposal.id) == target_id)
        # A counter is not an edit of the proposal: its updated_at stays.
        .values(
            comments_count=col(Proposal.comments_count) + delta,
            updated_at=col(Proposal.updated_at),
        )
        .execution_options(synchronize_session=False)
    )


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
    target = await resolve_comment_target(session, actor, target_type, target_id)
    await ensure_not_suspended(session, actor.id, target.organization_id)
    check_may_write(target, actor)
    comment_id = uuid.uuid4()
    parent_id: uuid.UUID | None = None
    root_id, depth = comment_id, 0
    if data.parent_id is not None:
        parent = await session.get(Comment, data.parent_id)
        if parent is not None and not await may_see_pending(session, actor, parent, target):
            parent = None  # someone else's comment awaiting approval: as if it did not exist
        if parent is None or (parent.target_type, parent.target_id) != (target_type, target_id):
            raise _invalid(
                "parent_id",
                "The parent must be a comment on the same resource.",
                "invalid_parent",
            )
        if parent.depth >= MAX_DEPTH:
            raise _invalid(
                "parent_id",
                f"Replies go down to depth {MAX_DEPTH}; reply to an earlier comment.",
                "max_depth",
            )
        if parent.deleted_at is not None:
            raise Conflict("This comment was deleted; it takes no replies.", code="comment_deleted")
        if parent.status != "visible":
            raise Conflict(
                "This comment is hidden or awaiting moderation; it takes no replies.",
                code="comment_not_visible",
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
        await _adjust_comments_count(session, target_type, target_id, +1)
    else:
        await _queue(session, comment)
    record_event(
        session,
        "comment.created",
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
    await ensure_not_suspended(session, actor.id, comment.organization_id)
    if comment.deleted_at is not None:
        raise Conflict("This comment was deleted; it cannot be edited.", code="comment_deleted")
    target = await resolve_comment_target(session, actor, comment.target_type, comment.target_id)
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
                await _adjust_comments_count(session, comment.target_type, comment.target_id, -1)
                await _queue(session, comment)
        record_event(
            session,
            "comment.updated",
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
        await _adjust_comments_count(session, comment.target_type, comment.target_id, -1)
    record_event(
        session,
        "comment.deleted",
        subject_type="comment",
        subject_id=comment.id,
        actor_id=actor.id,
        organization_id=comment.organization_id,
        payload={"target_type": comment.target_type, "target_id": str(comment.target_id)},
    )
