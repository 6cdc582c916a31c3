"""The public comment counter of proposals:

    proposals.comments_count = the proposal's comments with
                               status = 'visible' AND deleted_at IS NULL

(the kinds with `counts_comments` in `app/services/access/kinds.py`).
`adjust_comments_count` is the one way it changes (an atomic `UPDATE … ± 1`), called by
the comment services and by `moderation.status` when a moderator changes a status.
"""

import uuid

from sqlalchemy import update
from sqlmodel.ext.asyncio.session import AsyncSession

from app.services.access.kinds import KINDS


async def adjust_comments_count(
    session: AsyncSession, target_type: str, target_id: uuid.UUID, delta: int
) -> None:
    kind = KINDS.get(target_type)
    if kind is None or not kind.counts_comments:
        return
    await session.exec(
        update(kind.model)
        .where(kind.column("id") == target_id)
        # A counter is not an edit of the content: its updated_at stays.
        .values(
            comments_count=kind.column("comments_count") + delta,
            updated_at=kind.column("updated_at"),
        )
        .execution_options(synchronize_session=False)
    )
