"""Live questions in a person's data export and in the erasure of their account
(called by `app/services/privacy.py`)."""

from typing import Any

from sqlalchemy import delete, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models.accounts import User
from app.models.live import (
    ExportLiveQuestion,
    ExportLiveQuestionLike,
    LivePresence,
    LiveQuestion,
    LiveQuestionLike,
    LiveTicket,
)


async def export_live(
    session: AsyncSession, user: User
) -> tuple[list[ExportLiveQuestion], list[ExportLiveQuestionLike]]:
    """The questions they asked (pending and hidden ones too) and the ones they like."""
    questions = (
        await session.exec(
            select(LiveQuestion)
            .where(col(LiveQuestion.author_id) == user.id)
            .order_by(col(LiveQuestion.created_at), col(LiveQuestion.id))
        )
    ).all()
    likes = (
        await session.exec(
            select(LiveQuestionLike)
            .where(col(LiveQuestionLike.user_id) == user.id)
            .order_by(col(LiveQuestionLike.created_at))
        )
    ).all()
    return (
        [
            ExportLiveQuestion(
                id=q.id,
                meeting_id=q.meeting_id,
                body=q.body,
                status=q.status,
                pinned=q.pinned,
                likes_count=q.likes_count,
                created_at=q.created_at,
            )
            for q in questions
        ],
        [
            ExportLiveQuestionLike(question_id=lk.question_id, created_at=lk.created_at)
            for lk in likes
        ],
    )


async def erase_live(session: AsyncSession, user: User) -> dict[str, Any]:
    """Questions still awaiting approval are deleted (never published, and nobody may
    publish them now); the others stay, authorless; likes stay (the count is public and
    exact), pointing at the anonymous account; tickets and presence rows go."""
    pending = (
        await session.exec(
            delete(LiveQuestion)
            .where(col(LiveQuestion.author_id) == user.id, col(LiveQuestion.status) == "pending")
            .returning(col(LiveQuestion.id))
        )
    ).all()
    kept = (
        await session.exec(
            update(LiveQuestion)
            .where(col(LiveQuestion.author_id) == user.id)
            .values(author_id=None, updated_at=col(LiveQuestion.updated_at))
            .returning(col(LiveQuestion.id))
            .execution_options(synchronize_session=False)
        )
    ).all()
    await session.exec(delete(LiveTicket).where(col(LiveTicket.user_id) == user.id))
    await session.exec(delete(LivePresence).where(col(LivePresence.user_id) == user.id))
    return {"pending_questions_deleted": len(pending), "questions_kept_authorless": len(kept)}
