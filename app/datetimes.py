"""One date-time form in every answer: ISO 8601 / RFC 3339 in UTC with `Z`, to the
microsecond, always with six fractional digits: `2026-12-07T16:10:00.000000Z`.

Without this an answer mixed forms: pydantic writes `…T16:10:00Z` or `…T16:10:00.5Z`
depending on the microseconds, keeps the offset a client sent (`…+02:00`) until the row
is read back, and hand-built payloads wrote `isoformat()` (`…+00:00`). Every JSON answer
goes through `normalize_json_datetimes` (`app/conventions.py`), one place for the 190
response schemas, hand-built bodies and problem members alike. It rewrites only JSON
strings that are entirely a date-time with an offset, so the instant never changes and
the precision is kept (a client may send the value back, e.g. as `?since=`). Dates
(`2026-12-07`) and times without an offset are left alone.
"""

import re
from datetime import UTC, datetime

# A whole JSON string (the quotes included) holding an ISO 8601 date-time with an offset.
_JSON_DATETIME = re.compile(
    rb'"(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})"'
)


def format_datetime(moment: datetime) -> str:
    """The one form: UTC, `Z`, six fractional digits."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_datetime(value: str) -> datetime | None:
    """An ISO 8601 date-time with an offset, or None."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _rewrite(match: re.Match[bytes]) -> bytes:
    day, clock, fraction, offset = match.groups()
    if offset == b"Z" and fraction is not None and len(fraction) == 7:
        return match.group(0)  # already in the one form
    digits = (fraction or b".")[1:7].ljust(6, b"0")
    text = f"{day.decode()}T{clock.decode()}.{digits.decode()}{offset.decode()}"
    moment = parse_datetime(text.replace("Z", "+00:00"))
    if moment is None:
        return match.group(0)
    try:
        return b'"' + format_datetime(moment).encode() + b'"'
    except (OverflowError, ValueError):  # out of range once in UTC
        return match.group(0)


def normalize_json_datetimes(body: bytes) -> bytes:
    """`body` (a JSON document) with every date-time string in the one form."""
    if b"T" not in body:
        return body
    return _JSON_DATETIME.sub(_rewrite, body)
