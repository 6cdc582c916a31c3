"""All tables, imported so that Alembic's autogenerate and `alembic check` see them."""

from app.models.accounts import OneTimeToken, RefreshToken, User
from app.models.budgets import (
    Budget,
    BudgetArea,
    BudgetAreaMunicipality,
    BudgetBallot,
    BudgetNode,
    BudgetProject,
    BudgetProjectNode,
    BudgetProjectProposal,
    BudgetProjectUpdate,
    BudgetResult,
    BudgetVoter,
)
from app.models.comments import Comment, CommentVote
from app.models.conversations import (
    Conversation,
    ConversationMap,
    ConversationStatement,
    ConversationVote,
)
from app.models.events import Event
from app.models.idempotency import IdempotencyRecord
from app.models.integrations import (
    ApiClient,
    ApiClientSecret,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookOutbox,
    WebhookSecret,
)
from app.models.live import LivePresence, LiveQuestion, LiveQuestionLike, LiveTicket
from app.models.meetings import Meeting, MeetingMinutes, MeetingPlanNode, MeetingRegistration
from app.models.moderation import AuditEntry, Moderation, Report, Suspension
from app.models.organizations import Municipality, Organization, OrganizationRole
from app.models.plans import Indicator, Measurement, Plan, PlanNode, PlanPhase
from app.models.polls import Poll, PollOption, PollParticipation
from app.models.proposals import (
    MinutesProposal,
    Proposal,
    ProposalCoauthor,
    ProposalNode,
    ProposalSupport,
)
from app.models.ratelimits import RateLimitCounter
from app.models.read_fences import ReadFence
from app.models.service_requests import (
    Open311ApiKey,
    Service,
    ServiceAttribute,
    ServiceRequest,
    ServiceRequestNote,
)
from app.models.sortition import SortitionApplication, SortitionConfig, SortitionDraw
from app.models.surveys import (
    Survey,
    SurveyAnswer,
    SurveyOption,
    SurveyParticipation,
    SurveyQuestion,
    SurveyResponse,
    SurveyRow,
)
from app.models.tables import ParticipationTable, TableMembership, TablePlanNode, TableSettings

__all__ = [
    "ApiClient",
    "ApiClientSecret",
    "AuditEntry",
    "Budget",
    "BudgetArea",
    "BudgetAreaMunicipality",
    "BudgetBallot",
    "BudgetNode",
    "BudgetProject",
    "BudgetProjectNode",
    "BudgetProjectProposal",
    "BudgetProjectUpdate",
    "BudgetResult",
    "BudgetVoter",
    "Comment",
    "CommentVote",
    "Conversation",
    "ConversationMap",
    "ConversationStatement",
    "ConversationVote",
    "Event",
    "IdempotencyRecord",
    "Indicator",
    "LivePresence",
    "LiveQuestion",
    "LiveQuestionLike",
    "LiveTicket",
    "Measurement",
    "Meeting",
    "MeetingMinutes",
    "MeetingPlanNode",
    "MeetingRegistration",
    "MinutesProposal",
    "Moderation",
    "Municipality",
    "OneTimeToken",
    "Open311ApiKey",
    "Organization",
    "OrganizationRole",
    "ParticipationTable",
    "Plan",
    "PlanNode",
    "PlanPhase",
    "Poll",
    "PollOption",
    "PollParticipation",
    "Proposal",
    "ProposalCoauthor",
    "ProposalNode",
    "ProposalSupport",
    "RateLimitCounter",
    "ReadFence",
    "RefreshToken",
    "Report",
    "Service",
    "ServiceAttribute",
    "ServiceRequest",
    "ServiceRequestNote",
    "SortitionApplication",
    "SortitionConfig",
    "SortitionDraw",
    "Survey",
    "SurveyAnswer",
    "SurveyOption",
    "SurveyParticipation",
    "SurveyQuestion",
    "SurveyResponse",
    "SurveyRow",
    "Suspension",
    "TableMembership",
    "TablePlanNode",
    "TableSettings",
    "User",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookOutbox",
    "WebhookSecret",
]
