"""Stored outcomes of POST requests sent with an Idempotency-Key."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Integer, LargeBinary, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.base import created_at_field, id_field, jsonb_field, timestamp_field


class IdempotencyRecord(SQLModel, table=True):
    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("caller", "key"),)

    id: uuid.UUID = id_field()
    # "user:<uuid>" for signed-in callers, "address:<ip>" otherwise.
    caller: str = Field(sa_column=Column(String(80), nullable=False))
    key: str = Field(sa_column=Column(String(255), nullable=False))
    # sha256 of method, path, query and body: the same key with another request is refused.
    fingerprint: str = Field(sa_column=Column(String(64), nullable=False))
    # Null while the first request is still running.
    response_status: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    response_headers: dict[str, Any] = jsonb_field()
    response_body: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    created_at: datetime = created_at_field()
    expires_at: datetime = timestamp_field(nullable=False, index=True)
