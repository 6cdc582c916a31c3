"""Keyset pagination: `?limit=&cursor=` in, `{"items": [...], "next_cursor": ...}` out.

A cursor is the sort key of the last item returned, base64url-encoded JSON. The next
page is everything strictly after that key in the list's order, so inserts never
shift pages and page 10 000 costs what page 1 costs. No OFFSET anywhere.
"""

import base64
import binascii
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import ColumnElement, and_, literal, or_, tuple_
from sqlmodel.ext.asyncio.session import AsyncSession

from app.errors import Unprocessable

T = TypeVar("T")
DEFAULT_LIMIT = 20
MAX_LIMIT = 100


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


@dataclass(frozen=True)
class PageParams:
    limit: int
    cursor: str | None


def page_params(
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description="Items per page (≤ 100).")
    ] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None, Query(max_length=512, description="`next_cursor` of the previous page.")
    ] = None,
) -> PageParams:
    return PageParams(limit=limit, cursor=cursor)


PageParamsDep = Annotated[PageParams, Depends(page_params)]


@dataclass(frozen=True)
class SortKey:
    """One column of a list's order; the last key must be unique (usually `id`)."""

    column: Any
    descending: bool = False
    kind: type = str  # how to read the value back from a cursor


def _encode_value(value: Any) -> Any:
    if isinstance(value, date):  # dates and datetimes
        return value.isoformat()
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    return value


def _decode_value(raw: Any, kind: type) -> Any:
    if raw is None:
        return None
    if kind is datetime:
        return datetime.fromisoformat(raw)
    if kind is date:
        return date.fromisoformat(raw)
    if kind is uuid.UUID:
        return uuid.UUID(raw)
    if kind is Decimal:
        return Decimal(raw)
    if kind is int:
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise ValueError("not an integer")
        return raw
    if kind is float:
        return float(raw)
    if not isinstance(raw, str):
        raise ValueError("not a string")
    return raw


def encode_cursor(values: Sequence[Any]) -> str:
    raw = json.dumps([_encode_value(v) for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, keys: Sequence[SortKey]) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(raw, list) or len(raw) != len(keys):
            raise ValueError("wrong shape")
        return [_decode_value(v, k.kind) for v, k in zip(raw, keys, strict=True)]
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError) as exc:
        raise Unprocessable(
            "The cursor is not valid for this list; start again without it.",
            code="invalid_cursor",
            errors=[{"loc": ["query", "cursor"], "msg": "invalid cursor", "code": "invalid"}],
        ) from exc


def after_key(keys: Sequence[SortKey], values: Sequence[Any]) -> ColumnElement[bool]:
    """Rows strictly after `values` in the order given by `keys`.

    When every key has the same direction this is one row-value comparison,
    `(k1, k2) > (v1, v2)` (`<` descending), which PostgreSQL turns into an index range
    condition on an index over (…, k1, k2): the scan starts at the cursor instead of
    reading and discarding every row before it. Mixed directions fall back to
    (k1 > v1) OR (k1 = v1 AND k2 > v2) OR …"""
    if len(keys) > 1 and len({k.descending for k in keys}) == 1:
        row = tuple_(*(k.column for k in keys))
        bound = tuple_(
            *(literal(v, type_=k.column.type) for k, v in zip(keys, values, strict=True))
        )
        return row < bound if keys[0].descending else row > bound
    clauses = []
    for i, key in enumerate(keys):
        equal = [keys[j].column == values[j] for j in range(i)]
        beyond = key.column < values[i] if key.descending else key.column > values[i]
        clauses.append(and_(*equal, beyond))
    return or_(*clauses)


def order_by(keys: Sequence[SortKey]) -> list[Any]:
    return [k.column.desc() if k.descending else k.column.asc() for k in keys]


async def paginate(
    session: AsyncSession,
    stmt: Any,
    keys: Sequence[SortKey],
    params: PageParams,
    *,
    key_of: Callable[[Any], Sequence[Any]],
) -> tuple[list[Any], str | None]:
    """Run `stmt` for one page. `key_of(row)` returns the sort-key values of a row.

    Returns the rows (objects for a one-entity select, tuples otherwise) and the cursor
    of the next page, if any."""
    if params.cursor:
        stmt = stmt.where(after_key(keys, decode_cursor(params.cursor, keys)))
    stmt = stmt.order_by(*order_by(keys)).limit(params.limit + 1)
    result = await session.exec(stmt)
    rows: list[Any] = list(result.all())
    next_cursor = None
    if len(rows) > params.limit:
        rows = rows[: params.limit]
        next_cursor = encode_cursor(key_of(rows[-1]))
    return rows, next_cursor
