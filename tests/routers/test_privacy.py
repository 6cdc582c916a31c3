"""Privacy: the personal data export (everything about the caller, nobody else's, no poll
choices, bounded queries) and account deletion (anonymized, contributions kept
authorless, exact counts, no more sign-in)."""

import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlmodel import col, select

from app.models.accounts import RefreshToken, User
from app.models.comments import Comment, CommentVote
from app.models.events import Event
from app.models.meetings import MeetingRegistration
from app.models.moderation import AuditEntry, Moderation, Report, ReportReason, Suspension
from app.models.organizations import OrganizationRole
from app.models.polls import Poll
from app.models.proposals import Proposal, ProposalCoauthor, ProposalSupport
from app.models.tables import TableMembership
from app.services.accounts.anonymize import DELETED_DISPLAY_NAME
from tests.factories import (
    PASSWORD,
    Scene,
    add_member,
    comments_count,
    commit_setup,
    make_comment,
    make_meeting,
    make_municipality,
    make_org,
    make_proposal,
    make_scene,
    make_user,
)
from tests.helpers import assert_problem, bearer, login, refresh


@dataclass
class People:
    scene: Scene
    person: User  # the scene's author ("Giulia")
    other: User
    draft: Proposal
    hidden: Proposal
    others_proposal: Proposal
    comment: Comment
    deleted_comment: Comment
    others_comment: Comment
    facilitators_comment: Comment
    supported: Proposal


async def _report(
    session, scene: Scene, reporter: User, target: Proposal, reason: ReportReason
) -> Report:
    moderation = (
        await session.exec(select(Moderation).where(col(Moderation.target_id) == target.id))
    ).one_or_none()
    if moderation is None:
        moderation = Moderation(
            organization_id=scene.org.id,
            table_id=scene.table.id,
            target_type="proposal",
            target_id=target.id,
            open=True,
        )
    moderation.report_count += 1
    session.add(moderation)
    await session.flush()
    report = Report(
        moderation_id=moderation.id, reporter_id=reporter.id, reason=reason, details=reason
    )
    session.add(report)
    await session.flush()
    return report


async def _people(session) -> People:
    """The scene's author ("Giulia") with something of everything, and another person
    with data of their own."""
    scene = await make_scene(session)
    person = scene.author
    municipality = await make_municipality(session, scene.org, "Bitonto")
    person.birth_date = date(1990, 5, 17)
    person.municipality_id = municipality.id
    session.add(person)
    other = await make_user(session, name="Ottavio Altri")
    await add_member(session, scene.table, other)

    draft = await make_proposal(session, scene.table, person, status="draft", title="Bozza mia")
    hidden = await make_proposal(session, scene.table, person, title="Proposta nascosta")
    hidden.moderation_status = "hidden"
    session.add(hidden)
    facilitators = await make_proposal(session, scene.table, scene.facilitator, title="Del tutor")
    session.add(ProposalCoauthor(proposal_id=facilitators.id, user_id=person.id))
    others_proposal = await make_proposal(session, scene.table, other, title="Di Ottavio")

    on: dict[str, Any] = {"organization_id": scene.org.id, "table_id": scene.table.id}
    comment = await make_comment(session, person, "proposal", facilitators.id, **on, body="Mio")
    deleted_comment = await make_comment(session, person, "proposal", facilitators.id, **on)
    deleted_comment.deleted_at = datetime.now(UTC)
    deleted_comment.body = None
    session.add(deleted_comment)
    facilitators_comment = await make_comment(
        session, scene.facilitator, "proposal", facilitators.id, **on, body="Del tutor"
    )
    others_comment = await make_comment(
        session, other, "proposal", others_proposal.id, **on, body="Commento di Ottavio"
    )
    session.add(CommentVote(comment_id=facilitators_comment.id, user_id=person.id, value=1))
    session.add(CommentVote(comment_id=comment.id, user_id=other.id, value=-1))
    facilitators_comment.upvotes = 1
    comment.downvotes = 1
    session.add_all([facilitators_comment, comment])
    for supporter in (person, other):
        session.add(
            ProposalSupport(
                proposal_id=facilitators.id, user_id=supporter.id, table_id=scene.table.id
            )
        )
    facilitators.supports_count = 2
    session.add(facilitators)
    session.add(
        ProposalSupport(proposal_id=others_proposal.id, user_id=other.id, table_id=scene.table.id)
    )
    others_proposal.supports_count = 1
    session.add(others_proposal)

    await _report(session, scene, person, facilitators, "spam")
    # A report AGAINST the person's proposal: never in their export.
    await _report(session, scene, other, scene.proposal, "offensive")
    await _report(session, scene, other, facilitators, "off_topic")
    session.add(
        Suspension(
            organization_id=scene.org.id,
            user_id=person.id,
            reason="Vecchia sospensione",
            created_at=datetime.now(UTC) - timedelta(days=30),
            ends_at=datetime.now(UTC) - timedelta(days=20),
        )
    )
    session.add(
        Suspension(
            organization_id=scene.org.id,
            user_id=other.id,
            reason="Sospensione di Ottavio",
            lifted_at=datetime.now(UTC),
        )
    )
    admin_org = await make_org(session, admin=person)
    assert admin_org
    await session.flush()
    return People(
        scene=scene,
        person=person,
        other=other,
        draft=draft,
        hidden=hidden,
        others_proposal=others_proposal,
        comment=comment,
        deleted_comment=deleted_comment,
        others_comment=others_comment,
        facilitators_comment=facilitators_comment,
        supported=facilitators,
    )


async def _vote_and_register(client, people: People) -> dict[uuid.UUID, str]:
    """Ballots and registrations through the API, so they are stored as in real life."""
    scene = people.scene
    ballots = f"/v1/polls/{scene.poll.id}/ballots"
    for who, option in ((people.person, 0), (people.other, 1)):
        response = await client.post(
            ballots, json={"option_ids": [str(scene.options[option].id)]}, headers=bearer(who)
        )
        assert response.status_code == 201, response.text
    codes = {}
    for who in (people.person, people.other):
        response = await client.post(
            f"/v1/meetings/{scene.meeting.id}/registrations", headers=bearer(who)
        )
        assert response.status_code == 201, response.text
        codes[who.id] = response.json()["check_in_code"]
    return codes


async def test_export_has_my_data_and_nobody_elses(client, session, query_counter):
    people = await _people(session)
    await commit_setup(session)
    codes = await _vote_and_register(client, people)
    person, other, scene = people.person, people.other, people.scene
    await login(client, person.email)  # an active sign-in

    query_counter.reset()
    response = await client.get("/v1/me/export", headers=bearer(person))
    queries = query_counter.count
    assert response.status_code == 200, response.text
    day = datetime.now(UTC).date()
    disposition = response.headers["content-disposition"]
    assert re.fullmatch(
        r'attachment; filename="consulta-export-\d{4}-\d{2}-\d{2}\.json"', disposition
    )
    assert abs((date.fromisoformat(disposition[-16:-6]) - day).days) <= 1
    data = response.json()
    text = response.text

    assert data["format"] == "consulta.export/v1" and data["generated_at"]
    profile = data["profile"]
    assert profile["email"] == person.email and profile["birth_date"] == "1990-05-17"
    assert profile["municipality"]["name"] == "Bitonto"
    assert data["guardian_consent"] == {"required": False, "recorded": False, "consented_on": None}
    assert [r["role"] for r in data["roles"]] == ["admin"]
    assert {m["table_id"] for m in data["memberships"]} == {str(scene.table.id)}
    [registration] = data["meeting_registrations"]
    assert registration["check_in_code"] == codes[person.id]
    assert registration["meeting_title"] == {"it": "Incontro"}
    proposals = {p["id"]: p for p in data["proposals"]}
    assert set(proposals) == {str(scene.proposal.id), str(people.draft.id), str(people.hidden.id)}
    assert proposals[str(people.draft.id)]["status"] == "draft"
    assert proposals[str(people.hidden.id)]["moderation_status"] == "hidden"
    assert data["coauthorships"] == [
        {"proposal_id": str(people.supported.id), "title": "Del tutor", "status": "published"}
    ]
    comments = {c["id"]: c for c in data["comments"]}
    assert set(comments) == {str(people.comment.id), str(people.deleted_comment.id)}
    assert comments[str(people.deleted_comment.id)]["deleted"] is True
    assert comments[str(people.deleted_comment.id)]["body"] is None
    assert comments[str(people.comment.id)]["body"] == "Mio"
    assert data["comment_votes"] == [
        {
            "comment_id": str(people.facilitators_comment.id),
            "value": 1,
            "created_at": data["comment_votes"][0]["created_at"],
            "updated_at": data["comment_votes"][0]["updated_at"],
        }
    ]
    assert [s["proposal_id"] for s in data["supports"]] == [str(people.supported.id)]
    [participation] = data["poll_participations"]
    assert participation["poll_id"] == str(scene.poll.id)
    assert set(participation) == {"poll_id", "table_id", "question", "voted_at"}
    [report] = data["reports_filed"]
    assert report["reason"] == "spam" and report["target_id"] == str(people.supported.id)
    [suspension] = data["suspensions"]
    assert suspension["reason"] == "Vecchia sospensione" and suspension["active"] is False
    assert len(data["sign_ins"]) == 1
    assert set(data["sign_ins"][0]) == {
        "family_id",
        "signed_in_at",
        "last_refreshed_at",
        "expires_at",
    }
    activity = {a["type"]: a["count"] for a in data["activity"]}
    assert activity["poll.ballot_cast"] == 1 and activity["user.signed_in"] == 1
    assert "reports_against_you" in data["not_included"]

    # Nobody else's data: ids, email, name, texts, codes, reports against the person.
    others_report = (
        await session.exec(select(Report.id).where(col(Report.reporter_id) == other.id))
    ).all()
    for secret in [
        str(other.id),
        other.email,
        "Ottavio",
        str(people.others_proposal.id),
        str(people.others_comment.id),
        codes[other.id],
        "Sospensione di Ottavio",
        "offensive",
        *[str(r) for r in others_report],
    ]:
        assert secret not in text, secret
    # No poll choices: no option id, no per-option count.
    for option in scene.options:
        assert str(option.id) not in text
    assert "votes_count" not in text and "option" not in text
    # No secrets either.
    assert "$argon2" not in text and "password_hash" not in text and "token_hash" not in text
    tokens = (
        await session.exec(
            select(RefreshToken.token_hash).where(col(RefreshToken.user_id) == person.id)
        )
    ).all()
    assert tokens and not any(t in text for t in tokens)

    # A fixed number of queries, whatever the amount of data.
    for i in range(5):
        extra = await make_proposal(session, scene.table, person, title=f"Altra proposta {i}")
        await make_comment(
            session, person, "proposal", extra.id, organization_id=scene.org.id, body=f"c{i}"
        )
        session.add(
            ProposalSupport(proposal_id=extra.id, user_id=person.id, table_id=scene.table.id)
        )
    await commit_setup(session)
    await login(client, person.email)
    query_counter.reset()
    again = await client.get("/v1/me/export", headers=bearer(person))
    assert again.status_code == 200
    assert len(again.json()["proposals"]) == 8 and len(again.json()["sign_ins"]) == 2
    assert query_counter.count == queries, (queries, query_counter.count)
    # One query per section (surveys: participations and named answers; live
    # questions and likes; conversations' statements and votes;
    # sortition applications).
    assert queries <= 28

    assert_problem(await client.get("/v1/me/export"), 401)


async def test_export_of_a_minor_shows_the_consent(client, session):
    scene = await make_scene(session)
    minor = await make_user(session, name="Luca")
    minor.birth_date = datetime.now(UTC).date() - timedelta(days=365 * 13 + 100)
    minor.guardian_consent_at = datetime.now(UTC) - timedelta(days=2)
    minor.guardian_consent_by_id = scene.facilitator.id
    session.add(minor)
    await commit_setup(session)
    data = (await client.get("/v1/me/export", headers=bearer(minor))).json()
    assert data["guardian_consent"]["required"] is True
    assert data["guardian_consent"]["recorded"] is True
    # Staff identities are left out.
    assert str(scene.facilitator.id) not in json.dumps(data)


async def test_deleting_the_account_anonymizes_and_keeps_contributions(client, session):
    people = await _people(session)
    # A seat for the person, a waiting-list place for another: deletion frees the seat.
    meeting = await make_meeting(session, people.scene.table, capacity=1)
    waiting = await make_user(session)
    await commit_setup(session)
    scene, person, other = people.scene, people.person, people.other
    await _vote_and_register(client, people)
    for who in (person, waiting):
        assert (
            await client.post(f"/v1/meetings/{meeting.id}/registrations", headers=bearer(who))
        ).status_code == 201
    signed_in = await login(client, person.email)
    old_token = {"Authorization": f"Bearer {signed_in['access_token']}"}
    email = person.email
    assert email is not None

    supports_before = (await session.get(Proposal, people.supported.id)).supports_count
    poll_before = (await session.get(Poll, scene.poll.id)).ballots_count
    assert (supports_before, poll_before) == (2, 2)

    assert_problem(
        await client.request("DELETE", "/v1/me", json={"password": "sbagliata"}, headers=old_token),
        403,
        "wrong_password",
    )
    missing = assert_problem(
        await client.request("DELETE", "/v1/me", json={}, headers=old_token), 422
    )
    assert missing["errors"][0]["loc"] == ["body", "password"]
    deleted = await client.request(
        "DELETE", "/v1/me", json={"password": PASSWORD}, headers=old_token
    )
    assert deleted.status_code == 204, deleted.text

    # The old token is refused; signing in fails exactly like a wrong password.
    assert_problem(await client.get("/v1/me", headers=old_token), 401)
    gone = await client.post(
        "/v1/auth/token", data={"grant_type": "password", "username": email, "password": PASSWORD}
    )
    wrong = await client.post(
        "/v1/auth/token",
        data={"grant_type": "password", "username": other.email, "password": "sbagliata"},
    )
    assert gone.status_code == wrong.status_code == 400
    assert {k: v for k, v in gone.json().items() if k != "instance"} == {
        k: v for k, v in wrong.json().items() if k != "instance"
    }
    assert_problem(
        await refresh(client, signed_in["refresh_token"]),
        401,
    )

    # The account row: nothing personal left.
    user = await session.get(User, person.id)
    assert user is not None
    await session.refresh(user)
    assert user.email is None and user.password_hash is None and user.birth_date is None
    assert user.municipality_id is None and user.display_name == DELETED_DISPLAY_NAME
    assert user.deleted_at is not None and user.tokens_invalid_before is not None

    # Public contributions stay, authorless, with no personal data.
    viewer = bearer(other)
    proposal = await client.get(f"/v1/proposals/{scene.proposal.id}", headers=viewer)
    assert proposal.status_code == 200
    assert proposal.json()["author"] is None and proposal.json()["title"]
    listed = await client.get(f"/v1/tables/{scene.table.id}/proposals", headers=viewer)
    mine = [p for p in listed.json()["items"] if p["id"] == str(scene.proposal.id)]
    assert mine and mine[0]["author"] is None
    coauthored = await client.get(f"/v1/proposals/{people.supported.id}", headers=viewer)
    assert coauthored.json()["coauthors"] == []
    thread = await client.get(f"/v1/proposals/{people.supported.id}/comments", headers=viewer)
    kept = [c for c in thread.json()["items"] if c["id"] == str(people.comment.id)]
    assert kept and kept[0]["author"] is None and kept[0]["body"] == "Mio"
    for response in (proposal, listed, coauthored, thread):
        assert "Giulia" not in response.text and email not in response.text
        assert str(person.id) not in response.text
    assert (
        await session.exec(select(Proposal).where(col(Proposal.author_id) == person.id))
    ).all() == []
    assert await session.get(Proposal, people.draft.id) is None
    assert (
        await session.exec(select(Comment).where(col(Comment.author_id) == person.id))
    ).all() == []

    # Counts stay exact: supports, comment votes and ballots are kept as anonymous rows.
    supported = await session.get(Proposal, people.supported.id)
    assert supported is not None
    await session.refresh(supported)
    rows = (
        await session.exec(
            select(ProposalSupport).where(col(ProposalSupport.proposal_id) == supported.id)
        )
    ).all()
    assert supported.supports_count == len(rows) == supports_before
    voted = await session.get(Comment, people.facilitators_comment.id)
    assert voted is not None
    await session.refresh(voted)
    assert voted.upvotes == 1
    poll = await session.get(Poll, scene.poll.id)
    assert poll is not None
    await session.refresh(poll)
    assert poll.ballots_count == poll_before

    # Memberships and roles gone; registrations cancelled and the waiting list moved up.
    assert (
        await session.exec(select(TableMembership).where(col(TableMembership.user_id) == person.id))
    ).all() == []
    assert (
        await session.exec(
            select(OrganizationRole).where(col(OrganizationRole.user_id) == person.id)
        )
    ).all() == []
    registrations = {
        r.user_id: r.status
        for r in (
            await session.exec(
                select(MeetingRegistration).where(col(MeetingRegistration.meeting_id) == meeting.id)
            )
        ).all()
    }
    assert registrations == {person.id: "cancelled", waiting.id: "registered"}

    # Audited without personal data.
    audit = (
        await session.exec(
            select(AuditEntry).where(
                col(AuditEntry.target_id) == person.id, col(AuditEntry.action) == "user.deleted"
            )
        )
    ).one()
    assert audit.data["proposals_kept_authorless"] == 2
    assert audit.data["drafts_deleted"] == 1
    assert audit.data["registrations_cancelled"] == 2
    payloads = (
        await session.exec(select(Event.payload).where(col(Event.actor_id) == person.id))
    ).all()
    assert email not in str(payloads) and "Giulia" not in str(payloads)

    # And it cannot be deleted twice: the token is dead.
    assert_problem(
        await client.request("DELETE", "/v1/me", json={"password": PASSWORD}, headers=old_token),
        401,
    )


async def test_wrong_passwords_are_throttled(client, session):
    person = await make_user(session)
    await commit_setup(session)
    headers = bearer(person)
    for _ in range(5):
        assert_problem(
            await client.request("DELETE", "/v1/me", json={"password": "no"}, headers=headers),
            403,
            "wrong_password",
        )
    assert_problem(
        await client.request("DELETE", "/v1/me", json={"password": PASSWORD}, headers=headers),
        429,
        "too_many_attempts",
    )
    assert (await session.get(User, person.id)).deleted_at is None


async def test_deleting_a_minimal_account(client, session):
    person = await make_user(session)
    await commit_setup(session)
    response = await client.request(
        "DELETE", "/v1/me", json={"password": PASSWORD}, headers=bearer(person)
    )
    assert response.status_code == 204, response.text
    assert_problem(await client.get("/v1/me", headers=bearer(person)), 401)
    assert_problem(await client.request("DELETE", "/v1/me", json={"password": PASSWORD}), 401)
    assert uuid.UUID(str(person.id))


async def test_deleting_the_account_removes_what_still_awaits_approval(client, session):
    # On a pre-moderated table: nothing of the person's that a moderator has not approved
    # may be published once they erased their account.
    scene = await make_scene(session, premoderation=None, min_age=16, max_age=35)
    await commit_setup(session)
    person, facilitator = scene.author, scene.facilitator
    thread = f"/v1/proposals/{scene.proposal.id}/comments"

    async def approve(target_type, target_id):
        body = {
            "target_type": target_type,
            "target_id": str(target_id),
            "action": "approve",
            "reason": "Va bene.",
        }
        return await client.post("/v1/moderation/actions", json=body, headers=bearer(facilitator))

    created = await client.post(
        f"/v1/tables/{scene.table.id}/proposals",
        json={
            "title": "Una sala prove per le band",
            "body": "Chiediamo una sala prove comunale aperta ai gruppi giovanili.",
            "node_ids": [str(scene.node.id)],
        },
        headers=bearer(person),
    )
    assert created.status_code == 201 and created.json()["moderation_status"] == "pending"
    pending_proposal = uuid.UUID(created.json()["id"])
    # A moderator's comment on it, never shown to anyone else.
    on_pending = await client.post(
        f"/v1/proposals/{pending_proposal}/comments",
        json={"body": "Ci sentiamo prima di approvarla."},
        headers=bearer(facilitator),
    )
    assert on_pending.status_code == 201, on_pending.text

    async def write(body, **extra):
        response = await client.post(thread, json={"body": body, **extra}, headers=bearer(person))
        assert response.status_code == 201, response.text
        assert response.json()["moderation_status"] == "pending"
        return uuid.UUID(response.json()["id"])

    waiting = await write("Mai approvato.")
    kept = await write("Approvato e pubblicato.")
    answered = await write("Approvato, con una risposta.")
    for comment_id in (kept, answered):
        assert (await approve("comment", comment_id)).status_code == 200
    reply = await client.post(
        thread,
        json={"body": "La risposta della facilitatrice.", "parent_id": str(answered)},
        headers=bearer(facilitator),
    )
    assert reply.status_code == 201, reply.text
    # Edited after approval: pending again, with a reply under it.
    edited = await client.patch(
        f"/v1/comments/{answered}",
        json={"body": "Testo nuovo, mai approvato."},
        headers=bearer(person),
    )
    assert edited.json()["moderation_status"] == "pending"
    count_before = await comments_count(session, scene.proposal.id)
    assert count_before == 2  # `kept` and the reply

    deleted = await client.request(
        "DELETE", "/v1/me", json={"password": PASSWORD}, headers=bearer(person)
    )
    assert deleted.status_code == 204, deleted.text

    # The pending proposal is gone, with the comments on it; nothing left to approve.
    assert await session.get(Proposal, pending_proposal) is None
    assert (
        await session.exec(select(Comment).where(col(Comment.target_id) == pending_proposal))
    ).all() == []
    assert_problem(await approve("proposal", pending_proposal), 404)
    # The pending comment without replies is gone; the one with a reply is erased in place.
    assert (await session.exec(select(Comment).where(col(Comment.id) == waiting))).first() is None
    assert_problem(await approve("comment", waiting), 404)
    erased = (
        await session.exec(
            select(Comment)
            .where(col(Comment.id) == answered)
            .execution_options(populate_existing=True)
        )
    ).one()
    assert (erased.body, erased.author_id) == (None, None) and erased.deleted_at is not None
    # Their moderation items are closed: out of every queue.
    for target_type, target_id in (
        ("proposal", pending_proposal),
        ("comment", waiting),
        ("comment", answered),
        ("comment", uuid.UUID(on_pending.json()["id"])),
    ):
        row = (
            await session.exec(
                select(Moderation)
                .where(
                    col(Moderation.target_type) == target_type,
                    col(Moderation.target_id) == target_id,
                )
                .execution_options(populate_existing=True)
            )
        ).one_or_none()
        assert row is None or (row.open, row.pending) == (False, False), target_type
    queue = await client.get(f"/v1/tables/{scene.table.id}/moderation", headers=bearer(facilitator))
    assert queue.status_code == 200 and queue.json()["items"] == []
    # What was approved stays, authorless; the thread keeps the reply; counts are exact.
    assert await comments_count(session, scene.proposal.id) == count_before
    public = (await client.get(thread)).json()["items"]
    by_id = {c["id"]: c for c in public}
    assert (
        by_id[str(kept)]["body"] == "Approvato e pubblicato." and by_id[str(kept)]["author"] is None
    )
    placeholder = by_id[str(answered)]
    assert (placeholder["body"], placeholder["author"], placeholder["deleted"]) == (
        None,
        None,
        True,
    )
    assert [r["id"] for r in placeholder["replies"]] == [reply.json()["id"]]
    assert "mai approvato" not in (await client.get(thread, headers=bearer(facilitator))).text
    audit = (
        await session.exec(
            select(AuditEntry).where(
                col(AuditEntry.target_id) == person.id, col(AuditEntry.action) == "user.deleted"
            )
        )
    ).one()
    assert audit.data["pending_proposals_deleted"] == 1
    assert audit.data["pending_comments_deleted"] == 2
    assert audit.data["proposals_kept_authorless"] == 1


async def test_deleting_the_account_forgets_its_registration_replay(committing_client):
    # The answer to a registration sent with an Idempotency-Key is kept for replays under
    # the address it came from, with the person's email and birth date in it: erasing the
    # account erases it too.
    from sqlalchemy import text

    from app.db import get_engine

    client = committing_client
    body = {
        "email": "dimenticami@example.org",
        "password": "una frase lunga",
        "display_name": "Dimenticami",
        "birth_date": "2001-02-03",
    }
    headers = {"Idempotency-Key": "registrazione-1"}
    registered = await client.post("/v1/auth/register", json=body, headers=headers)
    assert registered.status_code == 201, registered.text
    first_id = registered.json()["id"]

    async def stored() -> int:
        async with get_engine().connect() as conn:
            found = await conn.scalar(
                text(
                    "SELECT count(*) FROM idempotency_records "
                    "WHERE encode(response_body, 'escape') LIKE :needle"
                ),
                {"needle": f"%{first_id}%"},
            )
        return int(found or 0)

    # Registered on a shared tablet where someone else is signed in: kept under them.
    parent = await client.post(
        "/v1/auth/register",
        json={"email": "genitore@example.org", "password": "una frase lunga", "display_name": "G"},
    )
    assert parent.status_code == 201
    parent_tokens = await login(client, "genitore@example.org", "una frase lunga")
    sibling_body = {**body, "email": "fratello@example.org", "display_name": "Fratello"}
    sibling = await client.post(
        "/v1/auth/register",
        json=sibling_body,
        headers={**headers, "Authorization": f"Bearer {parent_tokens['access_token']}"},
    )
    assert sibling.status_code == 201, sibling.text
    sibling_id = sibling.json()["id"]

    assert await stored() == 1
    tokens = await login(client, body["email"], body["password"])
    erased = await client.request(
        "DELETE",
        "/v1/me",
        json={"password": body["password"]},
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )
    assert erased.status_code == 204, erased.text
    assert await stored() == 0
    sibling_tokens = await login(client, sibling_body["email"], sibling_body["password"])
    assert (
        await client.request(
            "DELETE",
            "/v1/me",
            json={"password": sibling_body["password"]},
            headers={"Authorization": f"Bearer {sibling_tokens['access_token']}"},
        )
    ).status_code == 204
    async with get_engine().connect() as conn:
        left = await conn.scalar(
            text(
                "SELECT count(*) FROM idempotency_records "
                "WHERE encode(response_body, 'escape') LIKE :needle"
            ),
            {"needle": f"%{sibling_id}%"},
        )
    assert left == 0
    # The same request now runs again: a new account, not the erased one's answer.
    again = await client.post("/v1/auth/register", json=body, headers=headers)
    assert again.status_code == 201, again.text
    assert again.json()["id"] != first_id
