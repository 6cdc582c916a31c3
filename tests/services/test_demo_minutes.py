"""The demo's 2022 meetings are over: they are held, with their minutes, once."""

from sqlalchemy import func
from sqlmodel import col, select

from app.demo.comments import youth_table
from app.demo.live import TITLE as LIVE_TITLE
from app.demo.seed import seed_demo
from app.models.events import Event
from app.models.meetings import MeetingMinutes
from tests.factories import commit_setup


async def test_the_demo_meetings_are_held_with_their_minutes(client, session):
    await seed_demo(session)
    await seed_demo(session)
    await commit_setup(session)
    table = await youth_table(session)
    assert table is not None

    response = await client.get(f"/v1/tables/{table.id}/meetings?limit=100")
    assert response.status_code == 200, response.text
    # The 2022 meetings (not the live session's, still to come: app/demo/live.py).
    meetings = [m for m in response.json()["items"] if m["title"]["it"] != LIVE_TITLE]
    assert len(meetings) == 3
    assert {m["status"] for m in meetings} == {"held"}
    by_kind = {m["kind"]: m for m in meetings}
    for meeting in meetings:
        minutes = meeting["minutes"]
        assert minutes is not None and minutes["text"]["it"]
        assert minutes["attendees_count"] > 0
    # The plenary's minutes link the table's most supported proposals.
    linked = by_kind["plenary"]["minutes"]["proposal_ids"]
    assert len(linked) == 3
    top = (await client.get(f"/v1/tables/{table.id}/proposals?sort=supports&limit=3")).json()[
        "items"
    ]
    assert set(linked) == {p["id"] for p in top}

    # Seeding twice published each report once.
    rows = (await session.exec(select(func.count()).select_from(MeetingMinutes))).one()
    assert rows == 3
    published = (
        await session.exec(
            select(func.count())
            .select_from(Event)
            .where(col(Event.type) == "meeting.minutes_published")
        )
    ).one()
    assert published == 3
