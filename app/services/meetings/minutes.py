"""Publishing a meeting's minutes, with the proposals they link to."""

import uuid
from datetime import UTC, datetime

from sqlalchemy import delete, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.error_codes import ErrorCode
from app.errors import Conflict, Unprocessable
from app.event_types import EventType
from app.models.accounts import User
from app.models.meetings import (
    Meeting,
    MeetingMinutes,
    MeetingRegistration,
    MinutesPublic,
    MinutesPut,
)
from app.models.organizations import Organization
from app.models.proposals import MinutesProposal, Proposal
from app.services.access.content import get_facilitated_meeting
from app.services.audit.write import record_audit
from app.services.meetings.responses import minutes_proposal_ids, minutes_public
from app.services.validation import field_error, require_default_locale


async def publish_minutes(
    session: AsyncSession, actor: User, meeting_id: uuid.UUID, data: MinutesPut
) -> MinutesPublic:
    """Write (or rewrite) the closing report; the meeting is then held."""
    meeting = await get_facilitated_meeting(session, actor, meeting_id, for_update=True)
    if meeting.status == "cancelled":
        raise Conflict("This meeting is cancelled.", code=ErrorCode.MEETING_CANCELLED)
    # A closing report is written once the meeting has begun: published earlier by
    # mistake, it would make an upcoming meeting `held` for good.
    if datetime.now(UTC) < meeting.starts_at:
        raise Conflict(
            "This meeting has not started yet; publish its minutes once it has.",
            code=ErrorCode.MEETING_NOT_STARTED,
        )
    org = await session.get(Organization, meeting.organization_id)
    assert org is not None
    require_default_locale(org, [(["body", "text"], data.text, True)])
    attendees = data.attendees_count
    if attendees is None:
        attendees = (
            await session.exec(
                select(func.count()).where(
                    col(MeetingRegistration.meeting_id) == meeting.id,
                    col(MeetingRegistration.status) == "attended",
                )
            )
        ).one()
    minutes = await session.get(MeetingMinutes, meeting.id)
    first = minutes is None
    if minutes is None:
        minutes = MeetingMinutes(
            meeting_id=meeting.id, attendees_count=attendees, published_at=datetime.now(UTC)
        )
        session.add(minutes)
    minutes.text = data.text
    minutes.attendees_count = attendees
    minutes.attending_organizations = data.attending_organizations
    minutes.published_by_id = actor.id
    meeting.status = "held"
    meeting.version += 1
    await session.flush()
    await _link_minutes_proposals(session, meeting, data.proposal_ids)
    record_audit(
        session,
        EventType.MEETING_MINUTES_PUBLISHED if first else EventType.MEETING_MINUTES_UPDATED,
        organization_id=meeting.organization_id,
        actor_id=actor.id,
        target_type="meeting",
        target_id=meeting.id,
        data={
            "table_id": str(meeting.table_id),
            "attendees_count": attendees,
            "proposal_ids": [str(i) for i in data.proposal_ids],
        },
    )
    await session.refresh(minutes)
    linked = await minutes_proposal_ids(session, [meeting.id])
    return minutes_public(minutes, linked.get(meeting.id, ()))


async def _link_minutes_proposals(
    session: AsyncSession, meeting: Meeting, proposal_ids: list[uuid.UUID]
) -> None:
    """Replace the minutes' linked proposals: published (not draft) proposals of the
    meeting's own table only; anything else is a 422 naming the bad entries."""
    wanted = list(dict.fromkeys(proposal_ids))
    found = set(
        (
            await session.exec(
                select(Proposal.id).where(
                    col(Proposal.id).in_(wanted),
                    col(Proposal.table_id) == meeting.table_id,
                    col(Proposal.status) != "draft",
                )
            )
        ).all()
    )
    errors = [
        field_error(
            ["body", "proposal_ids", index],
            "Not a published proposal of this meeting's table.",
            ErrorCode.UNKNOWN_PROPOSAL,
        )
        for index, proposal_id in enumerate(proposal_ids)
        if proposal_id not in found
    ]
    if errors:
        raise Unprocessable(
            "Some linked proposals are not published proposals of this table.",
            code=ErrorCode.UNKNOWN_PROPOSAL,
            errors=errors,
        )
    await session.exec(delete(MinutesProposal).where(col(MinutesProposal.meeting_id) == meeting.id))
    session.add_all(MinutesProposal(meeting_id=meeting.id, proposal_id=i) for i in wanted)
    await session.flush()
