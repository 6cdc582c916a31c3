"""Read-your-writes fences for read replicas (app/replicas.py)."""

from datetime import datetime

from sqlalchemy import BigInteger, Column, String
from sqlmodel import Field, SQLModel

from app.models.base import timestamp_field


class ReadFence(SQLModel, table=True):
    """One row per caller who has written: bumped in the writing transaction itself, so
    a replica that holds a row with at least the primary's `version` has replayed the
    caller's last write (and, replay being in commit order, every earlier one)."""

    __tablename__ = "read_fences"

    # "user:<uuid>" or "client:<uuid>".
    caller: str = Field(sa_column=Column(String(80), primary_key=True))
    version: int = Field(sa_column=Column(BigInteger, nullable=False))
    written_at: datetime = timestamp_field(nullable=False)
