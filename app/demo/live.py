"""The demo's live session: a scheduled meeting of Bari's youth table with a few live
questions (approved by the facilitator: the table admits minors, so questions wait for
approval), likes, and a live poll for the facilitator to open during the session.

Idempotent: a table that already has the meeting is left alone.
"""

from datetime import UTC, datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.demo.comments import youth_table
from app.demo.proposals import FACILITATOR
from app.models.accounts import User
from app.models.live import QuestionCreate, QuestionUpdate
from app.models.meetings import AgendaItem, Meeting, MeetingCreate
from app.models.polls import PollCreate
from app.models.tables import TableMembership
from app.services.accounts.people import find_user_by_email
from app.services.live.questions import ask_question, set_like, update_question
from app.services.meetings.meetings import create_meeting
from app.services.polls.polls import create_poll

TITLE = "Sessione live: le vostre domande sul Piano"
QUESTIONS = (
    "Quando verranno finanziati i progetti più sostenuti della consultazione?",
    "Si possono proporre spazi di studio aperti la sera nei quartieri?",
    "Come saranno coinvolti i comuni della provincia, non solo Bari?",
)
AGENDA = (
    "Apertura e regole della sessione",
    "Domande dal pubblico",
    "Sondaggio: il tema del prossimo incontro",
)


async def _participants(session: AsyncSession, table_id: object, facilitator: User) -> list[User]:
    """A few active members of the table other than the facilitator, oldest first."""
    return list(
        (
            await session.exec(
                select(User)
                .join(TableMembership, col(TableMembership.user_id) == User.id)
                .where(
                    col(TableMembership.table_id) == table_id,
                    col(TableMembership.status) == "active",
                    col(User.id) != facilitator.id,
                    col(User.deleted_at).is_(None),
                )
                .order_by(col(TableMembership.created_at), col(User.id))
                .limit(len(QUESTIONS) + 2)
            )
        ).all()
    )


async def seed_demo_live(session: AsyncSession) -> list[str]:
    table = await youth_table(session)
    facilitator = await find_user_by_email(session, FACILITATOR[0])
    if table is None or facilitator is None:
        return []
    exists = (
        await session.exec(
            select(Meeting.id).where(
                col(Meeting.table_id) == table.id, col(Meeting.title)["it"].astext == TITLE
            )
        )
    ).first()
    if exists is not None:
        return []
    people = await _participants(session, table.id, facilitator)
    if len(people) < len(QUESTIONS):
        return []
    starts = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
    meeting, _ = await create_meeting(
        session,
        facilitator,
        table.id,
        MeetingCreate(
            title={"it": TITLE},
            description={"it": "Domande e sondaggi in diretta con la facilitazione del tavolo."},
            kind="plenary",
            format="hybrid",
            starts_at=starts,
            ends_at=starts + timedelta(hours=2),
            agenda=[AgendaItem(title={"it": item}) for item in AGENDA],
        ),
    )
    for i, body in enumerate(QUESTIONS):
        question = await ask_question(session, people[i], meeting.id, QuestionCreate(body=body))
        await update_question(session, facilitator, question.id, QuestionUpdate(status="visible"))
        # Earlier questions get more likes, so `?sort=likes` has an order to show.
        for fan in people[: len(people) - i]:
            if fan.id != people[i].id:
                await set_like(session, fan, question.id, like=True)
    await create_poll(
        session,
        facilitator,
        table.id,
        PollCreate(
            question={"it": "Quale tema per il prossimo incontro?"},
            options=[{"it": "Mobilità"}, {"it": "Lavoro e competenze"}, {"it": "Spazi giovanili"}],
            opens_at=starts + timedelta(hours=1),
            closes_at=starts + timedelta(hours=2),
            results_visibility="live",
            meeting_id=meeting.id,
        ),
    )
    return [f"live session: meeting {meeting.id} with {len(QUESTIONS)} questions and a poll"]
