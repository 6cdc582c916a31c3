"""The caller's own profile: reading it (`get_me`) and changing it (`update_me`)."""

import uuid

from sqlalchemy import bindparam
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.error_codes import ErrorCode
from app.errors import Unprocessable
from app.event_types import EventType
from app.events import record_event
from app.models.accounts import (
    Me,
    MyRole,
    User,
    UserUpdate,
    needs_guardian_consent,
)
from app.models.organizations import Organization, OrganizationRole
from app.security import (
    hash_password_off_loop,
    verify_password_off_loop,
)
from app.services.accounts.common import (
    check_birth_date,
    check_municipality,
    check_password,
    utc_now,
)
from app.services.accounts.sign_in import revoke_all_refresh_tokens
from app.services.validation import field_error, reject_nulls

# --- sign-in and tokens --------------------------------------------------------------


# --- password reset ------------------------------------------------------------------


# --- own profile ---------------------------------------------------------------------


# The caller's roles, built once (`GET /v1/me` runs it on every call).
_MY_ROLES = (
    select(OrganizationRole.organization_id, Organization.slug, OrganizationRole.role)
    .join(Organization, col(Organization.id) == OrganizationRole.organization_id)
    .where(col(OrganizationRole.user_id) == bindparam("user_id", type_=PG_UUID(as_uuid=True)))
    .order_by(Organization.slug)
)


async def get_me(session: AsyncSession, user: User) -> Me:
    roles = (await session.exec(_MY_ROLES, params={"user_id": user.id})).all()
    return Me(
        id=user.id,
        email=user.email,
        email_verified=user.email_verified_at is not None,
        display_name=user.display_name,
        locale=user.locale,
        birth_date=user.birth_date,
        municipality_id=user.municipality_id,
        is_platform_admin=user.is_platform_admin,
        guardian_consent_needed=needs_guardian_consent(user, utc_now().date()),
        guardian_consent_at=user.guardian_consent_at,
        roles=[MyRole(organization_id=r[0], organization_slug=r[1], role=r[2]) for r in roles],
        created_at=user.created_at,
        updated_at=user.updated_at,
    )


async def update_me(
    session: AsyncSession, user: User, data: UserUpdate, *, keep_sign_in: uuid.UUID | None = None
) -> Me:
    """Edit the profile. A new password ends every other sign-in; the caller's own
    (`keep_sign_in`, the family of the token used) carries on."""
    changes = data.model_dump(exclude_unset=True)
    if "password" in changes:
        new_password = changes.pop("password")
        current = changes.pop("current_password", None)
        if new_password is not None:
            if current is None or not await verify_password_off_loop(current, user.password_hash):
                raise Unprocessable(
                    "The current password is incorrect.",
                    code=ErrorCode.WRONG_CURRENT_PASSWORD,
                    errors=[
                        field_error(
                            ["body", "current_password"],
                            "incorrect",
                            ErrorCode.WRONG_CURRENT_PASSWORD,
                        )
                    ],
                )
            check_password(new_password, user.email)
            user.password_hash = await hash_password_off_loop(new_password)
            await revoke_all_refresh_tokens(session, user.id, except_family=keep_sign_in)
            changes["password"] = True
    changes.pop("current_password", None)
    reject_nulls({f: changes[f] for f in ("display_name", "locale") if f in changes})
    if "birth_date" in changes:
        check_birth_date(changes["birth_date"])
    if "municipality_id" in changes:
        await check_municipality(session, changes["municipality_id"])
    for field in ("display_name", "locale", "birth_date", "municipality_id"):
        if field in changes:
            setattr(user, field, changes[field])
    user.updated_at = utc_now()
    record_event(
        session,
        EventType.USER_UPDATED,
        subject_type="user",
        subject_id=user.id,
        actor_id=user.id,
        payload={"fields": sorted(changes)},
    )
    await session.flush()
    return await get_me(session, user)
