"""Who may see, write and run proposals — as SQL, so that lookups only ever find what the
actor may see — and the shared checks of the proposal and support services.

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

Who may take part (propose, support): active members of the table (facilitators
included) or — on a public table with an open membership policy — any verified person
who meets the table's eligibility rules (age, municipality), without joining first.
"""

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, exists, false, literal_column, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from app.errors import Conflict, Forbidden, NotFound, Unprocessable
from app.models.accounts import User
from app.models.organizations import Municipality
from app.models.proposals import Proposal, ProposalSupport, TableSettings
from app.models.tables import ParticipationTable, TableMembership
from app.services.memberships import eligibility_errors
from app.services.table_settings import default_settings
from app.services.tables import can_see_table_clause, facilitates_clause

PROPOSAL_NOT_FOUND = "No proposal with this id."
TABLE_NOT_FOUND = "No participation table with this id."
# The text-search configuration of proposals (Italian stemming and stop words).
ITALIAN: Any = literal_column("'italian'::regconfig")


# --- visibility ---------------------------------------------------------------------


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


def visible_proposals(actor: User | None) -> SelectOfScalar[Proposal]:
    """The proposals `actor` may see, as a query to narrow further."""
    return (
        select(Proposal)
        .join(ParticipationTable, col(ParticipationTable.id) == Proposal.table_id)
        .where(*proposal_visibility(actor))
    )


# --- a table and the actor's standing in it, in one query -----------------------------


@dataclass
class TableContext:
    table: ParticipationTable
    settings: TableSettings
    # Active member (or facilitator) of the table.
    is_member: bool
    # Runs the table: active facilitator, organization admin or platform admin.
    is_facilitator: bool

    @property
    def counts_visible(self) -> bool:
        return self.settings.supports != "hidden" or self.is_facilitator


def member_clause(actor: User | None) -> ColumnElement[bool]:
    """SQL condition on `ParticipationTable`: the actor is an active member."""
    if actor is None:
        return false()
    return exists().where(
        col(TableMembership.table_id) == ParticipationTable.id,
        col(TableMembership.user_id) == actor.id,
        col(TableMembership.status) == "active",
    )


def standing_columns(actor: User | None) -> tuple[Any, Any]:
    """`(is_member, is_facilitator)` as selectable columns."""
    facilitator = facilitates_clause(actor) if actor is not None else false()
    return member_clause(actor).label("is_member"), facilitator.label("is_facilitator")


def context_of(row: Any) -> TableContext:
    """A `TableContext` from a row of (…, ParticipationTable, TableSettings | None,
    is_member, is_facilitator) — the last four columns."""
    table, settings, is_member, is_facilitator = row[-4:]
    return TableContext(
        table=table,
        settings=settings if settings is not None else default_settings(table.id),
        is_member=bool(is_member),
        is_facilitator=bool(is_facilitator),
    )


async def table_context(
    session: AsyncSession, actor: User | None, table_id: uuid.UUID
) -> TableContext:
    """The table (404 unless the actor may see it), its settings and the actor's standing."""
    is_member, is_facilitator = standing_columns(actor)
    stmt = (
        select(ParticipationTable, TableSettings, is_member, is_facilitator)
        .outerjoin(TableSettings, col(TableSettings.table_id) == ParticipationTable.id)
        .where(col(ParticipationTable.id) == table_id, can_see_table_clause(actor))
    )
    row = (await session.exec(stmt)).one_or_none()
    if row is None:
        raise NotFound(TABLE_NOT_FOUND)
    return context_of(row)


async def proposal_context(
    session: AsyncSession,
    actor: User | None,
    proposal_id: uuid.UUID,
    *,
    own: bool = False,
    facilitated: bool = False,
    supported: bool = False,
    for_update: bool = False,
) -> tuple[Proposal, TableContext]:
    """A proposal the actor may see — with `own`, only their own; with `facilitated`, only
    a non-draft one of a table they run; with `supported`, also one they support whatever
    its moderation status — with its table context, in one query."""
    is_member, is_facilitator = standing_columns(actor)
    # Five columns: past the arity of SQLModel's typed `select` overloads.
    stmt: Any = (
        select(Proposal, ParticipationTable, TableSettings, is_member)
        .add_columns(is_facilitator)
        .select_from(Proposal)
        .join(ParticipationTable, col(ParticipationTable.id) == Proposal.table_id)
        .outerjoin(TableSettings, col(TableSettings.table_id) == ParticipationTable.id)
        .where(col(Proposal.id) == proposal_id, *proposal_visibility(actor, supported=supported))
    )
    if own:
        assert actor is not None
        stmt = stmt.where(col(Proposal.author_id) == actor.id)
    if facilitated:
        assert actor is not None
        stmt = stmt.where(facilitates_clause(actor), col(Proposal.status) != "draft")
    if for_update:
        stmt = stmt.with_for_update(of=Proposal).execution_options(populate_existing=True)
    row = (await session.exec(stmt)).one_or_none()
    if row is None:
        raise NotFound(PROPOSAL_NOT_FOUND)
    return row[0], context_of(row)


# --- checks shared by proposals and supports ------------------------------------------


def require_open_table(ctx: TableContext) -> None:
    if ctx.table.status != "open":
        raise Conflict(
            "This table is closed: its proposals and supports can no longer change.",
            code="table_closed",
        )


def require_participant(ctx: TableContext, actor: User) -> None:
    """403 unless the actor may take part in the table (see the module docstring)."""
    if ctx.is_member:
        return
    table = ctx.table
    if table.visibility == "public" and table.membership_policy == "open":
        errors = eligibility_errors(table, actor)
        if errors:
            raise Forbidden(
                "You do not meet this table's eligibility rules: "
                + "; ".join(e["msg"] for e in errors)
                + ".",
                code="not_eligible",
                errors=errors,
            )
        return
    raise Forbidden(
        "Only the members of this table may take part; join it first.", code="not_a_member"
    )


def require_proposals_open(ctx: TableContext) -> None:
    if not ctx.settings.proposals_open:
        raise Conflict("This table does not accept proposals now.", code="proposals_closed")


def require_plan(ctx: TableContext) -> uuid.UUID:
    if ctx.table.plan_id is None:
        raise Unprocessable(
            "This table is not linked to a plan, so proposals have no nodes to refer to.",
            code="no_plan",
            errors=[
                {"loc": ["body", "node_ids"], "msg": "the table has no plan", "code": "no_plan"}
            ],
        )
    return ctx.table.plan_id


async def check_municipality(
    session: AsyncSession, organization_id: uuid.UUID, municipality_id: uuid.UUID | None
) -> None:
    if municipality_id is None:
        return
    found = (
        await session.exec(
            select(Municipality.id).where(
                col(Municipality.id) == municipality_id,
                col(Municipality.organization_id) == organization_id,
            )
        )
    ).first()
    if found is None:
        raise Unprocessable(
            "Not a municipality of this table's organization.",
            code="unknown_municipality",
            errors=[
                {
                    "loc": ["body", "municipality_id"],
                    "msg": "not a municipality of this organization",
                    "code": "unknown_municipality",
                }
            ],
        )


async def check_coauthors(
    session: AsyncSession, table_id: uuid.UUID, author_id: uuid.UUID, ids: list[uuid.UUID]
) -> None:
    """Co-authors are active members of the table, other than the author."""
    if not ids:
        return
    members = set(
        (
            await session.exec(
                select(TableMembership.user_id)
                .join(User, col(User.id) == TableMembership.user_id)
                .where(
                    col(TableMembership.table_id) == table_id,
                    col(TableMembership.user_id).in_(ids),
                    col(TableMembership.status) == "active",
                    col(User.deleted_at).is_(None),
                )
            )
        ).all()
    )
    errors = [
        {
            "loc": ["body", "coauthor_ids", i],
            "msg": "co-authors are active members of the table, other than the author",
            "code": "unknown_coauthor",
        }
        for i, user_id in enumerate(ids)
        if user_id not in members or user_id == author_id
    ]
    if errors:
        raise Unprocessable(
            "Co-authors must be active members of the table (other than the author).",
            code="unknown_coauthor",
            errors=errors,
        )
