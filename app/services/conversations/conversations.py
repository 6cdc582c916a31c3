"""Conversations: the table's facilitators open, change and close them; whoever may see
the table reads them. Counts come from the statements' exact counters, one grouped
query per page."""

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.errors import NotFound
from app.event_types import EventType
from app.events import record_event
from app.models.accounts import User
from app.models.conversations import (
    Conversation,
    ConversationCreate,
    ConversationPublic,
    ConversationStatement,
    ConversationUpdate,
)
from app.pagination import PageParams, SortKey, paginate
from app.services.access.standing import table_context
from app.services.access.tables import get_facilitated_table
from app.services.conversations.access import CONVERSATION_NOT_FOUND, conversation_context
from app.services.validation import reject_nulls


async def conversations_public(
    session: AsyncSession, conversations: Sequence[Conversation]
) -> list[ConversationPublic]:
    ids = [c.id for c in conversations]
    counts: dict[uuid.UUID, tuple[int, int]] = {}
    if ids:
        s = ConversationStatement
        rows = await session.exec(
            select(
                s.conversation_id,
                func.count(),
                func.coalesce(func.sum(s.agree_count + s.disagree_count + s.pass_count), 0),
            )
            .where(col(s.conversation_id).in_(ids), col(s.status) == "visible")
            .group_by(col(s.conversation_id))
        )
        counts = {cid: (int(n), int(v)) for cid, n, v in rows.all()}
    return [
        ConversationPublic(
            id=c.id,
            organization_id=c.organization_id,
            table_id=c.table_id,
            title=c.title,
            description=c.description,
            status=c.status,
            participant_statements=c.participant_statements,
            statements_count=counts.get(c.id, (0, 0))[0],
            votes_count=counts.get(c.id, (0, 0))[1],
            created_at=c.created_at,
            updated_at=c.updated_at,
        )
        for c in conversations
    ]


async def create_conversation(
    session: AsyncSession, actor: User, table_id: uuid.UUID, data: ConversationCreate
) -> ConversationPublic:
    """Open a conversation on a table the actor runs (404 otherwise)."""
    table = await get_facilitated_table(session, actor, table_id)
    conversation = Conversation(
        organization_id=table.organization_id,
        table_id=table.id,
        created_by_id=actor.id,
        title=data.title,
        description=data.description,
        participant_statements=data.participant_statements,
    )
    session.add(conversation)
    await session.flush()
    record_event(
        session,
        EventType.CONVERSATION_CREATED,
        subject_type="conversation",
        subject_id=conversation.id,
        actor_id=actor.id,
        organization_id=conversation.organization_id,
        payload={"table_id": str(table.id)},
    )
    return (await conversations_public(session, [conversation]))[0]


async def list_conversations(
    session: AsyncSession, actor: User | None, table_id: uuid.UUID, params: PageParams
) -> tuple[list[ConversationPublic], str | None]:
    """A table's conversations, newest first (whoever may see the table)."""
    await table_context(session, actor, table_id)
    rows, cursor = await paginate(
        session,
        select(Conversation).where(col(Conversation.table_id) == table_id),
        [
            SortKey(Conversation.created_at, descending=True, kind=datetime),
            SortKey(Conversation.id, descending=True, kind=uuid.UUID),
        ],
        params,
        key_of=lambda c: (c.created_at, c.id),
    )
    return await conversations_public(session, rows), cursor


async def get_conversation(
    session: AsyncSession, actor: User | None, conversation_id: uuid.UUID
) -> ConversationPublic:
    conversation, _ = await conversation_context(session, actor, conversation_id)
    return (await conversations_public(session, [conversation]))[0]


async def update_conversation(
    session: AsyncSession, actor: User, conversation_id: uuid.UUID, data: ConversationUpdate
) -> ConversationPublic:
    """Change or close a conversation (the table's facilitators; 404 for others)."""
    sent = data.model_dump(exclude_unset=True)
    reject_nulls(sent, ("description",))
    conversation, ctx = await conversation_context(
        session, actor, conversation_id, write=True, for_update=True
    )
    if not ctx.is_facilitator:
        raise NotFound(CONVERSATION_NOT_FOUND)
    fields = sorted(sent)
    for name in fields:
        setattr(conversation, name, sent[name])
    if fields:
        await session.flush()
        record_event(
            session,
            EventType.CONVERSATION_UPDATED,
            subject_type="conversation",
            subject_id=conversation.id,
            actor_id=actor.id,
            organization_id=conversation.organization_id,
            payload={"fields": fields},
        )
        await session.refresh(conversation)
    return (await conversations_public(session, [conversation]))[0]
