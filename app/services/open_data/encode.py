"""Rows to bytes: CSV (RFC 4180) and JSON Lines, one chunk of rows at a time. The rows
come formatted for their format already (`cells.py`)."""

import csv
import io
import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

from app.services.open_data.cells import Delimiter

BOM = "\ufeff"


def _json_default(value: Any) -> Any:
    return str(value)  # UUIDs (asyncpg's or Python's)


async def encode_csv(
    columns: Sequence[str], chunks: AsyncIterator[Sequence[Sequence[Any]]], delimiter: Delimiter
) -> AsyncIterator[bytes]:
    """UTF-8 with a BOM (spreadsheets then read the accents), CRLF line ends, a header
    row, fields quoted when they need it, nulls as empty fields."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    out.write(BOM)
    writer.writerow(columns)
    async for rows in chunks:
        writer.writerows(rows)
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
