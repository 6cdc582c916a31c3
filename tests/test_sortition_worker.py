"""The worker runs a queued draw (real commits, the real child process) and reports its
progress on the draw; a facilitator's draw ends with the panel as active members."""

import uuid

from sqlmodel import col, select

from app.db import get_sessionmaker
from app.models.sortition import SortitionDraw
from app.models.tables import TableMembership
from app.worker import Worker
from tests.factories import configure_sortition, make_applicants, make_scene, pool
from tests.helpers import bearer


async def test_the_worker_draws_the_panel_and_reports_progress(committing_client):
    client = committing_client
    async with get_sessionmaker()() as session:
        s = await make_scene(session, content=False)
        await configure_sortition(session, s.table)
        await make_applicants(session, s.table, pool(2, 2, 2, 2))
        await session.commit()

    queued = await client.post(
        f"/v1/tables/{s.table.id}/sortition/draws", headers=bearer(s.facilitator)
    )
    assert queued.status_code == 201, queued.text
    draw_id = queued.json()["id"]
    assert queued.json()["progress"]["phase"] == "queued"

    worker = Worker()
    try:
        await worker.run_once()
        assert await worker.wait_for_draw() is True
    finally:
        await worker.aclose()

    shown = (await client.get(f"/v1/tables/{s.table.id}/sortition/draws/{draw_id}")).json()
    assert shown["status"] == "done", shown
    assert shown["progress"]["phase"] == "done"
    assert shown["started_at"] is not None and shown["finished_at"] is not None
    assert shown["selected_count"] == 4
    async with get_sessionmaker()() as session:
        draw = await session.get(SortitionDraw, uuid.UUID(draw_id))
        assert draw is not None and draw.claimed_by == worker.name
        members = (
            await session.exec(
                select(TableMembership).where(
                    col(TableMembership.table_id) == s.table.id,
                    col(TableMembership.status) == "active",
                    col(TableMembership.role) == "member",
                    col(TableMembership.user_id) != s.member.id,
                )
            )
        ).all()
    assert len(members) == 4

    # Nothing left to draw: the next round finds nothing.
    idle = Worker()
    try:
        await idle.run_once()
        assert await idle.wait_for_draw() is False
    finally:
        await idle.aclose()
