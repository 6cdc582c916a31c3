"""Read replicas (`DATABASE_REPLICA_URLS`) without anyone missing their own write.

Which session a request gets (`app.db.get_session` asks `read_session`):

- Anything but GET/HEAD, and the GET routes marked `x-consistency: primary` (their
  `openapi_extra`, e.g. the change feed, whose horizon is the primary's transactions),
  run on the primary, as without replicas.
- A GET from an anonymous caller reads from a replica (chosen in turn). Most traffic of a
  public consultation is that.
- A GET from a signed-in person or a service client reads from a replica only if that
  replica has already replayed the caller's last write; otherwise from the primary.

How "has replayed the caller's last write" is known, across processes and without clocks:
every transaction that writes, on commit, bumps the caller's row of `read_fences`
(`version + 1`) *in the same transaction* (`bump_fences`, the last statement before
COMMIT; the sign-in endpoint adds the person it signs in). A GET first reads the caller's
`version` on the primary (one primary-key lookup, on its own short connection), then the
same row on the chosen replica: a replica holding at least that version has replayed the
commit that wrote it, and with it every change of that transaction and of every earlier
commit (a standby replays WAL in commit order). The row is logged, hence replicated: the
replica's copy is the proof. A write from any process of any server is seen by the next
read on any other, since both ask the primary. A caller who has never written needs no
primary lookup beyond that one statement.

A replica that cannot be reached is left alone for `REPLICA_RETRY_SECONDS` and its reads
go to the primary. Replica sessions are read-only (`default_transaction_read_only`), so a
GET that wrote would fail loudly rather than write to the wrong server.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import get_settings
from app.security import InvalidToken, decode_access_token, decode_client_token

logger = logging.getLogger(__name__)

READ_METHODS = frozenset({"GET", "HEAD"})
# A route's `openapi_extra` that keeps its GET on the primary.
PRIMARY = {"x-consistency": "primary"}
REPLICA_RETRY_SECONDS = 5.0
# session.info key: extra callers whose fence this transaction bumps.
FENCE_CALLERS = "read_fence_callers"

_FENCE_ON_PRIMARY = text("SELECT version FROM read_fences WHERE caller = :caller")
_FENCE_ON_REPLICA = text(
    "SELECT coalesce((SELECT version FROM read_fences WHERE caller = :caller), 0) >= :version"
)
# Only a transaction that has written (it has an xid) bumps its callers' fences.
_BUMP = text(
    "INSERT INTO read_fences (caller, version, written_at) "
    "SELECT caller, 1, now() FROM unnest(CAST(:callers AS text[])) AS caller "
    "WHERE pg_current_xact_id_if_assigned() IS NOT NULL "
    "ON CONFLICT (caller) DO UPDATE "
    "SET version = read_fences.version + 1, written_at = excluded.written_at"
)


def replica_urls() -> list[str]:
    return get_settings().replica_urls


class Replicas:
    """The replica engines of this process, taken in turn, skipping unreachable ones."""

    def __init__(self, engines: Sequence[AsyncEngine]) -> None:
        self.engines = list(engines)
        self._turn: Iterator[int] = itertools.cycle(range(len(self.engines)))
        self._down_until = [0.0] * len(self.engines)

    def pick(self) -> int | None:
        now = time.monotonic()
        for _ in self.engines:
            index = next(self._turn)
            if self._down_until[index] <= now:
                return index
        return None

    def mark_down(self, index: int) -> None:
        self._down_until[index] = time.monotonic() + REPLICA_RETRY_SECONDS


@lru_cache
def get_replicas() -> Replicas:
    settings = get_settings()
    engines = [
        create_async_engine(
            to_asyncpg(url),
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_pre_ping=True,
            connect_args={
                "server_settings": {
                    "application_name": "consulta-replica",
                    "default_transaction_read_only": "on",
                }
            },
        )
        for url in settings.replica_urls
    ]
    return Replicas(engines)


def to_asyncpg(url: str) -> str:
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError("DATABASE_REPLICA_URLS must list PostgreSQL URLs")


def caller_of(scope: Mapping[str, Any]) -> str | None:
    """The fence key of the request's bearer token ("user:<id>", "client:<id>"), read
    from the token alone; None for anonymous callers and tokens that are not valid (the
    route's own dependency answers those)."""
    headers = dict(scope.get("headers") or [])
    authorization = headers.get(b"authorization", b"").decode("latin-1")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    try:
        client = decode_client_token(token)
        if client is not None:
            return f"client:{client.client_id}"
        return f"user:{decode_access_token(token).user_id}"
    except InvalidToken:
        return None


def reads_from_replica(scope: Mapping[str, Any]) -> bool:
    if scope.get("method") not in READ_METHODS or not replica_urls():
        return False
    route = scope.get("route")
    extra = getattr(route, "openapi_extra", None) or {}
    return bool(extra.get("x-consistency") != "primary")


def fence_caller(session: AsyncSession, caller: str) -> None:
    """Make this transaction, if it writes, bump `caller`'s fence too (the sign-in
    endpoint: the person signing in is not yet the bearer of the request)."""
    session.info.setdefault(FENCE_CALLERS, set()).add(caller)


async def bump_fences(session: AsyncSession, scope: Mapping[str, Any]) -> None:
    """The last statement before COMMIT of a request's transaction, with replicas only
    (reads bump nothing: a replica's session is read-only, and a GET on the primary writes
    nothing its caller reads back)."""
    if not replica_urls() or scope.get("method") in READ_METHODS:
        return
    callers = set(session.info.pop(FENCE_CALLERS, set()))
    bearer = caller_of(scope)
    if bearer is not None:
        callers.add(bearer)
    if callers:
        await session.execute(_BUMP, {"callers": sorted(callers)})


async def read_session(
    scope: Mapping[str, Any], primary: AsyncEngine, make: Any
) -> AsyncSession | None:
    """A session on a replica that has the caller's last write, or None (use the
    primary). `make(engine)` builds a session bound to an engine."""
    replicas = get_replicas()
    index = replicas.pick()
    if index is None:
        return None
    caller = caller_of(scope)
    version = 0
    if caller is not None:
        async with primary.connect() as conn:
            version = (await conn.execute(_FENCE_ON_PRIMARY, {"caller": caller})).scalar() or 0
    session: AsyncSession = make(replicas.engines[index])
    try:
        caught_up = (
            await session.execute(_FENCE_ON_REPLICA, {"caller": caller or "", "version": version})
        ).scalar()
    except Exception:
        await session.close()
        logger.warning("replica %d unreachable; reading from the primary", index, exc_info=True)
        replicas.mark_down(index)
        return None
    if not caught_up:
        await session.close()
        return None
    return session
