"""Moderation, suspensions and the audit log.

* A `Moderation` is the moderators' record of one target (a proposal, comment, meeting,
  person, or a thread's host for locks): how many reports it has, whether it was hidden
  and why, whether it awaits pre-moderation, whether its comment thread is locked, and
  who reviewed it. The target's own `moderation_status` (proposals, meetings) or `status`
  (comments) is what every public query filters on; the moderation row is the history.
* A `Report` is one person's report of a target: at most one per reporter and target.
* A `Suspension` stops a person from writing in one organization; creating one also
  revokes the person's tokens, so that it takes effect at once.
* `AuditEntry` rows are append-only: a trigger in the database refuses `UPDATE`,
  `DELETE` and `TRUNCATE` of `audit_log` (migration 0007).
"""

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints
from pydantic import Field as PField
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlmodel import Field, SQLModel

from app.models.base import (
    IsoDatetime,
    TextMap,
    created_at_field,
    fk_field,
    id_field,
    jsonb_field,
    timestamp_field,
    updated_at_field,
)
from app.models.proposals import PersonRef
from app.models.tables import one_of

# What a person may report.
ReportTargetType = Literal["proposal", "comment", "meeting", "user", "question", "statement"]
REPORT_TARGET_TYPES: tuple[str, ...] = (
    "proposal",
    "comment",
    "meeting",
    "user",
    "question",
    "statement",
)
# What moderators act on: reportable things, plus the hosts of comment threads (locks).
ModerationTargetType = Literal[
    "proposal", "comment", "meeting", "user", "poll", "plan_node", "question", "statement"
]
MODERATION_TARGET_TYPES: tuple[str, ...] = (
    "proposal",
    "comment",
    "meeting",
    "user",
    "poll",
    "plan_node",
    # Live questions (app/services/live/questions.py).
    "question",
    # Conversations' statements (app/services/conversations/statement_kind.py).
    "statement",
)
ReportReason = Literal["spam", "offensive", "off_topic", "personal_data", "other"]
REPORT_REASONS: tuple[str, ...] = ("spam", "offensive", "off_topic", "personal_data", "other")
ModerationAction = Literal["hide", "unhide", "dismiss", "approve", "lock", "unlock"]
# The moderation state of content, on the content's own row.
ModerationStatus = Literal["visible", "hidden", "pending"]
MODERATION_STATUSES: tuple[str, ...] = ("visible", "hidden", "pending")
# Why content is hidden: enough reports (automatic), or a moderator's decision.
HiddenBy = Literal["reports", "moderator"]

DEFAULT_REPORT_THRESHOLD = 3
# How many reports and audit entries a queue item shows.
ITEM_REPORTS = 20
ITEM_HISTORY = 20
DETAILS_MAX = 2_000
REASON_MAX = 1_000


class Moderation(SQLModel, table=True):
    __tablename__ = "moderations"
    __table_args__ = (
        # One record per target and organization: a person may be reported to several
        # organizations, each with its own queue and history (content has one).
        UniqueConstraint("organization_id", "target_type", "target_id"),
        # Lookups by target (thread locks, the content's own record).
        Index("moderations_target_type_target_id_idx", "target_type", "target_id"),
        CheckConstraint(one_of("target_type", MODERATION_TARGET_TYPES), name="target_type"),
        CheckConstraint("report_count >= 0", name="report_count"),
        CheckConstraint(
            "hidden_by IS NULL OR hidden_by IN ('reports', 'moderator')", name="hidden_by"
        ),
        CheckConstraint("(hidden_at IS NULL) = (hidden_by IS NULL)", name="hidden"),
        # The queues: open items of an organization or a table, oldest first.
        Index(
            "moderations_organization_id_open_idx",
            "organization_id",
            "updated_at",
            "id",
            postgresql_where=text("open"),
        ),
        Index(
            "moderations_table_id_open_idx",
            "table_id",
            "updated_at",
            "id",
            postgresql_where=text("open"),
        ),
    )

    id: uuid.UUID = id_field()
    organization_id: uuid.UUID = fk_field("organizations.id", index=False)
    # The participation table the target belongs to (none for people and plan nodes):
    # its facilitators see the item in their queue.
    table_id: uuid.UUID | None = fk_field("participation_tables.id", nullable=True, index=False)
    target_type: ModerationTargetType = Field(sa_column=Column(String(16), nullable=False))
    # No foreign key: the target lives in one of several tables (see target_type).
    target_id: uuid.UUID = Field(sa_column=Column(UUID(as_uuid=True), nullable=False))
    # Reports not yet dismissed (the automatic hiding threshold counts these).
    report_count: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default="0")
    )
    # In a queue: reported and not yet reviewed, or awaiting pre-moderation approval.
    open: bool = Field(default=False, sa_column_kwargs={"server_default": "false"})
    pending: bool = Field(default=False, sa_column_kwargs={"server_default": "false"})
    hidden_at: datetime | None = timestamp_field()
    hidden_by: HiddenBy | None = Field(default=None, sa_column=Column(String(16), nullable=True))
    # New comments (and replies in a locked comment's thread) are refused while locked.
    locked_at: datetime | None = timestamp_field()
    reviewed_at: datetime | None = timestamp_field()
    reviewed_by_id: uuid.UUID | None = fk_field(
        "users.id", nullable=True, ondelete="SET NULL", index=False
    )
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class Report(SQLModel, table=True):
    __tablename__ = "reports"
    __table_args__ = (
        UniqueConstraint("moderation_id", "reporter_id"),
        CheckConstraint(one_of("reason", REPORT_REASONS), name="reason"),
        Index("reports_reporter_id_idx", "reporter_id"),
    )

    id: uuid.UUID = id_field()
    moderation_id: uuid.UUID = fk_field("moderations.id", index=False)
    reporter_id: uuid.UUID = fk_field("users.id", index=False)
    reason: ReportReason = Field(sa_column=Column(String(16), nullable=False))
    details: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # Set when a moderator dismisses the reports of the target (they stop counting).
    dismissed_at: datetime | None = timestamp_field()
    created_at: datetime = created_at_field()


class Suspension(SQLModel, table=True):
    __tablename__ = "suspensions"
    __table_args__ = (
        # One suspension in force (not lifted) per person and organization.
        Index(
            "suspensions_organization_id_user_id_active_key",
            "organization_id",
            "user_id",
            unique=True,
            postgresql_where=text("lifted_at IS NULL"),
        ),
        Index("suspensions_user_id_idx", "user_id"),
        CheckConstraint("ends_at IS NULL OR ends_at > created_at", name="ends_at"),
    )

    id: uuid.UUID = id_field()
    organization_id: uuid.UUID = fk_field("organizations.id", index=False)
    user_id: uuid.UUID = fk_field("users.id", index=False)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    # Null: until lifted by hand. A suspension past its end no longer applies.
    ends_at: datetime | None = timestamp_field()
    created_by_id: uuid.UUID | None = fk_field(
        "users.id", nullable=True, ondelete="SET NULL", index=False
    )
    lifted_at: datetime | None = timestamp_field()
    lifted_by_id: uuid.UUID | None = fk_field(
        "users.id", nullable=True, ondelete="SET NULL", index=False
    )
    lift_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class AuditEntry(SQLModel, table=True):
    """One moderation or administration action. Append-only, enforced by the database."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("audit_log_organization_id_seq_idx", "organization_id", "seq"),
        Index("audit_log_target_idx", "target_type", "target_id", "seq"),
    )

    # Monotonic order for paging (newest first).
    seq: int | None = Field(
        default=None,
        sa_column=Column(BigInteger, Identity(always=True), primary_key=True),
    )
    id: uuid.UUID = Field(
        default_factory=uuid.uuid4,
        sa_column=Column(
            UUID(as_uuid=True),
            nullable=False,
            unique=True,
            server_default=text("gen_random_uuid()"),
        ),
    )
    # No ON DELETE actions: they would be updates of audit rows, which the trigger refuses.
    # Organizations are never deleted, and accounts are anonymized, not deleted.
    organization_id: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(UUID(as_uuid=True), ForeignKey("organizations.id"), nullable=True),
    )
    actor_id: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(UUID(as_uuid=True), ForeignKey("users.id"), nullable=True),
    )
    # e.g. `moderation.hide`, `suspension.created`, `guardian_consent.recorded`.
    action: str = Field(sa_column=Column(String(64), nullable=False))
    target_type: str = Field(sa_column=Column(String(32), nullable=False))
    target_id: uuid.UUID = Field(sa_column=Column(UUID(as_uuid=True), nullable=False))
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    data: dict[str, Any] = jsonb_field()
    created_at: datetime = created_at_field()


# --- schemas -------------------------------------------------------------------------

Details = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=DETAILS_MAX)
]
Reason = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=REASON_MAX)
]


class ReportCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target_type: ReportTargetType
    target_id: uuid.UUID
    reason: ReportReason
    details: Details | None = None
    organization: str | None = PField(
        default=None,
        max_length=63,
        description="For `user` targets only, and required there: the slug of the "
        "organization whose moderators should review the report.",
    )


class ModerationActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target_type: ModerationTargetType
    target_id: uuid.UUID
    action: ModerationAction
    reason: Reason = PField(description="Why: recorded in the audit log.")
    organization: str | None = PField(
        default=None,
        max_length=63,
        description="For `user` targets: the slug of the organization whose queue the "
        "action is about (needed only when you moderate several that have it).",
    )


class SuspensionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason
    ends_at: IsoDatetime | None = PField(
        default=None, description="When it ends by itself; null until lifted by hand."
    )


class AuditEntryPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    organization_id: uuid.UUID | None
    actor_id: uuid.UUID | None
    action: str
    target_type: str
    target_id: uuid.UUID
    reason: str | None
    data: dict[str, Any]
    created_at: datetime


# --- reports and the moderation queues ----------------------------------------------

# An open item is in exactly one state: awaiting pre-moderation approval, hidden by
# reports and awaiting review, or reported (still visible). Closed items are reviewed.
QueueState = Literal["reported", "pending", "hidden"]
# Which items a queue lists: the open ones, or everything hidden or locked now.
QueueView = Literal["queue", "hidden", "locked"]
ItemState = Literal["reported", "pending", "hidden", "closed"]


class ReportPublic(BaseModel):
    """A report, as its reporter sees it."""

    id: uuid.UUID
    target_type: ReportTargetType
    target_id: uuid.UUID
    reason: ReportReason
    details: str | None
    created_at: datetime


class ItemReport(BaseModel):
    """A report, as moderators see it."""

    id: uuid.UUID
    reason: ReportReason
    details: str | None
    reporter: PersonRef | None = PField(description="Null once the account is deleted.")
    created_at: datetime
    dismissed_at: datetime | None = PField(
        description="When a moderator dismissed it (it no longer counts towards hiding)."
    )


class ItemHistoryEntry(BaseModel):
    """An entry of the audit log about the item's target."""

    id: uuid.UUID
    action: str
    actor: PersonRef | None = PField(description="Null for automatic actions.")
    reason: str | None
    data: dict[str, Any]
    created_at: datetime


class ModeratedContent(BaseModel):
    """What the item is about, for the moderators: never emails or birth dates."""

    title: str | TextMap | None = PField(
        default=None,
        description="Proposals (text), meetings, polls (question) and plan nodes "
        "(translatable maps).",
    )
    body: str | None = PField(
        default=None, description="Comments' text; the beginning of a proposal's text."
    )
    display_name: str | None = PField(default=None, description="People.")
    author: PersonRef | None = PField(
        default=None, description="Who wrote it (proposals, comments, meetings, polls)."
    )
    on_target_type: str | None = PField(default=None, description="Comments: what they are on.")
    on_target_id: uuid.UUID | None = None
    deleted: bool = PField(default=False, description="Deleted by its author or account.")


class ModerationItem(BaseModel):
    id: uuid.UUID
    organization_id: uuid.UUID
    table_id: uuid.UUID | None
    target_type: ModerationTargetType
    target_id: uuid.UUID
    state: ItemState
    open: bool = PField(description="In the queues: reported and unreviewed, or pending.")
    status: ModerationStatus | None = PField(
        description="The content's moderation status (null for people, polls, plan nodes)."
    )
    content: ModeratedContent | None = PField(description="Null when the target is gone.")
    report_count: int = PField(description="Reports not dismissed by a moderator.")
    hidden_by: HiddenBy | None
    hidden_at: datetime | None
    locked: bool = PField(description="Its comment thread takes no new comments or replies.")
    locked_at: datetime | None
    reviewed_at: datetime | None
    reviewed_by: PersonRef | None
    reports: list[ItemReport] = PField(description=f"Newest first, at most {ITEM_REPORTS}.")
    history: list[ItemHistoryEntry] = PField(
        description=f"Audit entries about the target, newest first, at most {ITEM_HISTORY}."
    )
    created_at: datetime
    updated_at: datetime
