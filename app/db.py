"""Engine, sessions and the one-transaction-per-request dependency."""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import MetaData, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import Settings, get_settings
from app.errors import AppError
from app.metrics import MeasuredPool
from app.models import base as _base  # noqa: F401  (sets the naming convention)
from app.replicas import bump_fences, read_session, reads_from_replica

logger = logging.getLogger(__name__)
metadata: MetaData = SQLModel.metadata


def to_async_url(url: str) -> str:
    """Accept the usual libpq URLs and point them at asyncpg."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError(f"DATABASE_URL must be a PostgreSQL URL, got {url.split(':', 1)[0]}://…")


def resolve_database_url(settings: Settings | None = None) -> str:
    """The configured server, or the embedded one under `.data/pg` (started on demand).

    The resolved URL is exported so that uvicorn workers and subprocesses reuse it.
    """
    settings = settings or get_settings()
    if settings.database_url:
        return to_async_url(settings.database_url)
    from app.embedded_pg import embedded_database_url

    url = embedded_database_url(settings.data_dir / "pg")
    os.environ["DATABASE_URL"] = url
    get_settings.cache_clear()
    return to_async_url(url)


# A pooled connection idle for longer than this is checked (pinged) before use; one in
# use a moment ago is not. See `_ping_if_idle`.
PING_AFTER_IDLE_SECONDS = 1.0
_CHECKED_IN_AT = "consulta.checked_in_at"


def _note_checkin(dbapi_connection: Any, record: Any) -> None:
    record.info[_CHECKED_IN_AT] = time.monotonic()


def _ping_if_idle(dialect: Any) -> Callable[[Any, Any, Any], None]:
    """A pool `checkout` listener: ping a connection that sat idle in the pool for more
    than `PING_AFTER_IDLE_SECONDS`, and make the pool replace it (DisconnectionError)
    when the ping fails.

    It replaces `pool_pre_ping`, which pings on every check-out: with asyncpg that ping
    is three round trips (BEGIN, `;`, ROLLBACK), paid by every request — twice by writes
    (the write-limit counter has its own connection). A connection used within the last
    second is not pinged: if the database went away in that second, the request fails
    with 503 `database_unavailable` and SQLAlchemy's disconnect handling invalidates the
    whole pool, so the next requests reconnect. After an outage longer than that (every
    restart), the first requests are answered as before: their idle connections are
    pinged and replaced."""

    def checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        checked_in_at = record.info.get(_CHECKED_IN_AT)
        if checked_in_at is None or time.monotonic() - checked_in_at <= PING_AFTER_IDLE_SECONDS:
            return  # a new connection, or one in use a moment ago
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError("stale pooled connection") from exc

    return checkout


def make_engine(url: str, settings: Settings | None = None) -> AsyncEngine:
    """The app's engine: a bounded pool whose waits and timeouts are measured
    (`app/metrics.py`), and PostgreSQL's statement_timeout on every connection."""
    settings = settings or get_settings()
    server_settings = {"application_name": "consulta"}
    if settings.database_statement_timeout_ms:
        server_settings["statement_timeout"] = str(settings.database_statement_timeout_ms)
    engine = create_async_engine(
        url,
        poolclass=MeasuredPool,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
        connect_args={"server_settings": server_settings},
    )
    pool = engine.sync_engine.pool
    event.listen(pool, "checkin", _note_checkin)
    event.listen(pool, "checkout", _ping_if_idle(engine.dialect))
    return engine


@lru_cache
def get_engine() -> AsyncEngine:
    return make_engine(resolve_database_url())


@lru_cache
def get_sessionmaker() -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(
        get_engine(), class_=AsyncSession, expire_on_commit=False, autoflush=False
    )


AfterCommit = Callable[[], Awaitable[None]]


def after_commit(session: AsyncSession, callback: AfterCommit) -> None:
    """Run `callback` once the request's transaction has committed (e.g. send an email
    that refers to rows this transaction wrote); dropped if it rolls back."""
    session.info.setdefault("after_commit", []).append(callback)


async def run_after_commit(session: AsyncSession) -> None:
    callbacks: list[AfterCommit] = session.info.pop("after_commit", [])
    for callback in callbacks:
        try:
            await callback()
        except Exception:
            logger.exception("after-commit callback failed")


# The ASGI scope key under which `app/idempotency.py` asks for the request's transaction:
# a `DeferredCommit` there gets the session uncommitted when the endpoint returns, and the
# middleware commits it together with the stored response.
DEFERRED_COMMIT = "consulta.deferred_commit"
# Test-only crash hook (ENVIRONMENT=test and TEST_CRASH_HOOKS=true only): a request sent
# with `X-Test-Crash: before-commit` or `after-commit` kills its server process there.
CRASH_HEADER = b"x-test-crash"


@dataclass
class DeferredCommit:
    session: AsyncSession | None = None


def crash_if_asked(scope: Mapping[str, Any], moment: str) -> None:
    """Kill this process (SIGKILL, as a crash would) at `moment` of the request's commit,
    if the request asks and the process runs the test hooks. Nothing otherwise."""
    settings = get_settings()
    if settings.environment != "test" or not settings.test_crash_hooks:
        return
    headers = dict(scope.get("headers") or [])
    if headers.get(CRASH_HEADER) == moment.encode():
        logger.warning("test crash hook: killing the process %s", moment)
        os.kill(os.getpid(), signal.SIGKILL)


async def commit_request(session: AsyncSession, scope: Mapping[str, Any]) -> None:
    """Commit the request's transaction, then run its after-commit callbacks."""
    await bump_fences(session, scope)
    crash_if_asked(scope, "before-commit")
    await session.commit()
    crash_if_asked(scope, "after-commit")
    await run_after_commit(session)


@asynccontextmanager
async def unit_of_work(
    session: AsyncSession, scope: Mapping[str, Any] | None = None
) -> AsyncIterator[AsyncSession]:
    """The request's transaction on `session`: committed when the block ends, then the
    after-commit callbacks run; rolled back (callbacks dropped) on any error, except an
    `AppError` that asks to keep its changes. When the request's `scope` asks for a
    deferred commit (`DEFERRED_COMMIT`), the session is handed over uncommitted instead.
    The one implementation, also used by the tests around their rolled-back session."""
    try:
        yield session
    except AppError as exc:
        await _finish_failed(session, keep=exc.keep_changes)
        raise
    except BaseException:
        await _finish_failed(session, keep=False)
        raise
    deferred = scope.get(DEFERRED_COMMIT) if scope is not None else None
    if isinstance(deferred, DeferredCommit):
        deferred.session = session  # committed and closed by the idempotency middleware
        return
    await commit_request(session, scope or {})


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed when the endpoint returns, before the
    response is sent; rolled back on any error. Services never commit.

    For a POST with an Idempotency-Key the commit is deferred to the idempotency
    middleware, which stores the response in the same transaction (see DEFERRED_COMMIT)."""
    session = await _request_session(request)
    handed_over = False
    try:
        async with unit_of_work(session, request.scope):
            yield session
        deferred = request.scope.get(DEFERRED_COMMIT)
        handed_over = isinstance(deferred, DeferredCommit) and deferred.session is session
    finally:
        if not handed_over:
            await session.close()


def _bound_session(engine: AsyncEngine) -> AsyncSession:
    return AsyncSession(engine, expire_on_commit=False, autoflush=False)


async def _request_session(request: Request) -> AsyncSession:
    """The primary's session, or a replica's for a GET that may read there
    (`app/replicas.py`)."""
    if reads_from_replica(request.scope):
        replica = await read_session(request.scope, get_engine(), _bound_session)
        if replica is not None:
            return replica
    return get_sessionmaker()()


async def _finish_failed(session: AsyncSession, *, keep: bool) -> None:
    if keep:
        await session.commit()
        await run_after_commit(session)
    else:
        session.info.pop("after_commit", None)
        await session.rollback()


# scope="function": the commit happens right after the endpoint returns, so a failed
# commit becomes an error response rather than a lost write behind a 2xx.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
