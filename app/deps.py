"""Who is calling: bearer-token authentication and role dependencies.

Every endpoint declares its caller through one of these: `OptionalUser` (public, richer
for members), `CurrentUser` (signed in), `VerifiedUser` (signed in with a verified email),
`ParticipantUser` (may write content: propose, support, comment, vote), `PlatformAdmin`.
"""

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import bindparam, exists
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlmodel import col, select

from app.db import SessionDep
from app.error_codes import ErrorCode
from app.errors import Forbidden, Unauthorized
from app.models.accounts import RefreshToken, User, needs_guardian_consent
from app.models.integrations import ClientActor
from app.security import InvalidToken, decode_access_token, decode_client_token
from app.services.integrations.access import Actor, client_actor, require_scope

# An OAuth2 password-flow scheme, so that /docs' "Authorize" signs in with email and
# password through the token endpoint.
_bearer = OAuth2PasswordBearer(
    tokenUrl="/v1/auth/token",
    auto_error=False,
    description="Sign in with your email as username; sends `Authorization: Bearer <token>`.",
)
# The dependencies that refuse a caller without a token (401): an operation depending on
# one of them requires the bearer token; any other operation that reads it works
# anonymously too. `app/openapi_operations.py` declares each operation's security so.
TOKEN_REQUIRED: set[Any] = set()


# One query for the person and, when the token belongs to a sign-in, whether that
# sign-in is still alive: logout and a replayed refresh token revoke its refresh tokens,
# and one revoked token ends it (a rotation racing the revocation may leave the newest
# token unmarked). A token without a sign-in (`family_id` NULL) matches no revoked row.
# Built once: every request runs it.
_CALLER = select(
    User,
    ~exists().where(
        col(RefreshToken.family_id) == bindparam("family_id", type_=PG_UUID(as_uuid=True)),
        col(RefreshToken.revoked_at).is_not(None),
    ),
).where(col(User.id) == bindparam("user_id", type_=PG_UUID(as_uuid=True)))


async def get_optional_user(
    session: SessionDep,
    token: Annotated[str | None, Depends(_bearer)],
) -> User | None:
    if not token:
        return None
    try:
        claims = decode_access_token(token)
    except InvalidToken as exc:
        raise Unauthorized("The access token is invalid or expired.") from exc
    row = (
        await session.exec(
            _CALLER, params={"user_id": claims.user_id, "family_id": claims.session_id}
        )
    ).first()
    if row is None or row[0].deleted_at is not None:
        raise Unauthorized("The access token is invalid or expired.")
    user, alive = row
    if not alive:
        raise Unauthorized("This sign-in has ended; sign in again.")
    if user.tokens_invalid_before is not None and (
        # Both sides at millisecond precision, as tokens carry it (`iat_ms`).
        claims.issued_at
        < user.tokens_invalid_before.replace(
            microsecond=user.tokens_invalid_before.microsecond // 1000 * 1000
        )
    ):
        raise Unauthorized("The access token has been revoked.")
    return user


async def get_sign_in(token: Annotated[str | None, Depends(_bearer)]) -> uuid.UUID | None:
    """The sign-in (refresh-token family) the caller's access token belongs to; use with
    `CurrentUser`, which checks the token."""
    if not token:
        return None
    try:
        return decode_access_token(token).session_id
    except InvalidToken:
        return None


async def get_current_user(user: Annotated[User | None, Depends(get_optional_user)]) -> User:
    if user is None:
        raise Unauthorized("Sign in to do this.", error="invalid_request")
    return user


TOKEN_REQUIRED.add(get_current_user)


async def get_verified_user(user: Annotated[User, Depends(get_current_user)]) -> User:
    if user.email_verified_at is None:
        raise Forbidden(
            "Verify your email address before taking part.", code=ErrorCode.EMAIL_NOT_VERIFIED
        )
    return user


async def get_participant(user: Annotated[User, Depends(get_verified_user)]) -> User:
    """Signed in, email verified, and — under 14 — with a guardian's consent on record.
    Suspensions are per organization: the write services' context loaders check them
    (`write=True`, `app/services/access/suspensions.py`)."""
    if needs_guardian_consent(user, datetime.now(UTC).date()):
        raise Forbidden(
            "People under 14 can take part once a parent or guardian has given consent.",
            code=ErrorCode.GUARDIAN_CONSENT_REQUIRED,
        )
    return user


async def get_platform_admin(user: Annotated[User, Depends(get_current_user)]) -> User:
    if not user.is_platform_admin:
        raise Forbidden(
            "Only platform administrators may do this.", code=ErrorCode.NOT_PLATFORM_ADMIN
        )
    return user


def client_address(request: Request) -> str:
    """The caller's address; behind a proxy, uvicorn's --proxy-headers sets it from
    X-Forwarded-For for trusted proxies (FORWARDED_ALLOW_IPS)."""
    return request.client.host if request.client else "unknown"


def _scoped(scope: str) -> Any:
    """A person (the service checks their role), or a service client whose token holds
    `scope` (403 `insufficient_scope` without it) acting inside its organization."""

    async def caller(session: SessionDep, token: Annotated[str | None, Depends(_bearer)]) -> Actor:
        if not token:
            raise Unauthorized(
                "Sign in or send a client token to do this.", error="invalid_request"
            )
        try:
            claims = decode_client_token(token)
        except InvalidToken as exc:
            raise Unauthorized("The access token is invalid or expired.") from exc
        if claims is None:
            return await get_current_user(await get_optional_user(session, token))
        actor: ClientActor = await client_actor(session, claims)
        require_scope(actor, scope)
        return actor

    TOKEN_REQUIRED.add(caller)
    return Depends(caller)


OptionalUser = Annotated[User | None, Depends(get_optional_user)]
CurrentUser = Annotated[User, Depends(get_current_user)]
VerifiedUser = Annotated[User, Depends(get_verified_user)]
ParticipantUser = Annotated[User, Depends(get_participant)]
PlatformAdmin = Annotated[User, Depends(get_platform_admin)]
SignIn = Annotated[uuid.UUID | None, Depends(get_sign_in)]
ClientAddress = Annotated[str, Depends(client_address)]
# People or service clients, by the scope a client needs (API.md, Integrations).
ChangesReader = Annotated[Actor, _scoped("changes:read")]
WebhookManager = Annotated[Actor, _scoped("webhooks:manage")]
PlanWriter = Annotated[Actor, _scoped("plans:write")]
MeetingWriter = Annotated[Actor, _scoped("meetings:write")]
