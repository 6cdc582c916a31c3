"""The migrations build exactly the models' schema, and go down and up again cleanly."""

import asyncio

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from app.cli import alembic_config
from app.db import metadata
from tests.conftest import _TMP
from tests.dbutil import create_database, drop_database, new_database_name, server_url


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


def test_migrations_match_models_and_round_trip(database_url):
    server = server_url(_TMP)
    name = new_database_name()
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
