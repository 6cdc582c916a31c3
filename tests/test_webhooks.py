"""Webhooks end to end: real commits, a real receiver on 127.0.0.1, the real worker.

Each test runs the worker's rounds itself (`Worker.run_once`) rather than in the
background, so that what happened when is deterministic."""

import asyncio
import email
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text, update
from sqlmodel import col, select
from standardwebhooks import Webhook

from app.config import get_settings
from app.db import get_sessionmaker
from app.event_types import EventType
from app.events import record_event
from app.models.events import Event
from app.models.integrations import WebhookDelivery, WebhookEndpoint
from app.worker import Worker
from tests.factories import make_proposal, make_scene
from tests.factories.integrations import client_headers
from tests.factories.webhooks import allow_private_targets, receiving
from tests.helpers import assert_problem, bearer


@pytest.fixture
async def new_worker():
    """Makes workers that are closed at teardown, whatever happened in the test."""
    made: list[Worker] = []

    def make() -> Worker:
        made.append(Worker())
        return made[-1]

    try:
        yield make
    finally:
        for worker in made:
            await worker.aclose()


@pytest.fixture(autouse=True)
def _restore_settings():
    yield
    get_settings.cache_clear()


async def _scene():
    async with get_sessionmaker()() as session:
        s = await make_scene(session, content=False)
        proposal = await make_proposal(session, s.table, s.member)
        await session.commit()
    return s, proposal


async def _endpoint(client, s, url, event_types=("proposal.*",)):
    response = await client.post(
        f"/v1/organizations/{s.org.slug}/webhooks",
        json={"url": url, "event_types": list(event_types)},
        headers=bearer(s.admin),
    )
    assert response.status_code == 201, response.text
    return response.json()


async def _deliveries(endpoint_id=None):
    async with get_sessionmaker()() as session:
        stmt = select(WebhookDelivery).order_by(col(WebhookDelivery.created_at))
        if endpoint_id:
            stmt = stmt.where(col(WebhookDelivery.endpoint_id) == uuid.UUID(str(endpoint_id)))
        return list((await session.exec(stmt)).all())


async def _time_passes():
    """Every scheduled retry and every lease is due now."""
    async with get_sessionmaker()() as session:
        await session.exec(
            update(WebhookDelivery)
            .where(col(WebhookDelivery.status).in_(["pending", "retrying"]))
            .values(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1), locked_until=None)
        )
        await session.commit()


async def _support(client, s, proposal):
    response = await client.put(
        f"/v1/proposals/{proposal.id}/support", headers=bearer(s.facilitator)
    )
    assert response.status_code == 201, response.text


async def test_a_503_is_retried_and_the_event_arrives_once_signed(
    committing_client, monkeypatch, new_worker
):
    allow_private_targets(monkeypatch)
    client = committing_client
    s, proposal = await _scene()
    worker = new_worker()
    async with receiving(script=[503]) as receiver:
        hook = await _endpoint(client, s, receiver.url)
        assert hook["secret"].startswith("whsec_")
        await _support(client, s, proposal)
        await worker.run_once()
        [delivery] = await _deliveries()
        assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
            "retrying",
            1,
            503,
        )
        assert delivery.next_attempt_at is not None
        wait = delivery.next_attempt_at - datetime.now(UTC)
        assert timedelta(seconds=3) < wait <= timedelta(seconds=6)
        await worker.run_once()  # not due yet: nothing sent
        assert len(receiver.requests) == 1
        await _time_passes()
        await worker.run_once()
        await worker.aclose()
    assert len(receiver.requests) == 2
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == f"msg_{delivery.id.hex}"
    verified = Webhook(hook["secret"]).verify(second.body, second.headers)
    assert verified["type"] == "proposal.supported"
    feed = await client.get(f"/v1/organizations/{s.org.slug}/changes", headers=bearer(s.admin))
    [item] = [i for i in feed.json()["items"] if i["type"] == "proposal.supported"]
    assert verified["data"] == item
    assert set(verified) == {"type", "timestamp", "data"}
    log = await client.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=bearer(s.admin))
    [entry] = log.json()["items"]
    assert entry["status"] == "succeeded" and entry["attempts"] == 2
    assert [a["status_code"] for a in entry["log"]] == [503, 200]
    assert all(a["duration_ms"] >= 0 for a in entry["log"])


async def test_a_410_disables_the_endpoint_and_tells_the_admins(
    committing_client, monkeypatch, mail_dir, new_worker
):
    allow_private_targets(monkeypatch)
    client = committing_client
    s, proposal = await _scene()
    worker = new_worker()
    async with receiving(default=410) as receiver:
        hook = await _endpoint(client, s, receiver.url)
        await _support(client, s, proposal)
        await worker.run_once()
        await _time_passes()
        await worker.run_once()
        await worker.aclose()
    assert len(receiver.requests) == 1
    [delivery] = await _deliveries()
    assert delivery.status == "failed" and delivery.last_status_code == 410
    shown = (await client.get(f"/v1/webhooks/{hook['id']}", headers=bearer(s.admin))).json()
    assert shown["active"] is False and shown["disabled_reason"] == "gone"
    async with get_sessionmaker()() as session:
        disabled = (
            await session.exec(select(Event).where(col(Event.type) == "webhook.disabled"))
        ).all()
    assert [e.subject_id for e in disabled] == [uuid.UUID(hook["id"])]
    files = [p for p in mail_dir.glob("*.eml") if s.admin.email.lower() in p.name.lower()]
    bodies = [
        email.message_from_bytes(f.read_bytes()).get_payload(decode=True).decode()  # type: ignore[union-attr]
        for f in files
    ]
    assert any(receiver.url in b and "410 Gone" in b for b in bodies), bodies


async def test_an_endpoint_failing_for_five_days_is_disabled(
    committing_client, monkeypatch, new_worker
):
    allow_private_targets(monkeypatch)
    client = committing_client
    s, proposal = await _scene()
    worker = new_worker()
    async with receiving(default=500) as receiver:
        hook = await _endpoint(client, s, receiver.url)
        async with get_sessionmaker()() as session:
            await session.exec(
                update(WebhookEndpoint).values(failing_since=datetime.now(UTC) - timedelta(days=5))
            )
            await session.commit()
        await _support(client, s, proposal)
        await worker.run_once()
        await worker.aclose()
    shown = (await client.get(f"/v1/webhooks/{hook['id']}", headers=bearer(s.admin))).json()
    assert shown["active"] is False and shown["disabled_reason"] == "failing"
    [delivery] = await _deliveries()
    assert delivery.status == "retrying"  # kept: it goes out if the endpoint is turned on
    again = await client.patch(
        f"/v1/webhooks/{hook['id']}", json={"active": True}, headers=bearer(s.admin)
    )
    assert again.json()["active"] is True and again.json()["failing_since"] is None


async def test_loopback_targets_are_refused_without_the_setting(
    committing_client, monkeypatch, new_worker
):
    client = committing_client
    s, proposal = await _scene()
    async with receiving() as receiver:
        for url in (
            receiver.url,
            "http://10.0.0.8/x",
            "http://169.254.169.254/latest",
            "http://[::1]/",
        ):
            response = await client.post(
                f"/v1/organizations/{s.org.slug}/webhooks",
                json={"url": url, "event_types": ["*"]},
                headers=bearer(s.admin),
            )
            assert_problem(response, 422, "webhook_target_refused")
        assert_problem(
            await client.post(
                f"/v1/organizations/{s.org.slug}/webhooks",
                json={"url": "ftp://93.184.215.14/", "event_types": ["*"]},
                headers=bearer(s.admin),
            ),
            422,
            "webhook_target_refused",
        )
        # Allowed when created; refused again at delivery once the setting is off.
        allow_private_targets(monkeypatch)
        await _endpoint(client, s, receiver.url)
        allow_private_targets(monkeypatch, allowed=False)
        await _support(client, s, proposal)
        worker = new_worker()
        await worker.run_once()
        await worker.aclose()
        assert receiver.requests == []
    [delivery] = await _deliveries()
    assert delivery.status == "retrying" and delivery.last_error.startswith("refused:")


async def test_a_worker_killed_mid_batch_loses_nothing(committing_client, monkeypatch, new_worker):
    allow_private_targets(monkeypatch)
    client = committing_client
    s, proposal = await _scene()
    async with receiving(script=[0]) as receiver:
        hook = await _endpoint(client, s, receiver.url, event_types=["*"])
        async with get_sessionmaker()() as session:
            for _ in range(6):
                record_event(
                    session,
                    EventType.PROPOSAL_UPDATED,
                    subject_type="proposal",
                    subject_id=proposal.id,
                    actor_id=None,
                    organization_id=s.org.id,
                )
            await session.commit()
        doomed = new_worker()
        task = asyncio.create_task(doomed.run_once())
        await asyncio.wait_for(receiver.arrived.wait(), timeout=10)
        await asyncio.sleep(0.2)
        task.cancel()  # killed while one request hangs: no outcome recorded
        with pytest.raises(asyncio.CancelledError):
            await task
        claimed = await _deliveries()
        assert len(claimed) == 6 and all(d.status == "pending" for d in claimed)
        assert all(d.locked_until is not None for d in claimed)
        # Another worker does not take the claims while the lease holds...
        heir = new_worker()
        await heir.run_once()
        assert all(d.status == "pending" for d in await _deliveries())
        # ...and takes them over once it runs out.
        async with get_sessionmaker()() as session:
            await session.exec(
                update(WebhookDelivery).values(
                    locked_until=datetime.now(UTC) - timedelta(seconds=1)
                )
            )
            await session.commit()
        await heir.run_once()
        await heir.aclose()
        await doomed.aclose()
    done = await _deliveries(hook["id"])
    assert [d.status for d in done] == ["succeeded"] * 6
    ids = {r.headers["webhook-id"] for r in receiver.requests}
    assert ids == {f"msg_{d.id.hex}" for d in done}


async def test_only_committed_events_are_delivered(committing_client, monkeypatch, new_worker):
    """The outbox: a rolled-back event never goes out; an event of a transaction held
    open across others' commits goes out once it commits."""
    allow_private_targets(monkeypatch)
    client = committing_client
    s, proposal = await _scene()
    worker = new_worker()
    async with receiving() as receiver:
        await _endpoint(
            client, s, receiver.url, event_types=["proposal.updated", "proposal.answered"]
        )
        maker = get_sessionmaker()
        async with maker() as doomed:
            record_event(
                doomed,
                EventType.PROPOSAL_ANSWERED,
                subject_type="proposal",
                subject_id=proposal.id,
                actor_id=None,
                organization_id=s.org.id,
            )
            await doomed.flush()
            await doomed.rollback()
        held = maker()
        try:
            await held.exec(text("SELECT pg_current_xact_id()"))  # type: ignore[call-overload]
            record_event(
                held,
                EventType.PROPOSAL_UPDATED,
                subject_type="proposal",
                subject_id=proposal.id,
                actor_id=None,
                organization_id=s.org.id,
            )
            await held.flush()
            await _support(client, s, proposal)  # not matched by the filter
            async with maker() as other:
                record_event(
                    other,
                    EventType.PROPOSAL_UPDATED,
                    subject_type="proposal",
                    subject_id=proposal.id,
                    actor_id=None,
                    organization_id=s.org.id,
                )
                await other.commit()
            await worker.run_once()
            assert receiver.requests == []  # the held transaction is older than the rest
            await held.commit()
            await worker.run_once()
        finally:
            await held.close()  # rolls back if the test failed before the commit
            await worker.aclose()
    types = [r.json["type"] for r in receiver.requests]
    assert types == ["proposal.updated", "proposal.updated"]
    assert len(await _deliveries()) == 2


async def test_test_ping_rotation_and_manual_retry(committing_client, monkeypatch, new_worker):
    allow_private_targets(monkeypatch)
    client = committing_client
    s, _ = await _scene()
    worker = new_worker()
    async with receiving() as receiver:
        hook = await _endpoint(client, s, receiver.url)
        rotated = await client.post(f"/v1/webhooks/{hook['id']}/secret", headers=bearer(s.admin))
        assert rotated.status_code == 200
        new_secret = rotated.json()["secret"]
        ping = await client.post(f"/v1/webhooks/{hook['id']}/test", headers=bearer(s.admin))
        assert ping.status_code == 201 and ping.json()["type"] == "webhook.test"
        await worker.run_once()
        [request] = receiver.requests
        # Both secrets sign during the grace period: either verifies.
        assert len(request.headers["webhook-signature"].split(" ")) == 2
        assert (
            Webhook(hook["secret"]).verify(request.body, request.headers)["type"] == "webhook.test"
        )
        assert Webhook(new_secret).verify(request.body, request.headers)["type"] == "webhook.test"
        retried = await client.post(
            f"/v1/webhook-deliveries/{ping.json()['id']}/retry", headers=bearer(s.admin)
        )
        assert retried.status_code == 200 and retried.json()["status"] == "retrying"
        await worker.run_once()
        await worker.aclose()
    assert len(receiver.requests) == 2
    assert receiver.requests[0].headers["webhook-id"] == receiver.requests[1].headers["webhook-id"]


async def test_clients_with_webhooks_manage_run_webhooks(committing_client, monkeypatch):
    allow_private_targets(monkeypatch)
    client = committing_client
    s, _ = await _scene()
    headers, created = await client_headers(client, s.admin, s.org, ["webhooks:manage"])
    response = await client.post(
        f"/v1/organizations/{s.org.slug}/webhooks",
        json={"url": "https://93.184.215.14/in", "event_types": ["meeting.*"]},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    hook = response.json()
    listed = await client.get(f"/v1/organizations/{s.org.slug}/webhooks", headers=headers)
    assert [h["id"] for h in listed.json()["items"]] == [hook["id"]]
    assert "secret" not in listed.json()["items"][0]
    patched = await client.patch(
        f"/v1/webhooks/{hook['id']}", json={"event_types": ["meeting.cancelled"]}, headers=headers
    )
    assert patched.json()["event_types"] == ["meeting.cancelled"]
    assert (await client.delete(f"/v1/webhooks/{hook['id']}", headers=headers)).status_code == 204
    async with get_sessionmaker()() as session:
        actions = (
            await session.exec(
                select(Event.type, Event.actor_client_id)
                .where(col(Event.subject_id) == uuid.UUID(hook["id"]))
                .order_by(col(Event.seq))
            )
        ).all()
    client_id = uuid.UUID(created["client_id"])
    assert actions == [
        ("webhook.created", client_id),
        ("webhook.updated", client_id),
        ("webhook.deleted", client_id),
    ]
