"""Open311 API keys: long-lived keys an organization's admins issue to municipal apps.

A key is shown once, at creation, and stored as a SHA-256 hash (256 random bits: a fast
hash is enough, as for refresh tokens). Revoked keys stop working at once.
`api_client_id` is left null: it will link the key to an integrations API client (scope
`service_requests:write`) once those exist.
"""

import uuid
from datetime import UTC, datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.error_codes import ErrorCode
from app.errors import Forbidden, NotFound
from app.event_types import EventType
from app.models.accounts import User
from app.models.service_requests import ApiKeyCreate, ApiKeyIssued, ApiKeyPublic, Open311ApiKey
from app.pagination import PageParams, SortKey, paginate
from app.security import hash_opaque_token, new_opaque_token
from app.services.access.orgs import get_admin_organization
from app.services.audit.write import record_audit

KEY_PREFIX = "o311_"


def _public(key: Open311ApiKey) -> ApiKeyPublic:
    return ApiKeyPublic(
        id=key.id,
        organization_id=key.organization_id,
        label=key.label,
        key_prefix=key.key_prefix,
        api_client_id=key.api_client_id,
        created_by_id=key.created_by_id,
        created_at=key.created_at,
        revoked_at=key.revoked_at,
    )


async def issue_key(
    session: AsyncSession, actor: User, slug: str, data: ApiKeyCreate
) -> ApiKeyIssued:
    org = await get_admin_organization(session, actor, slug)
    secret = KEY_PREFIX + new_opaque_token()
    key = Open311ApiKey(
        organization_id=org.id,
        key_hash=hash_opaque_token(secret),
        key_prefix=secret[:12],
        label=data.label,
        created_by_id=actor.id,
    )
    session.add(key)
    await session.flush()
    record_audit(
        session,
        EventType.OPEN311_KEY_ISSUED,
        organization_id=org.id,
        actor_id=actor.id,
        target_type="open311_api_key",
        target_id=key.id,
        data={"key_prefix": key.key_prefix},
    )
    return ApiKeyIssued(**_public(key).model_dump(), api_key=secret)


async def list_keys(
    session: AsyncSession, actor: User, slug: str, params: PageParams
) -> tuple[list[ApiKeyPublic], str | None]:
    org = await get_admin_organization(session, actor, slug)
    keys = [
        SortKey(Open311ApiKey.created_at, descending=True, kind=datetime),
        SortKey(Open311ApiKey.id, descending=True, kind=uuid.UUID),
    ]
    rows, cursor = await paginate(
        session,
        select(Open311ApiKey).where(col(Open311ApiKey.organization_id) == org.id),
        keys,
        params,
        key_of=lambda k: (k.created_at, k.id),
    )
    return [_public(k) for k in rows], cursor


async def revoke_key(
    session: AsyncSession, actor: User, slug: str, key_id: uuid.UUID
) -> ApiKeyPublic:
    org = await get_admin_organization(session, actor, slug)
    key = (
        await session.exec(
            select(Open311ApiKey)
            .where(col(Open311ApiKey.id) == key_id, col(Open311ApiKey.organization_id) == org.id)
            .with_for_update()
        )
    ).one_or_none()
    if key is None:
        raise NotFound("No Open311 key with this id.")
    if key.revoked_at is None:
        key.revoked_at = datetime.now(UTC)
        record_audit(
            session,
            EventType.OPEN311_KEY_REVOKED,
            organization_id=org.id,
            actor_id=actor.id,
            target_type="open311_api_key",
            target_id=key.id,
            data={"key_prefix": key.key_prefix},
        )
        await session.flush()
    return _public(key)


async def key_for(session: AsyncSession, organization_id: uuid.UUID, secret: str) -> Open311ApiKey:
    """The organization's live key with this secret; 403 `invalid_api_key` otherwise."""
    key = (
        await session.exec(
            select(Open311ApiKey).where(
                col(Open311ApiKey.key_hash) == hash_opaque_token(secret),
                col(Open311ApiKey.organization_id) == organization_id,
                col(Open311ApiKey.revoked_at).is_(None),
            )
        )
    ).one_or_none()
    if key is None:
        raise Forbidden("The api_key is invalid or revoked.", code=ErrorCode.INVALID_API_KEY)
    return key
