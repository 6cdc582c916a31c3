"""The `tables` section of `consulta.plan/v1` documents: participation tables and their
meetings, imported with the plan (`app/services/plan_import.py` calls `TablesSection`).

Idempotent: a table is found again by (organization, slug), a meeting by its title in
the organization's default locale and its start time, so importing the same document
twice changes nothing. Tables and meetings that the document does not mention are left
alone (facilitators add meetings through the API); fields the document does not carry
(visibility, policies, eligibility, capacity…) keep their values.
"""

import re
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ARRAY, String, any_, bindparam
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.errors import Unprocessable
from app.events import record_event
from app.models.base import TextMap
from app.models.meetings import Meeting, MeetingPlanNode
from app.models.organizations import SLUG_PATTERN, Municipality, Organization
from app.models.plans import Plan, PlanNode
from app.models.tables import ParticipationTable
from app.services.meetings import set_meeting_nodes
from app.services.plan_validation import Fault, Path

MEETING_FIELDS = (
    "kind",
    "format",
    "ends_at",
    "location_name",
    "location_address",
    "location_municipality_id",
)


def _aware(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is not None:
            parsed.astimezone(UTC)  # no instant before year 1 or after 9999 in UTC
    except (ValueError, OverflowError):
        return None
    return parsed if parsed.tzinfo is not None else None


def _node_codes(nodes: Any) -> set[str]:
    codes: set[str] = set()
    for node in nodes if isinstance(nodes, list) else []:
        if isinstance(node, dict):
            if isinstance(node.get("code"), str):
                codes.add(node["code"])
            codes |= _node_codes(node.get("children"))
    return codes


def _title_key(title: TextMap, starts_at: datetime, locale: str) -> tuple[str, datetime]:
    return (title.get(locale, ""), starts_at)


# --- checks before anything is written ------------------------------------------------


def check_tables(document: dict[str, Any], locale: str) -> list[Fault]:
    """What the JSON Schema cannot say: slugs, default-locale texts, times with an
    offset that end after they start, node codes of the document's plan."""
    tables = document.get("tables")
    if not isinstance(tables, list):
        return []
    plan = document.get("plan")
    codes = _node_codes(plan.get("nodes") if isinstance(plan, dict) else None)
    faults: list[Fault] = []

    def text(value: Any, path: Path) -> None:
        if isinstance(value, dict) and value and locale not in value:
            faults.append(
                Fault(
                    path,
                    f"needs a text in '{locale}', the organization's default locale",
                    "missing_default_locale",
                )
            )

    slugs: set[str] = set()
    for i, table in enumerate(tables):
        if not isinstance(table, dict):
            continue
        where: Path = ("tables", i)
        slug = table.get("slug")
        if isinstance(slug, str):
            if not re.fullmatch(SLUG_PATTERN, slug):
                faults.append(
                    Fault(
                        (*where, "slug"),
                        "must be lower-case letters, digits and hyphens (2 to 63)",
                        "invalid_slug",
                    )
                )
            elif slug in slugs:
                faults.append(
                    Fault((*where, "slug"), f"duplicate table '{slug}'", "duplicate_slug")
                )
            slugs.add(slug)
        text(table.get("name"), (*where, "name"))
        text(table.get("description"), (*where, "description"))
        meetings = table.get("meetings")
        seen: set[tuple[str, datetime]] = set()
        for j, meeting in enumerate(meetings if isinstance(meetings, list) else []):
            if not isinstance(meeting, dict):
                continue
            at: Path = (*where, "meetings", j)
            text(meeting.get("title"), (*at, "title"))
            starts, ends = _aware(meeting.get("starts_at")), _aware(meeting.get("ends_at"))
            for field, value in (("starts_at", starts), ("ends_at", ends)):
                if value is None and field in meeting:
                    faults.append(
                        Fault(
                            (*at, field),
                            "must be a date-time with an offset, e.g. 2022-04-28T16:00:00+02:00",
                            "invalid_datetime",
                        )
                    )
            if starts is not None and ends is not None and ends <= starts:
                faults.append(
                    Fault(
                        (*at, "ends_at"), "the meeting ends before it starts", "ends_before_start"
                    )
                )
            title = meeting.get("title")
            if starts is not None and isinstance(title, dict):
                key = _title_key(title, starts, locale)
                if key in seen:
                    faults.append(
                        Fault(at, "the same meeting (title and start) twice", "duplicate_meeting")
                    )
                seen.add(key)
            linked = meeting.get("linked_nodes")
            for k, code in enumerate(linked if isinstance(linked, list) else []):
                if isinstance(code, str) and code not in codes:
                    faults.append(
                        Fault(
                            (*at, "linked_nodes", k),
                            f"no node with code '{code}' in this plan",
                            "unknown_node",
                        )
                    )
    return faults


async def check_tables_against_stored(
    session: AsyncSession, org: Organization | None, document: dict[str, Any]
) -> list[Fault]:
    """What only the database can say, found before anything is written so that these
    faults are reported together with all the others: meeting places that are not
    municipalities of the organization, and tables (by slug) that work on another plan.
    An organization the document creates has just the municipalities it lists."""
    tables = document.get("tables")
    if not isinstance(tables, list):
        return []
    plan, organization = document.get("plan"), document.get("organization")
    plan_slug = plan.get("slug") if isinstance(plan, dict) else None
    if org is None:
        listed = organization.get("municipalities") if isinstance(organization, dict) else None
        towns = {t for t in listed if isinstance(t, str)} if isinstance(listed, list) else set()
        stored_plans: dict[str, uuid.UUID | None] = {}
        plan_id = None
    else:
        towns = set(
            (
                await session.exec(
                    select(Municipality.name).where(col(Municipality.organization_id) == org.id)
                )
            ).all()
        )
        # Only well-formed slugs reach the database (the others are faults already), as
        # one array parameter however many tables the document lists.
        slugs = sorted(
            {
                t["slug"]
                for t in tables
                if isinstance(t, dict)
                and isinstance(t.get("slug"), str)
                and re.fullmatch(SLUG_PATTERN, t["slug"])
            }
        )
        stored_plans = dict(
            (
                await session.exec(
                    select(ParticipationTable.slug, ParticipationTable.plan_id).where(
                        col(ParticipationTable.organization_id) == org.id,
                        col(ParticipationTable.slug)
                        == any_(bindparam("slugs", slugs, type_=ARRAY(String))),
                    )
                )
            ).all()
        )
        plan_id = (
            (
                await session.exec(
                    select(Plan.id).where(
                        col(Plan.organization_id) == org.id, col(Plan.slug) == plan_slug
                    )
                )
            ).one_or_none()
            if isinstance(plan_slug, str) and re.fullmatch(SLUG_PATTERN, plan_slug)
            else None
        )
    faults: list[Fault] = []
    for i, table in enumerate(tables):
        if not isinstance(table, dict):
            continue
        slug = table.get("slug")
        if isinstance(slug, str) and stored_plans.get(slug) not in (None, plan_id):
            faults.append(
                Fault(
                    ("tables", i, "slug"),
                    f"table '{slug}' works on another plan",
                    "table_on_other_plan",
                )
            )
        meetings = table.get("meetings")
        for j, meeting in enumerate(meetings if isinstance(meetings, list) else []):
            location = meeting.get("location") if isinstance(meeting, dict) else None
            town = location.get("municipality") if isinstance(location, dict) else None
            if isinstance(town, str) and town and town not in towns:
                name = org.name if org else "the organization"
                faults.append(
                    Fault(
                        ("tables", i, "meetings", j, "location", "municipality"),
                        f"'{town}' is not a municipality of {name}",
                        "unknown_municipality",
                    )
                )
    return faults


# --- writing --------------------------------------------------------------------------


def _invalid(path: Path, msg: str, code: str) -> Unprocessable:
    return Unprocessable(
        f"The plan document has 1 error; nothing was imported ({msg}).",
        code="invalid_plan_document",
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
                "table_on_other_plan",
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
        f"table.{outcome}",
        subject_type="table",
        subject_id=table.id,
        actor_id=actor_id,
        organization_id=org.id,
        payload=payload,
    )
    return table, outcome


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
    location = spec.get("location") or {}
    municipality_id = None
    if location.get("municipality"):
        municipality_id = municipalities.get(location["municipality"])
        if municipality_id is None:
            raise _invalid(
                (*where, "location", "municipality"),
                f"'{location['municipality']}' is not a municipality of {org.name}",
                "unknown_municipality",
            )
    starts_at = _aware(spec["starts_at"])
    assert starts_at is not None  # checked before writing
    values: dict[str, Any] = {
        "kind": spec.get("kind", "plenary"),
        "format": spec.get("format", "in_person"),
        "ends_at": _aware(spec["ends_at"]),
        "location_name": location.get("name") or None,
        "location_address": location.get("address") or None,
        "location_municipality_id": municipality_id,
    }
    node_ids = sorted({nodes[code] for code in spec.get("linked_nodes", [])})
    meeting = existing.get(_title_key(spec["title"], starts_at, org.default_locale))
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
        linked = sorted(
            (
                await session.exec(
                    select(MeetingPlanNode.node_id).where(
                        col(MeetingPlanNode.meeting_id) == meeting.id
                    )
                )
            ).all()
        )
        values["title"] = dict(spec["title"])
        changed = sorted(f for f, v in values.items() if getattr(meeting, f) != v)
        if linked != node_ids:
            await set_meeting_nodes(session, meeting.id, node_ids)
            changed.append("node_ids")
        if not changed:
            return None
        for field in set(changed) - {"node_ids"}:
            setattr(meeting, field, values[field])
        meeting.version += 1
        outcome, payload = (
            "updated",
            {"table_id": str(table.id), "fields": changed, "source": "import"},
        )
    record_event(
        session,
        f"meeting.{outcome}",
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
            _title_key(m.title, m.starts_at, organization.default_locale): m
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
