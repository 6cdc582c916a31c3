"""The audit log is append-only in the database itself, whatever the application does."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.event_types import EventType
from app.models.events import Event
from app.models.moderation import AuditEntry
from app.services.audit.write import record_audit
from tests.factories import make_org, make_user


async def _one_entry(session: AsyncSession) -> AuditEntry:
    org = await make_org(session)
    admin = await make_user(session)
    entry = record_audit(
        session,
        EventType.MODERATION_HIDE,
        organization_id=org.id,
        actor_id=admin.id,
        target_type="proposal",
        target_id=admin.id,
        reason="spam",
        data={"previous": "visible"},
    )
    await session.flush()
    return entry


async def test_record_audit_writes_the_row_and_the_event(session: AsyncSession) -> None:
    entry = await _one_entry(session)
    stored = (await session.exec(select(AuditEntry).where(col(AuditEntry.id) == entry.id))).one()
    assert stored.action == "moderation.hide"
    assert stored.reason == "spam"
    event = (
        await session.exec(select(Event).where(col(Event.subject_id) == entry.target_id))
    ).one()
    assert event.type == "moderation.hide"
    # The reason (free text) stays in the audit row; the event carries ids and data only.
    assert event.payload == {"audit_id": str(entry.id), "previous": "visible"}


async def test_event_payload_may_differ_from_the_audit_data(session: AsyncSession) -> None:
    org = await make_org(session)
    admin = await make_user(session)
    entry = record_audit(
        session,
        EventType.GUARDIAN_CONSENT_RECORDED,
        organization_id=org.id,
        actor_id=admin.id,
        target_type="user",
        target_id=admin.id,
        reason="Modulo firmato",
        data={"consented_on": "2024-05-01"},
        event_payload={},
    )
    await session.flush()
    stored = (await session.exec(select(AuditEntry).where(col(AuditEntry.id) == entry.id))).one()
    assert stored.data == {"consented_on": "2024-05-01"}
    event = (
        await session.exec(select(Event).where(col(Event.subject_id) == entry.target_id))
    ).one()
    assert event.payload == {"audit_id": str(entry.id)}


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET reason = 'rewritten'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ],
)
async def test_the_database_refuses_changes_to_audit_rows(
    session: AsyncSession, statement: str
) -> None:
    entry = await _one_entry(session)
    nested = await session.begin_nested()
    with pytest.raises(DBAPIError, match="append-only"):
        conn = await session.connection()
        await conn.execute(text(statement))
    await nested.rollback()
    reason = await session.scalar(
        text("SELECT reason FROM audit_log WHERE id = :id"), {"id": entry.id}
    )
    assert reason == "spam"
