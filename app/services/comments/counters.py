"""The public comment counter of proposals:

    proposals.comments_count = the proposal's comments with
                               status = 'visible' AND deleted_at IS NULL

`adjust_comments_count` is the one way it changes (an atomic `UPDATE … ± 1`), called by
the comment services and by `moderation.status` when a moderator changes a status.
"""

import uuid

from sqlalchemy import update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models.proposals import Proposal


async def adjust_comments_count(
    session: AsyncSession, target_type: str, target_id: uuid.UUID, delta: int
) -> None:
    if target_type != "proposal":
        return
    await session.exec(
        update(Proposal)
        .where(col(Proposal.id) == target_id)
        # A counter is not an edit of the proposal: its updated_at stays.
        .values(
            comments_count=col(Proposal.comments_count) + delta,
            updated_at=col(Proposal.updated_at),
        )
        .execution_options(synchronize_session=False)
    )
