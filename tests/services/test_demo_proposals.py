"""The demo fills Bari's youth table with proposals tied to its plan, supported by demo
participants, with exact counters; running it twice adds nothing."""

import uuid

from sqlmodel import col, func, select

from app.demo.moderation import HELD_PROPOSAL
from app.demo.proposals import demo_document
from app.demo.seed import seed_demo
from app.models.organizations import Organization
from app.models.plans import PlanNode
from app.models.proposals import Proposal, ProposalNode, ProposalSupport
from app.models.tables import ParticipationTable
from app.services.moderation.status import set_content_status
from tests.helpers import bearer


async def _youth_table(session):
    return (
        await session.exec(
            select(ParticipationTable)
            .join(Organization, col(Organization.id) == ParticipationTable.organization_id)
            .where(
                col(Organization.slug) == "cm-bari",
                col(ParticipationTable.slug) == "tavolo-giovani",
            )
        )
    ).one()


async def test_the_youth_table_is_full_of_proposals_with_exact_counts(client, session):
    await seed_demo(session)
    table = await _youth_table(session)
    # The demo's moderation adds one proposal awaiting approval (test_demo_moderation).
    proposals = (
        await session.exec(
            select(Proposal).where(
                col(Proposal.table_id) == table.id, col(Proposal.title) != HELD_PROPOSAL[1]
            )
        )
    ).all()
    assert len(proposals) == len(demo_document().proposals) >= 20
    rows = dict(
        (
            await session.exec(
                select(ProposalSupport.proposal_id, func.count())
                .where(col(ProposalSupport.table_id) == table.id)
                .group_by(col(ProposalSupport.proposal_id))
            )
        ).all()
    )
    assert all(p.supports_count == rows.get(p.id, 0) for p in proposals)
    assert len({p.supports_count for p in proposals}) > 10
    assert sum(p.answer_state is not None for p in proposals) >= 3
    assert sum(p.municipality_id is not None for p in proposals) >= 10
    # Every proposal is tied to nodes of the table's plan.
    off_plan = (
        await session.exec(
            select(func.count())
            .select_from(ProposalNode)
            .join(PlanNode, col(PlanNode.id) == ProposalNode.node_id)
            .join(Proposal, col(Proposal.id) == ProposalNode.proposal_id)
            .where(col(Proposal.table_id) == table.id, col(PlanNode.plan_id) != table.plan_id)
        )
    ).one()
    assert off_plan == 0

    await seed_demo(session)
    again = (
        await session.exec(
            select(func.count()).select_from(Proposal).where(col(Proposal.table_id) == table.id)
        )
    ).one()
    assert again == len(proposals) + 1  # and the one awaiting approval

    page = await client.get(f"/v1/tables/{table.id}/proposals?sort=supports&limit=5")
    counts = [p["supports_count"] for p in page.json()["items"]]
    assert counts == sorted(counts, reverse=True) and counts[0] >= 15
    assert page.json()["items"][0]["threshold_reached"] is True
    bikes = await client.get(f"/v1/tables/{table.id}/proposals?q=biciclette")
    assert any("ciclabile" in p["title"] for p in bikes.json()["items"])


async def test_a_demo_participant_can_propose_and_support(client, session):
    from app.services.accounts.people import find_user_by_email

    await seed_demo(session)
    table = await _youth_table(session)
    francesca = await find_user_by_email(session, "francesca@consulta.demo")
    assert francesca is not None
    axis = (
        await session.exec(
            select(PlanNode.id).where(
                col(PlanNode.plan_id) == table.plan_id, col(PlanNode.code) == "4"
            )
        )
    ).one()
    created = await client.post(
        f"/v1/tables/{table.id}/proposals",
        json={
            "title": "Sale prova musicali nei centri giovanili",
            "body": "Spazi attrezzati e a basso costo per le band dei ragazzi.",
            "node_ids": [str(axis)],
        },
        headers=bearer(francesca),
    )
    assert created.status_code == 201, created.text
    # The youth table admits under-18s, so it is pre-moderated by default: the proposal
    # waits for a facilitator's approval before anyone (the author too) may support it.
    assert created.json()["moderation_status"] == "pending"
    await set_content_status(session, "proposal", uuid.UUID(created.json()["id"]), "visible")
    await session.commit()
    support = await client.put(
        f"/v1/proposals/{created.json()['id']}/support", headers=bearer(francesca)
    )
    assert support.status_code == 201 and support.json()["supports_count"] == 1
