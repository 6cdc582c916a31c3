"""The cursor codec: what the service issues reads back; nothing else does."""

import uuid
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import BigInteger, Column, Integer

from app.errors import Unprocessable
from app.pagination import SortKey, decode_cursor, encode_cursor
from tests.test_cursor_fuzz import signed

WHEN = SortKey(None, kind=datetime)
ID = SortKey(None, kind=uuid.UUID)
SMALL = SortKey(Column("n", Integer), kind=int)
BIG = SortKey(Column("seq", BigInteger), kind=int)


def test_issued_cursors_read_back_in_utc():
    rome = timezone(timedelta(hours=2))
    moment, ident = datetime(2026, 5, 2, 16, 30, tzinfo=rome), uuid.uuid4()
    decoded = decode_cursor(encode_cursor([moment, ident]), [WHEN, ID])
    assert decoded == [moment, ident]
    assert decoded[0].tzinfo == UTC
    assert decode_cursor(encode_cursor([date(2026, 5, 2)]), [SortKey(None, kind=date)]) == [
        date(2026, 5, 2)
    ]
    assert decode_cursor(encode_cursor([2**40]), [BIG]) == [2**40]
    assert decode_cursor(
        encode_cursor(["recent", None]), [SortKey(None), SortKey(None, nullable=True)]
    ) == ["recent", None]


@pytest.mark.parametrize(
    ("values", "keys"),
    [
        ([None, str(uuid.uuid4())], [WHEN, ID]),  # null
        (["2026-05-02T16:30:00+00:00", 5], [WHEN, ID]),  # an integer for a UUID
        (["9999-12-31T23:59:59-23:59", str(uuid.uuid4())], [WHEN, ID]),  # past 9999 in UTC
        (["0001-01-01T00:00:00+14:00", str(uuid.uuid4())], [WHEN, ID]),  # before year 1
        (["2026-05-02T16:30:00", str(uuid.uuid4())], [WHEN, ID]),  # no offset
        ([2**31], [SMALL]),  # beyond an integer column
        ([2**63], [BIG]),  # beyond int64
        ([True], [BIG]),  # a switch is not a number
        (["\ud800"], [SortKey(None)]),  # a lone surrogate
        (["a\u0000b"], [SortKey(None)]),  # NUL
        ([float("nan")], [SortKey(None, kind=float)]),
        ([1e300], [SortKey(None, kind=float)]),
        (["x"], [SortKey(None), SortKey(None)]),  # wrong arity
        ({"a": 1}, [SortKey(None)]),
    ],
)
def test_signed_cursors_outside_the_key_types_are_refused(values, keys):
    with pytest.raises(Unprocessable) as refused:
        decode_cursor(signed(values), keys)
    assert refused.value.code == "invalid_cursor"


def test_unsigned_and_tampered_cursors_are_refused():
    good = encode_cursor(["cm-bari", str(uuid.uuid4())])
    payload, _, signature = good.partition(".")
    keys = [SortKey(None), ID]
    assert decode_cursor(good, keys)[0] == "cm-bari"
    for cursor in (
        payload,
        f"{payload}.",
        f"{payload}.{signature[:-1]}{'B' if signature.endswith('A') else 'A'}",
        f"x{good}",
        good * 9,
    ):
        with pytest.raises(Unprocessable):
            decode_cursor(cursor, keys)
