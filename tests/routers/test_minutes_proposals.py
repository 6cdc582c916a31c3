"""Minutes link the proposals discussed at the meeting: published ones of its own table."""

from datetime import UTC, datetime, timedelta

from sqlmodel import col, update

from app.models.proposals import Proposal
from tests.factories import commit_setup, make_meeting, make_proposal, make_scene, make_table
from tests.helpers import assert_problem, bearer


async def test_minutes_link_published_proposals_of_the_table(client, session):
    setup = await make_scene(session, content=False)
    meeting = await make_meeting(
        session, setup.table, starts_at=datetime.now(UTC) - timedelta(hours=1)
    )
    born_here = await make_proposal(session, setup.table, setup.member, title="Nata al tavolo")
    discussed = await make_proposal(session, setup.table, setup.member, title="Discussa")
    draft = await make_proposal(session, setup.table, setup.member, status="draft")
    other_table = await make_table(session, setup.org, plan_id=setup.plan.id)
    foreign = await make_proposal(session, other_table, setup.member, title="Altro tavolo")
    await commit_setup(session)
    url = f"/v1/meetings/{meeting.id}/minutes"
    text = {"it": "Verbale con proposte"}

    refused = await client.put(
        url,
        headers=bearer(setup.facilitator),
        json={"text": text, "proposal_ids": [str(born_here.id), str(draft.id), str(foreign.id)]},
    )
    body = assert_problem(refused, 422)
    assert [e["loc"] for e in body["errors"]] == [
        ["body", "proposal_ids", 1],
        ["body", "proposal_ids", 2],
    ]
    assert (await client.get(f"/v1/meetings/{meeting.id}")).json()["minutes"] is None

    linked = [str(born_here.id), str(discussed.id)]
    published = await client.put(
        url, headers=bearer(setup.facilitator), json={"text": text, "proposal_ids": linked}
    )
    assert published.status_code == 200, published.text
    assert sorted(published.json()["proposal_ids"]) == sorted(linked)
    shown = (await client.get(f"/v1/meetings/{meeting.id}")).json()["minutes"]
    assert sorted(shown["proposal_ids"]) == sorted(linked)

    # A proposal hidden by moderation leaves the public minutes.
    await session.exec(
        update(Proposal).where(col(Proposal.id) == discussed.id).values(moderation_status="hidden")
    )
    await commit_setup(session)
    shown = (await client.get(f"/v1/meetings/{meeting.id}")).json()["minutes"]
    assert shown["proposal_ids"] == [str(born_here.id)]

    # Rewriting the minutes replaces the links.
    rewritten = await client.put(
        url, headers=bearer(setup.facilitator), json={"text": text, "proposal_ids": []}
    )
    assert rewritten.json()["proposal_ids"] == []
