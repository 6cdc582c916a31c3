"""Password resets: a one-time token by e-mail, then a new password (which ends every
session of the account).
"""

from datetime import timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from app import mail_limits
from app.config import get_settings
from app.event_types import EventType
from app.events import record_event
from app.security import (
    hash_password_off_loop,
)
from app.services.accounts.common import (
    PASSWORD_RESET,
    check_password,
    consume_one_time_token,
    issue_one_time_token,
    mail_after_commit,
    utc_now,
)
from app.services.accounts.people import find_user_by_email
from app.services.accounts.sign_in import revoke_all_refresh_tokens


async def request_password_reset(session: AsyncSession, email: str, address: str) -> None:
    """Always 202 to the caller, whether or not the account exists; past the mail limits
    (app/mail_limits.py) nothing is sent."""
    settings = get_settings()
    if not await mail_limits.mail_allowed(session, email, address):
        return
    user = await find_user_by_email(session, email)
    if user is None or user.email is None:
        return
    token = await issue_one_time_token(
        session, user, PASSWORD_RESET, timedelta(minutes=settings.password_reset_minutes)
    )
    body = (
        f"Ciao {user.display_name},\n\n"
        "abbiamo ricevuto una richiesta di reimpostare la tua password.\n"
        "We received a request to reset your password.\n\n"
        f"Link: {settings.public_url}/reset-password?token={token}\n\n"
        f"Reset token: {token}\n"
        '(POST /v1/auth/password-reset/confirm with {"token": "...", "password": "..."})\n\n'
        f"The token expires in {settings.password_reset_minutes} minutes. "
        "If you did not ask for this, ignore this message.\n"
    )
    mail_after_commit(session, user.email, "Reimposta la password / Reset your password", body)


async def confirm_password_reset(session: AsyncSession, token: str, password: str) -> None:
    user = await consume_one_time_token(session, token, PASSWORD_RESET)
    check_password(password, user.email)
    user.password_hash = await hash_password_off_loop(password)
    # Whoever reset the password controls the mailbox: the address is verified.
    user.email_verified_at = user.email_verified_at or utc_now()
    user.tokens_invalid_before = utc_now()
    await revoke_all_refresh_tokens(session, user.id)
    record_event(
        session,
        EventType.USER_PASSWORD_RESET,
        subject_type="user",
        subject_id=user.id,
        actor_id=user.id,
    )
