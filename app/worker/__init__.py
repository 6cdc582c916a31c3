"""The worker: webhook delivery, sortition draws, opinion maps and housekeeping
(`consulta worker`; inside `consulta serve` in development). Any number of workers on
any hosts share the work through PostgreSQL only (see app/services/integrations/delivery.py)."""

import asyncio
import contextlib
import logging
import socket

import aiohttp

from app.config import get_settings
from app.db import get_sessionmaker, run_after_commit
from app.housekeeping import purge_periodically
from app.metrics import WEBHOOK_ATTEMPTS, WORKER_ROUNDS
from app.services.conversations.maps import recompute_periodically
from app.services.integrations import delivery
from app.worker.sortition import run_due_draw

logger = logging.getLogger("consulta.worker")

CLAIM_BATCH = 200
PARALLEL_BATCHES = 4
# After a failed round (e.g. the database is unreachable) the worker waits, doubling the
# pause from the first to the last: back at work within seconds of the database.
ERROR_PAUSE_SECONDS = (0.25, 2.0)


class Worker:
    """One worker process's loop. `run_once` does one round (dispatch the outbox, send
    what is due) and says how much it did; `run` repeats it, pausing when idle."""

    def __init__(self) -> None:
        self.name = f"{socket.gethostname()}:{id(self):x}"
        self._client: aiohttp.ClientSession | None = None
        # The draw this worker is computing, if any (one at a time, in the background).
        self.draw_task: asyncio.Task[bool] | None = None

    @property
    def client(self) -> aiohttp.ClientSession:
        if self._client is None:  # created on the running loop
            self._client = delivery.http_client(CLAIM_BATCH * PARALLEL_BATCHES)
        return self._client

    async def dispatch_once(self) -> int:
        async with get_sessionmaker()() as session:
            async with session.begin():
                count = await delivery.dispatch(session)
            await run_after_commit(session)
        return count

    async def deliver_once(self, limit: int = CLAIM_BATCH) -> int:
        async with get_sessionmaker()() as session, session.begin():
            claims = await delivery.claim(session, limit)
        if not claims:
            return 0
        outcomes = await delivery.send_all(self.client, claims)
        for outcome in outcomes:
            WEBHOOK_ATTEMPTS.labels("succeeded" if outcome.succeeded else "failed").inc()
        async with get_sessionmaker()() as session:
            async with session.begin():
                await delivery.record_outcomes(session, claims, outcomes)
            await run_after_commit(session)
        return len(claims)

    def start_draw(self) -> None:
        """Start the next due sortition draw in the background, unless one is running."""
        task = self.draw_task
        if task is not None and not task.done():
            return
        if task is not None and not task.cancelled() and task.exception() is not None:
            logger.error("sortition round failed", exc_info=task.exception())
        self.draw_task = asyncio.create_task(run_due_draw(self.name))

    async def wait_for_draw(self) -> bool:
        """Await the draw started last (tests, shutdown); whether there was one."""
        return await self.draw_task if self.draw_task is not None else False

    async def run_once(self) -> int:
        """Dispatch, then send what is due: several batches at once (each claims its own
        rows, SKIP LOCKED), so that database round trips and sending overlap. A due
        sortition draw starts in the background."""
        self.start_draw()
        dispatched = await self.dispatch_once()
        sent = await asyncio.gather(*(self.deliver_once() for _ in range(PARALLEL_BATCHES)))
        return dispatched + sum(sent)

    async def run(self, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        poll = get_settings().worker_poll_seconds
        logger.info("worker started", extra={"worker": self.name})
        first_pause, last_pause = ERROR_PAUSE_SECONDS
        pause = first_pause
        while not stop.is_set():
            try:
                busy = await self.run_once()
            except Exception:
                logger.exception("worker round failed; trying again shortly")
                WORKER_ROUNDS.labels("failed").inc()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=pause)
                pause = min(pause * 2, last_pause)
                continue
            WORKER_ROUNDS.labels("ok").inc()
            pause = first_pause
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=poll)

    async def aclose(self) -> None:
        if self.draw_task is not None and not self.draw_task.done():
            self.draw_task.cancel()  # the child is killed; the draw is claimed again later
            with contextlib.suppress(asyncio.CancelledError):
                await self.draw_task
        if self._client is not None:
            await self._client.close()


async def run_worker(stop: asyncio.Event | None = None, *, housekeeping: bool = True) -> None:
    """The worker's whole job until `stop` is set (or the task is cancelled)."""
    worker = Worker()
    tasks = [asyncio.create_task(recompute_periodically())]
    if housekeeping:
        tasks.append(asyncio.create_task(purge_periodically()))
    try:
        await worker.run(stop)
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await worker.aclose()
