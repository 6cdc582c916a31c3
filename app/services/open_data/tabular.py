"""The datasets that are one SQL statement each, streamed from a server-side cursor.

Each statement selects plain columns (no ORM objects) of what an anonymous visitor may
see, in a stable order; `stream_rows` reads it through a server-side cursor (asyncpg)
`CHUNK_ROWS` rows at a time, so the whole table never sits in memory. Translatable texts
come whole from SQL and are put in the organization's language here (`pick`).
"""

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, exists, func, literal_column, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.sql import Select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models.base import TextMap
from app.models.meetings import Meeting, MeetingMinutes, MeetingPlanNode, MeetingRegistration
from app.models.organizations import Municipality, Organization
from app.models.plans import Indicator, Measurement, Plan, PlanNode
from app.models.polls import Poll, PollOption
from app.models.proposals import Proposal, ProposalNode
from app.models.tables import ParticipationTable
from app.services.access.content import (
    meeting_shown_clause,
    plan_visible_clause,
    proposal_visibility,
)
from app.services.access.tables import can_see_table_clause
from app.services.open_data.cells import Cells

CHUNK_ROWS = 2000
Row = Sequence[Any]
Chunks = AsyncIterator[Sequence[Row]]
# (organization, cell formats) -> the statement; (row, locale, formats) -> the row.
Statement = Callable[[Organization, Cells], Select[Any]]
Shape = Callable[[Row, str, Cells], Row]


def select_columns(*columns: Any) -> Select[Any]:
    """A statement of plain columns (SQLModel's typed `select` stops at a few)."""
    stmt: Select[Any] = select(*columns)
    return stmt


def pick(text: TextMap | None, locale: str) -> str:
    """The text in `locale`, else in Italian, else in any language it has."""
    if not text:
        return ""
    return text.get(locale) or text.get("it") or next(iter(text.values()))


def _as_is(row: Row, locale: str, cells: Cells) -> Row:
    """Rows whose statement formats every cell in SQL (`Cells`)."""
    return row


async def stream_rows(
    session: AsyncSession, stmt: Select[Any], shape: Shape, locale: str, cells: Cells
) -> Chunks:
    """The statement's rows in chunks of `CHUNK_ROWS`, from a server-side cursor of the
    session's own connection and transaction.

    The statement is compiled by SQLAlchemy and run by asyncpg itself: its records skip
    SQLAlchemy's per-row result processing, a third of the time of a big export. So
    values come as asyncpg decodes them: UUIDs as asyncpg's UUID (a `str()` is the usual
    form), `jsonb` through the connection's codec (`json_text`). The next chunk is asked
    for before this one is handed on, so PostgreSQL computes it while this process
    encodes and sends the current one (two chunks in memory at most)."""
    conn = await session.connection()
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params = [compiled.params[name] for name in compiled.positiontup or ()]
    driver = (await conn.get_raw_connection()).driver_connection
    assert driver is not None and driver.is_in_transaction()
    cursor = await driver.cursor(str(compiled), *params)
    pending = asyncio.ensure_future(cursor.fetch(CHUNK_ROWS))
    try:
        while rows := await pending:
            pending = asyncio.ensure_future(cursor.fetch(CHUNK_ROWS))
            await asyncio.sleep(0)  # the request for the next chunk goes out now
            yield [shape(row, locale, cells) for row in rows]
    finally:
        pending.cancel()  # a download stopped half-way: its transaction is rolled back


def json_text(value: Any) -> Any:
    """A `jsonb` object or array column as the raw cursor gives it: decoded by the codec
    SQLAlchemy sets on its connections, or as text without it."""
    return json.loads(value) if isinstance(value, str) else value


def public_table(table_id: Any) -> ColumnElement[bool]:
    """The table `table_id` is public (an EXISTS, so that it correlates cleanly)."""
    return exists().where(col(ParticipationTable.id) == table_id, can_see_table_clause(None))


def _published_nodes(link: Any, owner: Any, column: Any) -> Any:
    """The codes (or ids) of the nodes of published plans linked to `owner`, in plan order."""
    return (
        select(
            func.coalesce(
                func.array_agg(aggregate_order_by(column, col(PlanNode.sort_path))),
                literal_column("'{}'"),
            )
        )
        .select_from(link)
        .join(PlanNode, col(PlanNode.id) == link.node_id)
        .join(Plan, col(Plan.id) == PlanNode.plan_id)
        .where(owner, plan_visible_clause(None))
        .scalar_subquery()
    )


# --- proposals ------------------------------------------------------------------------

PROPOSAL_COLUMNS = (
    "id",
    "table_id",
    "table_slug",
    "title",
    "body",
    "status",
    "answer_state",
    "answer_text",
    "answered_at",
    "municipality_id",
    "municipality_name",
    "municipality_istat_code",
    "node_ids",
    "node_codes",
    "supports_count",
    "comments_count",
    "threshold_reached_at",
    "published_at",
    "withdrawn_at",
    "updated_at",
)


def _proposal_links(org: Organization) -> Any:
    """Per proposal, the ids and codes of its nodes of published plans, in plan order: one
    grouped pass over the organization's links, hash-joined (a subquery per proposal
    costs a few seconds per 100 000)."""
    order = col(PlanNode.sort_path)
    return (
        select(
            col(ProposalNode.proposal_id).label("proposal_id"),
            func.array_agg(aggregate_order_by(col(PlanNode.id), order)).label("node_ids"),
            func.array_agg(aggregate_order_by(col(PlanNode.code), order)).label("node_codes"),
        )
        .join(PlanNode, col(PlanNode.id) == ProposalNode.node_id)
        .join(Plan, col(Plan.id) == PlanNode.plan_id)
        .where(col(PlanNode.organization_id) == org.id, plan_visible_clause(None))
        .group_by(col(ProposalNode.proposal_id))
        .subquery("links")
    )


def proposals_statement(org: Organization, cells: Cells) -> Select[Any]:
    """Published and withdrawn proposals of public tables, visible (not hidden, not
    pending approval); never the author or coauthors. Every cell formatted in SQL."""
    links = _proposal_links(org)
    empty: Any = literal_column("'{}'")
    return (
        select_columns(
            cells.id(Proposal.id),
            cells.id(Proposal.table_id),
            ParticipationTable.slug,
            cells.text(Proposal.title),
            cells.text(Proposal.body),
            Proposal.status,
            Proposal.answer_state,
            cells.text(Proposal.answer_text),
            cells.instant(Proposal.answered_at),
            cells.id(Proposal.municipality_id),
            cells.text(Municipality.name),
            Municipality.istat_code,
            cells.array(func.coalesce(links.c.node_ids, empty)),
            cells.array(func.coalesce(links.c.node_codes, empty)),
            Proposal.supports_count,
            Proposal.comments_count,
            cells.instant(Proposal.threshold_reached_at),
            cells.instant(Proposal.published_at),
            cells.instant(Proposal.withdrawn_at),
            cells.instant(Proposal.updated_at),
        )
        .join(ParticipationTable, col(ParticipationTable.id) == Proposal.table_id)
        .outerjoin(Municipality, col(Municipality.id) == Proposal.municipality_id)
        .outerjoin(links, links.c.proposal_id == Proposal.id)
        .where(col(Proposal.organization_id) == org.id, *proposal_visibility(None))
        .order_by(col(Proposal.id))
    )


# --- meetings -------------------------------------------------------------------------

MEETING_COLUMNS = (
    "id",
    "table_id",
    "title",
    "description",
    "kind",
    "format",
    "status",
    "starts_at",
    "ends_at",
    "location_name",
    "location_address",
    "municipality_id",
    "municipality_name",
    "online_url",
    "capacity",
    "registered_count",
    "waitlisted_count",
    "checked_in_count",
    "node_codes",
    "minutes_published_at",
    "minutes_attendees_count",
    "minutes_attending_organizations",
    "minutes_text",
)


def _registrations(*statuses: str) -> Any:
    return (
        select(func.count())
        .select_from(MeetingRegistration)
        .where(
            col(MeetingRegistration.meeting_id) == Meeting.id,
            col(MeetingRegistration.status).in_(statuses),
        )
        .scalar_subquery()
    )


def meetings_statement(org: Organization, cells: Cells) -> Select[Any]:
    """Meetings of public tables not hidden by moderation, with their registration and
    attendance counts (never who) and their published minutes."""
    return (
        select_columns(
            Meeting.id,
            Meeting.table_id,
            Meeting.title,
            Meeting.description,
            Meeting.kind,
            Meeting.format,
            Meeting.status,
            Meeting.starts_at,
            Meeting.ends_at,
            Meeting.location_name,
            Meeting.location_address,
            Meeting.location_municipality_id,
            Municipality.name,
            Meeting.online_url,
            Meeting.capacity,
            _registrations("registered", "attended"),
            _registrations("waitlisted"),
            _registrations("attended"),
            _published_nodes(
                MeetingPlanNode, col(MeetingPlanNode.meeting_id) == Meeting.id, PlanNode.code
            ),
            MeetingMinutes.published_at,
            MeetingMinutes.attendees_count,
            MeetingMinutes.attending_organizations,
            MeetingMinutes.text,
        )
        .outerjoin(Municipality, col(Municipality.id) == Meeting.location_municipality_id)
        .outerjoin(MeetingMinutes, col(MeetingMinutes.meeting_id) == Meeting.id)
        .where(
            col(Meeting.organization_id) == org.id,
            public_table(Meeting.table_id),
            meeting_shown_clause(None),
        )
        .order_by(col(Meeting.starts_at), col(Meeting.id))
    )


def shape_meeting(row: Row, locale: str, cells: Cells) -> Row:
    """Texts in the organization's language; cells formatted here (a few rows)."""
    values = list(row)
    values[2] = pick(json_text(values[2]), locale)
    values[3] = pick(json_text(values[3]), locale)
    values[-2] = json_text(values[-2])
    values[-1] = pick(json_text(values[-1]), locale) if values[-1] is not None else None
    return cells.row(values)


# --- measurements ---------------------------------------------------------------------

MEASUREMENT_COLUMNS = (
    "id",
    "indicator_id",
    "node_id",
    "plan_id",
    "value",
    "measured_on",
    "source",
    "note",
    "created_at",
)


def measurements_statement(org: Organization, cells: Cells) -> Select[Any]:
    """Every measurement of the indicators of published plans (never who recorded it)."""
    return (
        select_columns(
            cells.id(Measurement.id),
            cells.id(Measurement.indicator_id),
            cells.id(Indicator.node_id),
            cells.id(Indicator.plan_id),
            cells.decimal(Measurement.value),
            cells.day(Measurement.measured_on),
            cells.text(Measurement.source),
            cells.text(Measurement.note),
            cells.instant(Measurement.created_at),
        )
        .join(Indicator, col(Indicator.id) == Measurement.indicator_id)
        .join(Plan, col(Plan.id) == Indicator.plan_id)
        .where(col(Indicator.organization_id) == org.id, plan_visible_clause(None))
        .order_by(col(Indicator.id), col(Measurement.measured_on), col(Measurement.id))
    )


# --- poll results ---------------------------------------------------------------------

POLL_RESULT_COLUMNS = (
    "poll_id",
    "table_id",
    "meeting_id",
    "question",
    "kind",
    "opens_at",
    "closes_at",
    "ballots_count",
    "option_id",
    "option_position",
    "option_label",
    "votes_count",
)


def poll_results_statement(org: Organization, cells: Cells) -> Select[Any]:
    """One row per option of every closed poll of a public table (closed: its results are
    public whatever `results_visibility` says)."""
    return (
        select_columns(
            Poll.id,
            Poll.table_id,
            Poll.meeting_id,
            Poll.question,
            Poll.kind,
            Poll.opens_at,
            Poll.closes_at,
            Poll.ballots_count,
            PollOption.id,
            PollOption.position,
            PollOption.label,
            PollOption.votes_count,
        )
        .join(Poll, col(Poll.id) == PollOption.poll_id)
        .where(
            col(Poll.organization_id) == org.id,
            col(Poll.closes_at) <= datetime.now(UTC),
            public_table(Poll.table_id),
        )
        .order_by(col(Poll.closes_at), col(Poll.id), col(PollOption.position))
    )


def shape_poll_result(row: Row, locale: str, cells: Cells) -> Row:
    values = list(row)
    values[3] = pick(json_text(values[3]), locale)
    values[10] = pick(json_text(values[10]), locale)
    return cells.row(values)


def streamed(
    statement: Statement, shape: Shape = _as_is
) -> Callable[[AsyncSession, Organization, Cells], Chunks]:
    """A row source for `datasets.py`: the statement, streamed and shaped."""

    def rows(session: AsyncSession, org: Organization, cells: Cells) -> Chunks:
        return stream_rows(session, statement(org, cells), shape, org.default_locale, cells)

    return rows
