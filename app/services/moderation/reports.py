"""Reports: a person flags a proposal, comment, meeting or person for the moderators.

**What may be reported.** Only what the reporter may see, through each domain's own
visibility rule (`proposal_context`, `resolve_comment_target`, `get_visible_meeting`), and
only while it is publicly visible (moderation status `visible`, not deleted): anything
else is a 404, as if it did not exist. A person is reportable while their account exists;
such a report names the organization whose moderators should review it (`organization`).
Reporting yourself or your own content is a 422 `own_content`.

**Once per reporter and target, race-safe.** The target's `moderations` row is upserted
(`INSERT … ON CONFLICT (target_type, target_id) DO UPDATE … RETURNING`), which also locks
it until the transaction ends, so the reports of one target are serialized; the report is
`INSERT … ON CONFLICT DO NOTHING` against `reports_moderation_id_reporter_id_key` (nothing
inserted: 409 `already_reported`), and only then `report_count = report_count + 1`.

**Hiding by reports.** `report_count` counts the reports no moderator has dismissed
(unhiding or dismissing resets it to 0). When it reaches the organization's threshold
(`organizations.settings["report_threshold"]`, default 3) and the content is still
visible, it is hidden (`hidden_by = "reports"`) and audited as `moderation.auto_hidden`
with no actor. Under the row lock that happens exactly once, however many people report
at the same moment; people have no status to hide and are only queued.

**The queue.** A report opens the item (`open = true`). Items are queued oldest first by
`updated_at`, which is set when the item (re)enters the queue and left alone by further
reports, so a much-reported item does not keep moving to the back of the queue.
"""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app.error_codes import ErrorCode
from app.errors import Conflict, NotFound, Unprocessable
from app.event_types import EventType
from app.events import record_event
from app.models.accounts import User
from app.models.moderation import (
    DEFAULT_REPORT_THRESHOLD,
    Moderation,
    Report,
    ReportCreate,
    ReportPublic,
)
from app.models.organizations import Organization
from app.services.access.kinds import PERSON_NOT_FOUND, kind_of
from app.services.access.orgs import get_organization
from app.services.audit.write import record_audit
from app.services.moderation.status import content_status, set_content_status
from app.services.validation import field_error, invalid


@dataclass(frozen=True)
class ReportedTarget:
    organization_id: uuid.UUID
    # The participation table the target belongs to (none for people, plan-node comments).
    table_id: uuid.UUID | None
    # Whose it is: the author (proposals, comments), the creator (meetings), the person.
    owner_id: uuid.UUID | None


async def _reported_target(
    session: AsyncSession, actor: User, data: ReportCreate
) -> ReportedTarget:
    """The target as the reporter may see it; 404 otherwise."""
    if not kind_of(data.target_type).person and data.organization is not None:
        raise invalid(
            ["body", "organization"],
            "Only reports of people name an organization; content belongs to its own.",
            ErrorCode.ORGANIZATION_NOT_APPLICABLE,
        )
    kind = kind_of(data.target_type)
    if not kind.person:
        if not kind.reportable or kind.find is None:
            raise NotFound(kind.not_found)
        found = await kind.find(session, actor, data.target_id, True)
        # Only what everyone sees can be reported (hidden or pending content is 404).
        if found.moderation_status is not None and found.moderation_status not in kind.shown:
            raise NotFound(kind.not_found)
        return ReportedTarget(found.organization_id, found.table_id, found.owner_id)
    # A person.
    if data.organization is None:
        raise invalid(
            ["body", "organization"],
            "Name the organization whose moderators should review this report.",
            ErrorCode.ORGANIZATION_REQUIRED,
        )
    person = await session.get(User, data.target_id)
    if person is None or person.deleted_at is not None:
        raise NotFound(PERSON_NOT_FOUND)
    org = await get_organization(session, data.organization, writer=actor)
    return ReportedTarget(org.id, None, person.id)


async def _moderation_row(
    session: AsyncSession, target_type: str, target_id: uuid.UUID, target: ReportedTarget
) -> uuid.UUID:
    """The id of the target's moderation row, created if needed and locked."""
    stmt = insert(Moderation).values(
        organization_id=target.organization_id,
        table_id=target.table_id,
        target_type=target_type,
        target_id=target_id,
    )
    row = (
        await session.exec(
            stmt.on_conflict_do_update(
                index_elements=["organization_id", "target_type", "target_id"],
                # A write, so that the row is locked; it changes nothing.
                set_={"target_type": stmt.excluded.target_type},
            ).returning(col(Moderation.id))
        )
    ).one()
    moderation_id: uuid.UUID = row[0]
    return moderation_id


def report_threshold(settings: Mapping[str, Any]) -> int:
    """The organization's threshold for hiding by reports (a positive integer)."""
    value = settings.get("report_threshold")
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    return DEFAULT_REPORT_THRESHOLD


async def create_report(session: AsyncSession, actor: User, data: ReportCreate) -> ReportPublic:
    # Suspension: answered by the target's own query (`write`).
    target = await _reported_target(session, actor, data)
    if target.owner_id == actor.id:
        raise Unprocessable(
            "You cannot report yourself or your own content.",
            code=ErrorCode.OWN_CONTENT,
            errors=[field_error(["body", "target_id"], "your own", ErrorCode.OWN_CONTENT)],
        )
    moderation_id = await _moderation_row(session, data.target_type, data.target_id, target)
    inserted = (
        await session.exec(
            insert(Report)
            .values(
                moderation_id=moderation_id,
                reporter_id=actor.id,
                reason=data.reason,
                details=data.details,
            )
            .on_conflict_do_nothing(index_elements=["moderation_id", "reporter_id"])
            .returning(col(Report.id), col(Report.created_at))
        )
    ).first()
    if inserted is None:
        raise Conflict("You have already reported this.", code=ErrorCode.ALREADY_REPORTED)
    report_id, created_at = inserted
    count, hidden_at = (
        await session.exec(
            update(Moderation)
            .where(col(Moderation.id) == moderation_id)
            .values(
                report_count=col(Moderation.report_count) + 1,
                open=True,
                # An item keeps its place in the queue; a closed one re-enters at the back.
                updated_at=case(
                    (col(Moderation.open), col(Moderation.updated_at)), else_=func.now()
                ),
            )
            .returning(col(Moderation.report_count), col(Moderation.hidden_at))
        )
    ).one()
    record_event(
        session,
        EventType.REPORT_CREATED,
        subject_type="report",
        subject_id=report_id,
        actor_id=actor.id,
        organization_id=target.organization_id,
        payload={
            "target_type": data.target_type,
            "target_id": str(data.target_id),
            "reason": data.reason,
        },
    )
    if kind_of(data.target_type).statuses and hidden_at is None:
        await _hide_if_over_threshold(
            session, moderation_id, data.target_type, data.target_id, target, count
        )
    await session.flush()
    return ReportPublic(
        id=report_id,
        target_type=data.target_type,
        target_id=data.target_id,
        reason=data.reason,
        details=data.details,
        created_at=created_at,
    )


async def _hide_if_over_threshold(
    session: AsyncSession,
    moderation_id: uuid.UUID,
    target_type: str,
    target_id: uuid.UUID,
    target: ReportedTarget,
    count: int,
) -> None:
    """Hide the content once its undismissed reports reach the threshold (the caller holds
    the moderation row's lock, so this happens once)."""
    settings = (
        await session.exec(
            select(Organization.settings).where(col(Organization.id) == target.organization_id)
        )
    ).one()
    threshold = report_threshold(settings)
    if count < threshold:
        return
    # Read after taking the lock: a moderator's decision may have just committed.
    if await content_status(session, target_type, target_id) != "visible":
        return
    await set_content_status(session, target_type, target_id, "hidden")
    await session.exec(
        update(Moderation)
        .where(col(Moderation.id) == moderation_id)
        .values(hidden_at=func.now(), hidden_by="reports", updated_at=col(Moderation.updated_at))
    )
    record_audit(
        session,
        EventType.MODERATION_AUTO_HIDDEN,
        organization_id=target.organization_id,
        actor_id=None,
        target_type=target_type,
        target_id=target_id,
        reason="Hidden automatically: the reports reached the organization's threshold.",
        data={
            "table_id": str(target.table_id) if target.table_id else None,
            "report_count": count,
            "report_threshold": threshold,
            "status": "hidden",
            "previous_status": "visible",
        },
    )
