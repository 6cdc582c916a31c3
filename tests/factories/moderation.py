"""What moderation leaves in the database: moderation items, reports, audit entries and
the moderation status of content, read afresh (`populate_existing`)."""

import uuid
from typing import Any

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models.comments import Comment
from app.models.meetings import Meeting
from app.models.moderation import AuditEntry, Moderation, Report
from app.models.proposals import Proposal


async def moderation_row(
    session: AsyncSession,
    target_type: str,
    target_id: uuid.UUID | str,
    organization_id: uuid.UUID | None = None,
) -> Moderation | None:
    """The target's moderation item (in that organization, for an account's content)."""
    stmt = select(Moderation).where(
        col(Moderation.target_type) == target_type,
        col(Moderation.target_id) == uuid.UUID(str(target_id)),
    )
    if organization_id is not None:
        stmt = stmt.where(col(Moderation.organization_id) == organization_id)
    return (await session.exec(stmt.execution_options(populate_existing=True))).one_or_none()


async def audit_actions(
    session: AsyncSession, target_type: str, target_id: uuid.UUID
) -> list[AuditEntry]:
    """The target's audit entries, oldest first."""
    return list(
        (
            await session.exec(
                select(AuditEntry)
                .where(
                    col(AuditEntry.target_type) == target_type,
                    col(AuditEntry.target_id) == target_id,
                )
                .order_by(col(AuditEntry.seq))
                .execution_options(populate_existing=True)
            )
        ).all()
    )


async def undismissed_reports(session: AsyncSession, moderation_id: uuid.UUID) -> int:
    return (
        await session.exec(
            select(func.count())
            .select_from(Report)
            .where(col(Report.moderation_id) == moderation_id, col(Report.dismissed_at).is_(None))
        )
    ).one()


async def status_of(session: AsyncSession, target_type: str, target_id: uuid.UUID | str) -> str:
    """The stored moderation status of a proposal or meeting, or a comment's status."""
    column: Any = {
        "proposal": Proposal.moderation_status,
        "meeting": Meeting.moderation_status,
        "comment": Comment.status,
    }[target_type]
    model: Any = {"proposal": Proposal, "meeting": Meeting, "comment": Comment}[target_type]
    value = (
        await session.exec(
            select(column)
            .where(col(model.id) == uuid.UUID(str(target_id)))
            .execution_options(populate_existing=True)
        )
    ).one()
    return str(value)
