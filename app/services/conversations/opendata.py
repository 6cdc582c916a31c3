"""Rows of the open-data datasets `conversation-statements` and `conversation-votes`
(for the open-data framework to register): conversations of an organization's public
tables, visible statements only. No identities: statements carry no author, and votes
are the anonymous matrix — a participant is their pseudonym in that conversation
(`access.pseudonym`: a keyed hash under the conversation's random key), never an id, and
votes carry no time."""

import uuid
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models.conversations import (
    VOTE_NAMES,
    Conversation,
    ConversationStatement,
    ConversationVote,
)
from app.models.tables import ParticipationTable
from app.services.conversations.access import pseudonym

CHUNK = 1000


def _public(organization_id: uuid.UUID) -> Any:
    return (
        col(ParticipationTable.organization_id) == organization_id,
        col(ParticipationTable.visibility) == "public",
        col(ConversationStatement.status) == "visible",
    )


async def conversation_statement_rows(
    session: AsyncSession, organization_id: uuid.UUID
) -> AsyncIterator[dict[str, Any]]:
    """conversation_id, conversation_title, table_id, statement_id, body, created_at and
    the agree / disagree / pass counts of every visible statement."""
    stmt = (
        select(ConversationStatement, Conversation.title)
        .join(Conversation, col(Conversation.id) == ConversationStatement.conversation_id)
        .join(ParticipationTable, col(ParticipationTable.id) == ConversationStatement.table_id)
        .where(*_public(organization_id))
        .order_by(
            col(ConversationStatement.conversation_id),
            col(ConversationStatement.created_at),
            col(ConversationStatement.id),
        )
    )
    rows = await session.stream(stmt.execution_options(yield_per=CHUNK))
    async for statement, title in rows:
        yield {
            "conversation_id": str(statement.conversation_id),
            "conversation_title": title,
            "table_id": str(statement.table_id),
            "statement_id": str(statement.id),
            "body": statement.body,
            "created_at": statement.created_at,
            "agree_count": statement.agree_count,
            "disagree_count": statement.disagree_count,
            "pass_count": statement.pass_count,
        }


async def conversation_vote_rows(
    session: AsyncSession, organization_id: uuid.UUID
) -> AsyncIterator[dict[str, Any]]:
    """conversation_id, participant (pseudonym), statement_id, vote (agree / disagree /
    pass): one row per vote on a visible statement, in no order that follows people."""
    stmt: Any = (
        sa_select(
            col(ConversationVote.conversation_id),
            col(Conversation.pseudonym_key),
            col(ConversationVote.user_id),
            col(ConversationVote.statement_id),
            col(ConversationVote.vote),
        )
        .join(ConversationStatement, col(ConversationStatement.id) == ConversationVote.statement_id)
        .join(Conversation, col(Conversation.id) == ConversationVote.conversation_id)
        .join(ParticipationTable, col(ParticipationTable.id) == ConversationStatement.table_id)
        .where(*_public(organization_id))
        .order_by(col(ConversationVote.conversation_id), col(ConversationVote.statement_id))
    )
    rows = await session.stream(stmt.execution_options(yield_per=CHUNK))
    async for conversation_id, key, user_id, statement_id, vote in rows:
        yield {
            "conversation_id": str(conversation_id),
            "participant": pseudonym(key, user_id),
            "statement_id": str(statement_id),
            "vote": VOTE_NAMES[vote],
        }
