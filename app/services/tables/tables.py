"""Participation tables: creating, listing, reading and editing them.

Who may see and run a table is `app/services/access/tables.py`: `visible_tables(actor)`
only finds the tables the actor may see (public ones, private ones where they are an
active member, every table of an organization they administer); `facilitated_tables(actor)`
only the tables they run (active facilitator, organization admin, platform admin).
Everything that belongs to a table (memberships, meetings, registrations, calendars) is
looked up through them, so a private table, its content and another table's facilitator
actions are a 404.
"""

import uuid
from collections.abc import Sequence
from typing import Any

from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.error_codes import ErrorCode
from app.errors import Conflict, NotFound, Unprocessable
from app.etag import check_if_match
from app.event_types import EventType
from app.models.accounts import User
from app.models.meetings import Meeting, MeetingPlanNode
from app.models.organizations import Organization
from app.models.tables import (
    Eligibility,
    ParticipationTable,
    TableCreate,
    TablePlanNode,
    TablePublic,
    TableUpdate,
)
from app.pagination import PageParams, SortKey, paginate
from app.services.access.content import get_visible_plan
from app.services.access.orgs import get_admin_organization, get_organization
from app.services.access.tables import get_facilitated_table, get_visible_table, visible_tables
from app.services.audit.write import record_audit
from app.services.organizations.organizations import check_municipalities
from app.services.plans.plans import checked_node_ids
from app.services.tables.responses import active_member_counts, table_public, tables_public
from app.services.validation import field_error, null_errors, raise_if, require_default_locale

# --- who may see and run a table ----------------------------------------------------


# --- validation shared with meetings --------------------------------------------------


async def check_plan(
    session: AsyncSession, actor: User, org: Organization, plan_id: uuid.UUID
) -> None:
    """422 unless the plan exists, the actor may see it and it belongs to `org`."""
    try:
        plan = await get_visible_plan(session, actor, plan_id)
    except NotFound:
        plan = None
    if plan is None or plan.organization_id != org.id:
        raise Unprocessable(
            "No plan of this organization has this id.",
            code=ErrorCode.UNKNOWN_PLAN,
            errors=[field_error(["body", "plan_id"], "no such plan here", ErrorCode.UNKNOWN_PLAN)],
        )


async def set_table_nodes(
    session: AsyncSession, table_id: uuid.UUID, node_ids: Sequence[uuid.UUID]
) -> None:
    """Make the table's set of linked plan nodes exactly `node_ids`."""
    await session.exec(delete(TablePlanNode).where(col(TablePlanNode.table_id) == table_id))
    session.add_all(TablePlanNode(table_id=table_id, node_id=n) for n in node_ids)


# --- CRUD -----------------------------------------------------------------------------


async def _check_slug_free(
    session: AsyncSession, org_id: uuid.UUID, slug: str, *, except_id: uuid.UUID | None = None
) -> None:
    stmt = select(ParticipationTable.id).where(
        col(ParticipationTable.organization_id) == org_id, col(ParticipationTable.slug) == slug
    )
    if except_id is not None:
        stmt = stmt.where(col(ParticipationTable.id) != except_id)
    if (await session.exec(stmt)).first() is not None:
        raise Conflict(
            "This organization already has a table with this slug.", code=ErrorCode.SLUG_TAKEN
        )


async def _check_input(
    session: AsyncSession, org: Organization, data: TableCreate | TableUpdate
) -> None:
    require_default_locale(
        org,
        [(["body", "name"], data.name, True), (["body", "description"], data.description, False)],
    )
    if data.eligibility is not None:
        await check_municipalities(
            session,
            org,
            data.eligibility.municipality_ids,
            ["body", "eligibility", "municipality_ids"],
        )


def _apply_eligibility(table: ParticipationTable, eligibility: Eligibility | None) -> None:
    rules = eligibility or Eligibility()
    table.min_age = rules.min_age
    table.max_age = rules.max_age
    table.eligible_municipality_ids = list(dict.fromkeys(rules.municipality_ids))


async def create_table(
    session: AsyncSession, actor: User, org_slug: str, data: TableCreate
) -> tuple[TablePublic, int]:
    """Returns the table and its version (for the ETag)."""
    org = await get_admin_organization(session, actor, org_slug)
    await _check_input(session, org, data)
    await _check_slug_free(session, org.id, data.slug)
    if data.plan_id is not None:
        await check_plan(session, actor, org, data.plan_id)
    node_ids = await checked_node_ids(session, data.plan_id, data.node_ids)
    table = ParticipationTable(
        organization_id=org.id,
        slug=data.slug,
        name=data.name,
        description=data.description,
        plan_id=data.plan_id,
        visibility=data.visibility,
        membership_policy=data.membership_policy,
        max_members=data.max_members,
        status=data.status,
        created_by_id=actor.id,
    )
    _apply_eligibility(table, data.eligibility)
    session.add(table)
    await session.flush()
    await set_table_nodes(session, table.id, node_ids)
    record_audit(
        session,
        EventType.TABLE_CREATED,
        organization_id=org.id,
        actor_id=actor.id,
        target_type="table",
        target_id=table.id,
        data={"slug": table.slug, "visibility": table.visibility},
    )
    await session.flush()
    return await table_public(session, actor, table), table.version


async def list_tables(
    session: AsyncSession, actor: User | None, org_slug: str, params: PageParams
) -> tuple[list[TablePublic], str | None]:
    org = await get_organization(session, org_slug)
    keys = [SortKey(ParticipationTable.slug), SortKey(ParticipationTable.id, kind=uuid.UUID)]
    tables, cursor = await paginate(
        session,
        visible_tables(actor, include_invited=True).where(
            col(ParticipationTable.organization_id) == org.id
        ),
        keys,
        params,
        key_of=lambda t: (t.slug, t.id),
    )
    return await tables_public(session, actor, tables), cursor


async def get_table(
    session: AsyncSession, actor: User | None, table_id: uuid.UUID
) -> tuple[TablePublic, int]:
    table = await get_visible_table(session, actor, table_id, include_invited=True)
    return await table_public(session, actor, table), table.version


NOT_NULL = ("slug", "name", "visibility", "membership_policy", "status", "node_ids")


async def update_table(
    session: AsyncSession,
    actor: User,
    table_id: uuid.UUID,
    data: TableUpdate,
    if_match: str | None,
) -> tuple[TablePublic, int]:
    table = await get_facilitated_table(session, actor, table_id, for_update=True)
    check_if_match(if_match, table.version)
    raise_if(null_errors(data, NOT_NULL))
    changes: dict[str, Any] = data.model_dump(exclude_unset=True)
    org = await session.get(Organization, table.organization_id)
    assert org is not None
    await _check_input(session, org, data)
    if data.slug is not None and data.slug != table.slug:
        await _check_slug_free(session, org.id, data.slug, except_id=table.id)
    plan_changed = "plan_id" in changes and data.plan_id != table.plan_id
    if plan_changed:
        if data.plan_id is not None:
            await check_plan(session, actor, org, data.plan_id)
        await _check_plan_unlinkable(session, table)
    if "max_members" in changes and data.max_members is not None:
        members = (await active_member_counts(session, [table.id])).get(table.id, 0)
        if data.max_members < members:
            raise Conflict(
                f"The table already has {members} members; max_members cannot be lower.",
                code=ErrorCode.MAX_MEMBERS_BELOW_MEMBERS,
            )
    new_plan_id = data.plan_id if "plan_id" in changes else table.plan_id
    if "node_ids" in changes or plan_changed:
        node_ids = await checked_node_ids(session, new_plan_id, data.node_ids or [])
        await set_table_nodes(session, table.id, node_ids)
    for field in ("slug", "name", "visibility", "membership_policy", "status", "max_members"):
        if field in changes:
            setattr(table, field, changes[field])
    if "description" in changes:
        table.description = data.description or {}
    if "plan_id" in changes:
        table.plan_id = data.plan_id
    if "eligibility" in changes:
        _apply_eligibility(table, data.eligibility)
    if changes:
        table.version += 1
        record_audit(
            session,
            EventType.TABLE_UPDATED,
            organization_id=table.organization_id,
            actor_id=actor.id,
            target_type="table",
            target_id=table.id,
            data={"fields": sorted(changes)},
        )
        await session.flush()
        await session.refresh(table)
    return await table_public(session, actor, table), table.version


async def _check_plan_unlinkable(session: AsyncSession, table: ParticipationTable) -> None:
    """A table's plan cannot change while its meetings are linked to the plan's nodes."""
    linked = (
        await session.exec(
            select(MeetingPlanNode.meeting_id)
            .join(Meeting, col(Meeting.id) == MeetingPlanNode.meeting_id)
            .where(col(Meeting.table_id) == table.id)
            .limit(1)
        )
    ).first()
    if linked is not None:
        raise Conflict(
            "Meetings of this table are linked to nodes of its plan; unlink them first.",
            code=ErrorCode.PLAN_IN_USE,
        )
