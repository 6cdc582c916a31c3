"""Finding people: by e-mail (case-insensitive) and by id or e-mail for staff actions
(`find_named_person`: 422 `unknown_user` when nobody matches).
"""

import uuid

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.error_codes import ErrorCode
from app.errors import Unprocessable
from app.models.accounts import (
    User,
)
from app.services.validation import field_error


async def find_user_by_email(session: AsyncSession, email: str) -> User | None:
    return (
        await session.exec(
            select(User).where(
                func.lower(User.email) == email.lower(), col(User.deleted_at).is_(None)
            )
        )
    ).one_or_none()


async def find_named_person(
    session: AsyncSession, user_id: uuid.UUID | None, email: str | None
) -> User:
    """The account a request names by id or by email (invitations, role assignments);
    a 422 on the field used when there is no such (live) account."""
    user = (
        await session.get(User, user_id)
        if user_id is not None
        else await find_user_by_email(session, email or "")
    )
    if user is None or user.deleted_at is not None:
        field = "user_id" if user_id is not None else "email"
        raise Unprocessable(
            "No account matches this person.",
            code=ErrorCode.UNKNOWN_USER,
            errors=[field_error(["body", field], "no such account", ErrorCode.UNKNOWN_USER)],
        )
    return user
