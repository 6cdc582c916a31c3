"""Import of `consulta.plan/v1` documents (`POST /v1/plans/import`, `consulta import-plan`).

Atomic: the whole document is checked first (`app/services/imports/plan_validation.py`) and
nothing is written unless every check passes. The plan is found again by (organization,
plan slug), its nodes by code, so re-importing the same document changes nothing and
an edited one updates the plan in place: new nodes are added, changed ones updated,
moved ones moved, missing ones archived (never deleted: proposals, tables and meetings
may link to them) and archived ones that come back restored.

An organization admin imports into their own organization. A document naming an
organization that does not exist yet may be imported by a platform admin (or the CLI),
which creates the organization and its municipalities from it; anyone else gets a 404,
as for an organization they do not administer.
"""

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Protocol

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.error_codes import ErrorCode
from app.errors import Conflict, NotFound, Unprocessable
from app.event_types import EventType
from app.events import record_event
from app.models.accounts import User
from app.models.integrations import ClientActor
from app.models.organizations import SLUG_PATTERN, Organization
from app.models.plan_import import ImportReport, NodeChanges
from app.models.plans import POSITION_WIDTH, Plan, PlanNode
from app.services.access.orgs import ADMINISTERED_ORG_NOT_FOUND, is_org_admin_clause
from app.services.audit.write import record_audit
from app.services.imports.plan_validation import Fault, check_document, declared_locale
from app.services.imports.table_import import TablesSection
from app.services.organizations.organizations import add_municipalities
from app.services.plans.plans import replace_phases

MAX_REPORTED_ERRORS = 1_000
NODE_FIELDS = ("kind", "title", "summary", "description", "expected_results")


@dataclass(frozen=True)
class SystemActor:
    """The CLI and the demo seeding: platform-admin rights; their events have no actor."""


SYSTEM = SystemActor()
# A service client (plans:write) imports into its own organization only.
Importer = User | SystemActor | ClientActor


class SectionImporter(Protocol):
    """A further top-level section of the document (beyond `organization` and `plan`)."""

    key: str

    def check(self, document: dict[str, Any], default_locale: str) -> list[Fault]:
        """Faults of the section, reported with the plan's (nothing is written yet)."""
        ...

    async def check_stored(
        self, session: AsyncSession, org: Organization | None, document: dict[str, Any]
    ) -> list[Fault]:
        """Faults only the stored data shows (also before anything is written)."""
        ...

    async def apply(
        self, session: AsyncSession, actor_id: uuid.UUID | None, plan: Plan, section: Any
    ) -> dict[str, Any]:
        """Write the section once the plan and its nodes are in place; returns its
        report (with `"changed": bool`)."""
        ...


# Further sections: `tables` (participation tables and their meetings, whose
# `linked_nodes` name node codes of this plan).
SECTIONS: tuple[SectionImporter, ...] = (TablesSection(),)


# --- reading the document -------------------------------------------------------------


@dataclass(frozen=True)
class DocNode:
    code: str
    parent_code: str | None
    position: int
    depth: int
    sort_path: str
    values: dict[str, Any]  # NODE_FIELDS


def _text(value: Any) -> dict[str, str]:
    return {k: v.strip() for k, v in value.items()} if isinstance(value, dict) else {}


def _date(value: Any) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else None


def flatten(nodes: Sequence[dict[str, Any]], parent: DocNode | None = None) -> list[DocNode]:
    """The document's nodes depth first, with parent code, position, depth and sort path."""
    out: list[DocNode] = []
    for position, node in enumerate(nodes):
        path = f"{position:0{POSITION_WIDTH}d}"
        doc = DocNode(
            code=node["code"],
            parent_code=parent.code if parent else None,
            position=position,
            depth=parent.depth + 1 if parent else 0,
            sort_path=f"{parent.sort_path}.{path}" if parent else path,
            values={
                "kind": node["kind"].strip(),
                "title": _text(node.get("title")),
                "summary": _text(node.get("summary")),
                "description": _text(node.get("description")),
                "expected_results": [_text(r) for r in node.get("expected_results", [])],
            },
        )
        out.append(doc)
        out.extend(flatten(node.get("children", []), doc))
    return out


def _plan_values(spec: dict[str, Any]) -> dict[str, Any]:
    period = spec.get("period") or {}
    return {
        "title": _text(spec.get("title")),
        "summary": _text(spec.get("summary")),
        "status": spec["status"],
        "approved_on": _date(spec.get("approved_on")),
        "period_start": _date(period.get("start")),
        "period_end": _date(period.get("end")),
        "levels": [level.strip() for level in spec.get("levels", [])],
    }


# --- who may import where -------------------------------------------------------------


def _has_platform_rights(actor: Importer) -> bool:
    return isinstance(actor, SystemActor) or (isinstance(actor, User) and actor.is_platform_admin)


async def _organization(
    session: AsyncSession, actor: Importer, document: Any
) -> Organization | None:
    """The organization the document names, locked for the import (imports into one
    organization run one at a time). None when it does not exist and the actor may
    create it; 404 when the actor may not import there."""
    spec = document.get("organization") if isinstance(document, dict) else None
    slug = spec.get("slug") if isinstance(spec, dict) else None
    if not isinstance(slug, str) or not re.fullmatch(SLUG_PATTERN, slug):
        return None  # the checks report it
    stmt = select(Organization).where(col(Organization.slug) == slug)
    if isinstance(actor, User | ClientActor):
        stmt = stmt.where(is_org_admin_clause(actor, Organization.id))
    org = (await session.exec(stmt.with_for_update(key_share=True))).one_or_none()
    if org is None and not _has_platform_rights(actor):
        raise NotFound(ADMINISTERED_ORG_NOT_FOUND)
    return org


async def _create_organization(
    session: AsyncSession, actor_id: uuid.UUID | None, spec: dict[str, Any]
) -> Organization:
    org = Organization(
        slug=spec["slug"],
        name=spec["name"].strip(),
        default_locale=spec.get("default_locale", "it"),
    )
    try:
        async with session.begin_nested():
            session.add(org)
            await session.flush()
    except IntegrityError as exc:
        raise Conflict(
            "The organization was created meanwhile; import the document again.",
            code=ErrorCode.ORGANIZATION_EXISTS,
        ) from exc
    added = await add_municipalities(session, org, spec.get("municipalities", []))
    record_audit(
        session,
        EventType.ORGANIZATION_CREATED,
        organization_id=org.id,
        actor_id=actor_id,
        target_type="organization",
        target_id=org.id,
        data={
            "slug": org.slug,
            "source": "plan_import",
            "municipality_ids": [str(m.id) for m in added],
        },
    )
    return org


# --- writing --------------------------------------------------------------------------


async def _upsert_plan(
    session: AsyncSession, org: Organization, spec: dict[str, Any]
) -> tuple[Plan, bool, list[str]]:
    values = _plan_values(spec)
    plan = (
        await session.exec(
            select(Plan)
            .where(col(Plan.organization_id) == org.id, col(Plan.slug) == spec["slug"])
            .with_for_update()
        )
    ).one_or_none()
    if plan is None:
        plan = Plan(organization_id=org.id, slug=spec["slug"], **values)
        session.add(plan)
        await session.flush()
        return plan, True, []
    changed = [field for field, value in values.items() if getattr(plan, field) != value]
    for field in changed:
        setattr(plan, field, values[field])
    return plan, False, changed


def _node_event(
    session: AsyncSession,
    type: EventType,
    node: PlanNode,
    actor_id: uuid.UUID | None,
    **payload: Any,
) -> None:
    record_event(
        session,
        type,
        subject_type="plan_node",
        subject_id=node.id,
        actor_id=actor_id,
        organization_id=node.organization_id,
        payload={"plan_id": str(node.plan_id), "code": node.code, "source": "import", **payload},
    )


async def _sync_nodes(
    session: AsyncSession, plan: Plan, doc_nodes: Sequence[DocNode], actor_id: uuid.UUID | None
) -> NodeChanges:
    existing = {
        n.code: n
        for n in (
            await session.exec(
                select(PlanNode).where(col(PlanNode.plan_id) == plan.id).with_for_update()
            )
        ).all()
    }
    ids = {d.code: existing[d.code].id if d.code in existing else uuid.uuid4() for d in doc_nodes}
    changes = NodeChanges()

    # New nodes first, in one flush (parents before children): moved nodes may go under them.
    new = [
        PlanNode(
            id=ids[d.code],
            plan_id=plan.id,
            organization_id=plan.organization_id,
            parent_id=ids[d.parent_code] if d.parent_code else None,
            code=d.code,
            position=d.position,
            depth=d.depth,
            sort_path=d.sort_path,
            **d.values,
        )
        for d in doc_nodes
        if d.code not in existing
    ]
    session.add_all(new)
    await session.flush()
    for added in new:
        _node_event(session, EventType.PLAN_NODE_CREATED, added, actor_id)
    changes.created = len(new)

    for d in doc_nodes:
        node = existing.get(d.code)
        if node is None:
            continue
        parent_id = ids[d.parent_code] if d.parent_code else None
        content = [f for f in NODE_FIELDS if getattr(node, f) != d.values[f]]
        moved = node.parent_id != parent_id or node.position != d.position
        restored = node.archived_at is not None
        deeper = node.depth != d.depth  # follows from an ancestor's move
        for field in content:
            setattr(node, field, d.values[field])
        node.parent_id, node.position = parent_id, d.position
        node.depth, node.sort_path = d.depth, d.sort_path
        node.archived_at = None
        if content or moved or restored or deeper:
            node.version += 1
        if restored:
            _node_event(session, EventType.PLAN_NODE_RESTORED, node, actor_id)
        fields = content + (["parent_id", "position"] if moved else [])
        if fields:
            _node_event(session, EventType.PLAN_NODE_UPDATED, node, actor_id, fields=fields)
        changes.updated += bool(content)
        changes.moved += moved
        changes.restored += restored
        changes.unchanged += not (content or moved or restored)

    now = datetime.now(UTC)
    in_document = set(ids)
    for gone in existing.values():
        if gone.code not in in_document and gone.archived_at is None:
            gone.archived_at = now
            gone.version += 1
            _node_event(session, EventType.PLAN_NODE_ARCHIVED, gone, actor_id)
            changes.archived += 1
    await session.flush()
    return changes


async def import_plan(session: AsyncSession, actor: Importer, document: Any) -> ImportReport:
    """Check the document, then create or update the plan; 422 with every fault (and
    nothing written) when the document is not clean."""
    org = await _organization(session, actor, document)
    locale = org.default_locale if org else declared_locale(document)
    faults = check_document(
        document, default_locale=locale, organization_locale=org.default_locale if org else None
    )
    if isinstance(document, dict):
        for section in SECTIONS:
            faults += section.check(document, locale)
            faults += await section.check_stored(session, org, document)
    if faults:
        shown = faults[:MAX_REPORTED_ERRORS]
        more = f" (the first {len(shown)} are listed)" if len(shown) < len(faults) else ""
        raise Unprocessable(
            f"The plan document has {len(faults)} error{'s' if len(faults) != 1 else ''}"
            f"{more}; nothing was imported.",
            code=ErrorCode.INVALID_PLAN_DOCUMENT,
            errors=[f.as_error() for f in shown],
        )

    actor_id = actor.id if isinstance(actor, User) else None
    organization_created = org is None
    if org is None:
        org = await _create_organization(session, actor_id, document["organization"])
    spec = document["plan"]
    plan, created, plan_fields = await _upsert_plan(session, org, spec)
    phases = [
        (_text(p["name"]), date.fromisoformat(p["starts_on"]), date.fromisoformat(p["ends_on"]))
        for p in spec.get("phases", [])
    ]
    phases_changed = await replace_phases(session, plan, phases)
    nodes = await _sync_nodes(session, plan, flatten(spec["nodes"]), actor_id)
    sections = {
        s.key: await s.apply(session, actor_id, plan, document[s.key])
        for s in SECTIONS
        if s.key in document
    }
    changed = (
        created
        or bool(plan_fields)
        or phases_changed
        or any((nodes.created, nodes.updated, nodes.moved, nodes.archived, nodes.restored))
        or any(bool(r.get("changed")) for r in sections.values())
    )
    if changed:
        if not created:
            plan.version += 1
        record_audit(
            session,
            EventType.PLAN_IMPORTED,
            organization_id=org.id,
            actor_id=actor_id,
            actor_client_id=actor.client_id if isinstance(actor, ClientActor) else None,
            target_type="plan",
            target_id=plan.id,
            data={
                "created": created,
                "fields": plan_fields,
                "phases_changed": phases_changed,
                "nodes": nodes.model_dump(),
                "version": plan.version,
            },
        )
        await session.flush()
    return ImportReport(
        plan_id=plan.id,
        organization_id=org.id,
        created=created,
        organization_created=organization_created,
        changed=changed,
        plan_fields=plan_fields,
        phases_changed=phases_changed,
        nodes=nodes,
        sections=sections,
    )
