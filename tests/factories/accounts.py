"""People: accounts with a known password."""

import uuid
from datetime import UTC, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from app.models.accounts import User
from app.security import hash_password

PASSWORD = "correct horse battery staple"
PASSWORD_HASH = hash_password(PASSWORD)  # for rows built without make_user


async def make_user(
    session: AsyncSession,
    *,
    email: str | None = None,
    verified: bool = True,
    platform_admin: bool = False,
    name: str = "Test Person",
) -> User:
    user = User(
        email=email or f"user-{uuid.uuid4().hex[:10]}@example.org",
        password_hash=PASSWORD_HASH,
        display_name=name,
        email_verified_at=datetime.now(UTC) if verified else None,
        is_platform_admin=platform_admin,
    )
    session.add(user)
    await session.flush()
    return user


async def make_people(session: AsyncSession, count: int, *, prefix: str = "Persona") -> list[User]:
    """`count` people named `prefix 1`, `prefix 2`…"""
    return [await make_user(session, name=f"{prefix} {i + 1}") for i in range(count)]
