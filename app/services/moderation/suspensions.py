"""Suspensions: an organization's admins stop a person from taking part there.

A suspension is *in force* while it is not lifted and has no end or an end in the future,
so a timed one ends by itself. While in force, the person's writes in that organization
(proposing, editing, supporting, commenting, voting, ballots, registering, joining,
reporting) are refused with 403 `suspended`: every write path's context loader reads the
suspension in its own query and refuses the write (`write=True`, see
`app/services/access/suspensions.py`). Taking one's own part back
(withdrawing a support or a proposal, deleting a comment, removing a vote, cancelling a
registration, leaving a table) stays possible, and so does reading, exporting and
erasing one's data.

Creating one also revokes the person's sessions at once (access tokens issued before now,
every refresh token): they sign in again and find the organization read-only.

One in force at a time per person and organization: the partial unique index
`suspensions_organization_id_user_id_active_key` (on rows not lifted) decides, with
`INSERT … ON CONFLICT DO NOTHING`, so two simultaneous suspensions give one 201 and one
409. A timed suspension that ran out still holds that index until it is closed: creating
a new one first closes it (`lifted_at` = its end).
"""

import uuid
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, exists, func, or_, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.error_codes import ErrorCode
from app.errors import Conflict, NotFound, Unprocessable
from app.event_types import EventType
from app.models.accounts import User
from app.models.comments import Comment
from app.models.meetings import Meeting, MeetingRegistration
from app.models.moderation import Moderation, Suspension, SuspensionCreate
from app.models.organizations import Organization, OrganizationRole
from app.models.proposals import PersonRef, Proposal, ProposalSupport
from app.models.safety import SuspensionPublic
from app.models.tables import ParticipationTable, TableMembership
from app.pagination import PageParams, SortKey, paginate
from app.services.access.orgs import get_admin_organization, is_org_admin
from app.services.access.suspensions import in_force_clause
from app.services.accounts.sign_in import revoke_all_refresh_tokens
from app.services.audit.write import record_audit
from app.services.validation import invalid

NOT_SUSPENDED = "This person is not suspended in this organization."


# --- responses ------------------------------------------------------------------------


def _public(s: Suspension, display_name: str | None, now: datetime) -> SuspensionPublic:
    return SuspensionPublic(
        id=s.id,
        organization_id=s.organization_id,
        user=PersonRef(id=s.user_id, display_name=display_name) if display_name else None,
        reason=s.reason,
        ends_at=s.ends_at,
        active=s.lifted_at is None and (s.ends_at is None or s.ends_at > now),
        created_by_id=s.created_by_id,
        created_at=s.created_at,
        lifted_at=s.lifted_at,
        lifted_by_id=s.lifted_by_id,
        lift_reason=s.lift_reason,
    )


def _shown_name(user: User) -> str | None:
    return user.display_name if user.deleted_at is None else None


# --- suspend, lift, list --------------------------------------------------------------


def _tied_to(org_id: uuid.UUID, user_id: uuid.UUID) -> ColumnElement[bool]:
    """The person has taken part in the organization, or been reported to it: only such
    people are within an organization's reach (its admins cannot suspend, and so sign
    out, anybody else on the platform)."""
    in_org_table = select(ParticipationTable.id).where(
        col(ParticipationTable.organization_id) == org_id
    )
    return or_(
        exists().where(
            col(TableMembership.user_id) == user_id,
            col(TableMembership.table_id).in_(in_org_table),
            # An invitation nobody accepted is the organization's doing, not theirs.
            col(TableMembership.status) != "invited",
        ),
        exists().where(
            col(OrganizationRole.user_id) == user_id,
            col(OrganizationRole.organization_id) == org_id,
        ),
        exists().where(col(Proposal.author_id) == user_id, col(Proposal.organization_id) == org_id),
        exists().where(col(Comment.author_id) == user_id, col(Comment.organization_id) == org_id),
        exists().where(
            col(ProposalSupport.user_id) == user_id,
            col(ProposalSupport.table_id).in_(in_org_table),
        ),
        exists().where(
            col(MeetingRegistration.user_id) == user_id,
            col(MeetingRegistration.meeting_id).in_(
                select(Meeting.id).where(col(Meeting.organization_id) == org_id)
            ),
        ),
        exists().where(
            col(Moderation.organization_id) == org_id,
            col(Moderation.target_type) == "user",
            col(Moderation.target_id) == user_id,
        ),
    )


def _staff_anywhere(user_id: uuid.UUID) -> ColumnElement[bool]:
    """A platform admin, or an admin or facilitator of any organization."""
    return or_(
        exists().where(col(User.id) == user_id, col(User.is_platform_admin)),
        exists().where(
            col(OrganizationRole.user_id) == user_id, col(OrganizationRole.role) == "admin"
        ),
        exists().where(
            col(TableMembership.user_id) == user_id,
            col(TableMembership.role) == "facilitator",
            col(TableMembership.status) == "active",
        ),
    )


def _runs_a_table(org_id: uuid.UUID, user_id: uuid.UUID) -> ColumnElement[bool]:
    return exists().where(
        col(TableMembership.user_id) == user_id,
        col(TableMembership.role) == "facilitator",
        col(TableMembership.status) == "active",
        col(TableMembership.table_id).in_(
            select(ParticipationTable.id).where(col(ParticipationTable.organization_id) == org_id)
        ),
    )


async def _suspendable_person(
    session: AsyncSession, actor: User, org: Organization, user_id: uuid.UUID
) -> User:
    """The person to suspend, locked: 404 outside the organization's reach, 409 for its
    admins, its facilitators and (unless a platform admin acts) other organizations' staff."""
    # Only people within the organization's reach; anyone else is a 404, as if unknown.
    row = (
        await session.exec(
            select(
                User,
                _runs_a_table(org.id, user_id).label("facilitator"),
                _staff_anywhere(user_id).label("staff"),
            )
            .where(col(User.id) == user_id, _tied_to(org.id, user_id))
            .with_for_update(of=User)
        )
    ).one_or_none()
    if row is None or row[0].deleted_at is not None:
        raise NotFound("No person with this id.")
    person, facilitator, staff = row
    if await is_org_admin(session, person, org.id):
        raise Conflict(
            "Administrators of the organization cannot be suspended; remove the role first.",
            code=ErrorCode.CANNOT_SUSPEND_ADMIN,
        )
    if facilitator:
        # A suspended facilitator would keep moderating: staff lose the role first.
        raise Conflict(
            "Facilitators cannot be suspended while they run a table; dismiss them from "
            "the facilitator role first.",
            code=ErrorCode.CANNOT_SUSPEND_FACILITATOR,
        )
    if staff and not actor.is_platform_admin:
        # A suspension signs the person out of the whole platform: one organization's
        # admins cannot do that to another organization's staff (a platform admin can).
        raise Conflict(
            "This person runs another organization or its tables; ask a platform administrator.",
            code=ErrorCode.CANNOT_SUSPEND_STAFF,
        )
    return person


def _check_end(ends_at: datetime | None, now: datetime) -> None:
    if ends_at is not None:
        if ends_at.tzinfo is None:
            raise invalid(
                ["body", "ends_at"], "Give ends_at with a UTC offset.", ErrorCode.TIMEZONE_REQUIRED
            )
        if ends_at <= now:
            raise invalid(
                ["body", "ends_at"], "ends_at must be in the future.", ErrorCode.ENDS_AT_IN_PAST
            )


async def _insert_suspension(
    session: AsyncSession,
    actor: User,
    org: Organization,
    person: User,
    data: SuspensionCreate,
    now: datetime,
) -> uuid.UUID:
    """The new suspension's id; 409 `already_suspended` when one is in force."""
    # A timed suspension that ran out still holds the unique index: close it at its end.
    await session.exec(
        update(Suspension)
        .where(
            col(Suspension.organization_id) == org.id,
            col(Suspension.user_id) == person.id,
            col(Suspension.lifted_at).is_(None),
            col(Suspension.ends_at) <= now,
        )
        .values(lifted_at=col(Suspension.ends_at), updated_at=func.now())
        .execution_options(synchronize_session=False)
    )
    suspension_id = (
        await session.exec(
            insert(Suspension)  # type: ignore[call-overload]
            .values(
                id=uuid.uuid4(),
                organization_id=org.id,
                user_id=person.id,
                reason=data.reason,
                ends_at=data.ends_at,
                created_by_id=actor.id,
            )
            .on_conflict_do_nothing(
                index_elements=["organization_id", "user_id"],
                index_where=col(Suspension.lifted_at).is_(None),
            )
            .returning(Suspension.id)
        )
    ).first()
    if suspension_id is None:
        raise Conflict(
            "This person is already suspended in this organization; lift that suspension "
            "first to change it.",
            code=ErrorCode.ALREADY_SUSPENDED,
        )
    new_id: uuid.UUID = suspension_id[0]
    return new_id


async def suspend(
    session: AsyncSession, actor: User, slug: str, user_id: uuid.UUID, data: SuspensionCreate
) -> SuspensionPublic:
    """An admin of the organization (or a platform admin) suspends a person there."""
    org = await get_admin_organization(session, actor, slug)
    if user_id == actor.id:
        raise Unprocessable("You cannot suspend yourself.", code=ErrorCode.CANNOT_SUSPEND_SELF)
    person = await _suspendable_person(session, actor, org, user_id)
    now = datetime.now(UTC)
    _check_end(data.ends_at, now)
    suspension_id = await _insert_suspension(session, actor, org, person, data, now)
    # Their sessions end now: access tokens issued before this instant, refresh tokens.
    person.tokens_invalid_before = now
    await revoke_all_refresh_tokens(session, person.id)
    record_audit(
        session,
        EventType.SUSPENSION_CREATED,
        organization_id=org.id,
        actor_id=actor.id,
        target_type="user",
        target_id=person.id,
        reason=data.reason,
        data={
            "suspension_id": str(suspension_id),
            "ends_at": data.ends_at.isoformat() if data.ends_at else None,
        },
    )
    await session.flush()
    suspension = await session.get(Suspension, suspension_id)
    assert suspension is not None
    return _public(suspension, _shown_name(person), now)


async def lift(
    session: AsyncSession, actor: User, slug: str, user_id: uuid.UUID, reason: str | None
) -> SuspensionPublic:
    """Lift the suspension in force (404 when there is none)."""
    org = await get_admin_organization(session, actor, slug)
    now = datetime.now(UTC)
    row = (
        await session.exec(
            select(Suspension, User)
            .join(User, col(User.id) == Suspension.user_id)
            .where(
                col(Suspension.organization_id) == org.id,
                col(Suspension.user_id) == user_id,
                in_force_clause(now),
            )
            .with_for_update(of=Suspension)
        )
    ).one_or_none()
    if row is None:
        raise NotFound(NOT_SUSPENDED)
    suspension, person = row
    suspension.lifted_at = now
    suspension.lifted_by_id = actor.id
    suspension.lift_reason = reason
    suspension.updated_at = now
    record_audit(
        session,
        EventType.SUSPENSION_LIFTED,
        organization_id=org.id,
        actor_id=actor.id,
        target_type="user",
        target_id=suspension.user_id,
        reason=reason,
        data={"suspension_id": str(suspension.id)},
    )
    await session.flush()
    return _public(suspension, _shown_name(person), now)


async def list_suspensions(
    session: AsyncSession,
    actor: User,
    slug: str,
    params: PageParams,
    *,
    active: bool | None = None,
    user_id: uuid.UUID | None = None,
) -> tuple[list[SuspensionPublic], str | None]:
    """The organization's suspensions, newest first; `active` keeps those in force (true)
    or the others (false)."""
    org = await get_admin_organization(session, actor, slug)
    now = datetime.now(UTC)
    stmt = (
        select(Suspension, User.display_name, User.deleted_at)
        .join(User, col(User.id) == Suspension.user_id)
        .where(col(Suspension.organization_id) == org.id)
    )
    if active is not None:
        stmt = stmt.where(in_force_clause(now) if active else ~in_force_clause(now))
    if user_id is not None:
        stmt = stmt.where(col(Suspension.user_id) == user_id)
    keys = [
        SortKey(Suspension.created_at, descending=True, kind=datetime),
        SortKey(Suspension.id, descending=True, kind=uuid.UUID),
    ]
    rows, cursor = await paginate(
        session, stmt, keys, params, key_of=lambda r: (r[0].created_at, r[0].id)
    )
    return [
        _public(s, name if deleted_at is None else None, now) for s, name, deleted_at in rows
    ], cursor
