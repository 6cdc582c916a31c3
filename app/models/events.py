"""The event spine: one row per state change, written in the changing transaction."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Identity, Index, String, text
from sqlalchemy.dialects.postgresql import UUID
from sqlmodel import Field, SQLModel

from app.models.base import created_at_field, fk_field, id_field, jsonb_field
from app.models.integrations import XID8


class Event(SQLModel, table=True):
    __tablename__ = "events"

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
    # A service client that acted (client_credentials token); then `actor_id` is null.
    actor_client_id: uuid.UUID | None = fk_field(
        "api_clients.id", nullable=True, ondelete="SET NULL", index=False
    )
    # The writing transaction's id: the change feed and the webhook outbox only read
    # events of transactions older than every one still running (ARCHITECTURE.md).
    xid: int | None = Field(
        default=None,
        sa_column=Column(XID8(), nullable=False, server_default=text("pg_current_xact_id()")),
    )
    payload: dict[str, Any] = jsonb_field()
    created_at: datetime = created_at_field()
    # The meeting a live-session event belongs to (its stream, `app/services/live/`):
    # indexed by (meeting_id, seq); inserting one notifies the live listeners.
    meeting_id: uuid.UUID | None = Field(default=None, sa_column=Column(UUID(as_uuid=True)))

    __table_args__ = (
        # The change feed pages one organization's events in (xid, seq) order; the
        # webhook dispatcher pages all of them.
        Index("events_organization_id_xid_seq_idx", "organization_id", "xid", "seq"),
        Index("events_xid_seq_idx", "xid", "seq"),
        # A live stream reads one meeting's events in seq order (app/services/live/).
        Index(
            "events_meeting_id_seq_idx",
            "meeting_id",
            "seq",
            postgresql_where=text("meeting_id IS NOT NULL"),
        ),
    )
