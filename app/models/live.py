"""Live sessions of a meeting: questions, their likes, stream tickets and presence.

The live stream itself is built on the event spine (`events.meeting_id`, see
`app/services/live/__init__.py`); these tables hold what the stream talks about.
"""

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints
from pydantic import Field as PField
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlmodel import Field, SQLModel

from app.models.base import JsonInt, created_at_field, fk_field, id_field, updated_at_field

QuestionStatus = Literal["pending", "visible", "answered", "hidden"]
QUESTION_STATUSES: tuple[str, ...] = ("pending", "visible", "answered", "hidden")
# What a facilitator may set (pending is only ever set by pre-moderation).
QuestionSetStatus = Literal["visible", "answered", "hidden"]
QuestionSort = Literal["likes", "recent"]
LiveStatus = Literal["live", "ended"]
QUESTION_MAX = 500


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class LiveQuestion(SQLModel, table=True):
    """A question asked during (or before) a meeting's live session."""

    __tablename__ = "live_questions"
    __table_args__ = (
        # `?sort=recent` and `?sort=likes` (keyset).
        Index("live_questions_meeting_recent_idx", "meeting_id", "created_at", "id"),
        Index("live_questions_meeting_likes_idx", "meeting_id", "likes_count", "created_at", "id"),
        CheckConstraint(_one_of("status", QUESTION_STATUSES), name="status"),
        CheckConstraint("likes_count >= 0", name="likes_count"),
    )

    id: uuid.UUID = id_field()
    # Indexed by the two list indexes.
    meeting_id: uuid.UUID = fk_field("meetings.id", index=False)
    organization_id: uuid.UUID = fk_field("organizations.id")
    table_id: uuid.UUID = fk_field("participation_tables.id", index=False)
    # Null once the account is erased; the question stays, authorless.
    author_id: uuid.UUID | None = fk_field("users.id", nullable=True, ondelete="SET NULL")
    body: str = Field(sa_column=Column(Text, nullable=False))
    status: QuestionStatus = Field(
        default="visible", sa_column=Column(String(16), nullable=False, server_default="visible")
    )
    pinned: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default="false")
    )
    # Equals the number of `live_question_likes` rows; moved atomically with them.
    likes_count: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default="0")
    )
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class LiveQuestionLike(SQLModel, table=True):
    """One person likes one question (the primary key makes liking idempotent)."""

    __tablename__ = "live_question_likes"

    question_id: uuid.UUID = Field(
        sa_column=Column(
            UUID(as_uuid=True),
            ForeignKey("live_questions.id", ondelete="CASCADE"),
            primary_key=True,
        )
    )
    user_id: uuid.UUID = Field(
        sa_column=Column(
            UUID(as_uuid=True),
            ForeignKey("users.id", ondelete="CASCADE"),
            primary_key=True,
            index=True,
        )
    )
    created_at: datetime = created_at_field()


class LiveTicket(SQLModel, table=True):
    """A short-lived, single-use ticket to open one meeting's stream (`?ticket=`), for
    browsers' EventSource, which cannot send headers. Only its SHA-256 is stored."""

    __tablename__ = "live_tickets"

    token_hash: str = Field(sa_column=Column(String(64), primary_key=True))
    meeting_id: uuid.UUID = fk_field("meetings.id", index=False)
    user_id: uuid.UUID = fk_field("users.id")
    expires_at: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False, index=True)
    )
    created_at: datetime = created_at_field()


class LivePresence(SQLModel, table=True):
    """One open stream, kept alive by its server's heartbeat; expired rows are ignored
    (and purged), so a crashed server's connections stop counting by themselves."""

    __tablename__ = "live_presence"
    __table_args__ = (Index("live_presence_meeting_id_expires_at_idx", "meeting_id", "expires_at"),)

    id: uuid.UUID = Field(sa_column=Column(UUID(as_uuid=True), primary_key=True))
    meeting_id: uuid.UUID = fk_field("meetings.id", index=False)
    # Null for someone following a public meeting signed out.
    user_id: uuid.UUID | None = fk_field("users.id", nullable=True, index=False)
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


# --- schemas -------------------------------------------------------------------------

QuestionBody = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=QUESTION_MAX)
]


class QuestionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: QuestionBody


class QuestionUpdate(BaseModel):
    """Facilitators: answer, hide (or show again) and pin questions."""

    model_config = ConfigDict(extra="forbid")

    status: QuestionSetStatus | None = None
    pinned: bool | None = None


class QuestionAuthor(BaseModel):
    id: uuid.UUID
    display_name: str


class QuestionPublic(BaseModel):
    """A live question. One that is pending or hidden is shown only to its author and
    the meeting's facilitators."""

    id: uuid.UUID
    meeting_id: uuid.UUID
    body: str
    author: QuestionAuthor | None
    status: QuestionStatus
    pinned: bool
    likes_count: int
    liked: bool = PField(default=False, description="Whether the caller likes it.")
    created_at: datetime
    updated_at: datetime


class LiveUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    live_status: LiveStatus
    current_agenda_item: JsonInt | None = PField(
        default=None, ge=0, description="An index into the meeting's `agenda`."
    )


class LiveState(BaseModel):
    meeting_id: uuid.UUID
    live_status: LiveStatus | None
    current_agenda_item: int | None


class LiveTicketPublic(BaseModel):
    ticket: str = PField(description="Pass as `?ticket=` to the stream; single use.")
    expires_at: datetime


class PresencePublic(BaseModel):
    connected: int = PField(description="Distinct people following the live stream now.")


# --- the personal-data export (app/services/privacy.py) -------------------------------


class ExportLiveQuestion(BaseModel):
    id: uuid.UUID
    meeting_id: uuid.UUID
    body: str
    status: QuestionStatus
    pinned: bool
    likes_count: int
    created_at: datetime


class ExportLiveQuestionLike(BaseModel):
    question_id: uuid.UUID
    created_at: datetime
