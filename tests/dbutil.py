"""Throwaway databases for the test suite and the migration check."""

import os
import uuid
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from app.db import to_async_url


def server_url(tmp: Path) -> str:
    """TEST_DATABASE_URL's server, or an embedded one in `tmp` (deleted at exit)."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    from app.embedded_pg import embedded_server_url

    return embedded_server_url(tmp / "pg", cleanup_mode="delete")


def new_database_name() -> str:
    return f"consulta_test_{uuid.uuid4().hex[:10]}"


async def create_database(server: str, name: str) -> str:
    admin = create_async_engine(to_async_url(server), isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    return make_url(to_async_url(server)).set(database=name).render_as_string(hide_password=False)


async def drop_database(server: str, name: str) -> None:
    admin = create_async_engine(to_async_url(server), isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()
