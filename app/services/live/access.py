"""Who may follow, ask in and run a meeting's live session."""

import uuid
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from app.error_codes import ErrorCode
from app.errors import Conflict, Forbidden, NotFound
from app.models.accounts import User
from app.models.meetings import Meeting
from app.services.access.content import MEETING_NOT_FOUND, get_visible_meeting
from app.services.access.standing import TableContext, table_context


@dataclass(frozen=True)
class LiveAccess:
    meeting: Meeting
    ctx: TableContext

    @property
    def moderator(self) -> bool:
        """The meeting's facilitators: its table's, organization and platform admins."""
        return self.ctx.is_facilitator


async def live_access(
    session: AsyncSession, actor: User | None, meeting_id: uuid.UUID, *, for_update: bool = False
) -> LiveAccess:
    """The meeting (404 unless the actor may see it) and the actor's standing at its table."""
    meeting = await get_visible_meeting(session, actor, meeting_id, for_update=for_update)
    try:
        ctx = await table_context(session, actor, meeting.table_id)
    except NotFound:
        raise NotFound(MEETING_NOT_FOUND) from None
    return LiveAccess(meeting, ctx)


def require_facilitator(access: LiveAccess) -> None:
    if not access.moderator:
        raise Forbidden(
            "Only the facilitators of this meeting's table may do this.",
            code=ErrorCode.NOT_FACILITATOR,
        )


def require_session_open(meeting: Meeting) -> None:
    """Questions and likes while the meeting is neither cancelled nor its session ended."""
    if meeting.status == "cancelled":
        raise Conflict("This meeting was cancelled.", code=ErrorCode.MEETING_CANCELLED)
    if meeting.live_status == "ended":
        raise Conflict("This meeting's live session has ended.", code=ErrorCode.LIVE_SESSION_ENDED)
