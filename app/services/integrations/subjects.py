"""The change feed's `data`: each subject's current public representation, the same
schema as the resource's `GET` for an anonymous caller, built with the resources' own
response builders, a constant number of queries per subject type and page.

For each subject type a loader answers, for a batch of ids: the public representation
of those that are public now, and the ids to leave out of the feed altogether (their
table is private). Every other id is a tombstone: deleted, hidden, or no longer public.
"""

import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models.accounts import User
from app.models.comments import Comment
from app.models.meetings import Meeting
from app.models.plans import Indicator, Measurement, MeasurementPublic, Plan, PlanNode
from app.models.polls import Poll
from app.models.proposals import Proposal
from app.models.tables import ParticipationTable, TableSettings
from app.services.access.content import (
    meeting_shown_clause,
    plan_visible_clause,
    proposal_visibility,
)
from app.services.access.standing import TableContext, default_settings
from app.services.comments.reading import to_public as comment_to_public
from app.services.meetings.responses import meetings_public
from app.services.plans.monitoring import indicators_public
from app.services.plans.plan_nodes import node_public
from app.services.plans.plans import plan_public
from app.services.polls.polls import polls_public
from app.services.proposals.responses import proposals_public
from app.services.tables.responses import tables_public

Loaded = tuple[dict[uuid.UUID, dict[str, Any]], set[uuid.UUID]]
Loader = Callable[[AsyncSession, Sequence[uuid.UUID]], Awaitable[Loaded]]


def _dump(model: Any) -> dict[str, Any]:
    data: dict[str, Any] = model.model_dump(mode="json")
    return data


async def _private(
    session: AsyncSession, model: Any, ids: Sequence[uuid.UUID], table_fk: Any
) -> set[uuid.UUID]:
    """Ids of `model` rows whose table is private (their events are left out)."""
    rows = await session.exec(
        select(model.id)
        .join(ParticipationTable, col(ParticipationTable.id) == table_fk)
        .where(col(model.id).in_(ids), col(ParticipationTable.visibility) != "public")
    )
    return set(rows.all())


def _context(table: ParticipationTable, settings: TableSettings | None) -> TableContext:
    return TableContext(
        table=table,
        settings=settings if settings is not None else default_settings(table.id),
        is_member=False,
        is_facilitator=False,
    )


async def _proposals(session: AsyncSession, ids: Sequence[uuid.UUID]) -> Loaded:
    rows = (
        await session.exec(
            select(Proposal, ParticipationTable, TableSettings)
            .join(ParticipationTable, col(ParticipationTable.id) == Proposal.table_id)
            .outerjoin(TableSettings, col(TableSettings.table_id) == ParticipationTable.id)
            .where(col(Proposal.id).in_(ids), *proposal_visibility(None))
        )
    ).all()
    by_table: dict[uuid.UUID, tuple[TableContext, list[Proposal]]] = {}
    for proposal, table, settings in rows:
        by_table.setdefault(table.id, (_context(table, settings), []))[1].append(proposal)
    data: dict[uuid.UUID, dict[str, Any]] = {}
    for ctx, proposals in by_table.values():
        for item in await proposals_public(session, None, ctx, proposals):
            data[item.id] = _dump(item)
    return data, await _private(session, Proposal, ids, Proposal.table_id)


async def _comments(session: AsyncSession, ids: Sequence[uuid.UUID]) -> Loaded:
    rows = (
        await session.exec(
            select(Comment, User.display_name)
            .outerjoin(User, (col(User.id) == Comment.author_id) & col(User.deleted_at).is_(None))
            .where(
                col(Comment.id).in_(ids),
                col(Comment.deleted_at).is_(None),
                col(Comment.status) == "visible",
            )
        )
    ).all()
    data = {c.id: _dump(comment_to_public(c, name, None)) for c, name in rows}
    return data, await _private(session, Comment, ids, Comment.table_id)


async def _meetings(session: AsyncSession, ids: Sequence[uuid.UUID]) -> Loaded:
    meetings = (
        await session.exec(
            select(Meeting)
            .join(ParticipationTable, col(ParticipationTable.id) == Meeting.table_id)
            .where(
                col(Meeting.id).in_(ids),
                col(ParticipationTable.visibility) == "public",
                meeting_shown_clause(None),
            )
        )
    ).all()
    data = {m.id: _dump(m) for m in await meetings_public(session, None, meetings)}
    return data, await _private(session, Meeting, ids, Meeting.table_id)


async def _tables(session: AsyncSession, ids: Sequence[uuid.UUID]) -> Loaded:
    tables = (
        await session.exec(
            select(ParticipationTable).where(
                col(ParticipationTable.id).in_(ids),
                col(ParticipationTable.visibility) == "public",
            )
        )
    ).all()
    private = (
        await session.exec(
            select(ParticipationTable.id).where(
                col(ParticipationTable.id).in_(ids),
                col(ParticipationTable.visibility) != "public",
            )
        )
    ).all()
    data = {t.id: _dump(t) for t in await tables_public(session, None, tables)}
    return data, set(private)


async def _polls(session: AsyncSession, ids: Sequence[uuid.UUID]) -> Loaded:
    polls = (
        await session.exec(
            select(Poll)
            .join(ParticipationTable, col(ParticipationTable.id) == Poll.table_id)
            .where(col(Poll.id).in_(ids), col(ParticipationTable.visibility) == "public")
        )
    ).all()
    data = {p.id: _dump(p) for p in await polls_public(session, None, polls, facilitator=False)}
    return data, await _private(session, Poll, ids, Poll.table_id)


async def _plans(session: AsyncSession, ids: Sequence[uuid.UUID]) -> Loaded:
    plans = (
        await session.exec(select(Plan).where(col(Plan.id).in_(ids), plan_visible_clause(None)))
    ).all()
    return {p.id: _dump(await plan_public(session, p)) for p in plans}, set()


async def _nodes(session: AsyncSession, ids: Sequence[uuid.UUID]) -> Loaded:
    nodes = (
        await session.exec(
            select(PlanNode)
            .join(Plan, col(Plan.id) == PlanNode.plan_id)
            .where(col(PlanNode.id).in_(ids), plan_visible_clause(None))
        )
    ).all()
    return {n.id: _dump(await node_public(session, n)) for n in nodes}, set()


async def _indicators(session: AsyncSession, ids: Sequence[uuid.UUID]) -> Loaded:
    indicators = (
        await session.exec(
            select(Indicator)
            .join(Plan, col(Plan.id) == Indicator.plan_id)
            .where(col(Indicator.id).in_(ids), plan_visible_clause(None))
        )
    ).all()
    return {i.id: _dump(i) for i in await indicators_public(session, indicators)}, set()


async def _measurements(session: AsyncSession, ids: Sequence[uuid.UUID]) -> Loaded:
    rows = (
        await session.exec(
            select(Measurement)
            .join(Indicator, col(Indicator.id) == Measurement.indicator_id)
            .join(Plan, col(Plan.id) == Indicator.plan_id)
            .where(col(Measurement.id).in_(ids), plan_visible_clause(None))
        )
    ).all()
    return {m.id: _dump(MeasurementPublic.model_validate(m)) for m in rows}, set()


LOADERS: dict[str, Loader] = {
    "proposal": _proposals,
    "comment": _comments,
    "meeting": _meetings,
    "table": _tables,
    "poll": _polls,
    "plan": _plans,
    "plan_node": _nodes,
    "indicator": _indicators,
    "measurement": _measurements,
}

# The feed's subject types: the public resources. Events about people (accounts,
# memberships, reports, suspensions, roles, consents) are never in it.
FEED_SUBJECT_TYPES: tuple[str, ...] = (*LOADERS, "registration")


def feed_subject(subject_type: str, subject_id: uuid.UUID, payload: dict[str, Any]) -> Any:
    """The subject an event is shown under: a registration changes its meeting's counts,
    so it is shown as the meeting (never as the registration, which names a person)."""
    if subject_type == "registration":
        meeting_id = payload.get("meeting_id")
        return ("meeting", uuid.UUID(str(meeting_id))) if meeting_id else None
    return (subject_type, subject_id)


async def load_subjects(
    session: AsyncSession, subjects: Sequence[tuple[str, uuid.UUID]]
) -> tuple[dict[tuple[str, uuid.UUID], dict[str, Any]], set[tuple[str, uuid.UUID]]]:
    """Public representations of `subjects` and the ones to leave out (private)."""
    wanted: dict[str, set[uuid.UUID]] = defaultdict(set)
    for kind, subject_id in subjects:
        wanted[kind].add(subject_id)
    data: dict[tuple[str, uuid.UUID], dict[str, Any]] = {}
    omitted: set[tuple[str, uuid.UUID]] = set()
    for kind, ids in wanted.items():
        loaded, private = await LOADERS[kind](session, sorted(ids))
        data.update({(kind, i): d for i, d in loaded.items()})
        omitted.update((kind, i) for i in private)
    return data, omitted
