"""The app factory: middleware, error handlers, routers, background housekeeping."""

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from app.config import get_settings
from app.conventions import HttpConventions
from app.docs import install_offline_docs
from app.errors import install_error_handlers
from app.housekeeping import purge_periodically
from app.idempotency import IdempotencyMiddleware
from app.live import start_live_hub
from app.logs import configure_logging
from app.metrics import mark_process_dead
from app.middleware import RejectNulMiddleware, RequestContextMiddleware
from app.openapi import install_openapi
from app.read_limits import ReadLimits
from app.routers import (
    auth,
    health,
    live,
    meetings,
    metrics,
    monitoring,
    organizations,
    plans,
    tables,
)
from app.routers import budgets as budgets_router
from app.routers import comments as comments_router
from app.routers import conversations as conversations_router
from app.routers import integrations as integrations_router
from app.routers import moderation as moderation_router
from app.routers import moderation_settings as moderation_settings_router
from app.routers import open311 as open311_router
from app.routers import open_data as open_data_router
from app.routers import polls as polls_router
from app.routers import proposals as proposals_router
from app.routers import safety as safety_router
from app.routers import service_requests as service_requests_router
from app.routers import sortition as sortition_router
from app.routers import surveys as surveys_router
from app.worker import run_worker
from app.write_limits import RefundFailedWrites

DESCRIPTION = """
Consulta is the API backend of a participatory consultation platform for metropolitan
cities: strategic plans, participation tables, meetings, proposals, supports, polls,
comments and moderation.

* Authenticate with `POST /v1/auth/token` (OAuth2 password grant) and send
  `Authorization: Bearer <access_token>`.
* Every error is `application/problem+json` with a stable `code`.
* Lists are keyset-paginated: `?limit=` (≤ 100) and `?cursor=`; responses are
  `{"items": [...], "next_cursor": ...}`.
* Conditional requests: every `GET` answers `HEAD` too, and carries `ETag` (a hash of
  the representation; `"<version>.<hash>"` for editable documents) and `Cache-Control`;
  `If-None-Match` gives 304. `If-Match` on edits compares the version part only.
* ModI (AgID): `X-RateLimit-*` (and IETF `RateLimit-*`) headers on every read,
  `GET /status` as problem+json, date-times in UTC (`2026-12-07T16:10:00.000000Z`),
  `Accept-Language: it` for errors in Italian.
"""


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """While a server process runs, it purges expired counters and idempotency records;
    its live hub (one LISTEN connection) fans live events out to its streams; in
    development (WORKER_IN_PROCESS) it also runs the worker (webhook delivery)."""
    tasks = [asyncio.create_task(purge_periodically())]
    if get_settings().runs_worker_in_process:
        tasks.append(asyncio.create_task(run_worker(housekeeping=False)))
    hub = start_live_hub()
    await hub.start()
    app.state.live_hub = hub
    try:
        yield
    finally:
        await hub.stop()
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        mark_process_dead()


def create_app() -> FastAPI:
    settings = get_settings()
    configure_logging(settings.log_level, json_logs=settings.log_json)
    app = FastAPI(
        lifespan=lifespan,
        title="Consulta API",
        version="0.1.0",
        description=DESCRIPTION,
        # /docs and /redoc are served by app/docs.py, with their assets (no CDN).
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    install_offline_docs(app)
    install_error_handlers(app)
    # GeoReport's own error format on /open311/ paths.
    open311_router.install_open311_errors(app)
    install_openapi(app)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(auth.router)
    app.include_router(organizations.router)
    app.include_router(tables.router)
    app.include_router(sortition_router.router)
    app.include_router(meetings.router)
    app.include_router(live.router)
    app.include_router(plans.router)
    app.include_router(monitoring.router)
    app.include_router(proposals_router.router)
    app.include_router(comments_router.router)
    app.include_router(polls_router.router)
    app.include_router(conversations_router.router)
    app.include_router(budgets_router.router)
    app.include_router(moderation_router.router)
    app.include_router(safety_router.router)
    app.include_router(moderation_settings_router.router)
    app.include_router(surveys_router.router)
    app.include_router(service_requests_router.router)
    app.include_router(open311_router.router)
    app.include_router(integrations_router.router)
    app.include_router(open_data_router.router)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "Idempotency-Key",
                "If-Match",
                "Accept-Language",
                "If-None-Match",
                "X-Request-ID",
            ],
            expose_headers=[
                "ETag",
                "Retry-After",
                "X-Request-ID",
                "RateLimit",
                "RateLimit-Limit",
                "RateLimit-Remaining",
                "RateLimit-Reset",
                "RateLimit-Policy",
                "X-RateLimit-Limit",
                "X-RateLimit-Remaining",
                "X-RateLimit-Reset",
                "Last-Modified",
                "Content-Language",
                "Location",
            ],
            max_age=600,
        )
    # Gives back the write-limit counts of writes that failed, once they are answered.
    app.add_middleware(RefundFailedWrites)
    # Replays retried POSTs; inside the body limit, outside CORS and the routes.
    app.add_middleware(IdempotencyMiddleware)
    # NUL characters (which PostgreSQL cannot store) answer 422 before anything runs.
    app.add_middleware(RejectNulMiddleware)
    # Per-caller read budget and the X-RateLimit-* headers (ModI), in memory.
    app.add_middleware(ReadLimits)
    # HEAD, conditional GETs, caching headers, Location on 201, one date-time form,
    # problems in Italian: on every answer, errors and 429s included.
    app.add_middleware(HttpConventions)
    # Outermost: every response, errors included, gets the request id.
    app.add_middleware(
        RequestContextMiddleware,
        max_body_bytes=settings.max_body_bytes,
        path_limits={"/v1/plans/import": settings.max_import_bytes},
    )
    return app
