"""A person's applications, for the GDPR export and erasure (`services/privacy/`).

Erasure deletes the applications (features, household key). A draw keeps its stored
inputs, where the person is an anonymous row under the application's id, which nothing
links to them any more: the published run stays reproducible and its counts exact."""

import uuid

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models.sortition import ApplicationPublic, SortitionApplication
from app.services.sortition.applications import to_public


async def export_applications(session: AsyncSession, user_id: uuid.UUID) -> list[ApplicationPublic]:
    rows = (
        await session.exec(
            select(SortitionApplication)
            .where(col(SortitionApplication.user_id) == user_id)
            .order_by(col(SortitionApplication.created_at))
        )
    ).all()
    return [await to_public(session, a) for a in rows]


async def erase_applications(session: AsyncSession, user_id: uuid.UUID) -> int:
    deleted = await session.exec(
        delete(SortitionApplication)
        .where(col(SortitionApplication.user_id) == user_id)
        .returning(col(SortitionApplication.id))
    )
    return len(deleted.all())
