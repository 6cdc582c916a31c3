"""Live questions as a kind of content (`app/services/access/kinds.py`): reported by
participants, moderated by their table's facilitators, their status set by reports and
moderators' actions (and pushed to the meeting's stream)."""

import uuid
from typing import cast

from sqlalchemy import ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.errors import NotFound
from app.event_types import EventType
from app.events import record_event
from app.models.accounts import User
from app.models.live import LiveQuestion, QuestionStatus
from app.services.access.kinds import ContentKind, Found, register
from app.services.access.tables import facilitates_clause
from app.services.live.questions import QUESTION_NOT_FOUND, SHOWN, load_question


async def set_question_status(
    session: AsyncSession,
    question_id: uuid.UUID,
    status: QuestionStatus,
    actor_id: uuid.UUID | None,
) -> None:
    """The moderation status set by reports or a moderator's action; pushed to the stream
    (a hidden question is a `question.removed` there)."""
    question = (
        await session.exec(
            select(LiveQuestion)
            .where(col(LiveQuestion.id) == question_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).one_or_none()
    if question is None:
        raise NotFound(QUESTION_NOT_FOUND)
    if question.status == status:
        return
    question.status = status
    await session.flush()
    record_event(
        session,
        EventType.QUESTION_UPDATED,
        subject_type="live_question",
        subject_id=question.id,
        actor_id=actor_id,
        organization_id=question.organization_id,
        meeting_id=question.meeting_id,
        payload={"status": status, "fields": ["status"], "by": "moderation"},
    )


async def _find_question(
    session: AsyncSession, actor: User | None, question_id: uuid.UUID, write: bool
) -> Found:
    """A question as the actor may see it (`_question`); with `write`, 403 `suspended`
    from its table's context query. Questions take no comments."""
    question, access = await load_question(session, actor, question_id)
    if write:
        access.ctx.require_not_suspended()
    return Found(
        question.organization_id,
        question.table_id,
        question.author_id,
        question.status,
        context=access.ctx,
    )


async def _set_status(session: AsyncSession, question_id: uuid.UUID, status: str) -> None:
    # One of the kind's `statuses` (checked by `set_content_status`).
    await set_question_status(session, question_id, cast(QuestionStatus, status), None)


def _table_moderators(actor: User) -> ColumnElement[bool]:
    return facilitates_clause(actor)


# Reported by participants, moderated by the table's facilitators; `answered` (a
# facilitator's status, not moderation's) is shown like `visible`.
QUESTION = register(
    ContentKind(
        "question",
        LiveQuestion,
        QUESTION_NOT_FOUND,
        _find_question,
        _table_moderators,
        status_column="status",
        statuses=("visible", "hidden", "pending"),
        reportable=True,
        shown=SHOWN,
        set_status=_set_status,
    )
)
