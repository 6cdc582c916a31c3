"""Prometheus metrics for the people who run the service (`app/metrics.py`)."""

import logging
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Header
from fastapi.responses import Response

from app.config import get_settings
from app.db import SessionDep
from app.errors import NotFound, Unauthorized, is_database_timeout, is_database_unavailable
from app.metrics import CONTENT_TYPE, QueueStats, queue_registry, render, token_matches
from app.services.integrations.queue import queue_stats

router = APIRouter(tags=["operations"])
logger = logging.getLogger(__name__)


@router.get(
    "/metrics",
    summary="Prometheus metrics (with the metrics token)",
    description=(
        "The Prometheus text exposition: requests by route and status, database pool "
        "use and waits, the webhook queue, live streams, worker rounds. Answers only "
        "with `Authorization: Bearer <METRICS_TOKEN>`; 404 while METRICS_TOKEN is unset. "
        "The database gauges are read at each scrape; while the database cannot be "
        "reached, `consulta_database_up` is 0 and the rest is still answered."
    ),
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE: {}}}},
)
async def metrics(
    session: SessionDep, authorization: Annotated[str | None, Header()] = None
) -> Response:
    token = get_settings().metrics_token
    if not token:
        raise NotFound("Metrics are turned off (METRICS_TOKEN is not set).")
    if not token_matches(token, authorization):
        raise Unauthorized("The metrics token is missing or wrong.")
    queue: QueueStats | None
    try:
        queue = await queue_stats(session)
    except Exception as exc:
        if not (is_database_unavailable(exc) or is_database_timeout(exc)):
            raise
        logger.warning("metrics: the database did not answer: %s", exc)
        await session.rollback()
        queue = None
    body = render(queue_registry(queue, datetime.now(UTC)))
    return Response(body, media_type=CONTENT_TYPE)
