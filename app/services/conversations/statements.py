"""Statements of a conversation: write (≤ 280 characters), list, and the next one to vote.

A statement is held for approval (`pending`) where comments would be: on a pre-moderated
table (tables admitting minors, unless their facilitators say otherwise) or when it
contains one of the organization's blocked words (`guards/premoderation.py`); the
facilitators' own statements never wait. Held statements go to the moderation queue and
are shown only to their author and the table's facilitators; reports and moderators'
actions hide and show them like comments (`statement_kind.py`).
"""

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.error_codes import ErrorCode
from app.errors import Conflict, Forbidden
from app.event_types import EventType
from app.events import record_event
from app.models.accounts import User
from app.models.conversations import (
    VOTE_NAMES,
    Conversation,
    ConversationStatement,
    ConversationVote,
    NextStatement,
    StatementCreate,
    StatementPublic,
)
from app.pagination import PageParams, SortKey, paginate
from app.services.access.standing import TableContext, require_participant
from app.services.conversations.access import conversation_context, statement_shown
from app.services.guards.premoderation import hold_reason, queue_for_approval


def require_open(conversation: Conversation, ctx: TableContext) -> None:
    """409 unless both the table and the conversation are open."""
    if ctx.table.status != "open":
        raise Conflict("This table is closed.", code=ErrorCode.TABLE_CLOSED)
    if conversation.status != "open":
        raise Conflict("This conversation is closed.", code=ErrorCode.CONVERSATION_CLOSED)


async def my_votes(
    session: AsyncSession, actor: User | None, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """The caller's own votes on these statements (their own view only)."""
    if actor is None or not ids:
        return {}
    rows = await session.exec(
        select(ConversationVote.statement_id, ConversationVote.vote).where(
            col(ConversationVote.user_id) == actor.id,
            col(ConversationVote.statement_id).in_(ids),
        )
    )
    return dict(rows.all())


def statement_public(
    statement: ConversationStatement, actor: User | None, vote: int | None = None
) -> StatementPublic:
    return StatementPublic(
        id=statement.id,
        conversation_id=statement.conversation_id,
        body=statement.body,
        status=statement.status,
        agree_count=statement.agree_count,
        disagree_count=statement.disagree_count,
        pass_count=statement.pass_count,
        mine=actor is not None and statement.author_id == actor.id,
        my_vote=VOTE_NAMES[vote] if vote is not None else None,
        created_at=statement.created_at,
    )


async def create_statement(
    session: AsyncSession,
    actor: User,
    conversation_id: uuid.UUID,
    data: StatementCreate,
    *,
    approved: bool = False,
) -> StatementPublic:
    """Write a statement; held for approval where it must be (module docstring), unless
    `approved` (reviewed already: the demo's seed)."""
    conversation, ctx = await conversation_context(session, actor, conversation_id, write=True)
    require_participant(ctx, actor)
    require_open(conversation, ctx)
    if not conversation.participant_statements and not ctx.is_facilitator:
        raise Forbidden(
            "Only the table's facilitators add statements to this conversation.",
            code=ErrorCode.STATEMENTS_BY_FACILITATORS,
        )
    held = None
    if not approved:
        held = await hold_reason(
            session,
            organization_id=conversation.organization_id,
            ctx=ctx,
            moderator=ctx.is_facilitator,
            texts=(data.body,),
        )
    statement = ConversationStatement(
        conversation_id=conversation.id,
        organization_id=conversation.organization_id,
        table_id=conversation.table_id,
        author_id=actor.id,
        body=data.body,
        status="pending" if held else "visible",
    )
    session.add(statement)
    await session.flush()
    if held:
        await queue_for_approval(
            session,
            target_type="statement",
            target_id=statement.id,
            organization_id=statement.organization_id,
            table_id=statement.table_id,
        )
    record_event(
        session,
        EventType.STATEMENT_CREATED,
        subject_type="statement",
        subject_id=statement.id,
        actor_id=actor.id,
        organization_id=statement.organization_id,
        payload={
            "conversation_id": str(conversation.id),
            "status": statement.status,
            **({"held_for": held} if held else {}),
        },
    )
    return statement_public(statement, actor)


async def list_statements(
    session: AsyncSession, actor: User | None, conversation_id: uuid.UUID, params: PageParams
) -> tuple[list[StatementPublic], str | None]:
    """A conversation's statements, oldest first, with their exact counts and the
    caller's own vote."""
    _, ctx = await conversation_context(session, actor, conversation_id)
    rows, cursor = await paginate(
        session,
        select(ConversationStatement).where(
            col(ConversationStatement.conversation_id) == conversation_id,
            *statement_shown(actor, ctx),
        ),
        [
            SortKey(ConversationStatement.created_at, kind=datetime),
            SortKey(ConversationStatement.id, kind=uuid.UUID),
        ],
        params,
        key_of=lambda s: (s.created_at, s.id),
    )
    votes = await my_votes(session, actor, [s.id for s in rows])
    return [statement_public(s, actor, votes.get(s.id)) for s in rows], cursor


async def next_statement(
    session: AsyncSession, actor: User, conversation_id: uuid.UUID
) -> NextStatement:
    """A visible statement the caller has not voted on: the least voted first (so new
    statements get their votes), ties broken at random."""
    await conversation_context(session, actor, conversation_id)
    s = ConversationStatement
    voted = (
        select(ConversationVote.statement_id)
        .where(
            col(ConversationVote.user_id) == actor.id,
            col(ConversationVote.conversation_id) == conversation_id,
        )
        .scalar_subquery()
    )
    unvoted = select(s).where(
        col(s.conversation_id) == conversation_id,
        col(s.status) == "visible",
        col(s.id).not_in(voted),
    )
    remaining = (await session.exec(select(func.count()).select_from(unvoted.subquery()))).one()
    pick = (
        await session.exec(
            unvoted.order_by(
                col(s.agree_count) + col(s.disagree_count) + col(s.pass_count), func.random()
            ).limit(1)
        )
    ).first()
    return NextStatement(
        statement=statement_public(pick, actor) if pick is not None else None,
        remaining=int(remaining),
    )
