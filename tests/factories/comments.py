"""Comments written straight to the database, and the counter they keep."""

import uuid
from datetime import UTC, datetime

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models.accounts import User
from app.models.comments import Comment, CommentTargetType
from app.models.moderation import Moderation
from app.models.proposals import Proposal
from tests.factories.scene import Scene


async def make_comment(
    session: AsyncSession,
    author: User | None,
    target_type: CommentTargetType,
    target_id: uuid.UUID,
    *,
    organization_id: uuid.UUID,
    table_id: uuid.UUID | None = None,
    parent: Comment | None = None,
    body: str = "Sono d'accordo.",
    created_at: datetime | None = None,
    upvotes: int = 0,
    downvotes: int = 0,
) -> Comment:
    """A published comment (a reply to `parent` if given), counted on its proposal."""
    comment_id = uuid.uuid4()
    comment = Comment(
        id=comment_id,
        target_type=target_type,
        target_id=target_id,
        organization_id=organization_id,
        table_id=table_id,
        author_id=author.id if author else None,
        parent_id=parent.id if parent else None,
        root_id=parent.root_id if parent else comment_id,
        depth=parent.depth + 1 if parent else 0,
        body=body,
        upvotes=upvotes,
        downvotes=downvotes,
        created_at=created_at or datetime.now(UTC),
    )
    session.add(comment)
    await session.flush()
    if target_type == "proposal":
        await session.exec(
            update(Proposal)
            .where(col(Proposal.id) == target_id)
            .values(comments_count=col(Proposal.comments_count) + 1)
            .execution_options(synchronize_session=False)
        )
    return comment


async def make_pending_comment(
    session: AsyncSession, scene: Scene, author: User, *, body: str = "In attesa."
) -> Comment:
    """A comment on the scene's proposal held for approval, as pre-moderation leaves it:
    status `pending`, not counted, and an open, pending moderation item."""
    comment_id = uuid.uuid4()
    comment = Comment(
        id=comment_id,
        target_type="proposal",
        target_id=scene.proposal.id,
        organization_id=scene.org.id,
        table_id=scene.table.id,
        author_id=author.id,
        root_id=comment_id,
        depth=0,
        body=body,
        status="pending",
    )
    session.add(comment)
    await session.flush()
    session.add(
        Moderation(
            organization_id=scene.org.id,
            table_id=scene.table.id,
            target_type="comment",
            target_id=comment.id,
            pending=True,
            open=True,
        )
    )
    await session.flush()
    return comment


async def comments_count(session: AsyncSession, proposal_id: uuid.UUID) -> int:
    """The proposal's stored comment counter, read afresh."""
    value = (
        await session.exec(
            select(Proposal.comments_count)
            .where(col(Proposal.id) == proposal_id)
            .execution_options(populate_existing=True)
        )
    ).one()
    return int(value)
