"""Guardian consent for people under 14 (Italy's age of digital consent).

A person under 14 writes only once a parent's or guardian's consent is on record
(`app/deps.py: get_participant`). The organization collects the consent (a signed form,
in person) and one of its people records it here:

* an admin of the organization (or a platform admin), or
* a facilitator of one of the organization's tables,

and in both cases only for a person they can see there: an active member of, or a person
with a pending request to join, a table they run (admins run every table of their
organization). Anyone else — another table's facilitator, another organization's admin —
gets a 404, whether or not the person exists.

What is kept: `users.guardian_consent_at` (the day consent was given, at midnight in
Rome) and `guardian_consent_by_id` (who recorded it), and an audit row
`guardian_consent.recorded` with the date and the optional note as its reason. The
guardian's name is checked but not stored: it is a third party's personal data, the
audit log is read by every admin of the organization and outlives account deletion, and
the organization holds the consent form itself. Withdrawal clears both columns (audit
`guardian_consent.withdrawn`).
"""

import uuid
from datetime import UTC, date, datetime, time

from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.error_codes import ErrorCode
from app.errors import Conflict, NotFound, Unprocessable
from app.event_types import EventType
from app.models.accounts import DIGITAL_CONSENT_AGE, User, age_on
from app.models.meetings import MEETING_TIMEZONE
from app.models.organizations import Organization
from app.models.proposals import PersonRef
from app.models.safety import GuardianConsentCreate, GuardianConsentPublic
from app.models.tables import ParticipationTable, TableMembership
from app.services.access.orgs import get_organization
from app.services.access.tables import facilitates_clause
from app.services.audit.write import record_audit
from app.services.validation import field_error

PERSON_NOT_FOUND = "No person with this id among the members of the tables you run here."


def _today() -> date:
    # The same clock as the gate in app/deps.py: get_participant.
    return datetime.now(UTC).date()


def _consent_required(person: User, today: date) -> bool:
    return person.birth_date is not None and age_on(person.birth_date, today) < DIGITAL_CONSENT_AGE


def _public(person: User, today: date) -> GuardianConsentPublic:
    consented = person.guardian_consent_at
    return GuardianConsentPublic(
        user=PersonRef(id=person.id, display_name=person.display_name),
        consent_required=_consent_required(person, today),
        consented_on=consented.astimezone(MEETING_TIMEZONE).date() if consented else None,
        recorded_by_id=person.guardian_consent_by_id if consented else None,
    )


async def _person_in_reach(
    session: AsyncSession, actor: User, org: Organization, user_id: uuid.UUID
) -> User:
    """The person, locked, if they are an active member of (or asked to join) a table of
    `org` that the actor runs; 404 otherwise."""
    # Aliased: `facilitates_clause` has its own subquery on table_memberships (the actor's).
    theirs = aliased(TableMembership)
    person = (
        await session.exec(
            select(User)
            .join(theirs, col(theirs.user_id) == User.id)
            .join(ParticipationTable, col(ParticipationTable.id) == theirs.table_id)
            .where(
                col(User.id) == user_id,
                col(User.deleted_at).is_(None),
                col(ParticipationTable.organization_id) == org.id,
                col(theirs.status).in_(("active", "pending")),
                facilitates_clause(actor),
            )
            .limit(1)
            .with_for_update(of=User)
        )
    ).first()
    if person is None:
        raise NotFound(PERSON_NOT_FOUND)
    return person


async def record_consent(
    session: AsyncSession, actor: User, slug: str, data: GuardianConsentCreate
) -> GuardianConsentPublic:
    org = await get_organization(session, slug)
    person = await _person_in_reach(session, actor, org, data.user_id)
    today = _today()
    if not _consent_required(person, today):
        raise Unprocessable(
            "Only people under 14 need a guardian's consent; this person is 14 or older, or "
            "has no birth date in their profile.",
            code=ErrorCode.CONSENT_NOT_NEEDED,
        )
    # A window that does not depend on the person's birth date: answers that did would
    # let the recorder find the date out by trying.
    earliest = today.replace(year=today.year - DIGITAL_CONSENT_AGE, day=min(today.day, 28))
    if not earliest <= data.consented_on <= today:
        raise Unprocessable(
            f"consented_on must be a day in the last {DIGITAL_CONSENT_AGE} years, not in "
            "the future.",
            code=ErrorCode.INVALID_CONSENT_DATE,
            errors=[
                field_error(
                    ["body", "consented_on"],
                    f"not in the future, not more than {DIGITAL_CONSENT_AGE} years ago",
                    ErrorCode.INVALID_CONSENT_DATE,
                )
            ],
        )
    if person.guardian_consent_at is not None:
        raise Conflict(
            "A guardian's consent is already on record for this person; withdraw it first "
            "to record another.",
            code=ErrorCode.CONSENT_ALREADY_RECORDED,
        )
    person.guardian_consent_at = datetime.combine(data.consented_on, time(0), MEETING_TIMEZONE)
    person.guardian_consent_by_id = actor.id
    person.updated_at = datetime.now(UTC)
    record_audit(
        session,
        EventType.GUARDIAN_CONSENT_RECORDED,
        organization_id=org.id,
        actor_id=actor.id,
        target_type="user",
        target_id=person.id,
        reason=data.note,
        # The consent's date is evidence for the record (the user row forgets it when
        # consent is withdrawn), but a fact about a minor: not for the event's readers.
        data={"consented_on": data.consented_on.isoformat()},
        event_payload={},
    )
    await session.flush()
    return _public(person, today)


async def withdraw_consent(
    session: AsyncSession, actor: User, slug: str, user_id: uuid.UUID, reason: str | None = None
) -> None:
    org = await get_organization(session, slug)
    person = await _person_in_reach(session, actor, org, user_id)
    if person.guardian_consent_at is None:
        raise NotFound("No guardian consent is on record for this person.")
    person.guardian_consent_at = None
    person.guardian_consent_by_id = None
    person.updated_at = datetime.now(UTC)
    record_audit(
        session,
        EventType.GUARDIAN_CONSENT_WITHDRAWN,
        organization_id=org.id,
        actor_id=actor.id,
        target_type="user",
        target_id=person.id,
        reason=reason,
    )
    await session.flush()
