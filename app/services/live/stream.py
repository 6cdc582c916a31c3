"""One subscriber's stream: authorization, replay from the spine, then live messages."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

from fastapi.sse import ServerSentEvent
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import get_settings
from app.metrics import LIVE_STREAMS
from app.models.accounts import User
from app.services.live import messages
from app.services.live.access import live_access
from app.services.live.hub import DROP, LiveHub, Subscriber
from app.services.live.messages import LiveMessage


@dataclass(frozen=True)
class Follower:
    """Who opens a stream, decided (and the ticket used up) before it starts."""

    meeting_id: uuid.UUID
    user_id: uuid.UUID | None
    moderator: bool
    live_status: str | None = None
    current_agenda_item: int | None = None


async def authorize(session: AsyncSession, actor: User | None, meeting_id: uuid.UUID) -> Follower:
    """Whoever may see the meeting may follow it (404 otherwise)."""
    access = await live_access(session, actor, meeting_id)
    meeting = access.meeting
    return Follower(
        meeting.id,
        actor.id if actor else None,
        access.moderator,
        meeting.live_status,
        meeting.current_agenda_item,
    )


def _sse(message: LiveMessage, sub: Subscriber) -> ServerSentEvent | None:
    return message.sse_for(sub.user_id, sub.moderator)


async def _replay(hub: LiveHub, sub: Subscriber, after: int) -> AsyncIterator[LiveMessage]:
    """What the subscriber missed, from the spine, in seq order; ballots as one
    `poll.results` per poll at the end."""
    polls: set[uuid.UUID] = set()
    last = after
    while True:
        async with hub.sessionmaker() as session:
            events = await messages.read_events(session, sub.meeting_id, last)
            batch = await messages.build(session, events)
        for message in batch.messages:
            yield message
        polls |= batch.polls
        if events:
            last = events[-1].seq or last
        if len(events) < messages.BATCH:
            break
    if polls:
        async with hub.sessionmaker() as session:
            for message in await messages.results_messages(session, polls, last):
                yield message


def _snapshot(hub: LiveHub, follower: Follower) -> ServerSentEvent:
    """The session's state (as authorized, a moment ago) and presence: a snapshot, with no
    `id:`."""
    data = {
        "meeting_id": str(follower.meeting_id),
        "live_status": follower.live_status,
        "current_agenda_item": follower.current_agenda_item,
        "connected": hub.connected(follower.meeting_id),
    }
    return ServerSentEvent(event="live.state", data=data)


async def follow(
    hub: LiveHub, follower: Follower, last_event_id: int | None
) -> AsyncIterator[ServerSentEvent]:
    """The stream: a `retry:` hint and the session's state, the missed events when
    resuming (`Last-Event-ID`), then live messages and a heartbeat comment when idle. A
    subscriber whose queue overflows is dropped (the stream ends; the client resumes)."""
    settings = get_settings()
    sub, position = await hub.subscribe(follower.meeting_id, follower.user_id, follower.moderator)
    LIVE_STREAMS.inc()
    try:
        yield ServerSentEvent(comment="connected", retry=settings.live_retry_ms)
        yield _snapshot(hub, follower)
        last = position if last_event_id is None else last_event_id
        if last_event_id is not None:
            async for message in _replay(hub, sub, last_event_id):
                sse = _sse(message, sub)
                if message.seq is not None and message.from_spine:
                    last = max(last, message.seq)
                if sse is not None:
                    yield sse
        while True:
            try:
                # A timeout scope, not wait_for: no extra task per wait.
                async with asyncio.timeout(settings.live_heartbeat_seconds):
                    item = await sub.queue.get()
            except TimeoutError:
                yield ServerSentEvent(comment="heartbeat")
                continue
            if item is DROP:
                return
            live: LiveMessage = item
            if live.from_spine and live.seq is not None:
                if live.seq <= last:
                    continue  # already replayed
                last = live.seq
            sse = _sse(live, sub)
            if sse is not None:
                yield sse
    finally:
        LIVE_STREAMS.dec()
        hub.unsubscribe(sub)
