"""Request and response schemas of suspensions, the audit log and guardian consent.

The tables are in `app/models/moderation.py` (suspensions, audit log) and
`app/models/accounts.py` (a person's guardian consent columns); this module adds no table.
"""

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict
from pydantic import Field as PField

from app.models.base import Day
from app.models.moderation import AuditEntryPublic, Reason
from app.models.proposals import PersonRef


class SuspensionPublic(BaseModel):
    id: uuid.UUID
    organization_id: uuid.UUID
    user: PersonRef | None = PField(description="Null once the person deleted the account.")
    reason: str
    ends_at: datetime | None = PField(description="Null: until lifted by hand.")
    active: bool = PField(
        description="In force now: not lifted, and without an end or ending in the future."
    )
    created_by_id: uuid.UUID | None
    created_at: datetime
    lifted_at: datetime | None = PField(
        description="When it was lifted by hand, or — for one that ran out and was closed "
        "when a new one was created — when it ended."
    )
    lifted_by_id: uuid.UUID | None
    lift_reason: str | None


class SuspensionLift(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason | None = None


class AuditEntryView(AuditEntryPublic):
    actor: PersonRef | None = PField(
        description="Who acted; null for the system or once the actor deleted the account "
        "(`actor_id` stays)."
    )


class GuardianConsentCreate(BaseModel):
    """A parent's or guardian's consent for a person under 14, collected by the
    organization (signed form, in person…) and recorded here."""

    model_config = ConfigDict(extra="forbid")

    user_id: uuid.UUID
    guardian_name: str = PField(
        min_length=1,
        max_length=200,
        description="Who gave consent: the recorder confirms they identified the guardian. "
        "Checked, not stored — the organization keeps the consent form itself; the audit "
        "log (read by every admin, kept after account deletion) records who recorded the "
        "consent, when, and the date it was given.",
    )
    consented_on: Day = PField(description="When the guardian consented (not in the future).")
    note: Reason | None = PField(
        default=None,
        description="Kept in the audit log as the action's reason; no personal data.",
    )


class GuardianConsentPublic(BaseModel):
    user: PersonRef
    consent_required: bool = PField(description="The person is under 14 today.")
    consented_on: date | None
    recorded_by_id: uuid.UUID | None
