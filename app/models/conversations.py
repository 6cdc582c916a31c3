"""Conversations of a table: short statements, agree/disagree/pass votes, opinion maps.

Secrecy: a vote row links a person to a statement; nothing but the person's own view
reads it by person. The map stores no identities: participants are positions, and the
caller's own position is found through a keyed hash (`pseudonym_key`, random per
conversation, never shown) of their id.
"""

import secrets
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

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
    LargeBinary,
    SmallInteger,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlmodel import Field, SQLModel

from app.models.base import JsonInt, created_at_field, fk_field, id_field, updated_at_field

ConversationStatus = Literal["open", "closed"]
StatementStatus = Literal["pending", "visible", "hidden"]
STATEMENT_STATUSES: tuple[str, ...] = ("pending", "visible", "hidden")
VoteChoice = Literal["agree", "disagree", "pass"]
# The value stored (and given to red-dwarf): Polis's agree = 1, disagree = -1, pass = 0.
VOTE_VALUES: dict[str, int] = {"agree": 1, "disagree": -1, "pass": 0}
VOTE_NAMES: dict[int, VoteChoice] = {1: "agree", -1: "disagree", 0: "pass"}
STATEMENT_MAX = 280
TITLE_MAX = 200
DESCRIPTION_MAX = 4000


class Conversation(SQLModel, table=True):
    """A question put to a table, on which participants write and vote statements."""

    __tablename__ = "conversations"
    __table_args__ = (
        Index("conversations_table_id_created_at_id_idx", "table_id", "created_at", "id"),
        # The worker's look-up of maps to recompute.
        Index("conversations_map_dirty_idx", "id", postgresql_where=text("map_dirty")),
        CheckConstraint("status IN ('open', 'closed')", name="status"),
    )

    id: uuid.UUID = id_field()
    organization_id: uuid.UUID = fk_field("organizations.id")
    table_id: uuid.UUID = fk_field("participation_tables.id", index=False)
    created_by_id: uuid.UUID | None = fk_field("users.id", nullable=True, ondelete="SET NULL")
    title: str = Field(sa_column=Column(String(TITLE_MAX), nullable=False))
    description: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    status: ConversationStatus = Field(
        default="open", sa_column=Column(String(16), nullable=False, server_default="open")
    )
    # Participants may add statements (else only the facilitators seed them).
    participant_statements: bool = Field(
        default=True, sa_column=Column(Boolean, nullable=False, server_default="true")
    )
    # Votes or statements changed since the stored map was computed (set by every vote's
    # transaction, cleared by the worker before it reads the votes).
    map_dirty: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default="false")
    )
    # The key of the participants' keyed hashes (HMAC-SHA256); random, never shown.
    pseudonym_key: bytes = Field(
        default_factory=lambda: secrets.token_bytes(32),
        sa_column=Column(LargeBinary, nullable=False),
    )
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class ConversationStatement(SQLModel, table=True):
    """A short statement of a conversation; counts equal its votes' rows."""

    __tablename__ = "conversation_statements"
    __table_args__ = (
        Index(
            "conversation_statements_conversation_created_idx",
            "conversation_id",
            "created_at",
            "id",
        ),
        CheckConstraint("status IN ('pending', 'visible', 'hidden')", name="status"),
        CheckConstraint(
            "agree_count >= 0 AND disagree_count >= 0 AND pass_count >= 0", name="counts"
        ),
    )

    id: uuid.UUID = id_field()
    conversation_id: uuid.UUID = fk_field("conversations.id", index=False)
    organization_id: uuid.UUID = fk_field("organizations.id")
    table_id: uuid.UUID = fk_field("participation_tables.id")
    # Null once the account is erased; the statement stays, authorless.
    author_id: uuid.UUID | None = fk_field("users.id", nullable=True, ondelete="SET NULL")
    body: str = Field(sa_column=Column(String(STATEMENT_MAX), nullable=False))
    status: StatementStatus = Field(
        default="visible", sa_column=Column(String(16), nullable=False, server_default="visible")
    )
    agree_count: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default="0")
    )
    disagree_count: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default="0")
    )
    pass_count: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default="0")
    )
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class ConversationVote(SQLModel, table=True):
    """One person's vote on one statement (the key makes it one per person)."""

    __tablename__ = "conversation_votes"
    __table_args__ = (
        CheckConstraint("vote IN (-1, 0, 1)", name="vote"),
        Index("conversation_votes_conversation_id_idx", "conversation_id"),
        Index("conversation_votes_user_id_conversation_id_idx", "user_id", "conversation_id"),
    )

    statement_id: uuid.UUID = Field(
        sa_column=Column(
            UUID(as_uuid=True),
            ForeignKey("conversation_statements.id", ondelete="CASCADE"),
            primary_key=True,
        )
    )
    user_id: uuid.UUID = Field(
        sa_column=Column(
            UUID(as_uuid=True),
            ForeignKey("users.id", ondelete="CASCADE"),
            primary_key=True,
        )
    )
    conversation_id: uuid.UUID = fk_field("conversations.id", index=False)
    vote: int = Field(sa_column=Column(SmallInteger, nullable=False))
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class ConversationMap(SQLModel, table=True):
    """The stored opinion map of a conversation, as the worker last computed it."""

    __tablename__ = "conversation_maps"

    conversation_id: uuid.UUID = Field(
        sa_column=Column(
            UUID(as_uuid=True),
            ForeignKey("conversations.id", ondelete="CASCADE"),
            primary_key=True,
        )
    )
    # The votes as of this time (the reading transaction's start).
    data_as_of: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    computed_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    computation_ms: int = Field(sa_column=Column(Integer, nullable=False))
    votes_count: int = Field(sa_column=Column(Integer, nullable=False))
    # Groups, statements' ids and participants' positions; `keys` (keyed hash → index)
    # finds a caller's own position and never leaves the server.
    result: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))


# --- schemas -------------------------------------------------------------------------

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=TITLE_MAX)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=DESCRIPTION_MAX)]
StatementBody = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=STATEMENT_MAX)
]


class ConversationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    description: Description | None = None
    participant_statements: bool = True


class ConversationUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    description: Description | None = None
    participant_statements: bool | None = None
    status: ConversationStatus | None = None


class ConversationPublic(BaseModel):
    id: uuid.UUID
    organization_id: uuid.UUID
    table_id: uuid.UUID
    title: str
    description: str | None
    status: ConversationStatus
    participant_statements: bool
    statements_count: int = PField(description="Visible statements.")
    votes_count: int = PField(description="Votes on visible statements.")
    created_at: datetime
    updated_at: datetime


class StatementCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: StatementBody


class StatementPublic(BaseModel):
    id: uuid.UUID
    conversation_id: uuid.UUID
    body: str
    status: StatementStatus
    agree_count: int
    disagree_count: int
    pass_count: int
    mine: bool = PField(default=False, description="You wrote it.")
    my_vote: VoteChoice | None = PField(default=None, description="Your vote, if any.")
    created_at: datetime


class NextStatement(BaseModel):
    statement: StatementPublic | None = PField(
        description="A visible statement you have not voted on yet; null when none is left."
    )
    remaining: int = PField(description="Visible statements you have not voted on yet.")


class VoteCast(BaseModel):
    model_config = ConfigDict(extra="forbid")

    vote: VoteChoice


class MapStatement(BaseModel):
    statement_id: uuid.UUID
    body: str
    direction: Literal["agree", "disagree"]
    share: float = PField(description="Share of the group (or of everyone) voting that way.")
    votes: int = PField(description="Votes on it in the group (or in all).")


class MapGroup(BaseModel):
    id: JsonInt
    size: int
    center: tuple[float, float]
    representative: list[MapStatement]


class MapInformedConsensus(BaseModel):
    statement_id: uuid.UUID
    body: str
    agree: float = PField(
        description="Group-informed consensus: the product of each group's probability of agreeing."
    )


class MapPosition(BaseModel):
    x: float
    y: float
    group: int | None


class MapConsensus(BaseModel):
    agree: list[MapStatement]
    disagree: list[MapStatement]


class ConversationMapPublic(BaseModel):
    conversation_id: uuid.UUID
    state: Literal["none", "ready", "too_few_votes"] = PField(
        description="`none` before the first computation; `too_few_votes` until enough "
        "people voted on enough statements to draw groups."
    )
    computed_at: datetime | None
    computation_ms: int | None
    votes_count: int = PField(description="Votes the map was computed from.")
    participants_count: int = PField(description="Participants placed on the map.")
    outdated: bool = PField(description="Votes changed since; a new map is on its way.")
    groups: list[MapGroup]
    consensus: MapConsensus
    group_informed_consensus: list[MapInformedConsensus]
    participants: list[MapPosition] = PField(
        description="Every placed participant's anonymous position, in no meaningful order."
    )
    you: MapPosition | None = PField(description="Your own position and group (signed in).")


class ExportStatement(BaseModel):
    id: uuid.UUID
    conversation_id: uuid.UUID
    body: str
    status: StatementStatus
    created_at: datetime


class ExportConversationVote(BaseModel):
    statement_id: uuid.UUID
    conversation_id: uuid.UUID
    vote: VoteChoice
    updated_at: datetime
