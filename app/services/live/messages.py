"""Events of the spine → messages of a meeting's live stream, built once per batch and
filtered per subscriber (`LiveMessage.for_viewer`)."""

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi.sse import ServerSentEvent
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models.events import Event
from app.models.live import LiveQuestion
from app.models.polls import Poll
from app.services.live.polls import poll_results
from app.services.live.questions import SHOWN, question_public, with_author
from app.services.polls.polls import polls_public

QUESTION_EVENTS = {
    "question.created": "question.created",
    "question.updated": "question.updated",
    "question.liked": "question.liked",
    "question.unliked": "question.liked",
}
POLL_EVENTS = {"poll.opened", "poll.closed"}
BALLOT = "poll.ballot_cast"
# How many events one read of the spine takes.
BATCH = 500


@dataclass(frozen=True)
class LiveMessage:
    """One message; `seq` is its SSE `id:` (None: a gauge, sent without an id).

    `data` goes to everyone when `public`, else only to moderators and `author_id`;
    everyone else gets `others` instead (or nothing). Moderators get `moderator_data`
    when set (e.g. results they see before the close)."""

    seq: int | None
    event: str
    data: dict[str, Any]
    public: bool = True
    author_id: uuid.UUID | None = None
    others: tuple[str, dict[str, Any]] | None = None
    moderator_data: dict[str, Any] | None = None
    # Whether a subscriber that has already seen `seq` skips it (not for snapshots).
    from_spine: bool = True

    # The JSON of each view, encoded once for every subscriber that gets it.
    encoded: dict[int, str] = field(default_factory=dict, compare=False, repr=False)
    built: dict[tuple[str, int], ServerSentEvent] = field(
        default_factory=dict, compare=False, repr=False
    )

    def sse_for(self, user_id: uuid.UUID | None, moderator: bool) -> ServerSentEvent | None:
        """The SSE message for this subscriber, built once per view and shared."""
        shown = self.for_viewer(user_id, moderator)
        if shown is None:
            return None
        event, data = shown
        key = (event, id(data))
        if key not in self.built:
            seq = None if self.seq is None else str(self.seq)
            self.built[key] = ServerSentEvent(event=event, raw_data=data, id=seq)
        return self.built[key]

    def for_viewer(self, user_id: uuid.UUID | None, moderator: bool) -> tuple[str, str] | None:
        """(event type, JSON data) as this subscriber sees it, or None."""
        if moderator:
            return self.event, self._json(self.moderator_data or self.data)
        if self.public or (user_id is not None and user_id == self.author_id):
            return self.event, self._json(self.data)
        if self.others is None:
            return None
        return self.others[0], self._json(self.others[1])

    def _json(self, data: dict[str, Any]) -> str:
        key = id(data)
        if key not in self.encoded:
            self.encoded[key] = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        return self.encoded[key]


@dataclass
class Batch:
    messages: list[LiveMessage] = field(default_factory=list)
    # Polls whose results changed (ballots, closing): sent coalesced.
    polls: set[uuid.UUID] = field(default_factory=set)


async def read_events(
    session: AsyncSession, meeting_id: uuid.UUID, after: int, limit: int = BATCH
) -> list[Event]:
    return list(
        (
            await session.exec(
                select(Event)
                .where(col(Event.meeting_id) == meeting_id, col(Event.seq) > after)
                .order_by(col(Event.seq))
                .limit(limit)
            )
        ).all()
    )


async def last_seq(session: AsyncSession, meeting_id: uuid.UUID) -> int:
    seq = (
        await session.exec(
            select(Event.seq)
            .where(col(Event.meeting_id) == meeting_id)
            .order_by(col(Event.seq).desc())
            .limit(1)
        )
    ).first()
    return seq or 0


async def build(session: AsyncSession, events: Sequence[Event]) -> Batch:
    """The messages of a batch of one meeting's events, in seq order, in a constant
    number of queries (the questions, the polls)."""
    batch = Batch()
    question_ids = {e.subject_id for e in events if e.type in QUESTION_EVENTS}
    poll_ids = {e.subject_id for e in events if e.type in POLL_EVENTS}
    questions: dict[uuid.UUID, tuple[LiveQuestion, str | None]] = {}
    if question_ids:
        rows = await session.exec(with_author().where(col(LiveQuestion.id).in_(question_ids)))
        questions = {q.id: (q, name) for q, name in rows.all()}
    polls: dict[uuid.UUID, tuple[dict[str, Any], dict[str, Any]]] = {}
    if poll_ids:
        found = list((await session.exec(select(Poll).where(col(Poll.id).in_(poll_ids)))).all())
        public = await polls_public(session, None, found, facilitator=False)
        full = await polls_public(session, None, found, facilitator=True)
        polls = {
            p.id: (p.model_dump(mode="json"), f.model_dump(mode="json"))
            for p, f in zip(public, full, strict=True)
        }
    for event in events:
        assert event.seq is not None
        if event.type in QUESTION_EVENTS:
            batch.messages.append(_question_message(event, questions.get(event.subject_id)))
        elif event.type in POLL_EVENTS and event.subject_id in polls:
            public_view, full_view = polls[event.subject_id]
            batch.messages.append(
                LiveMessage(event.seq, event.type, public_view, moderator_data=full_view)
            )
            batch.polls.add(event.subject_id)
        elif event.type == BALLOT:
            batch.polls.add(event.subject_id)
        elif event.type == "meeting.live_updated":
            data = {"meeting_id": str(event.subject_id), **event.payload}
            batch.messages.append(LiveMessage(event.seq, "meeting.live", data))
    return batch


def _question_message(event: Event, row: tuple[LiveQuestion, str | None] | None) -> LiveMessage:
    assert event.seq is not None
    removed = ("question.removed", {"id": str(event.subject_id)})
    if row is None:  # gone since (its meeting deleted)
        return LiveMessage(event.seq, "question.removed", removed[1])
    question, name = row
    data = question_public(question, name).model_dump(mode="json")
    shown = question.status in SHOWN
    others = None if event.type == "question.created" else removed
    return LiveMessage(
        event.seq,
        QUESTION_EVENTS[event.type],
        data,
        public=shown,
        author_id=question.author_id,
        others=None if shown else others,
    )


async def results_messages(
    session: AsyncSession, poll_ids: set[uuid.UUID], seq: int
) -> list[LiveMessage]:
    """One `poll.results` per poll, the current counts, carrying the stream's position."""
    views = await poll_results(session, sorted(poll_ids))
    return [
        LiveMessage(seq, "poll.results", public, moderator_data=full, from_spine=False)
        for public, full in views.values()
    ]
