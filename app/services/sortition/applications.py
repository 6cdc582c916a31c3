"""Applications to be drawn: one per person and table, while the window is open.

The applicant declares the table's `declared` features; `age` and `municipality`
features are filled from the profile (birth date, municipality of residence) when they
apply or change their application. The table's eligibility rules apply as for joining.
An application is the applicant's own: only `…/applications/me` shows it, to them, with
their status after the draw and their selection probability (the draw's marginal). The
household address, when the table checks households, is kept only as an HMAC keyed
with the server's secret, so the same address gives the same key and nobody can read it.
"""

import hashlib
import hmac
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import get_settings
from app.error_codes import ErrorCode
from app.errors import Conflict, NotFound, Unprocessable, field_error
from app.event_types import EventType
from app.events import record_event
from app.models.accounts import User, age_on
from app.models.meetings import MEETING_TIMEZONE
from app.models.sortition import (
    ApplicationIn,
    ApplicationPublic,
    ApplicationStatus,
    SortitionApplication,
    SortitionConfig,
    SortitionDraw,
)
from app.models.tables import ParticipationTable
from app.services.access.tables import get_visible_table
from app.services.sortition.config import completed_draw, load_config, window_open
from app.services.tables.memberships import check_eligibility

NO_APPLICATION = "You have not applied to this table."


def household_key(address: str) -> str:
    normalized = " ".join(address.casefold().replace(",", " ").split())
    secret = get_settings().secret_key.encode()
    return hmac.new(secret, f"household:{normalized}".encode(), hashlib.sha256).hexdigest()


def _profile_value(feature: dict[str, Any], user: User) -> str | None:
    today = datetime.now(MEETING_TIMEZONE).date()
    for v in feature["values"]:
        if (
            feature["source"] == "age"
            and user.birth_date is not None
            and v["age_from"] <= age_on(user.birth_date, today) <= v["age_to"]
        ):
            return str(v["value"])
        if (
            feature["source"] == "municipality"
            and user.municipality_id is not None
            and str(user.municipality_id) in v["municipality_ids"]
        ):
            return str(v["value"])
    return None


def resolve_features(config: SortitionConfig, user: User, data: ApplicationIn) -> dict[str, str]:
    """The application's value of every feature, or 422 naming each one missing."""
    errors = []
    resolved: dict[str, str] = {}
    declared = {f["name"] for f in config.features if f["source"] == "declared"}
    for name in sorted(set(data.features) - declared):
        errors.append(
            field_error(
                ["body", "features", name], "not a declared feature", ErrorCode.UNKNOWN_FIELD
            )
        )
    for feature in config.features:
        name = feature["name"]
        if feature["source"] == "declared":
            given = data.features.get(name)
            allowed = [v["value"] for v in feature["values"]]
            loc = ["body", "features", name]
            if given is None:
                errors.append(field_error(loc, "required", ErrorCode.REQUIRED))
            elif given not in allowed:
                msg = "one of: " + ", ".join(allowed)
                errors.append(field_error(loc, msg, ErrorCode.INVALID_CHOICE))
            else:
                resolved[name] = given
            continue
        value = _profile_value(feature, user)
        if value is None:
            field = "birth_date" if feature["source"] == "age" else "municipality_id"
            errors.append(
                field_error(
                    ["user", field],
                    f"your profile's {field} matches no value of {name}",
                    ErrorCode.SORTITION_NO_MATCHING_VALUE,
                )
            )
        else:
            resolved[name] = value
    if config.check_same_address and data.household is None:
        errors.append(
            field_error(["body", "household"], "this table checks households", ErrorCode.REQUIRED)
        )
    if errors:
        raise Unprocessable(
            "The application is incomplete.", code=ErrorCode.VALIDATION_ERROR, errors=errors
        )
    return resolved


async def _own(
    session: AsyncSession, table_id: uuid.UUID, user_id: uuid.UUID, *, for_update: bool = False
) -> SortitionApplication | None:
    stmt = select(SortitionApplication).where(
        col(SortitionApplication.table_id) == table_id,
        col(SortitionApplication.user_id) == user_id,
    )
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.exec(stmt)).one_or_none()


async def to_public(session: AsyncSession, application: SortitionApplication) -> ApplicationPublic:
    return public_of(application, await completed_draw(session, application.table_id))


def public_of(application: SortitionApplication, draw: SortitionDraw | None) -> ApplicationPublic:
    key = str(application.id)
    status: ApplicationStatus = "applied"
    rank = probability = None
    if draw is not None:
        probability = draw.marginals.get(key) if draw.marginals is not None else None
        if key in draw.panel:
            status = "selected"
        elif key in draw.reserve:
            status, rank = "reserve", draw.reserve.index(key) + 1
        else:
            status = "not_selected"
    return ApplicationPublic(
        table_id=application.table_id,
        features=application.features,
        household_given=application.household_hash is not None,
        status=status,
        reserve_rank=rank,
        selection_probability=probability,
        draw_id=draw.id if draw is not None else None,
        created_at=application.created_at,
        updated_at=application.updated_at,
    )


async def _open_window(
    session: AsyncSession, actor: User, table_id: uuid.UUID
) -> tuple[ParticipationTable, SortitionConfig]:
    table = await get_visible_table(session, actor, table_id, for_update=True, write=True)
    config = await load_config(session, table.id)
    if not window_open(config) or await completed_draw(session, table.id) is not None:
        raise Conflict("Applications are not open now.", code=ErrorCode.SORTITION_WINDOW_CLOSED)
    return table, config


def _event(session: AsyncSession, type: EventType, actor: User, table: ParticipationTable) -> None:
    record_event(
        session,
        type,
        subject_type="table",
        subject_id=table.id,
        actor_id=actor.id,
        organization_id=table.organization_id,
        payload={"table_id": str(table.id)},
    )


async def apply(
    session: AsyncSession, actor: User, table_id: uuid.UUID, data: ApplicationIn
) -> ApplicationPublic:
    table, config = await _open_window(session, actor, table_id)
    if await _own(session, table.id, actor.id) is not None:
        raise Conflict(
            "You have applied already; change it with PUT …/applications/me.",
            code=ErrorCode.ALREADY_APPLIED,
        )
    check_eligibility(table, actor)
    application = SortitionApplication(
        table_id=table.id,
        user_id=actor.id,
        features=resolve_features(config, actor, data),
        household_hash=household_key(data.household) if data.household else None,
    )
    session.add(application)
    await session.flush()
    _event(session, EventType.SORTITION_APPLIED, actor, table)
    await session.refresh(application)
    return await to_public(session, application)


async def get_own(session: AsyncSession, actor: User, table_id: uuid.UUID) -> ApplicationPublic:
    table = await get_visible_table(session, actor, table_id)
    application = await _own(session, table.id, actor.id)
    if application is None:
        raise NotFound(NO_APPLICATION)
    return await to_public(session, application)


async def update_own(
    session: AsyncSession, actor: User, table_id: uuid.UUID, data: ApplicationIn
) -> ApplicationPublic:
    table, config = await _open_window(session, actor, table_id)
    application = await _own(session, table.id, actor.id, for_update=True)
    if application is None:
        raise NotFound(NO_APPLICATION)
    application.features = resolve_features(config, actor, data)
    application.household_hash = household_key(data.household) if data.household else None
    application.updated_at = datetime.now(UTC)
    await session.flush()
    return await to_public(session, application)


async def withdraw(session: AsyncSession, actor: User, table_id: uuid.UUID) -> None:
    table, _ = await _open_window(session, actor, table_id)
    application = await _own(session, table.id, actor.id, for_update=True)
    if application is None:
        raise NotFound(NO_APPLICATION)
    await session.delete(application)
    _event(session, EventType.SORTITION_APPLICATION_WITHDRAWN, actor, table)
