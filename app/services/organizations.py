"""Organizations, municipalities and organization roles.

Authorization lives in the queries: `_admin_organization` only finds an organization the
actor administers, so another organization's admin gets a 404, not a 403.
"""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    Subquery,
    cast,
    exists,
    func,
    literal,
    null,
    true,
    union_all,
)
from sqlalchemy import Uuid as SAUuid
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from app.errors import Conflict, NotFound, Unprocessable
from app.models.accounts import User
from app.models.integrations import ClientActor
from app.models.organizations import (
    Municipality,
    MunicipalityCreate,
    Organization,
    OrganizationCreate,
    OrganizationPublic,
    OrganizationRole,
    OrganizationUpdate,
    RoleAssign,
    RolePublic,
    RoleRevoke,
)
from app.models.tables import ParticipationTable, TableMembership
from app.pagination import PageParams, SortKey, paginate
from app.services.accounts import find_named_person
from app.services.audit import record_audit

ORG_NOT_FOUND = "No organization with this slug."
# Where only its admins may act (the organization itself may well be public).
ADMINISTERED_ORG_NOT_FOUND = "No organization with this slug that you administer."


def is_org_admin_clause(user: User | ClientActor, organization_id: Any) -> ColumnElement[bool]:
    """SQL condition: `user` administers the organization whose id is `organization_id`
    (a column or a value). Platform admins administer every organization; a service
    client acts for its own organization (the endpoint's dependency checked its scope)."""
    if isinstance(user, ClientActor):
        own: ColumnElement[bool] = literal(user.organization_id) == organization_id
        return own
    if user.is_platform_admin:
        return true()
    return exists().where(
        col(OrganizationRole.organization_id) == organization_id,
        col(OrganizationRole.user_id) == user.id,
        col(OrganizationRole.role) == "admin",
    )


async def is_org_admin(session: AsyncSession, user: User, organization_id: uuid.UUID) -> bool:
    """Whether `user` administers the organization (platform admins administer all)."""
    if user.is_platform_admin:
        return True
    return bool((await session.exec(select(is_org_admin_clause(user, organization_id)))).one())


def admin_organizations(user: User) -> SelectOfScalar[Organization]:
    """The organizations `user` may administer, as a query to narrow further."""
    stmt = select(Organization)
    if not user.is_platform_admin:
        stmt = stmt.where(is_org_admin_clause(user, Organization.id))
    return stmt


async def get_admin_organization(session: AsyncSession, user: User, slug: str) -> Organization:
    org = (
        await session.exec(admin_organizations(user).where(col(Organization.slug) == slug))
    ).one_or_none()
    if org is None:
        raise NotFound(ADMINISTERED_ORG_NOT_FOUND)
    return org


async def get_organization(session: AsyncSession, slug: str) -> Organization:
    org = (
        await session.exec(select(Organization).where(col(Organization.slug) == slug))
    ).one_or_none()
    if org is None:
        raise NotFound(ORG_NOT_FOUND)
    return org


async def _municipality_counts(
    session: AsyncSession, org_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    if not org_ids:
        return {}
    rows = await session.exec(
        select(Municipality.organization_id, func.count())
        .where(col(Municipality.organization_id).in_(org_ids))
        .group_by(col(Municipality.organization_id))
    )
    return {org_id: count for org_id, count in rows.all()}


def to_public(org: Organization, municipalities_count: int) -> OrganizationPublic:
    return OrganizationPublic(
        id=org.id,
        slug=org.slug,
        name=org.name,
        default_locale=org.default_locale,
        municipalities_count=municipalities_count,
        created_at=org.created_at,
        updated_at=org.updated_at,
    )


async def organization_public(session: AsyncSession, org: Organization) -> OrganizationPublic:
    counts = await _municipality_counts(session, [org.id])
    return to_public(org, counts.get(org.id, 0))


async def list_organizations(
    session: AsyncSession, params: PageParams
) -> tuple[list[OrganizationPublic], str | None]:
    keys = [SortKey(Organization.slug), SortKey(Organization.id, kind=uuid.UUID)]
    orgs, cursor = await paginate(
        session, select(Organization), keys, params, key_of=lambda o: (o.slug, o.id)
    )
    counts = await _municipality_counts(session, [o.id for o in orgs])
    return [to_public(o, counts.get(o.id, 0)) for o in orgs], cursor


async def add_municipalities(
    session: AsyncSession, org: Organization, names: Sequence[str]
) -> list[Municipality]:
    """Add the named municipalities that the organization does not have yet."""
    existing = set(
        (
            await session.exec(
                select(Municipality.name).where(col(Municipality.organization_id) == org.id)
            )
        ).all()
    )
    added = []
    for name in dict.fromkeys(n.strip() for n in names if n.strip()):
        if name not in existing:
            municipality = Municipality(organization_id=org.id, name=name)
            session.add(municipality)
            added.append(municipality)
    return added


async def create_organization(
    session: AsyncSession, actor: User, data: OrganizationCreate
) -> OrganizationPublic:
    if (
        await session.exec(select(Organization.id).where(col(Organization.slug) == data.slug))
    ).first() is not None:
        raise Conflict("An organization with this slug already exists.", code="slug_taken")
    org = Organization(slug=data.slug, name=data.name.strip(), default_locale=data.default_locale)
    session.add(org)
    await session.flush()
    added = await add_municipalities(session, org, data.municipalities)
    record_audit(
        session,
        "organization.created",
        organization_id=org.id,
        actor_id=actor.id,
        target_type="organization",
        target_id=org.id,
        data={"slug": org.slug, "municipality_ids": [str(m.id) for m in added]},
    )
    await session.flush()
    return await organization_public(session, org)


async def update_organization(
    session: AsyncSession, actor: User, slug: str, data: OrganizationUpdate
) -> OrganizationPublic:
    org = await get_admin_organization(session, actor, slug)
    changes = data.model_dump(exclude_unset=True)
    for field, value in changes.items():
        if value is None:
            raise Unprocessable(
                f"{field} cannot be null.",
                code="invalid_field",
                errors=[{"loc": ["body", field], "msg": "cannot be null", "code": "null"}],
            )
        setattr(org, field, value.strip() if isinstance(value, str) else value)
    if changes:
        record_audit(
            session,
            "organization.updated",
            organization_id=org.id,
            actor_id=actor.id,
            target_type="organization",
            target_id=org.id,
            data={"fields": sorted(changes)},
        )
        await session.flush()
        await session.refresh(org)
    return await organization_public(session, org)


async def list_municipalities(
    session: AsyncSession, slug: str, params: PageParams
) -> tuple[list[Municipality], str | None]:
    org = await get_organization(session, slug)
    keys = [SortKey(Municipality.name), SortKey(Municipality.id, kind=uuid.UUID)]
    return await paginate(
        session,
        select(Municipality).where(col(Municipality.organization_id) == org.id),
        keys,
        params,
        key_of=lambda m: (m.name, m.id),
    )


async def create_municipality(
    session: AsyncSession, actor: User, slug: str, data: MunicipalityCreate
) -> Municipality:
    org = await get_admin_organization(session, actor, slug)
    name = data.name.strip()
    if (
        await session.exec(
            select(Municipality.id).where(
                col(Municipality.organization_id) == org.id, col(Municipality.name) == name
            )
        )
    ).first() is not None:
        raise Conflict(
            "This organization already has a municipality with this name.",
            code="municipality_exists",
        )
    municipality = Municipality(organization_id=org.id, name=name, istat_code=data.istat_code)
    session.add(municipality)
    await session.flush()
    record_audit(
        session,
        "municipality.created",
        organization_id=org.id,
        actor_id=actor.id,
        target_type="municipality",
        target_id=municipality.id,
        data={"name": name},
    )
    return municipality


# --- roles ---------------------------------------------------------------------------


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
        from app.services.facilitators import appoint_facilitator  # (it imports this module)

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
        raise Conflict("This person already has this role.", code="role_exists")
    role = OrganizationRole(organization_id=org.id, user_id=user.id, role=data.role)
    session.add(role)
    await session.flush()
    record_audit(
        session,
        "organization.role_assigned",
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
        from app.services.facilitators import dismiss_facilitator  # (it imports this module)

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
        from app.services.facilitators import dismiss_facilitator_by_id  # (imports this)

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
                code="last_admin",
            )
    await session.delete(role)
    record_audit(
        session,
        "organization.role_revoked",
        organization_id=org.id,
        actor_id=actor.id,
        target_type="user",
        target_id=role.user_id,
        data={"role": role.role, "role_id": str(role.id)},
    )
