"""Who administers an organization: `is_org_admin_clause` (SQL), `is_org_admin`,
`admin_organizations(user)` (the organizations the user administers, as a query) and
the lookups `get_admin_organization` (404 unless administered) and `get_organization`.
"""

import uuid
from typing import Any

from sqlalchemy import ColumnElement, exists, literal, true
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from app.errors import NotFound
from app.models.accounts import User
from app.models.integrations import ClientActor
from app.models.organizations import (
    Organization,
    OrganizationRole,
)
from app.services.access.suspensions import one_for_writer

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


async def get_organization(
    session: AsyncSession, slug: str, *, writer: User | None = None
) -> Organization:
    """The organization; with `writer`, 403 `suspended` when they are suspended in it
    (answered by the same query)."""
    stmt = select(Organization).where(col(Organization.slug) == slug)
    org: Organization | None = await one_for_writer(session, stmt, writer, Organization.id)
    if org is None:
        raise NotFound(ORG_NOT_FOUND)
    return org
