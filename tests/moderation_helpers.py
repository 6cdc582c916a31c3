"""Builders and readers for the moderation tests: reporters, reports and actions through
the API, and the database state they leave (moderation rows, reports, audit entries)."""

import uuid
from typing import Any

import httpx
from sqlalchemy import update
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models.accounts import User
from app.models.comments import Comment
from app.models.meetings import Meeting
from app.models.moderation import AuditEntry, Moderation, Report
from app.models.organizations import Organization
from app.models.proposals import Proposal
from tests.comment_helpers import Scene
from tests.helpers import bearer, make_user


async def make_people(session: AsyncSession, count: int, *, prefix: str = "Persona") -> list[User]:
    return [await make_user(session, name=f"{prefix} {i + 1}") for i in range(count)]


async def report(
    client: httpx.AsyncClient,
    user: User,
    target_type: str,
    target_id: uuid.UUID,
    *,
    reason: str = "spam",
    **extra: Any,
) -> httpx.Response:
    body = {"target_type": target_type, "target_id": str(target_id), "reason": reason, **extra}
    return await client.post("/v1/reports", json=body, headers=bearer(user))


async def act(
    client: httpx.AsyncClient,
    user: User,
    target_type: str,
    target_id: uuid.UUID,
    action: str,
    *,
    reason: str = "Rivisto dalla moderazione.",
    organization: str | None = None,
) -> httpx.Response:
    body = {
        "target_type": target_type,
        "target_id": str(target_id),
        "action": action,
        "reason": reason,
    }
    if organization is not None:
        body["organization"] = organization
    return await client.post("/v1/moderation/actions", json=body, headers=bearer(user))


async def moderation_row(
    session: AsyncSession,
    target_type: str,
    target_id: uuid.UUID,
    organization_id: uuid.UUID | None = None,
) -> Moderation | None:
    stmt = select(Moderation).where(
        col(Moderation.target_type) == target_type, col(Moderation.target_id) == target_id
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


async def status_of(session: AsyncSession, target_type: str, target_id: uuid.UUID) -> str:
    column: Any = {
        "proposal": Proposal.moderation_status,
        "meeting": Meeting.moderation_status,
        "comment": Comment.status,
    }[target_type]
    model: Any = {"proposal": Proposal, "meeting": Meeting, "comment": Comment}[target_type]
    value = (
        await session.exec(
            select(column)
            .where(col(model.id) == target_id)
            .execution_options(populate_existing=True)
        )
    ).one()
    return str(value)


async def set_report_threshold(session: AsyncSession, org: Organization, threshold: int) -> None:
    await session.exec(
        update(Organization)
        .where(col(Organization.id) == org.id)
        .values(settings={"report_threshold": threshold})
    )
    await session.flush()


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
