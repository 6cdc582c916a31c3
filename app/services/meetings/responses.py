"""Responses for meetings and the seat counts they show: registrations and waiting list,
linked nodes, minutes, the caller's registration, and the online link only for people
registered and the table's facilitators. A whole page costs a constant number of queries.
"""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models.accounts import User
from app.models.meetings import (
    MEETING_TIMEZONE,
    AgendaItem,
    Meeting,
    MeetingLocation,
    MeetingMinutes,
    MeetingPlanNode,
    MeetingPublic,
    MeetingRegistration,
    MinutesPublic,
    MyRegistration,
)
from app.models.proposals import MinutesProposal, Proposal
from app.models.tables import ParticipationTable
from app.services.access.tables import facilitates_clause

# Registrations that hold a seat.
SEATED = ("registered", "attended")


async def seat_counts(
    session: AsyncSession, meeting_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, tuple[int, int]]:
    """(seats taken, people waiting) per meeting."""
    counts: dict[uuid.UUID, list[int]] = {}
    if not meeting_ids:
        return {}
    rows = await session.exec(
        select(MeetingRegistration.meeting_id, MeetingRegistration.status, func.count())
        .where(
            col(MeetingRegistration.meeting_id).in_(meeting_ids),
            col(MeetingRegistration.status) != "cancelled",
        )
        .group_by(col(MeetingRegistration.meeting_id), col(MeetingRegistration.status))
    )
    for meeting_id, status, count in rows.all():
        pair = counts.setdefault(meeting_id, [0, 0])
        pair[0 if status in SEATED else 1] += count
    return {k: (v[0], v[1]) for k, v in counts.items()}


def waitlist_position() -> Any:
    """Correlated SQL expression: the place of a `MeetingRegistration` row on its meeting's
    waiting list (meaningful for waitlisted rows only)."""
    ahead = aliased(MeetingRegistration)
    return (
        select(func.count())
        .where(
            col(ahead.meeting_id) == MeetingRegistration.meeting_id,
            col(ahead.status) == "waitlisted",
            col(ahead.seq) <= MeetingRegistration.seq,
        )
        .scalar_subquery()
    )


def _rome(value: datetime | None) -> datetime | None:
    return value.astimezone(MEETING_TIMEZONE) if value is not None else None


def minutes_public(
    minutes: MeetingMinutes, proposal_ids: Sequence[uuid.UUID] = ()
) -> MinutesPublic:
    return MinutesPublic(
        meeting_id=minutes.meeting_id,
        text=minutes.text,
        attendees_count=minutes.attendees_count,
        attending_organizations=minutes.attending_organizations,
        proposal_ids=list(proposal_ids),
        published_at=minutes.published_at,
        updated_at=minutes.updated_at,
    )


async def minutes_proposal_ids(
    session: AsyncSession, meeting_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    """The proposals linked from each meeting's minutes, in one query; proposals hidden
    by moderation are left out (the minutes are public)."""
    linked: dict[uuid.UUID, list[uuid.UUID]] = {}
    rows = await session.exec(
        select(MinutesProposal.meeting_id, MinutesProposal.proposal_id)
        .join(Proposal, col(Proposal.id) == MinutesProposal.proposal_id)
        .where(
            col(MinutesProposal.meeting_id).in_(meeting_ids),
            col(Proposal.moderation_status) == "visible",
        )
        .order_by(col(MinutesProposal.proposal_id))
    )
    for meeting_id, proposal_id in rows.all():
        linked.setdefault(meeting_id, []).append(proposal_id)
    return linked


async def _my_registrations(
    session: AsyncSession, actor: User, meeting_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, MyRegistration]:
    rows = await session.exec(
        select(MeetingRegistration, waitlist_position()).where(
            col(MeetingRegistration.meeting_id).in_(meeting_ids),
            col(MeetingRegistration.user_id) == actor.id,
            col(MeetingRegistration.status) != "cancelled",
        )
    )
    return {
        r.meeting_id: MyRegistration(
            id=r.id,
            status=r.status,
            check_in_code=r.check_in_code,
            waitlist_position=pos if r.status == "waitlisted" else None,
        )
        for r, pos in rows.all()
    }


async def _node_ids(
    session: AsyncSession, ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    nodes: dict[uuid.UUID, list[uuid.UUID]] = {}
    for meeting_id, node_id in (
        await session.exec(
            select(MeetingPlanNode.meeting_id, MeetingPlanNode.node_id)
            .where(col(MeetingPlanNode.meeting_id).in_(ids))
            .order_by(col(MeetingPlanNode.node_id))
        )
    ).all():
        nodes.setdefault(meeting_id, []).append(node_id)
    return nodes


async def _minutes(session: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, MinutesPublic]:
    linked = await minutes_proposal_ids(session, ids)
    return {
        m.meeting_id: minutes_public(m, linked.get(m.meeting_id, ()))
        for m in (
            await session.exec(
                select(MeetingMinutes).where(col(MeetingMinutes.meeting_id).in_(ids))
            )
        ).all()
    }


async def _facilitated(
    session: AsyncSession, actor: User, table_ids: set[uuid.UUID]
) -> set[uuid.UUID]:
    """Which of these tables the actor runs."""
    return set(
        (
            await session.exec(
                select(ParticipationTable.id).where(
                    col(ParticipationTable.id).in_(table_ids), facilitates_clause(actor)
                )
            )
        ).all()
    )


async def meetings_public(
    session: AsyncSession, actor: User | None, meetings: Sequence[Meeting]
) -> list[MeetingPublic]:
    """Responses for a page of meetings in a constant number of queries."""
    ids = [m.id for m in meetings]
    if not ids:
        return []
    seats = await seat_counts(session, ids)
    nodes = await _node_ids(session, ids)
    minutes = await _minutes(session, ids)
    mine: dict[uuid.UUID, MyRegistration] = {}
    facilitated: set[uuid.UUID] = set()
    if actor is not None:
        mine = await _my_registrations(session, actor, ids)
        facilitated = await _facilitated(session, actor, {m.table_id for m in meetings})
    result = []
    for m in meetings:
        my = mine.get(m.id)
        sees_link = m.table_id in facilitated or (my is not None and my.status in SEATED)
        has_location = m.location_name or m.location_address or m.location_municipality_id
        taken, waiting = seats.get(m.id, (0, 0))
        result.append(
            MeetingPublic(
                id=m.id,
                table_id=m.table_id,
                organization_id=m.organization_id,
                title=m.title,
                description=m.description,
                kind=m.kind,
                format=m.format,
                starts_at=m.starts_at.astimezone(MEETING_TIMEZONE),
                ends_at=m.ends_at.astimezone(MEETING_TIMEZONE),
                location=MeetingLocation(
                    name=m.location_name,
                    address=m.location_address,
                    municipality_id=m.location_municipality_id,
                )
                if has_location
                else None,
                online_url=m.online_url if sees_link else None,
                capacity=m.capacity,
                registration_opens_at=_rome(m.registration_opens_at),
                registration_closes_at=_rome(m.registration_closes_at),
                node_ids=nodes.get(m.id, []),
                agenda=[AgendaItem.model_validate(item) for item in m.agenda],
                status=m.status,
                moderation_status=m.moderation_status,
                live_status=m.live_status,
                current_agenda_item=m.current_agenda_item,
                registrations_count=taken,
                waitlist_count=waiting,
                my_registration=my,
                minutes=minutes.get(m.id),
                created_at=m.created_at,
                updated_at=m.updated_at,
            )
        )
    return result


async def meeting_public(
    session: AsyncSession, actor: User | None, meeting: Meeting
) -> MeetingPublic:
    return (await meetings_public(session, actor, [meeting]))[0]
