"""Polls of a participation table: single or multiple choice, with an opening window.

Ballots are secret by design: nothing stored links a person to what they chose.
`poll_participations` records *that* someone voted (one row per person: the one-ballot
rule), `poll_options.votes_count` counts *what* was chosen, and the two are written in
the same transaction with no ballot id, per-choice row or timestamp between them.
Options carry no `updated_at` either: the time of an option's last vote, set beside the
time of the last participation, would give away the last voter's choices.
"""

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints
from pydantic import Field as PField
from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlmodel import Field, SQLModel

from app.models.accounts import LOCALE_PATTERN
from app.models.base import (
    Instant,
    JsonInt,
    TextMap,
    created_at_field,
    fk_field,
    id_field,
    jsonb_field,
)

PollKind = Literal["single", "multiple"]
ResultsVisibility = Literal["live", "after_close"]
PollStatus = Literal["upcoming", "open", "closed"]
MIN_OPTIONS = 2
MAX_OPTIONS = 20


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Poll(SQLModel, table=True):
    __tablename__ = "polls"
    __table_args__ = (
        # A table's polls, newest first (keyset).
        Index("polls_table_id_created_at_id_idx", "table_id", "created_at", "id"),
        CheckConstraint(_one_of("kind", ("single", "multiple")), name="kind"),
        CheckConstraint(
            _one_of("results_visibility", ("live", "after_close")), name="results_visibility"
        ),
        CheckConstraint(
            f"max_choices BETWEEN 1 AND {MAX_OPTIONS} AND (kind = 'multiple' OR max_choices = 1)",
            name="max_choices",
        ),
        CheckConstraint("closes_at > opens_at", name="window"),
        CheckConstraint("ballots_count >= 0", name="ballots_count"),
    )

    id: uuid.UUID = id_field()
    # Indexed by (table_id, created_at, id).
    table_id: uuid.UUID = fk_field("participation_tables.id", index=False)
    organization_id: uuid.UUID = fk_field("organizations.id")
    # A poll run live during this meeting (of the same table), if any.
    meeting_id: uuid.UUID | None = fk_field("meetings.id", nullable=True, ondelete="SET NULL")
    question: TextMap = jsonb_field()
    kind: PollKind = Field(default="single", sa_column=Column(String(16), nullable=False))
    # 1 for single choice; the most options one ballot may choose for multiple choice.
    max_choices: int = Field(default=1, sa_column=Column(SmallInteger, nullable=False))
    opens_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    closes_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    results_visibility: ResultsVisibility = Field(
        default="after_close", sa_column=Column(String(16), nullable=False)
    )
    # Equals the number of participations; updated in the ballot's transaction.
    ballots_count: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default="0")
    )
    created_by_id: uuid.UUID | None = fk_field(
        "users.id", nullable=True, ondelete="SET NULL", index=False
    )
    created_at: datetime = created_at_field()
    # Polls are not edited once created; ballots (which bump `ballots_count`) deliberately
    # leave this alone, so it never tells when the last ballot was cast.
    updated_at: datetime = created_at_field()


class PollOption(SQLModel, table=True):
    __tablename__ = "poll_options"
    __table_args__ = (
        UniqueConstraint("poll_id", "position"),
        CheckConstraint("votes_count >= 0", name="votes_count"),
        CheckConstraint("position >= 0", name="position"),
    )

    id: uuid.UUID = id_field()
    # Indexed by the (poll_id, position) unique constraint.
    poll_id: uuid.UUID = fk_field("polls.id", index=False)
    position: int = Field(sa_column=Column(SmallInteger, nullable=False))
    label: TextMap = jsonb_field()
    # How many ballots chose this option: the only record of what was chosen.
    votes_count: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default="0")
    )


class PollParticipation(SQLModel, table=True):
    """That a person has voted in a poll — never what they chose."""

    __tablename__ = "poll_participations"

    poll_id: uuid.UUID = Field(
        sa_column=Column(
            UUID(as_uuid=True), ForeignKey("polls.id", ondelete="CASCADE"), primary_key=True
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


# --- schemas -------------------------------------------------------------------------

_Locale = Annotated[str, StringConstraints(pattern=LOCALE_PATTERN)]
QuestionText = dict[
    _Locale, Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
]
OptionText = dict[
    _Locale, Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
]


def _distinct_options(options: list[dict[str, str]]) -> list[dict[str, str]]:
    # Two options with the same label (in any locale, ignoring case and spacing) would
    # split the votes of people who mean the same thing.
    for locale in {locale for option in options for locale in option}:
        labels = [" ".join(o[locale].split()).casefold() for o in options if locale in o]
        if len(labels) != len(set(labels)):
            raise ValueError(f"two options have the same label in {locale!r}")
    return options


class PollCreate(BaseModel):
    """`max_choices` only for `multiple` (default: every option); `opens_at` defaults to
    now."""

    model_config = ConfigDict(extra="forbid")

    question: QuestionText
    options: Annotated[list[OptionText], AfterValidator(_distinct_options)] = PField(
        min_length=MIN_OPTIONS, max_length=MAX_OPTIONS
    )
    kind: PollKind = "single"
    max_choices: JsonInt | None = PField(default=None, ge=1, le=MAX_OPTIONS)
    opens_at: Instant | None = None
    closes_at: Instant
    results_visibility: ResultsVisibility = "after_close"
    meeting_id: uuid.UUID | None = PField(
        default=None, description="A meeting of the same table, to run the poll live."
    )


class BallotCreate(BaseModel):
    """The options chosen: exactly one for a single-choice poll, 1..max_choices for a
    multiple-choice poll."""

    model_config = ConfigDict(extra="forbid")

    option_ids: list[uuid.UUID] = PField(min_length=1, max_length=MAX_OPTIONS)


class PollOptionPublic(BaseModel):
    id: uuid.UUID
    position: int
    label: TextMap
    # Null while the results are not visible to the caller.
    votes_count: int | None


class PollPublic(BaseModel):
    id: uuid.UUID
    organization_id: uuid.UUID
    table_id: uuid.UUID
    meeting_id: uuid.UUID | None = None
    question: TextMap
    kind: PollKind
    max_choices: int
    options: list[PollOptionPublic]
    opens_at: datetime
    closes_at: datetime
    status: PollStatus
    results_visibility: ResultsVisibility
    # Whether `votes_count` is filled in for the caller.
    results_visible: bool
    ballots_count: int
    # Whether the caller has cast a ballot (false when signed out).
    has_voted: bool
    created_at: datetime
    updated_at: datetime
