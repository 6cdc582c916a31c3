"""Demo: Bari's service client, so that an integrator can try the change feed and
webhooks from a fresh `make run` (README, "Integrations in five commands")."""

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models.integrations import ApiClient, ApiClientSecret
from app.models.organizations import Organization
from app.security import hash_opaque_token, new_client_secret

DEMO_CLIENT_NAME = "Portale comunale (demo)"
DEMO_CLIENT_SCOPES = ["changes:read", "meetings:write", "plans:write", "webhooks:manage"]


async def seed_demo_client(session: AsyncSession, org_slug: str = "cm-bari") -> list[str]:
    """Bari's demo client; its secret is printed the first time only (it is stored
    hashed). Rotate it with POST /v1/api-clients/{id}/secrets to get a new one."""
    org = (
        await session.exec(select(Organization).where(col(Organization.slug) == org_slug))
    ).one_or_none()
    if org is None:
        return []
    existing = (
        await session.exec(
            select(ApiClient).where(
                col(ApiClient.organization_id) == org.id, col(ApiClient.name) == DEMO_CLIENT_NAME
            )
        )
    ).first()
    if existing is not None:
        return [f"service client {org_slug}: present (client_id {existing.id})"]
    client = ApiClient(organization_id=org.id, name=DEMO_CLIENT_NAME, scopes=DEMO_CLIENT_SCOPES)
    session.add(client)
    await session.flush()
    secret = new_client_secret()
    session.add(ApiClientSecret(client_id=client.id, secret_hash=hash_opaque_token(secret)))
    await session.flush()
    return [
        f"service client {org_slug}: created, client_id {client.id}, "
        f"client_secret {secret} (shown once; scopes {' '.join(DEMO_CLIENT_SCOPES)})"
    ]
