"""The registry of content kinds: what comments, reports and moderation can be about.

Each kind declares, once, everything the comment, report and moderation paths need to
know about it — how to find it as an actor may see it (`find`), its table, its owner, its
moderation status column and the statuses it takes, who moderates it (`moderated_by`),
whether it takes comments, can be reported or locked, and whether its status moves the
public comment counter of what it is about. Those paths look a kind up here
(`kind_of(name)`) instead of testing names: a new kind (live questions, budget projects,
survey answers) plugs in by calling `register(ContentKind(...))` from its own module, and
adding its name to the API's `Literal` types (`tests/test_content_kinds.py` checks both
agree).
"""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, false, null, or_
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.errors import NotFound
from app.models.accounts import User
from app.models.comments import Comment
from app.models.meetings import Meeting
from app.models.plans import Plan, PlanNode
from app.models.polls import Poll
from app.models.proposals import Proposal
from app.models.tables import ParticipationTable
from app.services.access.content import (
    MEETING_NOT_FOUND,
    NODE_NOT_FOUND,
    POLL_NOT_FOUND,
    PROPOSAL_NOT_FOUND,
    plan_visible_clause,
    poll_context,
    proposal_context,
)
from app.services.access.orgs import is_org_admin_clause
from app.services.access.standing import TableContext, table_context
from app.services.access.suspensions import (
    one_with_suspension,
    refuse_if_suspended,
    suspension_columns,
)
from app.services.access.tables import facilitates_clause

COMMENT_NOT_FOUND = "No comment with this id."
PERSON_NOT_FOUND = "No person with this id."
NO_COMMENTS_HERE = "Comments are not available on this kind of resource."


@dataclass(frozen=True)
class Found:
    """A piece of content as the actor found it."""

    organization_id: uuid.UUID
    table_id: uuid.UUID | None
    owner_id: uuid.UUID | None  # the author (proposals, comments), the creator (meetings…)
    moderation_status: str | None  # None for kinds without one
    open_for_comments: bool = False
    # The table, its settings and the actor's standing (none off tables).
    context: TableContext | None = None


# (session, actor, id, write): `write` answers 403 `suspended` when the actor is suspended
# in the content's organization, from the same query (`access/suspensions.py`).
Finder = Callable[[AsyncSession, User | None, uuid.UUID, bool], Awaitable[Found]]
# (session, id, status): a kind whose status change does more than the UPDATE (pushes it
# to a live stream, writes its own event) sets it itself.
StatusSetter = Callable[[AsyncSession, uuid.UUID, str], Awaitable[None]]


@dataclass(frozen=True)
class ContentKind:
    name: str
    model: Any
    not_found: str
    # The content as `actor` may see it (moderators see hidden content); 404 otherwise;
    # with `write`, 403 `suspended` for a suspended actor.
    find: Finder | None
    # SQL condition on the model (joined to its table, when it has one): `actor` moderates it.
    moderated_by: Callable[[User], ColumnElement[bool]]
    # Further conditions on what moderators act on (drafts are their authors' alone).
    moderation_filter: Callable[[], tuple[ColumnElement[bool], ...]] = tuple
    on_tables: bool = True  # has `table_id` (else only `organization_id`)
    status_column: str | None = None
    statuses: tuple[str, ...] = ()  # the moderation statuses it may take
    takes_comments: bool = False
    reportable: bool = False
    lockable: bool = False  # a thread host (or root) a moderator can lock
    counts_comments: bool = False  # has `comments_count` (visible, undeleted comments)
    counted_in_host: bool = False  # its status moves its host's `comments_count`
    has_depth: bool = False  # threads: only depth 0 can be locked
    person: bool = False  # a person, not content: reported to an organization
    # The statuses in which everyone sees it (what may be reported).
    shown: tuple[str, ...] = ("visible",)
    set_status: StatusSetter | None = None

    def column(self, name: str) -> Any:
        return col(getattr(self.model, name))

    @property
    def status(self) -> Any:
        """The status column (KeyError-like AttributeError for kinds without one)."""
        if self.status_column is None:
            raise AttributeError(f"{self.name} has no moderation status")
        return self.column(self.status_column)


KINDS: dict[str, ContentKind] = {}


def register(kind: ContentKind) -> ContentKind:
    if kind.name in KINDS:
        raise ValueError(f"content kind {kind.name} is registered already")
    KINDS[kind.name] = kind
    return kind


def kind_of(name: str) -> ContentKind:
    """The registered kind; 404 for a name nothing registered."""
    kind = KINDS.get(name)
    if kind is None:
        raise NotFound("No such kind of content.")
    return kind


def kind_names(**flags: bool) -> tuple[str, ...]:
    """Names of the kinds with every given flag, e.g. `kind_names(takes_comments=True)`."""
    return tuple(
        name
        for name, kind in KINDS.items()
        if all(getattr(kind, flag) == value for flag, value in flags.items())
    )


def moderated_row(kind: ContentKind, actor: User, target_id: uuid.UUID) -> Any:
    """SELECT (organization_id, table_id, depth) of the target if `actor` moderates it."""
    from_table = kind.column("table_id") if kind.on_tables else null()
    depth = kind.column("depth") if kind.has_depth else null()
    stmt = sa_select(kind.column("organization_id"), from_table, depth).select_from(kind.model)
    if kind.on_tables:
        stmt = stmt.outerjoin(ParticipationTable, col(ParticipationTable.id) == from_table)
    return stmt.where(
        kind.column("id") == target_id, kind.moderated_by(actor), *kind.moderation_filter()
    )


# --- the kinds of today ----------------------------------------------------------------


def _table_open(ctx: TableContext) -> bool:
    return ctx.table.status == "open" and ctx.settings.comments_open


async def _table_context(
    session: AsyncSession, actor: User | None, table_id: uuid.UUID, not_found: str
) -> TableContext:
    """The table's context; a table the actor may not see hides the content itself."""
    try:
        return await table_context(session, actor, table_id)
    except NotFound:
        raise NotFound(not_found) from None


async def _find_proposal(
    session: AsyncSession, actor: User | None, pid: uuid.UUID, write: bool
) -> Found:
    """The proposals' rule (`proposal_context`); closed to comments when not published
    (draft, withdrawn) or rejected."""
    proposal, ctx = await proposal_context(session, actor, pid, write=write)
    open_ = (
        _table_open(ctx) and proposal.status == "published" and proposal.answer_state != "rejected"
    )
    return Found(
        proposal.organization_id,
        proposal.table_id,
        proposal.author_id,
        proposal.moderation_status,
        open_,
        ctx,
    )


async def _find_meeting(
    session: AsyncSession, actor: User | None, mid: uuid.UUID, write: bool
) -> Found:
    """Its table's visibility, and a hidden meeting only for its table's facilitators;
    closed to comments when cancelled."""
    meeting = await session.get(Meeting, mid)
    if meeting is None:
        raise NotFound(MEETING_NOT_FOUND)
    ctx = await _table_context(session, actor, meeting.table_id, MEETING_NOT_FOUND)
    if meeting.moderation_status != "visible" and not ctx.is_facilitator:
        raise NotFound(MEETING_NOT_FOUND)
    if write:
        ctx.require_not_suspended()
    open_ = _table_open(ctx) and meeting.status != "cancelled"
    return Found(
        meeting.organization_id,
        meeting.table_id,
        meeting.created_by_id,
        meeting.moderation_status,
        open_,
        ctx,
    )


async def _find_poll(
    session: AsyncSession, actor: User | None, poll_id: uuid.UUID, write: bool
) -> Found:
    """Its table's visibility (`poll_context`)."""
    poll, ctx = await poll_context(session, actor, poll_id, write=write)
    return Found(
        poll.organization_id, poll.table_id, poll.created_by_id, None, _table_open(ctx), ctx
    )


async def _find_plan_node(
    session: AsyncSession, actor: User | None, nid: uuid.UUID, write: bool
) -> Found:
    """Its plan's visibility (`plan_visible_clause`); closed to comments when the node or
    the plan is archived."""
    stmt: Any = (
        select(PlanNode, Plan.status)
        .add_columns(*suspension_columns(actor, PlanNode.organization_id))
        .join(Plan, col(Plan.id) == PlanNode.plan_id)
        .where(col(PlanNode.id) == nid, plan_visible_clause(actor))
    )
    row = (await session.exec(stmt)).one_or_none()
    if row is None:
        raise NotFound(NODE_NOT_FOUND)
    node, plan_status, suspended, until = row
    if write:
        refuse_if_suspended(suspended, until)
    open_ = node.archived_at is None and plan_status != "archived"
    return Found(node.organization_id, None, None, None, open_)


async def _find_comment(
    session: AsyncSession, actor: User | None, cid: uuid.UUID, write: bool
) -> Found:
    """A visible, undeleted comment on something the actor may see."""
    stmt = select(Comment).where(col(Comment.id) == cid)
    found = await one_with_suspension(session, stmt, actor, Comment.organization_id)
    comment: Comment | None = found[0]
    if comment is None or comment.deleted_at is not None or comment.status != "visible":
        raise NotFound(COMMENT_NOT_FOUND)
    host = KINDS[comment.target_type]
    assert host.find is not None
    try:
        await host.find(session, actor, comment.target_id, False)
    except NotFound:
        raise NotFound(COMMENT_NOT_FOUND) from None
    if write:
        refuse_if_suspended(found[1], found[2])
    return Found(comment.organization_id, comment.table_id, comment.author_id, comment.status)


def _table_moderators(actor: User) -> ColumnElement[bool]:
    return facilitates_clause(actor)


def _not_draft() -> tuple[ColumnElement[bool], ...]:
    return (col(Proposal.status) != "draft",)


def _comment_moderators(actor: User) -> ColumnElement[bool]:
    """Comments on a table's content: its moderators; on plan nodes: the org's admins."""
    return or_(facilitates_clause(actor), is_org_admin_clause(actor, Comment.organization_id))


def _node_moderators(actor: User) -> ColumnElement[bool]:
    return is_org_admin_clause(actor, PlanNode.organization_id)


def _no_content_moderators(actor: User) -> ColumnElement[bool]:
    """People are moderated through the organization named in the request, not here."""
    return false()


MODERATED = ("visible", "hidden", "pending")
PROPOSAL = register(
    ContentKind(
        "proposal",
        Proposal,
        PROPOSAL_NOT_FOUND,
        _find_proposal,
        _table_moderators,
        moderation_filter=_not_draft,
        status_column="moderation_status",
        statuses=MODERATED,
        takes_comments=True,
        reportable=True,
        lockable=True,
        counts_comments=True,
    )
)
COMMENT = register(
    ContentKind(
        "comment",
        Comment,
        COMMENT_NOT_FOUND,
        _find_comment,
        _comment_moderators,
        status_column="status",
        statuses=MODERATED,
        reportable=True,
        lockable=True,
        counted_in_host=True,
        has_depth=True,
    )
)
MEETING = register(
    ContentKind(
        "meeting",
        Meeting,
        MEETING_NOT_FOUND,
        _find_meeting,
        _table_moderators,
        status_column="moderation_status",
        statuses=("visible", "hidden"),
        takes_comments=True,
        reportable=True,
        lockable=True,
    )
)
POLL = register(
    ContentKind(
        "poll",
        Poll,
        POLL_NOT_FOUND,
        _find_poll,
        _table_moderators,
        takes_comments=True,
        lockable=True,
    )
)
PLAN_NODE = register(
    ContentKind(
        "plan_node",
        PlanNode,
        NODE_NOT_FOUND,
        _find_plan_node,
        _node_moderators,
        on_tables=False,
        takes_comments=True,
        lockable=True,
    )
)
# People are reported to (and moderated by) an organization named in the request.
USER = register(
    ContentKind(
        "user", User, PERSON_NOT_FOUND, None, _no_content_moderators, on_tables=False, person=True
    )
)
