"""Proposals: who may put them forward, drafts, the author's edits, withdrawal and the
facilitators' answers."""

import uuid
from datetime import UTC, date, datetime

from sqlmodel import col, select

from app.models.events import Event
from app.models.proposals import Proposal, ProposalCoauthor
from tests.factories import (
    add_member,
    commit_setup,
    make_municipality,
    make_org,
    make_plan,
    make_proposal,
    make_scene,
    make_table,
    make_user,
    set_settings,
)
from tests.helpers import assert_problem, bearer, minutes_ago

BODY = "Chiediamo più spazi di coworking gratuiti per i giovani nei comuni dell'area."


def new_proposal(node_id, **fields):
    return {"title": "Coworking per i giovani", "body": BODY, "node_ids": [str(node_id)], **fields}


async def events_of(session, subject_id):
    rows = await session.exec(
        select(Event).where(col(Event.subject_id) == subject_id).order_by(col(Event.seq))
    )
    return list(rows.all())


async def test_a_member_puts_forward_a_proposal_on_the_tables_plan(client, session):
    s = await make_scene(session, content=False)
    bari = await make_municipality(session, s.org, "Bari")
    coauthor = await make_user(session, name="Luca")
    await add_member(session, s.table, coauthor)
    await commit_setup(session)
    body = new_proposal(
        s.nodes["4"].id, municipality_id=str(bari.id), coauthor_ids=[str(coauthor.id)]
    )
    response = await client.post(
        f"/v1/tables/{s.table.id}/proposals", json=body, headers=bearer(s.member)
    )
    assert response.status_code == 201, response.text
    p = response.json()
    assert response.headers["ETag"] == '"1"'
    assert response.headers["Location"] == f"/v1/proposals/{p['id']}"
    assert p["table_id"] == str(s.table.id) and p["organization_id"] == str(s.org.id)
    assert p["title"] == "Coworking per i giovani" and p["body"] == BODY
    assert p["author"] == {"id": str(s.member.id), "display_name": "Marco"}
    assert p["coauthors"] == [{"id": str(coauthor.id), "display_name": "Luca"}]
    assert p["node_ids"] == [str(s.nodes["4"].id)]
    assert p["municipality_id"] == str(bari.id)
    assert p["status"] == "published" and p["published_at"] is not None
    assert p["answer"] is None
    assert p["supports_count"] == 0 and p["comments_count"] == 0
    assert p["threshold_reached"] is False and p["supported_by_me"] is False
    assert p["editable_until"] is not None
    events = await events_of(session, uuid.UUID(p["id"]))
    assert [e.type for e in events] == ["proposal.created", "proposal.published"]
    assert events[0].actor_id == s.member.id and events[0].organization_id == s.org.id

    anonymous = await client.get(f"/v1/proposals/{p['id']}")
    assert anonymous.status_code == 200
    assert anonymous.json()["supported_by_me"] is None
    assert anonymous.json()["editable_until"] is None


async def test_proposal_input_is_validated_with_locations(client, session):
    s = await make_scene(session, content=False)
    other_org = await make_org(session)
    _, other_nodes = await make_plan(session, other_org)
    elsewhere = await make_municipality(session, other_org, "Milano")
    outsider = await make_user(session)
    await commit_setup(session)
    url = f"/v1/tables/{s.table.id}/proposals"
    headers = bearer(s.member)
    body = assert_problem(
        await client.post(
            url,
            json=new_proposal(s.nodes["1"].id)
            | {"node_ids": [str(s.nodes["1"].id), str(other_nodes["1"].id)]},
            headers=headers,
        ),
        422,
        "unknown_node",
    )
    assert body["errors"][0]["loc"] == ["body", "node_ids", 1]
    body = assert_problem(
        await client.post(
            url,
            json=new_proposal(s.nodes["1"].id, municipality_id=str(elsewhere.id)),
            headers=headers,
        ),
        422,
        "unknown_municipality",
    )
    assert body["errors"][0]["loc"] == ["body", "municipality_id"]
    body = assert_problem(
        await client.post(
            url,
            json=new_proposal(s.nodes["1"].id, coauthor_ids=[str(outsider.id)]),
            headers=headers,
        ),
        422,
        "unknown_coauthor",
    )
    assert body["errors"][0]["loc"] == ["body", "coauthor_ids", 0]
    body = assert_problem(
        await client.post(url, json=new_proposal(s.nodes["1"].id, title="ab"), headers=headers), 422
    )
    assert body["errors"][0]["loc"] == ["body", "title"]
    assert_problem(
        await client.post(
            url, json=new_proposal(s.nodes["1"].id) | {"node_ids": []}, headers=headers
        ),
        422,
    )
    assert (await session.exec(select(Proposal))).all() == []


async def test_who_may_propose_follows_the_table(client, session):
    s = await make_scene(session, content=False, membership_policy="request")
    outsider = await make_user(session)
    open_table = await make_table(session, s.org, plan_id=s.plan.id, membership_policy="open")
    youth = await make_table(
        session, s.org, plan_id=s.plan.id, membership_policy="open", max_age=35
    )
    private = await make_table(session, s.org, plan_id=s.plan.id, visibility="private")
    await commit_setup(session)
    node = s.nodes["1"].id
    assert_problem(
        await client.post(
            f"/v1/tables/{s.table.id}/proposals", json=new_proposal(node), headers=bearer(outsider)
        ),
        403,
        "not_a_member",
    )
    # An open public table: any verified person may propose, without joining.
    response = await client.post(
        f"/v1/tables/{open_table.id}/proposals", json=new_proposal(node), headers=bearer(outsider)
    )
    assert response.status_code == 201, response.text
    # … who meets its eligibility rules.
    body = assert_problem(
        await client.post(
            f"/v1/tables/{youth.id}/proposals", json=new_proposal(node), headers=bearer(outsider)
        ),
        403,
        "not_eligible",
    )
    assert body["errors"][0]["loc"] == ["user", "birth_date"]
    # A private table is invisible to non-members.
    assert_problem(
        await client.post(
            f"/v1/tables/{private.id}/proposals", json=new_proposal(node), headers=bearer(outsider)
        ),
        404,
    )
    assert_problem(
        await client.post(f"/v1/tables/{s.table.id}/proposals", json=new_proposal(node)), 401
    )


async def test_unverified_and_under_14_without_consent_cannot_propose(client, session):
    s = await make_scene(session, content=False)
    unverified = await make_user(session, verified=False)
    child = await make_user(session)
    child.birth_date = date(datetime.now(UTC).year - 12, 1, 1)
    for person in (unverified, child):
        await add_member(session, s.table, person)
    await commit_setup(session)
    url = f"/v1/tables/{s.table.id}/proposals"
    assert_problem(
        await client.post(url, json=new_proposal(s.nodes["1"].id), headers=bearer(unverified)),
        403,
        "email_not_verified",
    )
    assert_problem(
        await client.post(url, json=new_proposal(s.nodes["1"].id), headers=bearer(child)),
        403,
        "guardian_consent_required",
    )
    assert (await session.exec(select(Proposal))).all() == []


async def test_closed_proposals_and_closed_tables_refuse_new_proposals(client, session):
    s = await make_scene(session, content=False)
    closed = await make_table(session, s.org, plan_id=s.plan.id, status="closed")
    await add_member(session, closed, s.member)
    await set_settings(session, s.table, proposals_open=False)
    await commit_setup(session)
    body = new_proposal(s.nodes["1"].id)
    assert_problem(
        await client.post(
            f"/v1/tables/{s.table.id}/proposals", json=body, headers=bearer(s.member)
        ),
        409,
        "proposals_closed",
    )
    assert_problem(
        await client.post(f"/v1/tables/{closed.id}/proposals", json=body, headers=bearer(s.member)),
        409,
        "table_closed",
    )


async def test_drafts_are_seen_only_by_their_authors_until_published(client, session):
    s = await make_scene(session, content=False)
    other = await make_user(session)
    await add_member(session, s.table, other)
    await commit_setup(session)
    response = await client.post(
        f"/v1/tables/{s.table.id}/proposals",
        json=new_proposal(s.nodes["1"].id, status="draft"),
        headers=bearer(s.member),
    )
    assert response.status_code == 201, response.text
    draft = response.json()
    assert draft["status"] == "draft" and draft["published_at"] is None
    url = f"/v1/proposals/{draft['id']}"
    assert (await client.get(url, headers=bearer(s.member))).status_code == 200
    for headers in ({}, bearer(other), bearer(s.facilitator)):
        assert_problem(await client.get(url, headers=headers), 404)
        listed = await client.get(
            f"/v1/tables/{s.table.id}/proposals?status=draft", headers=headers
        )
        assert listed.status_code == 200 and listed.json()["items"] == []
    mine = await client.get(
        f"/v1/tables/{s.table.id}/proposals?status=draft", headers=bearer(s.member)
    )
    assert [p["id"] for p in mine.json()["items"]] == [draft["id"]]
    # Nobody else can publish it; its author can.
    assert_problem(await client.post(f"{url}/publish", headers=bearer(other)), 404)
    published = await client.post(f"{url}/publish", headers=bearer(s.member))
    assert published.status_code == 200, published.text
    assert published.json()["status"] == "published"
    assert published.json()["published_at"] is not None
    assert published.headers["ETag"] == '"2"'
    assert (await client.get(url, headers=bearer(other))).status_code == 200
    again = await client.post(f"{url}/publish", headers=bearer(s.member))
    assert again.status_code == 200 and again.headers["ETag"] == '"2"'
    types = [e.type for e in await events_of(session, uuid.UUID(draft["id"]))]
    assert types == ["proposal.created", "proposal.published"]


async def test_the_author_edits_within_the_window_with_if_match(client, session):
    s = await make_scene(session, content=False)
    other = await make_user(session)
    await add_member(session, s.table, other)
    proposal = await make_proposal(session, s.table, s.member)
    old = await make_proposal(session, s.table, s.member, published_at=minutes_ago(16))
    draft = await make_proposal(
        session, s.table, s.member, status="draft", created_at=minutes_ago(600)
    )
    await commit_setup(session)
    url = f"/v1/proposals/{proposal.id}"
    edit = {"title": "Titolo corretto dopo la pubblicazione", "node_ids": [str(s.nodes["9"].id)]}
    # Nobody edits another person's proposal: it is not found for them.
    assert_problem(await client.patch(url, json=edit, headers=bearer(other)), 404)
    assert_problem(await client.patch(url, json=edit, headers=bearer(s.facilitator)), 404)
    response = await client.patch(url, json=edit, headers=bearer(s.member) | {"If-Match": '"1"'})
    assert response.status_code == 200, response.text
    assert response.json()["title"] == edit["title"]
    assert response.json()["node_ids"] == [str(s.nodes["9"].id)]
    assert response.headers["ETag"] == '"2"'
    body = assert_problem(
        await client.patch(
            url, json={"title": "Un'altra modifica"}, headers=bearer(s.member) | {"If-Match": '"1"'}
        ),
        412,
        "stale_etag",
    )
    assert body["current_etag"] == '"2"'
    assert_problem(await client.patch(url, json={"title": None}, headers=bearer(s.member)), 422)
    # Past the 15-minute window; drafts stay editable.
    assert_problem(
        await client.patch(f"/v1/proposals/{old.id}", json=edit, headers=bearer(s.member)),
        409,
        "edit_window_closed",
    )
    assert (
        await client.patch(f"/v1/proposals/{draft.id}", json=edit, headers=bearer(s.member))
    ).status_code == 200
    stored = await session.get(Proposal, old.id)
    assert stored is not None and stored.title == "Una proposta di prova"
    events = await events_of(session, proposal.id)
    assert [e.type for e in events] == ["proposal.updated"]
    assert events[0].payload["fields"] == ["node_ids", "title"]


async def test_a_longer_edit_window_is_honoured(client, session):
    s = await make_scene(session, content=False)
    await set_settings(session, s.table, edit_window_minutes=60)
    proposal = await make_proposal(session, s.table, s.member, published_at=minutes_ago(30))
    await commit_setup(session)
    response = await client.patch(
        f"/v1/proposals/{proposal.id}", json={"title": "Nuovo titolo"}, headers=bearer(s.member)
    )
    assert response.status_code == 200, response.text


async def test_the_author_withdraws_and_cannot_edit_afterwards(client, session):
    s = await make_scene(session, content=False)
    proposal = await make_proposal(session, s.table, s.member)
    await commit_setup(session)
    url = f"/v1/proposals/{proposal.id}"
    assert_problem(await client.post(f"{url}/withdraw", headers=bearer(s.facilitator)), 404)
    response = await client.post(f"{url}/withdraw", headers=bearer(s.member))
    assert response.status_code == 200 and response.json()["status"] == "withdrawn"
    assert_problem(
        await client.patch(url, json={"title": "Ripensamento"}, headers=bearer(s.member)),
        409,
        "proposal_withdrawn",
    )
    listed = await client.get(f"/v1/tables/{s.table.id}/proposals")
    assert listed.json()["items"] == []
    withdrawn = await client.get(f"/v1/tables/{s.table.id}/proposals?status=withdrawn")
    assert [p["id"] for p in withdrawn.json()["items"]] == [str(proposal.id)]
    types = [e.type for e in await events_of(session, proposal.id)]
    assert types == ["proposal.withdrawn"]


async def test_facilitators_answer_their_tables_proposals_only(client, session):
    s = await make_scene(session, content=False)
    other_table = await make_table(session, s.org, plan_id=s.plan.id)
    other_facilitator = await make_user(session)
    await add_member(session, other_table, other_facilitator, role="facilitator")
    proposal = await make_proposal(session, s.table, s.member)
    await commit_setup(session)
    url = f"/v1/proposals/{proposal.id}/answer"
    answer = {"state": "accepted", "answer": "La proposta entra nel piano operativo 2026."}
    for person in (other_facilitator, s.member):
        assert_problem(await client.post(url, json=answer, headers=bearer(person)), 404)
    body = assert_problem(
        await client.post(url, json={"state": "rejected"}, headers=bearer(s.facilitator)),
        422,
        "answer_required",
    )
    assert body["errors"][0]["loc"] == ["body", "answer"]
    response = await client.post(url, json=answer, headers=bearer(s.facilitator))
    assert response.status_code == 200, response.text
    got = response.json()["answer"]
    assert got["state"] == "accepted" and got["text"] == answer["answer"]
    assert got["answered_at"] is not None
    assert response.json()["status"] == "published"
    # Org admins answer too, and may move it on to implemented.
    implemented = await client.post(
        url, json={"state": "implemented", "answer": "Fatto."}, headers=bearer(s.admin)
    )
    assert implemented.status_code == 200
    assert implemented.json()["answer"]["state"] == "implemented"
    # Answered proposals are listed by their answer state, and can no longer be edited
    # or withdrawn.
    listed = await client.get(f"/v1/tables/{s.table.id}/proposals?status=implemented")
    assert [p["id"] for p in listed.json()["items"]] == [str(proposal.id)]
    assert (await client.get(f"/v1/tables/{s.table.id}/proposals?status=accepted")).json()[
        "items"
    ] == []
    assert_problem(
        await client.patch(
            f"/v1/proposals/{proposal.id}", json={"title": "Nuovo"}, headers=bearer(s.member)
        ),
        409,
        "proposal_answered",
    )
    assert_problem(
        await client.post(f"/v1/proposals/{proposal.id}/withdraw", headers=bearer(s.member)),
        409,
        "proposal_answered",
    )
    events = await events_of(session, proposal.id)
    assert [(e.type, e.payload["state"]) for e in events] == [
        ("proposal.answered", "accepted"),
        ("proposal.answered", "implemented"),
    ]


async def test_private_tables_proposals_are_hidden_from_outsiders(client, session):
    s = await make_scene(session, content=False, visibility="private")
    outsider = await make_user(session)
    proposal = await make_proposal(session, s.table, s.member)
    await commit_setup(session)
    for headers in ({}, bearer(outsider)):
        assert_problem(await client.get(f"/v1/proposals/{proposal.id}", headers=headers), 404)
        assert_problem(await client.get(f"/v1/tables/{s.table.id}/proposals", headers=headers), 404)
        assert_problem(
            await client.get(f"/v1/proposals/{proposal.id}/similar", headers=headers), 404
        )
    assert (
        await client.get(f"/v1/proposals/{proposal.id}", headers=bearer(s.member))
    ).status_code == 200


async def test_a_deleted_authors_proposal_stays_authorless(client, session):
    s = await make_scene(session, content=False)
    coauthor = await make_user(session)
    await add_member(session, s.table, coauthor)
    proposal = await make_proposal(session, s.table, s.member)
    session.add(ProposalCoauthor(proposal_id=proposal.id, user_id=coauthor.id))
    s.member.deleted_at = datetime.now(UTC)
    s.member.email = None
    await commit_setup(session)
    body = (await client.get(f"/v1/proposals/{proposal.id}")).json()
    assert body["author"] is None
    assert body["coauthors"] == [{"id": str(coauthor.id), "display_name": "Test Person"}]
