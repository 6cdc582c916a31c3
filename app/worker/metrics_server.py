"""The worker's own /metrics (`consulta worker` with WORKER_METRICS_PORT): its rounds,
webhook attempts, pool and background failures, and the webhook queue read from the
database, behind the same METRICS_TOKEN as the API's. A small aiohttp server: the worker
has no ASGI app, and aiohttp is its HTTP client already."""

import json
import logging
from datetime import UTC, datetime

from aiohttp import web

from app.config import Settings
from app.db import get_sessionmaker
from app.error_codes import ErrorCode
from app.errors import TYPE_BASE, is_database_timeout, is_database_unavailable
from app.metrics import CONTENT_TYPE, QueueStats, queue_registry, render, token_matches
from app.services.integrations.queue import queue_stats

logger = logging.getLogger("consulta.worker")


def _unauthorized() -> web.Response:
    body = {
        "type": TYPE_BASE + ErrorCode.UNAUTHORIZED,
        "title": "Authentication required",
        "status": 401,
        "detail": "The metrics token is missing or wrong.",
        "code": ErrorCode.UNAUTHORIZED,
    }
    return web.Response(
        status=401,
        body=json.dumps(body).encode(),
        content_type="application/problem+json",
        headers={"WWW-Authenticate": 'Bearer realm="consulta"'},
    )


async def _queue() -> QueueStats | None:
    try:
        async with get_sessionmaker()() as session, session.begin():
            return await queue_stats(session)
    except Exception as exc:
        if not (is_database_unavailable(exc) or is_database_timeout(exc)):
            raise
        logger.warning("metrics: the database did not answer: %s", exc)
        return None


def metrics_app(token: str) -> web.Application:
    async def handle(request: web.Request) -> web.Response:
        if not token_matches(token, request.headers.get("Authorization")):
            return _unauthorized()
        body = render(queue_registry(await _queue(), datetime.now(UTC)))
        # aiohttp wants the charset apart from the content type.
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})

    app = web.Application()
    app.router.add_get("/metrics", handle)
    return app


async def start_metrics_server(settings: Settings) -> web.AppRunner | None:
    """Serve /metrics when WORKER_METRICS_PORT is set (and METRICS_TOKEN, without which
    it stays off); the runner to clean up, or None."""
    if not settings.worker_metrics_port:
        return None
    if not settings.metrics_token:
        logger.warning("WORKER_METRICS_PORT is set but METRICS_TOKEN is not: metrics stay off")
        return None
    runner = web.AppRunner(metrics_app(settings.metrics_token), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.worker_metrics_host, settings.worker_metrics_port)
    await site.start()
    logger.info(
        "worker metrics on http://%s:%d/metrics",
        settings.worker_metrics_host,
        settings.worker_metrics_port,
    )
    return runner
