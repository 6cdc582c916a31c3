"""Comments on proposals, meetings, plan nodes and polls: threads, alignment and votes.

A comment names its target polymorphically (`target_type`, `target_id`); its visibility
is the target's (see `app/services/comments/targets.py: resolve_comment_target`). Threads go down
to depth 3: a root has depth 0, `root_id` is its own id, and every reply carries the
root's id so a page of roots loads its whole sub-threads in one query.
"""

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, StringConstraints
from pydantic import Field as PField
from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlmodel import Field, SQLModel

from app.models.base import (
    created_at_field,
    fk_field,
    id_field,
    integer_only,
    timestamp_field,
    updated_at_field,
)

CommentTargetType = Literal["proposal", "meeting", "plan_node", "poll", "budget_project"]
COMMENT_TARGET_TYPES: tuple[str, ...] = (
    "proposal",
    "meeting",
    "plan_node",
    "poll",
    "budget_project",
)
Alignment = Literal["in_favor", "against", "neutral"]
ALIGNMENTS: tuple[str, ...] = ("in_favor", "against", "neutral")
# `visible`; `hidden` (taken down by reports or a moderator); `pending` (held for approval).
COMMENT_STATUSES: tuple[str, ...] = ("visible", "hidden", "pending")
CommentStatus = Literal["visible", "hidden", "pending"]
CommentOrder = Literal["oldest", "recent", "best"]
MAX_DEPTH = 3
BODY_MAX = 5_000


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _counter() -> Any:
    return Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))


class Comment(SQLModel, table=True):
    __tablename__ = "comments"
    __table_args__ = (
        # A target's roots in order, and the keyset pages over them.
        Index("comments_target_idx", "target_type", "target_id", "created_at", "id"),
        CheckConstraint(_one_of("target_type", COMMENT_TARGET_TYPES), name="target_type"),
        CheckConstraint(_one_of("alignment", ALIGNMENTS), name="alignment"),
        CheckConstraint(_one_of("status", COMMENT_STATUSES), name="status"),
        CheckConstraint(f"depth BETWEEN 0 AND {MAX_DEPTH}", name="depth"),
        CheckConstraint(
            "(depth = 0 AND parent_id IS NULL AND root_id = id) "
            "OR (depth > 0 AND parent_id IS NOT NULL AND root_id <> id)",
            name="thread",
        ),
        CheckConstraint("upvotes >= 0 AND downvotes >= 0", name="votes"),
        CheckConstraint("body IS NOT NULL OR deleted_at IS NOT NULL", name="body"),
    )

    id: uuid.UUID = id_field()
    target_type: CommentTargetType = Field(sa_column=Column(String(16), nullable=False))
    # No foreign key: the target lives in one of five tables (see target_type).
    target_id: uuid.UUID = Field(sa_column=Column(UUID(as_uuid=True), nullable=False))
    organization_id: uuid.UUID = fk_field("organizations.id")
    # The participation table the target belongs to (none for plan nodes).
    table_id: uuid.UUID | None = fk_field("participation_tables.id", nullable=True)
    # Null once the account is gone; account deletion otherwise anonymizes the author.
    author_id: uuid.UUID | None = fk_field("users.id", nullable=True, ondelete="SET NULL")
    parent_id: uuid.UUID | None = fk_field("comments.id", nullable=True)
    # The thread's root (a root's own id): a page of roots loads its replies at once.
    root_id: uuid.UUID = Field(
        sa_column=Column(
            UUID(as_uuid=True),
            ForeignKey("comments.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )
    )
    depth: int = Field(default=0, sa_column=Column(SmallInteger, nullable=False))
    alignment: str = Field(default="neutral", sa_column=Column(String(16), nullable=False))
    # Erased (null) when the author deletes the comment; the thread keeps its place.
    body: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    upvotes: int = _counter()
    downvotes: int = _counter()
    status: CommentStatus = Field(
        default="visible",
        sa_column=Column(String(16), nullable=False, server_default="visible"),
    )
    edited_at: datetime | None = timestamp_field()
    deleted_at: datetime | None = timestamp_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class CommentVote(SQLModel, table=True):
    """One person's up (+1) or down (-1) vote on a comment; the comment's `upvotes` and
    `downvotes` counters always equal the counts of these rows."""

    __tablename__ = "comment_votes"
    __table_args__ = (CheckConstraint("value IN (-1, 1)", name="value"),)

    comment_id: uuid.UUID = Field(
        sa_column=Column(
            UUID(as_uuid=True),
            ForeignKey("comments.id", ondelete="CASCADE"),
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
    value: int = Field(sa_column=Column(SmallInteger, nullable=False))
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


# --- schemas -------------------------------------------------------------------------

CommentBody = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=BODY_MAX)
]


class CommentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: CommentBody
    alignment: Alignment = "neutral"
    parent_id: uuid.UUID | None = None


class CommentUpdate(BaseModel):
    """The author's edit: the text and/or the alignment."""

    model_config = ConfigDict(extra="forbid")

    body: CommentBody | None = None
    alignment: Alignment | None = None


class CommentVotePut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: Annotated[Literal[1, -1], BeforeValidator(integer_only)]


class CommentAuthor(BaseModel):
    id: uuid.UUID
    display_name: str


class CommentPublic(BaseModel):
    """A comment. In lists, roots carry their sub-threads in `replies` (oldest first);
    a deleted comment keeps its place with `body`, `author` null and `deleted` true.

    A comment that is not visible (`moderation_status` hidden, or pending approval) is
    shown in full only to its author and its moderators; to everyone else it is a
    placeholder that keeps its place in the thread (`body` and `author` null), and a
    pending one that no one has answered yet is not listed at all."""

    id: uuid.UUID
    target_type: CommentTargetType
    target_id: uuid.UUID
    parent_id: uuid.UUID | None
    depth: int
    alignment: Alignment
    body: str | None
    author: CommentAuthor | None
    upvotes: int
    downvotes: int
    my_vote: Literal[1, -1] | None
    edited: bool
    edited_at: datetime | None
    deleted: bool
    moderation_status: CommentStatus = PField(
        default="visible",
        description="visible; hidden (by reports or a moderator); pending (awaiting a "
        "moderator's approval: not shown to others yet).",
    )
    replies_locked: bool = PField(
        default=False,
        description="On root comments in lists: the moderators locked this thread, replies "
        "are refused (409 thread_locked).",
    )
    created_at: datetime
    updated_at: datetime
    replies: list["CommentPublic"] = []
