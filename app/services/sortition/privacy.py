"""A person's applications, for the GDPR export and erasure (`services/privacy/`).

Erasure deletes the applications (features, household key). A draw keeps its stored
inputs, where the person is an anonymous row under the application's id, which nothing
links to them any more: the published run stays reproducible and its counts exact."""

import uuid

from sqlalchemy import and_, delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models.sortition import ApplicationPublic, SortitionApplication, SortitionDraw
from app.services.sortition.applications import public_of


async def export_applications(session: AsyncSession, user_id: uuid.UUID) -> list[ApplicationPublic]:
    """One query: each application with its table's standing draw."""
    rows = (
        await session.exec(
            select(SortitionApplication, SortitionDraw)
            .outerjoin(
                SortitionDraw,
                and_(
                    col(SortitionDraw.table_id) == SortitionApplication.table_id,
                    col(SortitionDraw.status) == "done",
                ),
            )
            .where(col(SortitionApplication.user_id) == user_id)
            .order_by(col(SortitionApplication.created_at))
        )
    ).all()
    return [public_of(a, draw) for a, draw in rows]


async def erase_applications(session: AsyncSession, user_id: uuid.UUID) -> int:
    deleted = await session.exec(
        delete(SortitionApplication)
        .where(col(SortitionApplication.user_id) == user_id)
        .returning(col(SortitionApplication.id))
    )
    return len(deleted.all())
