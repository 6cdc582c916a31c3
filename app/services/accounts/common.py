"""Helpers shared by the account services: one-time e-mail tokens, the password and
profile field checks, and mail sent once the transaction has committed.
"""

import uuid
from datetime import UTC, datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import get_settings
from app.db import after_commit
from app.error_codes import ErrorCode
from app.errors import Unprocessable
from app.mail import send_mail
from app.models.accounts import (
    OneTimeToken,
    User,
)
from app.models.organizations import Municipality
from app.security import (
    hash_opaque_token,
    new_opaque_token,
    password_problem,
)
from app.services.validation import field_error

VERIFY_EMAIL = "verify_email"


PASSWORD_RESET = "password_reset"


def utc_now() -> datetime:
    return datetime.now(UTC)


def password_error(password: str, email: str | None, field: str = "password") -> Unprocessable:
    problem = password_problem(password, email=email)
    assert problem is not None
    return Unprocessable(
        problem,
        code=ErrorCode.WEAK_PASSWORD,
        errors=[field_error(["body", field], problem, ErrorCode.WEAK_PASSWORD)],
    )


def check_password(password: str, email: str | None, field: str = "password") -> None:
    if password_problem(password, email=email):
        raise password_error(password, email, field)


async def check_municipality(session: AsyncSession, municipality_id: uuid.UUID | None) -> None:
    if municipality_id is None:
        return
    if await session.get(Municipality, municipality_id) is None:
        raise Unprocessable(
            "Unknown municipality.",
            code=ErrorCode.UNKNOWN_MUNICIPALITY,
            errors=[
                field_error(
                    ["body", "municipality_id"],
                    "no municipality with this id",
                    ErrorCode.UNKNOWN_MUNICIPALITY,
                )
            ],
        )


def check_birth_date(birth_date: object) -> None:
    today = datetime.now(UTC).date()
    if birth_date is not None and (birth_date > today or birth_date.year < today.year - 120):  # type: ignore[operator, attr-defined]
        raise Unprocessable(
            "The birth date is not plausible.",
            code=ErrorCode.INVALID_BIRTH_DATE,
            errors=[
                field_error(["body", "birth_date"], "not plausible", ErrorCode.INVALID_BIRTH_DATE)
            ],
        )


async def issue_one_time_token(
    session: AsyncSession, user: User, purpose: str, lifetime: timedelta
) -> str:
    token = new_opaque_token()
    session.add(
        OneTimeToken(
            user_id=user.id,
            purpose=purpose,
            token_hash=hash_opaque_token(token),
            expires_at=utc_now() + lifetime,
        )
    )
    return token


def mail_after_commit(session: AsyncSession, to: str, subject: str, body: str) -> None:
    async def _send() -> None:
        await send_mail(to, subject, body)

    after_commit(session, _send)


async def send_verification(session: AsyncSession, user: User) -> None:
    settings = get_settings()
    assert user.email is not None
    token = await issue_one_time_token(
        session, user, VERIFY_EMAIL, timedelta(hours=settings.email_token_hours)
    )
    body = (
        f"Ciao {user.display_name},\n\n"
        "conferma il tuo indirizzo email per partecipare su Consulta.\n"
        "Please confirm your email address to take part on Consulta.\n\n"
        f"Link: {settings.public_url}/verify-email?token={token}\n\n"
        f"Verification token: {token}\n"
        '(POST /v1/auth/verify-email with {"token": "..."})\n\n'
        f"The token expires in {settings.email_token_hours} hours.\n"
    )
    mail_after_commit(
        session, user.email, "Conferma il tuo indirizzo email / Confirm your email", body
    )


async def consume_one_time_token(session: AsyncSession, token: str, purpose: str) -> User:
    row = (
        await session.exec(
            select(OneTimeToken)
            .where(
                col(OneTimeToken.token_hash) == hash_opaque_token(token),
                col(OneTimeToken.purpose) == purpose,
            )
            .with_for_update()
        )
    ).one_or_none()
    if row is None or row.used_at is not None or row.expires_at <= utc_now():
        raise Unprocessable(
            "This token is invalid, expired or already used.",
            code=ErrorCode.INVALID_TOKEN,
            errors=[field_error(["body", "token"], "invalid or expired", ErrorCode.INVALID_TOKEN)],
        )
    user = await session.get(User, row.user_id)
    if user is None or user.deleted_at is not None:
        raise Unprocessable(
            "This token is invalid, expired or already used.", code=ErrorCode.INVALID_TOKEN
        )
    row.used_at = utc_now()
    return user
