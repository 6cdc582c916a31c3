"""The suspension check of every write path: `ensure_not_suspended` answers 403
`suspended` while a suspension of the person in the organization is in force
(`in_force_clause`). Creating and lifting suspensions is
`app/services/moderation/suspensions.py`.
"""

import uuid
from datetime import datetime

from sqlalchemy import ColumnElement, func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.error_codes import ErrorCode
from app.errors import Forbidden
from app.models.moderation import Suspension


def in_force_clause(now: datetime | ColumnElement[datetime] | None = None) -> ColumnElement[bool]:
    """SQL condition on `Suspension`: in force at `now` (default: the database's now())."""
    at = now if now is not None else func.now()
    return col(Suspension.lifted_at).is_(None) & or_(
        col(Suspension.ends_at).is_(None), col(Suspension.ends_at) > at
    )


async def ensure_not_suspended(
    session: AsyncSession, user_id: uuid.UUID, organization_id: uuid.UUID
) -> None:
    """403 `suspended` if a suspension of the person in the organization is in force.

    One query on the partial unique index (organization_id, user_id) WHERE lifted_at IS
    NULL."""
    row = (
        await session.exec(
            select(Suspension.id, Suspension.ends_at)
            .where(
                col(Suspension.organization_id) == organization_id,
                col(Suspension.user_id) == user_id,
                in_force_clause(),
            )
            .limit(1)
        )
    ).first()
    if row is None:
        return
    ends_at = row[1]
    until = f"until {ends_at.isoformat()}" if ends_at is not None else "until it is lifted"
    raise Forbidden(
        f"You are suspended from taking part in this organization {until}.",
        code=ErrorCode.SUSPENDED,
        extra={"suspended_until": ends_at.isoformat() if ends_at is not None else None},
    )
