"""Accounts: registration, email verification, sign-in, refresh rotation, password reset,
and the caller's own profile."""

import hashlib
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, literal, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import mail_limits, ratelimit
from app.config import get_settings
from app.db import after_commit
from app.errors import AppError, Conflict, RateLimited, Unprocessable
from app.events import record_event
from app.mail import send_mail
from app.models.accounts import (
    Me,
    MyRole,
    OneTimeToken,
    RefreshToken,
    TokenResponse,
    User,
    UserRegister,
    UserUpdate,
    needs_guardian_consent,
)
from app.models.organizations import Municipality, Organization, OrganizationRole
from app.security import (
    create_access_token,
    hash_opaque_token,
    hash_password_off_loop,
    new_opaque_token,
    password_needs_rehash,
    password_problem,
    verify_password_off_loop,
)

VERIFY_EMAIL = "verify_email"
PASSWORD_RESET = "password_reset"


class InvalidGrant(AppError):
    """OAuth2 `invalid_grant`, shaped as problem+json with the OAuth2 fields added so that
    standard OAuth2 clients understand it too."""

    status = 400
    code = "invalid_grant"
    title = "Invalid grant"

    def __init__(self, detail: str, *, keep_changes: bool = False) -> None:
        super().__init__(detail, extra={"error": "invalid_grant", "error_description": detail})
        self.keep_changes = keep_changes


class RefreshRefused(InvalidGrant):
    """A refresh token that no longer signs anyone in (unknown, expired, revoked, or
    replayed after rotation): 401, like any other credential that stopped working, so
    that clients send the person back to sign-in; the body keeps OAuth2's
    `error: invalid_grant`."""

    status = 401

    def __init__(self, detail: str, *, keep_changes: bool = False) -> None:
        super().__init__(detail, keep_changes=keep_changes)
        self.headers = {"WWW-Authenticate": 'Bearer realm="consulta", error="invalid_token"'}


def _now() -> datetime:
    return datetime.now(UTC)


def _password_error(password: str, email: str | None, field: str = "password") -> Unprocessable:
    problem = password_problem(password, email=email)
    assert problem is not None
    return Unprocessable(
        problem,
        code="weak_password",
        errors=[{"loc": ["body", field], "msg": problem, "code": "weak_password"}],
    )


def _check_password(password: str, email: str | None, field: str = "password") -> None:
    if password_problem(password, email=email):
        raise _password_error(password, email, field)


async def _check_municipality(session: AsyncSession, municipality_id: uuid.UUID | None) -> None:
    if municipality_id is None:
        return
    if await session.get(Municipality, municipality_id) is None:
        raise Unprocessable(
            "Unknown municipality.",
            code="unknown_municipality",
            errors=[
                {
                    "loc": ["body", "municipality_id"],
                    "msg": "no municipality with this id",
                    "code": "unknown_municipality",
                }
            ],
        )


def _check_birth_date(birth_date: object) -> None:
    today = datetime.now(UTC).date()
    if birth_date is not None and (birth_date > today or birth_date.year < today.year - 120):  # type: ignore[operator, attr-defined]
        raise Unprocessable(
            "The birth date is not plausible.",
            code="invalid_birth_date",
            errors=[
                {
                    "loc": ["body", "birth_date"],
                    "msg": "not plausible",
                    "code": "invalid_birth_date",
                }
            ],
        )


async def _issue_one_time_token(
    session: AsyncSession, user: User, purpose: str, lifetime: timedelta
) -> str:
    token = new_opaque_token()
    session.add(
        OneTimeToken(
            user_id=user.id,
            purpose=purpose,
            token_hash=hash_opaque_token(token),
            expires_at=_now() + lifetime,
        )
    )
    return token


def _mail_after_commit(session: AsyncSession, to: str, subject: str, body: str) -> None:
    async def _send() -> None:
        await send_mail(to, subject, body)

    after_commit(session, _send)


async def _send_verification(session: AsyncSession, user: User) -> None:
    settings = get_settings()
    assert user.email is not None
    token = await _issue_one_time_token(
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
    _mail_after_commit(
        session, user.email, "Conferma il tuo indirizzo email / Confirm your email", body
    )


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
            code="unknown_user",
            errors=[{"loc": ["body", field], "msg": "no such account", "code": "unknown_user"}],
        )
    return user


async def register(session: AsyncSession, data: UserRegister, address: str) -> User:
    email = str(data.email)
    _check_password(data.password, email)
    _check_birth_date(data.birth_date)
    await mail_limits.count_registration(session, address)
    await _check_municipality(session, data.municipality_id)
    if await find_user_by_email(session, email) is not None:
        raise Conflict("An account with this email already exists.", code="email_taken")
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
        session, "user.registered", subject_type="user", subject_id=user.id, actor_id=user.id
    )
    await _send_verification(session, user)
    return user


async def _consume_one_time_token(session: AsyncSession, token: str, purpose: str) -> User:
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
    if row is None or row.used_at is not None or row.expires_at <= _now():
        raise Unprocessable(
            "This token is invalid, expired or already used.",
            code="invalid_token",
            errors=[
                {"loc": ["body", "token"], "msg": "invalid or expired", "code": "invalid_token"}
            ],
        )
    user = await session.get(User, row.user_id)
    if user is None or user.deleted_at is not None:
        raise Unprocessable("This token is invalid, expired or already used.", code="invalid_token")
    row.used_at = _now()
    return user


async def verify_email(session: AsyncSession, token: str) -> User:
    user = await _consume_one_time_token(session, token, VERIFY_EMAIL)
    if user.email_verified_at is None:
        user.email_verified_at = _now()
        record_event(
            session,
            "user.email_verified",
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
        await _send_verification(session, user)


# --- sign-in and tokens --------------------------------------------------------------


# Advisory lock namespaces (the first of pg_advisory_xact_lock's two keys).
LOGIN_ACCOUNT_LOCK = 7_401
TOKEN_FAMILY_LOCK = 7_402


def _login_limits(email: str, address: str) -> tuple[ratelimit.Limit, ...]:
    """(account from this address, account from anywhere, this address): five wrong
    passwords from one address slow that address down for the account, not the owner
    signing in from elsewhere; the account-wide ceiling is for distributed guessing."""
    settings = get_settings()
    window = settings.login_window_seconds
    # The email is hashed into the key: any length fits the counters' key column.
    account = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    return (
        ratelimit.Limit(
            f"login:account-address:{account}:{address}",
            settings.login_max_failures_per_account_address,
            window,
        ),
        ratelimit.Limit(
            f"login:account:{account}", settings.login_max_failures_per_account, window
        ),
        ratelimit.Limit(
            f"login:address:{address}", settings.login_max_failures_per_address, window
        ),
    )


async def _throttle(session: AsyncSession, limits: Sequence[ratelimit.Limit]) -> None:
    for limit in limits:
        usage = await ratelimit.peek(limit, session)
        if usage.exceeded:
            raise RateLimited(
                "Too many failed sign-in attempts; try again later.",
                retry_after=usage.retry_after(),
                code="too_many_attempts",
            )


async def _issue_tokens(
    session: AsyncSession, user: User, family_id: uuid.UUID | None = None
) -> TokenResponse:
    settings = get_settings()
    refresh = new_opaque_token()
    family_id = family_id or uuid.uuid4()
    session.add(
        RefreshToken(
            user_id=user.id,
            family_id=family_id,
            token_hash=hash_opaque_token(refresh),
            expires_at=_now() + timedelta(days=settings.refresh_token_days),
        )
    )
    access, expires_in = create_access_token(user.id, session_id=family_id)
    return TokenResponse(access_token=access, expires_in=expires_in, refresh_token=refresh)


BAD_CREDENTIALS = "The email or password is incorrect."


async def login_with_password(
    session: AsyncSession, email: str, password: str, address: str
) -> TokenResponse:
    # The counters are read and written on the request's own connection (one pooled
    # connection per request, see app/ratelimit.py); a failure is kept by `keep_changes`.
    limits = _login_limits(email, address)
    # One attempt at a time per account: otherwise parallel guesses would all read the
    # counter before any of them is counted, and get past the limit.
    await _advisory_lock(session, LOGIN_ACCOUNT_LOCK, limits[1].key)
    await _throttle(session, limits)
    user = await find_user_by_email(session, email) if len(email) <= 320 else None
    # verify_password checks a dummy hash when the user is unknown: same answer, same time.
    if (
        not await verify_password_off_loop(password, user.password_hash if user else None)
        or user is None
    ):
        for limit in limits:
            await ratelimit.hit(limit, session)
        raise InvalidGrant(BAD_CREDENTIALS, keep_changes=True)
    await ratelimit.reset(limits[0], session)
    if user.password_hash and password_needs_rehash(user.password_hash):
        user.password_hash = await hash_password_off_loop(password)
    record_event(
        session, "user.signed_in", subject_type="user", subject_id=user.id, actor_id=user.id
    )
    return await _issue_tokens(session, user)


async def _revoke_family(session: AsyncSession, family_id: uuid.UUID) -> None:
    await session.exec(
        update(RefreshToken)
        .where(col(RefreshToken.family_id) == family_id, col(RefreshToken.revoked_at).is_(None))
        .values(revoked_at=_now())
    )


async def _family_ended(session: AsyncSession, family_id: uuid.UUID) -> bool:
    ended = (
        await session.exec(
            select(RefreshToken.id).where(
                col(RefreshToken.family_id) == family_id,
                col(RefreshToken.revoked_at).is_not(None),
            )
        )
    ).first()
    return ended is not None


async def revoke_all_refresh_tokens(
    session: AsyncSession, user_id: uuid.UUID, *, except_family: uuid.UUID | None = None
) -> None:
    stmt = update(RefreshToken).where(
        col(RefreshToken.user_id) == user_id, col(RefreshToken.revoked_at).is_(None)
    )
    if except_family is not None:
        stmt = stmt.where(col(RefreshToken.family_id) != except_family)
    await session.exec(stmt.values(revoked_at=_now()))


async def _advisory_lock(session: AsyncSession, namespace: int, key: str) -> None:
    """A transaction-level advisory lock on `key` within `namespace`."""
    await session.exec(select(func.pg_advisory_xact_lock(literal(namespace), func.hashtext(key))))


async def _locked_token(session: AsyncSession, refresh_token: str) -> RefreshToken | None:
    """The refresh token's row, locked, after its whole family: refreshing, replaying
    and signing out take the family's lock first, so they run one after the other
    instead of locking each other's rows in opposite orders (a deadlock)."""
    token_hash = hash_opaque_token(refresh_token)
    family_id = (
        await session.exec(
            select(RefreshToken.family_id).where(col(RefreshToken.token_hash) == token_hash)
        )
    ).one_or_none()
    if family_id is None:
        return None
    await _advisory_lock(session, TOKEN_FAMILY_LOCK, str(family_id))
    return (
        await session.exec(
            select(RefreshToken)
            .where(col(RefreshToken.token_hash) == token_hash)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).one_or_none()


async def refresh_tokens(session: AsyncSession, refresh_token: str) -> TokenResponse:
    row = await _locked_token(session, refresh_token)
    if row is None:
        raise RefreshRefused("The refresh token is invalid.")
    if row.revoked_at is not None:
        raise RefreshRefused("The refresh token has been revoked.")
    if row.rotated_at is not None:
        # A rotated token came back: it was stolen or replayed. Kill the whole chain; the
        # access tokens issued along it carry its id and stop working with it. The
        # person's other sign-ins (other devices) carry on.
        await _revoke_family(session, row.family_id)
        record_event(
            session,
            "user.refresh_token_reused",
            subject_type="user",
            subject_id=row.user_id,
            actor_id=None,
            payload={"family_id": str(row.family_id)},
        )
        raise RefreshRefused(
            "The refresh token was already used; this session is revoked.", keep_changes=True
        )
    if row.expires_at <= _now():
        raise RefreshRefused("The refresh token has expired.")
    if await _family_ended(session, row.family_id):
        # Revoked while this token was being issued (a logout or a replay racing the
        # rotation): the sign-in is over.
        await _revoke_family(session, row.family_id)
        raise RefreshRefused("The refresh token has been revoked.", keep_changes=True)
    user = await session.get(User, row.user_id)
    if user is None or user.deleted_at is not None:
        raise RefreshRefused("The refresh token is invalid.")
    row.rotated_at = _now()
    return await _issue_tokens(session, user, family_id=row.family_id)


async def logout(session: AsyncSession, refresh_token: str) -> None:
    # After the family's lock: a refresh rotating a token of it commits first, and the
    # revocation below (a new statement, a new snapshot) reaches the token it issued too.
    row = await _locked_token(session, refresh_token)
    if row is not None:
        await _revoke_family(session, row.family_id)
        record_event(
            session,
            "user.signed_out",
            subject_type="user",
            subject_id=row.user_id,
            actor_id=row.user_id,
        )


# --- password reset ------------------------------------------------------------------


async def request_password_reset(session: AsyncSession, email: str, address: str) -> None:
    """Always 202 to the caller, whether or not the account exists; past the mail limits
    (app/mail_limits.py) nothing is sent."""
    settings = get_settings()
    if not await mail_limits.mail_allowed(session, email, address):
        return
    user = await find_user_by_email(session, email)
    if user is None or user.email is None:
        return
    token = await _issue_one_time_token(
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
    _mail_after_commit(session, user.email, "Reimposta la password / Reset your password", body)


async def confirm_password_reset(session: AsyncSession, token: str, password: str) -> None:
    user = await _consume_one_time_token(session, token, PASSWORD_RESET)
    _check_password(password, user.email)
    user.password_hash = await hash_password_off_loop(password)
    # Whoever reset the password controls the mailbox: the address is verified.
    user.email_verified_at = user.email_verified_at or _now()
    user.tokens_invalid_before = _now()
    await revoke_all_refresh_tokens(session, user.id)
    record_event(
        session, "user.password_reset", subject_type="user", subject_id=user.id, actor_id=user.id
    )


# --- own profile ---------------------------------------------------------------------


async def get_me(session: AsyncSession, user: User) -> Me:
    roles = (
        await session.exec(
            select(OrganizationRole.organization_id, Organization.slug, OrganizationRole.role)
            .join(Organization, col(Organization.id) == OrganizationRole.organization_id)
            .where(col(OrganizationRole.user_id) == user.id)
            .order_by(Organization.slug)
        )
    ).all()
    return Me(
        id=user.id,
        email=user.email,
        email_verified=user.email_verified_at is not None,
        display_name=user.display_name,
        locale=user.locale,
        birth_date=user.birth_date,
        municipality_id=user.municipality_id,
        is_platform_admin=user.is_platform_admin,
        guardian_consent_needed=needs_guardian_consent(user, _now().date()),
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
                    code="wrong_current_password",
                    errors=[
                        {
                            "loc": ["body", "current_password"],
                            "msg": "incorrect",
                            "code": "wrong_current_password",
                        }
                    ],
                )
            _check_password(new_password, user.email)
            user.password_hash = await hash_password_off_loop(new_password)
            await revoke_all_refresh_tokens(session, user.id, except_family=keep_sign_in)
            changes["password"] = True
    changes.pop("current_password", None)
    for field in ("display_name", "locale"):
        if field in changes and changes[field] is None:
            raise Unprocessable(
                f"{field} cannot be null.",
                code="invalid_field",
                errors=[{"loc": ["body", field], "msg": "cannot be null", "code": "invalid_field"}],
            )
    if "birth_date" in changes:
        _check_birth_date(changes["birth_date"])
    if "municipality_id" in changes:
        await _check_municipality(session, changes["municipality_id"])
    for field in ("display_name", "locale", "birth_date", "municipality_id"):
        if field in changes:
            setattr(user, field, changes[field])
    user.updated_at = _now()
    record_event(
        session,
        "user.updated",
        subject_type="user",
        subject_id=user.id,
        actor_id=user.id,
        payload={"fields": sorted(changes)},
    )
    await session.flush()
    return await get_me(session, user)
