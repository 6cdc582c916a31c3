"""Surveys: questionnaires of an organization (optionally of one of its tables).

Anonymity by design: in an `anonymous` survey a response row has no `user_id` and no
time, and its answers carry neither; `survey_participations` records *that* someone
answered (the one-response rule), with nothing linking it to the response. In a named
survey the response keeps `user_id` and `submitted_at`. (As with poll ballots, both rows
are written by one transaction, so someone with raw access to the database's system
columns — `xmin`, physical order — could still pair them; the API, the events, the CSV
and the export never can.)

Answers are stored one row per value, so that results are plain grouped queries:
`single`/`multiple` one row per chosen option (`option_id`), `scale`/`nps` one row
(`value`), `text` one row (`text`), `matrix` one row per answered row (`row_id`,
`value`).
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
    SmallInteger,
    String,
    Text,
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

QuestionKind = Literal["single", "multiple", "scale", "nps", "text", "matrix"]
Audience = Literal["public", "verified", "members"]
SurveyStatus = Literal["upcoming", "open", "closed"]
QUESTION_KINDS = ("single", "multiple", "scale", "nps", "text", "matrix")
MAX_QUESTIONS = 100
MAX_OPTIONS = 50
MAX_ROWS = 50
DEFAULT_TEXT_LENGTH = 2000
MAX_TEXT_LENGTH = 10000


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Survey(SQLModel, table=True):
    __tablename__ = "surveys"
    __table_args__ = (
        # An organization's surveys, newest first (keyset).
        Index("surveys_organization_id_created_at_id_idx", "organization_id", "created_at", "id"),
        CheckConstraint(_one_of("audience", ("public", "verified", "members")), name="audience"),
        CheckConstraint("audience <> 'members' OR table_id IS NOT NULL", name="members_table"),
        CheckConstraint("closes_at > opens_at", name="window"),
        CheckConstraint("responses_count >= 0", name="responses_count"),
    )

    id: uuid.UUID = id_field()
    organization_id: uuid.UUID = fk_field("organizations.id", index=False)
    table_id: uuid.UUID | None = fk_field("participation_tables.id", nullable=True)
    title: TextMap = jsonb_field()
    description: TextMap = jsonb_field()
    opens_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    closes_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    anonymous: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    audience: str = Field(default="public", sa_column=Column(String(16), nullable=False))
    # Whether anyone who may see the survey may read its results once it has closed.
    results_public: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    # Equals the number of participations; bumped in the response's transaction (which
    # also locks the survey row, serializing responses against question edits).
    responses_count: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default="0")
    )
    created_by_id: uuid.UUID | None = fk_field(
        "users.id", nullable=True, ondelete="SET NULL", index=False
    )
    created_at: datetime = created_at_field()
    # Edits only; responses leave it alone (it would date the last response).
    updated_at: datetime = created_at_field()


class SurveyQuestion(SQLModel, table=True):
    __tablename__ = "survey_questions"
    __table_args__ = (
        UniqueConstraint("survey_id", "position"),
        CheckConstraint(_one_of("kind", QUESTION_KINDS), name="kind"),
        CheckConstraint("min_value IS NULL OR max_value > min_value", name="scale_range"),
    )

    id: uuid.UUID = id_field()
    # Indexed by the (survey_id, position) unique constraint.
    survey_id: uuid.UUID = fk_field("surveys.id", index=False)
    position: int = Field(sa_column=Column(SmallInteger, nullable=False))
    kind: QuestionKind = Field(sa_column=Column(String(16), nullable=False))
    text: TextMap = jsonb_field()
    required: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    # multiple: the most options one answer may choose.
    max_choices: int | None = Field(default=None, sa_column=Column(SmallInteger))
    # scale and matrix: the range of values; nps: 0..10.
    min_value: int | None = Field(default=None, sa_column=Column(SmallInteger))
    max_value: int | None = Field(default=None, sa_column=Column(SmallInteger))
    # scale and matrix: labels of values, {"1": {"it": "Per nulla"}, "5": {...}}.
    labels: dict[str, TextMap] = jsonb_field()
    # text: the longest answer accepted, in characters.
    max_length: int | None = Field(default=None, sa_column=Column(Integer))


class SurveyOption(SQLModel, table=True):
    """An option of a `single` or `multiple` question."""

    __tablename__ = "survey_options"
    __table_args__ = (UniqueConstraint("question_id", "position"),)

    id: uuid.UUID = id_field()
    question_id: uuid.UUID = fk_field("survey_questions.id", index=False)
    position: int = Field(sa_column=Column(SmallInteger, nullable=False))
    label: TextMap = jsonb_field()


class SurveyRow(SQLModel, table=True):
    """A row of a `matrix` question, answered on the question's shared scale."""

    __tablename__ = "survey_rows"
    __table_args__ = (UniqueConstraint("question_id", "position"),)

    id: uuid.UUID = id_field()
    question_id: uuid.UUID = fk_field("survey_questions.id", index=False)
    position: int = Field(sa_column=Column(SmallInteger, nullable=False))
    label: TextMap = jsonb_field()


class SurveyParticipation(SQLModel, table=True):
    """That a person has answered a survey — in an anonymous survey, never what."""

    __tablename__ = "survey_participations"

    survey_id: uuid.UUID = Field(
        sa_column=Column(
            UUID(as_uuid=True), ForeignKey("surveys.id", ondelete="CASCADE"), primary_key=True
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


class SurveyResponse(SQLModel, table=True):
    """One person's response. Anonymous surveys: `user_id` and `submitted_at` are null."""

    __tablename__ = "survey_responses"
    __table_args__ = (
        CheckConstraint("(user_id IS NULL) = (submitted_at IS NULL)", name="named_or_anonymous"),
        # Named surveys: one response per person (the participation enforces it too).
        UniqueConstraint("survey_id", "user_id"),
    )

    id: uuid.UUID = id_field()
    # Indexed by the (survey_id, user_id) unique constraint.
    survey_id: uuid.UUID = fk_field("surveys.id", index=False)
    user_id: uuid.UUID | None = fk_field("users.id", nullable=True, ondelete="SET NULL")
    submitted_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )


class SurveyAnswer(SQLModel, table=True):
    """One value of a response (see the module docstring)."""

    __tablename__ = "survey_answers"
    __table_args__ = (
        Index("survey_answers_question_id_option_id_idx", "question_id", "option_id"),
        CheckConstraint(
            "option_id IS NOT NULL OR value IS NOT NULL OR text IS NOT NULL", name="has_value"
        ),
    )

    id: uuid.UUID = id_field()
    response_id: uuid.UUID = fk_field("survey_responses.id")
    # Indexed by (question_id, option_id).
    question_id: uuid.UUID = fk_field("survey_questions.id", index=False)
    option_id: uuid.UUID | None = fk_field("survey_options.id", nullable=True, index=False)
    row_id: uuid.UUID | None = fk_field("survey_rows.id", nullable=True, index=False)
    value: int | None = Field(default=None, sa_column=Column(SmallInteger))
    text: str | None = Field(default=None, sa_column=Column(Text))
    # Set by a moderator on an abusive free-text answer: left out of public results.
    hidden: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default="false")
    )


# --- schemas -------------------------------------------------------------------------

_Locale = Annotated[str, StringConstraints(pattern=LOCALE_PATTERN)]
LongText = dict[
    _Locale, Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
]
ShortText = dict[
    _Locale, Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
]
LabelText = dict[
    _Locale, Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
]


class QuestionCreate(BaseModel):
    """`options` for single/multiple (`max_choices` for multiple, default all); `min`,
    `max` and `labels` for scale and matrix (default 1-5); `rows` for matrix; nps is
    always 0-10; `max_length` for text (default 2000)."""

    model_config = ConfigDict(extra="forbid")

    kind: QuestionKind
    text: ShortText
    required: bool = False
    options: list[LabelText] | None = PField(default=None, max_length=MAX_OPTIONS)
    max_choices: JsonInt | None = PField(default=None, ge=1, le=MAX_OPTIONS)
    min: JsonInt | None = PField(default=None, ge=-100, le=100)
    max: JsonInt | None = PField(default=None, ge=-100, le=100)
    labels: dict[str, LabelText] | None = None
    rows: list[LabelText] | None = PField(default=None, max_length=MAX_ROWS)
    max_length: JsonInt | None = PField(default=None, ge=1, le=MAX_TEXT_LENGTH)


class SurveyCreate(BaseModel):
    """`opens_at` defaults to now; `audience: members` needs `table_id`."""

    model_config = ConfigDict(extra="forbid")

    title: ShortText
    description: LongText = PField(default_factory=dict)
    table_id: uuid.UUID | None = None
    opens_at: Instant | None = None
    closes_at: Instant
    anonymous: bool = False
    audience: Audience = "public"
    results_public: bool = False
    questions: list[QuestionCreate] = PField(min_length=1, max_length=MAX_QUESTIONS)


class SurveyUpdate(BaseModel):
    """Any of these; `questions` replaces every question and only until the first
    response arrives."""

    model_config = ConfigDict(extra="forbid")

    title: ShortText | None = None
    description: LongText | None = None
    opens_at: Instant | None = None
    closes_at: Instant | None = None
    results_public: bool | None = None
    audience: Audience | None = None
    questions: list[QuestionCreate] | None = PField(
        default=None, min_length=1, max_length=MAX_QUESTIONS
    )


class RowAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    row_id: uuid.UUID
    value: JsonInt


class AnswerCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question_id: uuid.UUID
    option_ids: list[uuid.UUID] | None = PField(default=None, max_length=MAX_OPTIONS)
    value: JsonInt | None = None
    text: str | None = PField(default=None, max_length=MAX_TEXT_LENGTH)
    rows: list[RowAnswer] | None = PField(default=None, max_length=MAX_ROWS)


class ResponseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answers: list[AnswerCreate] = PField(max_length=MAX_QUESTIONS)


class ChoicePublic(BaseModel):
    id: uuid.UUID
    position: int
    label: TextMap


class QuestionPublic(BaseModel):
    id: uuid.UUID
    position: int
    kind: QuestionKind
    text: TextMap
    required: bool
    options: list[ChoicePublic]
    max_choices: int | None
    min: int | None
    max: int | None
    labels: dict[str, TextMap]
    rows: list[ChoicePublic]
    max_length: int | None


class SurveyPublic(BaseModel):
    id: uuid.UUID
    organization_id: uuid.UUID
    table_id: uuid.UUID | None
    title: TextMap
    description: TextMap
    opens_at: datetime
    closes_at: datetime
    status: SurveyStatus
    anonymous: bool
    audience: Audience
    results_public: bool
    # Whether the caller may read the results now.
    results_visible: bool
    # True once the first response has arrived: questions can no longer change.
    questions_frozen: bool
    responses_count: int
    # Whether the caller has answered (false when signed out).
    has_responded: bool
    questions: list[QuestionPublic]
    created_at: datetime
    updated_at: datetime


class ResponseReceipt(BaseModel):
    survey_id: uuid.UUID
    # Null for an anonymous survey: nothing identifies the response.
    response_id: uuid.UUID | None
    anonymous: bool
    responses_count: int


class OptionResult(BaseModel):
    option_id: uuid.UUID
    count: int


class ScaleStats(BaseModel):
    # How many responses answered (a question), or rated (a matrix row).
    count: int
    mean: float | None
    median: float | None
    # value (as a string) -> how many answers gave it; every value of the range.
    distribution: dict[str, int]


class RowResult(ScaleStats):
    row_id: uuid.UUID


class TextAnswerPublic(BaseModel):
    id: uuid.UUID
    text: str
    # Only staff see hidden answers (flagged); others never get them.
    hidden: bool


class QuestionResult(ScaleStats):
    question_id: uuid.UUID
    kind: QuestionKind
    # single/multiple.
    options: list[OptionResult] = PField(default_factory=list)
    # nps: % promoters (9-10) - % detractors (0-6), -100…100; null without answers.
    nps: float | None = None
    promoters: int | None = None
    passives: int | None = None
    detractors: int | None = None
    # matrix.
    rows: list[RowResult] = PField(default_factory=list)
    # text: up to 200 answers, in id order (random, not by time); hidden ones for staff.
    texts_count: int | None = None
    texts: list[TextAnswerPublic] = PField(default_factory=list)


class SurveyResults(BaseModel):
    survey_id: uuid.UUID
    status: SurveyStatus
    responses_count: int
    questions: list[QuestionResult]


class AnswerModeration(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hidden: bool


# --- personal data export -------------------------------------------------------------


class ExportSurveyAnswer(BaseModel):
    question_id: uuid.UUID
    option_id: uuid.UUID | None
    row_id: uuid.UUID | None
    value: int | None
    text: str | None


class ExportSurveyParticipation(BaseModel):
    survey_id: uuid.UUID
    organization_id: uuid.UUID
    title: TextMap
    anonymous: bool
    answered_at: datetime
    # Named surveys only: an anonymous survey's answers are linked to nobody, so they
    # cannot be told apart from anyone else's.
    answers: list[ExportSurveyAnswer] | None
