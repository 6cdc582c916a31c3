"""Request schemas and the progress report of plan monitoring ("rendicontazione").

The tables (`Indicator`, `Measurement`) and their public shapes live in
`app/models/plans.py`, next to the nodes they belong to.
"""

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints
from pydantic import Field as PField

from app.models.base import Day, JsonNumber, TextMap
from app.models.plans import Direction, PlanStatus, TitleText

Unit = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
Value = Annotated[JsonNumber, PField(allow_inf_nan=False, ge=-1e15, le=1e15)]


class IndicatorCreate(BaseModel):
    """`direction` says which way is better: `increase` needs a target above the baseline,
    `decrease` (e.g. CO₂ emissions) a target below it."""

    model_config = ConfigDict(extra="forbid")

    name: TitleText
    unit: Unit = PField(examples=["t CO₂e", "%", "km"])
    direction: Direction
    baseline_value: Value
    baseline_date: Day
    target_value: Value
    target_date: Day
    weight: JsonNumber | None = PField(
        default=None,
        gt=0,
        le=1000,
        allow_inf_nan=False,
        description="Relative weight in the node's progress; 1 when absent (as every child "
        "node counts).",
    )


class MeasurementCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: Value
    measured_on: Day
    source: str | None = PField(default=None, min_length=1, max_length=500)
    note: str | None = PField(default=None, min_length=1, max_length=2_000)


class IndicatorProgress(BaseModel):
    id: uuid.UUID
    name: TextMap
    unit: str
    direction: Direction
    baseline_value: float
    baseline_date: date
    target_value: float
    target_date: date
    weight: float | None
    latest_value: float | None
    latest_measured_on: date | None
    progress: float | None


class NodeProgress(BaseModel):
    id: uuid.UUID
    parent_id: uuid.UUID | None
    code: str
    kind: str
    depth: int
    title: TextMap
    progress: float | None
    indicators_count: int
    measured_indicators_count: int
    indicators: list[IndicatorProgress]


class ProgressReport(BaseModel):
    """Progress per node (depth first, in plan order), rolled up from the leaves."""

    plan_id: uuid.UUID
    organization_id: uuid.UUID
    slug: str
    title: TextMap
    status: PlanStatus
    generated_at: datetime
    progress: float | None = PField(description="The mean of the root nodes' progress.")
    nodes: list[NodeProgress]
