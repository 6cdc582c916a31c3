"""The change feed's horizon depends on this database's transactions only: a transaction
holding an xid open in ANOTHER database of the same server does not hold the feed (or
the webhook dispatcher) back, while one in this database still does."""

import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from app.db import get_sessionmaker
from app.event_types import EventType
from app.events import record_event
from app.services.integrations.delivery import dispatch
from app.services.integrations.horizon import Snapshot, feed_horizon, horizon_of
from tests.dbutil import RunDatabases, create_database, drop_database
from tests.factories import make_proposal, make_scene
from tests.factories.integrations import client_headers


@pytest.fixture
async def elsewhere(run_databases: RunDatabases) -> AsyncIterator[AsyncConnection]:
    """A connection to a scratch database on the run's server, inside a transaction
    that holds an xid until the test ends (closed and dropped whatever happens)."""
    name = f"{run_databases.prefix}_other_{uuid.uuid4().hex[:8]}"
    url = await create_database(run_databases.server, name)
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT pg_current_xact_id()"))
            try:
                yield conn
            finally:
                await conn.rollback()
    finally:
        await engine.dispose()
        await drop_database(run_databases.server, name)


async def _xid(conn: AsyncConnection) -> int:
    return int((await conn.execute(text("SELECT pg_current_xact_id()::text"))).scalar_one())


async def _scene_with_events(count: int):
    async with get_sessionmaker()() as session:
        s = await make_scene(session, content=False)
        proposal = await make_proposal(session, s.table, s.member)
        await session.commit()
    async with get_sessionmaker()() as session:
        for _ in range(count):
            record_event(
                session,
                EventType.PROPOSAL_UPDATED,
                subject_type="proposal",
                subject_id=proposal.id,
                actor_id=None,
                organization_id=s.org.id,
            )
        await session.commit()
    return s, proposal


async def _cluster_xmin() -> int:
    async with get_sessionmaker()() as session:
        conn = await session.connection()
        query = text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text")
        return int((await conn.execute(query)).scalar_one())


async def test_a_transaction_in_another_database_does_not_hold_the_feed_back(
    committing_client, elsewhere
):
    client = committing_client
    other_xid = await _xid(elsewhere)
    s, proposal = await _scene_with_events(3)
    # The cluster-wide xmin is held back by the other database's transaction...
    assert await _cluster_xmin() <= other_xid
    headers, _ = await client_headers(client, s.admin, s.org, ["changes:read"])
    response = await client.get(f"/v1/organizations/{s.org.slug}/changes", headers=headers)
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    # ...the feed is not: the events committed here after it took its xid are shown.
    assert [i["type"] for i in items] == ["proposal.updated"] * 3
    assert {i["subject_id"] for i in items} == {str(proposal.id)}

    # A transaction of THIS database holding an xid still holds it back.
    maker = get_sessionmaker()
    held = maker()
    try:
        await held.exec(text("SELECT pg_current_xact_id()"))  # type: ignore[call-overload]
        cursor = response.json()["next_cursor"]
        async with maker() as later:
            record_event(
                later,
                EventType.PROPOSAL_ANSWERED,
                subject_type="proposal",
                subject_id=proposal.id,
                actor_id=None,
                organization_id=s.org.id,
            )
            await later.commit()
        blocked = await client.get(
            f"/v1/organizations/{s.org.slug}/changes",
            params={"cursor": cursor},
            headers=headers,
        )
        assert blocked.status_code == 200 and blocked.json()["items"] == []
        await held.rollback()
    finally:
        await held.close()
    shown = await client.get(
        f"/v1/organizations/{s.org.slug}/changes", params={"cursor": cursor}, headers=headers
    )
    assert [i["type"] for i in shown.json()["items"]] == ["proposal.answered"]


async def test_the_dispatcher_is_not_held_back_by_another_database(committing_client, elsewhere):
    other_xid = await _xid(elsewhere)
    await _scene_with_events(4)
    assert await _cluster_xmin() <= other_xid
    async with get_sessionmaker()() as session:
        read = await dispatch(session)
        await session.commit()
    async with get_sessionmaker()() as session:
        conn = await session.connection()
        position = (
            await conn.execute(text("SELECT last_xid FROM webhook_outbox WHERE id = 1"))
        ).scalar_one()
        newest = (await conn.execute(text("SELECT max(xid)::text FROM events"))).scalar_one()
    assert read >= 4  # the scene's own events and the four
    assert position == int(newest) > other_xid


async def test_an_event_written_in_a_savepoint_of_an_open_transaction_holds_it_back(
    committing_client,
):
    """The event's xid is the top-level one, which the horizon accounts for."""
    s, proposal = await _scene_with_events(0)
    maker = get_sessionmaker()
    held = maker()
    try:
        async with held.begin_nested():
            record_event(
                held,
                EventType.PROPOSAL_UPDATED,
                subject_type="proposal",
                subject_id=proposal.id,
                actor_id=None,
                organization_id=s.org.id,
            )
        top = int(
            (await held.exec(text("SELECT pg_current_xact_id()::text"))).scalar_one()  # type: ignore[call-overload]
        )
        async with maker() as reader:
            horizon = await feed_horizon(await reader.connection())
        assert horizon <= top
        await held.commit()
    finally:
        await held.close()
    async with maker() as reader:
        assert await feed_horizon(await reader.connection()) > top


async def test_repeatable_read_falls_back_to_the_snapshot_xmin(committing_client, elsewhere):
    other_xid = await _xid(elsewhere)
    async with get_sessionmaker()() as session:
        conn = await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        horizon = await feed_horizon(conn)
        assert horizon <= other_xid


def test_the_horizon_is_the_least_running_xid_of_this_database():
    e = 2**32  # epoch 1: the 32-bit xids are the low bits
    s0 = Snapshot.parse(f"{e + 100}:{e + 120}:{e + 100},{e + 105},{e + 110}")
    assert s0 == Snapshot(e + 100, e + 120, (e + 100, e + 105, e + 110))
    # 100 belongs to another database; 105 and 110 to this one.
    assert horizon_of(s0, {105, 110}, None) == e + 105
    assert horizon_of(s0, {110, 130}, None) == e + 110  # 130: assigned after S0
    assert horizon_of(s0, set(), None) == e + 120  # nothing running here: xmax
    assert horizon_of(s0, {110}, e + 103) == e + 103  # our own xid, left out of S0
