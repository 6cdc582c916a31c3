"""Reading comments: the threads of a target (roots in keyset order with their replies),
who may see pending comments, and the public shape of a comment.
"""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, exists, or_
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models.accounts import User
from app.models.comments import (
    Comment,
    CommentAuthor,
    CommentOrder,
    CommentPublic,
    CommentTargetType,
    CommentVote,
)
from app.models.moderation import Moderation
from app.pagination import PageParams, SortKey, paginate
from app.services.access.orgs import is_org_admin
from app.services.comments.targets import (
    CommentTarget,
    resolve_comment_target,
)

COMMENT_NOT_FOUND = "No comment with this id."


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
