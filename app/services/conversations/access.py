"""A conversation (or one of its statements) with its table's context, in one query.

Who sees what: a conversation is seen by whoever may see its table. A `visible`
statement is seen with its conversation; a `pending` (held for approval) or `hidden` one
only by its author and the table's facilitators — a 404 for everyone else.
"""

import hashlib
import hmac
import uuid
from typing import Any

from sqlalchemy import ColumnElement, or_
from sqlalchemy import select as sa_select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.errors import NotFound
from app.models.accounts import User
from app.models.conversations import Conversation, ConversationStatement
from app.models.tables import ParticipationTable, TableSettings
from app.services.access.standing import TableContext, context_of, standing_columns
from app.services.access.tables import can_see_table_clause

CONVERSATION_NOT_FOUND = "No conversation with this id."
STATEMENT_NOT_FOUND = "No statement with this id."


def _with_context(actor: User | None, stmt: Any, table_id: Any) -> Any:
    """`stmt` joined to the table of `table_id`, its settings and the actor's standing."""
    return (
        stmt.add_columns(ParticipationTable, TableSettings, *standing_columns(actor))
        .join(ParticipationTable, col(ParticipationTable.id) == table_id)
        .outerjoin(TableSettings, col(TableSettings.table_id) == ParticipationTable.id)
        .where(can_see_table_clause(actor))
    )


async def conversation_context(
    session: AsyncSession,
    actor: User | None,
    conversation_id: uuid.UUID,
    *,
    write: bool = False,
    for_update: bool = False,
) -> tuple[Conversation, TableContext]:
    """The conversation (404 unless the actor may see its table) and its table's context;
    with `write`, 403 `suspended` for a suspended actor."""
    stmt = _with_context(actor, sa_select(Conversation), Conversation.table_id).where(
        col(Conversation.id) == conversation_id
    )
    if for_update:
        stmt = stmt.with_for_update(of=Conversation)
    row = (await session.exec(stmt)).one_or_none()
    if row is None:
        raise NotFound(CONVERSATION_NOT_FOUND)
    return row[0], context_of(row, write=write)


def statement_shown(actor: User | None, ctx: TableContext) -> list[ColumnElement[bool]]:
    """Conditions on `ConversationStatement`: the actor may see it."""
    if ctx.is_facilitator:
        return []
    visible = col(ConversationStatement.status) == "visible"
    if actor is None:
        return [visible]
    return [or_(visible, col(ConversationStatement.author_id) == actor.id)]


async def statement_context(
    session: AsyncSession, actor: User | None, statement_id: uuid.UUID, *, write: bool = False
) -> tuple[ConversationStatement, Conversation, TableContext]:
    """The statement as the actor may see it, its conversation and its table's context."""
    base = sa_select(ConversationStatement, Conversation).join(
        Conversation, col(Conversation.id) == ConversationStatement.conversation_id
    )
    stmt = _with_context(actor, base, ConversationStatement.table_id).where(
        col(ConversationStatement.id) == statement_id
    )
    row = (await session.exec(stmt)).one_or_none()
    if row is None:
        raise NotFound(STATEMENT_NOT_FOUND)
    statement, conversation = row[0], row[1]
    ctx = context_of(row)
    hidden = statement.status != "visible"
    if hidden and not ctx.is_facilitator and (actor is None or statement.author_id != actor.id):
        raise NotFound(STATEMENT_NOT_FOUND)
    if write:
        ctx.require_not_suspended()
    return statement, conversation, ctx


def pseudonym(key: bytes, user_id: uuid.UUID) -> str:
    """A participant's anonymous name in one conversation: HMAC-SHA256 of their id under
    the conversation's random key (never shown), so it cannot be linked to the person nor
    across conversations."""
    return hmac.new(key, user_id.bytes, hashlib.sha256).hexdigest()[:16]
