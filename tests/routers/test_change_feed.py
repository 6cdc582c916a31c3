"""The change feed: public changes with their subjects' current public representation,
tombstones, private tables left out, cursors that never skip a late committer."""

import asyncio
import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from app.db import get_sessionmaker
from app.event_types import EventType
from app.events import record_event
from tests.factories import make_proposal, make_scene, make_table
from tests.factories.integrations import client_headers
from tests.helpers import assert_problem, bearer


async def _committed_scene():
    async with get_sessionmaker()() as session:
        s = await make_scene(session, content=False)
        proposal = await make_proposal(session, s.table, s.member)
        private = await make_table(session, s.org, visibility="private", plan_id=s.plan.id)
        secret = await make_proposal(session, private, s.facilitator)
        await session.commit()
    return s, proposal, private, secret


async def _feed(client, org, headers, cursor=None, **params):
    query = {**params, **({"cursor": cursor} if cursor else {})}
    response = await client.get(
        f"/v1/organizations/{org.slug}/changes", params=query, headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_the_feed_shows_public_changes_with_current_data_and_tombstones(committing_client):
    client = committing_client
    s, proposal, _, secret = await _committed_scene()
    headers, _ = await client_headers(client, s.admin, s.org, ["changes:read"])
    first = await _feed(client, s.org, headers)
    assert first["items"] == [] and first["next_cursor"]

    assert (
        await client.put(f"/v1/proposals/{proposal.id}/support", headers=bearer(s.facilitator))
    ).status_code == 201
    async with get_sessionmaker()() as session:  # a change in the private table
        record_event(
            session,
            EventType.PROPOSAL_UPDATED,
            subject_type="proposal",
            subject_id=secret.id,
            actor_id=None,
            organization_id=s.org.id,
        )
        await session.commit()
    comment = await client.post(
        f"/v1/proposals/{proposal.id}/comments",
        json={"body": "Sono d'accordo con questa proposta."},
        headers=bearer(s.member),
    )
    assert comment.status_code == 201, comment.text
    deleted = await client.delete(f"/v1/comments/{comment.json()['id']}", headers=bearer(s.member))
    assert deleted.status_code == 204

    page = await _feed(client, s.org, headers, first["next_cursor"])
    types = [(i["type"], i["subject_type"]) for i in page["items"]]
    # The private table's support is left out altogether.
    assert types == [
        ("proposal.supported", "proposal"),
        ("comment.created", "comment"),
        ("comment.deleted", "comment"),
    ]
    supported, created, gone = page["items"]
    public = await client.get(f"/v1/proposals/{proposal.id}")
    assert supported["data"] == public.json() and supported["deleted"] is False
    assert supported["data"]["supports_count"] == 1
    # The comment is deleted now: both its events are tombstones.
    assert created["data"] is None and created["deleted"] is True
    assert gone["data"] is None and gone["deleted"] is True
    assert "@" not in json.dumps(page)  # no email addresses anywhere

    again = await _feed(client, s.org, headers, page["next_cursor"])
    assert again["items"] == [] and again["next_cursor"]
    # An admin reads it too; ?types= filters by pattern.
    only = await _feed(client, s.org, bearer(s.admin), first["next_cursor"], types="comment.*")
    assert [i["type"] for i in only["items"]] == ["comment.created", "comment.deleted"]
    exact = await _feed(
        client, s.org, bearer(s.admin), first["next_cursor"], types="proposal.supported"
    )
    assert [i["subject_id"] for i in exact["items"]] == [str(proposal.id)]
    assert_problem(
        await client.get(
            f"/v1/organizations/{s.org.slug}/changes", params={"types": "x;y"}, headers=headers
        ),
        422,
        "invalid_types",
    )


async def test_a_transaction_committing_late_is_not_skipped(committing_client):
    """T_late takes its transaction id first but writes its event last; T_early writes
    an event and commits while T_late is still open. A poller using `seq > last seen`
    would skip T_late's event; the feed shows it once T_late commits."""
    client = committing_client
    s, proposal, _, _ = await _committed_scene()
    headers, _ = await client_headers(client, s.admin, s.org, ["changes:read"])
    start = (await _feed(client, s.org, headers))["next_cursor"]

    maker = get_sessionmaker()
    late = maker()
    held = maker()
    try:
        await late.exec(text("SELECT pg_current_xact_id()"))  # type: ignore[call-overload]
        # An event inserted first (lower seq) by a transaction that stays open.
        first = record_event(
            held,
            EventType.PROPOSAL_UPDATED,
            subject_type="proposal",
            subject_id=proposal.id,
            actor_id=None,
            organization_id=s.org.id,
        )
        await held.flush()
        async with maker() as early:
            record_event(
                early,
                EventType.PROPOSAL_ANSWERED,
                subject_type="proposal",
                subject_id=proposal.id,
                actor_id=None,
                organization_id=s.org.id,
            )
            await early.commit()
        record_event(
            late,
            EventType.PROPOSAL_THRESHOLD_REACHED,
            subject_type="proposal",
            subject_id=proposal.id,
            actor_id=None,
            organization_id=s.org.id,
        )
        await late.flush()
        # Nothing is shown while an older transaction is still running.
        blocked = await _feed(client, s.org, headers, start)
        assert blocked["items"] == []
        await late.commit()
        page = await _feed(client, s.org, headers, blocked["next_cursor"])
        assert [i["type"] for i in page["items"]] == ["proposal.threshold_reached"]
        await held.commit()
        rest = await _feed(client, s.org, headers, page["next_cursor"])
        # Transaction order: `held` took its id before `early` did.
        assert [i["type"] for i in rest["items"]] == ["proposal.updated", "proposal.answered"]
        assert rest["items"][0]["id"] == str(first.id)
    finally:
        # Closing rolls back whatever is still open: a failure cannot leave a
        # connection idle in transaction (holding the feed, blocking the TRUNCATE).
        await late.close()
        await held.close()
    seen = [i["id"] for i in page["items"] + rest["items"]]
    assert len(seen) == len(set(seen)) == 3
    # From the start, every event once, in the feed's order.
    whole = await _feed(client, s.org, headers, start)
    assert [i["id"] for i in whole["items"]] == seen


async def test_old_and_broken_cursors(committing_client):
    client = committing_client
    s, _, _, _ = await _committed_scene()
    headers, _ = await client_headers(client, s.admin, s.org, ["changes:read"])
    old = datetime.now(UTC) - timedelta(days=91)
    raw = json.dumps({"x": "1", "s": 1, "t": int(old.timestamp())}).encode()
    cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    response = await client.get(
        f"/v1/organizations/{s.org.slug}/changes", params={"cursor": cursor}, headers=headers
    )
    assert_problem(response, 410, "cursor_expired")
    recent = base64.urlsafe_b64encode(
        json.dumps({"x": "1", "s": 1, "t": int((old + timedelta(days=2)).timestamp())}).encode()
    ).decode()
    assert (
        await client.get(
            f"/v1/organizations/{s.org.slug}/changes", params={"cursor": recent}, headers=headers
        )
    ).status_code == 200
    for bad in ("nonsense", base64.urlsafe_b64encode(b'{"x": "-1", "s": 0, "t": 0}').decode()):
        assert_problem(
            await client.get(
                f"/v1/organizations/{s.org.slug}/changes", params={"cursor": bad}, headers=headers
            ),
            422,
            "invalid_cursor",
        )


async def test_a_page_has_at_most_limit_items_and_the_chain_continues(committing_client):
    client = committing_client
    s, proposal, _, _ = await _committed_scene()
    headers, _ = await client_headers(client, s.admin, s.org, ["changes:read"])
    async with get_sessionmaker()() as session:
        for _ in range(7):
            record_event(
                session,
                EventType.PROPOSAL_UPDATED,
                subject_type="proposal",
                subject_id=proposal.id,
                actor_id=None,
                organization_id=s.org.id,
            )
        await session.commit()
    cursor, seen = None, []
    for _ in range(4):
        page = await _feed(client, s.org, headers, cursor, limit=3)
        assert len(page["items"]) <= 3
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
    assert len(seen) == len(set(seen)) == 7
    await asyncio.sleep(0)
    assert uuid.UUID(seen[0])
