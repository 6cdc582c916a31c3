"""Moderation actions: `POST /v1/moderation/actions`.

**Who.** The moderators of the target: for a table's content (proposals other than
drafts, meetings, polls, comments on them) the table's active facilitators, the
organization's admins and platform admins; for people and plan nodes (and comments on
plan nodes) the organization's admins and platform admins. The target is looked up
through those conditions, so anyone else — and a facilitator of another table — gets a
404. A person can only be acted on once reported: their item belongs to one organization.

**What.**

* `hide` (proposals, comments, meetings): status `hidden`, `hidden_by = moderator`; also
  confirms a hiding by reports. Closes the item.
* `unhide` (hidden content): status `visible`; the reports are dismissed (they stop
  counting: `report_count = 0`). Closes the item.
* `dismiss` (anything with reports): the reports are dismissed, the content stays as it
  is. Closes the item, unless the content still awaits approval. Refused (409
  `hidden_by_reports`) on content the reports hid: the moderator decides instead, with
  `unhide` (restore) or `hide` (confirm).
* `approve` (pending content): status `visible`. Closes the item.
* `lock` / `unlock` (thread hosts: proposals, meetings, polls, plan nodes, root
  comments): no new comments on it, or in the root comment's thread — or again allowed.
  The item stays open or closed as it was.

Impossible moves are a 409 with a specific code (`already_hidden`, `not_hidden`,
`nothing_to_dismiss`, `hidden_by_reports`, `not_pending`, `already_locked`, `not_locked`);
actions that make no sense for the kind of target a 422 (`action_not_applicable`,
`not_a_thread_root`).

**How.** The target's moderation row is upserted and so locked first (the same lock
reports take), then the content's status is read and changed through
`set_content_status`, which keeps `proposals.comments_count` exact. Every action records
the reviewer (`reviewed_at`, `reviewed_by_id`) and an audit entry `moderation.<action>`
with the moderator's reason, and answers with the updated queue item.
"""

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app.error_codes import ErrorCode
from app.errors import Conflict, NotFound, Unprocessable
from app.event_types import EventType
from app.models.accounts import User
from app.models.moderation import (
    Moderation,
    ModerationAction,
    ModerationActionIn,
    ModerationItem,
    Report,
)
from app.models.organizations import Organization
from app.services.access.kinds import kind_of, moderated_row
from app.services.access.orgs import is_org_admin_clause
from app.services.audit.write import record_audit
from app.services.moderation.queue import moderation_items
from app.services.moderation.status import content_status, set_content_status
from app.services.validation import field_error

PERSON_REPORT_NOT_FOUND = "No report of this person to act on."
# The event (and audit action) of each moderation action.
ACTION_EVENTS: dict[ModerationAction, EventType] = {
    "hide": EventType.MODERATION_HIDE,
    "unhide": EventType.MODERATION_UNHIDE,
    "approve": EventType.MODERATION_APPROVE,
    "dismiss": EventType.MODERATION_DISMISS,
    "lock": EventType.MODERATION_LOCK,
    "unlock": EventType.MODERATION_UNLOCK,
}


@dataclass(frozen=True)
class ModeratedTarget:
    organization_id: uuid.UUID
    table_id: uuid.UUID | None
    # Comments: their depth (only roots can be locked).
    depth: int | None = None


# --- the target, as its moderators find it ---------------------------------------------


async def _moderated_target(
    session: AsyncSession,
    actor: User,
    target_type: str,
    target_id: uuid.UUID,
    organization: str | None = None,
) -> ModeratedTarget:
    """The target if the actor moderates it (as its kind in the registry says); 404
    otherwise."""
    kind = kind_of(target_type)
    found: ModeratedTarget | None = None
    if not kind.person:
        row = (await session.exec(moderated_row(kind, actor, target_id))).one_or_none()
        found = ModeratedTarget(*row) if row is not None else None
    else:
        # A person has one record per organization that received reports about them.
        stmt = select(Moderation.organization_id).where(
            col(Moderation.target_type) == "user",
            col(Moderation.target_id) == target_id,
            is_org_admin_clause(actor, Moderation.organization_id),
        )
        if organization is not None:
            stmt = stmt.join(
                Organization, col(Organization.id) == Moderation.organization_id
            ).where(col(Organization.slug) == organization)
        org_ids = (await session.exec(stmt.limit(2))).all()
        if len(org_ids) > 1:
            raise Unprocessable(
                "You moderate several organizations with reports about this person: "
                "name one in `organization`.",
                code=ErrorCode.ORGANIZATION_REQUIRED,
                errors=[
                    field_error(
                        ["body", "organization"],
                        "required for this person",
                        ErrorCode.ORGANIZATION_REQUIRED,
                    )
                ],
            )
        found = ModeratedTarget(org_ids[0], None) if org_ids else None
    if found is None:
        raise NotFound(PERSON_REPORT_NOT_FOUND if kind.person else kind.not_found)
    return found


async def _locked_row(
    session: AsyncSession, target_type: str, target_id: uuid.UUID, target: ModeratedTarget
) -> Moderation:
    """The target's moderation row, created if needed, locked for the action."""
    stmt = insert(Moderation).values(
        organization_id=target.organization_id,
        table_id=target.table_id,
        target_type=target_type,
        target_id=target_id,
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["organization_id", "target_type", "target_id"],
        # A write, so that the row is locked; it changes nothing.
        set_={"target_type": stmt.excluded.target_type},
    )
    result = await session.exec(
        stmt.returning(Moderation), execution_options={"populate_existing": True}
    )
    row: Moderation = result.scalar_one()
    return row


# --- the actions ------------------------------------------------------------------------


def _not_applicable(action: str, target_type: str) -> Unprocessable:
    msg = f"`{action}` does not apply to a {target_type.replace('_', ' ')}."
    return Unprocessable(
        msg,
        code=ErrorCode.ACTION_NOT_APPLICABLE,
        errors=[field_error(["body", "action"], msg, ErrorCode.ACTION_NOT_APPLICABLE)],
    )


@dataclass
class Outcome:
    """What an action changes: the content's new status (if any), whether the reports are
    dismissed, and the moderation row's new values."""

    status: str | None = None
    dismiss_reports: bool = False
    changes: dict[str, Any] | None = None


def _decide(
    action: str, target_type: str, target: ModeratedTarget, row: Moderation, status: str | None
) -> Outcome:
    """The outcome of `action`, or the 409/422 that refuses it."""
    kind = kind_of(target_type)
    if action in ("hide", "unhide", "approve") and not kind.statuses:
        raise _not_applicable(action, target_type)
    if action in ("lock", "unlock"):
        if not kind.lockable:
            raise _not_applicable(action, target_type)
        if kind.has_depth and target.depth != 0:
            raise Unprocessable(
                "Only a thread's first comment can be locked; lock the thread's root.",
                code=ErrorCode.NOT_A_THREAD_ROOT,
                errors=[field_error(["body", "target_id"], "a reply", ErrorCode.NOT_A_THREAD_ROOT)],
            )
    if action == "hide":
        if status == "hidden" and row.hidden_by == "moderator":
            raise Conflict("A moderator has already hidden this.", code=ErrorCode.ALREADY_HIDDEN)
        return Outcome(
            status="hidden",
            changes={
                # Confirming a hiding by reports keeps when it was hidden.
                "hidden_at": row.hidden_at if status == "hidden" and row.hidden_at else func.now(),
                "hidden_by": "moderator",
                "pending": False,
                "open": False,
            },
        )
    if action == "unhide":
        if status != "hidden":
            raise Conflict("This is not hidden.", code=ErrorCode.NOT_HIDDEN)
        return Outcome(
            status="visible",
            dismiss_reports=True,
            changes={"hidden_at": None, "hidden_by": None, "pending": False, "open": False},
        )
    if action == "approve":
        if status != "pending":
            raise Conflict("This is not awaiting approval.", code=ErrorCode.NOT_PENDING)
        return Outcome(status="visible", changes={"pending": False, "open": False})
    if action == "dismiss":
        if status == "hidden" and row.hidden_by == "reports":
            # Dismissing would leave it hidden, uncounted and out of every queue.
            raise Conflict(
                "The reports hid this content: `unhide` it to restore it, or `hide` it to "
                "confirm the hiding, instead of dismissing the reports.",
                code=ErrorCode.HIDDEN_BY_REPORTS,
            )
        if row.report_count == 0 and (not row.open or status == "pending"):
            raise Conflict("There are no reports to dismiss.", code=ErrorCode.NOTHING_TO_DISMISS)
        # Content awaiting approval stays in the queue.
        return Outcome(dismiss_reports=True, changes={"open": status == "pending"})
    if action == "lock":
        if row.locked_at is not None:
            raise Conflict("This discussion is already locked.", code=ErrorCode.ALREADY_LOCKED)
        return Outcome(changes={"locked_at": func.now()})
    # unlock
    if row.locked_at is None:
        raise Conflict("This discussion is not locked.", code=ErrorCode.NOT_LOCKED)
    return Outcome(changes={"locked_at": None})


async def _dismiss_reports(session: AsyncSession, moderation_id: uuid.UUID) -> int:
    dismissed = await session.exec(
        update(Report)
        .where(col(Report.moderation_id) == moderation_id, col(Report.dismissed_at).is_(None))
        .values(dismissed_at=func.now())
        .returning(col(Report.id))
    )
    return len(dismissed.all())


async def act(session: AsyncSession, actor: User, data: ModerationActionIn) -> ModerationItem:
    """Apply a moderator's action to a target (see the module docstring)."""
    target_type, target_id, action = data.target_type, data.target_id, data.action
    target = await _moderated_target(session, actor, target_type, target_id, data.organization)
    row = await _locked_row(session, target_type, target_id, target)
    # Read under the row's lock: what reports or another moderator may just have done.
    status = await content_status(session, target_type, target_id)
    outcome = _decide(action, target_type, target, row, status)
    if outcome.status is not None and outcome.status != status:
        await set_content_status(session, target_type, target_id, outcome.status)
    changes = dict(outcome.changes or {})
    audit: dict[str, Any] = {"table_id": str(target.table_id) if target.table_id else None}
    if outcome.status is not None:
        audit |= {"status": outcome.status, "previous_status": status}
    if outcome.dismiss_reports:
        audit["dismissed_reports"] = await _dismiss_reports(session, row.id)
        changes["report_count"] = 0
    if action in ("lock", "unlock"):
        audit["locked"] = action == "lock"
    still_open = changes.get("open", row.open)
    if row.open and still_open:
        # An item that stays in the queue keeps its place there.
        changes["updated_at"] = col(Moderation.updated_at)
    changes |= {"reviewed_at": func.now(), "reviewed_by_id": actor.id}
    result = await session.exec(
        update(Moderation)
        .where(col(Moderation.id) == row.id)
        .values(**changes)
        .returning(Moderation),
        execution_options={"populate_existing": True},
    )
    updated: Moderation = result.scalar_one()
    record_audit(
        session,
        ACTION_EVENTS[action],
        organization_id=updated.organization_id,
        actor_id=actor.id,
        target_type=target_type,
        target_id=target_id,
        reason=data.reason,
        data=audit,
    )
    await session.flush()
    return (await moderation_items(session, [updated]))[0]
