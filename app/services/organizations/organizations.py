"""Organizations and their municipalities: listing, creating, editing.

Authorization lives in the queries: `get_admin_organization`
(`app/services/access/orgs.py`) only finds an organization the actor administers, so
another organization's admin gets a 404, not a 403. Organization roles are
`app/services/roles/roles.py`.
"""

import uuid
from collections.abc import Sequence

from sqlalchemy import (
    func,
)
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.error_codes import ErrorCode
from app.errors import Conflict, Unprocessable
from app.event_types import EventType
from app.models.accounts import User
from app.models.organizations import (
    Municipality,
    MunicipalityCreate,
    Organization,
    OrganizationCreate,
    OrganizationPublic,
    OrganizationUpdate,
)
from app.pagination import PageParams, SortKey, paginate
from app.services.access.orgs import get_admin_organization, get_organization
from app.services.audit.write import record_audit
from app.services.validation import Loc, field_error, invalid_fields

# Fields that `null` clears on PATCH; every other field refuses null.
NULLABLE_FIELDS = frozenset({"ipa_code"})


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
        ipa_code=org.ipa_code,
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
        raise Conflict("An organization with this slug already exists.", code=ErrorCode.SLUG_TAKEN)
    org = Organization(
        slug=data.slug,
        name=data.name.strip(),
        default_locale=data.default_locale,
        ipa_code=data.ipa_code,
    )
    session.add(org)
    await session.flush()
    added = await add_municipalities(session, org, data.municipalities)
    record_audit(
        session,
        EventType.ORGANIZATION_CREATED,
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
        if value is None and field not in NULLABLE_FIELDS:
            raise invalid_fields(
                [field_error(["body", field], "cannot be null", ErrorCode.NULL_NOT_ALLOWED)],
                f"{field} cannot be null.",
            )
        setattr(org, field, value.strip() if isinstance(value, str) else value)
    if changes:
        record_audit(
            session,
            EventType.ORGANIZATION_UPDATED,
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
            code=ErrorCode.MUNICIPALITY_EXISTS,
        )
    municipality = Municipality(organization_id=org.id, name=name, istat_code=data.istat_code)
    session.add(municipality)
    await session.flush()
    record_audit(
        session,
        EventType.MUNICIPALITY_CREATED,
        organization_id=org.id,
        actor_id=actor.id,
        target_type="municipality",
        target_id=municipality.id,
        data={"name": name},
    )
    return municipality


# --- roles ---------------------------------------------------------------------------


async def check_municipalities(
    session: AsyncSession, org: Organization, ids: Sequence[uuid.UUID], loc: Loc
) -> None:
    """422 unless every id is a municipality of `org`."""
    if not ids:
        return
    found = set(
        (
            await session.exec(
                select(Municipality.id).where(
                    col(Municipality.organization_id) == org.id, col(Municipality.id).in_(ids)
                )
            )
        ).all()
    )
    missing = [str(i) for i in ids if i not in found]
    if missing:
        raise Unprocessable(
            "Not a municipality of this organization: " + ", ".join(missing),
            code=ErrorCode.UNKNOWN_MUNICIPALITY,
            errors=[
                field_error(
                    loc, "not a municipality of this organization", ErrorCode.UNKNOWN_MUNICIPALITY
                )
            ],
        )
