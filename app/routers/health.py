"""Operations probes."""

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
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


class ServiceStatus(BaseModel):
    """ModI's status answer: a problem document even when all is well."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"status": 200, "title": "OK"}]})

    status: int
    title: str


class ProblemJSONResponse(JSONResponse):
    media_type = PROBLEM_JSON


_STATUS_RESPONSES: dict[int | str, dict[str, Any]] = {
    503: {"description": "The database does not answer (problem+json, with Retry-After)."},
}


@router.get(
    "/status",
    summary="Service status, as AgID ModI asks: problem+json, 200 or 503 (public)",
    response_model=ServiceStatus,
    response_class=ProblemJSONResponse,
    responses=_STATUS_RESPONSES,
)
@router.get(
    "/v1/status",
    summary="Service status, as AgID ModI asks: problem+json, 200 or 503 (public)",
    response_model=ServiceStatus,
    response_class=ProblemJSONResponse,
    responses=_STATUS_RESPONSES,
    operation_id="get_v1_status",
)
async def status(session: SessionDep) -> ServiceStatus:
    """`application/problem+json` in both cases: `{status: 200, title: "OK"}` when the
    database answers; 503 `database_unavailable` with Retry-After when it does not."""
    connection = await session.connection()
    await connection.execute(text("SELECT 1"))
    return ServiceStatus(status=200, title="OK")
