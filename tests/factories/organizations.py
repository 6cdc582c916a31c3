"""Organizations, their municipalities and their settings."""

import uuid

from sqlalchemy import update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models.accounts import User
from app.models.organizations import Municipality, Organization, OrganizationRole


async def make_org(
    session: AsyncSession, *, slug: str | None = None, admin: User | None = None
) -> Organization:
    org = Organization(slug=slug or f"org-{uuid.uuid4().hex[:8]}", name="Test Organization")
    session.add(org)
    await session.flush()
    if admin is not None:
        session.add(OrganizationRole(organization_id=org.id, user_id=admin.id, role="admin"))
        await session.flush()
    return org


async def make_municipality(session: AsyncSession, org: Organization, name: str) -> Municipality:
    municipality = Municipality(organization_id=org.id, name=name)
    session.add(municipality)
    await session.flush()
    return municipality


async def set_report_threshold(session: AsyncSession, org: Organization, threshold: int) -> None:
    """Replace the organization's settings with just this report threshold."""
    await session.exec(
        update(Organization)
        .where(col(Organization.id) == org.id)
        .values(settings={"report_threshold": threshold})
    )
    await session.flush()


async def set_blocked_words(session: AsyncSession, org: Organization, words: list[str]) -> None:
    """Set the organization's word filter, keeping its other settings."""
    org.settings = {**(org.settings or {}), "blocked_words": words}
    session.add(org)
    await session.flush()
