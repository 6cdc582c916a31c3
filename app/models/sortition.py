"""Sortition of a table's members: the table's configuration (features, quotas, window,
seed), the applications, and the draws with their stored inputs and results.

A draw stores everything it was computed from (`inputs`: quotas, number to select,
algorithm, seed and one anonymous row per applicant keyed by the application's id) with
its SHA-256 (`inputs_hash`) and the library's version, so that anyone holding the inputs
can run it again and get the same panel (`app/services/sortition/compute.py`)."""

import re
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    StrictBool,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic import Field as PField
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from app.models.base import (
    JsonInt,
    JsonNumber,
    created_at_field,
    fk_field,
    id_field,
    jsonb_field,
    timestamp_field,
    updated_at_field,
)
from app.models.tables import link_key, one_of

FeatureSource = Literal["declared", "age", "municipality"]
SortitionAlgorithm = Literal["maximin", "nash", "leximin", "legacy"]
DrawStatus = Literal["queued", "running", "done", "failed"]
DRAW_STATUSES: tuple[str, ...] = ("queued", "running", "done", "failed")
ApplicationStatus = Literal["applied", "selected", "reserve", "not_selected"]
# The library's seeded generator treats 0 as "no seed" (it then uses `secrets`).
MAX_SEED = 2**31 - 1

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_Name = Annotated[str, StringConstraints(pattern=_NAME.pattern)]
_Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class SortitionConfig(SQLModel, table=True):
    """A table's sortition: one row per table whose membership policy is `sortition`."""

    __tablename__ = "sortition_configs"
    __table_args__ = (
        CheckConstraint(
            one_of("algorithm", ("maximin", "nash", "leximin", "legacy")), name="algorithm"
        ),
        CheckConstraint("number_to_select > 0", name="number_to_select"),
    )

    table_id: uuid.UUID = link_key("participation_tables.id")
    features: list[dict[str, Any]] = jsonb_field(default=[])
    number_to_select: int = Field(sa_column=Column(Integer, nullable=False))
    applications_open_at: datetime | None = timestamp_field()
    applications_close_at: datetime | None = timestamp_field()
    algorithm: str = Field(default="maximin", sa_column=Column(String(16), nullable=False))
    seed: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    seed_source: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # When the current seed was published (set or changed): a draw needs one set before it.
    seed_published_at: datetime | None = timestamp_field()
    check_same_address: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default="false")
    )
    updated_by_id: uuid.UUID | None = fk_field(
        "users.id", nullable=True, ondelete="SET NULL", index=False
    )
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class SortitionApplication(SQLModel, table=True):
    """One person's application: the values of the table's features (declared, or taken
    from the profile when applying) and, for the household check, a keyed hash of their
    address (never the address)."""

    __tablename__ = "sortition_applications"
    __table_args__ = (UniqueConstraint("table_id", "user_id"),)

    id: uuid.UUID = id_field()
    table_id: uuid.UUID = fk_field("participation_tables.id", index=False)
    user_id: uuid.UUID = fk_field("users.id")
    features: dict[str, str] = jsonb_field()
    household_hash: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class SortitionDraw(SQLModel, table=True):
    """A draw, queued by a facilitator and run by the worker."""

    __tablename__ = "sortition_draws"
    __table_args__ = (
        CheckConstraint(one_of("status", DRAW_STATUSES), name="status"),
        Index("sortition_draws_table_id_idx", "table_id", "created_at"),
        # One standing result per table.
        Index(
            "sortition_draws_one_done_idx",
            "table_id",
            unique=True,
            postgresql_where="status = 'done'",
        ),
        Index(
            "sortition_draws_due_idx",
            "created_at",
            postgresql_where="status IN ('queued', 'running')",
        ),
    )

    id: uuid.UUID = id_field()
    table_id: uuid.UUID = fk_field("participation_tables.id", index=False)
    status: DrawStatus = Field(default="queued", sa_column=Column(String(16), nullable=False))
    algorithm: str = Field(sa_column=Column(String(16), nullable=False))
    seed: int = Field(sa_column=Column(BigInteger, nullable=False))
    seed_source: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    number_to_select: int = Field(sa_column=Column(Integer, nullable=False))
    applicants_count: int = Field(sa_column=Column(Integer, nullable=False))
    inputs: dict[str, Any] = jsonb_field()
    inputs_hash: str = Field(sa_column=Column(String(64), nullable=False))
    library_version: str = Field(sa_column=Column(String(32), nullable=False))
    progress: dict[str, Any] = jsonb_field()
    error: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    # Application ids: the panel as drawn, then as replacements changed it.
    drawn: list[str] = jsonb_field(default=[])
    panel: list[str] = jsonb_field(default=[])
    reserve: list[str] = jsonb_field(default=[])
    marginals: dict[str, float] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    replacements: list[dict[str, Any]] = jsonb_field(default=[])
    committees_count: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    requested_by_id: uuid.UUID | None = fk_field(
        "users.id", nullable=True, ondelete="SET NULL", index=False
    )
    claimed_by: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    heartbeat_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    started_at: datetime | None = timestamp_field()
    finished_at: datetime | None = timestamp_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


# --- schemas -------------------------------------------------------------------------


class QuotaValue(BaseModel):
    """One value of a feature and its quota: `min`/`max` people on the panel, or a
    population `share` (0-1), which becomes min = ⌊share·n⌋, max = ⌈share·n⌉."""

    model_config = ConfigDict(extra="forbid")

    value: _Name
    label: _Label | None = None
    min: JsonInt | None = PField(default=None, ge=0, le=1000)
    max: JsonInt | None = PField(default=None, ge=0, le=1000)
    share: JsonNumber | None = PField(default=None, ge=0, le=1)
    age_from: JsonInt | None = PField(
        default=None, ge=0, le=120, description="`age` features: first age of the band."
    )
    age_to: JsonInt | None = PField(
        default=None, ge=0, le=120, description="`age` features: last age of the band."
    )
    municipality_ids: list[uuid.UUID] = PField(
        default_factory=list,
        max_length=500,
        description="`municipality` features: the municipalities of residence of this value.",
    )

    @model_validator(mode="after")
    def _quota(self) -> "QuotaValue":
        if self.share is not None and (self.min is not None or self.max is not None):
            raise ValueError("give min/max or share, not both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min must not exceed max")
        return self


class SortitionFeature(BaseModel):
    """A feature of the applicants (e.g. gender, age band, municipality, occupation).
    `declared`: the applicant picks a value; `age` and `municipality`: taken from the
    profile (birth date, municipality of residence) when applying."""

    model_config = ConfigDict(extra="forbid")

    name: _Name
    label: _Label | None = None
    source: FeatureSource = "declared"
    values: list[QuotaValue] = PField(min_length=1, max_length=50)


class SortitionConfigIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    features: list[SortitionFeature] = PField(min_length=1, max_length=10)
    number_to_select: JsonInt = PField(ge=1, le=1000)
    applications_open_at: datetime | None = None
    applications_close_at: datetime | None = None
    algorithm: SortitionAlgorithm = PField(
        default="maximin",
        description="maximin (default), nash, leximin (needs Gurobi: refused when it is not "
        "installed) or legacy (no selection probabilities).",
    )
    seed: JsonInt | None = PField(
        default=None,
        ge=1,
        le=MAX_SEED,
        description="The random seed, published with the configuration before the draw.",
    )
    seed_source: str | None = PField(
        default=None,
        max_length=500,
        description="Where the seed comes from, e.g. a public lottery draw of a future date "
        "(set `seed` once it is known).",
    )
    check_same_address: StrictBool = PField(
        default=False, description="At most one person per household on the panel."
    )


class SortitionConfigPublic(SortitionConfigIn):
    table_id: uuid.UUID
    seed_published_at: datetime | None
    applications_count: int
    window_open: bool
    drawn: bool
    updated_at: datetime


class ApplicationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    features: dict[str, _Name] = PField(
        default_factory=dict,
        max_length=10,
        description="Values of the table's `declared` features; `age` and `municipality` "
        "ones come from your profile.",
    )
    household: str | None = PField(
        default=None,
        min_length=3,
        max_length=300,
        description="Your address, when the table checks households: only a keyed hash "
        "of it is stored.",
    )

    @field_validator("features")
    @classmethod
    def _feature_names(cls, features: dict[str, str]) -> dict[str, str]:
        # Keys checked here, not in the type: a pattern on keys becomes
        # `patternProperties`, which generated clients cannot type.
        for name in features:
            if not _NAME.fullmatch(name):
                raise ValueError(f"feature names match {_NAME.pattern}")
        return features


class ApplicationPublic(BaseModel):
    """The caller's own application (nobody else sees it)."""

    table_id: uuid.UUID
    features: dict[str, str]
    household_given: bool
    status: ApplicationStatus
    reserve_rank: int | None = PField(description="Place on the reserve list (1: first).")
    selection_probability: float | None = PField(
        description="Your probability of being selected under the draw's algorithm (its "
        "marginal); null before the draw and for the legacy algorithm."
    )
    draw_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class FeasibilityReport(BaseModel):
    feasible: bool
    applicants_count: int
    number_to_select: int


class DrawProgress(BaseModel):
    phase: str | None = None
    current: int | None = None
    total: int | None = None
    message: str | None = None


class DrawPublic(BaseModel):
    """A draw, without identities: counts, the seed and the fingerprint of its inputs."""

    id: uuid.UUID
    table_id: uuid.UUID
    status: DrawStatus
    algorithm: SortitionAlgorithm
    seed: int
    seed_source: str | None
    number_to_select: int
    applicants_count: int
    inputs_hash: str = PField(description="SHA-256 of the canonical JSON of the inputs.")
    library_version: str
    progress: DrawProgress
    error: dict[str, Any] | None
    committees_count: int | None = PField(
        description="Panels in the algorithm's distribution (the lottery draws one)."
    )
    selected_count: int
    reserve_count: int
    replacements_count: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class ReplacementIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: uuid.UUID = PField(description="The selected member who leaves the panel.")


class ReplacementPublic(BaseModel):
    draw_id: uuid.UUID
    replaced_user_id: uuid.UUID
    replacement_user_id: uuid.UUID
    reserve_rank: int


class CompositionValue(BaseModel):
    value: str
    label: str | None
    min: int
    max: int
    applicants: int
    selected: int


class CompositionFeature(BaseModel):
    name: str
    label: str | None
    values: list[CompositionValue]


class Composition(BaseModel):
    """Aggregate counts only: how many applied and how many sit on the panel, per value,
    against the quotas."""

    table_id: uuid.UUID
    number_to_select: int
    applicants_count: int
    selected_count: int
    draw_id: uuid.UUID | None
    features: list[CompositionFeature]
