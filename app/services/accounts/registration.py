"""Registration and e-mail verification."""

from sqlmodel.ext.asyncio.session import AsyncSession

from app import mail_limits
from app.error_codes import ErrorCode
from app.errors import Conflict
from app.event_types import EventType
from app.events import record_event
from app.models.accounts import (
    User,
    UserRegister,
)
from app.security import (
    hash_password_off_loop,
)
from app.services.accounts.common import (
    VERIFY_EMAIL,
    check_birth_date,
    check_municipality,
    check_password,
    consume_one_time_token,
    send_verification,
    utc_now,
)
from app.services.accounts.people import find_user_by_email


async def register(session: AsyncSession, data: UserRegister, address: str) -> User:
    email = str(data.email)
    check_password(data.password, email)
    check_birth_date(data.birth_date)
    await mail_limits.count_registration(session, address)
    await check_municipality(session, data.municipality_id)
    if await find_user_by_email(session, email) is not None:
        raise Conflict("An account with this email already exists.", code=ErrorCode.EMAIL_TAKEN)
    user = User(
        email=email,
        password_hash=await hash_password_off_loop(data.password),
        display_name=data.display_name.strip(),
        locale=data.locale,
        birth_date=data.birth_date,
        municipality_id=data.municipality_id,
    )
    session.add(user)
    await session.flush()
    record_event(
        session,
        EventType.USER_REGISTERED,
        subject_type="user",
        subject_id=user.id,
        actor_id=user.id,
    )
    await send_verification(session, user)
    return user


async def verify_email(session: AsyncSession, token: str) -> User:
    user = await consume_one_time_token(session, token, VERIFY_EMAIL)
    if user.email_verified_at is None:
        user.email_verified_at = utc_now()
        record_event(
            session,
            EventType.USER_EMAIL_VERIFIED,
            subject_type="user",
            subject_id=user.id,
            actor_id=user.id,
        )
    return user


async def resend_verification(session: AsyncSession, email: str, address: str) -> None:
    """Always succeeds from the caller's point of view (no enumeration); past the mail
    limits (app/mail_limits.py) nothing is sent."""
    if not await mail_limits.mail_allowed(session, email, address):
        return
    user = await find_user_by_email(session, email)
    if user is not None and user.email_verified_at is None:
        await send_verification(session, user)
