"""A table's sortition configuration: features and quotas, the application window, the
algorithm, the published seed and the household check.

`PUT /v1/tables/{id}/sortition` (a facilitator or the organization's admins) sets it
whole and turns the table's membership policy to `sortition`. Every change is audited
(`sortition.configured`); a new or changed seed also as `sortition.seed_published`, with
the time it became public: a draw uses the seed published before it was requested, so
nobody can pick a seed once the applicants are known. After a completed draw the
configuration is frozen (409 `sortition_already_drawn`).
"""

import math
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.error_codes import ErrorCode
from app.errors import Conflict, NotFound, Unprocessable, field_error
from app.event_types import EventType
from app.models.accounts import User
from app.models.sortition import (
    SortitionApplication,
    SortitionConfig,
    SortitionConfigIn,
    SortitionConfigPublic,
    SortitionDraw,
)
from app.models.tables import ParticipationTable
from app.services.access.tables import get_facilitated_table, get_visible_table
from app.services.audit.write import record_audit
from app.services.sortition.library import algorithm_available

NOT_CONFIGURED = "This table has no sortition."


def _now() -> datetime:
    return datetime.now(UTC)


def window_open(config: SortitionConfig, now: datetime | None = None) -> bool:
    now = now or _now()
    opens, closes = config.applications_open_at, config.applications_close_at
    return (opens is None or opens <= now) and (closes is None or now < closes)


def quota_bounds(value: dict[str, Any], number_to_select: int) -> tuple[int, int]:
    """(min, max) of one value: given, or from its population share."""
    if value.get("share") is not None:
        exact = value["share"] * number_to_select
        return math.floor(exact + 1e-9), math.ceil(exact - 1e-9)
    low = value.get("min")
    high = value.get("max")
    return (0 if low is None else low), (number_to_select if high is None else high)


def _config_errors(data: SortitionConfigIn) -> list[dict[str, Any]]:
    errors = []

    def bad(loc: list[str | int], msg: str) -> None:
        errors.append(field_error(["body", *loc], msg, ErrorCode.SORTITION_INVALID_QUOTAS))

    names = [f.name for f in data.features]
    if len(set(names)) != len(names):
        bad(["features"], "feature names must be unique")
    for i, feature in enumerate(data.features):
        values = [v.value for v in feature.values]
        if len(set(values)) != len(values):
            bad(["features", i, "values"], "values must be unique within a feature")
        for j, v in enumerate(feature.values):
            loc: list[str | int] = ["features", i, "values", j]
            if feature.source == "age" and (v.age_from is None or v.age_to is None):
                bad(loc, "an age feature's values need age_from and age_to")
            if feature.source == "age" and (v.age_from or 0) > (v.age_to or 0):
                bad(loc, "age_from must not exceed age_to")
            if feature.source == "municipality" and not v.municipality_ids:
                bad(loc, "a municipality feature's values need municipality_ids")
            low, _ = quota_bounds(v.model_dump(), data.number_to_select)
            if low > data.number_to_select:
                bad(loc, f"the minimum {low} exceeds number_to_select")
    if (
        data.applications_open_at is not None
        and data.applications_close_at is not None
        and data.applications_open_at >= data.applications_close_at
    ):
        errors.append(
            field_error(
                ["body", "applications_close_at"],
                "the window must close after it opens",
                ErrorCode.ENDS_BEFORE_START,
            )
        )
    return errors


async def load_config(
    session: AsyncSession, table_id: uuid.UUID, *, for_update: bool = False
) -> SortitionConfig:
    stmt = select(SortitionConfig).where(col(SortitionConfig.table_id) == table_id)
    if for_update:
        stmt = stmt.with_for_update()
    config = (await session.exec(stmt)).one_or_none()
    if config is None:
        raise NotFound(NOT_CONFIGURED, code=ErrorCode.SORTITION_NOT_CONFIGURED)
    return config


async def completed_draw(session: AsyncSession, table_id: uuid.UUID) -> SortitionDraw | None:
    """The table's draw whose result stands (at most one)."""
    return (
        await session.exec(
            select(SortitionDraw).where(
                col(SortitionDraw.table_id) == table_id, col(SortitionDraw.status) == "done"
            )
        )
    ).one_or_none()


async def applications_count(session: AsyncSession, table_id: uuid.UUID) -> int:
    stmt = select(func.count()).where(col(SortitionApplication.table_id) == table_id)
    return int((await session.exec(stmt)).one())


async def to_public(session: AsyncSession, config: SortitionConfig) -> SortitionConfigPublic:
    return SortitionConfigPublic(
        table_id=config.table_id,
        features=config.features,
        number_to_select=config.number_to_select,
        applications_open_at=config.applications_open_at,
        applications_close_at=config.applications_close_at,
        algorithm=config.algorithm,
        seed=config.seed,
        seed_source=config.seed_source,
        check_same_address=config.check_same_address,
        seed_published_at=config.seed_published_at,
        applications_count=await applications_count(session, config.table_id),
        window_open=window_open(config),
        drawn=await completed_draw(session, config.table_id) is not None,
        updated_at=config.updated_at,
    )


async def get_config(
    session: AsyncSession, actor: User | None, table_id: uuid.UUID
) -> SortitionConfigPublic:
    """Public: the configuration, seed included, for whoever may see the table."""
    table = await get_visible_table(session, actor, table_id)
    return await to_public(session, await load_config(session, table.id))


def _audit(
    session: AsyncSession,
    action: EventType,
    actor: User,
    table: ParticipationTable,
    data: dict[str, Any],
) -> None:
    record_audit(
        session,
        action,
        organization_id=table.organization_id,
        actor_id=actor.id,
        target_type="table",
        target_id=table.id,
        data={"table_id": str(table.id), **data},
    )


async def put_config(
    session: AsyncSession, actor: User, table_id: uuid.UUID, data: SortitionConfigIn
) -> SortitionConfigPublic:
    table = await get_facilitated_table(session, actor, table_id, for_update=True)
    errors = _config_errors(data)
    if errors:
        raise Unprocessable(
            "The features or quotas do not add up.",
            code=ErrorCode.SORTITION_INVALID_QUOTAS,
            errors=errors,
        )
    if not algorithm_available(data.algorithm):
        raise Unprocessable(
            f"The {data.algorithm} algorithm needs Gurobi, which is not installed here; "
            "use maximin or nash.",
            code=ErrorCode.SORTITION_ALGORITHM_UNAVAILABLE,
        )
    if await completed_draw(session, table.id) is not None:
        raise Conflict(
            "The members were drawn already; the configuration is frozen.",
            code=ErrorCode.SORTITION_ALREADY_DRAWN,
        )
    config = await session.get(SortitionConfig, table.id, with_for_update=True)
    now = _now()
    if config is None:
        config = SortitionConfig(table_id=table.id, number_to_select=data.number_to_select)
        session.add(config)
    seed_changed = (data.seed, data.seed_source) != (config.seed, config.seed_source)
    values = data.model_dump(mode="json", exclude={"applications_open_at", "applications_close_at"})
    for name, value in values.items():
        setattr(config, name, value)
    config.applications_open_at = data.applications_open_at
    config.applications_close_at = data.applications_close_at
    config.updated_by_id = actor.id
    config.updated_at = now
    if seed_changed:
        config.seed_published_at = now if data.seed is not None else None
    if table.membership_policy != "sortition":
        table.membership_policy = "sortition"
        table.version += 1
    _audit(
        session,
        EventType.SORTITION_CONFIGURED,
        actor,
        table,
        {
            "number_to_select": data.number_to_select,
            "algorithm": data.algorithm,
            "features": [f.name for f in data.features],
        },
    )
    if seed_changed:
        _audit(
            session,
            EventType.SORTITION_SEED_PUBLISHED,
            actor,
            table,
            {"seed": data.seed, "seed_source": data.seed_source},
        )
    await session.flush()
    return await to_public(session, config)
