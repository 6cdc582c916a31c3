"""Conversations: builders (a conversation, statements, votes written straight with
their counters) and a reader of a statement's counts against its vote rows."""

import uuid
from typing import Any

from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models.accounts import User
from app.models.conversations import (
    Conversation,
    ConversationStatement,
    ConversationVote,
    StatementStatus,
)
from app.models.tables import ParticipationTable


async def make_conversation(
    session: AsyncSession, table: ParticipationTable, **fields: Any
) -> Conversation:
    fields.setdefault("title", "Come migliorare gli spazi per i giovani?")
    conversation = Conversation(organization_id=table.organization_id, table_id=table.id, **fields)
    session.add(conversation)
    await session.flush()
    return conversation


async def make_statement(
    session: AsyncSession,
    conversation: Conversation,
    body: str = "Servono più spazi di studio aperti la sera.",
    *,
    author: User | None = None,
    status: StatementStatus = "visible",
) -> ConversationStatement:
    statement = ConversationStatement(
        conversation_id=conversation.id,
        organization_id=conversation.organization_id,
        table_id=conversation.table_id,
        author_id=author.id if author is not None else None,
        body=body,
        status=status,
    )
    session.add(statement)
    await session.flush()
    return statement


COUNTERS = {1: "agree_count", -1: "disagree_count", 0: "pass_count"}


async def add_votes(
    session: AsyncSession, conversation: Conversation, votes: list[tuple[User, uuid.UUID, int]]
) -> None:
    """Votes (person, statement id, 1 / -1 / 0) with their counters, and the map dirty."""
    for user, statement_id, value in votes:
        session.add(
            ConversationVote(
                statement_id=statement_id,
                user_id=user.id,
                conversation_id=conversation.id,
                vote=value,
            )
        )
        await session.flush()
        column = getattr(ConversationStatement, COUNTERS[value])
        await session.exec(
            update(ConversationStatement)
            .where(col(ConversationStatement.id) == statement_id)
            .values({COUNTERS[value]: column + 1})
        )
    await session.exec(
        update(Conversation).where(col(Conversation.id) == conversation.id).values(map_dirty=True)
    )


async def vote_tally(session: AsyncSession, statement_id: uuid.UUID) -> dict[str, int]:
    """The statement's counters and the counts of its vote rows, side by side."""
    rows = dict(
        (
            await session.exec(
                select(ConversationVote.vote, func.count())
                .where(col(ConversationVote.statement_id) == statement_id)
                .group_by(col(ConversationVote.vote))
            )
        ).all()
    )
    statement = (
        await session.exec(
            select(ConversationStatement)
            .where(col(ConversationStatement.id) == statement_id)
            .execution_options(populate_existing=True)
        )
    ).one()
    return {
        "agree": statement.agree_count,
        "disagree": statement.disagree_count,
        "pass": statement.pass_count,
        "agree_rows": rows.get(1, 0),
        "disagree_rows": rows.get(-1, 0),
        "pass_rows": rows.get(0, 0),
    }
