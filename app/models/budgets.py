"""Participatory budgeting: processes, areas with their own money, costed projects, secret
ballots, counted results and the implementation of what was funded.

Secrecy by design. `budget_voters` records *that* a person voted (turnout, one ballot per
person, paper ballots); `budget_ballots` records *what* a ballot chose, keyed by
`voter_key` — an HMAC of (SECRET_KEY, budget, user) for online ballots, a random value for
paper ones — with no user id, no timestamp and no foreign key to anyone. Only the voter's
own request can recompute their key (to read or change their ballot); no staff view,
export, event or open-data set can join a ballot to a name. Neither table has a time
column, so the order of the "has voted" records cannot be lined up with the ballots.

Money is integer euro cents (`amount`, `cost`).
"""

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlmodel import Field, SQLModel

from app.models.base import (
    TextMap,
    created_at_field,
    fk_field,
    id_field,
    jsonb_field,
    updated_at_field,
)
from app.models.budget_schemas import ImplementationStatus

PHASES: tuple[str, ...] = ("proposals", "evaluation", "voting", "results", "implementation")
VOTING_METHODS: tuple[str, ...] = ("approval", "cumulative_cost")
COUNTING_RULES: tuple[str, ...] = ("greedy", "equal_shares")
FEASIBILITY: tuple[str, ...] = ("pending", "feasible", "unfeasible")
IMPLEMENTATION: tuple[str, ...] = ("planned", "in_progress", "completed")
CHANNELS: tuple[str, ...] = ("online", "paper")


def one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _pk(target: str) -> Any:
    return Field(
        sa_column=Column(
            UUID(as_uuid=True), ForeignKey(target, ondelete="CASCADE"), primary_key=True
        )
    )


class Budget(SQLModel, table=True):
    """A participatory budgeting process of an organization."""

    __tablename__ = "budgets"
    __table_args__ = (
        UniqueConstraint("organization_id", "slug"),
        CheckConstraint(one_of("voting_method", VOTING_METHODS), name="voting_method"),
        CheckConstraint(one_of("counting", COUNTING_RULES), name="counting"),
        CheckConstraint("max_projects IS NULL OR max_projects >= 1", name="max_projects"),
        CheckConstraint(
            "min_spend_percent IS NULL OR min_spend_percent BETWEEN 0 AND 100",
            name="min_spend_percent",
        ),
        CheckConstraint("min_age IS NULL OR min_age BETWEEN 0 AND 120", name="min_age"),
    )

    id: uuid.UUID = id_field()
    # Indexed by the (organization_id, slug) unique constraint.
    organization_id: uuid.UUID = fk_field("organizations.id", index=False)
    slug: str = Field(sa_column=Column(String(63), nullable=False))
    title: TextMap = jsonb_field()
    description: TextMap = jsonb_field()
    plan_id: uuid.UUID | None = fk_field("plans.id", nullable=True, ondelete="SET NULL")
    table_id: uuid.UUID | None = fk_field(
        "participation_tables.id", nullable=True, ondelete="SET NULL"
    )
    # {"proposals": {"starts_on": "2026-03-01", "ends_on": "2026-03-31"}, ...}: dates in
    # Europe/Rome, inclusive, in the order of PHASES; `implementation` optional.
    phases: dict[str, Any] = jsonb_field()
    voting_method: str = Field(sa_column=Column(String(16), nullable=False))
    max_projects: int | None = Field(default=None, sa_column=Column(SmallInteger, nullable=True))
    min_spend_percent: int | None = Field(
        default=None, sa_column=Column(SmallInteger, nullable=True)
    )
    counting: str = Field(sa_column=Column(String(16), nullable=False))
    min_age: int | None = Field(default=None, sa_column=Column(SmallInteger, nullable=True))
    # False: a voter votes in the area of their residence; true: in any one area.
    any_area: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default="false")
    )
    created_by_id: uuid.UUID | None = fk_field(
        "users.id", nullable=True, ondelete="SET NULL", index=False
    )
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class BudgetNode(SQLModel, table=True):
    __tablename__ = "budget_nodes"

    budget_id: uuid.UUID = _pk("budgets.id")
    node_id: uuid.UUID = Field(
        sa_column=Column(
            UUID(as_uuid=True),
            ForeignKey("plan_nodes.id", ondelete="CASCADE"),
            primary_key=True,
            index=True,
        )
    )


class BudgetArea(SQLModel, table=True):
    """A quartiere or comune with its own amount."""

    __tablename__ = "budget_areas"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount"),
        Index("budget_areas_budget_id_created_at_id_idx", "budget_id", "created_at", "id"),
    )

    id: uuid.UUID = id_field()
    budget_id: uuid.UUID = fk_field("budgets.id", index=False)
    name: str = Field(sa_column=Column(String(200), nullable=False))
    amount: int = Field(sa_column=Column(BigInteger, nullable=False))
    created_at: datetime = created_at_field()


class BudgetAreaMunicipality(SQLModel, table=True):
    """A municipality belongs to at most one area of a process."""

    __tablename__ = "budget_area_municipalities"
    __table_args__ = (UniqueConstraint("budget_id", "municipality_id"),)

    area_id: uuid.UUID = _pk("budget_areas.id")
    municipality_id: uuid.UUID = Field(
        sa_column=Column(
            UUID(as_uuid=True),
            ForeignKey("municipalities.id", ondelete="CASCADE"),
            primary_key=True,
            index=True,
        )
    )
    budget_id: uuid.UUID = fk_field("budgets.id", index=False)


class BudgetProject(SQLModel, table=True):
    __tablename__ = "budget_projects"
    __table_args__ = (
        CheckConstraint("cost > 0", name="cost"),
        CheckConstraint(one_of("feasibility", FEASIBILITY), name="feasibility"),
        CheckConstraint(
            "implementation_status IS NULL OR " + one_of("implementation_status", IMPLEMENTATION),
            name="implementation_status",
        ),
        Index("budget_projects_budget_id_created_at_id_idx", "budget_id", "created_at", "id"),
    )

    id: uuid.UUID = id_field()
    budget_id: uuid.UUID = fk_field("budgets.id", index=False)
    organization_id: uuid.UUID = fk_field("organizations.id")
    area_id: uuid.UUID = fk_field("budget_areas.id")
    title: TextMap = jsonb_field()
    description: TextMap = jsonb_field()
    cost: int = Field(sa_column=Column(BigInteger, nullable=False))
    feasibility: str = Field(
        default="pending", sa_column=Column(String(16), nullable=False, server_default="pending")
    )
    feasibility_report: TextMap | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    implementation_status: ImplementationStatus | None = Field(
        default=None, sa_column=Column(String(16), nullable=True)
    )
    created_by_id: uuid.UUID | None = fk_field(
        "users.id", nullable=True, ondelete="SET NULL", index=False
    )
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class BudgetProjectNode(SQLModel, table=True):
    __tablename__ = "budget_project_nodes"

    project_id: uuid.UUID = _pk("budget_projects.id")
    node_id: uuid.UUID = Field(
        sa_column=Column(
            UUID(as_uuid=True),
            ForeignKey("plan_nodes.id", ondelete="CASCADE"),
            primary_key=True,
            index=True,
        )
    )


class BudgetProjectProposal(SQLModel, table=True):
    """A project that grew out of a proposal (shown on both)."""

    __tablename__ = "budget_project_proposals"

    project_id: uuid.UUID = _pk("budget_projects.id")
    proposal_id: uuid.UUID = Field(
        sa_column=Column(
            UUID(as_uuid=True),
            ForeignKey("proposals.id", ondelete="CASCADE"),
            primary_key=True,
            index=True,
        )
    )


class BudgetProjectUpdate(SQLModel, table=True):
    """A dated step of a funded project's implementation."""

    __tablename__ = "budget_project_updates"
    __table_args__ = (
        CheckConstraint(one_of("status", IMPLEMENTATION), name="status"),
        Index("budget_project_updates_project_id_happened_on_idx", "project_id", "happened_on"),
    )

    id: uuid.UUID = id_field()
    project_id: uuid.UUID = fk_field("budget_projects.id", index=False)
    status: ImplementationStatus = Field(sa_column=Column(String(16), nullable=False))
    happened_on: date = Field(sa_column=Column(Date, nullable=False))
    note: TextMap = jsonb_field()
    created_by_id: uuid.UUID | None = fk_field(
        "users.id", nullable=True, ondelete="SET NULL", index=False
    )
    created_at: datetime = created_at_field()


class BudgetVoter(SQLModel, table=True):
    """That someone has voted in a process — never what they chose. `user_id` for
    accounts; `identity_key` (an HMAC of an identity document entered at a polling
    station) for paper voters without an account. No timestamp, by design."""

    __tablename__ = "budget_voters"
    __table_args__ = (
        UniqueConstraint("budget_id", "user_id"),
        UniqueConstraint("budget_id", "identity_key"),
        CheckConstraint(one_of("channel", CHANNELS), name="channel"),
        CheckConstraint("user_id IS NOT NULL OR identity_key IS NOT NULL", name="who"),
    )

    id: uuid.UUID = id_field()
    budget_id: uuid.UUID = fk_field("budgets.id", index=False)
    user_id: uuid.UUID | None = fk_field("users.id", nullable=True)
    identity_key: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    channel: str = Field(sa_column=Column(String(8), nullable=False))


class BudgetBallot(SQLModel, table=True):
    """What one ballot chose: projects of one area. No user id, no timestamp."""

    __tablename__ = "budget_ballots"

    budget_id: uuid.UUID = _pk("budgets.id")
    voter_key: str = Field(sa_column=Column(String(64), primary_key=True))
    area_id: uuid.UUID = fk_field("budget_areas.id")
    project_ids: list[uuid.UUID] = Field(
        sa_column=Column(ARRAY(UUID(as_uuid=True)), nullable=False)
    )


class BudgetResult(SQLModel, table=True):
    """Counted results, stored once voting has closed (ballots can no longer change), per
    counting rule; `data` is the `BudgetResultsPublic` body."""

    __tablename__ = "budget_results"

    budget_id: uuid.UUID = _pk("budgets.id")
    counting: str = Field(sa_column=Column(String(16), primary_key=True))
    data: dict[str, Any] = jsonb_field()
    counted_at: datetime = created_at_field()
