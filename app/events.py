"""The event spine (see ARCHITECTURE.md).

Every service that changes state calls `record_event` in the same transaction, so an
event exists exactly when its change was committed. The `events` table feeds the audit
trail today and the integrators' change feed, webhooks and live updates later.
"""

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.event_types import EventType
from app.models.events import Event


def record_event(
    session: AsyncSession,
    type: EventType,
    *,
    subject_type: str,
    subject_id: uuid.UUID,
    actor_id: uuid.UUID | None,
    organization_id: uuid.UUID | None = None,
    payload: dict[str, Any] | None = None,
    actor_client_id: uuid.UUID | None = None,
    meeting_id: uuid.UUID | None = None,
) -> Event:
    """Add one event row, e.g. `record_event(s, EventType.USER_REGISTERED, subject_type="user", …)`.

    Payloads carry ids and changed field names, never personal data (emails, birth dates),
    since feeds built on them are read by integrators. `meeting_id` puts the event on that
    meeting's live stream (`app/services/live/`)."""
    event = Event(
        organization_id=organization_id,
        type=type,
        subject_type=subject_type,
        subject_id=subject_id,
        actor_id=actor_id,
        actor_client_id=actor_client_id,
        payload=payload or {},
        meeting_id=meeting_id,
    )
    session.add(event)
    return event
