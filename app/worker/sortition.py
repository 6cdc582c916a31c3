"""The worker's draws: one at a time per worker, beside webhook delivery (a draw may take
minutes; the webhook rounds go on meanwhile). See app/services/sortition/runner.py."""

import logging
import uuid
from typing import Any

from app.db import get_sessionmaker, run_after_commit
from app.services.sortition import runner

logger = logging.getLogger("consulta.worker")


async def _progress(draw_id: uuid.UUID, progress: dict[str, Any]) -> None:
    async with get_sessionmaker()() as session, session.begin():
        await runner.record_progress(session, draw_id, progress)


async def run_due_draw(worker_name: str) -> bool:
    """Claim the oldest due draw, compute it, store the outcome; whether there was one."""
    async with get_sessionmaker()() as session, session.begin():
        claimed = await runner.claim(session, worker_name)
    if claimed is None:
        return False
    draw_id, inputs = claimed
    logger.info("sortition draw started", extra={"draw_id": str(draw_id)})

    async def progress(p: dict[str, Any]) -> None:
        await _progress(draw_id, p)

    try:
        outcome = await runner.compute_in_child(inputs, progress)
    except Exception as error:  # the child could not run: the draw fails, visibly
        logger.exception("sortition draw crashed", extra={"draw_id": str(draw_id)})
        outcome = {"error": {"kind": "failed", "message": type(error).__name__}}
    async with get_sessionmaker()() as session:
        async with session.begin():
            await runner.finish(session, draw_id, outcome)
        await run_after_commit(session)
    logger.info("sortition draw finished", extra={"draw_id": str(draw_id)})
    return True
