"""How a service request is shown: its public Open311 status, or staff's full view."""

from datetime import UTC, datetime

from app.models.service_requests import (
    NotePublic,
    Open311Request,
    ReporterPublic,
    Service,
    ServiceRequest,
    ServiceRequestNote,
    ServiceRequestStaff,
)


def open311_request(request: ServiceRequest, service: Service) -> Open311Request:
    """GeoReport v2 fields only: never the reporter's email, names, phone or ids."""
    return Open311Request(
        service_request_id=str(request.id),
        status=request.status,
        status_notes=request.status_notes,
        service_name=service.service_name,
        service_code=service.service_code,
        description=request.description,
        agency_responsible=request.agency_responsible,
        service_notice=request.service_notice,
        requested_datetime=request.created_at,
        updated_datetime=request.updated_at,
        expected_datetime=request.expected_datetime,
        address=request.address,
        address_id=request.address_id,
        zipcode=request.zipcode,
        lat=request.lat,
        long=request.long,
        media_url=request.media_url,
    )


def is_overdue(request: ServiceRequest, now: datetime | None = None) -> bool:
    return request.status == "open" and request.expected_datetime < (now or datetime.now(UTC))


def staff_request(
    request: ServiceRequest, service: Service, notes: list[ServiceRequestNote]
) -> ServiceRequestStaff:
    return ServiceRequestStaff(
        id=request.id,
        organization_id=request.organization_id,
        service_code=service.service_code,
        service_name=service.service_name,
        status=request.status,
        status_notes=request.status_notes,
        description=request.description,
        agency_responsible=request.agency_responsible,
        service_notice=request.service_notice,
        lat=request.lat,
        long=request.long,
        address=request.address,
        address_id=request.address_id,
        zipcode=request.zipcode,
        media_url=request.media_url,
        attributes=request.attributes,
        assigned_to=request.assigned_to_id,
        expected_datetime=request.expected_datetime,
        overdue=is_overdue(request),
        closed_at=request.closed_at,
        reporter=ReporterPublic(
            reporter_id=request.reporter_id,
            email=request.email,
            first_name=request.first_name,
            last_name=request.last_name,
            phone=request.phone,
            device_id=request.device_id,
            account_id=request.account_id,
            anonymized=request.anonymized_at is not None,
        ),
        notes=[
            NotePublic(id=n.id, author_id=n.author_id, body=n.body, created_at=n.created_at)
            for n in notes
        ],
        created_at=request.created_at,
        updated_at=request.updated_at,
    )
