"""Operations probes."""

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from app.db import SessionDep
from app.errors import PROBLEM_JSON

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is up (public)")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="The database answers (public)")
async def readyz(session: SessionDep) -> dict[str, str]:
    connection = await session.connection()
    await connection.execute(text("SELECT 1"))
    return {"status": "ready"}


_STATUS_OK = {"status": 200, "title": "OK"}
_STATUS_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {PROBLEM_JSON: {"example": _STATUS_OK}},
        "description": "Healthy: `{status: 200, title: OK}` as application/problem+json.",
    },
    503: {"description": "The database does not answer (problem+json, with Retry-After)."},
}


@router.get(
    "/status",
    summary="Service status, as AgID ModI asks: problem+json, 200 or 503 (public)",
    response_class=JSONResponse,
    responses=_STATUS_RESPONSES,
)
@router.get(
    "/v1/status",
    summary="Service status, as AgID ModI asks: problem+json, 200 or 503 (public)",
    response_class=JSONResponse,
    responses=_STATUS_RESPONSES,
    operation_id="get_v1_status",
)
async def status(session: SessionDep) -> JSONResponse:
    """`application/problem+json` in both cases: `{status: 200, title: "OK"}` when the
    database answers; 503 `database_unavailable` with Retry-After when it does not."""
    connection = await session.connection()
    await connection.execute(text("SELECT 1"))
    return JSONResponse(_STATUS_OK, media_type=PROBLEM_JSON)
