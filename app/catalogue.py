"""`Catalogue`: a `StrEnum` whose members carry a one-line meaning.

The names machines rely on (`app/error_codes.py`, `app/event_types.py`) are catalogues:
each member is its wire value (a `str`, so it serializes as itself) plus `meaning`, the
sentence the OpenAPI description and the README tables show.
"""

from enum import StrEnum
from typing import Self


class Catalogue(StrEnum):
    meaning: str

    def __new__(cls, value: str, meaning: str) -> Self:
        member = str.__new__(cls, value)
        member._value_ = value
        member.meaning = meaning
        return member

    @classmethod
    def table(cls, heading: str) -> str:
        """The catalogue as a Markdown table: `| value | meaning |`, in declaration order."""
        rows = [f"| {heading} | meaning |", "| --- | --- |"]
        rows += [f"| `{member.value}` | {member.meaning} |" for member in cls]
        return "\n".join(rows)
