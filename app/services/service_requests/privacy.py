"""A reporter's personal data in service requests, for the GDPR export and erasure.

A person's requests are the ones they filed signed in (`reporter_id`) and the ones filed
through an app with their email address. Erasure clears the personal fields of those
requests (email, names, phone, device and account ids, the link to the account) and
marks them anonymized; the requests themselves stay, as the city's records of a problem.
"""

from datetime import UTC, datetime

from sqlalchemy import ColumnElement, func, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models.accounts import User
from app.models.service_requests import ExportServiceRequest, Service, ServiceRequest


def _theirs(user: User) -> ColumnElement[bool]:
    mine = col(ServiceRequest.reporter_id) == user.id
    if not user.email:
        return mine
    return or_(mine, func.lower(col(ServiceRequest.email)) == user.email.lower())


async def export_service_requests(session: AsyncSession, user: User) -> list[ExportServiceRequest]:
    rows = (
        await session.exec(
            select(ServiceRequest, Service.service_code)
            .join(Service, col(Service.id) == ServiceRequest.service_id)
            .where(_theirs(user))
            .order_by(col(ServiceRequest.created_at), col(ServiceRequest.id))
        )
    ).all()
    return [
        ExportServiceRequest(
            id=r.id,
            organization_id=r.organization_id,
            service_code=code,
            status=r.status,
            description=r.description,
            address=r.address,
            lat=r.lat,
            long=r.long,
            email=r.email,
            first_name=r.first_name,
            last_name=r.last_name,
            phone=r.phone,
            device_id=r.device_id,
            account_id=r.account_id,
            created_at=r.created_at,
        )
        for r, code in rows
    ]


async def anonymize_service_requests(session: AsyncSession, user: User) -> int:
    """Clear the reporter's personal data from their requests; returns how many."""
    done = (
        await session.exec(
            update(ServiceRequest)
            .where(_theirs(user))
            .values(
                reporter_id=None,
                email=None,
                first_name=None,
                last_name=None,
                phone=None,
                device_id=None,
                account_id=None,
                anonymized_at=datetime.now(UTC),
                updated_at=col(ServiceRequest.updated_at),
            )
            .returning(col(ServiceRequest.id))
            .execution_options(synchronize_session=False)
        )
    ).all()
    return len(done)
