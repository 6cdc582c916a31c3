"""Every cryptographic call lives here: password hashing, JWTs, opaque tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

import anyio
import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from jose import JWTError, jwt

from app.config import get_settings

# OWASP's minimum for argon2id: 19 MiB memory, 2 iterations, 1 lane.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Verified against when the email is unknown, so both paths cost the same.
_DUMMY_HASH = _hasher.hash("dummy-password-for-constant-time-checks")

PASSWORD_MIN = 8
PASSWORD_MAX = 128

TokenType = Literal["access"]


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    """Constant-cost check: with no hash (unknown account) the dummy hash is verified."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


# Argon2 is deliberately slow (tens of milliseconds of CPU): requests hash and verify in
# a worker thread, so that a class signing in at once does not stall the event loop.
async def hash_password_off_loop(password: str) -> str:
    return await anyio.to_thread.run_sync(hash_password, password)


async def verify_password_off_loop(password: str, password_hash: str | None) -> bool:
    return await anyio.to_thread.run_sync(verify_password, password, password_hash)


def password_needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


@lru_cache
def common_passwords() -> frozenset[str]:
    text = resources.files("app").joinpath("data/common_passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip().lower()
        for line in text.splitlines()
        if line.strip() and not line.startswith("#")
    )


def password_problem(password: str, *, email: str | None = None) -> str | None:
    """Why a new password is refused, or None. NIST 800-63B: length and a blocklist, no
    composition rules."""
    if len(password) < PASSWORD_MIN:
        return f"The password must have at least {PASSWORD_MIN} characters."
    if len(password) > PASSWORD_MAX:
        return f"The password must have at most {PASSWORD_MAX} characters."
    lowered = password.lower()
    if lowered in common_passwords():
        return "This password is among the most commonly used ones; choose another."
    if email and lowered == email.lower():
        return "The password must not be your email address."
    return None


# --- access tokens (JWT) -------------------------------------------------------------


@dataclass(frozen=True)
class AccessClaims:
    user_id: uuid.UUID
    issued_at: datetime
    expires_at: datetime
    session_id: uuid.UUID | None = None


def create_access_token(
    user_id: uuid.UUID, *, session_id: uuid.UUID | None = None, now: datetime | None = None
) -> tuple[str, int]:
    """A short-lived bearer token; `session_id` is the sign-in (refresh-token family) it
    belongs to, so that ending the sign-in (logout, replayed refresh token) ends it too."""
    settings = get_settings()
    now = now or datetime.now(UTC)
    lifetime = timedelta(minutes=settings.access_token_minutes)
    claims: dict[str, Any] = {
        "sub": str(user_id),
        "type": "access",
        "iat": int(now.timestamp()),
        # `iat` is whole seconds; revocation (suspension, password reset) must also stop
        # tokens issued earlier in the same second.
        "iat_ms": int(now.timestamp() * 1000),
        "exp": int((now + lifetime).timestamp()),
        "jti": secrets.token_hex(8),
    }
    if session_id is not None:
        claims["sid"] = str(session_id)
    token = jwt.encode(claims, settings.secret_key, algorithm=settings.jwt_algorithm)
    return token, int(lifetime.total_seconds())


class InvalidToken(Exception):
    pass


def decode_access_token(token: str) -> AccessClaims:
    settings = get_settings()
    try:
        claims = jwt.decode(
            token,
            settings.secret_key,
            algorithms=[settings.jwt_algorithm],
            options={"require_exp": True, "require_iat": True, "require_sub": True},
        )
    except JWTError as exc:
        raise InvalidToken(str(exc)) from exc
    if claims.get("type") != "access":
        raise InvalidToken("not an access token")
    try:
        user_id = uuid.UUID(str(claims["sub"]))
        issued = (
            datetime.fromtimestamp(int(claims["iat_ms"]) / 1000, UTC)
            if "iat_ms" in claims
            else datetime.fromtimestamp(int(claims["iat"]), UTC)
        )
        expires = datetime.fromtimestamp(int(claims["exp"]), UTC)
        session_id = uuid.UUID(str(claims["sid"])) if "sid" in claims else None
    except (KeyError, ValueError, TypeError) as exc:
        raise InvalidToken("malformed claims") from exc
    return AccessClaims(
        user_id=user_id, issued_at=issued, expires_at=expires, session_id=session_id
    )


# --- service clients' access tokens (client_credentials grant) ------------------------


@dataclass(frozen=True)
class ClientClaims:
    client_id: uuid.UUID
    organization_id: uuid.UUID
    scopes: frozenset[str]
    issued_at: datetime


CLIENT_TOKEN_TYPE = "client_access"


def create_client_token(
    client_id: uuid.UUID, organization_id: uuid.UUID, scopes: list[str]
) -> tuple[str, int]:
    """A short-lived bearer token for a service client; its own `type`, so that no
    endpoint taking a person's token accepts it."""
    settings = get_settings()
    now = datetime.now(UTC)
    lifetime = timedelta(minutes=settings.access_token_minutes)
    claims: dict[str, Any] = {
        "sub": str(client_id),
        "type": CLIENT_TOKEN_TYPE,
        "org": str(organization_id),
        "scope": " ".join(scopes),
        "iat": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
        "jti": secrets.token_hex(8),
    }
    token = jwt.encode(claims, settings.secret_key, algorithm=settings.jwt_algorithm)
    return token, int(lifetime.total_seconds())


def decode_client_token(token: str) -> ClientClaims | None:
    """The claims of a service client's token; None when it is a person's token (or
    not a token of ours at all: InvalidToken)."""
    settings = get_settings()
    try:
        claims = jwt.decode(
            token,
            settings.secret_key,
            algorithms=[settings.jwt_algorithm],
            options={"require_exp": True, "require_iat": True, "require_sub": True},
        )
    except JWTError as exc:
        raise InvalidToken(str(exc)) from exc
    if claims.get("type") != CLIENT_TOKEN_TYPE:
        return None
    try:
        return ClientClaims(
            client_id=uuid.UUID(str(claims["sub"])),
            organization_id=uuid.UUID(str(claims["org"])),
            scopes=frozenset(str(claims.get("scope", "")).split()),
            issued_at=datetime.fromtimestamp(int(claims["iat"]), UTC),
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise InvalidToken("malformed claims") from exc


def new_client_secret() -> str:
    return "cs_" + secrets.token_urlsafe(32)


def new_webhook_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


# --- opaque tokens (refresh, email verification, password reset) --------------------


def new_opaque_token() -> str:
    return secrets.token_urlsafe(32)


def hash_opaque_token(token: str) -> str:
    """Opaque tokens are stored hashed: a database leak does not leak usable tokens.
    They carry 256 bits of entropy, so a fast hash is enough."""
    return hashlib.sha256(token.encode()).hexdigest()


# --- calendar feed tokens -------------------------------------------------------------


def _feed_mac(user_id: uuid.UUID, table_id: uuid.UUID, revoked_before: datetime | None) -> str:
    # Bound to the person's token revocation instant: a password reset, sign-out
    # everywhere, suspension or deletion also retires every feed URL they handed out.
    revoked = revoked_before.isoformat() if revoked_before else ""
    message = f"calendar-feed:{user_id}:{table_id}:{revoked}"
    digest = hmac.new(get_settings().secret_key.encode(), message.encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()[:24]).decode().rstrip("=")


def create_calendar_feed_token(
    user_id: uuid.UUID, table_id: uuid.UUID, revoked_before: datetime | None
) -> str:
    """A token for one person's subscription to one table's calendar: calendar apps
    cannot send an Authorization header, so the feed URL carries it."""
    return f"{user_id.hex}.{_feed_mac(user_id, table_id, revoked_before)}"


def calendar_feed_user_id(token: str) -> uuid.UUID | None:
    """The person a feed token claims to be (to load them), not yet verified."""
    user_part, _, mac = token.partition(".")
    try:
        return uuid.UUID(hex=user_part) if mac else None
    except ValueError:
        return None


def verify_calendar_feed_token(
    token: str, user_id: uuid.UUID, table_id: uuid.UUID, revoked_before: datetime | None
) -> bool:
    expected = create_calendar_feed_token(user_id, table_id, revoked_before)
    return hmac.compare_digest(token.encode(), expected.encode())
