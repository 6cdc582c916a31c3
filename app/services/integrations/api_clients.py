"""Service clients: an organization's admins create them with scopes; each has one or
more hashed secrets (a rotated one keeps working for a grace period); the
client_credentials grant turns a secret into a short-lived access token."""

import hashlib
import hmac
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, delete, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import ratelimit
from app.config import get_settings
from app.error_codes import ErrorCode
from app.errors import AppError, NotFound, RateLimited
from app.event_types import EventType
from app.models.accounts import User
from app.models.integrations import (
    SCOPES,
    ApiClient,
    ApiClientCreate,
    ApiClientPublic,
    ApiClientSecret,
    ApiClientUpdate,
    ApiClientWithSecret,
    ClientSecretInfo,
    ClientTokenResponse,
)
from app.pagination import PageParams, SortKey, paginate
from app.security import create_client_token, hash_opaque_token, new_client_secret
from app.services.access.orgs import get_admin_organization, is_org_admin_clause
from app.services.audit.write import record_audit

CLIENT_NOT_FOUND = "No API client with this id that you administer."


class InvalidClient(AppError):
    """RFC 6749 §5.2 `invalid_client`: 401 with a Basic challenge."""

    status = 401
    code = ErrorCode.INVALID_CLIENT
    title = "Invalid client"

    def __init__(self, detail: str = "Client authentication failed.") -> None:
        super().__init__(
            detail,
            headers={"WWW-Authenticate": 'Basic realm="consulta"'},
            extra={"error": "invalid_client", "error_description": detail},
        )
        # The failure counts against the throttle, so it is committed.
        self.keep_changes = True


class InvalidScope(AppError):
    code = ErrorCode.INVALID_SCOPE
    title = "Invalid scope"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, extra={"error": "invalid_scope", "error_description": detail})


def _now() -> datetime:
    return datetime.now(UTC)


def _live_secret() -> ColumnElement[bool]:
    return or_(col(ApiClientSecret.expires_at).is_(None), col(ApiClientSecret.expires_at) > _now())


async def _secrets(
    session: AsyncSession, client_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[ClientSecretInfo]]:
    found: dict[uuid.UUID, list[ClientSecretInfo]] = {i: [] for i in client_ids}
    rows = await session.exec(
        select(ApiClientSecret)
        .where(col(ApiClientSecret.client_id).in_(client_ids), _live_secret())
        .order_by(col(ApiClientSecret.created_at), col(ApiClientSecret.id))
    )
    for secret in rows.all():
        found[secret.client_id].append(
            ClientSecretInfo(
                id=secret.id, created_at=secret.created_at, expires_at=secret.expires_at
            )
        )
    return found


def _public(client: ApiClient, secrets: list[ClientSecretInfo]) -> ApiClientPublic:
    return ApiClientPublic(
        id=client.id,
        client_id=str(client.id),
        organization_id=client.organization_id,
        name=client.name,
        scopes=client.scopes,
        active=client.active,
        created_at=client.created_at,
        updated_at=client.updated_at,
        secrets=secrets,
    )


async def client_public(session: AsyncSession, client: ApiClient) -> ApiClientPublic:
    return _public(client, (await _secrets(session, [client.id]))[client.id])


def _add_secret(session: AsyncSession, client_id: uuid.UUID) -> str:
    secret = new_client_secret()
    session.add(ApiClientSecret(client_id=client_id, secret_hash=hash_opaque_token(secret)))
    return secret


async def create_client(
    session: AsyncSession, actor: User, slug: str, data: ApiClientCreate
) -> ApiClientWithSecret:
    org = await get_admin_organization(session, actor, slug)
    scopes: list[str] = sorted(set(data.scopes))
    client = ApiClient(
        organization_id=org.id, name=data.name.strip(), scopes=scopes, created_by_id=actor.id
    )
    session.add(client)
    await session.flush()
    secret = _add_secret(session, client.id)
    record_audit(
        session,
        EventType.API_CLIENT_CREATED,
        organization_id=org.id,
        actor_id=actor.id,
        target_type="api_client",
        target_id=client.id,
        data={"scopes": scopes},
    )
    await session.flush()
    public = await client_public(session, client)
    return ApiClientWithSecret(**public.model_dump(), client_secret=secret)


async def list_clients(
    session: AsyncSession, actor: User, slug: str, params: PageParams
) -> tuple[list[ApiClientPublic], str | None]:
    org = await get_admin_organization(session, actor, slug)
    keys = [SortKey(ApiClient.created_at, kind=datetime), SortKey(ApiClient.id, kind=uuid.UUID)]
    clients, cursor = await paginate(
        session,
        select(ApiClient).where(col(ApiClient.organization_id) == org.id),
        keys,
        params,
        key_of=lambda c: (c.created_at, c.id),
    )
    secrets = await _secrets(session, [c.id for c in clients])
    return [_public(c, secrets[c.id]) for c in clients], cursor


async def _admin_client(
    session: AsyncSession, actor: User, client_id: uuid.UUID, *, lock: bool = False
) -> ApiClient:
    stmt = select(ApiClient).where(
        col(ApiClient.id) == client_id, is_org_admin_clause(actor, ApiClient.organization_id)
    )
    if lock:
        stmt = stmt.with_for_update()
    client = (await session.exec(stmt)).one_or_none()
    if client is None:
        raise NotFound(CLIENT_NOT_FOUND)
    return client


async def get_client(session: AsyncSession, actor: User, client_id: uuid.UUID) -> ApiClientPublic:
    return await client_public(session, await _admin_client(session, actor, client_id))


async def update_client(
    session: AsyncSession, actor: User, client_id: uuid.UUID, data: ApiClientUpdate
) -> ApiClientPublic:
    client = await _admin_client(session, actor, client_id, lock=True)
    changes: dict[str, object] = {}
    if data.name is not None and data.name.strip() != client.name:
        changes["name"] = client.name = data.name.strip()
    if data.scopes is not None and sorted(set(data.scopes)) != client.scopes:
        changes["scopes"] = client.scopes = sorted(set(data.scopes))
    if data.active is not None and data.active != client.active:
        changes["active"] = client.active = data.active
    if changes:
        session.add(client)
        record_audit(
            session,
            EventType.API_CLIENT_UPDATED,
            organization_id=client.organization_id,
            actor_id=actor.id,
            target_type="api_client",
            target_id=client.id,
            data={
                "fields": sorted(changes),
                **{k: v for k, v in changes.items() if k in ("scopes", "active")},
            },
        )
        await session.flush()
        await session.refresh(client)
    return await client_public(session, client)


async def delete_client(session: AsyncSession, actor: User, client_id: uuid.UUID) -> None:
    client = await _admin_client(session, actor, client_id, lock=True)
    record_audit(
        session,
        EventType.API_CLIENT_DELETED,
        organization_id=client.organization_id,
        actor_id=actor.id,
        target_type="api_client",
        target_id=client.id,
    )
    await session.flush()
    await session.exec(delete(ApiClient).where(col(ApiClient.id) == client.id))


async def rotate_secret(
    session: AsyncSession, actor: User, client_id: uuid.UUID
) -> ApiClientWithSecret:
    """A new secret; the current ones keep working for the grace period, then stop."""
    client = await _admin_client(session, actor, client_id, lock=True)
    grace_end = _now() + timedelta(hours=get_settings().api_client_secret_grace_hours)
    await session.exec(
        update(ApiClientSecret)
        .where(
            col(ApiClientSecret.client_id) == client.id,
            or_(
                col(ApiClientSecret.expires_at).is_(None),
                col(ApiClientSecret.expires_at) > grace_end,
            ),
        )
        .values(expires_at=grace_end)
    )
    secret = _add_secret(session, client.id)
    record_audit(
        session,
        EventType.API_CLIENT_SECRET_ROTATED,
        organization_id=client.organization_id,
        actor_id=actor.id,
        target_type="api_client",
        target_id=client.id,
    )
    await session.flush()
    public = await client_public(session, client)
    return ApiClientWithSecret(**public.model_dump(), client_secret=secret)


# --- the client_credentials grant ------------------------------------------------------


def _limits(client_id: str, address: str) -> tuple[ratelimit.Limit, ...]:
    """As for sign-ins (accounts/sign_in.py): per (client, address), so that guessing from
    one address does not lock the portal out from its own; per client, a high ceiling for
    distributed guessing; per address."""
    settings = get_settings()
    window = settings.login_window_seconds
    key = hashlib.sha256(client_id.encode()).hexdigest()
    return (
        ratelimit.Limit(
            f"client-address:{key}:{address}",
            settings.login_max_failures_per_account_address,
            window,
        ),
        ratelimit.Limit(f"client:{key}", settings.login_max_failures_per_account, window),
        ratelimit.Limit(
            f"login:address:{address}", settings.login_max_failures_per_address, window
        ),
    )


def _parse_scope(scope: str | None, granted: Sequence[str]) -> list[str]:
    if scope is None or not scope.strip():
        return list(granted)
    wanted = scope.split()
    unknown = [s for s in wanted if s not in SCOPES]
    if unknown:
        raise InvalidScope(f"Unknown scope: {' '.join(unknown)}.")
    refused = [s for s in wanted if s not in granted]
    if refused:
        raise InvalidScope(f"Scope not granted to this client: {' '.join(refused)}.")
    return sorted(set(wanted))


async def client_credentials(
    session: AsyncSession, client_id: str, client_secret: str, scope: str | None, address: str
) -> ClientTokenResponse:
    """RFC 6749 §4.4. Wrong credentials count against the same kind of throttle as
    failed sign-ins (per client and per address)."""
    limits = _limits(client_id, address)
    for limit in limits:
        usage = await ratelimit.peek(limit, session)
        if usage.exceeded:
            raise RateLimited(
                "Too many failed client authentications; try again later.",
                retry_after=usage.retry_after(),
                code=ErrorCode.TOO_MANY_ATTEMPTS,
            )
    client = await _authenticated(session, client_id, client_secret)
    if client is None:
        for limit in limits:
            await ratelimit.hit(limit, session)
        raise InvalidClient()
    await ratelimit.reset(limits[0], session)
    scopes = _parse_scope(scope, client.scopes)
    token, expires_in = create_client_token(client.id, client.organization_id, scopes)
    return ClientTokenResponse(access_token=token, expires_in=expires_in, scope=" ".join(scopes))


async def _authenticated(
    session: AsyncSession, client_id: str, client_secret: str
) -> ApiClient | None:
    try:
        parsed = uuid.UUID(client_id)
    except ValueError:
        return None
    given = hash_opaque_token(client_secret)
    rows = (
        await session.exec(
            select(ApiClient, ApiClientSecret.secret_hash)
            .join(ApiClientSecret, col(ApiClientSecret.client_id) == ApiClient.id)
            .where(col(ApiClient.id) == parsed, col(ApiClient.active).is_(True), _live_secret())
        )
    ).all()
    match = None
    for client, stored in rows:
        if hmac.compare_digest(stored.encode(), given.encode()):
            match = client
    return match
