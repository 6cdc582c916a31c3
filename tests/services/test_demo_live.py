"""The demo's live session: a scheduled youth-table meeting with questions and a poll."""

from sqlalchemy import func
from sqlmodel import col, select

from app.demo.live import QUESTIONS, TITLE
from app.demo.seed import seed_demo
from app.models.live import LiveQuestion
from app.models.meetings import Meeting
from app.models.polls import Poll
from tests.factories import commit_setup


async def test_the_demo_has_a_live_session_to_run(client, session):
    await seed_demo(session)
    await seed_demo(session)
    await commit_setup(session)
    meetings = (
        await session.exec(select(Meeting).where(col(Meeting.title)["it"].astext == TITLE))
    ).all()
    assert len(meetings) == 1
    meeting = meetings[0]
    assert meeting.status == "scheduled" and len(meeting.agenda) == 3

    response = await client.get(f"/v1/meetings/{meeting.id}/questions", params={"sort": "likes"})
    assert response.status_code == 200, response.text
    questions = response.json()["items"]
    assert [q["body"] for q in questions] == list(QUESTIONS)
    assert {q["status"] for q in questions} == {"visible"}
    likes = [q["likes_count"] for q in questions]
    assert likes == sorted(likes, reverse=True) and likes[0] > 0
    polls = (await session.exec(select(Poll).where(col(Poll.meeting_id) == meeting.id))).all()
    assert len(polls) == 1 and polls[0].results_visibility == "live"
    count = await session.exec(
        select(func.count())
        .select_from(LiveQuestion)
        .where(col(LiveQuestion.meeting_id) == meeting.id)
    )
    assert count.one() == len(QUESTIONS)
