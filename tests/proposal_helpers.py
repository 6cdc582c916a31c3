"""Builders for the proposal and support tests: a table on a plan with its people, and
proposals written straight to the database."""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models.accounts import User
from app.models.organizations import Organization
from app.models.plans import Plan, PlanNode
from app.models.proposals import Proposal, ProposalNode, ProposalStatus
from app.models.tables import ParticipationTable, TableSettings
from tests.helpers import add_member, make_org, make_plan, make_table, make_user


@dataclass
class Setup:
    org: Organization
    admin: User
    plan: Plan
    nodes: dict[str, PlanNode]
    table: ParticipationTable
    facilitator: User
    member: User
    extra: dict[str, Any] = field(default_factory=dict)


async def make_setup(session: AsyncSession, **table_fields: Any) -> Setup:
    """An organization with a plan (axes 1, 4, 9; objective 4.1 under axis 4), a table on
    that plan (public and open unless `table_fields` say otherwise), a facilitator and a
    member."""
    admin = await make_user(session, name="Admin")
    org = await make_org(session, admin=admin)
    plan, nodes = await make_plan(session, org)
    child = PlanNode(
        plan_id=plan.id,
        organization_id=org.id,
        parent_id=nodes["4"].id,
        code="4.1",
        kind="objective",
        title={"it": "Obiettivo 4.1"},
        position=0,
        depth=1,
        sort_path="0001.0000",
    )
    session.add(child)
    await session.flush()
    nodes["4.1"] = child
    table = await make_table(session, org, plan_id=plan.id, **table_fields)
    facilitator = await make_user(session, name="Facilitatrice")
    await add_member(session, table, facilitator, role="facilitator")
    member = await make_user(session, name="Marta")
    await add_member(session, table, member)
    return Setup(org, admin, plan, nodes, table, facilitator, member)


async def make_proposal(
    session: AsyncSession,
    table: ParticipationTable,
    author: User | None,
    *,
    title: str = "Una proposta di prova",
    body: str = "Il testo della proposta di prova, abbastanza lungo.",
    node_ids: list[uuid.UUID] | None = None,
    status: ProposalStatus = "published",
    published_at: datetime | None = None,
    **fields: Any,
) -> Proposal:
    if node_ids is None:
        first = (
            await session.exec(
                select(PlanNode.id)
                .where(col(PlanNode.plan_id) == table.plan_id)
                .order_by(col(PlanNode.sort_path))
            )
        ).first()
        assert first is not None
        node_ids = [first]
    proposal = Proposal(
        table_id=table.id,
        organization_id=table.organization_id,
        author_id=author.id if author else None,
        title=title,
        body=body,
        status=status,
        published_at=(published_at or datetime.now(UTC)) if status != "draft" else None,
        **fields,
    )
    session.add(proposal)
    await session.flush()
    session.add_all(ProposalNode(proposal_id=proposal.id, node_id=n) for n in node_ids)
    await session.flush()
    return proposal


async def set_settings(session: AsyncSession, table: ParticipationTable, **values: Any) -> None:
    """Set some of the table's settings (creating its settings row if needed)."""
    row = await session.get(TableSettings, table.id)
    if row is None:
        session.add(TableSettings(table_id=table.id, **values))
    else:
        for name, value in values.items():
            setattr(row, name, value)
    await session.flush()


async def support_rows(session: AsyncSession, proposal_id: uuid.UUID) -> int:
    from app.models.proposals import ProposalSupport

    return (
        await session.exec(
            select(func.count())
            .select_from(ProposalSupport)
            .where(col(ProposalSupport.proposal_id) == proposal_id)
        )
    ).one()


def minutes_ago(minutes: float) -> datetime:
    return datetime.now(UTC) - timedelta(minutes=minutes)
