"""Opinion maps: recomputed by the worker when votes change (coalesced), served from the
stored result.

Coalescing: votes set `conversations.map_dirty` (`votes.py` says why none is missed);
the worker picks dirty conversations whose map is older than `CONVERSATION_MAP_SECONDS`,
clears the flag under the exclusive advisory lock and commits, then reads the votes in a
new transaction — so a vote it does not read has set the flag again — computes the map
off the event loop (`pipeline.py`) and stores it. Several workers may run: a result
never replaces one computed from later data (`data_as_of`).

The stored map holds no identities: participants are positions; `keys` (keyed hashes of
the participants, `access.pseudonym`) only serve to find the caller's own position.
"""

import asyncio
import logging
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import get_settings
from app.db import get_sessionmaker
from app.event_types import EventType
from app.events import record_event
from app.models.accounts import User
from app.models.conversations import (
    Conversation,
    ConversationMap,
    ConversationMapPublic,
    ConversationStatement,
    MapConsensus,
    MapGroup,
    MapInformedConsensus,
    MapPosition,
    MapStatement,
)
from app.services.conversations.access import conversation_context, pseudonym
from app.services.conversations.pipeline import Participant, compute_map
from app.services.conversations.votes import lock_exclusive

logger = logging.getLogger("consulta.conversations")

BATCH = 10


async def due_conversations(session: AsyncSession, interval: float) -> list[uuid.UUID]:
    """Dirty conversations whose map is older than `interval` seconds (or missing)."""
    since = datetime.now(UTC) - timedelta(seconds=interval)
    rows = await session.exec(
        select(Conversation.id)
        .outerjoin(ConversationMap, col(ConversationMap.conversation_id) == Conversation.id)
        .where(
            col(Conversation.map_dirty).is_(True),
            or_(
                col(ConversationMap.computed_at).is_(None), col(ConversationMap.computed_at) < since
            ),
        )
        .limit(BATCH)
    )
    return list(rows.all())


async def _claim(session: AsyncSession, conversation_id: uuid.UUID) -> bytes | None:
    """Clear the flag once the votes in flight have committed; the conversation's key, or
    None when another worker cleared it first."""
    await lock_exclusive(session, conversation_id)
    return (
        await session.exec(
            update(Conversation)
            .where(col(Conversation.id) == conversation_id, col(Conversation.map_dirty).is_(True))
            .values(map_dirty=False)
            .returning(col(Conversation.pseudonym_key))
        )
    ).scalar_one_or_none()


async def read_votes(
    session: AsyncSession, conversation_id: uuid.UUID, key: bytes
) -> tuple[datetime, list[Participant], list[uuid.UUID]]:
    """(as of, one matrix row per participant, the visible statements' ids): the votes
    aggregated per person in SQL, statements as indexes, so 120 000 votes are 1 000 rows
    of integer arrays."""
    as_of = (await session.exec(select(func.now()))).one()
    params = {"c": conversation_id}
    statements = [
        row[0]
        for row in (
            await session.execute(
                text(
                    "SELECT id FROM conversation_statements "
                    "WHERE conversation_id = :c AND status = 'visible' ORDER BY id"
                ),
                params,
            )
        ).all()
    ]
    rows = await session.execute(
        text(
            "WITH s AS (SELECT id, (row_number() OVER (ORDER BY id) - 1)::int AS i "
            "FROM conversation_statements WHERE conversation_id = :c AND status = 'visible') "
            "SELECT v.user_id, array_agg(s.i), array_agg(v.vote::int) "
            "FROM conversation_votes v JOIN s ON s.id = v.statement_id "
            "WHERE v.conversation_id = :c GROUP BY v.user_id"
        ),
        params,
    )
    participants = [
        Participant(pseudonym(key, uid), indexes, values) for uid, indexes, values in rows.all()
    ]
    return as_of, participants, statements


async def _store(
    session: AsyncSession,
    conversation_id: uuid.UUID,
    as_of: datetime,
    result: dict[str, Any],
    elapsed_ms: int,
) -> None:
    now = datetime.now(UTC)
    values = {
        "conversation_id": conversation_id,
        "data_as_of": as_of,
        "computed_at": now,
        "computation_ms": elapsed_ms,
        "votes_count": result["votes_count"],
        "result": result,
    }
    stmt = insert(ConversationMap).values(**values)
    stored = stmt.on_conflict_do_update(
        index_elements=["conversation_id"],
        set_={k: stmt.excluded[k] for k in values if k != "conversation_id"},
        where=col(ConversationMap.data_as_of) <= stmt.excluded.data_as_of,
    )
    await session.exec(stored)
    organization_id = (
        await session.exec(
            select(Conversation.organization_id).where(col(Conversation.id) == conversation_id)
        )
    ).one()
    record_event(
        session,
        EventType.CONVERSATION_MAP_COMPUTED,
        subject_type="conversation",
        subject_id=conversation_id,
        actor_id=None,
        organization_id=organization_id,
        payload={
            "groups": len(result["groups"]),
            "participants": result["participants_count"],
            "votes": result["votes_count"],
            "computation_ms": elapsed_ms,
        },
    )


async def recompute(conversation_id: uuid.UUID) -> bool:
    """Recompute one conversation's map if it is still dirty; whether it was."""
    maker = get_sessionmaker()
    async with maker() as session, session.begin():
        key = await _claim(session, conversation_id)
    if key is None:
        return False
    started = time.perf_counter()
    async with maker() as session, session.begin():
        as_of, votes, statements = await read_votes(session, conversation_id, key)
    result = await asyncio.to_thread(compute_map, votes, statements)
    elapsed_ms = round((time.perf_counter() - started) * 1000)
    async with maker() as session, session.begin():
        await _store(session, conversation_id, as_of, result, elapsed_ms)
    return True


async def recompute_due() -> int:
    """One round of the worker: every conversation due, one after the other."""
    interval = get_settings().conversation_map_seconds
    async with get_sessionmaker()() as session:
        due = await due_conversations(session, interval)
    done = 0
    for conversation_id in due:
        try:
            done += await recompute(conversation_id)
        except Exception:
            logger.exception("opinion map failed", extra={"conversation_id": str(conversation_id)})
    return done


async def recompute_periodically() -> None:
    """The worker's task: look for maps to recompute every second, until cancelled."""
    while True:
        await asyncio.sleep(min(1.0, get_settings().conversation_map_seconds))
        try:
            await recompute_due()
        except Exception:
            logger.exception("opinion maps round failed; trying again shortly")


# --- the stored map, as served ---------------------------------------------------------


def _refs(items: list[dict[str, Any]], bodies: dict[str, str]) -> list[MapStatement]:
    return [
        MapStatement(
            statement_id=uuid.UUID(i["statement_id"]),
            body=bodies[i["statement_id"]],
            direction=i["direction"],
            share=i["share"],
            votes=i["votes"],
        )
        for i in items
        if i["statement_id"] in bodies
    ]


async def _bodies(session: AsyncSession, result: dict[str, Any]) -> dict[str, str]:
    """The texts of the statements the map names that are still visible now."""
    ids = {i["statement_id"] for g in result["groups"] for i in g["representative"]}
    ids |= {i["statement_id"] for d in ("agree", "disagree") for i in result["consensus"][d]}
    ids |= {i["statement_id"] for i in result["informed_consensus"]}
    if not ids:
        return {}
    rows = await session.exec(
        select(ConversationStatement.id, ConversationStatement.body).where(
            col(ConversationStatement.id).in_([uuid.UUID(i) for i in ids]),
            col(ConversationStatement.status) == "visible",
        )
    )
    return {str(sid): body for sid, body in rows.all()}


def _position(item: dict[str, Any]) -> MapPosition:
    return MapPosition(x=item["x"], y=item["y"], group=item["group"])


async def get_map(
    session: AsyncSession, actor: User | None, conversation_id: uuid.UUID
) -> ConversationMapPublic:
    """The stored map (whoever may see the table); `you` only in the caller's own view."""
    conversation, _ = await conversation_context(session, actor, conversation_id)
    stored = await session.get(ConversationMap, conversation_id)
    if stored is None:
        return ConversationMapPublic(
            conversation_id=conversation.id,
            state="none",
            computed_at=None,
            computation_ms=None,
            votes_count=0,
            participants_count=0,
            outdated=conversation.map_dirty,
            groups=[],
            consensus=MapConsensus(agree=[], disagree=[]),
            group_informed_consensus=[],
            participants=[],
            you=None,
        )
    result = stored.result
    bodies = await _bodies(session, result)
    you = None
    if actor is not None:
        index = result["keys"].get(pseudonym(conversation.pseudonym_key, actor.id))
        you = _position(result["positions"][index]) if index is not None else None
    return ConversationMapPublic(
        conversation_id=conversation.id,
        state=result["state"],
        computed_at=stored.computed_at,
        computation_ms=stored.computation_ms,
        votes_count=stored.votes_count,
        participants_count=result["participants_count"],
        outdated=conversation.map_dirty,
        groups=[
            MapGroup(
                id=g["id"],
                size=g["size"],
                center=(g["center"][0], g["center"][1]),
                representative=_refs(g["representative"], bodies),
            )
            for g in result["groups"]
        ],
        consensus=MapConsensus(
            agree=_refs(result["consensus"]["agree"], bodies),
            disagree=_refs(result["consensus"]["disagree"], bodies),
        ),
        group_informed_consensus=[
            MapInformedConsensus(
                statement_id=uuid.UUID(i["statement_id"]),
                body=bodies[i["statement_id"]],
                agree=i["agree"],
            )
            for i in result["informed_consensus"]
            if i["statement_id"] in bodies
        ],
        participants=[_position(p) for p in result["positions"]],
        you=you,
    )
