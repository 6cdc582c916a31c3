"""A person's own data: the export (GDPR access, art. 15 and 20). Account deletion
(erasure, art. 17) is `app/services/privacy/erasure.py`.

**Export** (`export_personal_data`): everything held about the caller, in a fixed number
of queries (one per section, each on an index of the person's id) whatever the amount of
data. Included: the profile with its private fields (email, birth date, municipality),
guardian consent status, organization roles, table memberships, sortition applications,
meeting registrations with their check-in codes, their proposals (drafts, pending and
hidden ones included, with their moderation status), co-authorships, comments (deleted
and hidden ones flagged), comment votes, supports, their live questions and likes, the polls they
voted in (never their choices: those are not stored with anybody's identity), the
reports they filed, suspensions concerning them, their active sign-ins (when, until
when — never the tokens), the administration actions about them (action, organization,
time) and a count of the recorded events that name them as the actor, by type.

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

One builder per section: `export_account.py` (the account) and `export_content.py`
(what the person wrote or did in tables).
"""

from datetime import UTC, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from app.models.accounts import User
from app.models.meetings import MEETING_TIMEZONE
from app.models.privacy import (
    PersonalDataExport,
)
from app.services.budgets.privacy import budget_participations
from app.services.conversations.privacy import export_conversations
from app.services.live.privacy import export_live
from app.services.privacy.export_account import (
    activity_section,
    administrative_actions_section,
    guardian_consent_section,
    memberships_section,
    profile_section,
    registrations_section,
    roles_section,
    sign_ins_section,
    suspensions_section,
)
from app.services.privacy.export_content import (
    coauthorships_section,
    comment_votes_section,
    comments_section,
    poll_participations_section,
    proposals_section,
    reports_filed_section,
    supports_section,
)
from app.services.service_requests.privacy import export_service_requests
from app.services.sortition.privacy import export_applications
from app.services.surveys.privacy import export_survey_participations


def _now() -> datetime:
    return datetime.now(UTC)


NOT_INCLUDED: dict[str, str] = {
    "reports_against_you": "Reports about you or your content, and who filed them, are left "
    "out to protect the people who report; moderation outcomes show in the status of your "
    "proposals and comments.",
    "staff_identities": "Which admin, facilitator or moderator acted on you is the "
    "organization's record; the actions themselves are in administrative_actions.",
    "poll_choices": "What you chose in polls is not stored with your identity anywhere: "
    "only that you voted.",
    "anonymous_survey_answers": "Your answers to anonymous surveys are stored with no link "
    "to you, so they cannot be found: only that you answered.",
    "service_request_notes": "Staff's internal notes on your service requests are the "
    "organization's working records.",
    "event_log": "The event log is summarized in activity (counts by type); its rows hold "
    "ids, not further personal data.",
    "secrets": "Your password hash and the hashes of your sign-in, verification and reset tokens.",
    "technical_records": "Replays of retried requests (kept 24 hours) and rate-limit "
    "counters (kept for their window).",
    "staff_work": "Plans, meetings, polls, minutes and answers you wrote as an admin or "
    "facilitator belong to the organization.",
}


async def export_personal_data(session: AsyncSession, user: User) -> PersonalDataExport:
    """Everything held about `user`, in a fixed number of queries (one per section; see
    the module docstring for what is left out)."""
    now = _now()
    uid = user.id
    live_questions, live_likes = await export_live(session, user)
    statements, statement_votes = await export_conversations(session, user)
    return PersonalDataExport(
        generated_at=now,
        profile=await profile_section(session, user),
        guardian_consent=guardian_consent_section(user, now),
        roles=await roles_section(session, uid),
        memberships=await memberships_section(session, uid),
        meeting_registrations=await registrations_section(session, uid),
        proposals=await proposals_section(session, uid),
        coauthorships=await coauthorships_section(session, uid),
        comments=await comments_section(session, uid),
        comment_votes=await comment_votes_section(session, uid),
        supports=await supports_section(session, uid),
        poll_participations=await poll_participations_section(session, uid),
        budget_participations=await budget_participations(session, uid),
        reports_filed=await reports_filed_section(session, uid),
        suspensions=await suspensions_section(session, uid, now),
        sign_ins=await sign_ins_section(session, uid, now),
        administrative_actions=await administrative_actions_section(session, uid),
        activity=await activity_section(session, uid),
        live_questions=live_questions,
        live_question_likes=live_likes,
        conversation_statements=statements,
        conversation_votes=statement_votes,
        survey_participations=await export_survey_participations(session, uid),
        service_requests=await export_service_requests(session, user),
        sortition_applications=await export_applications(session, uid),
        not_included=NOT_INCLUDED,
    )


def export_filename(now: datetime | None = None) -> str:
    day = (now or _now()).astimezone(MEETING_TIMEZONE).date()
    return f"consulta-export-{day.isoformat()}.json"
