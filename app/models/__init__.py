"""All tables, imported so that Alembic's autogenerate and `alembic check` see them."""

from app.models.accounts import OneTimeToken, RefreshToken, User
from app.models.comments import Comment, CommentVote
from app.models.events import Event
from app.models.idempotency import IdempotencyRecord
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
    TableSettings,
)
from app.models.ratelimits import RateLimitCounter
from app.models.tables import ParticipationTable, TableMembership, TablePlanNode

__all__ = [
    "AuditEntry",
    "Comment",
    "CommentVote",
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
    "RefreshToken",
    "Report",
    "Suspension",
    "TableMembership",
    "TablePlanNode",
    "TableSettings",
    "User",
]
