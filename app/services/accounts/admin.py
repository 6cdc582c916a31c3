"""Platform administration from the command line."""

from datetime import UTC, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from app.event_types import EventType
from app.events import record_event
from app.models.accounts import User
from app.security import hash_password, password_problem
from app.services.accounts.people import find_user_by_email


async def create_platform_admin(
    session: AsyncSession, email: str, password: str, display_name: str
) -> User:
    """Create a verified platform admin, or promote the existing account (and set its
    password)."""
    problem = password_problem(password, email=email)
    if problem:
        raise ValueError(problem)
    user = await find_user_by_email(session, email)
    if user is None:
        user = User(email=email, display_name=display_name)
        session.add(user)
    user.password_hash = hash_password(password)
    user.is_platform_admin = True
    user.email_verified_at = user.email_verified_at or datetime.now(UTC)
    await session.flush()
    record_event(
        session,
        EventType.USER_PLATFORM_ADMIN_GRANTED,
        subject_type="user",
        subject_id=user.id,
        actor_id=None,
    )
    return user
