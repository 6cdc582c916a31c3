"""Demo proposals for Bari's youth table (`cm-bari/tavolo-giovani`): young participants,
a facilitator, proposals in Italian tied to the plan's axes and objectives, supports
spread so that `sort=supports` has something to show, and a few facilitators' answers.

Idempotent: accounts are found by email, proposals by title within the table; supports
are only added with the proposal they belong to (rows and counters stay equal).
"""

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.event_types import EventType
from app.events import record_event
from app.models.accounts import User
from app.models.organizations import Municipality, Organization
from app.models.plans import PlanNode
from app.models.proposals import AnswerState, Proposal, ProposalNode, ProposalSupport
from app.models.tables import MembershipRole, ParticipationTable, TableMembership, TableSettings
from app.security import hash_password
from app.services.accounts.people import find_user_by_email

DEMO_FILE = "data/demo_proposals.json"


@dataclass(frozen=True)
class DemoProposal:
    title: str
    body: str
    nodes: tuple[str, ...]
    municipality: str | None
    supports: int  # how many demo participants support it
    days_ago: int  # when it was published
    answer: tuple[AnswerState, str | None] | None = None


@dataclass(frozen=True)
class DemoDocument:
    organization: str
    table: str
    facilitator: tuple[str, str]
    # email, display name, birth year, municipality of residence
    participants: tuple[tuple[str, str, int, str], ...]
    proposals: tuple[DemoProposal, ...]


def demo_document() -> DemoDocument:
    """The demo participants and proposals (`app/data/demo_proposals.json`)."""
    raw: dict[str, Any] = json.loads(resources.files("app").joinpath(DEMO_FILE).read_text("utf-8"))
    return DemoDocument(
        organization=raw["organization"],
        table=raw["table"],
        facilitator=(raw["facilitator"]["email"], raw["facilitator"]["display_name"]),
        participants=tuple(
            (p["email"], p["display_name"], p["birth_year"], p["municipality"])
            for p in raw["participants"]
        ),
        proposals=tuple(
            DemoProposal(
                title=p["title"],
                body=p["body"],
                nodes=tuple(p["nodes"]),
                municipality=p["municipality"],
                supports=p["supports"],
                days_ago=p["days_ago"],
                answer=(p["answer"]["state"], p["answer"]["text"]) if p["answer"] else None,
            )
            for p in raw["proposals"]
        ),
    )


# Used by the comments' demo step: the facilitator (email, display name) and the
# participants (email local part, display name, birth year, municipality).
FACILITATOR: tuple[str, str] = demo_document().facilitator
PARTICIPANTS: tuple[tuple[str, str, int, str], ...] = tuple(
    (email.split("@")[0], name, year, town)
    for email, name, year, town in demo_document().participants
)


async def _ensure_person(
    session: AsyncSession,
    email: str,
    name: str,
    password_hash: str,
    *,
    birth_date: date | None = None,
    municipality_id: uuid.UUID | None = None,
) -> User:
    user = await find_user_by_email(session, email)
    if user is not None:
        return user
    user = User(
        email=email,
        display_name=name,
        password_hash=password_hash,
        email_verified_at=datetime.now(UTC),
        birth_date=birth_date,
        municipality_id=municipality_id,
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
    return user


async def _ensure_membership(
    session: AsyncSession, table: ParticipationTable, user: User, role: MembershipRole
) -> None:
    found = (
        await session.exec(
            select(TableMembership.id).where(
                col(TableMembership.table_id) == table.id,
                col(TableMembership.user_id) == user.id,
            )
        )
    ).first()
    if found is None:
        session.add(
            TableMembership(
                table_id=table.id,
                user_id=user.id,
                role=role,
                status="active",
                activated_at=datetime.now(UTC),
            )
        )


async def _demo_table(session: AsyncSession, demo: DemoDocument) -> ParticipationTable | None:
    return (
        await session.exec(
            select(ParticipationTable)
            .join(Organization, col(Organization.id) == ParticipationTable.organization_id)
            .where(
                col(Organization.slug) == demo.organization,
                col(ParticipationTable.slug) == demo.table,
            )
        )
    ).one_or_none()


async def _participants(
    session: AsyncSession,
    table: ParticipationTable,
    demo: DemoDocument,
    password_hash: str,
    municipalities: dict[str, uuid.UUID],
) -> list[User]:
    """The demo participants, members of the table (and Giulia, when she exists)."""
    people = []
    for email, name, year, town in demo.participants:
        person = await _ensure_person(
            session,
            email,
            name,
            password_hash,
            birth_date=date(year, 3, 15),
            municipality_id=municipalities.get(town),
        )
        await _ensure_membership(session, table, person, "member")
        people.append(person)
    giulia = await find_user_by_email(session, "giulia@consulta.demo")
    if giulia is not None:
        await _ensure_membership(session, table, giulia, "member")
    return people


async def _support_threshold(session: AsyncSession, table: ParticipationTable) -> int:
    settings = await session.get(TableSettings, table.id)
    if settings is None:
        settings = TableSettings(table_id=table.id, support_threshold=15)
        session.add(settings)
    return settings.support_threshold


async def seed_demo_proposals(session: AsyncSession, password: str) -> list[str]:
    demo = demo_document()
    table = await _demo_table(session, demo)
    if table is None or table.plan_id is None:
        return []
    password_hash = hash_password(password)
    facilitator = await _ensure_person(session, *demo.facilitator, password_hash)
    await _ensure_membership(session, table, facilitator, "facilitator")
    municipalities = {
        m.name: m.id
        for m in (
            await session.exec(
                select(Municipality).where(
                    col(Municipality.organization_id) == table.organization_id
                )
            )
        ).all()
    }
    people = await _participants(session, table, demo, password_hash, municipalities)
    threshold = await _support_threshold(session, table)
    nodes = {
        n.code: n.id
        for n in (
            await session.exec(select(PlanNode).where(col(PlanNode.plan_id) == table.plan_id))
        ).all()
    }
    existing = set(
        (await session.exec(select(Proposal.title).where(col(Proposal.table_id) == table.id))).all()
    )
    now = datetime.now(UTC)
    added = 0
    for index, spec in enumerate(demo.proposals):
        if spec.title in existing or not all(code in nodes for code in spec.nodes):
            continue
        author = people[index % len(people)]
        published = now - timedelta(days=spec.days_ago, hours=index)
        supporters = [p for p in people if p.id != author.id][: spec.supports]
        proposal = Proposal(
            table_id=table.id,
            organization_id=table.organization_id,
            author_id=author.id,
            municipality_id=municipalities.get(spec.municipality or ""),
            title=spec.title,
            body=spec.body,
            status="published",
            published_at=published,
            supports_count=len(supporters),
            created_at=published,
        )
        if 0 < threshold <= len(supporters):
            proposal.threshold_reached_at = published + timedelta(days=2)
        if spec.answer is not None:
            proposal.answer_state, proposal.answer_text = spec.answer
            proposal.answered_at = published + timedelta(days=1)
            proposal.answered_by_id = facilitator.id
        session.add(proposal)
        await session.flush()
        session.add_all(ProposalNode(proposal_id=proposal.id, node_id=nodes[c]) for c in spec.nodes)
        session.add_all(
            ProposalSupport(proposal_id=proposal.id, user_id=p.id, table_id=table.id)
            for p in supporters
        )
        _demo_events(session, proposal, author, facilitator, supporters)
        added += 1
    await session.flush()
    if not added:
        return []
    return [
        f"table {demo.organization}/{demo.table}: {added} proposals, "
        f"{len(demo.participants)} participants (e.g. {demo.participants[0][0]}), "
        f"facilitator {demo.facilitator[0]}"
    ]


def _demo_events(
    session: AsyncSession,
    proposal: Proposal,
    author: User,
    facilitator: User,
    supporters: list[User],
) -> None:
    def event(type: EventType, actor: User, **payload: object) -> None:
        record_event(
            session,
            type,
            subject_type="proposal",
            subject_id=proposal.id,
            actor_id=actor.id,
            organization_id=proposal.organization_id,
            payload={"table_id": str(proposal.table_id), "source": "demo", **payload},
        )

    event(EventType.PROPOSAL_CREATED, author, status="published")
    event(EventType.PROPOSAL_PUBLISHED, author)
    for supporter in supporters:
        event(EventType.PROPOSAL_SUPPORTED, supporter)
    if proposal.threshold_reached_at is not None:
        event(EventType.PROPOSAL_THRESHOLD_REACHED, supporters[-1])
    if proposal.answer_state is not None:
        event(EventType.PROPOSAL_ANSWERED, facilitator, state=proposal.answer_state)
