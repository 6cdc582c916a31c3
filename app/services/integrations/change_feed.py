"""The change feed: an organization's public changes, read from the event spine.

Order and horizon (ARCHITECTURE.md, "The change feed"): events are read in (xid, seq)
order — the writing transaction's id, then the insertion order — and only events of
transactions below the horizon (`horizon.py`): older than every transaction of this
database still in progress, i.e. of transactions that have all finished. No
transaction below that horizon can still add an event, so once the feed has shown a
position nothing can appear before it: a poller that follows `next_cursor` never misses
an event and never sees one twice.
"""

import base64
import binascii
import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import get_settings
from app.error_codes import ErrorCode
from app.errors import AppError, Unprocessable
from app.models.integrations import ChangeItem, ChangePage
from app.services.integrations.access import Actor, integration_organization, require_scope
from app.services.integrations.horizon import feed_horizon
from app.services.integrations.subjects import FEED_SUBJECT_TYPES, feed_subject, load_subjects

TYPE_PATTERN = re.compile(r"^(\*|[a-z_]+(\.[a-z_]+)?|[a-z_]+\.\*)$")


class CursorExpired(AppError):
    status = 410
    code = ErrorCode.CURSOR_EXPIRED
    title = "Cursor expired"


@dataclass(frozen=True)
class Position:
    """A place in the feed: after the event (xid, seq); `as_of` dates it for retention."""

    xid: int
    seq: int
    as_of: datetime

    def encode(self) -> str:
        raw = json.dumps({"x": str(self.xid), "s": self.seq, "t": int(self.as_of.timestamp())})
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _invalid_cursor() -> Unprocessable:
    return Unprocessable(
        "The cursor is not valid for this feed; start again without it.",
        code=ErrorCode.INVALID_CURSOR,
        errors=[
            {"loc": ["query", "cursor"], "msg": "invalid cursor", "code": ErrorCode.INVALID_CURSOR}
        ],
    )


MAX_CURSOR_CHARS = 512


def decode_position(cursor: str | None, now: datetime) -> Position:
    if not cursor:
        return Position(0, 0, now)
    if len(cursor) > MAX_CURSOR_CHARS:  # none we issue is near this long
        raise _invalid_cursor()
    try:
        raw = json.loads(base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode()))
        position = Position(
            xid=int(raw["x"]),
            seq=int(raw["s"]),
            as_of=datetime.fromtimestamp(int(raw["t"]), UTC),
        )
    except (ValueError, TypeError, KeyError, binascii.Error, OverflowError) as exc:
        raise _invalid_cursor() from exc
    if position.xid < 0 or position.seq < 0:
        raise _invalid_cursor()
    retention = timedelta(days=get_settings().change_feed_retention_days)
    if position.as_of < now - retention:
        raise CursorExpired(
            f"This cursor is older than the feed's {retention.days} days of history; "
            "resync from the lists, then follow the feed again without a cursor."
        )
    return position


def type_filter(types: str | None) -> tuple[list[str], list[str]] | None:
    """`?types=proposal.*,meeting.cancelled` as (exact types, LIKE prefixes)."""
    if not types:
        return None
    exact: list[str] = []
    prefixes: list[str] = []
    for pattern in (t.strip() for t in types.split(",")):
        if not pattern:
            continue
        if not TYPE_PATTERN.match(pattern):
            raise Unprocessable(
                f"{pattern!r} is not an event type or pattern like proposal.*.",
                code=ErrorCode.INVALID_TYPES,
                errors=[
                    {
                        "loc": ["query", "types"],
                        "msg": "invalid pattern",
                        "code": ErrorCode.INVALID_TYPES,
                    }
                ],
            )
        if pattern == "*":
            return None
        if pattern.endswith(".*"):
            prefixes.append(pattern[:-1] + "%")
        else:
            exact.append(pattern)
    return exact, prefixes


FEED_SQL = """
SELECT e.id, e.seq, e.xid::text AS xid, e.organization_id, e.type, e.subject_type, e.subject_id,
       e.payload, e.created_at
FROM events e
WHERE {where}
  AND (e.xid, e.seq) > (CAST(CAST(:xid AS text) AS xid8), :seq)
  AND e.xid < CAST(CAST(:horizon AS text) AS xid8)
  AND e.subject_type = ANY(:subjects)
  {types}
ORDER BY e.xid, e.seq
LIMIT :limit
"""


async def read_events(
    session: AsyncSession,
    position: Position,
    limit: int,
    *,
    organization_id: uuid.UUID | None,
    types: tuple[list[str], list[str]] | None = None,
) -> Sequence[Any]:
    """Feed events after `position`, below the horizon, in feed order: one
    organization's, or (`organization_id=None`) every organization's."""
    params: dict[str, Any] = {
        "xid": str(position.xid),
        "seq": position.seq,
        "subjects": list(FEED_SUBJECT_TYPES),
        "limit": limit,
    }
    where = "e.organization_id IS NOT NULL"
    if organization_id is not None:
        where = "e.organization_id = :org"
        params["org"] = organization_id
    type_sql = ""
    if types is not None:
        type_sql = "AND (e.type = ANY(:exact) OR e.type LIKE ANY(:prefixes))"
        params["exact"], params["prefixes"] = types
    stmt = text(FEED_SQL.format(where=where, types=type_sql))
    conn = await session.connection()
    # Computed in earlier statements, so this one's snapshot is taken after them.
    params["horizon"] = str(await feed_horizon(conn))
    result = await conn.execute(stmt, params)
    return result.all()


async def build_items(session: AsyncSession, rows: Sequence[Any]) -> list[tuple[Any, ChangeItem]]:
    """(row, item) for the rows that the feed shows, with their subjects' current public
    representation (tombstones for the rest; private tables' events left out)."""
    subjects = [feed_subject(r.subject_type, r.subject_id, r.payload) for r in rows]
    data, omitted = await load_subjects(session, [s for s in subjects if s is not None])
    items = []
    for row, subject in zip(rows, subjects, strict=True):
        if subject is None or subject in omitted:
            continue
        current = data.get(subject)
        items.append(
            (
                row,
                ChangeItem(
                    id=row.id,
                    type=row.type,
                    occurred_at=row.created_at,
                    subject_type=subject[0],
                    subject_id=subject[1],
                    data=current,
                    deleted=current is None,
                ),
            )
        )
    return items


async def list_changes(
    session: AsyncSession,
    actor: Actor,
    slug: str,
    *,
    cursor: str | None,
    limit: int,
    types: str | None,
) -> ChangePage:
    require_scope(actor, "changes:read")
    org = await integration_organization(session, actor, slug)
    now = datetime.now(UTC)
    position = decode_position(cursor, now)
    rows = await read_events(
        session, position, limit, organization_id=org.id, types=type_filter(types)
    )
    items = [item for _, item in await build_items(session, rows)]
    if rows:
        last = rows[-1]
        # A short page means the feed is caught up to the horizon: date the cursor now.
        as_of = now if len(rows) < limit else last.created_at
        position = Position(int(last.xid), int(last.seq), as_of)
    else:
        position = Position(position.xid, position.seq, now)
    return ChangePage(items=items, next_cursor=position.encode())
