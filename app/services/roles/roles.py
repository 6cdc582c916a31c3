"""Organization roles: listing, assigning and revoking them. Appointing or dismissing a
facilitator goes through `app/services/tables/facilitators.py` (a facilitator is a
membership of a table).
"""

import uuid
from datetime import datetime

from sqlalchemy import (
    String,
    Subquery,
    cast,
    func,
    literal,
    null,
    union_all,
)
from sqlalchemy import Uuid as SAUuid
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.error_codes import ErrorCode
from app.errors import Conflict, NotFound
from app.event_types import EventType
from app.models.accounts import User
from app.models.organizations import (
    Organization,
    OrganizationRole,
    RoleAssign,
    RolePublic,
    RoleRevoke,
)
from app.models.tables import ParticipationTable, TableMembership
from app.pagination import PageParams, SortKey, paginate
from app.services.access.orgs import get_admin_organization
from app.services.accounts.people import find_named_person
from app.services.audit.write import record_audit
from app.services.tables.facilitators import (
    appoint_facilitator,
    dismiss_facilitator,
    dismiss_facilitator_by_id,
)


def _role_public(role: OrganizationRole, display_name: str) -> RolePublic:
    return RolePublic(
        id=role.id,
        organization_id=role.organization_id,
        user_id=role.user_id,
        display_name=display_name,
        role=role.role,
        created_at=role.created_at,
    )


def _assignments(org_id: uuid.UUID) -> Subquery:
    """Every role held in the organization, one row each: its admins, and the
    facilitators of its tables (an active membership with the facilitator role, whose id
    is the assignment's id, dated from when the role was given)."""
    admins = sa_select(
        col(OrganizationRole.id).label("id"),
        col(OrganizationRole.user_id).label("user_id"),
        col(OrganizationRole.role).label("role"),
        cast(null(), SAUuid).label("table_id"),
        col(OrganizationRole.created_at).label("created_at"),
    ).where(col(OrganizationRole.organization_id) == org_id)
    facilitators = (
        sa_select(
            col(TableMembership.id),
            col(TableMembership.user_id),
            literal("facilitator", String),
            col(TableMembership.table_id),
            func.coalesce(col(TableMembership.role_since), col(TableMembership.created_at)),
        )
        .join(ParticipationTable, col(ParticipationTable.id) == TableMembership.table_id)
        .where(
            col(ParticipationTable.organization_id) == org_id,
            col(TableMembership.status) == "active",
            col(TableMembership.role) == "facilitator",
        )
    )
    return union_all(admins, facilitators).subquery("assignments")


async def list_roles(
    session: AsyncSession,
    actor: User,
    slug: str,
    params: PageParams,
    role: str | None = None,
    table_id: uuid.UUID | None = None,
) -> tuple[list[RolePublic], str | None]:
    org = await get_admin_organization(session, actor, slug)
    a = _assignments(org.id)
    stmt = sa_select(a, col(User.display_name)).join(User, col(User.id) == a.c.user_id)
    if role is not None:
        stmt = stmt.where(a.c.role == role)
    if table_id is not None:
        stmt = stmt.where(a.c.table_id == table_id)
    keys = [SortKey(a.c.created_at, kind=datetime), SortKey(a.c.id, kind=uuid.UUID)]
    rows, cursor = await paginate(
        session, stmt, keys, params, key_of=lambda r: (r.created_at, r.id)
    )
    return [
        RolePublic(
            id=r.id,
            organization_id=org.id,
            user_id=r.user_id,
            display_name=r.display_name,
            role=r.role,
            table_id=r.table_id,
            created_at=r.created_at,
        )
        for r in rows
    ], cursor


async def assign_role(
    session: AsyncSession, actor: User, slug: str, data: RoleAssign
) -> RolePublic:
    org = await get_admin_organization(session, actor, slug)
    user = await find_named_person(session, data.user_id, data.email)
    if data.role == "facilitator":
        assert data.table_id is not None
        return await appoint_facilitator(session, actor, org, user, data.table_id)
    if (
        await session.exec(
            select(OrganizationRole.id).where(
                col(OrganizationRole.organization_id) == org.id,
                col(OrganizationRole.user_id) == user.id,
                col(OrganizationRole.role) == data.role,
            )
        )
    ).first() is not None:
        raise Conflict("This person already has this role.", code=ErrorCode.ROLE_EXISTS)
    role = OrganizationRole(organization_id=org.id, user_id=user.id, role=data.role)
    session.add(role)
    await session.flush()
    record_audit(
        session,
        EventType.ORGANIZATION_ROLE_ASSIGNED,
        organization_id=org.id,
        actor_id=actor.id,
        target_type="user",
        target_id=user.id,
        data={"role": data.role, "role_id": str(role.id)},
    )
    return _role_public(role, user.display_name)


async def revoke_role(session: AsyncSession, actor: User, slug: str, data: RoleRevoke) -> None:
    org = await get_admin_organization(session, actor, slug)
    if data.role == "facilitator":
        assert data.table_id is not None
        return await dismiss_facilitator(session, actor, org, data.user_id, data.table_id)
    role = (
        await session.exec(
            select(OrganizationRole)
            .where(
                col(OrganizationRole.organization_id) == org.id,
                col(OrganizationRole.user_id) == data.user_id,
                col(OrganizationRole.role) == data.role,
            )
            .with_for_update()
        )
    ).one_or_none()
    if role is None:
        raise NotFound("This person does not have this role here.")
    await _delete_role(session, actor, org, role)


async def revoke_role_by_id(
    session: AsyncSession, actor: User, slug: str, role_id: uuid.UUID
) -> None:
    org = await get_admin_organization(session, actor, slug)
    role = (
        await session.exec(
            select(OrganizationRole)
            .where(
                col(OrganizationRole.organization_id) == org.id,
                col(OrganizationRole.id) == role_id,
            )
            .with_for_update()
        )
    ).one_or_none()
    if role is None:
        # A facilitator's appointment has the id of their membership.
        return await dismiss_facilitator_by_id(session, actor, org, role_id)
    await _delete_role(session, actor, org, role)


async def _delete_role(
    session: AsyncSession, actor: User, org: Organization, role: OrganizationRole
) -> None:
    if role.role == "admin" and not actor.is_platform_admin:
        # Lock the organization's admin rows so two admins cannot remove each other at once.
        admins = (
            await session.exec(
                select(OrganizationRole.id)
                .where(
                    col(OrganizationRole.organization_id) == org.id,
                    col(OrganizationRole.role) == "admin",
                )
                .with_for_update()
            )
        ).all()
        if len(admins) <= 1:
            raise Conflict(
                "An organization keeps at least one admin; appoint another first.",
                code=ErrorCode.LAST_ADMIN,
            )
    await session.delete(role)
    record_audit(
        session,
        EventType.ORGANIZATION_ROLE_REVOKED,
        organization_id=org.id,
        actor_id=actor.id,
        target_type="user",
        target_id=role.user_id,
        data={"role": role.role, "role_id": str(role.id)},
    )
