"""The worker's side of a draw: claim a queued draw, compute it in a child process
(`compute.py`, with `PYTHONHASHSEED=0`) while its progress is written to the draw row,
then store the result in one transaction: the panel become active members of the table
(`membership.joined`, via `sortition`), the rest form the ranked reserve list, and the
run is audited (`sortition.draw_completed`). A draw whose worker died (no heartbeat for
`STALE_SECONDS`) is claimed again by the next worker. Each step takes the caller's
session; the worker (`app/worker/sortition.py`) owns the transactions.
"""

import asyncio
import json
import os
import sys
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.errors import Conflict
from app.event_types import EventType
from app.models.sortition import SortitionDraw
from app.models.tables import ParticipationTable
from app.services.audit.write import record_audit
from app.services.sortition.members import seat_panel

STALE_SECONDS = 120
PROGRESS_EVERY_SECONDS = 1.0
ProgressSink = Callable[[dict[str, Any]], Awaitable[None]]


def _now() -> datetime:
    return datetime.now(UTC)


async def claim(session: AsyncSession, worker_name: str) -> tuple[uuid.UUID, dict[str, Any]] | None:
    """The oldest due draw (queued, or running without a heartbeat), now ours."""
    stale = _now() - timedelta(seconds=STALE_SECONDS)
    draw = (
        await session.exec(
            select(SortitionDraw)
            .where(
                or_(
                    col(SortitionDraw.status) == "queued",
                    (col(SortitionDraw.status) == "running")
                    & (col(SortitionDraw.heartbeat_at) < stale),
                )
            )
            .order_by(col(SortitionDraw.created_at))
            .limit(1)
            .with_for_update(skip_locked=True)
        )
    ).one_or_none()
    if draw is None:
        return None
    now = _now()
    draw.status = "running"
    draw.claimed_by = worker_name
    draw.started_at = draw.started_at or now
    draw.heartbeat_at = now
    draw.progress = {"phase": "starting"}
    draw.updated_at = now
    return draw.id, draw.inputs


async def record_progress(
    session: AsyncSession, draw_id: uuid.UUID, progress: dict[str, Any]
) -> None:
    draw = await session.get(SortitionDraw, draw_id, with_for_update=True)
    if draw is not None and draw.status == "running":
        draw.progress = progress
        draw.heartbeat_at = draw.updated_at = _now()


async def compute_in_child(
    inputs: dict[str, Any], on_progress: ProgressSink, task: str = "draw"
) -> dict[str, Any]:
    """Run `compute.py`'s `task` (draw or check) on `inputs`; its last line (`result` or
    `error`) is the outcome."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app.services.sortition.compute",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "PYTHONHASHSEED": "0"},
        limit=2**26,
    )
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write(json.dumps({"task": task, "inputs": inputs}).encode())
    child.stdin.close()
    outcome: dict[str, Any] = {"error": {"kind": "failed", "message": "no result"}}
    last = 0.0
    loop = asyncio.get_running_loop()
    try:
        async for line in child.stdout:
            try:
                message = json.loads(line)
            except ValueError:
                continue  # the library's own prints
            if not isinstance(message, dict):
                continue
            if "progress" in message:
                if loop.time() - last >= PROGRESS_EVERY_SECONDS:
                    last = loop.time()
                    await on_progress(message["progress"])
            else:
                outcome = message
        await child.wait()
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
    return outcome


async def _audit_completion(
    session: AsyncSession, table: ParticipationTable, draw: SortitionDraw
) -> None:
    record_audit(
        session,
        EventType.SORTITION_DRAW_COMPLETED,
        organization_id=table.organization_id,
        actor_id=None,
        target_type="table",
        target_id=table.id,
        data={
            "table_id": str(table.id),
            "draw_id": str(draw.id),
            "status": draw.status,
            "inputs_hash": draw.inputs_hash,
            "selected_count": len(draw.panel),
        },
    )


async def finish(session: AsyncSession, draw_id: uuid.UUID, outcome: dict[str, Any]) -> None:
    """Store the outcome; on success seat the panel. Table, then draw, are locked."""
    draw = await session.get(SortitionDraw, draw_id)
    assert draw is not None
    table = (
        await session.exec(
            select(ParticipationTable)
            .where(col(ParticipationTable.id) == draw.table_id)
            .with_for_update(key_share=True)
        )
    ).one()
    await session.refresh(draw, with_for_update=True)
    if draw.status != "running":
        return
    now = _now()
    draw.finished_at = draw.updated_at = now
    result = outcome.get("result")
    if result is not None:
        draw.panel = list(result["panel"])
        draw.drawn = list(result["panel"])
        draw.reserve = list(result["reserve"])
        draw.marginals = result["marginals"]
        draw.committees_count = result["committees_count"]
        draw.status = "done"
        draw.progress = {"phase": "done", "message": "the panel was drawn"}
        try:
            await seat_panel(session, table, [uuid.UUID(k) for k in draw.panel])
        except Conflict as error:  # e.g. the table's member cap: the draw fails whole
            draw.status = "failed"
            draw.error = {"kind": "seating_failed", "message": error.detail}
            draw.panel = draw.drawn = draw.reserve = []
    else:
        draw.status = "failed"
        draw.error = outcome.get("error") or {"kind": "failed"}
        draw.progress = {"phase": "failed", "message": "the draw failed"}
    await _audit_completion(session, table, draw)
