"""Demo data for local runs: the three metropolitan cities of the bundled plan documents
and a few accounts to try the API with. Idempotent: running it again adds nothing."""

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib import resources
from typing import Any, Literal

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.demo.budgets import seed_demo_budgets
from app.demo.comments import seed_comments_and_polls
from app.demo.conversations import seed_demo_conversation
from app.demo.integrations import seed_demo_client
from app.demo.listening import seed_demo_listening
from app.demo.live import seed_demo_live
from app.demo.minutes import seed_demo_minutes
from app.demo.moderation import seed_demo_moderation
from app.demo.proposals import seed_demo_proposals
from app.demo.sortition import seed_demo_sortition
from app.event_types import EventType
from app.events import record_event
from app.models.accounts import User
from app.models.monitoring import IndicatorCreate, MeasurementCreate
from app.models.organizations import Organization, OrganizationRole
from app.models.plans import Indicator, Plan, PlanNode
from app.models.tables import ParticipationTable
from app.security import hash_password
from app.services.accounts.people import find_user_by_email
from app.services.imports.plan_import import SYSTEM, import_plan
from app.services.organizations.organizations import add_municipalities
from app.services.plans.monitoring import create_indicator, record_measurement

DEMO_PLANS = ("bari.json", "milano.json", "torino.json")
DEMO_PASSWORD = "consulta-demo-2026"
DEMO_ACCOUNTS: tuple[tuple[str, str, str | None], ...] = (
    # email, display name, organization administered (None: platform admin)
    ("admin@consulta.demo", "Amministrazione piattaforma", None),
    ("admin.bari@consulta.demo", "Ufficio Piano Strategico Bari", "cm-bari"),
    ("admin.milano@consulta.demo", "Ufficio Piano Strategico Milano", "cm-milano"),
    ("admin.torino@consulta.demo", "Ufficio Piano Strategico Torino", "cm-torino"),
    ("giulia@consulta.demo", "Giulia R.", None),
)
DEMO_SOURCE = "Valori dimostrativi (demo), non dati ufficiali"


@dataclass(frozen=True)
class DemoIndicator:
    org: str
    plan: str
    node: str
    name: str
    unit: str
    direction: Literal["increase", "decrease"]
    baseline: tuple[date, float]
    target: tuple[date, float]
    measurements: tuple[tuple[date, float], ...] = ()
    weight: float | None = None


# Illustrative figures, so that the progress report has something to show.
DEMO_INDICATORS: tuple[DemoIndicator, ...] = (
    DemoIndicator(
        "cm-bari",
        "psm-bari",
        "2.1",
        "Emissioni di CO₂ dei trasporti",
        "kt CO₂/anno",
        "decrease",
        (date(2019, 12, 31), 1450.0),
        (date(2030, 12, 31), 1100.0),
        ((date(2022, 12, 31), 1380.0), (date(2024, 12, 31), 1290.0)),
    ),
    DemoIndicator(
        "cm-bari",
        "psm-bari",
        "2.3",
        "Rete ciclabile metropolitana (Biciplan)",
        "km",
        "increase",
        (date(2020, 12, 31), 120.0),
        (date(2030, 12, 31), 400.0),
        ((date(2023, 12, 31), 185.0), (date(2025, 6, 30), 240.0)),
    ),
    DemoIndicator(
        "cm-bari",
        "psm-bari",
        "10.2",
        "Consumi energetici degli edifici pubblici",
        "GWh/anno",
        "decrease",
        (date(2021, 12, 31), 210.0),
        (date(2030, 12, 31), 160.0),
    ),
    DemoIndicator(
        "cm-milano",
        "psttm-2025-2027",
        "M2.8",
        "Emissioni di gas serra del territorio",
        "Mt CO₂e/anno",
        "decrease",
        (date(2019, 12, 31), 14.2),
        (date(2030, 12, 31), 10.0),
        ((date(2023, 12, 31), 12.9),),
        weight=2.0,
    ),
    DemoIndicator(
        "cm-milano",
        "psttm-2025-2027",
        "M2.4",
        "Raccolta differenziata",
        "%",
        "increase",
        (date(2022, 12, 31), 68.0),
        (date(2027, 12, 31), 80.0),
        ((date(2023, 12, 31), 70.1), (date(2024, 12, 31), 72.5)),
    ),
    DemoIndicator(
        "cm-milano",
        "psttm-2025-2027",
        "M3.4",
        "Rete ciclabile metropolitana",
        "km",
        "increase",
        (date(2024, 12, 31), 1000.0),
        (date(2027, 12, 31), 1500.0),
        ((date(2025, 6, 30), 1120.0),),
    ),
)


def demo_documents() -> list[dict[str, Any]]:
    folder = resources.files("app").joinpath("data/plans")
    return [json.loads(folder.joinpath(name).read_text("utf-8")) for name in DEMO_PLANS]


async def _ensure_organization(
    session: AsyncSession, spec: dict[str, Any]
) -> tuple[Organization, bool]:
    org = (
        await session.exec(select(Organization).where(col(Organization.slug) == spec["slug"]))
    ).one_or_none()
    created = org is None
    if org is None:
        org = Organization(
            slug=spec["slug"], name=spec["name"], default_locale=spec.get("default_locale", "it")
        )
        session.add(org)
        await session.flush()
        record_event(
            session,
            EventType.ORGANIZATION_CREATED,
            subject_type="organization",
            subject_id=org.id,
            actor_id=None,
            organization_id=org.id,
            payload={"slug": org.slug, "source": "demo"},
        )
    await add_municipalities(session, org, spec.get("municipalities", []))
    return org, created


async def _ensure_account(
    session: AsyncSession, email: str, name: str, platform_admin: bool
) -> tuple[User, bool]:
    user = await find_user_by_email(session, email)
    if user is not None:
        return user, False
    user = User(
        email=email,
        display_name=name,
        password_hash=hash_password(DEMO_PASSWORD),
        email_verified_at=datetime.now(UTC),
        is_platform_admin=platform_admin,
    )
    session.add(user)
    await session.flush()
    record_event(
        session,
        EventType.USER_REGISTERED,
        subject_type="user",
        subject_id=user.id,
        actor_id=None,
        payload={"source": "demo"},
    )
    return user, True


async def _ensure_indicator(session: AsyncSession, actor: User, spec: DemoIndicator) -> bool:
    """Attach the demo indicator (with its measurements) unless the node has it already."""
    node = (
        await session.exec(
            select(PlanNode)
            .join(Plan, col(Plan.id) == PlanNode.plan_id)
            .join(Organization, col(Organization.id) == Plan.organization_id)
            .where(
                col(Organization.slug) == spec.org,
                col(Plan.slug) == spec.plan,
                col(PlanNode.code) == spec.node,
            )
        )
    ).one_or_none()
    if node is None or node.archived_at is not None:
        return False
    names = (
        await session.exec(select(Indicator.name).where(col(Indicator.node_id) == node.id))
    ).all()
    if any(name.get("it") == spec.name for name in names):
        return False
    indicator = await create_indicator(
        session,
        actor,
        node.id,
        IndicatorCreate(
            name={"it": spec.name},
            unit=spec.unit,
            direction=spec.direction,
            baseline_date=spec.baseline[0],
            baseline_value=spec.baseline[1],
            target_date=spec.target[0],
            target_value=spec.target[1],
            weight=spec.weight,
        ),
    )
    for measured_on, value in spec.measurements:
        await record_measurement(
            session,
            actor,
            indicator.id,
            MeasurementCreate(value=value, measured_on=measured_on, source=DEMO_SOURCE),
        )
    return True


async def _configure_youth_table(session: AsyncSession) -> bool:
    """Bari's youth table comes with its plan document; the demo makes it what it is in
    life: open to 16-35-year-olds."""
    table = (
        await session.exec(
            select(ParticipationTable)
            .join(Organization, col(Organization.id) == ParticipationTable.organization_id)
            .where(
                col(Organization.slug) == "cm-bari",
                col(ParticipationTable.slug) == "tavolo-giovani",
            )
        )
    ).one_or_none()
    wanted = {"min_age": 16, "max_age": 35, "membership_policy": "open"}
    if table is None or all(getattr(table, f) == v for f, v in wanted.items()):
        return False
    for field, value in wanted.items():
        setattr(table, field, value)
    table.version += 1
    record_event(
        session,
        EventType.TABLE_UPDATED,
        subject_type="table",
        subject_id=table.id,
        actor_id=None,
        organization_id=table.organization_id,
        payload={"fields": sorted(wanted), "source": "demo"},
    )
    return True


async def seed_demo(session: AsyncSession) -> list[str]:
    report = []
    orgs: dict[str, Organization] = {}
    platform_admin: User | None = None
    for document in demo_documents():
        org, created = await _ensure_organization(session, document["organization"])
        orgs[org.slug] = org
        report.append(f"organization {org.slug}: {'created' if created else 'present'}")
    for index, (email, name, org_slug) in enumerate(DEMO_ACCOUNTS):
        user, created = await _ensure_account(session, email, name, platform_admin=index == 0)
        if org_slug and created:
            session.add(
                OrganizationRole(organization_id=orgs[org_slug].id, user_id=user.id, role="admin")
            )
        if created:
            report.append(f"account {email} (password {DEMO_PASSWORD}): created")
        if index == 0:
            platform_admin = user
    await session.flush()
    for document in demo_documents():
        result = await import_plan(session, SYSTEM, document)
        state = "created" if result.created else "updated" if result.changed else "unchanged"
        report.append(
            f"plan {document['organization']['slug']}/{document['plan']['slug']}: {state}"
        )
    if await _configure_youth_table(session):
        report.append("table cm-bari/tavolo-giovani: eligibility 16-35, open membership")
    assert platform_admin is not None  # the first demo account
    added = 0
    for spec in DEMO_INDICATORS:
        added += await _ensure_indicator(session, platform_admin, spec)
    if added:
        report.append(f"demo indicators: {added} added")
    report += await seed_demo_proposals(session, DEMO_PASSWORD)
    report += await seed_comments_and_polls(session, DEMO_PASSWORD)
    report += await seed_demo_moderation(session)
    report += await seed_demo_minutes(session)
    report += await seed_demo_listening(session)
    report += await seed_demo_budgets(session, DEMO_PASSWORD)
    report += await seed_demo_client(session)
    report += await seed_demo_live(session)
    report += await seed_demo_sortition(session, DEMO_PASSWORD)
    report += await seed_demo_conversation(session, DEMO_PASSWORD)
    await session.flush()
    return report
