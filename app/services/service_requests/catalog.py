"""An organization's Open311 service categories and their attributes (org admins)."""

import uuid
from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.error_codes import ErrorCode
from app.errors import Conflict, NotFound, Unprocessable
from app.event_types import EventType
from app.models.accounts import User
from app.models.organizations import Organization
from app.models.service_requests import (
    AttributePublic,
    AttributeValue,
    Open311Attribute,
    Open311Definition,
    Open311Service,
    Service,
    ServiceAttribute,
    ServiceCreate,
    ServicePublic,
)
from app.pagination import PageParams, SortKey, paginate
from app.services.access.orgs import get_admin_organization
from app.services.audit.write import record_audit

SERVICE_NOT_FOUND = "No service with this code."


async def attributes_of(
    session: AsyncSession, service_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[ServiceAttribute]]:
    if not service_ids:
        return {}
    result: dict[uuid.UUID, list[ServiceAttribute]] = {}
    for attribute in (
        await session.exec(
            select(ServiceAttribute)
            .where(col(ServiceAttribute.service_id).in_(service_ids))
            .order_by(col(ServiceAttribute.order), col(ServiceAttribute.code))
        )
    ).all():
        result.setdefault(attribute.service_id, []).append(attribute)
    return result


def _public(service: Service, attributes: list[ServiceAttribute]) -> ServicePublic:
    return ServicePublic(
        id=service.id,
        organization_id=service.organization_id,
        service_code=service.service_code,
        service_name=service.service_name,
        description=service.description,
        type=service.type,
        keywords=service.keywords,
        group=service.group,
        location_required=service.location_required,
        expected_days=service.expected_days,
        attributes=[
            AttributePublic(
                code=a.code,
                datatype=a.datatype,
                required=a.required,
                variable=a.variable,
                order=a.order,
                description=a.description,
                datatype_description=a.datatype_description,
                values=[AttributeValue(**v) for v in a.values],
            )
            for a in attributes
        ],
        created_at=service.created_at,
        updated_at=service.updated_at,
    )


def _check_attributes(data: ServiceCreate) -> None:
    errors = []
    seen: set[str] = set()
    for i, a in enumerate(data.attributes):
        loc: list[str | int] = ["body", "attributes", i]
        if a.code in seen:
            errors.append(
                {
                    "loc": [*loc, "code"],
                    "msg": "duplicate code",
                    "code": ErrorCode.DUPLICATE_CODE,
                }
            )
        seen.add(a.code)
        lists = a.datatype in ("singlevaluelist", "multivaluelist")
        if lists and not a.values:
            msg = "list attributes need values"
            errors.append({"loc": [*loc, "values"], "msg": msg, "code": ErrorCode.VALUES_REQUIRED})
        if not lists and a.values:
            msg = "values are for list attributes only"
            errors.append(
                {"loc": [*loc, "values"], "msg": msg, "code": ErrorCode.VALUES_NOT_ALLOWED}
            )
        if len({v.key for v in a.values}) != len(a.values):
            msg = "duplicate value key"
            errors.append({"loc": [*loc, "values"], "msg": msg, "code": ErrorCode.DUPLICATE_VALUE})
    if errors:
        raise Unprocessable(
            "The attributes are invalid.", code=ErrorCode.INVALID_ATTRIBUTES, errors=errors
        )


async def create_service(
    session: AsyncSession, actor: User, slug: str, data: ServiceCreate
) -> ServicePublic:
    org = await get_admin_organization(session, actor, slug)
    _check_attributes(data)
    service = Service(
        organization_id=org.id,
        service_code=data.service_code,
        service_name=data.service_name,
        description=data.description,
        type=data.type,
        keywords=[k.strip() for k in data.keywords if k.strip()],
        group=data.group,
        location_required=data.location_required,
        expected_days=data.expected_days,
    )
    session.add(service)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise Conflict(
            "This organization already has a service with this code.",
            code=ErrorCode.SERVICE_CODE_TAKEN,
        ) from None
    attributes = [
        ServiceAttribute(
            service_id=service.id,
            **a.model_dump(exclude={"values"}),
            values=[v.model_dump() for v in a.values],
        )
        for a in data.attributes
    ]
    session.add_all(attributes)
    record_audit(
        session,
        EventType.SERVICE_CREATED,
        organization_id=org.id,
        actor_id=actor.id,
        target_type="service",
        target_id=service.id,
        data={"service_code": service.service_code, "attributes": len(attributes)},
    )
    await session.flush()
    return _public(service, sorted(attributes, key=lambda a: (a.order, a.code)))


async def list_services(
    session: AsyncSession, actor: User, slug: str, params: PageParams
) -> tuple[list[ServicePublic], str | None]:
    org = await get_admin_organization(session, actor, slug)
    keys = [SortKey(Service.service_code, kind=str), SortKey(Service.id, kind=uuid.UUID)]
    services, cursor = await paginate(
        session,
        select(Service).where(col(Service.organization_id) == org.id),
        keys,
        params,
        key_of=lambda s: (s.service_code, s.id),
    )
    attributes = await attributes_of(session, [s.id for s in services])
    return [_public(s, attributes.get(s.id, [])) for s in services], cursor


# --- Open311 views --------------------------------------------------------------------


async def open311_services(session: AsyncSession, org: Organization) -> list[Open311Service]:
    """Every service of the organization (GeoReport v2 lists are not paginated)."""
    services = (
        await session.exec(
            select(Service)
            .where(col(Service.organization_id) == org.id)
            .order_by(col(Service.group), col(Service.service_code))
        )
    ).all()
    attributes = await attributes_of(session, [s.id for s in services])
    return [
        Open311Service(
            service_code=s.service_code,
            service_name=s.service_name,
            description=s.description,
            metadata=bool(attributes.get(s.id)),
            type=s.type,
            keywords=", ".join(s.keywords),
            group=s.group,
        )
        for s in services
    ]


async def find_service(session: AsyncSession, org: Organization, code: str) -> Service:
    service = (
        await session.exec(
            select(Service).where(
                col(Service.organization_id) == org.id, col(Service.service_code) == code
            )
        )
    ).one_or_none()
    if service is None:
        raise NotFound(SERVICE_NOT_FOUND)
    return service


async def open311_definition(
    session: AsyncSession, org: Organization, code: str
) -> Open311Definition:
    service = await find_service(session, org, code)
    attributes = (await attributes_of(session, [service.id])).get(service.id, [])
    return Open311Definition(
        service_code=service.service_code,
        attributes=[
            Open311Attribute(
                variable=a.variable,
                code=a.code,
                datatype=a.datatype,
                required=a.required,
                datatype_description=a.datatype_description,
                order=a.order,
                description=a.description,
                values=[AttributeValue(**v) for v in a.values],
            )
            for a in attributes
        ],
    )
