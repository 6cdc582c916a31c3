"""Test harness (Polar style): the real Alembic migrations run once against a throwaway
PostgreSQL, then each test runs inside a transaction that is rolled back.

The database is an embedded PostgreSQL in a temporary folder, or a fresh database created
on the server named by TEST_DATABASE_URL. Tests that need real commits (concurrency) use
`committing_client`, which truncates every table afterwards.
"""

import asyncio
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

_TMP = Path(tempfile.mkdtemp(prefix="consulta-tests-"))
os.environ["ENVIRONMENT"] = "test"
os.environ["DATA_DIR"] = str(_TMP / "data")
os.environ["MAIL_DIR"] = str(_TMP / "mail")
os.environ["LOG_LEVEL"] = "WARNING"
os.environ.pop("DATABASE_URL", None)

from app.config import get_settings  # noqa: E402
from app.db import (  # noqa: E402
    get_engine,
    get_session,
    get_sessionmaker,
    metadata,
    run_after_commit,
)
from tests.dbutil import create_database, drop_database, new_database_name, server_url  # noqa: E402


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    server = server_url(_TMP)
    name = new_database_name()
    url = asyncio.run(create_database(server, name))
    os.environ["DATABASE_URL"] = url
    get_settings.cache_clear()
    get_engine.cache_clear()
    get_sessionmaker.cache_clear()
    from app.cli import migrate

    migrate(database_url=url)
    yield url
    asyncio.run(drop_database(server, name))
    shutil.rmtree(_TMP, ignore_errors=True)


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = get_engine()
    yield engine
    await engine.dispose()


@pytest.fixture
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session inside a transaction that is rolled back after the test; the app's
    per-request commits become savepoint releases."""
    async with engine.connect() as conn:
        transaction = await conn.begin()
        session = AsyncSession(
            bind=conn,
            expire_on_commit=False,
            autoflush=False,
            join_transaction_mode="create_savepoint",
        )
        try:
            yield session
        finally:
            await session.close()
            await transaction.rollback()


@pytest.fixture(autouse=True)
async def _clean_shared_counters(engine: AsyncEngine) -> AsyncIterator[None]:
    """Rate-limit counters and idempotency records are written on their own committed
    transactions, outside the test's rolled-back one."""
    yield
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM rate_limit_counters"))
        await conn.execute(text("DELETE FROM idempotency_records"))


def _make_client(app: Any, address: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(address, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


@pytest.fixture
def app(session: AsyncSession) -> Any:
    from app.errors import AppError
    from app.main import create_app

    application = create_app()

    async def _test_session() -> AsyncIterator[AsyncSession]:
        try:
            yield session
            await session.commit()
        except AppError as exc:
            if exc.keep_changes:
                await session.commit()
            else:
                await session.rollback()
            raise
        except BaseException:
            await session.rollback()
            raise
        else:
            await run_after_commit(session)
        finally:
            # Each request starts from the database, not from objects cached by the last one.
            session.expunge_all()

    application.dependency_overrides[get_session] = _test_session
    return application


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with _make_client(app) as c:
        yield c


@pytest.fixture
async def committing_client(engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    """The real app with real commits, for concurrency tests; every table is emptied
    afterwards."""
    from app.main import create_app

    async with _make_client(create_app()) as c:
        yield c
    tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    async with engine.begin() as conn:
        # audit_log refuses TRUNCATE through a trigger; replica mode skips triggers (the
        # test database's owner is a superuser).
        await conn.execute(text("SET LOCAL session_replication_role = replica"))
        await conn.execute(text(f"TRUNCATE {tables} CASCADE"))


@pytest.fixture
def mail_dir() -> Path:
    return get_settings().resolved_mail_dir


class QueryCounter:
    """Counts SQL statements sent to the database (to prove a path has no N+1)."""

    def __init__(self) -> None:
        self.count = 0
        self.statements: list[str] = []

    def __call__(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.count += 1
        self.statements.append(statement)

    def reset(self) -> None:
        self.count = 0
        self.statements.clear()


@pytest.fixture
def query_counter(engine: AsyncEngine) -> Iterator[QueryCounter]:
    """`query_counter.reset()`, make a request, then assert on `query_counter.count`."""
    from sqlalchemy import event

    counter = QueryCounter()
    event.listen(engine.sync_engine, "before_cursor_execute", counter)
    yield counter
    event.remove(engine.sync_engine, "before_cursor_execute", counter)
