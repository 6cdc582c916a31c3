"""Proposals of a participation table, their plan nodes and co-authors, the people who
support them. (Each table's participation settings are in `app/models/tables.py`.)

A proposal has two independent pieces of state:

* `status`, its lifecycle, driven by the author: `draft` → `published` → `withdrawn`;
* `answer_state`, the facilitators' answer to a published proposal:
  `evaluating | accepted | rejected | implemented` (null until answered).

`supports_count` always equals the number of `proposal_supports` rows of the proposal
(see `app/services/proposals/supports.py`); `comments_count` is kept by the comments service and
counts the proposal's comments that are visible (`status = 'visible'`) and not deleted.
"""

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints
from pydantic import Field as PField
from sqlalchemy import (
    CheckConstraint,
    Column,
    Computed,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import TSVECTOR, UUID
from sqlmodel import Field, SQLModel

from app.models.base import (
    created_at_field,
    fk_field,
    id_field,
    timestamp_field,
    updated_at_field,
)
from app.models.tables import link_key, one_of

ProposalStatus = Literal["draft", "published", "withdrawn"]
PROPOSAL_STATUSES: tuple[str, ...] = ("draft", "published", "withdrawn")
AnswerState = Literal["evaluating", "accepted", "rejected", "implemented"]
ANSWER_STATES: tuple[str, ...] = ("evaluating", "accepted", "rejected", "implemented")
# Values of `?status=`: a lifecycle status or an answer state.
StatusFilter = Literal[
    "draft", "published", "withdrawn", "evaluating", "accepted", "rejected", "implemented"
]
# Moderation state of content (as in `app/models/moderation.py`, which imports this module).
ModerationStatus = Literal["visible", "hidden", "pending"]
ProposalSort = Literal["supports", "recent", "comments", "random"]

TITLE_MIN, TITLE_MAX = 5, 150
BODY_MIN, BODY_MAX = 10, 10_000
ANSWER_MAX = 5_000
MAX_NODES = 10
MAX_COAUTHORS = 10

# The full-text document: the title weighs more than the body. Italian stemming, so that
# "biciclette" finds "bicicletta".
SEARCH_VECTOR_SQL = (
    "setweight(to_tsvector('italian'::regconfig, coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('italian'::regconfig, coalesce(body, '')), 'B')"
)


def _counter() -> Any:
    return Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))


class Proposal(SQLModel, table=True):
    __tablename__ = "proposals"
    __table_args__ = (
        CheckConstraint(one_of("status", PROPOSAL_STATUSES), name="status"),
        CheckConstraint(
            f"answer_state IS NULL OR {one_of('answer_state', ANSWER_STATES)}",
            name="answer_state",
        ),
        CheckConstraint("(answer_state IS NULL) = (answered_at IS NULL)", name="answered"),
        CheckConstraint("status = 'draft' OR published_at IS NOT NULL", name="published_at"),
        CheckConstraint("answer_state IS NULL OR status <> 'draft'", name="draft_unanswered"),
        CheckConstraint("supports_count >= 0 AND comments_count >= 0", name="counters"),
        CheckConstraint(f"char_length(title) BETWEEN 1 AND {TITLE_MAX}", name="title"),
        CheckConstraint(
            "moderation_status IN ('visible', 'hidden', 'pending')", name="moderation_status"
        ),
        # Keyset orders of the table's list (a btree serves both directions).
        Index("proposals_table_id_supports_count_id_idx", "table_id", "supports_count", "id"),
        Index("proposals_table_id_comments_count_id_idx", "table_id", "comments_count", "id"),
        Index(
            "proposals_table_id_listed_at_id_idx",
            "table_id",
            func.coalesce(text("published_at"), text("created_at")),
            "id",
        ),
    )

    id: uuid.UUID = id_field()
    # Indexed by the (table_id, …) keyset indexes.
    table_id: uuid.UUID = fk_field("participation_tables.id", index=False)
    organization_id: uuid.UUID = fk_field("organizations.id")
    # Null once the account is gone; a deleted (anonymized) author is shown as null too.
    author_id: uuid.UUID | None = fk_field("users.id", nullable=True, ondelete="SET NULL")
    municipality_id: uuid.UUID | None = fk_field(
        "municipalities.id", nullable=True, ondelete="SET NULL"
    )
    title: str = Field(sa_column=Column(String(TITLE_MAX), nullable=False))
    body: str = Field(sa_column=Column(Text, nullable=False))
    status: ProposalStatus = Field(default="draft", sa_column=Column(String(16), nullable=False))
    answer_state: AnswerState | None = Field(
        default=None, sa_column=Column(String(16), nullable=True)
    )
    answer_text: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    answered_at: datetime | None = timestamp_field()
    answered_by_id: uuid.UUID | None = fk_field(
        "users.id", nullable=True, ondelete="SET NULL", index=False
    )
    # `visible`; `pending` until a facilitator approves it (pre-moderation); `hidden` by
    # reports or a moderator. Only visible proposals are shown to people other than the
    # author and the moderators (see app/services/access/content.py).
    moderation_status: ModerationStatus = Field(
        default="visible",
        sa_column=Column(String(16), nullable=False, server_default="visible"),
    )
    supports_count: int = _counter()
    comments_count: int = _counter()
    # When the count first reached the table's threshold (the event is written once).
    threshold_reached_at: datetime | None = timestamp_field()
    # Bumped on every edit by the author: the ETag of GET/PATCH /v1/proposals/{id}.
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False, server_default="1"))
    published_at: datetime | None = timestamp_field()
    withdrawn_at: datetime | None = timestamp_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


# The full-text document, generated by PostgreSQL. Not mapped on the model, so that rows
# are never loaded or written with it; queries use `SEARCH_VECTOR`.
SEARCH_VECTOR: Column[Any] = Column(
    "search_vector", TSVECTOR, Computed(SEARCH_VECTOR_SQL, persisted=True), nullable=True
)
Proposal.__table__.append_column(SEARCH_VECTOR)  # type: ignore[attr-defined]
Index("proposals_search_vector_idx", SEARCH_VECTOR, postgresql_using="gin")

# A random key per proposal, drawn once by PostgreSQL when the row is inserted: the
# seeded `random` order walks it through an index instead of hashing and sorting the
# whole table on every page (see app/services/proposal_search.py). Unmapped, like
# `SEARCH_VECTOR`: never loaded or written with the row.
SHUFFLE_KEY_MAX = 2**31  # keys are in [0, 2^31)
SHUFFLE_KEY: Column[Any] = Column(
    "shuffle_key",
    Integer,
    nullable=False,
    server_default=text(f"(floor(random() * {SHUFFLE_KEY_MAX}))::integer"),
)
Proposal.__table__.append_column(SHUFFLE_KEY)  # type: ignore[attr-defined]
Index(
    "proposals_table_id_shuffle_key_id_idx",
    Proposal.__table__.c.table_id,  # type: ignore[attr-defined]
    SHUFFLE_KEY,
    Proposal.__table__.c.id,  # type: ignore[attr-defined]
)


class ProposalNode(SQLModel, table=True):
    """A plan node the proposal is about (a set: no order)."""

    __tablename__ = "proposal_nodes"
    __table_args__ = (Index("proposal_nodes_node_id_idx", "node_id"),)

    proposal_id: uuid.UUID = link_key("proposals.id")
    node_id: uuid.UUID = link_key("plan_nodes.id")


class ProposalCoauthor(SQLModel, table=True):
    __tablename__ = "proposal_coauthors"
    __table_args__ = (Index("proposal_coauthors_user_id_idx", "user_id"),)

    proposal_id: uuid.UUID = link_key("proposals.id")
    user_id: uuid.UUID = link_key("users.id")


class ProposalSupport(SQLModel, table=True):
    """One person's support of one proposal: the primary key makes a second one
    impossible; `table_id` (the proposal's) lets the per-person limit count quickly."""

    __tablename__ = "proposal_supports"
    __table_args__ = (Index("proposal_supports_user_id_table_id_idx", "user_id", "table_id"),)

    proposal_id: uuid.UUID = link_key("proposals.id")
    user_id: uuid.UUID = link_key("users.id")
    table_id: uuid.UUID = Field(
        sa_column=Column(
            UUID(as_uuid=True),
            ForeignKey("participation_tables.id", ondelete="CASCADE"),
            nullable=False,
        )
    )
    created_at: datetime = created_at_field()


class MinutesProposal(SQLModel, table=True):
    """A proposal linked from a meeting's minutes (discussed or born at the meeting)."""

    __tablename__ = "meeting_minutes_proposals"
    __table_args__ = (Index("meeting_minutes_proposals_proposal_id_idx", "proposal_id"),)

    meeting_id: uuid.UUID = link_key("meeting_minutes.meeting_id")
    proposal_id: uuid.UUID = link_key("proposals.id")


# --- schemas -------------------------------------------------------------------------


def _distinct(ids: list[uuid.UUID]) -> list[uuid.UUID]:
    return list(dict.fromkeys(ids))


Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=TITLE_MIN, max_length=TITLE_MAX)
]
Body = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=BODY_MIN, max_length=BODY_MAX)
]
NodeIds = Annotated[
    list[uuid.UUID],
    PField(min_length=1, max_length=MAX_NODES, description="Nodes of the table's plan."),
    AfterValidator(_distinct),
]
CoauthorIds = Annotated[
    list[uuid.UUID],
    PField(
        max_length=MAX_COAUTHORS,
        description="Co-authors: active members of the table (not the author).",
    ),
    AfterValidator(_distinct),
]


class ProposalCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    body: Body
    node_ids: NodeIds
    municipality_id: uuid.UUID | None = None
    status: Literal["draft", "published"] = PField(
        default="published",
        description='"draft" keeps a draft only its author sees; published otherwise.',
    )
    coauthor_ids: CoauthorIds = PField(default_factory=list)


class ProposalUpdate(BaseModel):
    """The author's edit; only the fields sent change (`municipality_id: null` clears)."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    body: Body | None = None
    node_ids: NodeIds | None = None
    municipality_id: uuid.UUID | None = None
    coauthor_ids: CoauthorIds | None = None


class ProposalAnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: AnswerState
    answer: Annotated[
        str | None,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=ANSWER_MAX),
    ] = PField(default=None, description="The answer's text; required unless evaluating.")


class PersonRef(BaseModel):
    id: uuid.UUID
    display_name: str


class ProposalAnswer(BaseModel):
    state: AnswerState
    text: str | None
    answered_at: datetime


class ProposalPublic(BaseModel):
    id: uuid.UUID
    table_id: uuid.UUID
    organization_id: uuid.UUID
    title: str
    body: str
    author: PersonRef | None = PField(description="Null once the author deleted the account.")
    coauthors: list[PersonRef]
    node_ids: list[uuid.UUID]
    municipality_id: uuid.UUID | None
    status: ProposalStatus = PField(description="Lifecycle: draft → published → withdrawn.")
    moderation_status: ModerationStatus = PField(
        description="visible; pending (awaiting a facilitator's approval) or hidden (by "
        "reports or a moderator): then shown only to its author and its moderators."
    )
    answer: ProposalAnswer | None = PField(
        description="The facilitators' answer: evaluating, accepted, rejected or implemented."
    )
    supports_count: int | None = PField(
        description="Null when the table hides supports (shown to its facilitators)."
    )
    comments_count: int
    comments_locked: bool = PField(
        default=False,
        description="The moderators locked its discussion: new comments and replies are "
        "refused (409 thread_locked).",
    )
    threshold_reached: bool | None = PField(
        description="Whether the supports reached the table's threshold (false without one; "
        "null when supports are hidden)."
    )
    supported_by_me: bool | None = PField(description="Null for anonymous callers.")
    budget_project_ids: list[uuid.UUID] = PField(
        default_factory=list,
        description="Participatory-budget projects this proposal became.",
    )
    editable_until: datetime | None = PField(
        description="For the author of a published proposal, while it can still be edited: "
        "when the edit window closes (drafts are always editable)."
    )
    published_at: datetime | None
    created_at: datetime
    updated_at: datetime


class ProposalPage(BaseModel):
    items: list[ProposalPublic]
    next_cursor: str | None = None
    seed: str | None = PField(
        default=None, description="With sort=random: the seed of this order (send it back)."
    )


class SimilarProposal(BaseModel):
    id: uuid.UUID
    title: str
    status: ProposalStatus
    moderation_status: ModerationStatus
    answer_state: AnswerState | None
    supports_count: int | None
    comments_count: int
    published_at: datetime | None
    similarity: float = PField(description="From 0 to 1: how alike the two proposals are.")


class SimilarPage(BaseModel):
    items: list[SimilarProposal]
    next_cursor: str | None = None


class ProposalDraft(BaseModel):
    """A proposal not written yet (`POST …/proposals/similar`): its title and body."""

    model_config = ConfigDict(extra="forbid")

    title: Title
    body: Body


class SimilarCheck(BaseModel):
    """Likely duplicates of a draft (`POST …/proposals/similar`, best first; also the
    answer of the older `POST …/proposals?check_similar=true` when there are any)."""

    similar: list[SimilarProposal]


class SupportStatus(BaseModel):
    proposal_id: uuid.UUID
    supported_by_me: bool
    supports_count: int | None = PField(description="Null when the table hides supports.")
    threshold_reached: bool | None
