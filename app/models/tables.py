"""Participation tables, the plan nodes they work on, their memberships and their
participation settings."""

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    StrictBool,
    StringConstraints,
    model_validator,
)
from pydantic import Field as PField
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlmodel import Field, SQLModel

from app.models.accounts import LOCALE_PATTERN
from app.models.base import (
    JsonInt,
    TextMap,
    created_at_field,
    fk_field,
    id_field,
    jsonb_field,
    timestamp_field,
    updated_at_field,
)
from app.models.organizations import SLUG_PATTERN

TableVisibility = Literal["public", "private"]
# sortition: members are drawn by lot from applicants (app/services/sortition).
MembershipPolicy = Literal["open", "request", "invitation", "sortition"]
TableStatus = Literal["open", "closed", "archived"]
MembershipRole = Literal["member", "facilitator"]
# pending: asked to join a `request` table; invited: a facilitator invited them and they
# have not accepted yet; rejected: a facilitator refused the request.
MembershipStatus = Literal["pending", "invited", "active", "rejected"]

# Translatable text: {"it": "...", "en": "..."}; services require the default locale.
_Locale = Annotated[str, StringConstraints(pattern=LOCALE_PATTERN)]
ShortText = dict[
    _Locale, Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
]
LongText = dict[
    _Locale,
    Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)],
]


def one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class ParticipationTable(SQLModel, table=True):
    __tablename__ = "participation_tables"
    __table_args__ = (
        UniqueConstraint("organization_id", "slug"),
        CheckConstraint(one_of("visibility", ("public", "private")), name="visibility"),
        CheckConstraint(
            one_of("membership_policy", ("open", "request", "invitation", "sortition")),
            name="membership_policy",
        ),
        CheckConstraint(one_of("status", ("open", "closed", "archived")), name="status"),
        CheckConstraint(
            "(min_age IS NULL OR min_age >= 0) AND (max_age IS NULL OR max_age >= 0) "
            "AND (min_age IS NULL OR max_age IS NULL OR min_age <= max_age)",
            name="age_range",
        ),
        CheckConstraint("max_members IS NULL OR max_members > 0", name="max_members"),
    )

    id: uuid.UUID = id_field()
    organization_id: uuid.UUID = fk_field("organizations.id")
    slug: str = Field(sa_column=Column(String(63), nullable=False))
    name: TextMap = jsonb_field()
    description: TextMap = jsonb_field()
    plan_id: uuid.UUID | None = fk_field("plans.id", nullable=True, ondelete="SET NULL")
    visibility: TableVisibility = Field(
        default="public", sa_column=Column(String(16), nullable=False)
    )
    membership_policy: MembershipPolicy = Field(
        default="open", sa_column=Column(String(16), nullable=False)
    )
    # Eligibility rules, checked when someone becomes an active member.
    min_age: int | None = Field(default=None, sa_column=Column(SmallInteger, nullable=True))
    max_age: int | None = Field(default=None, sa_column=Column(SmallInteger, nullable=True))
    # Municipalities of residence allowed to join (empty: anyone).
    eligible_municipality_ids: list[uuid.UUID] = Field(
        default_factory=list,
        sa_column=Column(
            ARRAY(UUID(as_uuid=True)), nullable=False, server_default=text("'{}'::uuid[]")
        ),
    )
    max_members: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    status: TableStatus = Field(default="open", sa_column=Column(String(16), nullable=False))
    # Bumped on every change: the ETag of PATCH /v1/tables/{id}.
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False, server_default="1"))
    created_by_id: uuid.UUID | None = fk_field(
        "users.id", nullable=True, ondelete="SET NULL", index=False
    )
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


def link_key(target: str) -> Any:
    """One half of a link table's composite primary key."""
    return Field(
        sa_column=Column(
            UUID(as_uuid=True),
            ForeignKey(target, ondelete="CASCADE"),
            primary_key=True,
        )
    )


class TablePlanNode(SQLModel, table=True):
    """A plan node the table works on (a set: no order)."""

    __tablename__ = "participation_table_nodes"
    __table_args__ = (Index("participation_table_nodes_node_id_idx", "node_id"),)

    table_id: uuid.UUID = link_key("participation_tables.id")
    node_id: uuid.UUID = link_key("plan_nodes.id")


class TableMembership(SQLModel, table=True):
    __tablename__ = "table_memberships"
    __table_args__ = (
        UniqueConstraint("table_id", "user_id"),
        CheckConstraint(one_of("role", ("member", "facilitator")), name="role"),
        CheckConstraint(
            one_of("status", ("pending", "invited", "active", "rejected")), name="status"
        ),
    )

    id: uuid.UUID = id_field()
    # Indexed by the (table_id, user_id) unique constraint.
    table_id: uuid.UUID = fk_field("participation_tables.id", index=False)
    user_id: uuid.UUID = fk_field("users.id")
    role: MembershipRole = Field(default="member", sa_column=Column(String(16), nullable=False))
    status: MembershipStatus = Field(sa_column=Column(String(16), nullable=False))
    invited_by_id: uuid.UUID | None = fk_field(
        "users.id", nullable=True, ondelete="SET NULL", index=False
    )
    # When the person last became an active member.
    activated_at: datetime | None = timestamp_field()
    # When the current role was given; null: held since the membership began.
    role_since: datetime | None = timestamp_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


# --- schemas -------------------------------------------------------------------------


class Eligibility(BaseModel):
    """Who may become a member: age bounds (inclusive, in whole years) and municipalities
    of residence. Empty rules admit everyone."""

    model_config = ConfigDict(extra="forbid")

    min_age: JsonInt | None = PField(default=None, ge=0, le=120)
    max_age: JsonInt | None = PField(default=None, ge=0, le=120)
    municipality_ids: list[uuid.UUID] = PField(default_factory=list, max_length=500)

    @model_validator(mode="after")
    def _range(self) -> "Eligibility":
        if self.min_age is not None and self.max_age is not None and self.min_age > self.max_age:
            raise ValueError("min_age must not exceed max_age")
        return self


class TableCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slug: str = PField(pattern=SLUG_PATTERN)
    name: ShortText
    description: LongText = PField(default_factory=dict)
    plan_id: uuid.UUID | None = None
    node_ids: list[uuid.UUID] = PField(default_factory=list, max_length=200)
    visibility: TableVisibility = "public"
    membership_policy: MembershipPolicy = "open"
    eligibility: Eligibility | None = None
    max_members: JsonInt | None = PField(default=None, ge=1, le=1_000_000)
    status: TableStatus = "open"


class TableUpdate(BaseModel):
    """Only the fields sent change; `null` clears `plan_id`, `eligibility`, `max_members`."""

    model_config = ConfigDict(extra="forbid")

    slug: str | None = PField(default=None, pattern=SLUG_PATTERN)
    name: ShortText | None = None
    description: LongText | None = None
    plan_id: uuid.UUID | None = None
    node_ids: list[uuid.UUID] | None = PField(default=None, max_length=200)
    visibility: TableVisibility | None = None
    membership_policy: MembershipPolicy | None = None
    eligibility: Eligibility | None = None
    max_members: JsonInt | None = PField(default=None, ge=1, le=1_000_000)
    status: TableStatus | None = None


class MyMembership(BaseModel):
    role: MembershipRole
    status: MembershipStatus


class TablePublic(BaseModel):
    id: uuid.UUID
    organization_id: uuid.UUID
    slug: str
    name: TextMap
    description: TextMap
    plan_id: uuid.UUID | None
    node_ids: list[uuid.UUID]
    visibility: TableVisibility
    membership_policy: MembershipPolicy
    eligibility: Eligibility
    max_members: int | None
    status: TableStatus
    members_count: int
    meetings_count: int
    my_membership: MyMembership | None
    created_at: datetime
    updated_at: datetime


class MembershipInvite(BaseModel):
    """Sent by a facilitator to invite someone (by account id or email); without a body,
    or with an empty one (`{}`), `POST /memberships` joins (or asks to join) as the
    caller."""

    model_config = ConfigDict(extra="forbid")

    user_id: uuid.UUID | None = None
    email: EmailStr | None = None

    @model_validator(mode="after")
    def _one_person(self) -> "MembershipInvite":
        if self.user_id is not None and self.email is not None:
            raise ValueError("give one of user_id or email, not both")
        return self

    @property
    def names_someone(self) -> bool:
        return self.user_id is not None or self.email is not None


class MembershipUpdate(BaseModel):
    """Approve or reject a request (`status`), or set a member's `role`."""

    model_config = ConfigDict(extra="forbid")

    role: MembershipRole | None = None
    status: Literal["active", "rejected"] | None = None

    @model_validator(mode="after")
    def _something(self) -> "MembershipUpdate":
        if self.role is None and self.status is None:
            raise ValueError("give role or status")
        return self


class MembershipPublic(BaseModel):
    id: uuid.UUID
    table_id: uuid.UUID
    user_id: uuid.UUID
    display_name: str
    role: MembershipRole
    status: MembershipStatus
    activated_at: datetime | None
    created_at: datetime
    updated_at: datetime


# --- participation settings ----------------------------------------------------------

SupportsMode = Literal["enabled", "blocked", "hidden"]
SUPPORTS_MODES: tuple[str, ...] = ("enabled", "blocked", "hidden")
MAX_EDIT_WINDOW_MINUTES = 7 * 24 * 60


def _settings_counter() -> Any:
    return Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))


class TableSettings(SQLModel, table=True):
    """A table's participation settings; a table without a row has the defaults (the row
    is created by the first change)."""

    __tablename__ = "table_settings"
    __table_args__ = (
        CheckConstraint(one_of("supports", SUPPORTS_MODES), name="supports"),
        CheckConstraint("support_limit >= 0", name="support_limit"),
        CheckConstraint("support_threshold >= 0", name="support_threshold"),
        CheckConstraint(
            f"edit_window_minutes BETWEEN 0 AND {MAX_EDIT_WINDOW_MINUTES}",
            name="edit_window_minutes",
        ),
    )

    table_id: uuid.UUID = link_key("participation_tables.id")
    proposals_open: bool = Field(
        default=True, sa_column=Column(Boolean, nullable=False, server_default="true")
    )
    supports: SupportsMode = Field(
        default="enabled",
        sa_column=Column(String(16), nullable=False, server_default="enabled"),
    )
    # Supports one person may give in the table (0: no limit).
    support_limit: int = _settings_counter()
    # Supports after which a proposal is marked as reaching the threshold (0: none).
    support_threshold: int = _settings_counter()
    edit_window_minutes: int = Field(
        default=15, sa_column=Column(Integer, nullable=False, server_default="15")
    )
    comments_open: bool = Field(
        default=True, sa_column=Column(Boolean, nullable=False, server_default="true")
    )
    # New proposals and comments wait for a facilitator's approval. Null: the default,
    # which is on for tables whose eligibility admits people under 18.
    premoderation: bool | None = Field(default=None, sa_column=Column(Boolean, nullable=True))
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False, server_default="1"))
    updated_by_id: uuid.UUID | None = fk_field(
        "users.id", nullable=True, ondelete="SET NULL", index=False
    )
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class TableSettingsPublic(BaseModel):
    table_id: uuid.UUID
    proposals_open: bool = PField(description="Whether members may put forward proposals.")
    supports: SupportsMode = PField(
        description="enabled; blocked (nobody may support or withdraw a support); hidden "
        "(supporting works, counts are shown only to facilitators)."
    )
    support_limit: int = PField(description="Supports one person may give here; 0: no limit.")
    support_threshold: int = PField(
        description="Supports after which a proposal is marked as reaching it; 0: none."
    )
    edit_window_minutes: int = PField(description="How long authors may edit after publishing.")
    comments_open: bool
    premoderation: bool | None = PField(
        description="Whether new proposals and comments wait for a facilitator's approval "
        "before being shown; null: the default (see premoderation_effective)."
    )
    premoderation_effective: bool = PField(
        description="What applies: `premoderation` when set, otherwise on for tables whose "
        "eligibility admits people under 18 — every table without a min_age of 18 or more "
        "— and off for adults-only tables. Facilitators' own content is never held."
    )


class TableSettingsUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    proposals_open: StrictBool | None = None
    supports: SupportsMode | None = None
    support_limit: JsonInt | None = PField(default=None, ge=0, le=10_000)
    support_threshold: JsonInt | None = PField(default=None, ge=0, le=10_000_000)
    edit_window_minutes: JsonInt | None = PField(default=None, ge=0, le=MAX_EDIT_WINDOW_MINUTES)
    comments_open: StrictBool | None = None
    premoderation: StrictBool | None = PField(
        default=None, description="true or false; null goes back to the default."
    )
