"""A person's own data: account deletion (erasure, GDPR art. 17). The export is
`app/services/privacy/export.py`.

**Deletion** (`delete_account`): confirmed with the password (403 `wrong_password`;
failures throttled like sign-ins). The account is anonymized, not deleted, so that
counts and threads stay whole: no email, no password, no birth date or municipality, no
guardian consent, display name "Partecipante rimosso", `deleted_at` and
`tokens_invalid_before` set, every refresh and one-time token gone. Then:

* roles, memberships and sortition applications go; registrations for meetings still to
  come are cancelled through `registrations.cancel_registration` (the waiting list moves up);
* drafts are deleted; published and withdrawn proposals and comments stay, with
  `author_id` null (shown as `author: null`); co-authorships are removed;
* content still awaiting a moderator's approval (`pending`) was never published — not
  in its current text — and the person is no longer there to stand by it, so no
  moderator may publish it afterwards: pending proposals are deleted like drafts (with
  the comments on them, unreachable without them), pending comments are deleted too — or,
  when they have replies, erased like a soft delete (body gone, the thread kept) — and
  their moderation items are closed (`open` and `pending` unset). None of them counted
  anywhere (`comments_count` counts visible comments), so every count stays exact;
* live questions: pending ones are deleted, the others stay authorless; their stream
  tickets and presence rows go (`app/services/live/privacy.py`);
* statements of conversations: pending ones are deleted, the others stay authorless;
* supports, comment votes, question likes, statement votes and poll participations are
  kept: the rows now point at an anonymous account, and every public count (`supports_count`, votes,
  `ballots_count`) stays exactly as it was;
* reports they filed and suspensions about them are kept (moderation records, now about
  an anonymous account);
* one audit row and event `user.deleted`, with counts only.

Afterwards signing in fails like a wrong password (no account has that email any more)
and any access token is refused (401): `deps.get_optional_user` refuses deleted accounts.
"""

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, delete, exists, func, or_, update
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import ratelimit
from app.error_codes import ErrorCode
from app.errors import Forbidden, NotFound, RateLimited
from app.event_types import EventType
from app.events import record_event
from app.models.accounts import OneTimeToken, User
from app.models.comments import Comment
from app.models.idempotency import IdempotencyRecord
from app.models.meetings import Meeting, MeetingRegistration
from app.models.moderation import Moderation
from app.models.organizations import OrganizationRole
from app.models.privacy import (
    AccountDelete,
)
from app.models.proposals import Proposal, ProposalCoauthor
from app.models.tables import ParticipationTable, TableMembership
from app.security import verify_password_off_loop
from app.services.accounts.anonymize import anonymize_account
from app.services.accounts.sign_in import revoke_all_refresh_tokens
from app.services.audit.write import record_audit
from app.services.budgets.privacy import forget_budget_voter
from app.services.conversations.privacy import erase_conversations
from app.services.live.privacy import erase_live
from app.services.meetings.registrations import cancel_registration
from app.services.service_requests.privacy import anonymize_service_requests
from app.services.sortition.privacy import erase_applications
from app.services.surveys.privacy import unlink_survey_responses

# Wrong passwords when confirming a deletion, per account: a stolen access token must not
# become a way to guess the password.
ERASE_MAX_FAILURES = 5
ERASE_WINDOW_SECONDS = 15 * 60


def _now() -> datetime:
    return datetime.now(UTC)


# --- export ---------------------------------------------------------------------------


# --- deletion -------------------------------------------------------------------------


async def _confirm_password(session: AsyncSession, user: User, password: str | None) -> None:
    if user.password_hash is None:  # accounts without a password (none today)
        return
    # On the request's connection (see app/ratelimit.py); a wrong password keeps its count.
    limit = ratelimit.Limit(f"erase:{user.id}", ERASE_MAX_FAILURES, ERASE_WINDOW_SECONDS)
    usage = await ratelimit.peek(limit, session)
    if usage.exceeded:
        wait, code = usage.retry_after(), ErrorCode.TOO_MANY_ATTEMPTS
        raise RateLimited("Too many wrong passwords; try again later.", retry_after=wait, code=code)
    if password is None or not await verify_password_off_loop(password, user.password_hash):
        await ratelimit.hit(limit, session)
        wrong = Forbidden("The password is incorrect.", code=ErrorCode.WRONG_PASSWORD)
        wrong.keep_changes = True
        raise wrong


async def _cancel_registrations(session: AsyncSession, user: User, now: datetime) -> int:
    """Cancel seats and waiting-list places for meetings still to come, through the
    registrations service (which moves the waiting list up)."""
    meeting_ids = (
        await session.exec(
            select(MeetingRegistration.meeting_id)
            .join(Meeting, col(Meeting.id) == MeetingRegistration.meeting_id)
            .where(
                col(MeetingRegistration.user_id) == user.id,
                col(MeetingRegistration.status).in_(("registered", "waitlisted")),
                col(Meeting.ends_at) > now,
            )
            .order_by(col(Meeting.id))
        )
    ).all()
    for meeting_id in meeting_ids:
        try:
            await cancel_registration(session, user, meeting_id)
        except NotFound:
            # A meeting they can no longer see: give the place up all the same.
            await session.exec(
                update(MeetingRegistration)
                .where(
                    col(MeetingRegistration.meeting_id) == meeting_id,
                    col(MeetingRegistration.user_id) == user.id,
                    col(MeetingRegistration.status).in_(("registered", "waitlisted")),
                )
                .values(status="cancelled", cancelled_at=now, updated_at=now)
            )
    return len(meeting_ids)


async def _remove_memberships(session: AsyncSession, user: User) -> int:
    rows = (
        await session.exec(
            select(TableMembership, ParticipationTable.organization_id)
            .join(ParticipationTable, col(ParticipationTable.id) == TableMembership.table_id)
            .where(col(TableMembership.user_id) == user.id)
            .order_by(col(TableMembership.table_id))
            .with_for_update(of=TableMembership)
        )
    ).all()
    for membership, organization_id in rows:
        record_event(
            session,
            EventType.MEMBERSHIP_LEFT,
            subject_type="membership",
            subject_id=membership.id,
            actor_id=user.id,
            organization_id=organization_id,
            payload={
                "table_id": str(membership.table_id),
                "user_id": str(user.id),
                "role": membership.role,
                "status": membership.status,
                "reason": "account_deleted",
            },
        )
    await session.exec(delete(TableMembership).where(col(TableMembership.user_id) == user.id))
    return len(rows)


async def _delete_drafts(session: AsyncSession, user: User) -> int:
    drafts = (
        await session.exec(
            delete(Proposal)
            .where(col(Proposal.author_id) == user.id, col(Proposal.status) == "draft")
            .returning(col(Proposal.id), col(Proposal.organization_id), col(Proposal.table_id))
        )
    ).all()
    for proposal_id, organization_id, table_id in drafts:
        record_event(
            session,
            EventType.PROPOSAL_DELETED,
            subject_type="proposal",
            subject_id=proposal_id,
            actor_id=user.id,
            organization_id=organization_id,
            payload={"table_id": str(table_id), "reason": "account_deleted"},
        )
    return len(drafts)


async def _close_moderation_items(
    session: AsyncSession, target_type: str, target_ids: list[uuid.UUID]
) -> None:
    """Take content that will never be published out of its moderators' queues."""
    if not target_ids:
        return
    await session.exec(
        update(Moderation)
        .where(
            col(Moderation.target_type) == target_type,
            col(Moderation.target_id).in_(target_ids),
            or_(col(Moderation.open), col(Moderation.pending)),
        )
        .values(open=False, pending=False, updated_at=func.now())
    )


async def _delete_pending_proposals(session: AsyncSession, user: User) -> int:
    """Proposals awaiting approval go like drafts, with the comments on them (nobody could
    reach those any more); their moderation items are closed. The status is re-checked by
    the DELETE itself: one approved meanwhile is kept, authorless, like other proposals."""
    deleted = (
        await session.exec(
            delete(Proposal)
            .where(col(Proposal.author_id) == user.id, col(Proposal.moderation_status) == "pending")
            .returning(col(Proposal.id), col(Proposal.organization_id), col(Proposal.table_id))
        )
    ).all()
    if not deleted:
        return 0
    proposal_ids = [proposal_id for proposal_id, _, _ in deleted]
    # Replies go with their roots (foreign keys); no counter: their proposal is gone.
    comment_ids = (
        await session.exec(
            delete(Comment)
            .where(col(Comment.target_type) == "proposal", col(Comment.target_id).in_(proposal_ids))
            .returning(col(Comment.id))
        )
    ).scalars()
    await _close_moderation_items(session, "proposal", proposal_ids)
    await _close_moderation_items(session, "comment", list(comment_ids))
    for proposal_id, organization_id, table_id in deleted:
        record_event(
            session,
            EventType.PROPOSAL_DELETED,
            subject_type="proposal",
            subject_id=proposal_id,
            actor_id=user.id,
            organization_id=organization_id,
            payload={
                "table_id": str(table_id),
                "reason": "account_deleted",
                "moderation_status": "pending",
            },
        )
    return len(deleted)


async def _delete_pending_comments(session: AsyncSession, user: User, now: datetime) -> int:
    """Comments awaiting approval: deleted, or — when they have replies — erased like a
    soft delete, so that the thread keeps its place; their moderation items are closed.
    Pending comments are not counted, so no counter moves. Each statement re-checks the
    status under the row lock: a comment approved meanwhile is kept, authorless."""
    reply = aliased(Comment)
    answered = exists().where(col(reply.parent_id) == Comment.id)
    pending = (col(Comment.author_id) == user.id, col(Comment.status) == "pending")
    returning = (
        col(Comment.id),
        col(Comment.organization_id),
        col(Comment.target_type),
        col(Comment.target_id),
    )
    removed = (
        await session.exec(delete(Comment).where(*pending, ~answered).returning(*returning))
    ).all()
    erased = (
        await session.exec(
            update(Comment)
            .where(*pending)
            .values(body=None, deleted_at=func.coalesce(col(Comment.deleted_at), now))
            .returning(*returning)
            .execution_options(synchronize_session=False)
        )
    ).all()
    rows = [*removed, *erased]
    await _close_moderation_items(session, "comment", [comment_id for comment_id, *_ in rows])
    for comment_id, organization_id, target_type, target_id in rows:
        record_event(
            session,
            EventType.COMMENT_DELETED,
            subject_type="comment",
            subject_id=comment_id,
            actor_id=user.id,
            organization_id=organization_id,
            payload={
                "target_type": target_type,
                "target_id": str(target_id),
                "reason": "account_deleted",
                "moderation_status": "pending",
            },
        )
    return len(rows)


async def _keep_authorless(session: AsyncSession, user: User) -> tuple[int, int]:
    """Published and withdrawn proposals and comments stay, without an author: how many
    of each."""
    proposals = (
        await session.exec(
            update(Proposal)
            .where(col(Proposal.author_id) == user.id)
            .values(author_id=None, updated_at=col(Proposal.updated_at))
            .returning(col(Proposal.id))
            .execution_options(synchronize_session=False)
        )
    ).all()
    comments = (
        await session.exec(
            update(Comment)
            .where(col(Comment.author_id) == user.id)
            .values(author_id=None, updated_at=col(Comment.updated_at))
            .returning(col(Comment.id))
            .execution_options(synchronize_session=False)
        )
    ).all()
    return len(proposals), len(comments)


async def _forget_stored_replays(session: AsyncSession, user: User) -> None:
    # Stored answers to replay: the person's own, and any holding their private data —
    # their registration's (kept under whoever sent it: the address it came from, or
    # someone signed in on a shared device), with their id, email and birth date.
    stored_body = func.encode(col(IdempotencyRecord.response_body), "escape")
    holds_them = stored_body.contains(str(user.id))
    if user.email:
        holds_them = and_(holds_them, stored_body.contains(user.email, autoescape=True))
    await session.exec(
        delete(IdempotencyRecord).where(
            or_(col(IdempotencyRecord.caller) == f"user:{user.id}", holds_them)
        )
    )


async def delete_account(session: AsyncSession, user: User, data: AccountDelete) -> None:
    """Anonymize the caller's account (see the module docstring)."""
    await _confirm_password(session, user, data.password)
    now = _now()
    locked = (
        await session.exec(
            select(User)
            .where(col(User.id) == user.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).one()
    if locked.deleted_at is not None:  # a concurrent deletion won
        raise NotFound("This account no longer exists.")
    # Registrations first: cancelling goes through meeting visibility, which may depend
    # on the memberships removed next.
    registrations = await _cancel_registrations(session, locked, now)
    memberships = await _remove_memberships(session, locked)
    # Before the email is cleared: requests filed through an app carry only the email.
    service_requests = await anonymize_service_requests(session, locked)
    survey_responses = await unlink_survey_responses(session, user.id)
    await session.exec(delete(OrganizationRole).where(col(OrganizationRole.user_id) == user.id))
    drafts = await _delete_drafts(session, locked)
    # Never published: no moderator may publish it once its author is gone.
    pending_proposals = await _delete_pending_proposals(session, locked)
    pending_comments = await _delete_pending_comments(session, locked, now)
    await session.exec(delete(ProposalCoauthor).where(col(ProposalCoauthor.user_id) == user.id))
    budget_voters = await forget_budget_voter(session, user.id)
    proposals, comments = await _keep_authorless(session, user)
    live = await erase_live(session, locked) | await erase_conversations(session, locked)
    await revoke_all_refresh_tokens(session, user.id)
    await session.exec(delete(OneTimeToken).where(col(OneTimeToken.user_id) == user.id))
    await _forget_stored_replays(session, user)
    anonymize_account(locked, now)
    counts: dict[str, Any] = {
        "proposals_kept_authorless": proposals,
        "drafts_deleted": drafts,
        "pending_proposals_deleted": pending_proposals,
        "comments_kept_authorless": comments,
        "pending_comments_deleted": pending_comments,
        "memberships_removed": memberships,
        "registrations_cancelled": registrations,
        "budget_voter_records_erased": budget_voters,
        **live,
        "service_requests_anonymized": service_requests,
        "survey_responses_unlinked": survey_responses,
        "sortition_applications_deleted": await erase_applications(session, user.id),
    }
    record_audit(
        session,
        EventType.USER_DELETED,
        organization_id=None,
        actor_id=user.id,
        target_type="user",
        target_id=user.id,
        data=counts,
    )
    await session.flush()
