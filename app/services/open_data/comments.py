"""The `comments` dataset: visible, undeleted comments on public content, no authors."""

from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlalchemy.sql import Select
from sqlmodel import col

from app.models.budgets import BudgetProject
from app.models.comments import Comment
from app.models.meetings import Meeting
from app.models.organizations import Organization
from app.models.plans import Plan, PlanNode
from app.models.polls import Poll
from app.models.proposals import Proposal
from app.models.tables import ParticipationTable
from app.services.access.content import (
    meeting_shown_clause,
    plan_visible_clause,
    proposal_visibility,
)
from app.services.access.tables import can_see_table_clause
from app.services.open_data.cells import Cells
from app.services.open_data.tabular import public_table, select_columns

# --- comments -------------------------------------------------------------------------

COMMENT_COLUMNS = (
    "id",
    "target_type",
    "target_id",
    "parent_id",
    "depth",
    "alignment",
    "body",
    "upvotes",
    "downvotes",
    "created_at",
    "edited_at",
)


def _target_visible() -> ColumnElement[bool]:
    """The comment's target is public: a visible proposal or meeting of a public table, a
    node of a published plan, a poll of a public table, a budget project."""
    target = Comment.target_id
    proposal = (
        select(col(Proposal.id))
        .join(ParticipationTable, col(ParticipationTable.id) == Proposal.table_id)
        .where(col(Proposal.id) == target, *proposal_visibility(None))
    )
    meeting = (
        select(col(Meeting.id))
        .join(ParticipationTable, col(ParticipationTable.id) == Meeting.table_id)
        .where(col(Meeting.id) == target, can_see_table_clause(None), meeting_shown_clause(None))
    )
    node = (
        select(col(PlanNode.id))
        .join(Plan, col(Plan.id) == PlanNode.plan_id)
        .where(col(PlanNode.id) == target, plan_visible_clause(None))
    )
    poll = select(col(Poll.id)).where(col(Poll.id) == target, public_table(Poll.table_id))
    project = select(col(BudgetProject.id)).where(col(BudgetProject.id) == target)
    kind = col(Comment.target_type)
    return or_(
        and_(kind == "proposal", proposal.correlate(Comment).exists()),
        and_(kind == "meeting", meeting.correlate(Comment).exists()),
        and_(kind == "plan_node", node.correlate(Comment).exists()),
        and_(kind == "poll", poll.correlate(Comment).exists()),
        and_(kind == "budget_project", project.correlate(Comment).exists()),
        false(),
    )


def comments_statement(org: Organization, cells: Cells) -> Select[Any]:
    """Visible, undeleted comments on public content; never their authors. In storage
    order: ordering a million comments by their random ids walked the heap at random
    (23 s of the database's time for 1 000 000 comments, against 8 s for a sequential scan,
    on a loaded machine)."""
    return select_columns(
        cells.id(Comment.id),
        Comment.target_type,
        cells.id(Comment.target_id),
        cells.id(Comment.parent_id),
        Comment.depth,
        Comment.alignment,
        cells.text(Comment.body),
        Comment.upvotes,
        Comment.downvotes,
        cells.instant(Comment.created_at),
        cells.instant(Comment.edited_at),
    ).where(
        col(Comment.organization_id) == org.id,
        col(Comment.status) == "visible",
        col(Comment.deleted_at).is_(None),
        or_(col(Comment.table_id).is_(None), public_table(Comment.table_id)),
        _target_visible(),
    )
