"""Request and response schemas of participatory budgeting (tables: `app/models/budgets.py`)."""

import uuid
from datetime import date, datetime
from itertools import pairwise
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints, model_validator
from pydantic import Field as PField

from app.models.accounts import LOCALE_PATTERN
from app.models.base import Day, JsonInt, TextMap

PhaseName = Literal["proposals", "evaluation", "voting", "results", "implementation"]
VotingMethod = Literal["approval", "cumulative_cost"]
Counting = Literal["greedy", "equal_shares"]
Feasibility = Literal["pending", "feasible", "unfeasible"]
ImplementationStatus = Literal["planned", "in_progress", "completed"]
# Money in euro cents; at most 10 billion euro.
Cents = Annotated[JsonInt, PField(gt=0, le=1_000_000_000_000)]

_Locale = Annotated[str, StringConstraints(pattern=LOCALE_PATTERN)]
Title = dict[
    _Locale, Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
]
LongText = dict[_Locale, Annotated[str, StringConstraints(strip_whitespace=True, max_length=20000)]]
_SLUG = r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"


class Period(BaseModel):
    model_config = ConfigDict(extra="forbid")

    starts_on: Day
    ends_on: Day

    @model_validator(mode="after")
    def _order(self) -> "Period":
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on must not be before starts_on")
        return self


class Phases(BaseModel):
    """Dates in Europe/Rome, inclusive; each phase starts after the previous one ends."""

    model_config = ConfigDict(extra="forbid")

    proposals: Period
    evaluation: Period
    voting: Period
    results: Period
    implementation: Period | None = None

    @model_validator(mode="after")
    def _sequence(self) -> "Phases":
        periods = [self.proposals, self.evaluation, self.voting, self.results]
        if self.implementation is not None:
            periods.append(self.implementation)
        for before, after in pairwise(periods):
            if after.starts_on <= before.ends_on:
                raise ValueError("each phase must start after the previous one ends")
        return self


class Voting(BaseModel):
    """`approval`: choose up to `max_projects`; `cumulative_cost`: choose projects whose total
    cost fits the area's amount (and reaches `min_spend_percent` of it, if set)."""

    model_config = ConfigDict(extra="forbid")

    method: VotingMethod
    max_projects: JsonInt | None = PField(default=None, ge=1, le=1000)
    min_spend_percent: JsonInt | None = PField(default=None, ge=0, le=100)
    counting: Counting = "greedy"

    @model_validator(mode="after")
    def _fits(self) -> "Voting":
        if self.method == "approval" and self.min_spend_percent is not None:
            raise ValueError("min_spend_percent is for cumulative_cost voting only")
        return self


class BudgetEligibility(BaseModel):
    """`min_age` in whole years on the day of voting; `any_area`: vote in any one area
    instead of the area of one's residence."""

    model_config = ConfigDict(extra="forbid")

    min_age: JsonInt | None = PField(default=None, ge=0, le=120)
    any_area: bool = False


class BudgetCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slug: str = PField(pattern=_SLUG)
    title: Title
    description: LongText = PField(default_factory=dict)
    plan_id: uuid.UUID | None = None
    node_ids: list[uuid.UUID] = PField(default_factory=list, max_length=100)
    table_id: uuid.UUID | None = None
    phases: Phases
    voting: Voting
    eligibility: BudgetEligibility = PField(default_factory=BudgetEligibility)


class BudgetUpdate(BaseModel):
    """Omitted fields stay; `voting` and `eligibility` only before voting starts."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    description: LongText | None = None
    node_ids: list[uuid.UUID] | None = PField(default=None, max_length=100)
    table_id: uuid.UUID | None = None
    phases: Phases | None = None
    voting: Voting | None = None
    eligibility: BudgetEligibility | None = None


class BudgetPublic(BaseModel):
    id: uuid.UUID
    organization_id: uuid.UUID
    slug: str
    title: TextMap
    description: TextMap
    plan_id: uuid.UUID | None
    node_ids: list[uuid.UUID]
    table_id: uuid.UUID | None
    phases: Phases
    current_phase: PhaseName | None = PField(
        description="The phase whose dates include today in Europe/Rome; null before the "
        "first, between phases and after the last."
    )
    voting_open: bool
    results_published: bool
    voting: Voting
    eligibility: BudgetEligibility
    voters_count: int = PField(description="Turnout: people who have voted (online or paper).")
    created_at: datetime
    updated_at: datetime


class AreaCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = PField(min_length=1, max_length=200)
    municipality_ids: list[uuid.UUID] = PField(min_length=1, max_length=500)
    amount: Cents


class AreaPublic(BaseModel):
    id: uuid.UUID
    budget_id: uuid.UUID
    name: str
    municipality_ids: list[uuid.UUID]
    amount: int = PField(description="Euro cents.")
    created_at: datetime


class ProjectCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    description: LongText = PField(default_factory=dict)
    area_id: uuid.UUID
    cost: Cents
    node_ids: list[uuid.UUID] = PField(default_factory=list, max_length=50)
    proposal_ids: list[uuid.UUID] = PField(default_factory=list, max_length=50)


class ProjectUpdate(BaseModel):
    """Content (title … proposal_ids) and the verdict (`feasibility`, `feasibility_report`)
    before voting starts; `implementation_status` (with an optional dated
    `implementation_note`) for funded projects once results are published."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    description: LongText | None = None
    area_id: uuid.UUID | None = None
    cost: Cents | None = None
    node_ids: list[uuid.UUID] | None = PField(default=None, max_length=50)
    proposal_ids: list[uuid.UUID] | None = PField(default=None, max_length=50)
    feasibility: Literal["feasible", "unfeasible"] | None = None
    feasibility_report: LongText | None = None
    implementation_status: ImplementationStatus | None = None
    implementation_note: LongText | None = None
    implementation_date: Day | None = None


class ImplementationUpdatePublic(BaseModel):
    status: ImplementationStatus
    happened_on: date
    note: TextMap


class ProjectPublic(BaseModel):
    id: uuid.UUID
    budget_id: uuid.UUID
    organization_id: uuid.UUID
    area_id: uuid.UUID
    title: TextMap
    description: TextMap
    cost: int = PField(description="Euro cents.")
    node_ids: list[uuid.UUID]
    proposal_ids: list[uuid.UUID]
    feasibility: Feasibility
    feasibility_report: TextMap | None
    on_ballot: bool = PField(description="Feasible projects are on the ballot.")
    implementation_status: ImplementationStatus | None
    implementation_updates: list[ImplementationUpdatePublic]
    comments_count: int
    created_at: datetime
    updated_at: datetime


class BallotPut(BaseModel):
    """The projects chosen, all of one area."""

    model_config = ConfigDict(extra="forbid")

    project_ids: list[uuid.UUID] = PField(min_length=1, max_length=1000)


class BallotPublic(BaseModel):
    """The caller's own ballot: only ever shown to the caller."""

    budget_id: uuid.UUID
    area_id: uuid.UUID
    project_ids: list[uuid.UUID]
    channel: Literal["online", "paper"]


class PaperBallotCreate(BaseModel):
    """A paper ballot from a polling station: the voter is an account (`user_id`) or a
    person identified by a document (`identity`, e.g. the codice fiscale, kept only as a
    keyed hash); exactly one of the two."""

    model_config = ConfigDict(extra="forbid")

    user_id: uuid.UUID | None = None
    identity: str | None = PField(default=None, min_length=4, max_length=64)
    area_id: uuid.UUID
    project_ids: list[uuid.UUID] = PField(min_length=1, max_length=1000)

    @model_validator(mode="after")
    def _one_voter(self) -> "PaperBallotCreate":
        if (self.user_id is None) == (self.identity is None):
            raise ValueError("give exactly one of user_id and identity")
        return self


class PaperBallotReceipt(BaseModel):
    budget_id: uuid.UUID
    area_id: uuid.UUID
    voters_count: int


class ResultProject(BaseModel):
    id: uuid.UUID
    title: TextMap
    cost: int
    votes: int
    funded: bool


class ResultArea(BaseModel):
    area_id: uuid.UUID
    name: str
    amount: int
    spent: int
    left: int
    ballots_count: int
    projects: list[ResultProject] = PField(description="Most votes first.")


class BudgetResultsPublic(BaseModel):
    budget_id: uuid.UUID
    counting: Counting
    final: bool = PField(description="Voting has closed: these results no longer change.")
    areas: list[ResultArea]


class NodeBudgetProject(BaseModel):
    """A funded project linked to a plan node, with where its implementation stands."""

    id: uuid.UUID
    budget_id: uuid.UUID
    title: TextMap
    cost: int
    implementation_status: ImplementationStatus
    last_update_on: date | None


class BudgetResultRow(BaseModel):
    """One row of the open-data dataset `budget-results` (no personal data)."""

    budget_id: uuid.UUID
    budget_slug: str
    counting: Counting
    area_id: uuid.UUID
    area_name: str
    project_id: uuid.UUID
    project_title: TextMap
    cost: int
    votes: int
    funded: bool


class ExportBudgetParticipation(BaseModel):
    """That you voted in a process, and how — never what you chose."""

    budget_id: uuid.UUID
    budget_slug: str
    title: TextMap
    channel: Literal["online", "paper"]
