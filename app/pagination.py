"""Keyset pagination: `?limit=&cursor=` in, `{"items": [...], "next_cursor": ...}` out.

A cursor is the sort key of the last item returned, base64url-encoded JSON signed with
an HMAC of `SECRET_KEY`. The next page is everything strictly after that key in the
list's order, so inserts never shift pages and page 10 000 costs what page 1 costs. No
OFFSET anywhere. Any cursor the service did not issue for the list (unsigned, tampered,
of another shape or with values outside the key's type) is a 422 `invalid_cursor`.
"""

import base64
import binascii
import hashlib
import hmac
import json
import math
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import BigInteger, ColumnElement, and_, literal, or_, tuple_
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import get_settings
from app.error_codes import ErrorCode
from app.errors import Unprocessable, field_error

T = TypeVar("T")
_MAX_CURSOR_CHARS = 512
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
        str | None,
        # The length is checked when the cursor is read, so that an over-long one is an
        # `invalid_cursor` like any other cursor the list did not issue.
        Query(
            description="`next_cursor` of the previous page.",
            json_schema_extra={"maxLength": _MAX_CURSOR_CHARS},
        ),
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
    nullable: bool = False  # whether a cursor may carry null for this key


# Cursors are signed: base64url(JSON of the last item's key) "." base64url(HMAC). The
# signature makes any cursor the service did not issue a 422 before its values are read;
# the values are still checked against the list's key types (a cursor of another list, or
# one signed with an old key, must not reach SQL either).
_SIGNATURE_BYTES = 12
_SIGNATURE_CONTEXT = b"consulta-cursor\0"
_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)
_FLOAT4_MAX = 3.4e38  # float keys (ranks) are PostgreSQL `real`


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    return value


def _text(raw: Any) -> str:
    if not isinstance(raw, str):
        raise ValueError("not a string")
    raw.encode("utf-8")  # lone surrogates raise UnicodeEncodeError (a ValueError)
    if "\x00" in raw:
        raise ValueError("NUL character")
    return raw


def _integer(raw: Any, column: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise ValueError("not an integer")
    column_type = getattr(column, "type", None)
    low, high = _INT64 if isinstance(column_type, BigInteger) else _INT32
    if not low <= raw <= high:
        raise ValueError("integer out of range")
    return raw


def _decode_value(raw: Any, key: SortKey) -> Any:
    kind = key.kind
    if raw is None:
        if key.nullable:
            return None
        raise ValueError("null key")
    if kind is datetime:
        moment = datetime.fromisoformat(_text(raw))
        if moment.tzinfo is None:
            raise ValueError("date-time without offset")
        return moment.astimezone(UTC)  # OverflowError past year 1 or 9999
    if kind is date:
        return date.fromisoformat(_text(raw))
    if kind is uuid.UUID:
        return uuid.UUID(_text(raw))
    if kind is Decimal:
        number = Decimal(_text(raw))
        if not number.is_finite():
            raise ValueError("not a finite number")
        return number
    if kind is int:
        return _integer(raw, key.column)
    if kind is float:
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise ValueError("not a number")
        value = float(raw)
        if not math.isfinite(value) or abs(value) > _FLOAT4_MAX:
            raise ValueError("not a finite number")
        return value
    return _text(raw)


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _b64decode(text: str) -> bytes:
    if not _BASE64URL.fullmatch(text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


def _signature(payload: bytes) -> bytes:
    secret = get_settings().secret_key.encode()
    return hmac.new(secret, _SIGNATURE_CONTEXT + payload, hashlib.sha256).digest()[
        :_SIGNATURE_BYTES
    ]


def encode_cursor(values: Sequence[Any]) -> str:
    raw = json.dumps(
        [_encode_value(v) for v in values], separators=(",", ":"), ensure_ascii=False
    ).encode()
    return f"{_b64encode(raw)}.{_b64encode(_signature(raw))}"


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a cursor value")


def invalid_cursor() -> Unprocessable:
    return Unprocessable(
        "The cursor is not valid for this list; start again without it.",
        code=ErrorCode.INVALID_CURSOR,
        errors=[field_error(["query", "cursor"], "invalid cursor", ErrorCode.INVALID_CURSOR)],
    )


def decode_cursor(cursor: str, keys: Sequence[SortKey]) -> list[Any]:
    """The key values of a cursor this service issued for a list ordered by `keys`;
    422 `invalid_cursor` for anything else (unsigned, tampered, of another shape)."""
    try:
        if len(cursor) > _MAX_CURSOR_CHARS:
            raise ValueError("too long")
        payload_text, dot, signature_text = cursor.partition(".")
        if not dot:
            raise ValueError("unsigned")
        payload = _b64decode(payload_text)
        if not hmac.compare_digest(_b64decode(signature_text), _signature(payload)):
            raise ValueError("bad signature")
        raw = json.loads(payload, parse_constant=_refuse_constant)
        if not isinstance(raw, list) or len(raw) != len(keys):
            raise ValueError("wrong shape")
        return [_decode_value(v, k) for v, k in zip(raw, keys, strict=True)]
    except (ValueError, TypeError, OverflowError, binascii.Error, RecursionError) as exc:
        raise invalid_cursor() from exc


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
