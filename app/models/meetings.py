"""Meetings of a participation table, registrations (with a waiting list) and minutes."""

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, StringConstraints
from pydantic import Field as PField
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlmodel import Field, SQLModel

from app.models.base import (
    Instant,
    JsonInt,
    TextMap,
    created_at_field,
    fk_field,
    id_field,
    jsonb_field,
    timestamp_field,
    updated_at_field,
)
from app.models.tables import LongText, ShortText, link_key, one_of

# Meetings are shown (API responses, iCalendar) in Italian local time.
MEETING_TIMEZONE = ZoneInfo("Europe/Rome")

MeetingKind = Literal["plenary", "thematic", "public", "working_group"]
MeetingFormat = Literal["in_person", "online", "hybrid"]
MeetingStatus = Literal["scheduled", "cancelled", "held"]
# Meetings can be hidden by moderators, never held for review.
MeetingModerationStatus = Literal["visible", "hidden"]
RegistrationStatus = Literal["registered", "waitlisted", "cancelled", "attended"]

MEETING_KINDS: tuple[str, ...] = ("plenary", "thematic", "public", "working_group")
MEETING_FORMATS: tuple[str, ...] = ("in_person", "online", "hybrid")
MEETING_STATUSES: tuple[str, ...] = ("scheduled", "cancelled", "held")
REGISTRATION_STATUSES: tuple[str, ...] = ("registered", "waitlisted", "cancelled", "attended")


class Meeting(SQLModel, table=True):
    __tablename__ = "meetings"
    __table_args__ = (
        Index("meetings_table_id_starts_at_idx", "table_id", "starts_at"),
        CheckConstraint(one_of("kind", MEETING_KINDS), name="kind"),
        CheckConstraint(one_of("format", MEETING_FORMATS), name="format"),
        CheckConstraint(one_of("status", MEETING_STATUSES), name="status"),
        CheckConstraint("moderation_status IN ('visible', 'hidden')", name="moderation_status"),
        CheckConstraint("ends_at > starts_at", name="time_range"),
        CheckConstraint("capacity >= 0", name="capacity"),
        CheckConstraint("live_status IN ('live', 'ended')", name="live_status"),
        CheckConstraint(
            "registration_opens_at IS NULL OR registration_closes_at IS NULL "
            "OR registration_opens_at < registration_closes_at",
            name="registration_window",
        ),
    )

    id: uuid.UUID = id_field()
    # Indexed by (table_id, starts_at).
    table_id: uuid.UUID = fk_field("participation_tables.id", index=False)
    organization_id: uuid.UUID = fk_field("organizations.id")
    title: TextMap = jsonb_field()
    description: TextMap = jsonb_field()
    kind: MeetingKind = Field(default="plenary", sa_column=Column(String(16), nullable=False))
    format: str = Field(default="in_person", sa_column=Column(String(16), nullable=False))
    starts_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    ends_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    location_name: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    location_address: str | None = Field(default=None, sa_column=Column(String(300), nullable=True))
    location_municipality_id: uuid.UUID | None = fk_field(
        "municipalities.id", nullable=True, ondelete="SET NULL", index=False
    )
    # Shown only to registered people and the table's facilitators.
    online_url: str | None = Field(default=None, sa_column=Column(String(2048), nullable=True))
    # Seats; 0 means unlimited.
    capacity: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    registration_opens_at: datetime | None = timestamp_field()
    registration_closes_at: datetime | None = timestamp_field()
    agenda: list[dict[str, Any]] = jsonb_field(default=[])
    status: MeetingStatus = Field(default="scheduled", sa_column=Column(String(16), nullable=False))
    # `visible`, or `hidden` by reports or a moderator (then shown only to moderators).
    moderation_status: MeetingModerationStatus = Field(
        default="visible",
        sa_column=Column(String(16), nullable=False, server_default="visible"),
    )
    # The live session (app/services/live/): null until a facilitator starts it.
    live_status: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))
    current_agenda_item: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    # Bumped on every change: the ETag, and the iCalendar SEQUENCE.
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False, server_default="1"))
    created_by_id: uuid.UUID | None = fk_field(
        "users.id", nullable=True, ondelete="SET NULL", index=False
    )
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class MeetingPlanNode(SQLModel, table=True):
    """A plan node the meeting is about (a set: no order)."""

    __tablename__ = "meeting_plan_nodes"
    __table_args__ = (Index("meeting_plan_nodes_node_id_idx", "node_id"),)

    meeting_id: uuid.UUID = link_key("meetings.id")
    node_id: uuid.UUID = link_key("plan_nodes.id")


class MeetingRegistration(SQLModel, table=True):
    """One person's seat (or place on the waiting list) at a meeting.

    Cancelled rows are kept; at most one non-cancelled row per person and meeting."""

    __tablename__ = "meeting_registrations"
    __table_args__ = (
        UniqueConstraint("meeting_id", "check_in_code"),
        Index(
            "meeting_registrations_active_user_key",
            "meeting_id",
            "user_id",
            unique=True,
            postgresql_where=text("status <> 'cancelled'"),
        ),
        # Seat counts and the waiting list's order.
        Index("meeting_registrations_meeting_id_status_seq_idx", "meeting_id", "status", "seq"),
        CheckConstraint(one_of("status", REGISTRATION_STATUSES), name="status"),
    )

    id: uuid.UUID = id_field()
    # Arrival order: assigned at insert, while the meeting row is locked, so within a
    # meeting it is the order in which registrations were decided (and committed).
    seq: int | None = Field(
        default=None,
        sa_column=Column(BigInteger, Identity(always=True), nullable=False, unique=True),
    )
    meeting_id: uuid.UUID = Field(
        sa_column=Column(
            UUID(as_uuid=True), ForeignKey("meetings.id", ondelete="CASCADE"), nullable=False
        )
    )
    user_id: uuid.UUID = fk_field("users.id")
    status: RegistrationStatus = Field(sa_column=Column(String(16), nullable=False))
    check_in_code: str = Field(sa_column=Column(String(16), nullable=False))
    promoted_at: datetime | None = timestamp_field()
    cancelled_at: datetime | None = timestamp_field()
    checked_in_at: datetime | None = timestamp_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class MeetingMinutes(SQLModel, table=True):
    """The closing report of a meeting; publishing it marks the meeting held."""

    __tablename__ = "meeting_minutes"
    __table_args__ = (CheckConstraint("attendees_count >= 0", name="attendees_count"),)

    meeting_id: uuid.UUID = link_key("meetings.id")
    text: TextMap = jsonb_field()
    attendees_count: int = Field(sa_column=Column(Integer, nullable=False))
    attending_organizations: list[str] = jsonb_field(default=[])
    published_by_id: uuid.UUID | None = fk_field(
        "users.id", nullable=True, ondelete="SET NULL", index=False
    )
    published_at: datetime = timestamp_field(nullable=False)
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


# --- schemas -------------------------------------------------------------------------


class MeetingLocation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    address: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] | None = None
    # A municipality of the table's organization.
    municipality_id: uuid.UUID | None = None


class AgendaItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: ShortText
    description: LongText | None = None
    duration_minutes: JsonInt | None = PField(default=None, ge=1, le=24 * 60)


class MeetingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: ShortText
    description: LongText = PField(default_factory=dict)
    kind: MeetingKind = "plenary"
    format: MeetingFormat = "in_person"
    starts_at: Instant
    ends_at: Instant
    location: MeetingLocation | None = None
    online_url: AnyHttpUrl | None = None
    capacity: JsonInt = PField(default=0, ge=0, le=1_000_000, description="Seats; 0 = unlimited.")
    registration_opens_at: Instant | None = None
    registration_closes_at: Instant | None = None
    node_ids: list[uuid.UUID] = PField(default_factory=list, max_length=200)
    agenda: list[AgendaItem] = PField(default_factory=list, max_length=100)


class MeetingUpdate(BaseModel):
    """Only the fields sent change; `status` cancels (or reinstates) the meeting."""

    model_config = ConfigDict(extra="forbid")

    title: ShortText | None = None
    description: LongText | None = None
    kind: MeetingKind | None = None
    format: MeetingFormat | None = None
    starts_at: Instant | None = None
    ends_at: Instant | None = None
    location: MeetingLocation | None = None
    online_url: AnyHttpUrl | None = None
    capacity: JsonInt | None = PField(default=None, ge=0, le=1_000_000)
    registration_opens_at: Instant | None = None
    registration_closes_at: Instant | None = None
    node_ids: list[uuid.UUID] | None = PField(default=None, max_length=200)
    agenda: list[AgendaItem] | None = PField(default=None, max_length=100)
    status: MeetingStatus | None = None


class MyRegistration(BaseModel):
    id: uuid.UUID
    status: RegistrationStatus
    check_in_code: str
    waitlist_position: int | None = None


class MinutesPut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: LongText
    attendees_count: JsonInt | None = PField(
        default=None, ge=0, le=1_000_000, description="Defaults to the number checked in."
    )
    attending_organizations: list[
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    ] = PField(default_factory=list, max_length=200)
    proposal_ids: list[uuid.UUID] = PField(
        default_factory=list,
        max_length=100,
        description="Proposals of the meeting's table discussed or born at the meeting "
        "(published ones; not drafts).",
    )


class CalendarFeed(BaseModel):
    url: str = PField(description="Subscribe to this URL in a calendar app; keep it private.")


class MinutesPublic(BaseModel):
    meeting_id: uuid.UUID
    text: TextMap
    attendees_count: int
    attending_organizations: list[str]
    proposal_ids: list[uuid.UUID] = PField(
        default_factory=list,
        description="Linked proposals (hidden ones are left out).",
    )
    published_at: datetime
    updated_at: datetime


class MeetingPublic(BaseModel):
    id: uuid.UUID
    table_id: uuid.UUID
    organization_id: uuid.UUID
    title: TextMap
    description: TextMap
    kind: MeetingKind
    format: MeetingFormat
    starts_at: datetime
    ends_at: datetime
    location: MeetingLocation | None
    online_url: str | None = PField(
        description="Only for people registered and the table's facilitators; null otherwise."
    )
    capacity: int
    registration_opens_at: datetime | None
    registration_closes_at: datetime | None
    node_ids: list[uuid.UUID]
    agenda: list[AgendaItem]
    status: MeetingStatus
    moderation_status: Literal["visible", "hidden"] = PField(
        description="visible, or hidden by moderation (then shown only to the table's "
        "facilitators and organization admins)."
    )
    live_status: Literal["live", "ended"] | None = PField(
        default=None, description="The live session: null until a facilitator starts it."
    )
    current_agenda_item: int | None = PField(
        default=None, description="The index of the agenda item under discussion, live."
    )
    registrations_count: int
    waitlist_count: int
    my_registration: MyRegistration | None
    minutes: MinutesPublic | None
    created_at: datetime
    updated_at: datetime


class RegistrationPublic(BaseModel):
    id: uuid.UUID
    meeting_id: uuid.UUID
    user_id: uuid.UUID
    status: RegistrationStatus
    check_in_code: str
    waitlist_position: int | None = None
    promoted_at: datetime | None
    cancelled_at: datetime | None
    checked_in_at: datetime | None
    created_at: datetime


class RegistrationView(RegistrationPublic):
    """A registration as the table's facilitators see it."""

    display_name: str


class CheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = PField(min_length=4, max_length=32, description="The person's check-in code.")
