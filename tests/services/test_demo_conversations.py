"""The demo's conversation: a few dozen statements on the youth table, votes that form
two groups on the map, and a second seeding that changes nothing."""

from sqlalchemy import func
from sqlmodel import col, select

from app.demo.conversations import LIVELY, QUIET, SHARED, TITLE
from app.demo.seed import seed_demo
from app.models.conversations import Conversation, ConversationVote
from app.services.conversations.maps import read_votes
from app.services.conversations.pipeline import compute_map
from tests.factories import commit_setup


async def test_the_demo_conversation_splits_into_two_groups(client, session):
    await seed_demo(session)
    await seed_demo(session)
    await commit_setup(session)
    conversations = (
        await session.exec(select(Conversation).where(col(Conversation.title) == TITLE))
    ).all()
    assert len(conversations) == 1
    conversation = conversations[0]
    assert conversation.map_dirty is True  # the worker draws it
    listed = await client.get(
        f"/v1/conversations/{conversation.id}/statements", params={"limit": 100}
    )
    bodies = [s["body"] for s in listed.json()["items"]]
    assert sorted(bodies) == sorted([*LIVELY, *QUIET, *SHARED])
    votes = await session.exec(
        select(func.count())
        .select_from(ConversationVote)
        .where(col(ConversationVote.conversation_id) == conversation.id)
    )
    assert votes.one() > 300

    _, rows, statements = await read_votes(session, conversation.id, conversation.pseudonym_key)
    result = compute_map(rows, statements)
    assert result["state"] == "ready"
    assert len(result["groups"]) >= 2
    assert all(g["size"] >= 5 for g in result["groups"])
