"""The demo's closing reports: the youth table's meetings of spring 2022 took place, so
their minutes are published (by the table's facilitator, through the real service) and
the meetings are `held`, as they would be on a platform that had been in use since.

Idempotent: a meeting that already has minutes, or is not over, is left alone.
"""

import uuid
from datetime import UTC, datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.demo.comments import youth_table
from app.demo.proposals import FACILITATOR
from app.models.meetings import Meeting, MeetingMinutes, MinutesPut
from app.models.proposals import Proposal
from app.services.accounts.people import find_user_by_email
from app.services.meetings.minutes import publish_minutes

# By the meeting's kind (the demo table has one meeting of each): the report, how many
# came, and who came on behalf of an organization.
MINUTES: dict[str, tuple[str, int, list[str]]] = {
    "thematic": (
        "Una settimana di incontri tematici, uno al giorno, sugli assi del Piano "
        "strategico: mobilità sostenibile, lavoro e competenze, cultura e spazi giovanili, "
        "ambiente. I gruppi hanno raccolto le prime idee da trasformare in proposte sulla "
        "piattaforma entro la plenaria di fine aprile.",
        46,
        ["Forum dei giovani di Bari", "Informagiovani"],
    ),
    "plenary": (
        "La plenaria ha ripreso i risultati della Restart Week. Le proposte nate dagli "
        "incontri tematici sono state presentate dai gruppi e collegate agli assi del "
        "Piano; la facilitazione ha spiegato come sostenerle e commentarle fino alla "
        "chiusura della consultazione.",
        58,
        ["Città metropolitana di Bari"],
    ),
    "public": (
        "Incontro pubblico sulla politica locale del cibo: filiere corte, mense "
        "scolastiche, spreco alimentare e orti urbani. Le proposte emerse sono state "
        "affidate al tavolo per la stesura delle schede da allegare al Piano.",
        73,
        ["Città metropolitana di Bari", "Università degli Studi di Bari Aldo Moro"],
    ),
}
# How many of the table's most supported proposals the plenary's minutes link to.
PLENARY_LINKED_PROPOSALS = 3


async def seed_demo_minutes(session: AsyncSession) -> list[str]:
    table = await youth_table(session)
    facilitator = await find_user_by_email(session, FACILITATOR[0])
    if table is None or facilitator is None:
        return []
    meetings = (
        await session.exec(
            select(Meeting)
            .outerjoin(MeetingMinutes, col(MeetingMinutes.meeting_id) == Meeting.id)
            .where(
                col(Meeting.table_id) == table.id,
                col(Meeting.status) == "scheduled",
                col(Meeting.ends_at) < datetime.now(UTC),
                col(MeetingMinutes.meeting_id).is_(None),
            )
            .order_by(col(Meeting.starts_at))
        )
    ).all()
    report: list[str] = []
    for meeting in meetings:
        if meeting.kind not in MINUTES:
            continue
        text, attendees, organizations = MINUTES[meeting.kind]
        linked: list[uuid.UUID] = []
        if meeting.kind == "plenary":
            linked = list(
                (
                    await session.exec(
                        select(Proposal.id)
                        .where(
                            col(Proposal.table_id) == table.id,
                            col(Proposal.status) == "published",
                            col(Proposal.moderation_status) == "visible",
                        )
                        .order_by(col(Proposal.supports_count).desc(), col(Proposal.id))
                        .limit(PLENARY_LINKED_PROPOSALS)
                    )
                ).all()
            )
        await publish_minutes(
            session,
            facilitator,
            meeting.id,
            MinutesPut(
                text={"it": text},
                attendees_count=attendees,
                attending_organizations=organizations,
                proposal_ids=linked,
            ),
        )
        report.append(f"meeting {meeting.starts_at:%Y-%m-%d} of cm-bari/tavolo-giovani: minutes")
    return report
