"""The organization's word-list filter: its settings (admins only, validated, audited),
and content matching a blocked word — on creation and on edits — held for approval,
ignoring case and accents, on whole words only."""

import pytest
from sqlmodel import col, select

from app.models.moderation import AuditEntry
from app.models.organizations import Organization
from app.services.guards.content_filter import contains_blocked, find_blocked, fold
from tests.factories import (
    comments_count,
    commit_setup,
    make_comment,
    make_org,
    make_scene,
    make_user,
    moderation_row,
    set_blocked_words,
    status_of,
)
from tests.helpers import assert_problem, bearer, comments_url, listed_ids, new_proposal

# --- the matcher ----------------------------------------------------------------------


def test_fold_drops_case_and_accents():
    full_width = "\uff26\uff55\uff4c\uff4c"  # "Full" in full-width letters
    assert fold(f"Perché CITTÀ {full_width}") == "perche citta full"


@pytest.mark.parametrize(
    ("text", "blocked"),
    [
        ("Sei un CRETINO!", "cretino"),
        ("sei un cretìno", "cretino"),
        ("dell'Idiòta", "idiota"),
        ("una  Brutta\nparola qui", "brutta parola"),
        ("caffe", "caffè"),
        ("ASS", "ass"),
    ],
)
def test_blocked_words_match_ignoring_case_and_accents(text, blocked):
    words = ["cretino", "idiota", "brutta parola", "caffè", "ass"]
    assert find_blocked([text], words) == blocked.replace("è", "e")


@pytest.mark.parametrize(
    "text",
    ["L'assessore alla mobilità", "Passaggio pedonale", "class", "cretinopoli", "brutta"],
)
def test_only_whole_words_and_phrases_match(text):
    assert not contains_blocked([text], ["ass", "cretino", "brutta parola"])


def test_no_words_block_nothing():
    assert find_blocked(["qualsiasi cosa"], []) is None
    assert find_blocked([None, ""], ["ass"]) is None


# --- the settings ---------------------------------------------------------------------


async def test_admins_read_and_change_the_moderation_settings(client, session):
    admin = await make_user(session)
    org = await make_org(session, admin=admin)
    await commit_setup(session)
    url = f"/v1/organizations/{org.slug}/moderation/settings"
    got = await client.get(url, headers=bearer(admin))
    assert got.status_code == 200
    assert got.json() == {"report_threshold": 3, "blocked_words": []}
    changed = await client.patch(
        url,
        json={"report_threshold": 5, "blocked_words": [" Cretino ", "cretìno", "brutta parola"]},
        headers=bearer(admin),
    )
    assert changed.status_code == 200, changed.text
    # Trimmed, and the same word twice (case, accents) is kept once.
    expected = {"report_threshold": 5, "blocked_words": ["Cretino", "brutta parola"]}
    assert changed.json() == expected
    assert (await client.get(url, headers=bearer(admin))).json() == expected
    stored = await session.get(Organization, org.id, populate_existing=True)
    assert stored is not None
    assert stored.settings["report_threshold"] == 5
    assert stored.settings["blocked_words"] == ["Cretino", "brutta parola"]
    # Only the fields sent change; an unchanged value is not a change.
    again = await client.patch(url, json={"report_threshold": 5}, headers=bearer(admin))
    assert again.json() == expected
    audit = (
        await session.exec(
            select(AuditEntry).where(
                col(AuditEntry.organization_id) == org.id,
                col(AuditEntry.action) == "organization.moderation_settings_updated",
            )
        )
    ).all()
    assert len(audit) == 1
    assert (audit[0].actor_id, audit[0].target_type, audit[0].target_id) == (
        admin.id,
        "organization",
        org.id,
    )
    assert audit[0].data == {
        "fields": ["blocked_words", "report_threshold"],
        "report_threshold": 5,
        "blocked_words_count": 2,
    }


async def test_the_settings_are_the_organizations_admins_only(client, session):
    admin = await make_user(session)
    org = await make_org(session, admin=admin)
    other_admin = await make_user(session)
    await make_org(session, admin=other_admin)
    s = await make_scene(session, content=False)
    await commit_setup(session)
    url = f"/v1/organizations/{org.slug}/moderation/settings"
    for person in (other_admin, s.facilitator, s.member):
        assert_problem(await client.get(url, headers=bearer(person)), 404, "not_found")
        assert_problem(
            await client.patch(url, json={"report_threshold": 4}, headers=bearer(person)), 404
        )
    assert_problem(await client.get(url), 401)
    assert_problem(
        await client.get("/v1/organizations/nope/moderation/settings", headers=bearer(admin)),
        404,
    )
    platform = await make_user(session, platform_admin=True)
    await commit_setup(session)
    assert (await client.get(url, headers=bearer(platform))).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"report_threshold": 0},
        {"report_threshold": 101},
        {"report_threshold": "tre"},
        {"report_threshold": None},
        {"blocked_words": None},
        {"blocked_words": "cretino"},
        {"blocked_words": [""]},
        {"blocked_words": ["   "]},
        {"blocked_words": ["x" * 101]},
        {"blocked_words": [f"parola{i}" for i in range(501)]},
        {"blocked_words": ["\u0301"]},
        {"unknown": 1},
    ],
)
async def test_invalid_settings_are_refused(client, session, body):
    admin = await make_user(session)
    org = await make_org(session, admin=admin)
    await commit_setup(session)
    url = f"/v1/organizations/{org.slug}/moderation/settings"
    assert_problem(await client.patch(url, json=body, headers=bearer(admin)), 422)
    stored = await session.get(Organization, org.id, populate_existing=True)
    assert stored is not None and stored.settings == {}


async def test_the_limits_themselves_are_accepted(client, session):
    admin = await make_user(session)
    org = await make_org(session, admin=admin)
    await commit_setup(session)
    url = f"/v1/organizations/{org.slug}/moderation/settings"
    words = [f"parola{i}" for i in range(499)] + ["x" * 100]
    response = await client.patch(
        url, json={"report_threshold": 100, "blocked_words": words}, headers=bearer(admin)
    )
    assert response.status_code == 200, response.text
    assert len(response.json()["blocked_words"]) == 500
    one = await client.patch(url, json={"report_threshold": 1}, headers=bearer(admin))
    assert one.json()["report_threshold"] == 1


# --- content --------------------------------------------------------------------------


async def test_a_proposal_with_a_blocked_word_is_held(client, session):
    s = await make_scene(session, content=False)
    outsider = await make_user(session)
    await set_blocked_words(session, s.org, ["cretino", "ass"])
    await commit_setup(session)
    url = f"/v1/tables/{s.table.id}/proposals"
    node = s.nodes["1"].id
    held = await client.post(
        url,
        json=new_proposal(node, body="Chi ha progettato questa piazza è un CRETÌNO, rifacciamola."),
        headers=bearer(s.member),
    )
    assert held.status_code == 201, held.text
    assert held.json()["moderation_status"] == "pending"
    row = await moderation_row(session, "proposal", held.json()["id"])
    assert row is not None and row.pending and row.open and row.table_id == s.table.id
    # A word inside another is no match: published as usual.
    fine = await client.post(
        url,
        json=new_proposal(node, title="Un assessore ai giovani", body="L'assessore ascolti."),
        headers=bearer(s.member),
    )
    assert fine.status_code == 201 and fine.json()["moderation_status"] == "visible"
    assert await moderation_row(session, "proposal", fine.json()["id"]) is None
    assert await listed_ids(client, url, bearer(outsider)) == [fine.json()["id"]]
    # The table's facilitators are not filtered.
    own = await client.post(
        url, json=new_proposal(node, title="Cretino chi legge"), headers=bearer(s.facilitator)
    )
    assert own.json()["moderation_status"] == "visible"


async def test_an_edit_bringing_in_a_blocked_word_holds_published_content(client, session):
    s = await make_scene(session, content=False)
    await set_blocked_words(session, s.org, ["brutta parola"])
    await commit_setup(session)
    url = f"/v1/tables/{s.table.id}/proposals"
    created = await client.post(url, json=new_proposal(s.nodes["1"].id), headers=bearer(s.member))
    assert created.json()["moderation_status"] == "visible"
    proposal_id = created.json()["id"]
    edited = await client.patch(
        f"/v1/proposals/{proposal_id}",
        json={"title": "Una BRUTTA   parola nel titolo"},
        headers=bearer(s.member),
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["moderation_status"] == "pending"
    assert await status_of(session, "proposal", proposal_id) == "pending"
    row = await moderation_row(session, "proposal", proposal_id)
    assert row is not None and row.pending and row.open
    assert await listed_ids(client, url) == []
    # A draft is filtered when published, not before.
    draft = await client.post(
        url,
        json=new_proposal(s.nodes["1"].id, status="draft", body="Una brutta parola, in bozza."),
        headers=bearer(s.member),
    )
    assert draft.json()["moderation_status"] == "visible"
    published = await client.post(
        f"/v1/proposals/{draft.json()['id']}/publish", headers=bearer(s.member)
    )
    assert published.json()["moderation_status"] == "pending"


async def test_comments_with_blocked_words_are_held_on_creation_and_edit(client, session):
    scene = await make_scene(session)
    await set_blocked_words(session, scene.org, ["idiota"])
    org_id, table_id = scene.org.id, scene.table.id
    answered = await make_comment(
        session,
        scene.member,
        "proposal",
        scene.proposal.id,
        body="Bella idea",
        organization_id=org_id,
        table_id=table_id,
    )
    reply = await make_comment(
        session,
        scene.author,
        "proposal",
        scene.proposal.id,
        parent=answered,
        body="Grazie",
        organization_id=org_id,
        table_id=table_id,
    )
    await commit_setup(session)
    url = comments_url("proposal", scene.proposal.id)
    assert await comments_count(session, scene.proposal.id) == 2
    held = await client.post(url, json={"body": "Che IDIÒTA!"}, headers=bearer(scene.author))
    assert held.status_code == 201 and held.json()["moderation_status"] == "pending"
    assert await comments_count(session, scene.proposal.id) == 2
    assert await moderation_row(session, "comment", held.json()["id"]) is not None
    fine = await client.post(url, json={"body": "Idiotamente bello"}, headers=bearer(scene.author))
    assert fine.json()["moderation_status"] == "visible"
    assert await comments_count(session, scene.proposal.id) == 3
    # An edit bringing one in holds the comment again and takes it out of the count.
    edited = await client.patch(
        f"/v1/comments/{answered.id}",
        json={"body": "Bella idea, idiota"},
        headers=bearer(scene.member),
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["moderation_status"] == "pending"
    assert edited.json()["body"] == "Bella idea, idiota"
    assert await comments_count(session, scene.proposal.id) == 2
    row = await moderation_row(session, "comment", answered.id)
    assert row is not None and row.pending and row.open
    # For others: the new held comment is not listed; the edited one, already answered,
    # stays as a placeholder so that its reply is still reachable.
    public = {c["id"]: c for c in (await client.get(url)).json()["items"]}
    assert set(public) == {str(answered.id), fine.json()["id"]}
    placeholder = public[str(answered.id)]
    assert (placeholder["body"], placeholder["author"], placeholder["moderation_status"]) == (
        None,
        None,
        "pending",
    )
    assert [r["id"] for r in placeholder["replies"]] == [str(reply.id)]


async def test_comments_on_plan_nodes_follow_the_organizations_word_list(client, session):
    scene = await make_scene(session)
    await set_blocked_words(session, scene.org, ["idiota"])
    await commit_setup(session)
    url = comments_url("plan_node", scene.node.id)
    held = await client.post(url, json={"body": "Piano da idiota"}, headers=bearer(scene.member))
    assert held.status_code == 201, held.text
    assert held.json()["moderation_status"] == "pending"
    row = await moderation_row(session, "comment", held.json()["id"])
    assert row is not None and row.table_id is None and row.organization_id == scene.org.id
    assert (await client.get(url)).json()["items"] == []
    # Plan nodes are moderated by the organization's admins.
    admin = await make_user(session)
    from app.models.organizations import OrganizationRole

    session.add(OrganizationRole(organization_id=scene.org.id, user_id=admin.id, role="admin"))
    await commit_setup(session)
    seen = (await client.get(url, headers=bearer(admin))).json()["items"]
    assert [c["moderation_status"] for c in seen] == ["pending"]
