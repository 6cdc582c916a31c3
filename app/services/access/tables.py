"""Who may see and run a participation table, as SQL.

`member_clause` is the one membership condition; `can_see_table_clause` (public tables,
private ones the actor belongs to, every table of an organization they administer) and
`facilitates_clause` (active facilitator, organization or platform admin) build on it.
Everything that belongs to a table is looked up through `visible_tables` /
`facilitated_tables`, so a private table, its content and another table's facilitator
actions are a 404.
"""

import uuid
from collections.abc import Sequence

from sqlalchemy import ColumnElement, exists, false, or_, true
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from app.errors import NotFound
from app.models.accounts import User
from app.models.integrations import Actor, ClientActor
from app.models.tables import (
    ParticipationTable,
    TableMembership,
)
from app.services.access.orgs import is_org_admin_clause
from app.services.access.suspensions import one_for_writer

TABLE_NOT_FOUND = "No participation table with this id."


def member_clause(
    actor: User | None, *, statuses: Sequence[str] = ("active",), role: str | None = None
) -> ColumnElement[bool]:
    """SQL condition on `ParticipationTable`: the actor has a membership of the table in
    one of `statuses` (by default: an active member, facilitators included), with `role`
    when given. The one membership clause every access rule builds on."""
    if actor is None:
        return false()
    conditions = [
        col(TableMembership.table_id) == ParticipationTable.id,
        col(TableMembership.user_id) == actor.id,
        col(TableMembership.status).in_(statuses),
    ]
    if role is not None:
        conditions.append(col(TableMembership.role) == role)
    return exists().where(*conditions)


def can_see_table_clause(
    actor: User | None, *, include_invited: bool = False
) -> ColumnElement[bool]:
    """SQL condition on `ParticipationTable`: the actor may see the table.

    With `include_invited`, people invited to a private table may see the table itself
    (to decide whether to accept) — not its content."""
    public = col(ParticipationTable.visibility) == "public"
    if actor is None:
        return public
    if actor.is_platform_admin:
        return true()
    statuses = ("active", "invited") if include_invited else ("active",)
    return or_(
        public,
        member_clause(actor, statuses=statuses),
        is_org_admin_clause(actor, ParticipationTable.organization_id),
    )


def facilitates_clause(actor: Actor) -> ColumnElement[bool]:
    """SQL condition on `ParticipationTable`: the actor runs the table (a service client
    with meetings:write runs its organization's tables' meetings)."""
    if isinstance(actor, ClientActor):
        return is_org_admin_clause(actor, ParticipationTable.organization_id)
    if actor.is_platform_admin:
        return true()
    return or_(
        member_clause(actor, statuses=("active",), role="facilitator"),
        is_org_admin_clause(actor, ParticipationTable.organization_id),
    )


def visible_tables(
    actor: User | None, *, include_invited: bool = False
) -> SelectOfScalar[ParticipationTable]:
    return select(ParticipationTable).where(
        can_see_table_clause(actor, include_invited=include_invited)
    )


def facilitated_tables(actor: Actor) -> SelectOfScalar[ParticipationTable]:
    return select(ParticipationTable).where(facilitates_clause(actor))


async def _one_table(
    session: AsyncSession,
    stmt: SelectOfScalar[ParticipationTable],
    *,
    for_update: bool,
    writer: User | None = None,
) -> ParticipationTable:
    if for_update:
        # NO KEY UPDATE: serializes membership decisions without blocking inserts that
        # merely reference the table (meetings, proposals…).
        stmt = stmt.with_for_update(of=ParticipationTable, key_share=True)
    table: ParticipationTable | None = await one_for_writer(
        session, stmt, writer, ParticipationTable.organization_id
    )
    if table is None:
        raise NotFound(TABLE_NOT_FOUND)
    return table


async def get_visible_table(
    session: AsyncSession,
    actor: User | None,
    table_id: uuid.UUID,
    *,
    include_invited: bool = False,
    for_update: bool = False,
    write: bool = False,
) -> ParticipationTable:
    """The table if the actor may see it; with `write`, 403 `suspended` when the actor is
    suspended in its organization (same query)."""
    stmt = visible_tables(actor, include_invited=include_invited).where(
        col(ParticipationTable.id) == table_id
    )
    writer = actor if write else None
    return await _one_table(session, stmt, for_update=for_update, writer=writer)


async def get_facilitated_table(
    session: AsyncSession, actor: Actor, table_id: uuid.UUID, *, for_update: bool = False
) -> ParticipationTable:
    stmt = facilitated_tables(actor).where(col(ParticipationTable.id) == table_id)
    return await _one_table(session, stmt, for_update=for_update)


async def facilitates(session: AsyncSession, actor: User | None, table_id: uuid.UUID) -> bool:
    if actor is None:
        return False
    stmt = select(exists().where(col(ParticipationTable.id) == table_id, facilitates_clause(actor)))
    return bool((await session.exec(stmt)).one())
