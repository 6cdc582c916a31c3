"""Engine, sessions and the one-transaction-per-request dependency."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Annotated

from fastapi import Depends
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import Settings, get_settings
from app.errors import AppError
from app.models import base as _base  # noqa: F401  (sets the naming convention)

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


def make_engine(url: str, settings: Settings | None = None) -> AsyncEngine:
    settings = settings or get_settings()
    return create_async_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_pre_ping=True,
        connect_args={"server_settings": {"application_name": "consulta"}},
    )


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


@asynccontextmanager
async def unit_of_work(session: AsyncSession) -> AsyncIterator[AsyncSession]:
    """The request's transaction on `session`: committed when the block ends, then the
    after-commit callbacks run; rolled back (callbacks dropped) on any error, except an
    `AppError` that asks to keep its changes. The one implementation, also used by the
    tests around their rolled-back session."""
    try:
        yield session
        await session.commit()
    except AppError as exc:
        await _finish_failed(session, keep=exc.keep_changes)
        raise
    except BaseException:
        await _finish_failed(session, keep=False)
        raise
    await run_after_commit(session)


async def get_session() -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed when the endpoint returns, before the
    response is sent; rolled back on any error. Services never commit."""
    async with get_sessionmaker()() as session, unit_of_work(session):
        yield session


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
