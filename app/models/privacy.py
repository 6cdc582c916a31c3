"""Schemas of the personal data export (`GET /v1/me/export`) and account deletion
(`DELETE /v1/me`). No tables: the export reads every domain's own."""

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from pydantic import Field as PField

from app.models.budget_schemas import ExportBudgetParticipation
from app.models.conversations import ExportConversationVote, ExportStatement
from app.models.live import ExportLiveQuestion, ExportLiveQuestionLike
from app.models.service_requests import ExportServiceRequest
from app.models.sortition import ApplicationPublic
from app.models.surveys import ExportSurveyParticipation

ExportFormat = Literal["consulta.export/v1"]


class AccountDelete(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: str = PField(
        max_length=1024, description="The account's current password, to confirm."
    )


class ExportMunicipality(BaseModel):
    id: uuid.UUID
    organization_id: uuid.UUID
    name: str


class ExportProfile(BaseModel):
    id: uuid.UUID
    email: str | None
    email_verified_at: datetime | None
    display_name: str
    locale: str
    birth_date: date | None
    municipality: ExportMunicipality | None
    is_platform_admin: bool
    created_at: datetime
    updated_at: datetime


class ExportGuardianConsent(BaseModel):
    required: bool = PField(description="Under 14 today: writing needs a guardian's consent.")
    recorded: bool
    consented_on: date | None


class ExportRole(BaseModel):
    organization_id: uuid.UUID
    organization_slug: str
    role: str
    created_at: datetime


class ExportMembership(BaseModel):
    table_id: uuid.UUID
    table_slug: str
    organization_id: uuid.UUID
    role: str
    status: str
    activated_at: datetime | None
    created_at: datetime
    updated_at: datetime


class ExportRegistration(BaseModel):
    id: uuid.UUID
    meeting_id: uuid.UUID
    meeting_title: dict[str, str]
    meeting_starts_at: datetime
    status: str
    check_in_code: str
    promoted_at: datetime | None
    cancelled_at: datetime | None
    checked_in_at: datetime | None
    created_at: datetime


class ExportProposal(BaseModel):
    id: uuid.UUID
    table_id: uuid.UUID
    organization_id: uuid.UUID
    title: str
    body: str
    node_ids: list[uuid.UUID]
    municipality_id: uuid.UUID | None
    status: str
    moderation_status: str = PField(description="visible, pending (awaiting approval), hidden.")
    answer_state: str | None
    answer_text: str | None
    supports_count: int
    comments_count: int
    published_at: datetime | None
    withdrawn_at: datetime | None
    created_at: datetime
    updated_at: datetime


class ExportCoauthorship(BaseModel):
    proposal_id: uuid.UUID
    title: str
    status: str


class ExportComment(BaseModel):
    id: uuid.UUID
    organization_id: uuid.UUID
    target_type: str
    target_id: uuid.UUID
    parent_id: uuid.UUID | None
    body: str | None = PField(description="Null once you deleted the comment.")
    alignment: str
    status: str = PField(description="visible, pending (awaiting approval), hidden.")
    deleted: bool
    upvotes: int
    downvotes: int
    edited_at: datetime | None
    created_at: datetime


class ExportCommentVote(BaseModel):
    comment_id: uuid.UUID
    value: int
    created_at: datetime
    updated_at: datetime


class ExportSupport(BaseModel):
    proposal_id: uuid.UUID
    table_id: uuid.UUID
    created_at: datetime


class ExportPollParticipation(BaseModel):
    """That you voted — what you chose is not stored with your identity anywhere."""

    poll_id: uuid.UUID
    table_id: uuid.UUID
    question: dict[str, str]
    voted_at: datetime


class ExportReport(BaseModel):
    id: uuid.UUID
    target_type: str
    target_id: uuid.UUID
    reason: str
    details: str | None
    dismissed_at: datetime | None
    created_at: datetime


class ExportSuspension(BaseModel):
    id: uuid.UUID
    organization_id: uuid.UUID
    reason: str
    ends_at: datetime | None
    active: bool
    lifted_at: datetime | None
    lift_reason: str | None
    created_at: datetime


class ExportSignIn(BaseModel):
    """One active sign-in (a refresh token family); never the tokens themselves."""

    family_id: uuid.UUID
    signed_in_at: datetime
    last_refreshed_at: datetime
    expires_at: datetime


class ExportAuditItem(BaseModel):
    """An administration action about you (a suspension, a guardian consent…)."""

    action: str
    organization_id: uuid.UUID | None
    created_at: datetime


class ExportActivity(BaseModel):
    """How many recorded events name you as the one who acted, by type."""

    type: str
    count: int
    first_at: datetime
    last_at: datetime


class PersonalDataExport(BaseModel):
    format: ExportFormat = "consulta.export/v1"
    generated_at: datetime
    profile: ExportProfile
    guardian_consent: ExportGuardianConsent
    roles: list[ExportRole]
    memberships: list[ExportMembership]
    meeting_registrations: list[ExportRegistration]
    proposals: list[ExportProposal]
    coauthorships: list[ExportCoauthorship]
    comments: list[ExportComment]
    comment_votes: list[ExportCommentVote]
    supports: list[ExportSupport]
    poll_participations: list[ExportPollParticipation]
    budget_participations: list[ExportBudgetParticipation] = PField(default_factory=list)
    reports_filed: list[ExportReport]
    suspensions: list[ExportSuspension]
    sign_ins: list[ExportSignIn]
    administrative_actions: list[ExportAuditItem]
    activity: list[ExportActivity]
    # Surveys answered (answers of named surveys only) and service requests filed.
    survey_participations: list[ExportSurveyParticipation]
    service_requests: list[ExportServiceRequest]
    live_questions: list[ExportLiveQuestion] = PField(
        default_factory=list, description="Questions you asked in live sessions."
    )
    live_question_likes: list[ExportLiveQuestionLike] = PField(
        default_factory=list, description="Live questions you like."
    )
    sortition_applications: list[ApplicationPublic] = PField(
        default_factory=list,
        description="Your applications to tables that draw their members by lot, with "
        "your status and selection probability.",
    )
    conversation_statements: list[ExportStatement] = PField(
        default_factory=list, description="Statements you wrote in conversations."
    )
    conversation_votes: list[ExportConversationVote] = PField(
        default_factory=list, description="Your votes on conversations' statements."
    )
    not_included: dict[str, Any] = PField(
        description="What is held but left out of the export, and why."
    )
