"""Feasibility checks, queuing a draw, reading it, and the public composition.

`POST …/sortition/check` runs the library's checks and a single ILP (is there any panel
meeting every quota?) on the current applications and answers 422
`sortition_infeasible` naming each quota that cannot be met and by how much.
`POST …/sortition/draws` snapshots the inputs (quotas resolved to min/max, the published
seed, one anonymous row per application), stores them with their SHA-256 and the
library's version, audits it and queues it; the worker runs it (`runner.py`).
"""

import uuid
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.error_codes import ErrorCode
from app.errors import Conflict, NotFound, Unprocessable, field_error
from app.event_types import EventType
from app.models.accounts import User
from app.models.sortition import (
    Composition,
    CompositionFeature,
    CompositionValue,
    DrawProgress,
    DrawPublic,
    FeasibilityReport,
    SortitionApplication,
    SortitionConfig,
    SortitionDraw,
)
from app.services.access.tables import get_facilitated_table, get_visible_table
from app.services.audit.write import record_audit
from app.services.sortition import library
from app.services.sortition.config import completed_draw, load_config, quota_bounds, window_open
from app.services.sortition.runner import compute_in_child

NO_DRAW = "No draw with this id in this table."


async def build_inputs(session: AsyncSession, config: SortitionConfig) -> dict[str, Any]:
    k = config.number_to_select
    rows = (
        await session.exec(
            select(SortitionApplication)
            .where(col(SortitionApplication.table_id) == config.table_id)
            .order_by(col(SortitionApplication.id))
        )
    ).all()
    features = []
    for f in config.features:
        values = []
        for v in f["values"]:
            low, high = quota_bounds(v, k)
            values.append({"value": v["value"], "min": low, "max": high})
        features.append({"name": f["name"], "values": values})
    return {
        "format": library.INPUTS_FORMAT,
        "number_to_select": k,
        "algorithm": config.algorithm,
        "seed": config.seed,
        "check_same_address": config.check_same_address,
        "initial_rounds": library.initial_rounds(len(rows), k),
        "features": features,
        "people": [
            {"key": str(a.id), "features": a.features, "household": a.household_hash} for a in rows
        ],
    }


async def _ignore(progress: dict[str, Any]) -> None:
    return None


async def feasibility_issues(inputs: dict[str, Any]) -> list[dict[str, Any]]:
    """The library's checks and one ILP, in the child process (the API never imports
    the library)."""
    outcome = await compute_in_child(inputs, _ignore, task="check")
    if "result" not in outcome:
        return [{"kind": "failed", "message": str(outcome.get("error")), "feature": None}]
    issues: list[dict[str, Any]] = outcome["result"]["issues"]
    return issues


def _infeasible(issues: list[dict[str, Any]]) -> Unprocessable:
    errors = [
        field_error(
            ["quotas", *(x for x in (i.get("feature"), i.get("value")) if x)],
            i["message"] + (f" (short by {i['shortfall']})" if i.get("shortfall") else ""),
            ErrorCode.SORTITION_INFEASIBLE,
        )
        for i in issues
    ]
    return Unprocessable(
        "No panel can meet the quotas: " + "; ".join(i["message"] for i in issues) + ".",
        code=ErrorCode.SORTITION_INFEASIBLE,
        errors=errors,
        extra={"issues": issues},
    )


async def check(session: AsyncSession, actor: User, table_id: uuid.UUID) -> FeasibilityReport:
    table = await get_facilitated_table(session, actor, table_id)
    config = await load_config(session, table.id)
    inputs = await build_inputs(session, config)
    issues = await feasibility_issues(inputs)
    if issues:
        raise _infeasible(issues)
    return FeasibilityReport(
        feasible=True,
        applicants_count=len(inputs["people"]),
        number_to_select=config.number_to_select,
    )


def draw_public(draw: SortitionDraw) -> DrawPublic:
    return DrawPublic(
        id=draw.id,
        table_id=draw.table_id,
        status=draw.status,
        algorithm=draw.algorithm,
        seed=draw.seed,
        seed_source=draw.seed_source,
        number_to_select=draw.number_to_select,
        applicants_count=draw.applicants_count,
        inputs_hash=draw.inputs_hash,
        library_version=draw.library_version,
        progress=DrawProgress(**draw.progress),
        error=draw.error,
        committees_count=draw.committees_count,
        selected_count=len(draw.panel),
        reserve_count=len(draw.reserve),
        replacements_count=len(draw.replacements),
        created_at=draw.created_at,
        started_at=draw.started_at,
        finished_at=draw.finished_at,
    )


async def _refuse_unready(session: AsyncSession, config: SortitionConfig) -> None:
    if config.seed is None or config.seed_published_at is None:
        raise Unprocessable(
            "Publish the seed (PUT …/sortition with `seed`) before the draw.",
            code=ErrorCode.SORTITION_SEED_REQUIRED,
            errors=[field_error(["config", "seed"], "not set", ErrorCode.SORTITION_SEED_REQUIRED)],
        )
    if config.applications_close_at is not None and window_open(config):
        raise Conflict(
            "Applications are still open; draw once they close.",
            code=ErrorCode.SORTITION_WINDOW_OPEN,
        )
    if await completed_draw(session, config.table_id) is not None:
        raise Conflict("The members were drawn already.", code=ErrorCode.SORTITION_ALREADY_DRAWN)
    pending = await session.exec(
        select(SortitionDraw.id).where(
            col(SortitionDraw.table_id) == config.table_id,
            col(SortitionDraw.status).in_(("queued", "running")),
        )
    )
    if pending.first() is not None:
        raise Conflict("A draw of this table is under way.", code=ErrorCode.DRAW_IN_PROGRESS)


async def request_draw(session: AsyncSession, actor: User, table_id: uuid.UUID) -> DrawPublic:
    table = await get_facilitated_table(session, actor, table_id, for_update=True)
    config = await load_config(session, table.id)
    await _refuse_unready(session, config)
    inputs = await build_inputs(session, config)
    issues = await feasibility_issues(inputs)
    if issues:
        raise _infeasible(issues)
    assert config.seed is not None
    draw = SortitionDraw(
        table_id=table.id,
        algorithm=config.algorithm,
        seed=config.seed,
        seed_source=config.seed_source,
        number_to_select=config.number_to_select,
        applicants_count=len(inputs["people"]),
        inputs=inputs,
        inputs_hash=library.inputs_hash(inputs),
        library_version=library.library_version(),
        progress={"phase": "queued"},
        requested_by_id=actor.id,
    )
    session.add(draw)
    await session.flush()
    record_audit(
        session,
        EventType.SORTITION_DRAW_REQUESTED,
        organization_id=table.organization_id,
        actor_id=actor.id,
        target_type="table",
        target_id=table.id,
        data={
            "table_id": str(table.id),
            "draw_id": str(draw.id),
            "seed": draw.seed,
            "seed_published_at": config.seed_published_at.isoformat()
            if config.seed_published_at
            else None,
            "inputs_hash": draw.inputs_hash,
            "algorithm": draw.algorithm,
            "library_version": draw.library_version,
            "applicants_count": draw.applicants_count,
        },
    )
    await session.refresh(draw)
    return draw_public(draw)


async def get_draw(
    session: AsyncSession, actor: User | None, table_id: uuid.UUID, draw_id: uuid.UUID
) -> DrawPublic:
    """Public (whoever may see the table): status, progress, counts; no identities."""
    table = await get_visible_table(session, actor, table_id)
    draw = await session.get(SortitionDraw, draw_id)
    if draw is None or draw.table_id != table.id:
        raise NotFound(NO_DRAW)
    return draw_public(draw)


async def composition(
    session: AsyncSession, actor: User | None, table_id: uuid.UUID
) -> Composition:
    """Public: per feature value, its quota, how many applied and how many sit on the
    panel now (counts only)."""
    table = await get_visible_table(session, actor, table_id)
    config = await load_config(session, table.id)
    draw = await completed_draw(session, table.id)
    applications = (
        await session.exec(
            select(SortitionApplication.id, SortitionApplication.features).where(
                col(SortitionApplication.table_id) == table.id
            )
        )
    ).all()
    if draw is not None:  # the draw's own rows: erased applicants still count there
        pool = [(p["key"], p["features"]) for p in draw.inputs["people"]]
    else:
        pool = [(str(key), features) for key, features in applications]
    panel = set(draw.panel) if draw is not None else set()
    k = config.number_to_select
    features = []
    for f in config.features:
        values = []
        for v in f["values"]:
            low, high = quota_bounds(v, k)
            has = [key for key, feats in pool if feats.get(f["name"]) == v["value"]]
            values.append(
                CompositionValue(
                    value=v["value"],
                    label=v.get("label"),
                    min=low,
                    max=high,
                    applicants=len(has),
                    selected=sum(1 for key in has if key in panel),
                )
            )
        features.append(CompositionFeature(name=f["name"], label=f.get("label"), values=values))
    return Composition(
        table_id=table.id,
        number_to_select=k,
        applicants_count=len(pool),
        selected_count=len(panel),
        draw_id=draw.id if draw is not None else None,
        features=features,
    )
