"""Staff's workflow on service requests: the queue, one request, and updates.

Staff are the organization's admins. A change of `status` or `status_notes` (what the
public sees) emails the reporter, once the change has committed; internal notes are for
staff only. Every update is audited (and so on the event spine), with field names only.
"""

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import exists
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import get_settings
from app.db import after_commit
from app.error_codes import ErrorCode
from app.errors import NotFound, Unprocessable
from app.event_types import EventType
from app.mail import send_mail
from app.models.accounts import User
from app.models.organizations import OrganizationRole
from app.models.service_requests import (
    Service,
    ServiceRequest,
    ServiceRequestNote,
    ServiceRequestStaff,
    ServiceRequestUpdate,
)
from app.pagination import PageParams, SortKey, paginate
from app.services.access.orgs import get_admin_organization, is_org_admin_clause
from app.services.audit.write import record_audit
from app.services.service_requests.views import staff_request

REQUEST_NOT_FOUND = "No service request with this id that you handle."
PUBLIC_FIELDS = ("status", "status_notes")


async def _notes(
    session: AsyncSession, request_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[ServiceRequestNote]]:
    notes: dict[uuid.UUID, list[ServiceRequestNote]] = {}
    if not request_ids:
        return notes
    for note in (
        await session.exec(
            select(ServiceRequestNote)
            .where(col(ServiceRequestNote.request_id).in_(request_ids))
            .order_by(col(ServiceRequestNote.created_at), col(ServiceRequestNote.id))
        )
    ).all():
        notes.setdefault(note.request_id, []).append(note)
    return notes


async def list_queue(
    session: AsyncSession,
    actor: User,
    slug: str,
    params: PageParams,
    *,
    status: str | None = None,
    service_code: str | None = None,
    min_age_days: int | None = None,
    overdue: bool | None = None,
    assigned_to: uuid.UUID | None = None,
) -> tuple[list[ServiceRequestStaff], str | None]:
    """The organization's requests, newest first, filtered."""
    org = await get_admin_organization(session, actor, slug)
    now = datetime.now(UTC)
    stmt = (
        select(ServiceRequest, Service)
        .join(Service, col(Service.id) == ServiceRequest.service_id)
        .where(col(ServiceRequest.organization_id) == org.id)
    )
    if status is not None:
        stmt = stmt.where(col(ServiceRequest.status) == status)
    if service_code is not None:
        stmt = stmt.where(col(Service.service_code) == service_code)
    if min_age_days is not None:
        stmt = stmt.where(col(ServiceRequest.created_at) <= now - timedelta(days=min_age_days))
    if overdue is not None:
        late = (col(ServiceRequest.status) == "open") & (
            col(ServiceRequest.expected_datetime) < now
        )
        stmt = stmt.where(late if overdue else ~late)
    if assigned_to is not None:
        stmt = stmt.where(col(ServiceRequest.assigned_to_id) == assigned_to)
    keys = [
        SortKey(ServiceRequest.created_at, descending=True, kind=datetime),
        SortKey(ServiceRequest.id, descending=True, kind=uuid.UUID),
    ]
    rows, cursor = await paginate(
        session, stmt, keys, params, key_of=lambda r: (r[0].created_at, r[0].id)
    )
    notes = await _notes(session, [r.id for r, _ in rows])
    return [staff_request(r, s, notes.get(r.id, [])) for r, s in rows], cursor


async def _handled(
    session: AsyncSession, actor: User, request_id: uuid.UUID, *, for_update: bool = False
) -> tuple[ServiceRequest, Service]:
    stmt = (
        select(ServiceRequest, Service)
        .join(Service, col(Service.id) == ServiceRequest.service_id)
        .where(
            col(ServiceRequest.id) == request_id,
            is_org_admin_clause(actor, ServiceRequest.organization_id),
        )
    )
    if for_update:
        stmt = stmt.with_for_update(of=ServiceRequest).execution_options(populate_existing=True)
    row = (await session.exec(stmt)).first()
    if row is None:
        raise NotFound(REQUEST_NOT_FOUND)
    return row[0], row[1]


async def get_request(
    session: AsyncSession, actor: User, request_id: uuid.UUID
) -> ServiceRequestStaff:
    request, service = await _handled(session, actor, request_id)
    notes = await _notes(session, [request.id])
    return staff_request(request, service, notes.get(request.id, []))


async def _check_assignee(
    session: AsyncSession, organization_id: uuid.UUID, user_id: uuid.UUID
) -> None:
    """Requests are assigned to people with a role in the organization."""
    staff = (
        await session.exec(
            select(
                exists().where(
                    col(OrganizationRole.organization_id) == organization_id,
                    col(OrganizationRole.user_id) == user_id,
                )
            )
        )
    ).one()
    if not staff:
        msg = "assigned_to must be someone with a role in this organization"
        raise Unprocessable(
            msg.capitalize() + ".",
            code=ErrorCode.UNKNOWN_ASSIGNEE,
            errors=[
                {"loc": ["body", "assigned_to"], "msg": msg, "code": ErrorCode.UNKNOWN_ASSIGNEE}
            ],
        )


def _notify(session: AsyncSession, request: ServiceRequest, service: Service) -> None:
    """Email the reporter about the new public status, after the commit."""
    to = request.email
    if not to:
        return
    link = f"{get_settings().public_url}/open311/v2/requests/{request.id}.json"
    state = {"open": "aperta / open", "closed": "chiusa / closed"}[request.status]
    body = (
        f"La tua segnalazione «{service.service_name}» è {state}.\n"
        f"Your request «{service.service_name}» is {state}.\n\n"
        + (f"{request.status_notes}\n\n" if request.status_notes else "")
        + f"{link}\n"
    )
    subject = f"Segnalazione aggiornata / Request updated: {service.service_name}"

    async def _send() -> None:
        await send_mail(to, subject, body)

    after_commit(session, _send)


async def update_request(
    session: AsyncSession, actor: User, request_id: uuid.UUID, data: ServiceRequestUpdate
) -> ServiceRequestStaff:
    request, service = await _handled(session, actor, request_id, for_update=True)
    given = data.model_fields_set
    if data.assigned_to is not None:
        await _check_assignee(session, request.organization_id, data.assigned_to)
    changed: list[str] = []
    for field, attr in (
        ("status", "status"),
        ("status_notes", "status_notes"),
        ("agency_responsible", "agency_responsible"),
        ("expected_datetime", "expected_datetime"),
        ("assigned_to", "assigned_to_id"),
    ):
        if field not in given:
            continue
        value = getattr(data, field)
        if value is None and field != "assigned_to":
            continue
        if getattr(request, attr) != value:
            setattr(request, attr, value)
            changed.append(field)
    if "status" in changed:
        request.closed_at = datetime.now(UTC) if request.status == "closed" else None
    if data.internal_note:
        session.add(
            ServiceRequestNote(request_id=request.id, author_id=actor.id, body=data.internal_note)
        )
        changed.append("internal_note")
    if changed:
        record_audit(
            session,
            EventType.SERVICE_REQUEST_UPDATED,
            organization_id=request.organization_id,
            actor_id=actor.id,
            target_type="service_request",
            target_id=request.id,
            data={"fields": changed, "status": request.status},
        )
    await session.flush()
    if any(f in changed for f in PUBLIC_FIELDS):
        _notify(session, request, service)
    await session.refresh(request)
    notes = await _notes(session, [request.id])
    return staff_request(request, service, notes.get(request.id, []))
