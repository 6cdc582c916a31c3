"""Comment targets: where a comment lives, who may see it, and whether it takes comments.

`resolve_comment_target` is the one place that answers this for the four kinds of
target, by reusing each domain's own visibility rule — so comments are exactly as visible
as what they are about.
"""

import uuid
from typing import NamedTuple

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.error_codes import ErrorCode
from app.errors import Conflict, NotFound
from app.models.accounts import User
from app.models.meetings import Meeting
from app.models.plans import Plan, PlanNode
from app.services.access.content import plan_visible_clause, proposal_context
from app.services.access.standing import TableContext, require_participant, table_context
from app.services.polls.polls import poll_context

TARGET_NOT_FOUND = {
    "proposal": "No proposal with this id.",
    "meeting": "No meeting with this id.",
    "plan_node": "No plan node with this id.",
    "poll": "No poll with this id.",
}


class CommentTarget(NamedTuple):
    organization_id: uuid.UUID
    table_id: uuid.UUID | None
    open_for_comments: bool
    # The table, its settings and the actor's standing (none for plan nodes).
    context: TableContext | None = None


# --- the target: visibility and whether it takes comments ---------------------------


def _table_open(ctx: TableContext) -> bool:
    return ctx.table.status == "open" and ctx.settings.comments_open


async def resolve_comment_target(
    session: AsyncSession, actor: User | None, target_type: str, target_id: uuid.UUID
) -> CommentTarget:
    """Where a comment target belongs and whether it takes comments; 404 if the actor may
    not see it. The one place that decides who may see (and so read the comments of)
    what, through each domain's own visibility rule:

    * proposal — the proposals' rule (`proposal_context`: its table's visibility, drafts
      only for their authors); closed when not published (draft, withdrawn) or rejected;
    * meeting — its table's visibility (`table_context`), and a hidden meeting only for
      its table's facilitators (moderators); closed when cancelled;
    * poll — its table's visibility (`table_context`);
    * plan node — its plan's visibility (`plan_visible_clause`); closed when the node or
      the plan is archived.

    Anything on a table is closed when the table's status is not `open` or its settings
    have `comments_open = false`."""
    if target_type == "proposal":
        proposal, ctx = await proposal_context(session, actor, target_id)
        open_ = (
            _table_open(ctx)
            and proposal.status == "published"
            and proposal.answer_state != "rejected"
        )
        return CommentTarget(proposal.organization_id, proposal.table_id, open_, ctx)
    if target_type == "meeting":
        meeting = await session.get(Meeting, target_id)
        if meeting is None:
            raise NotFound(TARGET_NOT_FOUND["meeting"])
        ctx = await _table_context(session, actor, meeting.table_id, "meeting")
        if meeting.moderation_status != "visible" and not ctx.is_facilitator:
            raise NotFound(TARGET_NOT_FOUND["meeting"])
        open_ = _table_open(ctx) and meeting.status != "cancelled"
        return CommentTarget(meeting.organization_id, meeting.table_id, open_, ctx)
    if target_type == "poll":
        poll, ctx = await poll_context(session, actor, target_id)
        return CommentTarget(poll.organization_id, poll.table_id, _table_open(ctx), ctx)
    if target_type == "plan_node":
        row = (
            await session.exec(
                select(PlanNode, Plan.status)
                .join(Plan, col(Plan.id) == PlanNode.plan_id)
                .where(col(PlanNode.id) == target_id, plan_visible_clause(actor))
            )
        ).one_or_none()
        if row is None:
            raise NotFound(TARGET_NOT_FOUND["plan_node"])
        node, plan_status = row
        open_ = node.archived_at is None and plan_status != "archived"
        return CommentTarget(node.organization_id, None, open_)
    raise NotFound("Comments are not available on this kind of resource.")


async def _table_context(
    session: AsyncSession, actor: User | None, table_id: uuid.UUID, target_type: str
) -> TableContext:
    """The table's context; a table the actor may not see hides the target itself."""
    try:
        return await table_context(session, actor, table_id)
    except NotFound:
        raise NotFound(TARGET_NOT_FOUND[target_type]) from None


def check_may_write(target: CommentTarget, actor: User) -> None:
    """Writing (commenting, voting) where the target takes comments — on a table's
    content, as someone who may take part in the table (the proposals' rule: active
    members, or anyone eligible on a public table with open membership)."""
    if not target.open_for_comments:
        raise closed()
    if target.context is not None:
        require_participant(target.context, actor)


def closed() -> Conflict:
    return Conflict("Comments are closed here.", code=ErrorCode.COMMENTS_CLOSED)
