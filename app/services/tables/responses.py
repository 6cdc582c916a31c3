"""Responses for participation tables: counts, linked nodes and the caller's membership,
for a whole page in a constant number of queries."""

import uuid
from collections.abc import Sequence

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models.accounts import User
from app.models.meetings import Meeting
from app.models.tables import (
    Eligibility,
    MyMembership,
    ParticipationTable,
    TableMembership,
    TablePlanNode,
    TablePublic,
)


async def active_member_counts(
    session: AsyncSession, table_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    if not table_ids:
        return {}
    rows = await session.exec(
        select(TableMembership.table_id, func.count())
        .where(
            col(TableMembership.table_id).in_(table_ids), col(TableMembership.status) == "active"
        )
        .group_by(col(TableMembership.table_id))
    )
    return dict(rows.all())


async def tables_public(
    session: AsyncSession, actor: User | None, tables: Sequence[ParticipationTable]
) -> list[TablePublic]:
    """Responses for a page of tables: counts, nodes and the caller's membership in a
    constant number of queries."""
    ids = [t.id for t in tables]
    if not ids:
        return []
    members = await active_member_counts(session, ids)
    meetings = dict(
        (
            await session.exec(
                select(Meeting.table_id, func.count())
                .where(
                    col(Meeting.table_id).in_(ids),
                    col(Meeting.status) != "cancelled",
                    # A public count: meetings hidden by moderation are not in it.
                    col(Meeting.moderation_status) == "visible",
                )
                .group_by(col(Meeting.table_id))
            )
        ).all()
    )
    nodes: dict[uuid.UUID, list[uuid.UUID]] = {}
    for table_id, node_id in (
        await session.exec(
            select(TablePlanNode.table_id, TablePlanNode.node_id)
            .where(col(TablePlanNode.table_id).in_(ids))
            .order_by(col(TablePlanNode.node_id))
        )
    ).all():
        nodes.setdefault(table_id, []).append(node_id)
    mine: dict[uuid.UUID, MyMembership] = {}
    if actor is not None:
        for m in (
            await session.exec(
                select(TableMembership).where(
                    col(TableMembership.table_id).in_(ids),
                    col(TableMembership.user_id) == actor.id,
                )
            )
        ).all():
            mine[m.table_id] = MyMembership(role=m.role, status=m.status)
    return [
        TablePublic(
            id=t.id,
            organization_id=t.organization_id,
            slug=t.slug,
            name=t.name,
            description=t.description,
            plan_id=t.plan_id,
            node_ids=nodes.get(t.id, []),
            visibility=t.visibility,
            membership_policy=t.membership_policy,
            eligibility=Eligibility(
                min_age=t.min_age, max_age=t.max_age, municipality_ids=t.eligible_municipality_ids
            ),
            max_members=t.max_members,
            status=t.status,
            members_count=members.get(t.id, 0),
            meetings_count=meetings.get(t.id, 0),
            my_membership=mine.get(t.id),
            created_at=t.created_at,
            updated_at=t.updated_at,
        )
        for t in tables
    ]


async def table_public(
    session: AsyncSession, actor: User | None, table: ParticipationTable
) -> TablePublic:
    return (await tables_public(session, actor, [table]))[0]
