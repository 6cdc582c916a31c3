"""Strategic plans: the plan, its phases, its tree of nodes, and the monitoring indicators
(with their dated measurements) attached to nodes.

Nodes are never deleted: a node that leaves the plan (on re-import) is archived, so the
proposals, tables and meetings linked to it keep a valid target.
"""

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints
from pydantic import Field as PField
from sqlalchemy import (
    CheckConstraint,
    Column,
    Date,
    Double,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

from app.models.accounts import LOCALE_PATTERN
from app.models.base import (
    Day,
    TextMap,
    created_at_field,
    fk_field,
    id_field,
    jsonb_field,
    timestamp_field,
    updated_at_field,
)
from app.models.budget_schemas import NodeBudgetProject

PlanStatus = Literal["draft", "consultation", "approved", "implementation", "archived"]
PLAN_STATUSES: tuple[str, ...] = ("draft", "consultation", "approved", "implementation", "archived")
Direction = Literal["increase", "decrease"]

# Bounds shared by the import document checks and the request schemas.
TITLE_MAX = 500
SUMMARY_MAX = 5_000
DESCRIPTION_MAX = 50_000
RESULT_MAX = 5_000
KIND_MAX = 32
CODE_MAX = 32
MAX_DEPTH = 10
MAX_NODES = 5_000
# Positions are written zero-padded into `sort_path`, so siblings stay below this.
POSITION_WIDTH = 4


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _version_field() -> Any:
    return Field(default=1, sa_column=Column(Integer, nullable=False, server_default="1"))


class Plan(SQLModel, table=True):
    __tablename__ = "plans"
    __table_args__ = (
        UniqueConstraint("organization_id", "slug"),
        CheckConstraint(_one_of("status", PLAN_STATUSES), name="status"),
        CheckConstraint(
            "period_start IS NULL OR period_end IS NULL OR period_end >= period_start",
            name="period",
        ),
    )

    id: uuid.UUID = id_field()
    # Indexed by the (organization_id, slug) unique constraint.
    organization_id: uuid.UUID = fk_field("organizations.id", index=False)
    slug: str = Field(sa_column=Column(String(63), nullable=False))
    title: TextMap = jsonb_field()
    summary: TextMap = jsonb_field()
    status: PlanStatus = Field(default="draft", sa_column=Column(String(16), nullable=False))
    approved_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    period_start: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    period_end: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    # How the plan names its levels, from the root down (e.g. ["axis", "objective"]).
    levels: list[str] = jsonb_field(default=[])
    # Bumped on every change: the ETag of GET/PATCH /v1/plans/{id}.
    version: int = _version_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class PlanPhase(SQLModel, table=True):
    __tablename__ = "plan_phases"
    __table_args__ = (CheckConstraint("ends_on >= starts_on", name="dates"),)

    id: uuid.UUID = id_field()
    plan_id: uuid.UUID = fk_field("plans.id")
    position: int = Field(sa_column=Column(SmallInteger, nullable=False))
    name: TextMap = jsonb_field()
    starts_on: date = Field(sa_column=Column(Date, nullable=False))
    ends_on: date = Field(sa_column=Column(Date, nullable=False))
    created_at: datetime = created_at_field()


class PlanNode(SQLModel, table=True):
    __tablename__ = "plan_nodes"
    __table_args__ = (
        UniqueConstraint("plan_id", "code"),
        # The flat list, in document order.
        Index("plan_nodes_plan_id_sort_path_idx", "plan_id", "sort_path"),
        CheckConstraint("position >= 0", name="position"),
        CheckConstraint("parent_id IS NULL OR parent_id <> id", name="parent"),
    )

    id: uuid.UUID = id_field()
    # Indexed by the (plan_id, code) unique constraint.
    plan_id: uuid.UUID = fk_field("plans.id", index=False)
    organization_id: uuid.UUID = fk_field("organizations.id")
    parent_id: uuid.UUID | None = fk_field("plan_nodes.id", nullable=True)
    # Unique within the plan; how a re-import recognises the node.
    code: str = Field(sa_column=Column(String(CODE_MAX), nullable=False))
    # Free vocabulary: axis, mission, objective, driver, strategy, theme, project…
    kind: str = Field(sa_column=Column(String(KIND_MAX), nullable=False))
    title: TextMap = jsonb_field()
    summary: TextMap = jsonb_field()
    description: TextMap = jsonb_field()
    expected_results: list[TextMap] = jsonb_field(default=[])
    # Index among its siblings, from 0.
    position: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    depth: int = Field(default=0, sa_column=Column(SmallInteger, nullable=False))
    # Zero-padded positions from the root ("0002.0000"): orders a flat list like the
    # document (depth first), with keyset pagination on (sort_path, id).
    sort_path: str = Field(sa_column=Column(String(64), nullable=False))
    # Set when the node left the plan; archived nodes stay for what links to them.
    archived_at: datetime | None = timestamp_field()
    version: int = _version_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class Indicator(SQLModel, table=True):
    """A monitoring indicator of a node: from a baseline towards a target."""

    __tablename__ = "indicators"
    __table_args__ = (
        CheckConstraint(_one_of("direction", ("increase", "decrease")), name="direction"),
        CheckConstraint(
            "(direction = 'increase' AND target_value > baseline_value) OR "
            "(direction = 'decrease' AND target_value < baseline_value)",
            name="target",
        ),
        CheckConstraint("target_date >= baseline_date", name="dates"),
        CheckConstraint("weight IS NULL OR weight > 0", name="weight"),
    )

    id: uuid.UUID = id_field()
    node_id: uuid.UUID = fk_field("plan_nodes.id")
    # Denormalised from the node: the progress report loads a plan's indicators at once.
    plan_id: uuid.UUID = fk_field("plans.id")
    organization_id: uuid.UUID = fk_field("organizations.id")
    name: TextMap = jsonb_field()
    unit: str = Field(sa_column=Column(String(32), nullable=False))
    direction: str = Field(sa_column=Column(String(8), nullable=False))
    baseline_value: float = Field(sa_column=Column(Double, nullable=False))
    baseline_date: date = Field(sa_column=Column(Date, nullable=False))
    target_value: float = Field(sa_column=Column(Double, nullable=False))
    target_date: date = Field(sa_column=Column(Date, nullable=False))
    weight: float | None = Field(default=None, sa_column=Column(Double, nullable=True))
    created_by_id: uuid.UUID | None = fk_field(
        "users.id", nullable=True, ondelete="SET NULL", index=False
    )
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class Measurement(SQLModel, table=True):
    """A measured value of an indicator on a date; the latest one (by `measured_on`, then
    by when it was recorded) is the indicator's current value."""

    __tablename__ = "indicator_measurements"
    __table_args__ = (
        # Latest measurement per indicator (DISTINCT ON) and the newest-first list.
        Index(
            "indicator_measurements_latest_idx",
            "indicator_id",
            text("measured_on DESC"),
            text("created_at DESC"),
            text("id DESC"),
        ),
    )

    id: uuid.UUID = id_field()
    # Indexed by indicator_measurements_latest_idx.
    indicator_id: uuid.UUID = fk_field("indicators.id", index=False)
    value: float = Field(sa_column=Column(Double, nullable=False))
    measured_on: date = Field(sa_column=Column(Date, nullable=False))
    source: str | None = Field(default=None, sa_column=Column(String(500), nullable=True))
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    recorded_by_id: uuid.UUID | None = fk_field(
        "users.id", nullable=True, ondelete="SET NULL", index=False
    )
    created_at: datetime = created_at_field()


# --- schemas -------------------------------------------------------------------------

Locale = Annotated[str, StringConstraints(pattern=LOCALE_PATTERN)]


# Translatable text: {"it": "...", "en": "..."}; services require the default locale.
TitleText = dict[
    Locale,
    Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=TITLE_MAX)],
]
SummaryText = dict[
    Locale,
    Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=SUMMARY_MAX)],
]
DescriptionText = dict[
    Locale,
    Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=DESCRIPTION_MAX)
    ],
]
ResultText = dict[
    Locale,
    Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=RESULT_MAX)],
]
Kind = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=KIND_MAX)]


class PhaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: TitleText
    starts_on: Day
    ends_on: Day


class PlanUpdate(BaseModel):
    """Only the fields sent change. `null` clears `approved_on`, `period_start`,
    `period_end`; `phases` replaces the whole list. The slug is the plan's identity for
    re-imports and cannot change."""

    model_config = ConfigDict(extra="forbid")

    title: TitleText | None = None
    summary: SummaryText | None = None
    status: PlanStatus | None = None
    approved_on: Day | None = None
    period_start: Day | None = None
    period_end: Day | None = None
    levels: list[Kind] | None = PField(default=None, max_length=MAX_DEPTH)
    phases: list[PhaseIn] | None = PField(default=None, max_length=50)


class PhasePublic(BaseModel):
    id: uuid.UUID
    position: int
    name: TextMap
    starts_on: date
    ends_on: date
    is_current: bool


class PlanSummary(BaseModel):
    id: uuid.UUID
    organization_id: uuid.UUID
    slug: str
    title: TextMap
    summary: TextMap
    status: PlanStatus
    approved_on: date | None
    period_start: date | None
    period_end: date | None
    levels: list[str]
    nodes_count: int
    created_at: datetime
    updated_at: datetime


class PlanPublic(PlanSummary):
    phases: list[PhasePublic]
    current_phase: PhasePublic | None = PField(
        description="The phase whose dates include today in Europe/Rome, if any."
    )
    indicators_count: int
    version: int


class NodeUpdate(BaseModel):
    """Content only: the tree's shape (parent, position) and the codes come from the
    plan document and change by re-importing it."""

    model_config = ConfigDict(extra="forbid")

    kind: Kind | None = None
    title: TitleText | None = None
    summary: SummaryText | None = None
    description: DescriptionText | None = None
    expected_results: list[ResultText] | None = PField(default=None, max_length=100)


class NodeRef(BaseModel):
    id: uuid.UUID
    code: str
    kind: str
    title: TextMap


class NodeItem(BaseModel):
    id: uuid.UUID
    plan_id: uuid.UUID
    organization_id: uuid.UUID
    parent_id: uuid.UUID | None
    code: str
    kind: str
    title: TextMap
    summary: TextMap
    position: int
    depth: int
    children_count: int
    indicators_count: int
    archived_at: datetime | None
    created_at: datetime
    updated_at: datetime


class TreeNode(BaseModel):
    id: uuid.UUID
    parent_id: uuid.UUID | None
    code: str
    kind: str
    title: TextMap
    summary: TextMap
    position: int
    depth: int
    indicators_count: int
    children: list["TreeNode"]


class NodeTree(BaseModel):
    """The plan's live (not archived) nodes, nested; `items` are the roots (or the
    children of `?parent=`)."""

    plan_id: uuid.UUID
    nodes_count: int
    items: list[TreeNode]


class MeasurementPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    indicator_id: uuid.UUID
    value: float
    measured_on: date
    source: str | None
    note: str | None
    created_at: datetime


class IndicatorPublic(BaseModel):
    id: uuid.UUID
    node_id: uuid.UUID
    plan_id: uuid.UUID
    organization_id: uuid.UUID
    name: TextMap
    unit: str
    direction: Direction
    baseline_value: float
    baseline_date: date
    target_value: float
    target_date: date
    weight: float | None
    measurements_count: int
    latest_measurement: MeasurementPublic | None
    progress: float | None = PField(
        description="How far the latest measurement has gone from baseline to target, "
        "0 to 100 (%); null without measurements."
    )
    created_at: datetime
    updated_at: datetime


class NodePublic(NodeItem):
    description: TextMap
    expected_results: list[TextMap]
    version: int
    ancestors: list[NodeRef] = PField(description="From the root down to the parent.")
    children: list[NodeItem] = PField(description="Live children, in order.")
    indicators: list[IndicatorPublic]
    progress: float | None = PField(
        description="Rolled up from the node's indicators and its children, 0 to 100 (%); "
        "null when nothing below it has been measured."
    )
    budget_projects: list[NodeBudgetProject] = PField(
        default_factory=list,
        description="Funded participatory-budget projects linked to this node, with their "
        "implementation status (progress stays computed from the indicators).",
    )
