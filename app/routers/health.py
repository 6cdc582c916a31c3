"""Operations probes."""

from fastapi import APIRouter
from sqlalchemy import text

from app.db import SessionDep

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is up (public)")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="The database answers (public)")
async def readyz(session: SessionDep) -> dict[str, str]:
    connection = await session.connection()
    await connection.execute(text("SELECT 1"))
    return {"status": "ready"}
