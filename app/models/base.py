"""Column helpers shared by every table."""

import uuid
from datetime import UTC, datetime
from typing import Any

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
            DateTime(timezone=True), nullable=False, server_default=func.now(), onupdate=func.now()
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
