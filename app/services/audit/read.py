"""Reading the audit log: `GET /v1/organizations/{org}/audit-log`.

Its organization's admins (and platform admins) read it, newest first, keyset-paginated
on `seq` (the index (organization_id, seq) serves every page). Each page is one query:
the actor's name comes from a join, not one lookup per row. Rows are written by
`app/services/audit/write.py: record_audit` and never change.
"""

import uuid
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models.accounts import User
from app.models.moderation import AuditEntry
from app.models.proposals import PersonRef
from app.models.safety import AuditEntryView
from app.pagination import PageParams, SortKey, paginate
from app.services.access.orgs import get_admin_organization


async def list_audit_log(
    session: AsyncSession,
    actor: User,
    slug: str,
    params: PageParams,
    *,
    action: str | None = None,
    actor_id: uuid.UUID | None = None,
    target_type: str | None = None,
    target_id: uuid.UUID | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> tuple[list[AuditEntryView], str | None]:
    """A page of the organization's audit log, newest first. `since` is inclusive,
    `until` exclusive."""
    org = await get_admin_organization(session, actor, slug)
    stmt = (
        select(AuditEntry, User.display_name)
        .outerjoin(User, (col(User.id) == AuditEntry.actor_id) & col(User.deleted_at).is_(None))
        .where(col(AuditEntry.organization_id) == org.id)
    )
    if action is not None:
        # A full name, or a family: `moderation` is every `moderation.*` action.
        family = action if "." not in action else None
        stmt = stmt.where(
            col(AuditEntry.action).startswith(f"{family}.", autoescape=True)
            if family is not None
            else col(AuditEntry.action) == action
        )
    if actor_id is not None:
        stmt = stmt.where(col(AuditEntry.actor_id) == actor_id)
    if target_type is not None:
        stmt = stmt.where(col(AuditEntry.target_type) == target_type)
    if target_id is not None:
        stmt = stmt.where(col(AuditEntry.target_id) == target_id)
    if since is not None:
        stmt = stmt.where(col(AuditEntry.created_at) >= since)
    if until is not None:
        stmt = stmt.where(col(AuditEntry.created_at) < until)
    rows, cursor = await paginate(
        session,
        stmt,
        [SortKey(AuditEntry.seq, descending=True, kind=int)],
        params,
        key_of=lambda r: (r[0].seq,),
    )
    return [
        AuditEntryView(
            id=entry.id,
            organization_id=entry.organization_id,
            actor_id=entry.actor_id,
            action=entry.action,
            target_type=entry.target_type,
            target_id=entry.target_id,
            reason=entry.reason,
            data=entry.data,
            created_at=entry.created_at,
            actor=(
                PersonRef(id=entry.actor_id, display_name=name)
                if entry.actor_id is not None and name is not None
                else None
            ),
        )
        for entry, name in rows
    ], cursor
