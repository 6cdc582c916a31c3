"""A person's own data: the export (GDPR access, art. 15 and 20) and account deletion
(erasure, art. 17).

**Export** (`export_personal_data`): everything held about the caller, in a fixed number
of queries (one per section, each on an index of the person's id) whatever the amount of
data. Included: the profile with its private fields (email, birth date, municipality),
guardian consent status, organization roles, table memberships, meeting registrations
with their check-in codes, their proposals (drafts, pending and hidden ones included,
with their moderation status), co-authorships, comments (deleted and hidden ones
flagged), comment votes, supports, the polls they voted in (never their choices: those
are not stored with anybody's identity), their live questions and likes, the reports
they filed, suspensions concerning them, their active sign-ins (when, until when — never
the tokens), the administration actions about them (action, organization, time) and a
count of the recorded events that name them as the actor, by type.

Left out, and why (also in the export's `not_included`):

* reports filed *against* them and who filed them: reporters are protected from
  retaliation; moderation outcomes show on their own content's status;
* who (which admin, facilitator or moderator) acted on them: staff's identities are the
  organization's records, not the person's; the actions themselves are listed;
* the raw event and audit rows: summarized (the rows hold ids, no further personal data);
* secrets: password hash, refresh and one-time token hashes;
* technical records kept for at most a day or two: idempotency replays, rate-limit
  counters;
* what they created as staff (plans, meetings, polls, minutes, answers): the
  organization's records.

**Deletion** (`delete_account`): confirmed with the password (403 `wrong_password`;
failures throttled like sign-ins). The account is anonymized, not deleted, so that
counts and threads stay whole: no email, no password, no birth date or municipality, no
guardian consent, display name "Partecipante rimosso", `deleted_at` and
`tokens_invalid_before` set, every refresh and one-time token gone. Then:

* roles and table memberships are removed; registrations for meetings still to come are
  cancelled through `registrations.cancel_registration` (the waiting list moves up);
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
* supports, comment votes, question likes and poll participations are kept: the rows now point at an
  anonymous account, and every public count (`supports_count`, votes, `ballots_count`)
  stays exactly as it was;
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
from app.errors import Forbidden, NotFound, RateLimited
from app.events import record_event
from app.models.accounts import DIGITAL_CONSENT_AGE, OneTimeToken, RefreshToken, User, age_on
from app.models.comments import Comment, CommentVote
from app.models.events import Event
from app.models.idempotency import IdempotencyRecord
from app.models.meetings import MEETING_TIMEZONE, Meeting, MeetingRegistration
from app.models.moderation import AuditEntry, Moderation, Report, Suspension
from app.models.organizations import Municipality, Organization, OrganizationRole
from app.models.polls import Poll, PollParticipation
from app.models.privacy import (
    AccountDelete,
    ExportActivity,
    ExportAuditItem,
    ExportCoauthorship,
    ExportComment,
    ExportCommentVote,
    ExportGuardianConsent,
    ExportMembership,
    ExportMunicipality,
    ExportPollParticipation,
    ExportProfile,
    ExportProposal,
    ExportRegistration,
    ExportReport,
    ExportRole,
    ExportSignIn,
    ExportSupport,
    ExportSuspension,
    PersonalDataExport,
)
from app.models.proposals import Proposal, ProposalCoauthor, ProposalNode, ProposalSupport
from app.models.tables import ParticipationTable, TableMembership
from app.security import verify_password_off_loop
from app.services.accounts import revoke_all_refresh_tokens
from app.services.audit import record_audit
from app.services.live.privacy import erase_live, export_live
from app.services.registrations import cancel_registration

DELETED_DISPLAY_NAME = "Partecipante rimosso"
# Wrong passwords when confirming a deletion, per account: a stolen access token must not
# become a way to guess the password.
ERASE_MAX_FAILURES = 5
ERASE_WINDOW_SECONDS = 15 * 60

NOT_INCLUDED: dict[str, str] = {
    "reports_against_you": "Reports about you or your content, and who filed them, are left "
    "out to protect the people who report; moderation outcomes show in the status of your "
    "proposals and comments.",
    "staff_identities": "Which admin, facilitator or moderator acted on you is the "
    "organization's record; the actions themselves are in administrative_actions.",
    "poll_choices": "What you chose in polls is not stored with your identity anywhere: "
    "only that you voted.",
    "event_log": "The event log is summarized in activity (counts by type); its rows hold "
    "ids, not further personal data.",
    "secrets": "Your password hash and the hashes of your sign-in, verification and reset tokens.",
    "technical_records": "Replays of retried requests (kept 24 hours) and rate-limit "
    "counters (kept for their window).",
    "staff_work": "Plans, meetings, polls, minutes and answers you wrote as an admin or "
    "facilitator belong to the organization.",
}


def _now() -> datetime:
    return datetime.now(UTC)


# --- export ---------------------------------------------------------------------------


async def _profile(session: AsyncSession, user: User) -> ExportProfile:
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


def _guardian_consent(user: User, now: datetime) -> ExportGuardianConsent:
    today = now.date()
    consented = user.guardian_consent_at
    return ExportGuardianConsent(
        required=user.birth_date is not None
        and age_on(user.birth_date, today) < DIGITAL_CONSENT_AGE,
        recorded=consented is not None,
        consented_on=consented.astimezone(MEETING_TIMEZONE).date() if consented else None,
    )


async def _proposals(session: AsyncSession, user_id: uuid.UUID) -> list[ExportProposal]:
    proposals = (
        await session.exec(
            select(Proposal)
            .where(col(Proposal.author_id) == user_id)
            .order_by(col(Proposal.created_at), col(Proposal.id))
        )
    ).all()
    nodes: dict[uuid.UUID, list[uuid.UUID]] = {}
    if proposals:
        for proposal_id, node_id in (
            await session.exec(
                select(ProposalNode.proposal_id, ProposalNode.node_id)
                .join(Proposal, col(Proposal.id) == ProposalNode.proposal_id)
                .where(col(Proposal.author_id) == user_id)
                .order_by(col(ProposalNode.node_id))
            )
        ).all():
            nodes.setdefault(proposal_id, []).append(node_id)
    return [
        ExportProposal(
            id=p.id,
            table_id=p.table_id,
            organization_id=p.organization_id,
            title=p.title,
            body=p.body,
            node_ids=nodes.get(p.id, []),
            municipality_id=p.municipality_id,
            status=p.status,
            moderation_status=p.moderation_status,
            answer_state=p.answer_state,
            answer_text=p.answer_text,
            supports_count=p.supports_count,
            comments_count=p.comments_count,
            published_at=p.published_at,
            withdrawn_at=p.withdrawn_at,
            created_at=p.created_at,
            updated_at=p.updated_at,
        )
        for p in proposals
    ]


async def export_personal_data(session: AsyncSession, user: User) -> PersonalDataExport:
    """Everything held about `user`, in a fixed number of queries (see the module
    docstring for what is left out)."""
    now = _now()
    uid = user.id
    live_questions, live_likes = await export_live(session, user)
    roles = (
        await session.exec(
            select(OrganizationRole, Organization.slug)
            .join(Organization, col(Organization.id) == OrganizationRole.organization_id)
            .where(col(OrganizationRole.user_id) == uid)
            .order_by(col(OrganizationRole.created_at))
        )
    ).all()
    memberships = (
        await session.exec(
            select(TableMembership, ParticipationTable.slug, ParticipationTable.organization_id)
            .join(ParticipationTable, col(ParticipationTable.id) == TableMembership.table_id)
            .where(col(TableMembership.user_id) == uid)
            .order_by(col(TableMembership.created_at))
        )
    ).all()
    registrations = (
        await session.exec(
            select(MeetingRegistration, Meeting.title, Meeting.starts_at)
            .join(Meeting, col(Meeting.id) == MeetingRegistration.meeting_id)
            .where(col(MeetingRegistration.user_id) == uid)
            .order_by(col(MeetingRegistration.seq))
        )
    ).all()
    coauthorships = (
        await session.exec(
            select(Proposal.id, Proposal.title, Proposal.status)
            .join(ProposalCoauthor, col(ProposalCoauthor.proposal_id) == Proposal.id)
            .where(col(ProposalCoauthor.user_id) == uid)
            .order_by(col(Proposal.created_at))
        )
    ).all()
    comments = (
        await session.exec(
            select(Comment)
            .where(col(Comment.author_id) == uid)
            .order_by(col(Comment.created_at), col(Comment.id))
        )
    ).all()
    votes = (
        await session.exec(
            select(CommentVote)
            .where(col(CommentVote.user_id) == uid)
            .order_by(col(CommentVote.created_at))
        )
    ).all()
    supports = (
        await session.exec(
            select(ProposalSupport)
            .where(col(ProposalSupport.user_id) == uid)
            .order_by(col(ProposalSupport.created_at))
        )
    ).all()
    # Only that they voted: poll_participations has no choice to give away.
    polls = (
        await session.exec(
            select(
                col(PollParticipation.poll_id),
                col(PollParticipation.created_at),
                col(Poll.table_id),
                col(Poll.question),
            )
            .join(Poll, col(Poll.id) == PollParticipation.poll_id)
            .where(col(PollParticipation.user_id) == uid)
            .order_by(col(PollParticipation.created_at))
        )
    ).all()
    reports = (
        await session.exec(
            select(Report, Moderation.target_type, Moderation.target_id)
            .join(Moderation, col(Moderation.id) == Report.moderation_id)
            .where(col(Report.reporter_id) == uid)
            .order_by(col(Report.created_at))
        )
    ).all()
    suspensions = (
        await session.exec(
            select(Suspension)
            .where(col(Suspension.user_id) == uid)
            .order_by(col(Suspension.created_at))
        )
    ).all()
    live_token = (
        col(RefreshToken.rotated_at).is_(None)
        & col(RefreshToken.revoked_at).is_(None)
        & (col(RefreshToken.expires_at) > now)
    )
    sign_ins = (
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
    audit = (
        await session.exec(
            select(AuditEntry.action, AuditEntry.organization_id, AuditEntry.created_at)
            .where(col(AuditEntry.target_type) == "user", col(AuditEntry.target_id) == uid)
            .order_by(col(AuditEntry.seq))
        )
    ).all()
    activity = (
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
    return PersonalDataExport(
        generated_at=now,
        profile=await _profile(session, user),
        guardian_consent=_guardian_consent(user, now),
        roles=[
            ExportRole(
                organization_id=r.organization_id,
                organization_slug=slug,
                role=r.role,
                created_at=r.created_at,
            )
            for r, slug in roles
        ],
        memberships=[
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
            for m, slug, org_id in memberships
        ],
        meeting_registrations=[
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
            for r, title, starts_at in registrations
        ],
        proposals=await _proposals(session, uid),
        coauthorships=[
            ExportCoauthorship(proposal_id=pid, title=title, status=status)
            for pid, title, status in coauthorships
        ],
        comments=[
            ExportComment(
                id=c.id,
                organization_id=c.organization_id,
                target_type=c.target_type,
                target_id=c.target_id,
                parent_id=c.parent_id,
                body=c.body,
                alignment=c.alignment,
                status=c.status,
                deleted=c.deleted_at is not None,
                upvotes=c.upvotes,
                downvotes=c.downvotes,
                edited_at=c.edited_at,
                created_at=c.created_at,
            )
            for c in comments
        ],
        comment_votes=[
            ExportCommentVote(
                comment_id=v.comment_id,
                value=v.value,
                created_at=v.created_at,
                updated_at=v.updated_at,
            )
            for v in votes
        ],
        supports=[
            ExportSupport(proposal_id=s.proposal_id, table_id=s.table_id, created_at=s.created_at)
            for s in supports
        ],
        poll_participations=[
            ExportPollParticipation(
                poll_id=poll_id, table_id=table_id, question=question, voted_at=voted_at
            )
            for poll_id, voted_at, table_id, question in polls
        ],
        reports_filed=[
            ExportReport(
                id=r.id,
                target_type=target_type,
                target_id=target_id,
                reason=r.reason,
                details=r.details,
                dismissed_at=r.dismissed_at,
                created_at=r.created_at,
            )
            for r, target_type, target_id in reports
        ],
        suspensions=[
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
            for s in suspensions
        ],
        sign_ins=[
            ExportSignIn(
                family_id=family_id,
                signed_in_at=first,
                last_refreshed_at=last,
                expires_at=expires_at,
            )
            for family_id, first, last, expires_at in sign_ins
        ],
        administrative_actions=[
            ExportAuditItem(action=action, organization_id=org_id, created_at=at)
            for action, org_id, at in audit
        ],
        activity=[
            ExportActivity(type=type_, count=count, first_at=first, last_at=last)
            for type_, count, first, last in activity
        ],
        live_questions=live_questions,
        live_question_likes=live_likes,
        not_included=NOT_INCLUDED,
    )


# --- deletion -------------------------------------------------------------------------


async def _confirm_password(session: AsyncSession, user: User, password: str | None) -> None:
    if user.password_hash is None:  # accounts without a password (none today)
        return
    # On the request's connection (see app/ratelimit.py); a wrong password keeps its count.
    limit = ratelimit.Limit(f"erase:{user.id}", ERASE_MAX_FAILURES, ERASE_WINDOW_SECONDS)
    usage = await ratelimit.peek(limit, session)
    if usage.exceeded:
        raise RateLimited(
            "Too many wrong passwords; try again later.",
            retry_after=usage.retry_after(),
            code="too_many_attempts",
        )
    if password is None or not await verify_password_off_loop(password, user.password_hash):
        await ratelimit.hit(limit, session)
        wrong = Forbidden("The password is incorrect.", code="wrong_password")
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
            "membership.left",
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
            "proposal.deleted",
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
            "proposal.deleted",
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
            "comment.deleted",
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
    await session.exec(delete(OrganizationRole).where(col(OrganizationRole.user_id) == user.id))
    drafts = await _delete_drafts(session, locked)
    # Never published: no moderator may publish it once its author is gone.
    pending_proposals = await _delete_pending_proposals(session, locked)
    pending_comments = await _delete_pending_comments(session, locked, now)
    await session.exec(delete(ProposalCoauthor).where(col(ProposalCoauthor.user_id) == user.id))
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
    live = await erase_live(session, locked)
    await revoke_all_refresh_tokens(session, user.id)
    await session.exec(delete(OneTimeToken).where(col(OneTimeToken.user_id) == user.id))
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
    locked.email = None
    locked.email_verified_at = None
    locked.password_hash = None
    locked.display_name = DELETED_DISPLAY_NAME
    locked.birth_date = None
    locked.municipality_id = None
    locked.is_platform_admin = False
    locked.guardian_consent_at = None
    locked.guardian_consent_by_id = None
    locked.deleted_at = now
    locked.tokens_invalid_before = now
    locked.updated_at = now
    counts: dict[str, Any] = {
        "proposals_kept_authorless": len(proposals),
        "drafts_deleted": drafts,
        "pending_proposals_deleted": pending_proposals,
        "comments_kept_authorless": len(comments),
        "pending_comments_deleted": pending_comments,
        "memberships_removed": memberships,
        "registrations_cancelled": registrations,
        **live,
    }
    record_audit(
        session,
        "user.deleted",
        organization_id=None,
        actor_id=user.id,
        target_type="user",
        target_id=user.id,
        data=counts,
    )
    await session.flush()


def export_filename(now: datetime | None = None) -> str:
    day = (now or _now()).astimezone(MEETING_TIMEZONE).date()
    return f"consulta-export-{day.isoformat()}.json"
