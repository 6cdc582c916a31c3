"""How a value is written in each format, in SQL (the streamed datasets) or in Python
(the computed ones), so that a row comes out of PostgreSQL ready to be written.

A million-row export spends its time per cell: formatting in SQL lets the CSV writer take
asyncpg's records as they are (text, integers, nulls), with no Python call per cell.

* text: as is; in CSV, text a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab,
  carriage return first) gets a leading `'`, as the progress report's CSV;
* ids: their text; date-times: ISO 8601 in UTC (`2026-05-02T14:30:00.000000+00:00`);
  days: `2026-05-02`;
* decimals: numbers in JSON; in CSV, PostgreSQL's shortest exact text, with a decimal comma
  under `;`;
* lists: arrays in JSON; in CSV joined by `|`.
"""

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

from sqlalchemy import Text, case, cast, func, literal

from app.services.plans.progress import spreadsheet_safe

Format = Literal["csv", "jsonl"]
Delimiter = Literal[",", ";"]
LIST_SEPARATOR = "|"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
TIMESTAMP_FORMAT = 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'


@dataclass(frozen=True)
class Cells:
    fmt: Format
    delimiter: Delimiter = ","

    @property
    def csv(self) -> bool:
        return self.fmt == "csv"

    # --- SQL ----------------------------------------------------------------------------

    def text(self, column: Any) -> Any:
        if not self.csv:
            return column
        return case((func.left(column, 1).in_(FORMULA_STARTS), literal("'") + column), else_=column)

    def id(self, column: Any) -> Any:
        return cast(column, Text)

    def instant(self, column: Any) -> Any:
        return func.to_char(func.timezone("UTC", column), TIMESTAMP_FORMAT)

    def day(self, column: Any) -> Any:
        return cast(column, Text)

    def decimal(self, column: Any) -> Any:
        if not self.csv:
            return column
        text = cast(column, Text)
        return func.replace(text, ".", ",") if self.delimiter == ";" else text

    def array(self, column: Any) -> Any:
        return func.array_to_string(column, LIST_SEPARATOR) if self.csv else column

    # --- Python -------------------------------------------------------------------------

    def value(self, value: Any) -> Any:
        """A Python value (computed datasets, decoded JSON) as the SQL forms above."""
        if isinstance(value, datetime):
            return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
        if isinstance(value, date):
            return value.isoformat()
        if not self.csv:
            return value
        if isinstance(value, str):
            return spreadsheet_safe(value)
        if value is None or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float):
            text = repr(value).removesuffix(".0")  # as PostgreSQL writes it: 5, 2.5
            return text.replace(".", ",") if self.delimiter == ";" else text
        if isinstance(value, list | tuple):
            return spreadsheet_safe(LIST_SEPARATOR.join(str(v) for v in value))
        if isinstance(value, dict):
            return spreadsheet_safe(json.dumps(value, ensure_ascii=False, sort_keys=True))
        return str(value)  # UUIDs

    def row(self, values: Any) -> list[Any]:
        return [self.value(v) for v in values]

    def rows(self, rows: Any) -> list[list[Any]]:
        return [self.row(r) for r in rows]
