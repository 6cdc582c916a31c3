"""Checks of the `tables` section of a plan document, before anything is written: within
the document, and against what is already stored.
"""

import re
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ARRAY, String, any_, bindparam
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.error_codes import ErrorCode
from app.models.base import TextMap
from app.models.organizations import SLUG_PATTERN, Municipality, Organization
from app.models.plans import Plan
from app.models.tables import ParticipationTable
from app.services.imports.plan_validation import Fault, Path


def aware(value: Any) -> datetime | None:
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


def title_key(title: TextMap, starts_at: datetime, locale: str) -> tuple[str, datetime]:
    return (title.get(locale, ""), starts_at)


def _text_faults(value: Any, path: Path, locale: str) -> list[Fault]:
    if isinstance(value, dict) and value and locale not in value:
        return [
            Fault(
                path,
                f"needs a text in '{locale}', the organization's default locale",
                ErrorCode.MISSING_DEFAULT_LOCALE,
            )
        ]
    return []


def _slug_faults(slug: Any, where: Path, slugs: set[str]) -> list[Fault]:
    if not isinstance(slug, str):
        return []
    faults: list[Fault] = []
    if not re.fullmatch(SLUG_PATTERN, slug):
        faults.append(
            Fault(
                (*where, "slug"),
                "must be lower-case letters, digits and hyphens (2 to 63)",
                ErrorCode.INVALID_SLUG,
            )
        )
    elif slug in slugs:
        faults.append(
            Fault((*where, "slug"), f"duplicate table '{slug}'", ErrorCode.DUPLICATE_SLUG)
        )
    slugs.add(slug)
    return faults


def _meeting_faults(
    meeting: dict[str, Any],
    at: Path,
    locale: str,
    codes: set[str],
    seen: set[tuple[str, datetime]],
) -> list[Fault]:
    faults = _text_faults(meeting.get("title"), (*at, "title"), locale)
    starts, ends = aware(meeting.get("starts_at")), aware(meeting.get("ends_at"))
    for field, value in (("starts_at", starts), ("ends_at", ends)):
        if value is None and field in meeting:
            faults.append(
                Fault(
                    (*at, field),
                    "must be a date-time with an offset, e.g. 2022-04-28T16:00:00+02:00",
                    ErrorCode.INVALID_DATETIME,
                )
            )
    if starts is not None and ends is not None and ends <= starts:
        faults.append(
            Fault(
                (*at, "ends_at"), "the meeting ends before it starts", ErrorCode.ENDS_BEFORE_START
            )
        )
    title = meeting.get("title")
    if starts is not None and isinstance(title, dict):
        key = title_key(title, starts, locale)
        if key in seen:
            faults.append(
                Fault(at, "the same meeting (title and start) twice", ErrorCode.DUPLICATE_MEETING)
            )
        seen.add(key)
    linked = meeting.get("linked_nodes")
    for k, code in enumerate(linked if isinstance(linked, list) else []):
        if isinstance(code, str) and code not in codes:
            faults.append(
                Fault(
                    (*at, "linked_nodes", k),
                    f"no node with code '{code}' in this plan",
                    ErrorCode.UNKNOWN_NODE,
                )
            )
    return faults


def check_tables(document: dict[str, Any], locale: str) -> list[Fault]:
    """What the JSON Schema cannot say: slugs, default-locale texts, times with an
    offset that end after they start, node codes of the document's plan."""
    tables = document.get("tables")
    if not isinstance(tables, list):
        return []
    plan = document.get("plan")
    codes = _node_codes(plan.get("nodes") if isinstance(plan, dict) else None)
    faults: list[Fault] = []
    slugs: set[str] = set()
    for i, table in enumerate(tables):
        if not isinstance(table, dict):
            continue
        where: Path = ("tables", i)
        faults += _slug_faults(table.get("slug"), where, slugs)
        faults += _text_faults(table.get("name"), (*where, "name"), locale)
        faults += _text_faults(table.get("description"), (*where, "description"), locale)
        meetings = table.get("meetings")
        seen: set[tuple[str, datetime]] = set()
        for j, meeting in enumerate(meetings if isinstance(meetings, list) else []):
            if isinstance(meeting, dict):
                faults += _meeting_faults(meeting, (*where, "meetings", j), locale, codes, seen)
    return faults


async def _stored(
    session: AsyncSession, org: Organization, tables: list[Any], plan_slug: Any
) -> tuple[set[str], dict[str, uuid.UUID | None], uuid.UUID | None]:
    """The organization's municipalities, the stored plan of each table the document
    names (by slug) and the id of the document's plan, if stored."""
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
    return towns, stored_plans, plan_id


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
        towns, stored_plans, plan_id = await _stored(session, org, tables, plan_slug)
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
                    ErrorCode.TABLE_ON_OTHER_PLAN,
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
                        ErrorCode.UNKNOWN_MUNICIPALITY,
                    )
                )
    return faults
