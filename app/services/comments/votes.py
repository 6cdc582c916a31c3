"""Up and down votes on comments.

`comments.upvotes` / `downvotes` always equal the counts of the comment's
`comment_votes` rows. Each vote change locks the comment row (`FOR NO KEY UPDATE`, so
replies, whose foreign key takes a key-share lock, are not held up), reads the caller's
previous vote under that lock, writes the new one and moves the counters by the
difference, all in one transaction: concurrent votes on a comment queue on its row and
every delta is computed from the true previous state.

Who may vote: a participant who may see the comment's target, while it takes comments,
on a comment that is not deleted and not their own (409 `own_comment`).
"""

import uuid

from sqlalchemy import delete, func, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.error_codes import ErrorCode
from app.errors import Conflict, NotFound
from app.event_types import EventType
from app.events import record_event
from app.models.accounts import User
from app.models.comments import Comment, CommentPublic, CommentVote
from app.services.comments.reading import COMMENT_NOT_FOUND, comment_public, may_see_pending
from app.services.comments.targets import check_may_write, resolve_comment_target


async def _votable_comment(
    session: AsyncSession, actor: User, comment_id: uuid.UUID, *, write: bool = False
) -> Comment:
    comment = (
        await session.exec(
            select(Comment).where(col(Comment.id) == comment_id).with_for_update(key_share=True)
        )
    ).one_or_none()
    if comment is None:
        raise NotFound(COMMENT_NOT_FOUND)
    target = await resolve_comment_target(
        session, actor, comment.target_type, comment.target_id, write=write
    )
    if not await may_see_pending(session, actor, comment, target):
        raise NotFound(COMMENT_NOT_FOUND)
    if comment.deleted_at is not None or comment.status != "visible":
        raise Conflict(
            "This comment was deleted; it takes no votes.", code=ErrorCode.COMMENT_DELETED
        )
    if comment.author_id == actor.id:
        raise Conflict("You cannot vote on your own comment.", code=ErrorCode.OWN_COMMENT)
    check_may_write(target, actor)
    return comment


async def _previous_vote(session: AsyncSession, comment_id: uuid.UUID, user_id: uuid.UUID) -> int:
    value = (
        await session.exec(
            select(CommentVote.value).where(
                col(CommentVote.comment_id) == comment_id, col(CommentVote.user_id) == user_id
            )
        )
    ).one_or_none()
    return value or 0


async def _move_counters(session: AsyncSession, comment: Comment, old: int, new: int) -> None:
    up = (new == 1) - (old == 1)
    down = (new == -1) - (old == -1)
    counters = (
        await session.exec(
            update(Comment)
            .where(col(Comment.id) == comment.id)
            .values(
                upvotes=col(Comment.upvotes) + up,
                downvotes=col(Comment.downvotes) + down,
                # A vote is not an edit: the comment's updated_at stays.
                updated_at=col(Comment.updated_at),
            )
            .returning(col(Comment.upvotes), col(Comment.downvotes))
            .execution_options(synchronize_session=False)
        )
    ).one()
    # The row's current counters, without marking the object dirty (no second UPDATE).
    set_committed_value(comment, "upvotes", counters[0])
    set_committed_value(comment, "downvotes", counters[1])


def _event(session: AsyncSession, actor: User, comment: Comment, value: int) -> None:
    record_event(
        session,
        EventType.COMMENT_VOTED,
        subject_type="comment",
        subject_id=comment.id,
        actor_id=actor.id,
        organization_id=comment.organization_id,
        payload={"value": value},
    )


async def put_vote(
    session: AsyncSession, actor: User, comment_id: uuid.UUID, value: int
) -> CommentPublic:
    """Vote +1 or -1, or change one's vote; repeating the same vote changes nothing."""
    comment = await _votable_comment(session, actor, comment_id, write=True)
    old = await _previous_vote(session, comment.id, actor.id)
    if old != value:
        await session.exec(
            insert(CommentVote)
            .values(comment_id=comment.id, user_id=actor.id, value=value)
            .on_conflict_do_update(
                index_elements=["comment_id", "user_id"],
                set_={"value": value, "updated_at": func.now()},
            )
        )
        await _move_counters(session, comment, old, value)
        _event(session, actor, comment, value)
        await session.flush()
    return await comment_public(session, actor, comment)


async def delete_vote(session: AsyncSession, actor: User, comment_id: uuid.UUID) -> CommentPublic:
    """Withdraw one's vote; without a vote, nothing changes."""
    comment = await _votable_comment(session, actor, comment_id)
    old = await _previous_vote(session, comment.id, actor.id)
    if old != 0:
        await session.exec(
            delete(CommentVote).where(
                col(CommentVote.comment_id) == comment.id, col(CommentVote.user_id) == actor.id
            )
        )
        await _move_counters(session, comment, old, 0)
        _event(session, actor, comment, 0)
        await session.flush()
    return await comment_public(session, actor, comment)
