"""Column helpers shared by every table."""

import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BeforeValidator
from sqlalchemy import Column, DateTime, ForeignKey, func, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlmodel import Field, SQLModel

# Postgres-style constraint names, set before any table is declared so that every
# constraint and index gets a deterministic, readable name.
SQLModel.metadata.naming_convention = {
    "ix": "%(table_name)s_%(column_0_N_name)s_idx",
    "uq": "%(table_name)s_%(column_0_N_name)s_key",
    "ck": "%(table_name)s_%(constraint_name)s_check",
    "fk": "%(table_name)s_%(column_0_N_name)s_fkey",
    "pk": "%(table_name)s_pkey",
}

TextMap = dict[str, str]


def _iso_only(value: Any) -> Any:
    # Pydantic reads numbers as Unix times: a client sending 12345 would get a meeting on
    # 1 January 1970. Date-times are ISO 8601 strings here.
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError("give an ISO 8601 string, e.g. 2026-05-02T16:30:00+02:00 or 2026-05-02")
    if isinstance(value, str) and value.strip().lstrip("+-").replace(".", "", 1).isdigit():
        raise ValueError("give an ISO 8601 string, e.g. 2026-05-02T16:30:00+02:00 or 2026-05-02")
    return value


def _utc_representable(value: datetime) -> datetime:
    # `9999-12-31T23:00:00-23:59` is a valid ISO 8601 string but no instant the database
    # (or Python) can hold once in UTC: it is refused here, not by a crash at the insert.
    if value.tzinfo is not None:
        try:
            value.astimezone(UTC)
        except OverflowError:
            raise ValueError("out of range once converted to UTC (years 1 to 9999)") from None
    return value


# A date-time with a UTC offset, written as an ISO 8601 string (never a number), that is
# an instant in the years 1 to 9999 UTC. Also for query parameters (`?from=`, `?since=`).
Instant = Annotated[AwareDatetime, BeforeValidator(_iso_only), AfterValidator(_utc_representable)]
# The same where the service checks the offset itself (to answer with its own code).
IsoDatetime = Annotated[datetime, BeforeValidator(_iso_only), AfterValidator(_utc_representable)]
# A calendar day, written as an ISO 8601 string (2026-05-02), never a number.
Day = Annotated[date, BeforeValidator(_iso_only)]


def integer_only(value: Any) -> Any:
    # Pydantic's lax mode reads `true` as 1, `1.0` as 1 and "1" as 1; a JSON integer is
    # asked for, so anything else is refused rather than guessed.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("give a JSON integer (not a switch, a decimal or a string)")
    return value


def _number_only(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("give a JSON number (not a switch or a string)")
    return value


# Integers and numbers in request bodies: JSON integers (numbers) only, never `true` or
# "1". Constraints go on the field as usual: `capacity: JsonInt = Field(ge=0)`.
JsonInt = Annotated[int, BeforeValidator(integer_only)]
JsonNumber = Annotated[float, BeforeValidator(_number_only)]


def utcnow() -> datetime:
    return datetime.now(UTC)


def id_field() -> Any:
    return Field(
        default_factory=uuid.uuid4,
        sa_column=Column(
            UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()")
        ),
    )


def created_at_field() -> Any:
    return Field(
        default_factory=utcnow,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


def updated_at_field() -> Any:
    return Field(
        default_factory=utcnow,
        sa_column=Column(
            DateTime(timezone=True),
            nullable=False,
            server_default=func.now(),
            # The time of the change itself, not of the transaction's start (now()): a row
            # created and changed in one transaction must not look updated before created.
            onupdate=func.clock_timestamp(),
        ),
    )


def timestamp_field(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=nullable, index=index)
    )


def fk_field(
    target: str, *, nullable: bool = False, ondelete: str = "CASCADE", index: bool = True
) -> Any:
    return Field(
        default=None if nullable else ...,
        sa_column=Column(
            UUID(as_uuid=True),
            ForeignKey(target, ondelete=ondelete),
            nullable=nullable,
            index=index,
        ),
    )


def jsonb_field(*, nullable: bool = False, default: Any = None) -> Any:
    factory = (lambda: dict(default or {})) if not isinstance(default, list) else list
    return Field(
        default_factory=factory,
        sa_column=Column(
            JSONB,
            nullable=nullable,
            server_default=text("'[]'::jsonb" if isinstance(default, list) else "'{}'::jsonb"),
        ),
    )
