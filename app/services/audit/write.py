"""The audit log: one append-only row per moderation or administration action.

`record_audit` writes the audit row and the matching event in the caller's transaction,
so an action is audited exactly when it is committed. The database refuses any change
to written rows (see migration 0007), so this module only ever inserts and reads.
"""

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.event_types import EventType
from app.events import record_event
from app.models.moderation import AuditEntry


def record_audit(
    session: AsyncSession,
    action: EventType,
    *,
    organization_id: uuid.UUID | None,
    actor_id: uuid.UUID | None,
    target_type: str,
    target_id: uuid.UUID,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
    event_payload: dict[str, Any] | None = None,
    actor_client_id: uuid.UUID | None = None,
) -> AuditEntry:
    """Audit `action` (e.g. `moderation.hide`) and put it on the event spine.

    `data` holds ids, changed field names and set values (states, roles, switches), never
    personal data or free text: organization admins read the log, and it outlives account
    deletion. `reason` (free text, possibly about people) stays in the audit row only.

    The event's payload is `audit_id` plus `data`, or plus `event_payload` when the two
    must differ: a fact kept for the record but not for integrators (`{}`), or ids only
    the event's consumers need (who to notify of a cancellation). A service client that
    acted is `actor_client_id` (the audit row keeps it in `data.client_id`)."""
    if actor_client_id is not None:
        data = {**(data or {}), "client_id": str(actor_client_id)}
    entry = AuditEntry(
        organization_id=organization_id,
        actor_id=actor_id,
        action=action,
        target_type=target_type,
        target_id=target_id,
        reason=reason,
        data=data or {},
    )
    session.add(entry)
    record_event(
        session,
        action,
        subject_type=target_type,
        subject_id=target_id,
        actor_id=actor_id,
        actor_client_id=actor_client_id,
        organization_id=organization_id,
        payload={
            "audit_id": str(entry.id),
            **((data or {}) if event_payload is None else event_payload),
        },
    )
    return entry
