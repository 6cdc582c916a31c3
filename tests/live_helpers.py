"""Builders for live-session tests: a table with a facilitator, members and a meeting."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from app.models.accounts import User
from app.models.meetings import Meeting
from app.models.organizations import Organization
from app.models.polls import Poll, PollOption, ResultsVisibility
from app.models.tables import ParticipationTable
from tests.factories import add_member, make_meeting, make_org, make_table, make_user


@dataclass
class LiveScene:
    org: Organization
    table: ParticipationTable
    facilitator: User
    members: list[User]
    outsider: User
    meeting: Meeting
    other_meeting: Meeting


async def make_live_scene(
    session: AsyncSession, *, members: int = 2, **table_fields: Any
) -> LiveScene:
    org = await make_org(session)
    table = await make_table(session, org, **table_fields)
    facilitator = await make_user(session, name="Facilitatrice")
    await add_member(session, table, facilitator, role="facilitator")
    people = []
    for i in range(members):
        person = await make_user(session, name=f"Partecipante {i}")
        await add_member(session, table, person)
        people.append(person)
    outsider = await make_user(session, name="Esterna")
    meeting = await make_meeting(
        session,
        table,
        agenda=[{"title": {"it": "Apertura"}}, {"title": {"it": "Domande"}}],
    )
    other = await make_meeting(session, table)
    return LiveScene(org, table, facilitator, people, outsider, meeting, other)


async def make_live_poll(
    session: AsyncSession, meeting: Meeting, *, results_visibility: ResultsVisibility = "live"
) -> tuple[Poll, list[PollOption]]:
    """An upcoming poll of the meeting, for a facilitator to open."""
    now = datetime.now(UTC)
    poll = Poll(
        table_id=meeting.table_id,
        organization_id=meeting.organization_id,
        meeting_id=meeting.id,
        question={"it": "Quale tema per primo?"},
        opens_at=now + timedelta(days=1),
        closes_at=now + timedelta(days=2),
        results_visibility=results_visibility,
    )
    session.add(poll)
    await session.flush()
    options = [
        PollOption(poll_id=poll.id, position=i, label={"it": f"Tema {i + 1}"}) for i in range(3)
    ]
    session.add_all(options)
    await session.flush()
    return poll, options
