"""The drawn panel as the table's members, and replacements from the reserve list.

`seat_panel` makes every selected applicant an active member (a new membership, or
their pending, invited or rejected one turned active), all or nothing: the table's
member cap is checked before any write. `replace` (`POST …/sortition/replacements`, a
facilitator) takes a panel member off the panel (and out of the table) and seats the
first person on the reserve list with whom the panel meets every quota again — the
quotas and, with the household check, one person per household — from the draw's stored
inputs. It is audited (`sortition.replacement`).
"""

import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.error_codes import ErrorCode
from app.errors import Conflict, NotFound
from app.event_types import EventType
from app.events import record_event
from app.models.accounts import User
from app.models.sortition import ReplacementIn, ReplacementPublic, SortitionApplication
from app.models.tables import ParticipationTable, TableMembership
from app.services.access.tables import get_facilitated_table
from app.services.audit.write import record_audit
from app.services.meetings.registrations import release_members_only_seats
from app.services.sortition.config import completed_draw
from app.services.tables.responses import active_member_counts


async def _users_of(
    session: AsyncSession, application_ids: list[uuid.UUID]
) -> dict[uuid.UUID, uuid.UUID]:
    """Application id → user id, for the applications that still exist."""
    if not application_ids:
        return {}
    rows = await session.exec(
        select(SortitionApplication.id, SortitionApplication.user_id).where(
            col(SortitionApplication.id).in_(application_ids)
        )
    )
    return {app_id: user_id for app_id, user_id in rows.all()}


async def seat_panel(
    session: AsyncSession, table: ParticipationTable, application_ids: list[uuid.UUID]
) -> None:
    """The panel become active members (the table row must be locked)."""
    users = list((await _users_of(session, application_ids)).values())
    existing = {
        m.user_id: m
        for m in (
            await session.exec(
                select(TableMembership).where(
                    col(TableMembership.table_id) == table.id,
                    col(TableMembership.user_id).in_(users),
                )
            )
        ).all()
    }
    new = [u for u in users if u not in existing or existing[u].status != "active"]
    if table.max_members is not None:
        members = (await active_member_counts(session, [table.id])).get(table.id, 0)
        if members + len(new) > table.max_members:
            raise Conflict(
                "The panel does not fit under the table's maximum number of members.",
                code=ErrorCode.TABLE_FULL,
            )
    now = datetime.now(UTC)
    for user_id in new:
        membership = existing.get(user_id)
        if membership is None:
            membership = TableMembership(table_id=table.id, user_id=user_id, status="active")
            session.add(membership)
        membership.status = "active"
        membership.activated_at = now
        await session.flush()
        record_event(
            session,
            EventType.MEMBERSHIP_JOINED,
            subject_type="membership",
            subject_id=membership.id,
            actor_id=None,
            organization_id=table.organization_id,
            payload={
                "table_id": str(table.id),
                "user_id": str(user_id),
                "role": membership.role,
                "status": "active",
                "via": "sortition",
            },
        )


def keeps_quotas(inputs: dict[str, Any], panel: list[str]) -> bool:
    """Whether `panel` meets every quota of the draw's inputs (and, with the household
    check, holds one person per household)."""
    people = {p["key"]: p for p in inputs["people"]}
    counts: Counter[tuple[str, str]] = Counter(
        (name, value) for key in panel for name, value in people[key]["features"].items()
    )
    for feature in inputs["features"]:
        for v in feature["values"]:
            if not v["min"] <= counts[(feature["name"], v["value"])] <= v["max"]:
                return False
    if inputs["check_same_address"]:
        homes = [people[k]["household"] or f"self:{k}" for k in panel]
        return len(set(homes)) == len(homes)
    return True


async def _unseat(
    session: AsyncSession, actor: User, table: ParticipationTable, user_id: uuid.UUID
) -> None:
    membership = (
        await session.exec(
            select(TableMembership).where(
                col(TableMembership.table_id) == table.id, col(TableMembership.user_id) == user_id
            )
        )
    ).one_or_none()
    if membership is None or membership.role == "facilitator":
        return
    was_member = membership.status == "active"
    await session.delete(membership)
    if was_member:
        await release_members_only_seats(session, actor, table.id, user_id)


async def replace(
    session: AsyncSession, actor: User, table_id: uuid.UUID, data: ReplacementIn
) -> ReplacementPublic:
    table = await get_facilitated_table(session, actor, table_id, for_update=True)
    draw = await completed_draw(session, table.id)
    if draw is None:
        raise NotFound("This table has no completed draw.", code=ErrorCode.NOT_ON_PANEL)
    await session.refresh(draw, with_for_update=True)
    users = await _users_of(session, [uuid.UUID(k) for k in draw.panel + draw.reserve])
    leaving = next((k for k in draw.panel if users.get(uuid.UUID(k)) == data.user_id), None)
    if leaving is None:
        raise NotFound("This person is not on the panel.", code=ErrorCode.NOT_ON_PANEL)
    rest = [k for k in draw.panel if k != leaving]
    rank, chosen = next(
        (
            (rank, key)
            for rank, key in enumerate(draw.reserve, start=1)
            if uuid.UUID(key) in users and keeps_quotas(draw.inputs, [*rest, key])
        ),
        (0, None),
    )
    if chosen is None:
        raise Conflict(
            "Nobody on the reserve list keeps the quotas with this panel.",
            code=ErrorCode.NO_REPLACEMENT,
        )
    replacement_user = users[uuid.UUID(chosen)]
    await _unseat(session, actor, table, data.user_id)
    await session.flush()
    await seat_panel(session, table, [uuid.UUID(chosen)])
    draw.panel = sorted([*rest, chosen])
    draw.reserve = [k for k in draw.reserve if k != chosen]
    draw.replacements = [
        *draw.replacements,
        {"out": leaving, "in": chosen, "reserve_rank": rank, "at": datetime.now(UTC).isoformat()},
    ]
    draw.updated_at = datetime.now(UTC)
    record_audit(
        session,
        EventType.SORTITION_REPLACEMENT,
        organization_id=table.organization_id,
        actor_id=actor.id,
        target_type="table",
        target_id=table.id,
        data={
            "table_id": str(table.id),
            "draw_id": str(draw.id),
            "replaced_user_id": str(data.user_id),
            "replacement_user_id": str(replacement_user),
            "reserve_rank": rank,
        },
    )
    return ReplacementPublic(
        draw_id=draw.id,
        replaced_user_id=data.user_id,
        replacement_user_id=replacement_user,
        reserve_rank=rank,
    )
