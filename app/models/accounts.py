"""Users and their credentials."""

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr
from pydantic import Field as PField
from sqlalchemy import Column, Date, ForeignKey, Index, String, func, text
from sqlalchemy.dialects.postgresql import UUID
from sqlmodel import Field, SQLModel

from app.models.base import (
    Day,
    created_at_field,
    fk_field,
    id_field,
    timestamp_field,
    updated_at_field,
)

LOCALE_PATTERN = r"^[a-z]{2,3}(-[A-Z]{2})?$"
# Italy's age of digital consent: younger people write only with a guardian's consent.
DIGITAL_CONSENT_AGE = 14


def age_on(birth_date: date, today: date) -> int:
    """Completed years on `today`."""
    return (
        today.year
        - birth_date.year
        - ((today.month, today.day) < (birth_date.month, birth_date.day))
    )


class User(SQLModel, table=True):
    __tablename__ = "users"
    __table_args__ = (
        # One account per email, whatever its case.
        Index("users_email_lower_key", func.lower(text("email")), unique=True),
    )

    id: uuid.UUID = id_field()
    # Null once the account is deleted (anonymized).
    email: str | None = Field(default=None, sa_column=Column(String(320), nullable=True))
    email_verified_at: datetime | None = timestamp_field()
    password_hash: str | None = Field(default=None, sa_column=Column(String(255), nullable=True))
    display_name: str = Field(sa_column=Column(String(80), nullable=False))
    locale: str = Field(
        default="it", sa_column=Column(String(8), nullable=False, server_default="it")
    )
    birth_date: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    municipality_id: uuid.UUID | None = fk_field(
        "municipalities.id", nullable=True, ondelete="SET NULL"
    )
    is_platform_admin: bool = Field(default=False, sa_column_kwargs={"server_default": "false"})
    # Italy's age of digital consent is 14: younger people write only once a guardian's
    # consent has been recorded (by an organization admin or a facilitator).
    guardian_consent_at: datetime | None = timestamp_field()
    guardian_consent_by_id: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(
            UUID(as_uuid=True), ForeignKey("users.id", ondelete="SET NULL"), nullable=True
        ),
    )
    # Access tokens issued before this instant are refused (password reset, deletion…).
    tokens_invalid_before: datetime | None = timestamp_field()
    deleted_at: datetime | None = timestamp_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


def needs_guardian_consent(user: User, today: date) -> bool:
    """Under 14 with no guardian's consent on record: may not write yet."""
    return (
        user.birth_date is not None
        and age_on(user.birth_date, today) < DIGITAL_CONSENT_AGE
        and user.guardian_consent_at is None
    )


class RefreshToken(SQLModel, table=True):
    """Opaque, stored hashed, rotated on every use. A family is one sign-in's chain of
    rotations: presenting an already-rotated token revokes the whole family."""

    __tablename__ = "refresh_tokens"

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = fk_field("users.id")
    family_id: uuid.UUID = Field(index=True)
    token_hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    expires_at: datetime = timestamp_field(nullable=False)
    rotated_at: datetime | None = timestamp_field()
    revoked_at: datetime | None = timestamp_field()
    created_at: datetime = created_at_field()


OneTimePurpose = Literal["verify_email", "password_reset"]


class OneTimeToken(SQLModel, table=True):
    """Email verification and password reset tokens (stored hashed, single use)."""

    __tablename__ = "one_time_tokens"

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = fk_field("users.id")
    purpose: str = Field(sa_column=Column(String(32), nullable=False))
    token_hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    expires_at: datetime = timestamp_field(nullable=False)
    used_at: datetime | None = timestamp_field()
    created_at: datetime = created_at_field()


# --- schemas -------------------------------------------------------------------------


class UserRegister(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr = PField(max_length=320)
    password: str = PField(min_length=1, max_length=1024)
    display_name: str = PField(min_length=1, max_length=80)
    locale: str = PField(default="it", pattern=LOCALE_PATTERN)
    birth_date: Day | None = None
    municipality_id: uuid.UUID | None = None


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    display_name: str | None = PField(default=None, min_length=1, max_length=80)
    locale: str | None = PField(default=None, pattern=LOCALE_PATTERN)
    birth_date: Day | None = None
    municipality_id: uuid.UUID | None = None
    # Changing the password needs the current one.
    password: str | None = PField(default=None, min_length=1, max_length=1024)
    current_password: str | None = PField(default=None, max_length=1024)


class UserPublic(BaseModel):
    """What anyone may see of a person."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    display_name: str


class MyRole(BaseModel):
    organization_id: uuid.UUID
    organization_slug: str
    role: str


class Me(BaseModel):
    """The caller's own profile, private fields included."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str | None
    email_verified: bool
    display_name: str
    locale: str
    birth_date: date | None
    municipality_id: uuid.UUID | None
    is_platform_admin: bool
    guardian_consent_needed: bool = PField(
        description="Under 14 without a guardian's consent on record: cannot write yet "
        "(an organization admin or a facilitator of your table records it)."
    )
    guardian_consent_at: datetime | None
    roles: list[MyRole] = []
    created_at: datetime
    updated_at: datetime


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    refresh_token: str


class VerifyEmailRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: str = PField(min_length=1, max_length=256)


class ResendVerificationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: EmailStr


class PasswordResetRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: EmailStr


class PasswordResetConfirm(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: str = PField(min_length=1, max_length=256)
    password: str = PField(min_length=1, max_length=1024)


class LogoutRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    refresh_token: str = PField(min_length=1, max_length=256)
