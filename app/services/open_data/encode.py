"""Rows to bytes: CSV (RFC 4180) and JSON Lines, one chunk of rows at a time."""

import csv
import io
import json
from collections.abc import AsyncIterator, Sequence
from datetime import date, datetime
from typing import Any, Literal

from app.services.plans.progress import spreadsheet_safe

Format = Literal["csv", "jsonl"]
Delimiter = Literal[",", ";"]
BOM = "\ufeff"
# How the cells of a list are joined in CSV (JSON Lines keeps them as arrays).
LIST_SEPARATOR = "|"


def _csv_value(value: Any, decimal: str) -> Any:
    if isinstance(value, str):
        return spreadsheet_safe(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return repr(value).replace(".", decimal)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return spreadsheet_safe(LIST_SEPARATOR.join(str(v) for v in value))
    if isinstance(value, dict):
        return spreadsheet_safe(json.dumps(value, ensure_ascii=False, sort_keys=True))
    return str(value)  # UUIDs (asyncpg's or Python's)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)  # uuid.UUID


async def encode_csv(
    columns: Sequence[str], chunks: AsyncIterator[Sequence[Sequence[Any]]], delimiter: Delimiter
) -> AsyncIterator[bytes]:
    """UTF-8 with a BOM (spreadsheets then read the accents), CRLF line ends, a header
    row, fields quoted when they need it. With `;` numbers take a decimal comma (the
    Italian spreadsheet convention, as the progress report's CSV)."""
    decimal = "," if delimiter == ";" else "."
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    out.write(BOM)
    writer.writerow(columns)
    async for rows in chunks:
        writer.writerows([_csv_value(v, decimal) for v in row] for row in rows)
        yield out.getvalue().encode("utf-8")
        out.seek(0)
        out.truncate()
    if out.tell():
        yield out.getvalue().encode("utf-8")


async def encode_jsonl(
    columns: Sequence[str], chunks: AsyncIterator[Sequence[Sequence[Any]]]
) -> AsyncIterator[bytes]:
    """One JSON object per line (`\\n`), keys in the CSV's column order, UTF-8."""
    async for rows in chunks:
        yield "".join(
            json.dumps(
                dict(zip(columns, row, strict=True)), ensure_ascii=False, default=_json_default
            )
            + "\n"
            for row in rows
        ).encode("utf-8")
