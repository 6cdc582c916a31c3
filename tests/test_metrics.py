"""GET /metrics: behind METRICS_TOKEN, the named metrics with the values of real
requests, the webhook queue read from the database; the worker's own metrics."""

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import select

from app.config import get_settings
from app.db import get_sessionmaker
from app.event_types import EventType
from app.events import record_event
from app.models.integrations import WebhookDelivery
from app.worker import Worker
from tests.factories import make_proposal, make_scene
from tests.factories.webhooks import allow_private_targets, receiving
from tests.helpers import assert_problem, bearer
from tests.metrics_helpers import AUTH, TOKEN, value
from tests.servers import free_port, server_process, worker_process


@pytest.fixture
def metrics_on(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("METRICS_TOKEN", TOKEN)
    get_settings.cache_clear()
    yield
    monkeypatch.delenv("METRICS_TOKEN")
    get_settings.cache_clear()


async def _scrape(client: httpx.AsyncClient) -> str:
    response = await client.get("/metrics", headers=AUTH)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


async def test_metrics_are_off_without_a_token(client):
    response = await client.get("/metrics", headers=AUTH)
    assert_problem(response, 404, "not_found")


async def test_metrics_need_the_token(client, metrics_on):
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}):
        response = await client.get("/metrics", headers=headers)
        assert_problem(response, 401, "unauthorized")
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert "consulta_" not in response.text


def test_a_short_token_is_refused_in_production(monkeypatch):
    from app.config import Settings

    with pytest.raises(ValueError, match="METRICS_TOKEN"):
        Settings(
            environment="production",
            secret_key="x" * 40,
            database_url="postgresql://db/consulta",
            metrics_token="short",
        )
    ok = Settings(
        environment="production",
        secret_key="x" * 40,
        database_url="postgresql://db/consulta",
        metrics_token=TOKEN,
    )
    assert ok.metrics_token == TOKEN


async def test_requests_are_counted_by_route_template_and_status(client, session, metrics_on):
    scene = await make_scene(session)
    route = "/v1/organizations/{org}"
    before = await _scrape(client)
    ok = value(before, "consulta_http_requests_total", route=route, status=200) or 0
    missing = value(before, "consulta_http_requests_total", route=route, status=404) or 0
    seconds = value(before, "consulta_http_request_duration_seconds_count", route=route) or 0
    unmatched = value(before, "consulta_http_requests_total", route="(unmatched)") or 0
    for _ in range(3):
        assert (await client.get(f"/v1/organizations/{scene.org.slug}")).status_code == 200
    assert (await client.get("/v1/organizations/nessuna")).status_code == 404
    assert (await client.get("/no/such/path/4711")).status_code == 404

    after = await _scrape(client)
    assert value(after, "consulta_http_requests_total", route=route, status=200) == ok + 3
    assert value(after, "consulta_http_requests_total", route=route, status=404) == missing + 1
    assert value(after, "consulta_http_request_duration_seconds_count", route=route) == (
        seconds + 4
    )
    total = value(after, "consulta_http_request_duration_seconds_sum", route=route)
    assert total is not None and total > 0
    assert value(after, "consulta_http_requests_total", route="(unmatched)") == unmatched + 1
    assert "/no/such/path" not in after  # never a raw path as a label
    # The pool's waits are measured (the test's own engine is the app's MeasuredPool).
    assert (value(after, "consulta_db_pool_wait_seconds_count") or 0) > 0
    assert value(after, "consulta_db_pool_capacity") == (
        get_settings().db_pool_size + get_settings().db_max_overflow
    )
    assert value(after, "consulta_db_pool_connections_in_use") is not None
    assert value(after, "consulta_database_up") == 1
    assert value(after, "consulta_live_streams") is not None


async def _pending_deliveries(committing_client, receiver_url: str, events: int):
    async with get_sessionmaker()() as session:
        s = await make_scene(session, content=False)
        proposal = await make_proposal(session, s.table, s.member)
        await session.commit()
    hook = await committing_client.post(
        f"/v1/organizations/{s.org.slug}/webhooks",
        json={"url": receiver_url, "event_types": ["*"]},
        headers=bearer(s.admin),
    )
    assert hook.status_code == 201, hook.text
    async with get_sessionmaker()() as session:
        for _ in range(events):
            record_event(
                session,
                EventType.PROPOSAL_UPDATED,
                subject_type="proposal",
                subject_id=proposal.id,
                actor_id=None,
                organization_id=s.org.id,
            )
        await session.commit()
    return s


async def test_the_webhook_queue_is_read_at_scrape_time(committing_client, monkeypatch, metrics_on):
    allow_private_targets(monkeypatch)
    client = committing_client
    async with receiving() as receiver:
        await _pending_deliveries(client, receiver.url, 3)
        worker = Worker()
        try:
            assert await worker.dispatch_once() == 3  # deliveries created, none sent yet
            async with get_sessionmaker()() as session:
                await session.exec(
                    update(WebhookDelivery).values(
                        created_at=datetime.now(UTC) - timedelta(minutes=10)
                    )
                )
                await session.commit()
            text = await _scrape(client)
            assert value(text, "consulta_webhook_queue_depth", status="pending") == 3
            assert value(text, "consulta_webhook_queue_depth", status="retrying") == 0
            age = value(text, "consulta_webhook_oldest_undelivered_age_seconds")
            assert age is not None and 600 <= age < 900

            await worker.run_once()
        finally:
            await worker.aclose()
    assert len(receiver.requests) == 3
    text = await _scrape(client)
    assert value(text, "consulta_webhook_queue_depth", status="pending") == 0
    assert value(text, "consulta_webhook_oldest_undelivered_age_seconds") == 0
    assert (value(text, "consulta_webhook_attempts_total", outcome="succeeded") or 0) >= 3
    async with get_sessionmaker()() as session:
        rows = (await session.exec(select(WebhookDelivery.status))).all()
    assert list(rows) == ["succeeded"] * 3


async def test_the_worker_serves_its_own_metrics(
    committing_client, database_url, monkeypatch, tmp_path
):
    allow_private_targets(monkeypatch)
    port = free_port()
    settings = {
        "WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
        "METRICS_TOKEN": TOKEN,
        "WORKER_METRICS_PORT": str(port),
    }
    url = f"http://127.0.0.1:{port}/metrics"
    with worker_process(database_url, tmp_path, **settings):
        async with receiving() as receiver, httpx.AsyncClient(timeout=5) as http:
            for _ in range(300):
                try:
                    refused = await http.get(url)
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            assert refused.status_code == 401
            assert refused.headers["content-type"] == "application/problem+json"
            await _pending_deliveries(committing_client, receiver.url, 2)
            for _ in range(300):
                if len(receiver.requests) >= 2:
                    break
                await asyncio.sleep(0.1)
            assert len(receiver.requests) == 2
            for _ in range(300):  # received, then recorded by the worker
                text = (await http.get(url, headers=AUTH)).text
                if value(text, "consulta_webhook_queue_depth", status="pending") == 0:
                    break
                await asyncio.sleep(0.1)
    assert value(text, "consulta_webhook_attempts_total", outcome="succeeded") == 2
    assert (value(text, "consulta_worker_rounds_total", outcome="ok") or 0) >= 1
    assert value(text, "consulta_worker_rounds_total", outcome="failed") in (None, 0)
    assert value(text, "consulta_webhook_queue_depth", status="pending") == 0
    assert value(text, "consulta_database_up") == 1


async def test_several_server_processes_share_their_metrics(database_url, tmp_path):
    """uvicorn with two worker processes and PROMETHEUS_MULTIPROC_DIR (what `consulta
    serve` sets up with WORKERS > 1): whichever process answers the scrape counts the
    requests of both."""
    shared = tmp_path / "prometheus"
    shared.mkdir()
    settings = {"METRICS_TOKEN": TOKEN, "PROMETHEUS_MULTIPROC_DIR": str(shared)}
    with server_process(database_url, tmp_path, 2, **settings) as server:
        limits = httpx.Limits(max_connections=20, max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=server.url, timeout=30, limits=limits) as client:
            answers = await asyncio.gather(*(client.get("/v1/organizations") for _ in range(40)))
            assert [a.status_code for a in answers] == [200] * 40
            scrapes = [(await client.get("/metrics", headers=AUTH)).text for _ in range(4)]
    capacity = get_settings().db_pool_size + get_settings().db_max_overflow
    for text in scrapes:
        ok = value(text, "consulta_http_requests_total", route="/v1/organizations", status=200)
        assert ok == 40
        # Both processes are alive and counted: their pools' capacities add up.
        assert value(text, "consulta_db_pool_capacity") == 2 * capacity
    assert list(shared.glob("counter_*.db"))  # the values went through the shared files
