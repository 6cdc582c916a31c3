"""Votes: agree, disagree or pass, one per person and statement, changeable, withdrawn
with DELETE.

Exact counts: a statement's `agree_count`, `disagree_count` and `pass_count` equal its
vote rows of each value. A vote first locks the person's row if it exists (`FOR
UPDATE`) and changes it, moving the two counters by ±1 in the same transaction; when
there is none it inserts with `ON CONFLICT DO NOTHING` and, only if a row was inserted,
adds 1 — a concurrent first vote of the same person makes the insert find the row, and
the vote is retried as a change. Counters move with atomic `UPDATE … SET n = n + 1`.

Recomputing the map (coalesced, `maps.py`): every vote's transaction marks its
conversation dirty. Votes take a *shared* transaction-level advisory lock on the
conversation, so they never wait for each other, and set `map_dirty` only when it is not
set yet (no row lock once it is). The worker clears the flag under the *exclusive* lock,
which waits for the votes in flight to commit: a vote the worker's read does not see
commits after the flag was cleared, and so has set it again.

Secrecy: no event names a voter; nothing but the person's own view reads votes by person.
"""

import uuid
from typing import Any

from sqlalchemy import delete, func, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.error_codes import ErrorCode
from app.errors import Conflict
from app.models.accounts import User
from app.models.conversations import (
    VOTE_NAMES,
    VOTE_VALUES,
    Conversation,
    ConversationStatement,
    ConversationVote,
    StatementPublic,
    VoteChoice,
)
from app.services.access.standing import require_participant
from app.services.conversations.access import statement_context
from app.services.conversations.statements import require_open, statement_public

# The advisory lock's key: one per conversation (`hashtextextended` of its id).
LOCK_KEY = "hashtextextended('conversation-map:' || CAST(:cid AS text), 0)"
_COUNTERS = {1: "agree_count", -1: "disagree_count", 0: "pass_count"}


async def lock_shared(session: AsyncSession, conversation_id: uuid.UUID) -> None:
    await session.exec(  # type: ignore[call-overload]
        text(f"SELECT pg_advisory_xact_lock_shared({LOCK_KEY})"),
        params={"cid": str(conversation_id)},
    )


async def lock_exclusive(session: AsyncSession, conversation_id: uuid.UUID) -> None:
    await session.exec(  # type: ignore[call-overload]
        text(f"SELECT pg_advisory_xact_lock({LOCK_KEY})"), params={"cid": str(conversation_id)}
    )


async def mark_dirty(session: AsyncSession, conversation_id: uuid.UUID) -> None:
    """Under the shared lock: the map must be recomputed (see the module docstring)."""
    await session.exec(
        update(Conversation)
        .where(col(Conversation.id) == conversation_id, col(Conversation.map_dirty).is_(False))
        .values(map_dirty=True)
    )


async def _move(session: AsyncSession, statement_id: uuid.UUID, deltas: dict[int, int]) -> None:
    values: dict[str, Any] = {
        _COUNTERS[v]: getattr(ConversationStatement, _COUNTERS[v]) + d
        for v, d in deltas.items()
        if d
    }
    if values:
        await session.exec(
            update(ConversationStatement)
            .where(col(ConversationStatement.id) == statement_id)
            .values(**values)
        )


async def _change(
    session: AsyncSession, statement_id: uuid.UUID, user_id: uuid.UUID, new: int | None
) -> bool:
    """Change (or with `new` None, delete) the person's vote if they have one."""
    key = (
        col(ConversationVote.statement_id) == statement_id,
        col(ConversationVote.user_id) == user_id,
    )
    old = (
        await session.exec(select(ConversationVote.vote).where(*key).with_for_update())
    ).one_or_none()
    if old is None:
        return False
    if new == old:
        return True
    if new is None:
        await session.exec(delete(ConversationVote).where(*key))
        await _move(session, statement_id, {old: -1})
    else:
        await session.exec(
            update(ConversationVote).where(*key).values(vote=new, updated_at=func.clock_timestamp())
        )
        await _move(session, statement_id, {old: -1, new: 1})
    return True


async def _insert(
    session: AsyncSession, statement: ConversationStatement, user_id: uuid.UUID, value: int
) -> bool:
    inserted = (
        await session.exec(
            insert(ConversationVote)
            .values(
                statement_id=statement.id,
                user_id=user_id,
                conversation_id=statement.conversation_id,
                vote=value,
            )
            .on_conflict_do_nothing()
            .returning(col(ConversationVote.statement_id))
        )
    ).first()
    if inserted is None:
        return False
    await _move(session, statement.id, {value: 1})
    return True


async def _fresh(session: AsyncSession, statement_id: uuid.UUID) -> ConversationStatement:
    return (
        await session.exec(
            select(ConversationStatement)
            .where(col(ConversationStatement.id) == statement_id)
            .execution_options(populate_existing=True)
        )
    ).one()


async def cast_vote(
    session: AsyncSession, actor: User, statement_id: uuid.UUID, choice: VoteChoice
) -> StatementPublic:
    """Vote (or change the vote) on a visible statement of an open conversation."""
    statement, conversation, ctx = await statement_context(session, actor, statement_id, write=True)
    require_participant(ctx, actor)
    require_open(conversation, ctx)
    if statement.status != "visible":
        raise Conflict(
            "Only visible statements can be voted on.", code=ErrorCode.STATEMENT_NOT_VISIBLE
        )
    value = VOTE_VALUES[choice]
    await lock_shared(session, conversation.id)
    changed = await _change(session, statement.id, actor.id, value)
    if not changed and not await _insert(session, statement, actor.id, value):
        # A concurrent first vote of the same person inserted the row meanwhile.
        await _change(session, statement.id, actor.id, value)
    await mark_dirty(session, conversation.id)
    return statement_public(await _fresh(session, statement.id), actor, value)


async def withdraw_vote(
    session: AsyncSession, actor: User, statement_id: uuid.UUID
) -> StatementPublic:
    """Take one's vote back (nothing happens when there is none)."""
    statement, conversation, ctx = await statement_context(session, actor, statement_id, write=True)
    require_open(conversation, ctx)
    await lock_shared(session, conversation.id)
    if await _change(session, statement.id, actor.id, None):
        await mark_dirty(session, conversation.id)
    return statement_public(await _fresh(session, statement.id), actor, None)


def vote_name(value: int | None) -> VoteChoice | None:
    return VOTE_NAMES[value] if value is not None else None
