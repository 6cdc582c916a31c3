"""Votes: agree, disagree or pass, one per person and statement, changeable, withdrawn
with DELETE.

Exact counts: a statement's `agree_count`, `disagree_count` and `pass_count` equal its
vote rows of each value. A vote first inserts with `ON CONFLICT DO NOTHING` and, only if
a row was inserted, adds 1; when the person has voted already (also by a concurrent
request, whose insert the conflict waits for), it locks their row (`FOR UPDATE`) and
changes it, moving the two counters by ±1 in the same transaction. Counters move with
atomic `UPDATE … SET n = n + 1 RETURNING` (the counts answered are the ones left).

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
from sqlalchemy.orm.attributes import set_committed_value
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


Counts = tuple[int, int, int]  # agree, disagree, pass


async def _move(session: AsyncSession, statement_id: uuid.UUID, deltas: dict[int, int]) -> Counts:
    """Move the statement's counters atomically; its counts after the move."""
    s = ConversationStatement
    values: dict[str, Any] = {_COUNTERS[v]: getattr(s, _COUNTERS[v]) + d for v, d in deltas.items()}
    row = (
        await session.exec(
            update(s)
            .where(col(s.id) == statement_id)
            .values(**values)
            .returning(col(s.agree_count), col(s.disagree_count), col(s.pass_count))
        )
    ).one()
    return int(row[0]), int(row[1]), int(row[2])


async def _change(
    session: AsyncSession, statement_id: uuid.UUID, user_id: uuid.UUID, new: int | None
) -> tuple[bool, Counts | None]:
    """Change (or with `new` None, delete) the person's vote: (found a vote, the counts
    after the change — None when nothing changed)."""
    key = (
        col(ConversationVote.statement_id) == statement_id,
        col(ConversationVote.user_id) == user_id,
    )
    old = (
        await session.exec(select(ConversationVote.vote).where(*key).with_for_update())
    ).one_or_none()
    if old is None:
        return False, None
    if new == old:
        return True, None
    if new is None:
        await session.exec(delete(ConversationVote).where(*key))
        return True, await _move(session, statement_id, {old: -1})
    await session.exec(
        update(ConversationVote).where(*key).values(vote=new, updated_at=func.clock_timestamp())
    )
    return True, await _move(session, statement_id, {old: -1, new: 1})


async def _insert(
    session: AsyncSession, statement: ConversationStatement, user_id: uuid.UUID, value: int
) -> Counts | None:
    """A first vote; None when the person has voted already."""
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
        return None
    return await _move(session, statement.id, {value: 1})


def _answer(
    statement: ConversationStatement, actor: User, counts: Counts | None, vote: int | None
) -> StatementPublic:
    """The statement with the counts this transaction left (not marking it changed)."""
    if counts is not None:
        for name, value in zip(
            ("agree_count", "disagree_count", "pass_count"), counts, strict=True
        ):
            set_committed_value(statement, name, value)
    return statement_public(statement, actor, vote)


async def cast_vote(
    session: AsyncSession, actor: User, statement_id: uuid.UUID, choice: VoteChoice
) -> StatementPublic:
    """Vote (or change the vote) on a visible statement of an open conversation: a first
    vote is one insert; a change, a locked read and an update (module docstring)."""
    statement, conversation, ctx = await statement_context(session, actor, statement_id, write=True)
    require_participant(ctx, actor)
    require_open(conversation, ctx)
    if statement.status != "visible":
        raise Conflict(
            "Only visible statements can be voted on.", code=ErrorCode.STATEMENT_NOT_VISIBLE
        )
    value = VOTE_VALUES[choice]
    await lock_shared(session, conversation.id)
    counts = await _insert(session, statement, actor.id, value)
    changed = counts is not None
    if not changed:
        found, counts = await _change(session, statement.id, actor.id, value)
        if not found:  # withdrawn meanwhile by a concurrent request of the same person
            counts = await _insert(session, statement, actor.id, value)
        changed = counts is not None
    if changed:
        await mark_dirty(session, conversation.id)
    return _answer(statement, actor, counts, value)


async def withdraw_vote(
    session: AsyncSession, actor: User, statement_id: uuid.UUID
) -> StatementPublic:
    """Take one's vote back (nothing happens when there is none)."""
    statement, conversation, ctx = await statement_context(session, actor, statement_id, write=True)
    require_open(conversation, ctx)
    await lock_shared(session, conversation.id)
    _, counts = await _change(session, statement.id, actor.id, None)
    if counts is not None:
        await mark_dirty(session, conversation.id)
    return _answer(statement, actor, counts, None)


def vote_name(value: int | None) -> VoteChoice | None:
    return VOTE_NAMES[value] if value is not None else None
