"""Sections of the personal-data export about the account: profile, guardian consent,
roles, memberships, registrations, suspensions, sign-ins, administrative actions and
activity. One query each, on an index of the person's id.
"""

import uuid
from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models.accounts import DIGITAL_CONSENT_AGE, RefreshToken, User, age_on
from app.models.events import Event
from app.models.meetings import MEETING_TIMEZONE, Meeting, MeetingRegistration
from app.models.moderation import AuditEntry, Suspension
from app.models.organizations import Municipality, Organization, OrganizationRole
from app.models.privacy import (
    ExportActivity,
    ExportAuditItem,
    ExportGuardianConsent,
    ExportMembership,
    ExportMunicipality,
    ExportProfile,
    ExportRegistration,
    ExportRole,
    ExportSignIn,
    ExportSuspension,
)
from app.models.tables import ParticipationTable, TableMembership


async def profile_section(session: AsyncSession, user: User) -> ExportProfile:
    municipality = None
    if user.municipality_id is not None:
        found = await session.get(Municipality, user.municipality_id)
        if found is not None:
            municipality = ExportMunicipality(
                id=found.id, organization_id=found.organization_id, name=found.name
            )
    return ExportProfile(
        id=user.id,
        email=user.email,
        email_verified_at=user.email_verified_at,
        display_name=user.display_name,
        locale=user.locale,
        birth_date=user.birth_date,
        municipality=municipality,
        is_platform_admin=user.is_platform_admin,
        created_at=user.created_at,
        updated_at=user.updated_at,
    )


def guardian_consent_section(user: User, now: datetime) -> ExportGuardianConsent:
    today = now.date()
    consented = user.guardian_consent_at
    return ExportGuardianConsent(
        required=user.birth_date is not None
        and age_on(user.birth_date, today) < DIGITAL_CONSENT_AGE,
        recorded=consented is not None,
        consented_on=consented.astimezone(MEETING_TIMEZONE).date() if consented else None,
    )


async def roles_section(session: AsyncSession, uid: uuid.UUID) -> list[ExportRole]:
    rows = (
        await session.exec(
            select(OrganizationRole, Organization.slug)
            .join(Organization, col(Organization.id) == OrganizationRole.organization_id)
            .where(col(OrganizationRole.user_id) == uid)
            .order_by(col(OrganizationRole.created_at))
        )
    ).all()
    return [
        ExportRole(
            organization_id=r.organization_id,
            organization_slug=slug,
            role=r.role,
            created_at=r.created_at,
        )
        for r, slug in rows
    ]


async def memberships_section(session: AsyncSession, uid: uuid.UUID) -> list[ExportMembership]:
    rows = (
        await session.exec(
            select(TableMembership, ParticipationTable.slug, ParticipationTable.organization_id)
            .join(ParticipationTable, col(ParticipationTable.id) == TableMembership.table_id)
            .where(col(TableMembership.user_id) == uid)
            .order_by(col(TableMembership.created_at))
        )
    ).all()
    return [
        ExportMembership(
            table_id=m.table_id,
            table_slug=slug,
            organization_id=org_id,
            role=m.role,
            status=m.status,
            activated_at=m.activated_at,
            created_at=m.created_at,
            updated_at=m.updated_at,
        )
        for m, slug, org_id in rows
    ]


async def registrations_section(session: AsyncSession, uid: uuid.UUID) -> list[ExportRegistration]:
    rows = (
        await session.exec(
            select(MeetingRegistration, Meeting.title, Meeting.starts_at)
            .join(Meeting, col(Meeting.id) == MeetingRegistration.meeting_id)
            .where(col(MeetingRegistration.user_id) == uid)
            .order_by(col(MeetingRegistration.seq))
        )
    ).all()
    return [
        ExportRegistration(
            id=r.id,
            meeting_id=r.meeting_id,
            meeting_title=title,
            meeting_starts_at=starts_at,
            status=r.status,
            check_in_code=r.check_in_code,
            promoted_at=r.promoted_at,
            cancelled_at=r.cancelled_at,
            checked_in_at=r.checked_in_at,
            created_at=r.created_at,
        )
        for r, title, starts_at in rows
    ]


async def suspensions_section(
    session: AsyncSession, uid: uuid.UUID, now: datetime
) -> list[ExportSuspension]:
    rows = (
        await session.exec(
            select(Suspension)
            .where(col(Suspension.user_id) == uid)
            .order_by(col(Suspension.created_at))
        )
    ).all()
    return [
        ExportSuspension(
            id=s.id,
            organization_id=s.organization_id,
            reason=s.reason,
            ends_at=s.ends_at,
            active=s.lifted_at is None and (s.ends_at is None or s.ends_at > now),
            lifted_at=s.lifted_at,
            lift_reason=s.lift_reason,
            created_at=s.created_at,
        )
        for s in rows
    ]


async def sign_ins_section(
    session: AsyncSession, uid: uuid.UUID, now: datetime
) -> list[ExportSignIn]:
    live_token = (
        col(RefreshToken.rotated_at).is_(None)
        & col(RefreshToken.revoked_at).is_(None)
        & (col(RefreshToken.expires_at) > now)
    )
    rows = (
        await session.exec(
            select(
                col(RefreshToken.family_id),
                func.min(RefreshToken.created_at),
                func.max(RefreshToken.created_at),
                func.max(RefreshToken.expires_at),
            )
            .where(col(RefreshToken.user_id) == uid)
            .group_by(col(RefreshToken.family_id))
            .having(func.bool_or(live_token))
            .order_by(func.min(RefreshToken.created_at))
        )
    ).all()
    return [
        ExportSignIn(
            family_id=family_id,
            signed_in_at=first,
            last_refreshed_at=last,
            expires_at=expires_at,
        )
        for family_id, first, last, expires_at in rows
    ]


async def administrative_actions_section(
    session: AsyncSession, uid: uuid.UUID
) -> list[ExportAuditItem]:
    rows = (
        await session.exec(
            select(AuditEntry.action, AuditEntry.organization_id, AuditEntry.created_at)
            .where(col(AuditEntry.target_type) == "user", col(AuditEntry.target_id) == uid)
            .order_by(col(AuditEntry.seq))
        )
    ).all()
    return [
        ExportAuditItem(action=action, organization_id=org_id, created_at=at)
        for action, org_id, at in rows
    ]


async def activity_section(session: AsyncSession, uid: uuid.UUID) -> list[ExportActivity]:
    rows = (
        await session.exec(
            select(
                col(Event.type),
                func.count(),
                func.min(Event.created_at),
                func.max(Event.created_at),
            )
            .where(col(Event.actor_id) == uid)
            .group_by(col(Event.type))
            .order_by(col(Event.type))
        )
    ).all()
    return [
        ExportActivity(type=type_, count=count, first_at=first, last_at=last)
        for type_, count, first, last in rows
    ]
