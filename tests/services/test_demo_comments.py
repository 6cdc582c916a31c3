"""The demo's comment threads and polls in Bari's youth table: present, consistent
(counters equal rows), and added once."""

from datetime import UTC, datetime

from sqlalchemy import func
from sqlmodel import col, select

from app.demo.comments import Line, demo_threads
from app.demo.moderation import SPAM
from app.demo.seed import seed_demo
from app.models.comments import Comment, CommentVote
from app.models.organizations import Organization
from app.models.polls import Poll, PollOption, PollParticipation
from app.models.proposals import Proposal
from app.models.tables import ParticipationTable
from app.services.polls.polls import poll_status


def _lines(line: Line) -> int:
    return 1 + sum(_lines(reply) for reply in line.replies)


async def _snapshot(session):
    return (
        (await session.exec(select(func.count()).select_from(Comment))).one(),
        (await session.exec(select(func.count()).select_from(CommentVote))).one(),
        (await session.exec(select(func.count()).select_from(Poll))).one(),
        (await session.exec(select(func.count()).select_from(PollParticipation))).one(),
    )


async def test_demo_threads_and_polls(session):
    await seed_demo(session)
    first = await _snapshot(session)
    await seed_demo(session)
    assert await _snapshot(session) == first

    table = (
        await session.exec(
            select(ParticipationTable)
            .join(Organization, col(Organization.id) == ParticipationTable.organization_id)
            .where(
                col(Organization.slug) == "cm-bari",
                col(ParticipationTable.slug) == "tavolo-giovani",
            )
        )
    ).one()
    proposals = (
        await session.exec(
            select(Proposal).where(
                col(Proposal.table_id) == table.id, col(Proposal.title).in_(list(demo_threads()))
            )
        )
    ).all()
    assert len(proposals) == len(demo_threads())
    comments = (await session.exec(select(Comment).where(col(Comment.table_id) == table.id))).all()
    threads = demo_threads()
    # The demo's moderation adds one spam comment to report (test_demo_moderation).
    assert [c.body for c in comments].count(SPAM[2]) == 1
    assert len(comments) - 1 == sum(_lines(line) for thread in threads.values() for line in thread)
    assert {c.alignment for c in comments} == {"in_favor", "against", "neutral"}
    assert max(c.depth for c in comments) == 3
    for proposal in proposals:
        mine = [c for c in comments if c.target_id == proposal.id]
        assert mine and proposal.comments_count == len(mine)
    votes = (await session.exec(select(CommentVote))).all()
    for comment in comments:
        values = [v.value for v in votes if v.comment_id == comment.id]
        assert (comment.upvotes, comment.downvotes) == (values.count(1), values.count(-1))
        assert all(v.user_id != comment.author_id for v in votes if v.comment_id == comment.id)

    # The comments' demo polls (not the live session's, which has a meeting).
    polls = (
        await session.exec(
            select(Poll).where(col(Poll.table_id) == table.id, col(Poll.meeting_id).is_(None))
        )
    ).all()
    assert len(polls) == 2
    statuses = sorted(poll_status(p, datetime.now(UTC)) for p in polls)
    assert statuses == ["closed", "open"]
    for poll in polls:
        participations = (
            await session.exec(
                select(func.count())
                .select_from(PollParticipation)
                .where(col(PollParticipation.poll_id) == poll.id)
            )
        ).one()
        assert poll.ballots_count == participations > 0
        chosen = (
            await session.exec(
                select(func.sum(PollOption.votes_count)).where(col(PollOption.poll_id) == poll.id)
            )
        ).one()
        assert participations <= chosen <= participations * poll.max_choices
