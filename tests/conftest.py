"""Test harness (Polar style): the real Alembic migrations run once against a throwaway
PostgreSQL, then each test runs inside a transaction that is rolled back.

One PostgreSQL server per run: an embedded one in a temporary folder, or the server named
by TEST_DATABASE_URL. The migrations run once, into a template database; every pytest
process (each xdist worker of `make test`, or the single process of a serial run) works on
its own copy of it, so workers never see each other's rows. Under xdist the controller
starts the server and builds the template before the workers start, and drops every
database of the run at the end. Tests that need real commits (concurrency) use
`committing_client`, which truncates every table of the worker's database afterwards.
"""

import atexit
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

_TMP = Path(tempfile.mkdtemp(prefix="consulta-tests-"))  # one per process: its own files
# Registered before the embedded server starts, so it runs after pgserver's own exit
# handler (atexit is last in, first out) has stopped the server and removed `_TMP/pg`.
atexit.register(shutil.rmtree, _TMP, ignore_errors=True)
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
    unit_of_work,
)
from tests.dbutil import RunDatabases  # noqa: E402
from tests.helpers import make_client  # noqa: E402

_RUN = pytest.StashKey[RunDatabases]()
_SERVER, _PREFIX = "consulta_db_server", "consulta_db_prefix"


def _is_xdist_controller(config: pytest.Config) -> bool:
    return (
        not hasattr(config, "workerinput")
        and config.getoption("dist", "no") != "no"
        and not config.getoption("collectonly")
    )


def pytest_configure(config: pytest.Config) -> None:
    """Under xdist, the controller prepares the server and the template database once,
    before any worker starts."""
    if _is_xdist_controller(config):
        run = RunDatabases.start(_TMP)
        config.stash[_RUN] = run
        run.build_template()


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist: tell each worker where the run's server and template are."""
    run = node.config.stash[_RUN]
    node.workerinput[_SERVER] = run.server
    node.workerinput[_PREFIX] = run.prefix


def pytest_unconfigure(config: pytest.Config) -> None:
    run = config.stash.get(_RUN, None)
    if run is not None:
        run.drop_all()
    for path in _TMP.iterdir():
        if path.name != "pg":  # a running embedded server's: pgserver removes it at exit
            shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def run_databases(request: pytest.FixtureRequest) -> RunDatabases:
    """The run's server and template: the controller's under xdist, else built here."""
    workerinput = getattr(request.config, "workerinput", None)
    if workerinput is not None:
        return RunDatabases(workerinput[_SERVER], workerinput[_PREFIX])
    run = RunDatabases.start(_TMP)
    request.config.stash[_RUN] = run  # dropped by pytest_unconfigure
    run.build_template()
    return run


@pytest.fixture(scope="session")
def database_url(run_databases: RunDatabases, worker_id: str) -> str:
    """This process's own database, a copy of the migrated template (`worker_id` is
    xdist's: `gw0`, `gw1`…, or `master` in a serial run)."""
    url = run_databases.copy_for(worker_id)
    os.environ["DATABASE_URL"] = url
    get_settings.cache_clear()
    get_engine.cache_clear()
    get_sessionmaker.cache_clear()
    return url


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


@pytest.fixture
def app(session: AsyncSession) -> Any:
    from app.main import create_app

    application = create_app()

    async def _test_session() -> AsyncIterator[AsyncSession]:
        # The app's own unit of work, around the test's savepoint-bound session.
        try:
            async with unit_of_work(session):
                yield session
        finally:
            # Each request starts from the database, not from objects cached by the last one.
            session.expunge_all()

    application.dependency_overrides[get_session] = _test_session
    return application


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(app) as c:
        yield c


@pytest.fixture
async def committing_client(engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    """The real app with real commits, for concurrency tests; every table is emptied
    afterwards."""
    from app.main import create_app

    async with make_client(create_app()) as c:
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
