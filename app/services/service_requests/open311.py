"""Open311 GeoReport v2: filing a request and reading public statuses.

`jurisdiction_id` is the organization's slug. A request is filed with a valid `api_key`
of the organization, or by a signed-in person (bearer token). Nothing is stored unless
every field checks out. Reads show only the public GeoReport fields.
"""

import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.error_codes import ErrorCode
from app.errors import BadRequest, Forbidden, NotFound
from app.event_types import EventType
from app.events import record_event
from app.models.accounts import User
from app.models.organizations import Organization
from app.models.service_requests import (
    Open311Created,
    Open311Definition,
    Open311Request,
    Open311Service,
    Open311Token,
    Service,
    ServiceRequest,
)
from app.services.access.orgs import get_organization
from app.services.service_requests import catalog, form
from app.services.service_requests.api_keys import key_for
from app.services.service_requests.views import open311_request

REQUEST_NOT_FOUND = "No service request with this id."
# GeoReport v2: without dates, the last 90 days; at most 1000 requests per answer.
DEFAULT_WINDOW_DAYS = 90
MAX_RESULTS = 1000


async def jurisdiction(
    session: AsyncSession, jurisdiction_id: str | None, *, writer: User | None = None
) -> Organization:
    """The organization; with `writer`, 403 `suspended` when they are suspended in it."""
    if not jurisdiction_id:
        raise BadRequest("jurisdiction_id is required.", code=ErrorCode.JURISDICTION_REQUIRED)
    return await get_organization(session, jurisdiction_id, writer=writer)


async def services(session: AsyncSession, jurisdiction_id: str | None) -> list[Open311Service]:
    return await catalog.open311_services(session, await jurisdiction(session, jurisdiction_id))


async def definition(
    session: AsyncSession, jurisdiction_id: str | None, code: str
) -> Open311Definition:
    org = await jurisdiction(session, jurisdiction_id)
    return await catalog.open311_definition(session, org, code)


async def create_request(
    session: AsyncSession, actor: User | None, items: list[tuple[str, Any]]
) -> list[Open311Created]:
    """File a request from the GeoReport form (see the module docstring)."""
    data = form.read_form(items)
    form.raise_if(data.errors)
    api_key = data.get("api_key")
    # Signed-in filers are refused while suspended, by the organization's own query.
    writer = actor if api_key is None else None
    org = await jurisdiction(session, data.get("jurisdiction_id"), writer=writer)
    key_id: uuid.UUID | None = None
    if api_key is not None:
        key_id = (await key_for(session, org.id, api_key)).id
    elif actor is None:
        raise Forbidden(
            "Give an api_key, or sign in and send your bearer token.",
            code=ErrorCode.API_KEY_REQUIRED,
        )
    code = data.get("service_code")
    if code is None:
        raise BadRequest("service_code is required.", code=ErrorCode.SERVICE_CODE_REQUIRED)
    service = await catalog.find_service(session, org, code)
    lat, long = form.location(data, service.location_required)
    form.contact(data)
    definition = (await catalog.attributes_of(session, [service.id])).get(service.id, [])
    values = form.attributes(data, definition)
    form.raise_if(data.errors)
    now = datetime.now(UTC)
    request = ServiceRequest(
        organization_id=org.id,
        service_id=service.id,
        description=(data.get("description") or "").strip(),
        lat=lat,
        long=long,
        address=data.get("address_string") or "",
        address_id=data.get("address_id") or "",
        zipcode=data.get("zipcode") or "",
        media_url=data.get("media_url") or "",
        attributes=values,
        token=secrets.token_urlsafe(24),
        expected_datetime=now + timedelta(days=service.expected_days),
        reporter_id=actor.id if actor is not None and key_id is None else None,
        email=data.get("email") or (actor.email if actor is not None and key_id is None else None),
        first_name=data.get("first_name"),
        last_name=data.get("last_name"),
        phone=data.get("phone"),
        device_id=data.get("device_id"),
        account_id=data.get("account_id"),
        api_key_id=key_id,
    )
    session.add(request)
    await session.flush()
    record_event(
        session,
        EventType.SERVICE_REQUEST_CREATED,
        subject_type="service_request",
        subject_id=request.id,
        actor_id=actor.id if actor is not None else None,
        organization_id=org.id,
        payload={"service_code": service.service_code, "status": "open"},
    )
    return [
        Open311Created(
            service_request_id=str(request.id),
            token=request.token,
            service_notice=request.service_notice,
            account_id=request.account_id,
        )
    ]


def _uuids(raw: str) -> list[uuid.UUID]:
    try:
        return [uuid.UUID(part.strip()) for part in raw.split(",") if part.strip()]
    except ValueError:
        raise BadRequest("service_request_id: not a list of request ids.") from None


def _instant(name: str, raw: str | None) -> datetime | None:
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"{name} is not a W3C (ISO 8601) date-time.") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def list_requests(
    session: AsyncSession,
    *,
    jurisdiction_id: str | None,
    service_request_id: str | None = None,
    service_code: str | None = None,
    start_date: str | None = None,
    end_date: str | None = None,
    status: str | None = None,
) -> list[Open311Request]:
    """Public statuses, newest first, at most 1000; without `service_request_id` or dates,
    the last 90 days."""
    org = await jurisdiction(session, jurisdiction_id)
    stmt = (
        select(ServiceRequest, Service)
        .join(Service, col(Service.id) == ServiceRequest.service_id)
        .where(col(ServiceRequest.organization_id) == org.id)
    )
    if service_request_id:
        stmt = stmt.where(col(ServiceRequest.id).in_(_uuids(service_request_id)))
    else:
        start = _instant("start_date", start_date)
        end = _instant("end_date", end_date)
        if start is None and end is None:
            start = datetime.now(UTC) - timedelta(days=DEFAULT_WINDOW_DAYS)
        if start is not None:
            stmt = stmt.where(col(ServiceRequest.created_at) >= start)
        if end is not None:
            stmt = stmt.where(col(ServiceRequest.created_at) <= end)
    if service_code:
        codes = [c.strip() for c in service_code.split(",") if c.strip()]
        stmt = stmt.where(col(Service.service_code).in_(codes))
    if status:
        statuses = [s.strip() for s in status.split(",") if s.strip()]
        if not set(statuses) <= {"open", "closed"}:
            raise BadRequest("status is open, closed or both (comma-separated).")
        stmt = stmt.where(col(ServiceRequest.status).in_(statuses))
    rows = (
        await session.exec(
            stmt.order_by(
                col(ServiceRequest.created_at).desc(), col(ServiceRequest.id).desc()
            ).limit(MAX_RESULTS)
        )
    ).all()
    return [open311_request(r, s) for r, s in rows]


async def get_request(
    session: AsyncSession, jurisdiction_id: str | None, request_id: str
) -> list[Open311Request]:
    row = await _find(session, jurisdiction_id, request_id)
    return [open311_request(*row)]


async def _find(
    session: AsyncSession, jurisdiction_id: str | None, request_id: str
) -> tuple[ServiceRequest, Service]:
    try:
        rid = uuid.UUID(request_id)
    except ValueError:
        raise NotFound(REQUEST_NOT_FOUND) from None
    stmt = (
        select(ServiceRequest, Service)
        .join(Service, col(Service.id) == ServiceRequest.service_id)
        .where(col(ServiceRequest.id) == rid)
    )
    if jurisdiction_id:
        org = await get_organization(session, jurisdiction_id)
        stmt = stmt.where(col(ServiceRequest.organization_id) == org.id)
    row = (await session.exec(stmt)).first()
    if row is None:
        raise NotFound(REQUEST_NOT_FOUND)
    return row[0], row[1]


async def request_for_token(
    session: AsyncSession, jurisdiction_id: str | None, token: str
) -> list[Open311Token]:
    """Requests are created at once here, so a token always has its id."""
    stmt = select(ServiceRequest.id, ServiceRequest.token).where(col(ServiceRequest.token) == token)
    if jurisdiction_id:
        org = await get_organization(session, jurisdiction_id)
        stmt = stmt.where(col(ServiceRequest.organization_id) == org.id)
    row = (await session.exec(stmt)).first()
    if row is None:
        raise NotFound("No service request with this token.")
    return [Open311Token(service_request_id=str(row[0]), token=row[1])]
