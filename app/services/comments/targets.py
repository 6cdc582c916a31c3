"""Comment targets: where a comment lives, who may see it, and whether it takes comments.

`resolve_comment_target` is the one place that answers this, for every kind of content
that takes comments in the registry (`app/services/access/kinds.py`), by reusing each
domain's own visibility rule — so comments are exactly as visible as what they are about.
"""

import uuid
from typing import NamedTuple

from sqlmodel.ext.asyncio.session import AsyncSession

from app.error_codes import ErrorCode
from app.errors import Conflict, NotFound
from app.models.accounts import User
from app.services.access.kinds import KINDS, NO_COMMENTS_HERE
from app.services.access.standing import TableContext, require_participant
from app.services.budgets.access import BUDGET_PROJECT
from app.services.live.question_kind import QUESTION

# Kinds other domains register: imported so that they are registered before any lookup.
REGISTERED_ELSEWHERE = (QUESTION, BUDGET_PROJECT)


class CommentTarget(NamedTuple):
    organization_id: uuid.UUID
    table_id: uuid.UUID | None
    open_for_comments: bool
    # The table, its settings and the actor's standing (none for plan nodes).
    context: TableContext | None = None


async def resolve_comment_target(
    session: AsyncSession,
    actor: User | None,
    target_type: str,
    target_id: uuid.UUID,
    *,
    write: bool = False,
) -> CommentTarget:
    """Where a comment target belongs and whether it takes comments; 404 if the actor may
    not see it. Each kind that takes comments says how it is found, through its domain's
    own visibility rule, and when it is closed (`app/services/access/kinds.py`: proposals
    by `proposal_context`, meetings and polls by their table's visibility, plan nodes by
    their plan's). Anything on a table is closed when the table's status is not `open` or
    its settings have `comments_open = false`. With `write` (creating, editing, voting), a
    suspended actor gets 403 `suspended`, answered by the same query."""
    kind = KINDS.get(target_type)
    if kind is None or not kind.takes_comments or kind.find is None:
        raise NotFound(NO_COMMENTS_HERE)
    found = await kind.find(session, actor, target_id, write)
    return CommentTarget(
        found.organization_id, found.table_id, found.open_for_comments, found.context
    )


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
