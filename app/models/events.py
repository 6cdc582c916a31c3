"""The event spine: one row per state change, written in the changing transaction."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Identity, Index, String, text
from sqlalchemy.dialects.postgresql import UUID
from sqlmodel import Field, SQLModel

from app.models.base import created_at_field, fk_field, id_field, jsonb_field


class Event(SQLModel, table=True):
    __tablename__ = "events"
    __table_args__ = (
        Index(
            "events_meeting_id_seq_idx",
            "meeting_id",
            "seq",
            postgresql_where=text("meeting_id IS NOT NULL"),
        ),
    )

    id: uuid.UUID = id_field()
    # Monotonic insertion order, for feeds that page through events.
    seq: int | None = Field(
        default=None,
        sa_column=Column(BigInteger, Identity(always=True), nullable=False, unique=True),
    )
    organization_id: uuid.UUID | None = fk_field(
        "organizations.id", nullable=True, ondelete="SET NULL"
    )
    type: str = Field(sa_column=Column(String(64), nullable=False, index=True))
    subject_type: str = Field(sa_column=Column(String(32), nullable=False))
    subject_id: uuid.UUID = Field(sa_column=Column(UUID(as_uuid=True), nullable=False, index=True))
    actor_id: uuid.UUID | None = fk_field("users.id", nullable=True, ondelete="SET NULL")
    payload: dict[str, Any] = jsonb_field()
    created_at: datetime = created_at_field()
    # The meeting a live-session event belongs to (its stream, `app/services/live/`):
    # indexed by (meeting_id, seq); inserting one notifies the live listeners.
    meeting_id: uuid.UUID | None = Field(default=None, sa_column=Column(UUID(as_uuid=True)))
