"""Table memberships: joining, requests, invitations, approval, roles, leaving.

Every write locks the table row first (`SELECT … FOR NO KEY UPDATE`), so the member cap and
"one membership per person and table" hold under any interleaving, and lock order is
always table → membership.
"""

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.error_codes import ErrorCode
from app.errors import Conflict, Forbidden, NotFound, Unprocessable
from app.event_types import EventType
from app.events import record_event
from app.models.accounts import User
from app.models.tables import (
    MembershipInvite,
    MembershipPublic,
    MembershipUpdate,
    ParticipationTable,
    TableMembership,
)
from app.pagination import PageParams, SortKey, paginate
from app.services.access.orgs import is_org_admin
from app.services.access.standing import eligibility_errors
from app.services.access.tables import facilitates, get_facilitated_table, get_visible_table
from app.services.accounts.people import find_named_person
from app.services.audit.write import record_audit
from app.services.meetings.registrations import release_members_only_seats
from app.services.tables.responses import active_member_counts

NOT_A_MEMBER = "This person has no membership of this table."


def check_eligibility(table: ParticipationTable, user: User) -> None:
    errors = eligibility_errors(table, user)
    if errors:
        raise Unprocessable(
            "Not eligible for this table: " + "; ".join(e["msg"] for e in errors) + ".",
            code=errors[0]["code"],
            errors=errors,
        )


async def _check_seat(session: AsyncSession, table: ParticipationTable) -> None:
    """409 when the table is at its member cap (the table row must be locked)."""
    if table.max_members is None:
        return
    members = (await active_member_counts(session, [table.id])).get(table.id, 0)
    if members >= table.max_members:
        raise Conflict(
            "This table has reached its maximum number of members.", code=ErrorCode.TABLE_FULL
        )


async def activate(
    session: AsyncSession, table: ParticipationTable, membership: TableMembership
) -> None:
    await _check_seat(session, table)
    membership.status = "active"
    membership.activated_at = datetime.now(UTC)


async def find_membership(
    session: AsyncSession, table_id: uuid.UUID, user_id: uuid.UUID
) -> TableMembership | None:
    return (
        await session.exec(
            select(TableMembership).where(
                col(TableMembership.table_id) == table_id, col(TableMembership.user_id) == user_id
            )
        )
    ).one_or_none()


def membership_event(
    session: AsyncSession,
    type: EventType,
    actor: User,
    table: ParticipationTable,
    membership: TableMembership,
    *,
    audit: bool = False,
    **payload: Any,
) -> None:
    """The membership's event; with `audit`, a facilitator's or admin's decision about
    someone else's membership, also written to the audit log (under the same name)."""
    full = {"table_id": str(table.id), "user_id": str(membership.user_id), **payload}
    if audit:
        record_audit(
            session,
            type,
            organization_id=table.organization_id,
            actor_id=actor.id,
            target_type="membership",
            target_id=membership.id,
            data=full,
        )
        return
    record_event(
        session,
        type,
        subject_type="membership",
        subject_id=membership.id,
        actor_id=actor.id,
        organization_id=table.organization_id,
        payload=full,
    )


async def _public(session: AsyncSession, membership: TableMembership) -> MembershipPublic:
    await session.flush()
    await session.refresh(membership)
    user = await session.get(User, membership.user_id)
    assert user is not None
    return _to_public(membership, user.display_name)


def _to_public(m: TableMembership, display_name: str) -> MembershipPublic:
    return MembershipPublic(
        id=m.id,
        table_id=m.table_id,
        user_id=m.user_id,
        display_name=display_name,
        role=m.role,
        status=m.status,
        activated_at=m.activated_at,
        created_at=m.created_at,
        updated_at=m.updated_at,
    )


# --- the caller joins -----------------------------------------------------------------


async def join_table(
    session: AsyncSession, actor: User, table_id: uuid.UUID
) -> tuple[MembershipPublic, bool]:
    """Join an open table, ask to join a `request` table, or accept an invitation.

    Idempotent: an existing active or pending membership is returned as it is.
    Returns the membership and whether it changed."""
    table = await get_visible_table(
        session, actor, table_id, include_invited=True, for_update=True, write=True
    )
    if table.status == "archived":
        raise Conflict("This table is archived.", code=ErrorCode.TABLE_ARCHIVED)
    membership = await find_membership(session, table.id, actor.id)
    if membership is not None and membership.status in ("active", "pending"):
        return _to_public(membership, actor.display_name), False
    if membership is not None and membership.status == "rejected":
        raise Conflict(
            "Your request to join this table was declined.", code=ErrorCode.MEMBERSHIP_REJECTED
        )
    if membership is not None:  # invited: accepting
        if table.status != "open":
            raise Conflict("This table is not accepting new members.", code=ErrorCode.TABLE_CLOSED)
        check_eligibility(table, actor)
        await activate(session, table, membership)
        membership_event(
            session, EventType.MEMBERSHIP_JOINED, actor, table, membership, via="invitation"
        )
        return await _public(session, membership), True

    if table.status != "open":
        raise Conflict("This table is not accepting new members.", code=ErrorCode.TABLE_CLOSED)
    if table.membership_policy == "sortition":
        raise Forbidden(
            "This table draws its members by lot; apply under /sortition/applications.",
            code=ErrorCode.SORTITION_APPLY_INSTEAD,
        )
    if table.membership_policy == "invitation":
        raise Forbidden(
            "This table is by invitation only; ask one of its facilitators.",
            code=ErrorCode.INVITATION_REQUIRED,
        )
    check_eligibility(table, actor)
    membership = TableMembership(table_id=table.id, user_id=actor.id, status="pending")
    if table.membership_policy == "open":
        await activate(session, table, membership)
    session.add(membership)
    await session.flush()
    if membership.status == "active":
        membership_event(session, EventType.MEMBERSHIP_JOINED, actor, table, membership, via="open")
    else:
        membership_event(session, EventType.MEMBERSHIP_REQUESTED, actor, table, membership)
    return await _public(session, membership), True


# --- facilitators ---------------------------------------------------------------------


async def _ensure_may_manage_facilitators(
    session: AsyncSession, actor: User, table: ParticipationTable
) -> None:
    """Facilitators are appointed by the organization: a facilitator may make a member a
    co-facilitator, or step down, but only the organization's admins demote or remove
    another facilitator."""
    if not await is_org_admin(session, actor, table.organization_id):
        raise Forbidden(
            "Only the organization's admins demote or remove a facilitator.",
            code=ErrorCode.FACILITATOR_APPOINTED_BY_ORGANIZATION,
        )


async def invite_member(
    session: AsyncSession, actor: User, table_id: uuid.UUID, data: MembershipInvite
) -> tuple[MembershipPublic, bool]:
    """A facilitator invites someone; they become a member when they accept
    (`POST /memberships` as themselves). Idempotent for people already in."""
    table = await get_facilitated_table(session, actor, table_id, for_update=True)
    if table.status == "archived":
        raise Conflict("This table is archived.", code=ErrorCode.TABLE_ARCHIVED)
    if table.status != "open":
        raise Conflict(
            "This table is closed to new members; reopen it to invite people.",
            code=ErrorCode.TABLE_CLOSED,
        )
    user = await find_named_person(session, data.user_id, data.email)
    membership = await find_membership(session, table.id, user.id)
    if membership is not None and membership.status != "rejected":
        return _to_public(membership, user.display_name), False
    if membership is None:
        membership = TableMembership(table_id=table.id, user_id=user.id, status="invited")
        session.add(membership)
    membership.status = "invited"
    membership.invited_by_id = actor.id
    await session.flush()
    membership_event(session, EventType.MEMBERSHIP_INVITED, actor, table, membership, audit=True)
    return await _public(session, membership), True


async def list_memberships(
    session: AsyncSession,
    actor: User | None,
    table_id: uuid.UUID,
    params: PageParams,
    status: str | None = None,
) -> tuple[list[MembershipPublic], str | None]:
    """Active members for whoever may see the table; facilitators see every status
    (filter with `status`)."""
    table = await get_visible_table(session, actor, table_id)
    stmt = (
        select(TableMembership, User.display_name)
        .join(User, col(User.id) == TableMembership.user_id)
        .where(col(TableMembership.table_id) == table.id)
    )
    if not await facilitates(session, actor, table.id):
        stmt = stmt.where(col(TableMembership.status) == "active")
    if status is not None:
        stmt = stmt.where(col(TableMembership.status) == status)
    keys = [
        SortKey(TableMembership.created_at, kind=datetime),
        SortKey(TableMembership.id, kind=uuid.UUID),
    ]
    rows, cursor = await paginate(
        session, stmt, keys, params, key_of=lambda r: (r[0].created_at, r[0].id)
    )
    return [_to_public(m, name) for m, name in rows], cursor


async def update_membership(
    session: AsyncSession,
    actor: User,
    table_id: uuid.UUID,
    user_id: uuid.UUID,
    data: MembershipUpdate,
) -> MembershipPublic:
    """A facilitator approves or rejects a request, or sets a member's role."""
    table = await get_facilitated_table(session, actor, table_id, for_update=True)
    membership = await find_membership(session, table.id, user_id)
    if membership is None:
        raise NotFound(NOT_A_MEMBER)
    if data.status is not None and data.status != membership.status:
        if data.status == "active":
            if membership.status == "invited":
                raise Conflict(
                    "An invitation is accepted by the person invited.",
                    code=ErrorCode.INVITATION_PENDING,
                )
            person = await session.get(User, membership.user_id)
            assert person is not None
            check_eligibility(table, person)
            await activate(session, table, membership)
            membership_event(
                session, EventType.MEMBERSHIP_APPROVED, actor, table, membership, audit=True
            )
        else:
            if membership.status == "active":
                raise Conflict(
                    "Remove an active member with DELETE instead.", code=ErrorCode.ALREADY_MEMBER
                )
            membership.status = "rejected"
            membership_event(
                session, EventType.MEMBERSHIP_REJECTED, actor, table, membership, audit=True
            )
    if data.role is not None and data.role != membership.role:
        if membership.status != "active":
            raise Conflict("Only active members can be given a role.", code=ErrorCode.NOT_ACTIVE)
        if membership.role == "facilitator" and membership.user_id != actor.id:
            await _ensure_may_manage_facilitators(session, actor, table)
        membership.role = data.role
        membership.role_since = datetime.now(UTC)
        membership_event(
            session,
            EventType.MEMBERSHIP_ROLE_CHANGED,
            actor,
            table,
            membership,
            audit=True,
            role=data.role,
        )
    return await _public(session, membership)


async def remove_membership(
    session: AsyncSession, actor: User, table_id: uuid.UUID, user_id: uuid.UUID
) -> None:
    """Leave (your own membership, request or invitation) or, as a facilitator, remove
    someone."""
    leaving = user_id == actor.id
    if leaving:
        table = await get_visible_table(
            session, actor, table_id, include_invited=True, for_update=True
        )
    else:
        table = await get_facilitated_table(session, actor, table_id, for_update=True)
    membership = await find_membership(session, table.id, user_id)
    if membership is None or (leaving and membership.status == "rejected"):
        raise NotFound(NOT_A_MEMBER)
    if not leaving and membership.role == "facilitator":
        await _ensure_may_manage_facilitators(session, actor, table)
    membership_event(
        session,
        EventType.MEMBERSHIP_LEFT if leaving else EventType.MEMBERSHIP_REMOVED,
        actor,
        table,
        membership,
        audit=not leaving,
        role=membership.role,
        status=membership.status,
    )
    was_member = membership.status == "active"
    await session.delete(membership)
    if was_member:
        await release_members_only_seats(session, actor, table.id, user_id)


async def create_membership(
    session: AsyncSession, actor: User, table_id: uuid.UUID, data: MembershipInvite | None
) -> tuple[MembershipPublic, bool]:
    """`POST /memberships`: without a body the caller joins; with one, a facilitator
    invites the person named."""
    if data is None or not data.names_someone:
        return await join_table(session, actor, table_id)
    return await invite_member(session, actor, table_id, data)
