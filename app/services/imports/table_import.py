"""The `tables` section of `consulta.plan/v1` documents: participation tables and their
meetings, imported with the plan (`app/services/imports/plan_import.py` calls `TablesSection`).

Idempotent: a table is found again by (organization, slug), a meeting by its title in
the organization's default locale and its start time, so importing the same document
twice changes nothing. Tables and meetings that the document does not mention are left
alone (facilitators add meetings through the API); fields the document does not carry
(visibility, policies, eligibility, capacity…) keep their values.
"""

import uuid
from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.error_codes import ErrorCode
from app.errors import Unprocessable
from app.event_types import EventType
from app.events import record_event
from app.models.meetings import Meeting, MeetingPlanNode
from app.models.organizations import Municipality, Organization
from app.models.plans import Plan, PlanNode
from app.models.tables import ParticipationTable
from app.services.imports.plan_validation import Fault, Path
from app.services.imports.table_checks import (
    aware,
    check_tables,
    check_tables_against_stored,
    title_key,
)
from app.services.meetings.meetings import set_meeting_nodes

MEETING_FIELDS = (
    "kind",
    "format",
    "ends_at",
    "location_name",
    "location_address",
    "location_municipality_id",
)


# --- checks before anything is written ------------------------------------------------


# --- writing --------------------------------------------------------------------------


def _invalid(path: Path, msg: str, code: ErrorCode) -> Unprocessable:
    return Unprocessable(
        f"The plan document has 1 error; nothing was imported ({msg}).",
        code=ErrorCode.INVALID_PLAN_DOCUMENT,
        errors=[Fault(path, msg, code).as_error()],
    )


async def _upsert_table(
    session: AsyncSession,
    actor_id: uuid.UUID | None,
    org: Organization,
    plan: Plan,
    spec: dict[str, Any],
    where: Path,
) -> tuple[ParticipationTable, str | None]:
    """The table and what happened to it: "created", "updated" or None."""
    table = (
        await session.exec(
            select(ParticipationTable)
            .where(
                col(ParticipationTable.organization_id) == org.id,
                col(ParticipationTable.slug) == spec["slug"],
            )
            .with_for_update(key_share=True)
        )
    ).one_or_none()
    values: dict[str, Any] = {
        "name": dict(spec["name"]),
        "description": dict(spec.get("description") or {}),
    }
    if table is None:
        table = ParticipationTable(
            organization_id=org.id,
            slug=spec["slug"],
            plan_id=plan.id,
            created_by_id=actor_id,
            **values,
        )
        session.add(table)
        await session.flush()
        outcome = "created"
        payload: dict[str, Any] = {"slug": table.slug, "source": "import"}
    else:
        if table.plan_id not in (None, plan.id):
            raise _invalid(
                (*where, "slug"),
                f"table '{table.slug}' works on another plan",
                ErrorCode.TABLE_ON_OTHER_PLAN,
            )
        if table.plan_id is None:
            values["plan_id"] = plan.id
        changed = sorted(f for f, v in values.items() if getattr(table, f) != v)
        if not changed:
            return table, None
        for field in changed:
            setattr(table, field, values[field])
        table.version += 1
        outcome, payload = "updated", {"fields": changed, "source": "import"}
    record_event(
        session,
        EventType.TABLE_CREATED if outcome == "created" else EventType.TABLE_UPDATED,
        subject_type="table",
        subject_id=table.id,
        actor_id=actor_id,
        organization_id=org.id,
        payload=payload,
    )
    return table, outcome


def _meeting_values(
    spec: dict[str, Any], org: Organization, municipalities: dict[str, uuid.UUID], where: Path
) -> dict[str, Any]:
    """The imported fields of a meeting but its title and start (its key)."""
    location = spec.get("location") or {}
    municipality_id = None
    if location.get("municipality"):
        municipality_id = municipalities.get(location["municipality"])
        if municipality_id is None:
            raise _invalid(
                (*where, "location", "municipality"),
                f"'{location['municipality']}' is not a municipality of {org.name}",
                ErrorCode.UNKNOWN_MUNICIPALITY,
            )
    return {
        "kind": spec.get("kind", "plenary"),
        "format": spec.get("format", "in_person"),
        "ends_at": aware(spec["ends_at"]),
        "location_name": location.get("name") or None,
        "location_address": location.get("address") or None,
        "location_municipality_id": municipality_id,
    }


async def _update_meeting(
    session: AsyncSession, meeting: Meeting, values: dict[str, Any], node_ids: list[uuid.UUID]
) -> list[str]:
    """Apply the document to a stored meeting: the names of the fields that changed."""
    linked = sorted(
        (
            await session.exec(
                select(MeetingPlanNode.node_id).where(col(MeetingPlanNode.meeting_id) == meeting.id)
            )
        ).all()
    )
    changed = sorted(f for f, v in values.items() if getattr(meeting, f) != v)
    if linked != node_ids:
        await set_meeting_nodes(session, meeting.id, node_ids)
        changed.append("node_ids")
    if not changed:
        return []
    for field in set(changed) - {"node_ids"}:
        setattr(meeting, field, values[field])
    meeting.version += 1
    return changed


async def _upsert_meeting(
    session: AsyncSession,
    actor_id: uuid.UUID | None,
    org: Organization,
    table: ParticipationTable,
    spec: dict[str, Any],
    existing: dict[tuple[str, datetime], Meeting],
    lookups: tuple[dict[str, uuid.UUID], dict[str, uuid.UUID]],
    where: Path,
) -> str | None:
    municipalities, nodes = lookups
    values = _meeting_values(spec, org, municipalities, where)
    starts_at = aware(spec["starts_at"])
    assert starts_at is not None  # checked before writing
    node_ids = sorted({nodes[code] for code in spec.get("linked_nodes", [])})
    meeting = existing.get(title_key(spec["title"], starts_at, org.default_locale))
    if meeting is None:
        meeting = Meeting(
            table_id=table.id,
            organization_id=org.id,
            title=dict(spec["title"]),
            starts_at=starts_at,
            created_by_id=actor_id,
            **values,
        )
        session.add(meeting)
        await session.flush()
        await set_meeting_nodes(session, meeting.id, node_ids)
        outcome = "created"
        payload: dict[str, Any] = {"table_id": str(table.id), "source": "import"}
    else:
        changed = await _update_meeting(
            session, meeting, {**values, "title": dict(spec["title"])}, node_ids
        )
        if not changed:
            return None
        outcome = "updated"
        payload = {"table_id": str(table.id), "fields": changed, "source": "import"}
    record_event(
        session,
        EventType.MEETING_CREATED if outcome == "created" else EventType.MEETING_UPDATED,
        subject_type="meeting",
        subject_id=meeting.id,
        actor_id=actor_id,
        organization_id=org.id,
        payload=payload,
    )
    return outcome


async def import_tables_section(
    session: AsyncSession,
    actor_id: uuid.UUID | None,
    organization: Organization,
    plan: Plan,
    tables: list[dict[str, Any]],
) -> dict[str, Any]:
    """Create or update the tables and meetings of a checked `tables` section, once the
    plan's nodes are in place. Returns the section's import report."""
    municipalities = dict(
        (
            await session.exec(
                select(Municipality.name, Municipality.id).where(
                    col(Municipality.organization_id) == organization.id
                )
            )
        ).all()
    )
    nodes = dict(
        (
            await session.exec(
                select(PlanNode.code, PlanNode.id).where(
                    col(PlanNode.plan_id) == plan.id, col(PlanNode.archived_at).is_(None)
                )
            )
        ).all()
    )
    report: dict[str, Any] = {
        "changed": False,
        "tables": {"created": [], "updated": [], "unchanged": []},
        "meetings": {"created": 0, "updated": 0, "unchanged": 0},
    }
    for i, spec in enumerate(tables):
        table, outcome = await _upsert_table(
            session, actor_id, organization, plan, spec, ("tables", i)
        )
        report["tables"][outcome or "unchanged"].append(table.slug)
        existing = {
            title_key(m.title, m.starts_at, organization.default_locale): m
            for m in (
                await session.exec(select(Meeting).where(col(Meeting.table_id) == table.id))
            ).all()
        }
        for j, meeting in enumerate(spec.get("meetings", [])):
            done = await _upsert_meeting(
                session,
                actor_id,
                organization,
                table,
                meeting,
                existing,
                (municipalities, nodes),
                ("tables", i, "meetings", j),
            )
            report["meetings"][done or "unchanged"] += 1
    report["changed"] = bool(
        report["tables"]["created"]
        or report["tables"]["updated"]
        or report["meetings"]["created"]
        or report["meetings"]["updated"]
    )
    await session.flush()
    return report


class TablesSection:
    """The `tables` section, as `plan_import.SECTIONS` expects it."""

    key = "tables"

    def check(self, document: dict[str, Any], default_locale: str) -> list[Fault]:
        return check_tables(document, default_locale)

    async def check_stored(
        self, session: AsyncSession, org: Organization | None, document: dict[str, Any]
    ) -> list[Fault]:
        return await check_tables_against_stored(session, org, document)

    async def apply(
        self, session: AsyncSession, actor_id: uuid.UUID | None, plan: Plan, section: Any
    ) -> dict[str, Any]:
        organization = await session.get(Organization, plan.organization_id)
        assert organization is not None
        return await import_tables_section(session, actor_id, organization, plan, section)
