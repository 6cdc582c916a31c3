"""Pre-moderation: the table setting and its age-based default; proposals (created or
published from a draft) and comments held as pending, in the queue, invisible to others
and uncounted until approved; facilitators' own content is never held."""

import uuid
from typing import Any

import pytest
from sqlmodel import col, select

from app.demo.moderation import HELD_PROPOSAL
from app.demo.seed import seed_demo
from app.models.comments import Comment
from app.models.events import Event
from app.models.organizations import Organization
from app.models.proposals import Proposal
from app.models.tables import ParticipationTable
from app.services.moderation.status import set_content_status
from tests.factories import (
    add_member,
    comments_count,
    commit_setup,
    make_scene,
    make_table,
    make_user,
    moderation_row,
    set_settings,
    status_of,
)
from tests.helpers import act, assert_problem, bearer, comments_url, listed_ids, new_proposal

YOUTH: dict[str, Any] = {"min_age": 16, "max_age": 35}


@pytest.mark.parametrize(
    ("rules", "default"),
    [
        # No age rule admits everyone from 14 (younger with consent): minors included.
        ({}, True),
        (YOUTH, True),
        ({"max_age": 29}, True),
        ({"min_age": 14}, True),
        ({"min_age": 18, "max_age": 35}, False),
        ({"min_age": 65}, False),
    ],
)
async def test_the_default_follows_the_tables_age_rules(client, session, rules, default):
    s = await make_scene(session, content=False, premoderation=None, **rules)
    await commit_setup(session)
    url = f"/v1/tables/{s.table.id}/settings"
    body = (await client.get(url)).json()
    assert (body["premoderation"], body["premoderation_effective"]) == (None, default)
    # An explicit setting wins; null goes back to the default.
    changed = await client.patch(
        url, json={"premoderation": not default}, headers=bearer(s.facilitator)
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["premoderation"], changed.json()["premoderation_effective"]) == (
        not default,
        not default,
    )
    reset = await client.patch(url, json={"premoderation": None}, headers=bearer(s.facilitator))
    assert (reset.json()["premoderation"], reset.json()["premoderation_effective"]) == (
        None,
        default,
    )
    assert reset.headers["ETag"] == '"3"'


async def test_only_the_tables_facilitators_change_it(client, session):
    s = await make_scene(session, content=False, premoderation=None, **YOUTH)
    await commit_setup(session)
    url = f"/v1/tables/{s.table.id}/settings"
    assert_problem(
        await client.patch(url, json={"premoderation": False}, headers=bearer(s.member)), 404
    )
    assert_problem(
        await client.patch(url, json={"premoderation": "maybe"}, headers=bearer(s.facilitator)), 422
    )
    nulled = assert_problem(
        await client.patch(url, json={"comments_open": None}, headers=bearer(s.facilitator)),
        422,
        "validation_error",
    )
    assert [(e["loc"], e["code"]) for e in nulled["errors"]] == [
        (["body", "comments_open"], "null_not_allowed")
    ]
    response = await client.patch(url, json={"premoderation": False}, headers=bearer(s.admin))
    assert response.status_code == 200 and response.json()["premoderation_effective"] is False


async def test_a_proposal_on_a_premoderated_table_waits_for_approval(client, session):
    s = await make_scene(session, content=False, premoderation=None, **YOUTH)
    other = await make_user(session)
    await add_member(session, s.table, other)
    await commit_setup(session)
    table_url = f"/v1/tables/{s.table.id}/proposals"
    created = await client.post(
        table_url, json=new_proposal(s.nodes["1"].id), headers=bearer(s.member)
    )
    assert created.status_code == 201, created.text
    proposal = created.json()
    assert (proposal["status"], proposal["moderation_status"]) == ("published", "pending")
    # In the moderators' queue.
    row = await moderation_row(session, "proposal", proposal["id"])
    assert row is not None and (row.pending, row.open) == (True, True)
    assert (row.table_id, row.organization_id) == (s.table.id, s.org.id)
    # Nobody else sees it, or may support it.
    for headers in ({}, bearer(other)):
        assert await listed_ids(client, table_url, headers) == []
        assert await listed_ids(client, f"{table_url}?q=coworking", headers) == []
        assert_problem(await client.get(f"/v1/proposals/{proposal['id']}", headers=headers), 404)
    assert_problem(
        await client.put(f"/v1/proposals/{proposal['id']}/support", headers=bearer(other)), 404
    )
    # Its author and the facilitators do; nobody supports it before it is shown.
    for person in (s.member, s.facilitator):
        assert await listed_ids(client, table_url, bearer(person)) == [proposal["id"]]
    assert_problem(
        await client.put(f"/v1/proposals/{proposal['id']}/support", headers=bearer(s.member)),
        409,
        "proposal_not_visible",
    )
    published = (
        await session.exec(
            select(Event).where(
                col(Event.subject_id) == row.target_id, col(Event.type) == "proposal.published"
            )
        )
    ).one()
    assert published.payload["moderation_status"] == "pending"
    assert published.payload["held_for"] == "premoderation"
    # Approved, it is everyone's.
    await set_content_status(session, "proposal", row.target_id, "visible")
    await commit_setup(session)
    assert await listed_ids(client, table_url, bearer(other)) == [proposal["id"]]
    supported = await client.put(f"/v1/proposals/{proposal['id']}/support", headers=bearer(other))
    assert supported.status_code == 201


async def test_publishing_a_draft_on_a_premoderated_table_holds_it(client, session):
    s = await make_scene(session, content=False, premoderation=None, **YOUTH)
    await commit_setup(session)
    draft = await client.post(
        f"/v1/tables/{s.table.id}/proposals",
        json=new_proposal(s.nodes["1"].id, status="draft"),
        headers=bearer(s.member),
    )
    assert draft.status_code == 201
    assert draft.json()["moderation_status"] == "visible"
    assert await moderation_row(session, "proposal", draft.json()["id"]) is None
    published = await client.post(
        f"/v1/proposals/{draft.json()['id']}/publish", headers=bearer(s.member)
    )
    assert published.status_code == 200, published.text
    assert (published.json()["status"], published.json()["moderation_status"]) == (
        "published",
        "pending",
    )
    assert await status_of(session, "proposal", draft.json()["id"]) == "pending"
    row = await moderation_row(session, "proposal", draft.json()["id"])
    assert row is not None and row.pending and row.open
    assert await listed_ids(client, f"/v1/tables/{s.table.id}/proposals") == []


async def test_facilitators_content_and_tables_without_premoderation_are_not_held(client, session):
    s = await make_scene(session, content=False, premoderation=None, **YOUTH)
    explicit_off = await make_table(session, s.org, plan_id=s.plan.id, **YOUTH)
    await set_settings(session, explicit_off, premoderation=False)
    adults = await make_table(session, s.org, plan_id=s.plan.id, min_age=18, premoderation=None)
    for table in (explicit_off, adults):
        await add_member(session, table, s.member)
    await commit_setup(session)
    node = s.nodes["1"].id
    own = await client.post(
        f"/v1/tables/{s.table.id}/proposals", json=new_proposal(node), headers=bearer(s.facilitator)
    )
    assert own.status_code == 201 and own.json()["moderation_status"] == "visible"
    for table in (explicit_off, adults):
        response = await client.post(
            f"/v1/tables/{table.id}/proposals", json=new_proposal(node), headers=bearer(s.member)
        )
        assert response.status_code == 201 and response.json()["moderation_status"] == "visible"
    comment = await client.post(
        comments_url("proposal", own.json()["id"]),
        json={"body": "Da facilitatrice, confermo."},
        headers=bearer(s.facilitator),
    )
    assert comment.status_code == 201 and comment.json()["moderation_status"] == "visible"
    assert await moderation_row(session, "proposal", own.json()["id"]) is None


async def test_a_comment_on_a_premoderated_table_waits_and_does_not_count(client, session):
    scene = await make_scene(session, premoderation=None, **YOUTH)
    await commit_setup(session)
    proposal = scene.proposal
    url = comments_url("proposal", proposal.id)
    created = await client.post(
        url, json={"body": "Ottima idea, la sostengo."}, headers=bearer(scene.member)
    )
    assert created.status_code == 201, created.text
    comment = created.json()
    # Its author is told it is pending, and sees the text.
    assert comment["moderation_status"] == "pending"
    assert comment["body"] == "Ottima idea, la sostengo."
    assert await comments_count(session, proposal.id) == 0
    row = await moderation_row(session, "comment", comment["id"])
    assert row is not None and (row.pending, row.open, row.table_id) == (
        True,
        True,
        scene.table.id,
    )
    # Not published yet: others do not see it at all.
    for headers in ({}, bearer(scene.author)):
        assert (await client.get(url, headers=headers)).json()["items"] == []
    for person in (scene.member, scene.facilitator):
        page = (await client.get(url, headers=bearer(person))).json()["items"]
        assert [(c["id"], c["body"], c["moderation_status"]) for c in page] == [
            (comment["id"], "Ottima idea, la sostengo.", "pending")
        ]
    # Nobody replies to it before it is approved.
    assert_problem(
        await client.post(
            url,
            json={"body": "Anche io!", "parent_id": comment["id"]},
            headers=bearer(scene.facilitator),
        ),
        409,
        "comment_not_visible",
    )
    # For anyone else it does not exist: a reply or a vote reveals nothing.
    assert_problem(
        await client.post(
            url,
            json={"body": "Anche io!", "parent_id": comment["id"]},
            headers=bearer(scene.author),
        ),
        422,
        "invalid_parent",
    )
    unknown = assert_problem(
        await client.put(
            f"/v1/comments/{comment['id']}/vote", json={"value": 1}, headers=bearer(scene.author)
        ),
        404,
    )
    never = assert_problem(
        await client.put(
            f"/v1/comments/{uuid.uuid4()}/vote", json={"value": 1}, headers=bearer(scene.author)
        ),
        404,
    )
    assert unknown["detail"] == never["detail"]
    # Approved: counted and shown to everyone.
    await set_content_status(session, "comment", row.target_id, "visible")
    await commit_setup(session)
    assert await comments_count(session, proposal.id) == 1
    page = (await client.get(url)).json()["items"]
    assert [(c["id"], c["body"]) for c in page] == [(comment["id"], "Ottima idea, la sostengo.")]
    # Deleting a pending comment does not move the count.
    pending = await client.post(url, json={"body": "Un altro."}, headers=bearer(scene.member))
    assert pending.json()["moderation_status"] == "pending"
    deleted = await client.delete(
        f"/v1/comments/{pending.json()['id']}", headers=bearer(scene.member)
    )
    assert deleted.status_code == 204
    assert await comments_count(session, proposal.id) == 1


async def test_comments_on_meetings_and_polls_of_a_premoderated_table_are_held(client, session):
    scene = await make_scene(session, premoderation=None, **YOUTH)
    await commit_setup(session)
    for target_type in ("meeting", "poll"):
        created = await client.post(
            comments_url(target_type, scene.target(target_type)),
            json={"body": "Ci sarò."},
            headers=bearer(scene.member),
        )
        assert created.status_code == 201, created.text
        assert created.json()["moderation_status"] == "pending"
        listed = await client.get(comments_url(target_type, scene.target(target_type)))
        assert listed.json()["items"] == []


async def test_the_demo_youth_table_is_premoderated_and_its_content_approved(client, session):
    await seed_demo(session)
    table = (
        await session.exec(
            select(ParticipationTable)
            .join(Organization, col(Organization.id) == ParticipationTable.organization_id)
            .where(
                col(Organization.slug) == "cm-bari",
                col(ParticipationTable.slug) == "tavolo-giovani",
            )
        )
    ).one()
    await commit_setup(session)
    settings = (await client.get(f"/v1/tables/{table.id}/settings")).json()
    assert (settings["premoderation"], settings["premoderation_effective"]) == (None, True)
    # All approved, but for the one proposal the demo leaves waiting (demo_moderation).
    statuses = set(
        (
            await session.exec(
                select(Proposal.moderation_status).where(
                    col(Proposal.table_id) == table.id, col(Proposal.title) != HELD_PROPOSAL[1]
                )
            )
        ).all()
    )
    comment_statuses = set(
        (await session.exec(select(Comment.status).where(col(Comment.table_id) == table.id))).all()
    )
    assert statuses == comment_statuses == {"visible"}
    # The demo's threads are counted, and shown to anyone.
    counted = (
        await session.exec(
            select(Proposal).where(
                col(Proposal.table_id) == table.id, col(Proposal.comments_count) > 0
            )
        )
    ).first()
    assert counted is not None
    page = (await client.get(comments_url("proposal", counted.id))).json()["items"]
    assert page and all(c["body"] for c in page)


# --- edits of approved content ------------------------------------------------------------


async def test_editing_an_approved_comment_sends_it_back_for_approval(client, session):
    scene = await make_scene(session, premoderation=None, **YOUTH)
    await commit_setup(session)
    url = comments_url("proposal", scene.proposal.id)
    created = await client.post(
        url, json={"body": "Ottima idea, la sostengo."}, headers=bearer(scene.member)
    )
    comment_id = created.json()["id"]
    approved = await act(client, scene.facilitator, "comment", comment_id, "approve")
    assert approved.status_code == 200, approved.text
    assert await comments_count(session, scene.proposal.id) == 1
    comment_url = f"/v1/comments/{comment_id}"

    # Changing only the alignment changes no text: it stays published.
    aligned = await client.patch(
        comment_url, json={"alignment": "in_favor"}, headers=bearer(scene.member)
    )
    assert aligned.status_code == 200, aligned.text
    assert aligned.json()["moderation_status"] == "visible"
    # Any edit of the text waits for approval again: approving a text is not approving
    # whatever it becomes.
    edited = await client.patch(
        comment_url,
        json={"body": "Testo tutto diverso, mai approvato."},
        headers=bearer(scene.member),
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["moderation_status"] == "pending"
    assert edited.json()["body"] == "Testo tutto diverso, mai approvato."
    assert await comments_count(session, scene.proposal.id) == 0
    row = await moderation_row(session, "comment", comment_id)
    assert row is not None and (row.pending, row.open) == (True, True)
    event = (
        await session.exec(
            select(Event)
            .where(col(Event.subject_id) == row.target_id, col(Event.type) == "comment.updated")
            .order_by(col(Event.seq).desc())
        )
    ).first()
    assert event is not None and event.payload["held_for"] == "premoderation"
    # Not published: others do not see it; its author and the moderators do.
    for headers in ({}, bearer(scene.author)):
        assert (await client.get(url, headers=headers)).json()["items"] == []
    seen = (await client.get(url, headers=bearer(scene.facilitator))).json()["items"]
    assert [(c["id"], c["moderation_status"]) for c in seen] == [(comment_id, "pending")]
    # A further edit while pending keeps it pending, and the count where it is.
    again = await client.patch(
        comment_url, json={"body": "Ancora un altro testo."}, headers=bearer(scene.member)
    )
    assert again.json()["moderation_status"] == "pending"
    assert await comments_count(session, scene.proposal.id) == 0
    # Approved again: shown and counted once.
    assert (
        await act(client, scene.facilitator, "comment", comment_id, "approve")
    ).status_code == 200
    assert await comments_count(session, scene.proposal.id) == 1
    page = (await client.get(url)).json()["items"]
    assert [(c["id"], c["body"]) for c in page] == [(comment_id, "Ancora un altro testo.")]


async def test_a_moderators_own_edit_is_not_held(client, session):
    scene = await make_scene(session, premoderation=None, **YOUTH)
    await commit_setup(session)
    created = await client.post(
        comments_url("proposal", scene.proposal.id),
        json={"body": "Da facilitatrice."},
        headers=bearer(scene.facilitator),
    )
    assert created.json()["moderation_status"] == "visible"
    edited = await client.patch(
        f"/v1/comments/{created.json()['id']}",
        json={"body": "Da facilitatrice, corretto."},
        headers=bearer(scene.facilitator),
    )
    assert edited.status_code == 200 and edited.json()["moderation_status"] == "visible"
    assert await comments_count(session, scene.proposal.id) == 1
    assert await moderation_row(session, "comment", created.json()["id"]) is None


async def test_editing_an_approved_proposal_sends_it_back_for_approval(client, session):
    s = await make_scene(session, content=False, premoderation=None, **YOUTH)
    other = await make_user(session)
    await add_member(session, s.table, other)
    await commit_setup(session)
    table_url = f"/v1/tables/{s.table.id}/proposals"
    created = await client.post(
        table_url, json=new_proposal(s.nodes["1"].id), headers=bearer(s.member)
    )
    proposal_id = created.json()["id"]
    approved = await act(client, s.facilitator, "proposal", proposal_id, "approve")
    assert approved.status_code == 200, approved.text
    assert await listed_ids(client, table_url, bearer(other)) == [proposal_id]
    url = f"/v1/proposals/{proposal_id}"

    # Resending the same text, or changing only the nodes, edits no text: still shown.
    same = await client.patch(
        url,
        json={"title": "Coworking per i giovani", "node_ids": [str(s.nodes["4"].id)]},
        headers=bearer(s.member),
    )
    assert same.status_code == 200, same.text
    assert same.json()["moderation_status"] == "visible"
    assert await status_of(session, "proposal", proposal_id) == "visible"
    # Within the edit window, any new text waits for approval again.
    edited = await client.patch(
        url,
        json={"body": "Un testo tutto diverso, che nessuno ha approvato."},
        headers=bearer(s.member),
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["moderation_status"] == "pending"
    assert await status_of(session, "proposal", proposal_id) == "pending"
    row = await moderation_row(session, "proposal", proposal_id)
    assert row is not None and (row.pending, row.open) == (True, True)
    updated = (
        await session.exec(
            select(Event)
            .where(col(Event.subject_id) == row.target_id, col(Event.type) == "proposal.updated")
            .order_by(col(Event.seq).desc())
        )
    ).first()
    assert updated is not None and updated.payload["held_for"] == "premoderation"
    for headers in ({}, bearer(other)):
        assert await listed_ids(client, table_url, headers) == []
        assert_problem(await client.get(url, headers=headers), 404)
    assert await listed_ids(client, table_url, bearer(s.facilitator)) == [proposal_id]
    # Approved again, it is everyone's.
    assert (await act(client, s.facilitator, "proposal", proposal_id, "approve")).status_code == 200
    assert await listed_ids(client, table_url, bearer(other)) == [proposal_id]


async def test_a_facilitators_own_proposal_edit_is_not_held(client, session):
    s = await make_scene(session, content=False, premoderation=None, **YOUTH)
    await commit_setup(session)
    created = await client.post(
        f"/v1/tables/{s.table.id}/proposals",
        json=new_proposal(s.nodes["1"].id),
        headers=bearer(s.facilitator),
    )
    assert created.json()["moderation_status"] == "visible"
    edited = await client.patch(
        f"/v1/proposals/{created.json()['id']}",
        json={"title": "Coworking, corretto"},
        headers=bearer(s.facilitator),
    )
    assert edited.status_code == 200 and edited.json()["moderation_status"] == "visible"
    assert await moderation_row(session, "proposal", created.json()["id"]) is None
