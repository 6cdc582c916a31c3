"""What moderating content does to the people who took part in it: a proposal hidden or
sent back for approval frees its supporters' supports (they no longer count against the
table's limit) and its supporters may still withdraw; people registered for a meeting
hidden since may still cancel, and the waiting list moves up."""

import pytest
from sqlmodel import col, select

from app.models.events import Event
from app.models.meetings import MeetingRegistration
from app.models.proposals import Proposal
from app.services.moderation.status import set_content_status
from tests.factories import (
    add_member,
    commit_setup,
    make_meeting,
    make_org,
    make_proposal,
    make_scene,
    make_table,
    make_user,
    set_settings,
    status_of,
    support_rows,
)
from tests.helpers import act, assert_problem, bearer


async def _supports_count(session, proposal_id):
    return (
        await session.exec(
            select(Proposal.supports_count)
            .where(col(Proposal.id) == proposal_id)
            .execution_options(populate_existing=True)
        )
    ).one()


# --- supports --------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["hidden", "pending"])
async def test_supports_on_proposals_no_longer_shown_do_not_use_up_the_limit(
    client, session, status
):
    s = await make_scene(session, content=False)
    await set_settings(session, s.table, support_limit=2)
    proposals = [await make_proposal(session, s.table, s.facilitator) for _ in range(3)]
    await commit_setup(session)
    urls = [f"/v1/proposals/{p.id}/support" for p in proposals]
    headers = bearer(s.member)
    assert (await client.put(urls[0], headers=headers)).status_code == 201
    assert (await client.put(urls[1], headers=headers)).status_code == 201
    assert_problem(await client.put(urls[2], headers=headers), 409, "support_limit_reached")

    if status == "hidden":
        hidden = await act(client, s.facilitator, "proposal", proposals[0].id, "hide")
        assert hidden.status_code == 200, hidden.text
    else:  # sent back for approval (an edit on a pre-moderated table, a blocked word)
        await set_content_status(session, "proposal", proposals[0].id, "pending")
        await commit_setup(session)
    assert await status_of(session, "proposal", proposals[0].id) == status

    # The support on the proposal no longer shown leaves room for another.
    third = await client.put(urls[2], headers=headers)
    assert third.status_code == 201, third.text
    assert await support_rows(session, proposals[2].id) == 1
    # Shown again, it counts again: the person is at their limit (not past it by choice).
    await set_content_status(session, "proposal", proposals[0].id, "visible")
    await commit_setup(session)
    extra = await make_proposal(session, s.table, s.facilitator)
    await commit_setup(session)
    assert_problem(
        await client.put(f"/v1/proposals/{extra.id}/support", headers=headers),
        409,
        "support_limit_reached",
    )


async def test_a_supporter_withdraws_from_a_hidden_proposal(client, session):
    s = await make_scene(session, content=False)
    proposal = await make_proposal(session, s.table, s.facilitator)
    bystander = await make_user(session)
    await add_member(session, s.table, bystander)
    await commit_setup(session)
    url = f"/v1/proposals/{proposal.id}/support"
    assert (await client.put(url, headers=bearer(s.member))).status_code == 201
    assert (await client.put(url, headers=bearer(s.facilitator))).status_code == 201
    assert await _supports_count(session, proposal.id) == 2
    assert (await act(client, s.facilitator, "proposal", proposal.id, "hide")).status_code == 200

    # The proposal is gone for the supporter, but not their support: they may take it back.
    assert_problem(await client.get(f"/v1/proposals/{proposal.id}", headers=bearer(s.member)), 404)
    withdrawn = await client.delete(url, headers=bearer(s.member))
    assert withdrawn.status_code == 204, withdrawn.text
    assert await support_rows(session, proposal.id) == 1
    assert await _supports_count(session, proposal.id) == 1
    event = (
        await session.exec(
            select(Event).where(
                col(Event.subject_id) == proposal.id,
                col(Event.type) == "proposal.support_withdrawn",
                col(Event.actor_id) == s.member.id,
            )
        )
    ).one()
    assert event.payload == {"table_id": str(s.table.id)}
    # Nothing to withdraw any more: the hidden proposal is a 404 again, as for anyone who
    # never supported it; and nobody may support it while it is hidden.
    assert_problem(await client.delete(url, headers=bearer(s.member)), 404)
    assert_problem(await client.delete(url, headers=bearer(bystander)), 404)
    assert_problem(await client.put(url, headers=bearer(bystander)), 404)
    assert await _supports_count(session, proposal.id) == 1
    # Shown again, the count is exact.
    assert (await act(client, s.facilitator, "proposal", proposal.id, "unhide")).status_code == 200
    shown = (await client.get(f"/v1/proposals/{proposal.id}", headers=bearer(bystander))).json()
    assert shown["supports_count"] == 1


async def test_a_supporter_withdraws_from_a_proposal_awaiting_approval(client, session):
    s = await make_scene(session, content=False)
    proposal = await make_proposal(session, s.table, s.facilitator)
    await commit_setup(session)
    url = f"/v1/proposals/{proposal.id}/support"
    assert (await client.put(url, headers=bearer(s.member))).status_code == 201
    await set_content_status(session, "proposal", proposal.id, "pending")
    await commit_setup(session)
    assert (await client.delete(url, headers=bearer(s.member))).status_code == 204
    assert await support_rows(session, proposal.id) == 0
    assert await _supports_count(session, proposal.id) == 0


# --- meeting registrations --------------------------------------------------------------


async def _registrations(session, meeting_id):
    return [
        (r.user_id, r.status)
        for r in (
            await session.exec(
                select(MeetingRegistration)
                .where(col(MeetingRegistration.meeting_id) == meeting_id)
                .order_by(col(MeetingRegistration.seq))
                .execution_options(populate_existing=True)
            )
        ).all()
    ]


async def test_registered_people_cancel_on_a_hidden_meeting_and_the_waitlist_moves_up(
    client, session
):
    org = await make_org(session)
    table = await make_table(session, org)
    facilitator = await make_user(session)
    await add_member(session, table, facilitator, role="facilitator")
    meeting = await make_meeting(session, table, capacity=1)
    seated, waiting, outsider = [await make_user(session) for _ in range(3)]
    await commit_setup(session)
    url = f"/v1/meetings/{meeting.id}/registrations"
    assert (await client.post(url, headers=bearer(seated))).json()["status"] == "registered"
    assert (await client.post(url, headers=bearer(waiting))).json()["status"] == "waitlisted"

    assert (await act(client, facilitator, "meeting", meeting.id, "hide")).status_code == 200
    assert_problem(await client.get(f"/v1/meetings/{meeting.id}", headers=bearer(seated)), 404)
    # Nobody registers for a hidden meeting...
    assert_problem(await client.post(url, headers=bearer(outsider)), 404)
    assert_problem(await client.delete(url + "/me", headers=bearer(outsider)), 404)
    # ...but those registered may give their place up, and the first waiting takes it.
    cancelled = await client.delete(url + "/me", headers=bearer(seated))
    assert cancelled.status_code == 204, cancelled.text
    assert await _registrations(session, meeting.id) == [
        (seated.id, "cancelled"),
        (waiting.id, "registered"),
    ]
    types = (
        await session.exec(
            select(Event.type)
            .where(col(Event.type).in_(("registration.cancelled", "registration.promoted")))
            .order_by(col(Event.seq))
        )
    ).all()
    assert types == ["registration.cancelled", "registration.promoted"]
    # Once cancelled, the hidden meeting is a 404 to them like to anyone.
    assert_problem(await client.delete(url + "/me", headers=bearer(seated)), 404)
    # The promoted person may cancel too.
    assert (await client.delete(url + "/me", headers=bearer(waiting))).status_code == 204
    assert await _registrations(session, meeting.id) == [
        (seated.id, "cancelled"),
        (waiting.id, "cancelled"),
    ]
