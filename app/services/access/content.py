"""Who may see content — meetings, plans and their nodes, proposals — as SQL, so that
lookups only ever find what the actor may see.

**Meetings.** `meeting_shown_clause(actor)` / `visible_meetings` / `facilitated_meetings`:
meetings of tables the actor may see (hidden ones only for those who run the table), and
those of tables the actor runs; `get_visible_meeting` / `get_facilitated_meeting` are a
404 for anything else.

**Plans.** `plan_visible_clause(actor)`: every plan but drafts, and drafts of
organizations the actor administers; `get_admin_plan` / `get_admin_node` only the
latter's (writes).

**Proposals.**

* `proposal_visibility(actor)` (the conditions) / `visible_proposals(actor)` (a query):
  proposals of tables the actor may see (the tables' own rule: public, or private ones
  they belong to or administer), drafts only for their authors, and content that is not
  `visible` (`moderation_status` hidden, or pending approval) only for its author and
  its moderators (facilitators of its table, organization and platform admins). Every
  lookup of a proposal — `proposal_context`, lists, search, similar proposals, comments,
  supports — applies them, so anything else is a 404.
* `proposal_context(..., own=True)`: only the actor's own proposals: editing, publishing
  or withdrawing another person's proposal is a 404.
* `proposal_context(..., facilitated=True)`: only non-draft proposals of tables the actor
  runs (active facilitator, organization or platform admin): facilitators' answers.
* `proposal_context(..., supported=True)`: also proposals the actor supports, whatever
  their moderation status: a supporter may always withdraw their support, even from a
  proposal hidden or sent back for approval since.
"""

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, bindparam, exists, or_
from sqlalchemy.dialects.postgresql import UUID
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from app.errors import NotFound
from app.models.accounts import User
from app.models.integrations import Actor
from app.models.meetings import (
    Meeting,
)
from app.models.plans import (
    Plan,
    PlanNode,
)
from app.models.polls import Poll
from app.models.proposals import Proposal, ProposalSupport
from app.models.tables import ParticipationTable, TableSettings
from app.services.access.orgs import is_org_admin_clause
from app.services.access.standing import TableContext, context_of, standing_columns, table_context
from app.services.access.statements import (
    StatementCache,
    actor_kind,
    actor_params,
    template_actor,
)
from app.services.access.suspensions import one_for_writer
from app.services.access.tables import (
    can_see_table_clause,
    facilitates_clause,
)

MEETING_NOT_FOUND = "No meeting with this id."


def meeting_shown_clause(actor: User | None) -> ColumnElement[bool]:
    """SQL condition on `Meeting` joined to its `ParticipationTable`: not hidden by
    moderation, or the actor runs the table (its moderators)."""
    visible = col(Meeting.moderation_status) == "visible"
    if actor is None:
        return visible
    return or_(visible, facilitates_clause(actor))


def visible_meetings(actor: User | None) -> SelectOfScalar[Meeting]:
    return (
        select(Meeting)
        .join(ParticipationTable, col(ParticipationTable.id) == Meeting.table_id)
        .where(can_see_table_clause(actor), meeting_shown_clause(actor))
    )


def facilitated_meetings(actor: Actor) -> SelectOfScalar[Meeting]:
    return (
        select(Meeting)
        .join(ParticipationTable, col(ParticipationTable.id) == Meeting.table_id)
        .where(facilitates_clause(actor))
    )


async def _one_meeting(
    session: AsyncSession,
    stmt: SelectOfScalar[Meeting],
    meeting_id: uuid.UUID,
    for_update: bool,
    writer: User | None = None,
) -> Meeting:
    stmt = stmt.where(col(Meeting.id) == meeting_id)
    if for_update:
        # Lock the meeting row only (not its table), and as NO KEY UPDATE: it serializes
        # seat decisions without blocking inserts that merely reference the meeting.
        stmt = stmt.with_for_update(of=Meeting, key_share=True)
    meeting: Meeting | None = await one_for_writer(session, stmt, writer, Meeting.organization_id)
    if meeting is None:
        raise NotFound(MEETING_NOT_FOUND)
    return meeting


async def get_visible_meeting(
    session: AsyncSession,
    actor: User | None,
    meeting_id: uuid.UUID,
    *,
    for_update: bool = False,
    write: bool = False,
) -> Meeting:
    """The meeting if the actor may see it; with `write`, 403 `suspended` when the actor
    is suspended in its organization (same query)."""
    writer = actor if write else None
    return await _one_meeting(session, visible_meetings(actor), meeting_id, for_update, writer)


async def get_facilitated_meeting(
    session: AsyncSession, actor: Actor, meeting_id: uuid.UUID, *, for_update: bool = False
) -> Meeting:
    return await _one_meeting(session, facilitated_meetings(actor), meeting_id, for_update)


PLAN_NOT_FOUND = "No plan with this id."


NODE_NOT_FOUND = "No plan node with this id."


def plan_visible_clause(actor: User | None) -> ColumnElement[bool]:
    """SQL condition on `Plan`: published, or a draft of an organization the actor runs."""
    published = col(Plan.status) != "draft"
    if actor is None:
        return published
    return or_(published, is_org_admin_clause(actor, Plan.organization_id))


async def get_visible_plan(session: AsyncSession, actor: User | None, plan_id: uuid.UUID) -> Plan:
    """The plan, if `actor` may see it (404 if missing, or a draft they do not administer)."""
    plan = (
        await session.exec(select(Plan).where(col(Plan.id) == plan_id, plan_visible_clause(actor)))
    ).one_or_none()
    if plan is None:
        raise NotFound(PLAN_NOT_FOUND)
    return plan


async def get_admin_plan(
    session: AsyncSession, actor: Actor, plan_id: uuid.UUID, *, lock: bool = False
) -> Plan:
    """The plan, if `actor` administers its organization (404 otherwise)."""
    stmt = select(Plan).where(
        col(Plan.id) == plan_id, is_org_admin_clause(actor, Plan.organization_id)
    )
    if lock:
        stmt = stmt.with_for_update()
    plan = (await session.exec(stmt)).one_or_none()
    if plan is None:
        raise NotFound(PLAN_NOT_FOUND)
    return plan


async def get_visible_node(
    session: AsyncSession, actor: User | None, node_id: uuid.UUID
) -> PlanNode:
    """The node (live or archived), if `actor` may see its plan."""
    node = (
        await session.exec(
            select(PlanNode)
            .join(Plan, col(Plan.id) == PlanNode.plan_id)
            .where(col(PlanNode.id) == node_id, plan_visible_clause(actor))
        )
    ).one_or_none()
    if node is None:
        raise NotFound(NODE_NOT_FOUND)
    return node


async def get_admin_node(
    session: AsyncSession, actor: Actor, node_id: uuid.UUID, *, lock: bool = False
) -> PlanNode:
    """The node, if `actor` administers its organization (404 otherwise)."""
    stmt = select(PlanNode).where(
        col(PlanNode.id) == node_id, is_org_admin_clause(actor, PlanNode.organization_id)
    )
    if lock:
        stmt = stmt.with_for_update()
    node = (await session.exec(stmt)).one_or_none()
    if node is None:
        raise NotFound(NODE_NOT_FOUND)
    return node


PROPOSAL_NOT_FOUND = "No proposal with this id."


def proposal_visibility(
    actor: User | None, *, supported: bool = False
) -> list[ColumnElement[bool]]:
    """Conditions on `Proposal` joined to its `ParticipationTable`: the actor may see it.
    With `supported`, also a proposal the actor supports, whatever its moderation status
    (withdrawing a support from a proposal hidden since).

    Plain SQL, no extra query: the moderators' test (`facilitates_clause`, an EXISTS on
    the proposal's table) comes after the cheap column tests, which settle visible
    proposals and the actor's own."""
    visible = col(Proposal.moderation_status) == "visible"
    if actor is None:
        return [can_see_table_clause(actor), col(Proposal.status) != "draft", visible]
    mine = col(Proposal.author_id) == actor.id
    shown = [visible, mine]
    if supported:
        shown.append(
            exists().where(
                col(ProposalSupport.proposal_id) == Proposal.id,
                col(ProposalSupport.user_id) == actor.id,
            )
        )
    return [
        can_see_table_clause(actor),
        or_(col(Proposal.status) != "draft", mine),
        or_(*shown, facilitates_clause(actor)),
    ]


_VISIBILITIES: dict[str, list[ColumnElement[bool]]] = {}


def reusable_proposal_visibility(actor: User | None) -> list[ColumnElement[bool]]:
    """`proposal_visibility(actor)`, built once per kind of actor with the actor's id as
    the `actor_id` parameter (`statements.py`): a statement using it runs with
    `actor_params(actor)`. For hot statements that are otherwise built per request."""
    kind = actor_kind(actor)
    clauses = _VISIBILITIES.get(kind)
    if clauses is None:
        clauses = _VISIBILITIES[kind] = proposal_visibility(template_actor(actor))
    return clauses


def visible_proposals(actor: User | None) -> SelectOfScalar[Proposal]:
    """The proposals `actor` may see, as a query to narrow further."""
    return (
        select(Proposal)
        .join(ParticipationTable, col(ParticipationTable.id) == Proposal.table_id)
        .where(*proposal_visibility(actor))
    )


async def proposal_context(
    session: AsyncSession,
    actor: User | None,
    proposal_id: uuid.UUID,
    *,
    own: bool = False,
    facilitated: bool = False,
    supported: bool = False,
    for_update: bool = False,
    write: bool = False,
) -> tuple[Proposal, TableContext]:
    """A proposal the actor may see — with `own`, only their own; with `facilitated`, only
    a non-draft one of a table they run; with `supported`, also one they support whatever
    its moderation status — with its table context, in one query; with `write`, 403
    `suspended` when the actor is suspended in its organization."""
    proposal, ctx, _ = await proposal_context_with(
        session,
        actor,
        proposal_id,
        own=own,
        facilitated=facilitated,
        supported=supported,
        for_update=for_update,
        write=write,
    )
    return proposal, ctx


async def proposal_context_with(
    session: AsyncSession,
    actor: User | None,
    proposal_id: uuid.UUID,
    *,
    columns: Sequence[Any] = (),
    params: Mapping[str, Any] | None = None,
    own: bool = False,
    facilitated: bool = False,
    supported: bool = False,
    for_update: bool = False,
    write: bool = False,
) -> tuple[Proposal, TableContext, Sequence[Any]]:
    """`proposal_context`, and more `columns` (correlated to `Proposal`; their bound
    `params`; built once, at import) read in the same query: (proposal, context, the
    columns' values). The statement is built once per shape (`statements.py`)."""
    shape = (actor_kind(actor), own, facilitated, supported, for_update, *map(id, columns))
    stmt = _PROPOSAL_CONTEXTS.get(
        shape,
        lambda: _proposal_context_statement(
            template_actor(actor),
            columns,
            own=own,
            facilitated=facilitated,
            supported=supported,
            for_update=for_update,
        ),
    )
    bound = {**actor_params(actor), "proposal_id": proposal_id, **(params or {})}
    row = (await session.exec(stmt, params=bound)).one_or_none()
    if row is None:
        raise NotFound(PROPOSAL_NOT_FOUND)
    context_end = 7  # the proposal, then context_of's six columns
    return row[0], context_of(row[:context_end], write=write), row[context_end:]


_PROPOSAL_CONTEXTS = StatementCache()
_PROPOSAL_ID: Any = bindparam("proposal_id", type_=UUID(as_uuid=True))


def _proposal_context_statement(
    actor: User | None,
    columns: Sequence[Any],
    *,
    own: bool,
    facilitated: bool,
    supported: bool,
    for_update: bool,
) -> Any:
    # Seven columns and more: past the arity of SQLModel's typed `select` overloads.
    stmt: Any = (
        select(Proposal, ParticipationTable, TableSettings)
        .add_columns(*standing_columns(actor), *columns)
        .select_from(Proposal)
        .join(ParticipationTable, col(ParticipationTable.id) == Proposal.table_id)
        .outerjoin(TableSettings, col(TableSettings.table_id) == ParticipationTable.id)
        .where(col(Proposal.id) == _PROPOSAL_ID, *proposal_visibility(actor, supported=supported))
    )
    if own:
        assert actor is not None
        stmt = stmt.where(col(Proposal.author_id) == actor.id)
    if facilitated:
        assert actor is not None
        stmt = stmt.where(facilitates_clause(actor), col(Proposal.status) != "draft")
    if for_update:
        stmt = stmt.with_for_update(of=Proposal).execution_options(populate_existing=True)
    return stmt


POLL_NOT_FOUND = "No poll with this id."


async def poll_context(
    session: AsyncSession, actor: User | None, poll_id: uuid.UUID, *, write: bool = False
) -> tuple[Poll, TableContext]:
    """The poll, its table, the table's settings and the actor's standing there; 404
    unless the actor may see the table."""
    poll = await session.get(Poll, poll_id)
    if poll is None:
        raise NotFound(POLL_NOT_FOUND)
    try:
        ctx = await table_context(session, actor, poll.table_id)
    except NotFound:
        raise NotFound(POLL_NOT_FOUND) from None
    if write:
        ctx.require_not_suspended()
    return poll, ctx
