"""Thread locks: `require_thread_open` is the lock check of comment creation. A moderator
may lock a thread host (a proposal, meeting, poll or plan node) or a root comment; see
`app/services/moderation/actions.py`.
"""

import uuid

from sqlalchemy import tuple_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.error_codes import ErrorCode
from app.errors import Conflict
from app.models.moderation import Moderation


def thread_locked() -> Conflict:
    return Conflict(
        "The moderators locked this discussion: it takes no new comments or replies.",
        code=ErrorCode.THREAD_LOCKED,
    )


async def require_thread_open(
    session: AsyncSession,
    target_type: str,
    target_id: uuid.UUID,
    root_id: uuid.UUID | None = None,
) -> None:
    """409 `thread_locked` when the commented resource, or (for a reply) the thread's root
    comment, is locked. One query on the moderations' (target_type, target_id) key."""
    hosts = [(target_type, target_id)]
    if root_id is not None:
        hosts.append(("comment", root_id))
    locked = (
        await session.exec(
            select(Moderation.id)
            .where(
                tuple_(col(Moderation.target_type), col(Moderation.target_id)).in_(hosts),
                col(Moderation.locked_at).is_not(None),
            )
            .limit(1)
        )
    ).first()
    if locked is not None:
        raise thread_locked()
