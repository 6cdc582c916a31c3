"""Statements as a kind of content (`app/services/access/kinds.py`): reported by
participants, moderated by their table's facilitators, hidden and shown (and approved
when held) like comments. A change of status marks the conversation's map for
recomputation: hidden statements leave the map."""

import uuid

from sqlalchemy import ColumnElement
from sqlmodel import col, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models.accounts import User
from app.models.conversations import Conversation, ConversationStatement
from app.services.access.kinds import ContentKind, Found, register
from app.services.access.tables import facilitates_clause
from app.services.conversations.access import STATEMENT_NOT_FOUND, statement_context


async def _find_statement(
    session: AsyncSession, actor: User | None, statement_id: uuid.UUID, write: bool
) -> Found:
    statement, _, ctx = await statement_context(session, actor, statement_id, write=write)
    return Found(
        statement.organization_id,
        statement.table_id,
        statement.author_id,
        statement.status,
        context=ctx,
    )


async def _set_status(session: AsyncSession, statement_id: uuid.UUID, status: str) -> None:
    conversation_id = (
        await session.exec(
            update(ConversationStatement)
            .where(col(ConversationStatement.id) == statement_id)
            .values(status=status)
            .returning(col(ConversationStatement.conversation_id))
        )
    ).scalar_one_or_none()
    if conversation_id is not None:
        await session.exec(
            update(Conversation)
            .where(col(Conversation.id) == conversation_id)
            .values(map_dirty=True)
        )


def _table_moderators(actor: User) -> ColumnElement[bool]:
    return facilitates_clause(actor)


STATEMENT = register(
    ContentKind(
        "statement",
        ConversationStatement,
        STATEMENT_NOT_FOUND,
        _find_statement,
        _table_moderators,
        status_column="status",
        statuses=("visible", "hidden", "pending"),
        reportable=True,
        set_status=_set_status,
    )
)
