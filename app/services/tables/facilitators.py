"""Facilitators appointed by organization admins (through `/organizations/{org}/roles`):
an active membership with the facilitator role; dismissal keeps the person a member."""

import uuid
from datetime import UTC, datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.error_codes import ErrorCode
from app.errors import Conflict, NotFound, Unprocessable
from app.event_types import EventType
from app.models.accounts import User
from app.models.organizations import Organization, RolePublic
from app.models.tables import ParticipationTable, TableMembership
from app.services.tables.memberships import activate, find_membership, membership_event
from app.services.validation import field_error


async def _org_table(
    session: AsyncSession, org: Organization, table_id: uuid.UUID
) -> ParticipationTable:
    table = (
        await session.exec(
            select(ParticipationTable)
            .where(
                col(ParticipationTable.id) == table_id,
                col(ParticipationTable.organization_id) == org.id,
            )
            .with_for_update(key_share=True)
        )
    ).one_or_none()
    if table is None:
        raise Unprocessable(
            "This organization has no table with this id.",
            code=ErrorCode.UNKNOWN_TABLE,
            errors=[
                field_error(["body", "table_id"], "no such table here", ErrorCode.UNKNOWN_TABLE)
            ],
        )
    return table


def _facilitator_role(
    org: Organization, membership: TableMembership, display_name: str
) -> RolePublic:
    return RolePublic(
        id=membership.id,
        organization_id=org.id,
        user_id=membership.user_id,
        display_name=display_name,
        role="facilitator",
        table_id=membership.table_id,
        created_at=membership.role_since or membership.created_at,
    )


async def appoint_facilitator(
    session: AsyncSession, actor: User, org: Organization, user: User, table_id: uuid.UUID
) -> RolePublic:
    """Make `user` an active facilitator of one of `org`'s tables (the caller has been
    checked to administer `org`). Eligibility rules are for participants, not staff; the
    member cap still holds."""
    table = await _org_table(session, org, table_id)
    membership = await find_membership(session, table.id, user.id)
    if membership is not None and (membership.status, membership.role) == (
        "active",
        "facilitator",
    ):
        raise Conflict("This person already facilitates this table.", code=ErrorCode.ROLE_EXISTS)
    if membership is None:
        membership = TableMembership(table_id=table.id, user_id=user.id, status="invited")
        session.add(membership)
    if membership.status != "active":
        await activate(session, table, membership)
    membership.role = "facilitator"
    membership.role_since = datetime.now(UTC)
    await session.flush()
    membership_event(
        session,
        EventType.MEMBERSHIP_ROLE_CHANGED,
        actor,
        table,
        membership,
        audit=True,
        role="facilitator",
    )
    await session.refresh(membership)
    return _facilitator_role(org, membership, user.display_name)


async def dismiss_facilitator(
    session: AsyncSession, actor: User, org: Organization, user_id: uuid.UUID, table_id: uuid.UUID
) -> None:
    """The facilitator stays a member of the table."""
    table = await _org_table(session, org, table_id)
    membership = await find_membership(session, table.id, user_id)
    if membership is None or membership.role != "facilitator":
        raise NotFound("This person does not facilitate this table.")
    membership.role = "member"
    membership.role_since = datetime.now(UTC)
    membership_event(
        session,
        EventType.MEMBERSHIP_ROLE_CHANGED,
        actor,
        table,
        membership,
        audit=True,
        role="member",
    )


async def dismiss_facilitator_by_id(
    session: AsyncSession, actor: User, org: Organization, membership_id: uuid.UUID
) -> None:
    """`DELETE /organizations/{org}/roles/{id}` with the id a facilitator's appointment
    was listed under (their membership's)."""
    membership = (
        await session.exec(
            select(TableMembership)
            .join(ParticipationTable, col(ParticipationTable.id) == TableMembership.table_id)
            .where(
                col(TableMembership.id) == membership_id,
                col(ParticipationTable.organization_id) == org.id,
                col(TableMembership.status) == "active",
                col(TableMembership.role) == "facilitator",
            )
        )
    ).one_or_none()
    if membership is None:
        raise NotFound("No such role assignment.")
    await dismiss_facilitator(session, actor, org, membership.user_id, membership.table_id)
