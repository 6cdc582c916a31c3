"""The migrations build exactly the models' schema, and go down and up again cleanly."""

import asyncio

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from app.cli import alembic_config
from app.db import metadata
from tests.dbutil import RunDatabases, create_database, drop_database


def _diff(url: str) -> list[object]:
    async def run() -> list[object]:
        engine = create_async_engine(url)
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
            )
        await engine.dispose()
        return list(diff)

    return asyncio.run(run())


def test_migrations_match_models_and_round_trip(run_databases: RunDatabases, worker_id: str):
    # A scratch database of the run's (dropped with it if this test cannot), on the run's
    # one server, whichever worker this is.
    server = run_databases.server
    name = f"{run_databases.prefix}_{worker_id}_migrations"
    url = asyncio.run(create_database(server, name))
    try:
        config = alembic_config(url)
        command.upgrade(config, "head")
        assert _diff(url) == []
        command.downgrade(config, "base")
        assert len(_diff(url)) > 0  # everything is gone again
        command.upgrade(config, "head")
        assert _diff(url) == []
    finally:
        asyncio.run(drop_database(server, name))
