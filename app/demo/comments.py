"""Demo comments and polls for Bari's youth table (`cm-bari/tavolo-giovani`): Italian
threads with replies, alignments and votes on some of its published proposals, one open
poll and one closed poll with ballots.

The threads and polls are data (`app/data/demo_comments.json`); the people are the demo
proposals' participants. Everything goes through the services (so counters, events and
secrecy are what the API would produce). Idempotent: a proposal that already has comments
gets no new thread, a poll whose question is already there is not created again.
"""

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any, Literal

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.demo.proposals import demo_document
from app.event_types import EventType
from app.events import record_event
from app.models.accounts import User
from app.models.comments import Alignment, Comment, CommentCreate
from app.models.organizations import Organization
from app.models.polls import BallotCreate, Poll, PollCreate
from app.models.proposals import Proposal
from app.models.tables import ParticipationTable, TableMembership
from app.security import hash_password
from app.services.accounts.people import find_user_by_email
from app.services.comments.comments import create_comment
from app.services.comments.votes import put_vote
from app.services.polls.polls import cast_ballot, create_poll

DEMO_FILE = "data/demo_comments.json"
FALLBACK_FACILITATOR = "admin.bari@consulta.demo"


@dataclass(frozen=True)
class Line:
    """One comment of a thread: who (a demo participant's email local part), stance,
    text, its replies, and the votes it gets (local part → +1/-1)."""

    voice: str
    alignment: Alignment
    body: str
    replies: tuple["Line", ...] = ()
    votes: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class DemoPoll:
    spec: dict[str, Any]  # PollCreate fields but closes_at
    state: Literal["open", "closed"]
    ballots: tuple[tuple[str, tuple[int, ...]], ...]  # (voice, option positions)


def _line(raw: dict[str, Any]) -> Line:
    return Line(
        voice=raw["voice"],
        alignment=raw["alignment"],
        body=raw["body"],
        replies=tuple(_line(r) for r in raw.get("replies", [])),
        votes=tuple(raw.get("votes", {}).items()),
    )


def demo_threads() -> dict[str, tuple[Line, ...]]:
    """Comment threads by proposal title (`app/data/demo_comments.json`)."""
    raw = _raw()
    return {t["proposal"]: tuple(_line(c) for c in t["comments"]) for t in raw["threads"]}


def demo_polls() -> tuple[DemoPoll, ...]:
    return tuple(
        DemoPoll(
            spec={k: v for k, v in p.items() if k not in ("state", "ballots")},
            state=p["state"],
            ballots=tuple((b["voice"], tuple(b["options"])) for b in p["ballots"]),
        )
        for p in _raw()["polls"]
    )


def _raw() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(resources.files("app").joinpath(DEMO_FILE).read_text("utf-8"))
    return data


def _voices(threads: dict[str, tuple[Line, ...]], polls: tuple[DemoPoll, ...]) -> list[str]:
    names: dict[str, None] = {}

    def walk(line: Line) -> None:
        names[line.voice] = None
        names.update(dict.fromkeys(v for v, _ in line.votes))
        for reply in line.replies:
            walk(reply)

    for thread in threads.values():
        for line in thread:
            walk(line)
    for poll in polls:
        names.update(dict.fromkeys(v for v, _ in poll.ballots))
    return list(names)


async def youth_table(session: AsyncSession) -> ParticipationTable | None:
    return (
        await session.exec(
            select(ParticipationTable)
            .join(Organization, col(Organization.id) == ParticipationTable.organization_id)
            .where(
                col(Organization.slug) == "cm-bari",
                col(ParticipationTable.slug) == "tavolo-giovani",
            )
        )
    ).one_or_none()


async def _ensure_voice(
    session: AsyncSession, table: ParticipationTable, local: str, password: str
) -> User:
    """A demo participant (created by the proposals' demo step; here if it is missing),
    active member of the table."""
    email = f"{local}@consulta.demo"
    user = await find_user_by_email(session, email)
    if user is None:
        names = {p[0]: p[1] for p in demo_document().participants}
        user = User(
            email=email,
            display_name=names.get(email, local.title()),
            password_hash=hash_password(password),
            email_verified_at=datetime.now(UTC),
        )
        session.add(user)
        await session.flush()
        record_event(
            session,
            EventType.USER_REGISTERED,
            subject_type="user",
            subject_id=user.id,
            actor_id=None,
            payload={"source": "demo"},
        )
    membership = (
        await session.exec(
            select(TableMembership).where(
                col(TableMembership.table_id) == table.id,
                col(TableMembership.user_id) == user.id,
            )
        )
    ).one_or_none()
    if membership is None:
        membership = TableMembership(
            table_id=table.id, user_id=user.id, status="active", activated_at=datetime.now(UTC)
        )
        session.add(membership)
        await session.flush()
        record_event(
            session,
            EventType.MEMBERSHIP_JOINED,
            subject_type="table",
            subject_id=table.id,
            actor_id=user.id,
            organization_id=table.organization_id,
            payload={"user_id": str(user.id), "via": "demo"},
        )
    return user


async def _thread(
    session: AsyncSession,
    voices: dict[str, User],
    proposal: Proposal,
    line: Line,
    parent_id: uuid.UUID | None,
) -> None:
    author = voices[line.voice]
    comment = await create_comment(
        session,
        author,
        "proposal",
        proposal.id,
        CommentCreate(body=line.body, alignment=line.alignment, parent_id=parent_id),
        # The demo's threads stand for approved content on a pre-moderated table.
        approved=True,
    )
    for voter, value in line.votes:
        if voices[voter].id != author.id:
            await put_vote(session, voices[voter], comment.id, value)
    for reply in line.replies:
        await _thread(session, voices, proposal, reply, comment.id)


async def _comment_threads(
    session: AsyncSession,
    table: ParticipationTable,
    voices: dict[str, User],
    threads: dict[str, tuple[Line, ...]],
) -> int:
    proposals = (
        await session.exec(
            select(Proposal).where(
                col(Proposal.table_id) == table.id,
                col(Proposal.title).in_(list(threads)),
                col(Proposal.status) == "published",
            )
        )
    ).all()
    commented = set(
        (
            await session.exec(
                select(Comment.target_id).where(
                    col(Comment.target_type) == "proposal",
                    col(Comment.target_id).in_([p.id for p in proposals]),
                )
            )
        ).all()
    )
    added = 0
    for proposal in sorted(proposals, key=lambda p: list(threads).index(p.title)):
        if proposal.id in commented:
            continue
        for line in threads[proposal.title]:
            await _thread(session, voices, proposal, line, None)
        added += 1
    return added


async def _poll_exists(
    session: AsyncSession, table: ParticipationTable, spec: dict[str, Any]
) -> bool:
    found = (
        await session.exec(
            select(Poll.id).where(
                col(Poll.table_id) == table.id,
                col(Poll.question)["it"].astext == spec["question"]["it"],
            )
        )
    ).first()
    return found is not None


async def _polls(
    session: AsyncSession,
    table: ParticipationTable,
    voices: dict[str, User],
    facilitator: User,
    polls: tuple[DemoPoll, ...],
) -> int:
    now = datetime.now(UTC)
    added = 0
    for demo in polls:
        if await _poll_exists(session, table, demo.spec):
            continue
        # A closed poll ran last week: created open, voted, then moved into the past.
        closes_at = now + (timedelta(days=14) if demo.state == "open" else timedelta(hours=1))
        poll = await create_poll(
            session, facilitator, table.id, PollCreate(**demo.spec, closes_at=closes_at)
        )
        for voice, positions in demo.ballots:
            ballot = BallotCreate(option_ids=[poll.options[i].id for i in positions])
            await cast_ballot(session, voices[voice], poll.id, ballot)
        if demo.state == "closed":
            await session.exec(
                update(Poll)
                .where(col(Poll.id) == poll.id)
                .values(
                    opens_at=now - timedelta(days=9),
                    closes_at=now - timedelta(days=2),
                    created_at=now - timedelta(days=9),
                    updated_at=now - timedelta(days=9),
                )
                .execution_options(synchronize_session=False)
            )
        added += 1
    return added


async def seed_comments_and_polls(session: AsyncSession, password: str) -> list[str]:
    table = await youth_table(session)
    facilitator = await find_user_by_email(session, demo_document().facilitator[0])
    if facilitator is None:
        facilitator = await find_user_by_email(session, FALLBACK_FACILITATOR)
    if table is None or facilitator is None:
        return []
    threads, polls = demo_threads(), demo_polls()
    voices = {
        local: await _ensure_voice(session, table, local, password)
        for local in _voices(threads, polls)
    }
    report = []
    commented = await _comment_threads(session, table, voices, threads)
    if commented:
        report.append(f"table cm-bari/tavolo-giovani: comment threads on {commented} proposals")
    added = await _polls(session, table, voices, facilitator, polls)
    if added:
        report.append(f"table cm-bari/tavolo-giovani: {added} polls with ballots")
    await session.flush()
    return report
