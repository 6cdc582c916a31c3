"""Who may use the integration endpoints: a service client inside its own organization
with the scope the endpoint names, or that organization's admins.

A client's access token is checked against its row on every request (one primary-key
lookup): deactivating or deleting a client stops its tokens at once, and narrowing its
scopes takes effect at once."""

import uuid
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.error_codes import ErrorCode
from app.errors import AppError, NotFound, Unauthorized
from app.models.accounts import User
from app.models.integrations import ApiClient, ClientActor, acting_client
from app.models.organizations import Organization
from app.security import ClientClaims
from app.services.access.orgs import ADMINISTERED_ORG_NOT_FOUND, is_org_admin_clause

Actor = User | ClientActor  # = app.models.integrations.Actor


class InsufficientScope(AppError):
    """RFC 6750 §3.1: the token is valid but lacks the scope the endpoint needs."""

    status = 403
    code = ErrorCode.INSUFFICIENT_SCOPE
    title = "Insufficient scope"

    def __init__(self, scope: str) -> None:
        super().__init__(
            f"This client's token lacks the scope {scope}.",
            headers={
                "WWW-Authenticate": (
                    f'Bearer realm="consulta", error="insufficient_scope", scope="{scope}"'
                )
            },
            extra={"error": "insufficient_scope", "scope": scope},
        )


async def client_actor(session: AsyncSession, claims: ClientClaims) -> ClientActor:
    """The client a token belongs to, if it is still active; its effective scopes are
    the token's, narrowed to what the client holds now."""
    row = (
        await session.exec(
            select(ApiClient.organization_id, ApiClient.scopes).where(
                col(ApiClient.id) == claims.client_id, col(ApiClient.active).is_(True)
            )
        )
    ).one_or_none()
    if row is None or row[0] != claims.organization_id:
        raise Unauthorized("This client has been deactivated or deleted.")
    return ClientActor(
        client_id=claims.client_id,
        organization_id=claims.organization_id,
        scopes=claims.scopes & frozenset(row[1]),
    )


def require_scope(actor: Actor, scope: str) -> None:
    if isinstance(actor, ClientActor) and scope not in actor.scopes:
        raise InsufficientScope(scope)


def org_admin_clause(actor: Actor, organization_id: Any) -> Any:
    """SQL condition: `actor` may act as the organization's administration — its
    admins, or a client of that organization (its scope checked by the dependency)."""
    if isinstance(actor, ClientActor):
        return organization_id == actor.organization_id
    return is_org_admin_clause(actor, organization_id)


async def integration_organization(session: AsyncSession, actor: Actor, slug: str) -> Organization:
    """The organization with `slug`, if `actor` is its admin or one of its clients."""
    org = (
        await session.exec(
            select(Organization).where(
                col(Organization.slug) == slug, org_admin_clause(actor, Organization.id)
            )
        )
    ).one_or_none()
    if org is None:
        raise NotFound(ADMINISTERED_ORG_NOT_FOUND)
    return org


def actor_fields(actor: Actor | None) -> dict[str, uuid.UUID | None]:
    """`actor_id` / `actor_client_id` for `record_event` and rows naming who acted."""
    return {"actor_id": actor.id if actor else None, "actor_client_id": acting_client(actor)}
