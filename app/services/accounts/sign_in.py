"""Sign-in, refresh-token rotation and sign-out.

Failed sign-ins are throttled per account and per address; a refresh token belongs to a
family, and reusing a rotated one revokes the whole family. Token families are locked
first (an advisory lock) so simultaneous refreshes and sign-outs never deadlock.
"""

import hashlib
import uuid
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import func, literal, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import ratelimit
from app.config import get_settings
from app.error_codes import ErrorCode
from app.errors import AppError, RateLimited
from app.event_types import EventType
from app.events import record_event
from app.models.accounts import (
    RefreshToken,
    TokenResponse,
    User,
)
from app.replicas import fence_caller
from app.security import (
    create_access_token,
    hash_opaque_token,
    hash_password_off_loop,
    new_opaque_token,
    password_needs_rehash,
    verify_password_off_loop,
)
from app.services.accounts.common import utc_now
from app.services.accounts.people import find_user_by_email


class InvalidGrant(AppError):
    """OAuth2 `invalid_grant`, shaped as problem+json with the OAuth2 fields added so that
    standard OAuth2 clients understand it too."""

    status = 400
    code = ErrorCode.INVALID_GRANT
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
                code=ErrorCode.TOO_MANY_ATTEMPTS,
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
            expires_at=utc_now() + timedelta(days=settings.refresh_token_days),
        )
    )
    # The person signing in reads their own writes from their first request on.
    fence_caller(session, f"user:{user.id}")
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
        session, EventType.USER_SIGNED_IN, subject_type="user", subject_id=user.id, actor_id=user.id
    )
    return await _issue_tokens(session, user)


async def _revoke_family(session: AsyncSession, family_id: uuid.UUID) -> None:
    await session.exec(
        update(RefreshToken)
        .where(col(RefreshToken.family_id) == family_id, col(RefreshToken.revoked_at).is_(None))
        .values(revoked_at=utc_now())
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
    await session.exec(stmt.values(revoked_at=utc_now()))


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
            EventType.USER_REFRESH_TOKEN_REUSED,
            subject_type="user",
            subject_id=row.user_id,
            actor_id=None,
            payload={"family_id": str(row.family_id)},
        )
        raise RefreshRefused(
            "The refresh token was already used; this session is revoked.", keep_changes=True
        )
    if row.expires_at <= utc_now():
        raise RefreshRefused("The refresh token has expired.")
    if await _family_ended(session, row.family_id):
        # Revoked while this token was being issued (a logout or a replay racing the
        # rotation): the sign-in is over.
        await _revoke_family(session, row.family_id)
        raise RefreshRefused("The refresh token has been revoked.", keep_changes=True)
    user = await session.get(User, row.user_id)
    if user is None or user.deleted_at is not None:
        raise RefreshRefused("The refresh token is invalid.")
    row.rotated_at = utc_now()
    return await _issue_tokens(session, user, family_id=row.family_id)


async def logout(session: AsyncSession, refresh_token: str) -> None:
    # After the family's lock: a refresh rotating a token of it commits first, and the
    # revocation below (a new statement, a new snapshot) reaches the token it issued too.
    row = await _locked_token(session, refresh_token)
    if row is not None:
        await _revoke_family(session, row.family_id)
        record_event(
            session,
            EventType.USER_SIGNED_OUT,
            subject_type="user",
            subject_id=row.user_id,
            actor_id=row.user_id,
        )
