"""Live questions of a meeting: ask, list, like, and the facilitators' status and pin.

Who sees what: a question that is `visible` or `answered` is seen by whoever may see the
meeting; a `pending` one (held by pre-moderation or blocked words) or a `hidden` one
only by its author and the meeting's facilitators — elsewhere it is a 404, and on the
stream it is a `question.removed`. Who asks and likes: whoever may take part in the
meeting's table (`require_participant`), not suspended, while the session has not ended.

`likes_count` equals the number of `live_question_likes` rows: a like is an
`INSERT … ON CONFLICT DO NOTHING` on the (question, person) key and, only when a row was
inserted, an atomic `likes_count = likes_count + 1` in the same transaction (unlike
mirrors it), so it is exact under any concurrency and liking twice changes nothing.
"""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, literal_column, or_, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.error_codes import ErrorCode
from app.errors import Conflict, NotFound
from app.event_types import EventType
from app.events import record_event
from app.models.accounts import User
from app.models.live import (
    LiveQuestion,
    LiveQuestionLike,
    QuestionAuthor,
    QuestionCreate,
    QuestionPublic,
    QuestionSort,
    QuestionUpdate,
)
from app.pagination import PageParams, SortKey, paginate
from app.services.access.standing import require_participant
from app.services.guards.premoderation import hold_reason
from app.services.live.access import (
    LiveAccess,
    live_access,
    require_facilitator,
    require_session_open,
)

QUESTION_NOT_FOUND = "No question with this id."
SHOWN = ("visible", "answered")


def question_public(
    question: LiveQuestion, author_name: str | None, *, liked: bool = False
) -> QuestionPublic:
    author = (
        QuestionAuthor(id=question.author_id, display_name=author_name)
        if question.author_id is not None and author_name is not None
        else None
    )
    return QuestionPublic(
        id=question.id,
        meeting_id=question.meeting_id,
        body=question.body,
        author=author,
        status=question.status,
        pinned=question.pinned,
        likes_count=question.likes_count,
        liked=liked,
        created_at=question.created_at,
        updated_at=question.updated_at,
    )


def with_author() -> Any:
    """Questions with their author's display name (null once the account is gone)."""
    return select(LiveQuestion, User.display_name).outerjoin(
        User, (col(User.id) == LiveQuestion.author_id) & col(User.deleted_at).is_(None)
    )


def shown_clause(actor: User | None, moderator: bool) -> list[ColumnElement[bool]]:
    """Conditions on `LiveQuestion`: the actor may see it (see the module docstring)."""
    if moderator:
        return []
    shown = col(LiveQuestion.status).in_(SHOWN)
    if actor is None:
        return [shown]
    return [or_(shown, col(LiveQuestion.author_id) == actor.id)]


async def _liked(session: AsyncSession, actor: User | None, ids: list[uuid.UUID]) -> set[uuid.UUID]:
    if actor is None or not ids:
        return set()
    return set(
        (
            await session.exec(
                select(LiveQuestionLike.question_id).where(
                    col(LiveQuestionLike.user_id) == actor.id,
                    col(LiveQuestionLike.question_id).in_(ids),
                )
            )
        ).all()
    )


def _event(
    session: AsyncSession, type: EventType, actor: User, question: LiveQuestion, **payload: Any
) -> None:
    record_event(
        session,
        type,
        subject_type="live_question",
        subject_id=question.id,
        actor_id=actor.id,
        organization_id=question.organization_id,
        meeting_id=question.meeting_id,
        payload={"status": question.status, **payload},
    )


# --- list and ask ---------------------------------------------------------------------


def _keys(sort: QuestionSort) -> list[SortKey]:
    recent = [
        SortKey(LiveQuestion.created_at, descending=True, kind=datetime),
        SortKey(LiveQuestion.id, descending=True, kind=uuid.UUID),
    ]
    if sort == "likes":
        return [SortKey(LiveQuestion.likes_count, descending=True, kind=int), *recent]
    return recent


def _key_of(sort: QuestionSort) -> Any:
    if sort == "likes":
        return lambda r: (r[0].likes_count, r[0].created_at, r[0].id)
    return lambda r: (r[0].created_at, r[0].id)


async def list_questions(
    session: AsyncSession,
    actor: User | None,
    meeting_id: uuid.UUID,
    sort: QuestionSort,
    params: PageParams,
) -> tuple[list[QuestionPublic], str | None]:
    """A meeting's questions, most liked or most recent first."""
    access = await live_access(session, actor, meeting_id)
    rows, cursor = await paginate(
        session,
        with_author().where(
            col(LiveQuestion.meeting_id) == meeting_id, *shown_clause(actor, access.moderator)
        ),
        _keys(sort),
        params,
        key_of=_key_of(sort),
    )
    liked = await _liked(session, actor, [q.id for q, _ in rows])
    return [question_public(q, name, liked=q.id in liked) for q, name in rows], cursor


async def ask_question(
    session: AsyncSession, actor: User, meeting_id: uuid.UUID, data: QuestionCreate
) -> QuestionPublic:
    """Ask; held for approval (`pending`) on pre-moderated tables or with blocked words."""
    access = await live_access(session, actor, meeting_id)
    meeting = access.meeting
    access.ctx.require_not_suspended()
    require_participant(access.ctx, actor)
    require_session_open(meeting)
    held = await hold_reason(
        session,
        organization_id=meeting.organization_id,
        ctx=access.ctx,
        moderator=access.moderator,
        texts=(data.body,),
    )
    question = LiveQuestion(
        meeting_id=meeting.id,
        organization_id=meeting.organization_id,
        table_id=meeting.table_id,
        author_id=actor.id,
        body=data.body,
        status="pending" if held else "visible",
    )
    session.add(question)
    await session.flush()
    _event(
        session, EventType.QUESTION_CREATED, actor, question, **({"held_for": held} if held else {})
    )
    await session.flush()
    return question_public(question, actor.display_name)


# --- one question ---------------------------------------------------------------------


async def load_question(
    session: AsyncSession, actor: User | None, question_id: uuid.UUID, *, for_update: bool = False
) -> tuple[LiveQuestion, LiveAccess]:
    """The question (404 unless the actor may see it) and the access to its meeting."""
    question = await session.get(LiveQuestion, question_id)
    if question is None:
        raise NotFound(QUESTION_NOT_FOUND)
    try:
        access = await live_access(session, actor, question.meeting_id)
    except NotFound:
        raise NotFound(QUESTION_NOT_FOUND) from None
    mine = actor is not None and question.author_id == actor.id
    if question.status not in SHOWN and not (mine or access.moderator):
        raise NotFound(QUESTION_NOT_FOUND)
    if for_update:
        question = (
            await session.exec(
                select(LiveQuestion)
                .where(col(LiveQuestion.id) == question_id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        ).one()
    return question, access


async def _public(
    session: AsyncSession, actor: User | None, question_id: uuid.UUID
) -> QuestionPublic:
    row = (
        await session.exec(
            with_author()
            .where(col(LiveQuestion.id) == question_id)
            .execution_options(populate_existing=True)
        )
    ).one()
    liked = await _liked(session, actor, [question_id])
    return question_public(row[0], row[1], liked=question_id in liked)


async def get_question(
    session: AsyncSession, actor: User | None, question_id: uuid.UUID
) -> QuestionPublic:
    await load_question(session, actor, question_id)
    return await _public(session, actor, question_id)


async def update_question(
    session: AsyncSession, actor: User, question_id: uuid.UUID, data: QuestionUpdate
) -> QuestionPublic:
    """Facilitators answer, hide, show (approve) and pin a question."""
    question, access = await load_question(session, actor, question_id, for_update=True)
    require_facilitator(access)
    changes = {
        field: value
        for field, value in data.model_dump(exclude_unset=True).items()
        if value is not None and getattr(question, field) != value
    }
    if changes:
        for field, value in changes.items():
            setattr(question, field, value)
        await session.flush()
        _event(session, EventType.QUESTION_UPDATED, actor, question, fields=sorted(changes))
        await session.flush()
    return await _public(session, actor, question_id)


async def set_like(
    session: AsyncSession, actor: User, question_id: uuid.UUID, *, like: bool
) -> QuestionPublic:
    """Like (or unlike) a shown question; idempotent."""
    question, access = await load_question(session, actor, question_id)
    access.ctx.require_not_suspended()
    require_participant(access.ctx, actor)
    if like:
        require_session_open(access.meeting)
        if question.status not in SHOWN:
            raise Conflict(
                "Only shown questions can be liked.", code=ErrorCode.QUESTION_NOT_VISIBLE
            )
        changed = (
            await session.exec(
                insert(LiveQuestionLike)
                .values(question_id=question.id, user_id=actor.id)
                .on_conflict_do_nothing(index_elements=["question_id", "user_id"])
                .returning(literal_column("1"))
            )
        ).first()
    else:
        changed = (
            await session.exec(
                delete(LiveQuestionLike)
                .where(
                    col(LiveQuestionLike.question_id) == question.id,
                    col(LiveQuestionLike.user_id) == actor.id,
                )
                .returning(literal_column("1"))
            )
        ).first()
    if changed is not None:
        count = (
            await session.exec(
                update(LiveQuestion)
                .where(col(LiveQuestion.id) == question.id)
                # A like is not an edit: updated_at stays.
                .values(
                    likes_count=col(LiveQuestion.likes_count) + (1 if like else -1),
                    updated_at=col(LiveQuestion.updated_at),
                )
                .returning(col(LiveQuestion.likes_count))
                .execution_options(synchronize_session=False)
            )
        ).scalar_one()
        _event(
            session,
            EventType.QUESTION_LIKED if like else EventType.QUESTION_UNLIKED,
            actor,
            question,
            likes_count=count,
        )
        await session.flush()
    return await _public(session, actor, question_id)
