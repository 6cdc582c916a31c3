"""Throwaway databases for the test suite and the migration check.

A test run uses one PostgreSQL server (an embedded one in a temporary folder, or the one
TEST_DATABASE_URL names). The real Alembic migrations run once, into a template database;
each pytest process (every xdist worker, or the only process of a serial run) then gets
its own copy (`CREATE DATABASE … TEMPLATE …`, a file copy, much faster than migrating).
Every database of a run shares the run's name prefix, so the run drops them all at the end.
"""

import asyncio
import os
import uuid
from dataclasses import dataclass
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


def database_url(server: str, name: str) -> str:
    return make_url(to_async_url(server)).set(database=name).render_as_string(hide_password=False)


async def create_database(server: str, name: str, *, template: str | None = None) -> str:
    admin = create_async_engine(to_async_url(server), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            copy = f' TEMPLATE "{template}"' if template else ""
            await conn.execute(text(f'CREATE DATABASE "{name}"{copy}'))
    finally:
        await admin.dispose()
    return database_url(server, name)


async def drop_database(server: str, name: str) -> None:
    await drop_databases(server, [name])


async def drop_databases(server: str, names: list[str]) -> None:
    admin = create_async_engine(to_async_url(server), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            for name in names:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


async def databases_named(server: str, prefix: str) -> list[str]:
    admin = create_async_engine(to_async_url(server), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            rows = await conn.execute(
                text("SELECT datname FROM pg_database WHERE starts_with(datname, :prefix)"),
                {"prefix": prefix},
            )
            return sorted(rows.scalars())
    finally:
        await admin.dispose()


@dataclass(frozen=True)
class RunDatabases:
    """The databases of one test run on `server`, all named `prefix…`."""

    server: str
    prefix: str

    @classmethod
    def start(cls, tmp: Path) -> "RunDatabases":
        return cls(server_url(tmp), new_database_name())

    @property
    def template(self) -> str:
        return f"{self.prefix}_template"

    def build_template(self) -> None:
        """Create the template database and run the real migrations into it (once per run)."""
        from app.cli import migrate

        url = asyncio.run(create_database(self.server, self.template))
        migrate(database_url=url)

    def copy_for(self, worker: str) -> str:
        """A database of `worker`'s own, copied from the template; its URL. (A worker that
        xdist restarts after a crash may reuse its id: its old copy is replaced.)"""
        name = f"{self.prefix}_{worker}"

        async def run() -> str:
            await drop_database(self.server, name)
            return await create_database(self.server, name, template=self.template)

        return asyncio.run(run())

    def drop_all(self) -> None:
        """Drop every database of the run (a crashed worker's too)."""

        async def run() -> None:
            await drop_databases(self.server, await databases_named(self.server, self.prefix))

        asyncio.run(run())
