"""The per-process live hub: one LISTEN connection, the fan-out to local subscribers,
coalesced poll results, presence heartbeats. See `app/services/live/__init__.py`."""

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy import delete, func, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import Settings
from app.metrics import BACKGROUND_FAILURES
from app.models.live import LivePresence
from app.services.live import messages
from app.services.live.messages import LiveMessage
from app.services.live.session import presence_count

logger = logging.getLogger(__name__)

CHANNEL = "consulta_live"
LISTENER_NAME = "consulta-live-listener"
MAX_RECONNECT_SECONDS = 2.0
# Put on a subscriber's queue when it fell too far behind: its stream ends, and the
# client resumes from the spine with Last-Event-ID.
DROP = object()


class Subscriber:
    """One open stream in this process, with a bounded queue."""

    def __init__(
        self, meeting_id: uuid.UUID, user_id: uuid.UUID | None, moderator: bool, size: int
    ) -> None:
        self.id = uuid.uuid4()
        self.meeting_id = meeting_id
        self.user_id = user_id
        self.moderator = moderator
        self.queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=size)
        self.dropped = False

    def offer(self, item: Any) -> None:
        if self.dropped:
            return
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            # A slow client: drop it rather than buffer without bound.
            self.dropped = True
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(DROP)


def _setter(flag: asyncio.Event) -> Callable[[Any], None]:
    return lambda _conn: flag.set()


class LiveHub:
    def __init__(
        self, dsn: str, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
    ) -> None:
        self.dsn = dsn
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.subscribers: dict[uuid.UUID, set[Subscriber]] = {}
        # The last seq fanned out, per followed meeting.
        self.cursors: dict[uuid.UUID, int] = {}
        self.dirty: set[uuid.UUID] = set()
        self.results: dict[uuid.UUID, set[uuid.UUID]] = {}
        self.presence: dict[uuid.UUID, int] = {}
        self.wake = asyncio.Event()
        self.listening = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []
        # Presence rows to insert and to delete, written in batches.
        self.joining: dict[uuid.UUID, Subscriber] = {}
        self.leaving: set[uuid.UUID] = set()
        self.presence_wake = asyncio.Event()
        self.first_follow = asyncio.Lock()

    # --- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        for loop in (self._listen, self._pump, self._coalesce, self._tick, self._write_presence):
            self.tasks.append(asyncio.create_task(self._forever(loop), name=loop.__name__))

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for subs in self.subscribers.values():
            for sub in subs:
                sub.offer(DROP)

    async def _forever(self, loop: Callable[[], Any]) -> None:
        """Run a loop; a crash (the database down) is logged and the loop restarted."""
        while True:
            try:
                await loop()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("live hub: %s failed; restarting", loop.__name__)
                BACKGROUND_FAILURES.labels(f"live_{loop.__name__.strip('_')}").inc()
                await asyncio.sleep(1)

    # --- subscribers --------------------------------------------------------------------

    async def subscribe(
        self, meeting_id: uuid.UUID, user_id: uuid.UUID | None, moderator: bool
    ) -> tuple[Subscriber, int]:
        """Register a stream; returns it and the meeting's current position. No database
        work but the meeting's position the first time this process follows it: presence
        rows are written in batches (`_write_presence`), so a burst of connections costs
        a few statements, not one per connection."""
        sub = Subscriber(meeting_id, user_id, moderator, self.settings.live_queue_size)
        position = self.cursors.get(meeting_id)
        if position is None:
            # One read of the position, however many streams open at once.
            async with self.first_follow:
                position = self.cursors.get(meeting_id)
                if position is None:
                    async with self.sessionmaker() as session:
                        position = await messages.last_seq(session, meeting_id)
        # No await from here on: the cursor and the subscriber are registered together.
        self.cursors.setdefault(meeting_id, position)
        self.subscribers.setdefault(meeting_id, set()).add(sub)
        self.joining[sub.id] = sub
        self.presence_wake.set()
        self._mark(meeting_id)
        return sub, self.cursors[meeting_id]

    def unsubscribe(self, sub: Subscriber) -> None:
        """Forget a stream (synchronous: called while its request is being cancelled);
        its presence row goes with the next batch."""
        subs = self.subscribers.get(sub.meeting_id)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self.subscribers[sub.meeting_id]
                self.cursors.pop(sub.meeting_id, None)
                self.presence.pop(sub.meeting_id, None)
        if self.joining.pop(sub.id, None) is None:
            self.leaving.add(sub.id)
            self.presence_wake.set()

    def connected(self, meeting_id: uuid.UUID) -> int:
        """The last presence count of the meeting, or this process's own followers."""
        if meeting_id in self.presence:
            return self.presence[meeting_id]
        subs = self.subscribers.get(meeting_id, set())
        return len({s.user_id or s.id for s in subs})

    async def _write_presence(self) -> None:
        """Insert the presence rows of new streams and delete those of ended ones, in
        one transaction per batch."""
        while True:
            await self.presence_wake.wait()
            self.presence_wake.clear()
            joining, self.joining = self.joining, {}
            leaving, self.leaving = self.leaving, set()
            expires_at = datetime.now(UTC) + self._presence_ttl()
            try:
                async with self.sessionmaker() as session, session.begin():
                    if joining:
                        await session.exec(
                            insert(LivePresence).values(
                                [
                                    {
                                        "id": s.id,
                                        "meeting_id": s.meeting_id,
                                        "user_id": s.user_id,
                                        "expires_at": expires_at,
                                    }
                                    for s in joining.values()
                                ]
                            )
                        )
                    if leaving:
                        await session.exec(
                            delete(LivePresence).where(col(LivePresence.id).in_(leaving))
                        )
            except Exception:
                # Tried again with the next batch; rows of a lost batch expire by themselves.
                self.joining.update(joining)
                self.leaving |= leaving
                raise

    def _presence_ttl(self) -> timedelta:
        return timedelta(seconds=3 * self.settings.live_presence_seconds)

    def _fan_out(self, meeting_id: uuid.UUID, item: LiveMessage) -> None:
        for sub in list(self.subscribers.get(meeting_id, ())):
            sub.offer(item)

    def _mark(self, meeting_id: uuid.UUID) -> None:
        self.dirty.add(meeting_id)
        self.wake.set()

    # --- the listening connection ---------------------------------------------------------

    def _on_notify(self, conn: Any, pid: int, channel: str, payload: str) -> None:
        meeting, _, _ = payload.partition(":")
        try:
            meeting_id = uuid.UUID(meeting)
        except ValueError:
            return
        if meeting_id in self.subscribers:
            self._mark(meeting_id)

    async def _listen(self) -> None:
        """Hold one LISTEN connection; when it is lost, reconnect with backoff and catch
        up every followed meeting from the spine."""
        backoff = 0.2
        while True:
            conn: Any = None
            try:
                conn = await asyncpg.connect(
                    self.dsn, server_settings={"application_name": LISTENER_NAME}, timeout=10
                )
                lost = asyncio.Event()
                conn.add_termination_listener(_setter(lost))
                await conn.add_listener(CHANNEL, self._on_notify)
                self.listening.set()
                backoff = 0.2
                # Whatever committed while we were not listening.
                for meeting_id in list(self.subscribers):
                    self._mark(meeting_id)
                while not lost.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(lost.wait(), self.settings.live_presence_seconds)
                    if not lost.is_set():
                        await conn.fetchval("SELECT 1", timeout=10)
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                logger.warning("live hub: listener connection lost (%s); reconnecting", exc)
            finally:
                self.listening.clear()
                if conn is not None and not conn.is_closed():
                    conn.terminate()
            await asyncio.sleep(backoff)
            # At most this long between attempts: back within seconds of the database.
            backoff = min(backoff * 2, MAX_RECONNECT_SECONDS)

    # --- reading the spine ----------------------------------------------------------------

    async def _pump(self) -> None:
        while True:
            await self.wake.wait()
            self.wake.clear()
            meetings = [m for m in self.dirty if m in self.subscribers]
            self.dirty.clear()
            for meeting_id in meetings:
                try:
                    await self._catch_up(meeting_id)
                except Exception:
                    self.dirty.add(meeting_id)  # read again by the next tick
                    raise

    async def _catch_up(self, meeting_id: uuid.UUID) -> None:
        while meeting_id in self.cursors:
            after = self.cursors[meeting_id]
            async with self.sessionmaker() as session:
                events = await messages.read_events(session, meeting_id, after)
                batch = await messages.build(session, events)
            if meeting_id not in self.cursors or not events:
                return
            for message in batch.messages:
                self._fan_out(meeting_id, message)
            last = events[-1].seq
            assert last is not None
            self.cursors[meeting_id] = max(self.cursors[meeting_id], last)
            if batch.polls:
                self.results.setdefault(meeting_id, set()).update(batch.polls)
            if len(events) < messages.BATCH:
                return

    async def _coalesce(self) -> None:
        """At most one `poll.results` per poll per interval, however many ballots."""
        while True:
            await asyncio.sleep(self.settings.live_results_interval)
            if not self.results:
                continue
            pending, self.results = self.results, {}
            async with self.sessionmaker() as session:
                for meeting_id, poll_ids in pending.items():
                    if meeting_id not in self.cursors:
                        continue
                    seq = self.cursors[meeting_id]
                    for message in await messages.results_messages(session, poll_ids, seq):
                        self._fan_out(meeting_id, message)

    async def _tick(self) -> None:
        """Presence heartbeats and counts; a safety re-read of every followed meeting."""
        while True:
            await asyncio.sleep(self.settings.live_presence_seconds)
            ids = [
                s.id for subs in self.subscribers.values() for s in subs if s.id not in self.joining
            ]
            async with self.sessionmaker() as session, session.begin():
                if ids:
                    await session.exec(
                        update(LivePresence)
                        .where(col(LivePresence.id).in_(ids))
                        .values(expires_at=func.now() + self._presence_ttl())
                    )
                await session.exec(
                    delete(LivePresence).where(
                        col(LivePresence.expires_at) < func.now() - timedelta(minutes=1)
                    )
                )
                for meeting_id in list(self.subscribers):
                    await self._push_presence(session, meeting_id)
            for meeting_id in list(self.subscribers):
                self._mark(meeting_id)

    async def _push_presence(self, session: AsyncSession, meeting_id: uuid.UUID) -> None:
        count = await presence_count(session, meeting_id)
        if self.presence.get(meeting_id) != count and meeting_id in self.subscribers:
            self.presence[meeting_id] = count
            data = {"meeting_id": str(meeting_id), "connected": count}
            self._fan_out(meeting_id, LiveMessage(None, "presence", data, from_spine=False))
