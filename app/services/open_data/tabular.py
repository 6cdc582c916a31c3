"""The datasets that are one SQL statement each, streamed from a server-side cursor.

Each statement selects plain columns (no ORM objects) of what an anonymous visitor may
see, in a stable order; `stream_rows` reads it through a server-side cursor (asyncpg)
`CHUNK_ROWS` rows at a time, so the whole table never sits in memory. Translatable texts
come whole from SQL and are put in the organization's language here (`pick`).
"""

from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, exists, func, select
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

CHUNK_ROWS = 2000
Row = Sequence[Any]
Chunks = AsyncIterator[Sequence[Row]]
# (organization) -> the statement; (row, organization's locale) -> the dataset's row.
Statement = Callable[[Organization], Select[Any]]
Shape = Callable[[Row, str], Row]


def select_columns(*columns: Any) -> Select[Any]:
    """A statement of plain columns (SQLModel's typed `select` stops at a few)."""
    stmt: Select[Any] = select(*columns)
    return stmt


def pick(text: TextMap | None, locale: str) -> str:
    """The text in `locale`, else in Italian, else in any language it has."""
    if not text:
        return ""
    return text.get(locale) or text.get("it") or next(iter(text.values()))


def _as_is(row: Row, locale: str) -> Row:
    return row


async def stream_rows(
    session: AsyncSession, stmt: Select[Any], shape: Shape, locale: str
) -> Chunks:
    """The statement's rows in chunks, from a server-side cursor."""
    result = await session.stream(stmt.execution_options(yield_per=CHUNK_ROWS))
    async for partition in result.partitions(CHUNK_ROWS):
        yield [shape(row, locale) for row in partition]


def public_table(table_id: Any) -> ColumnElement[bool]:
    """The table `table_id` is public (an EXISTS, so that it correlates cleanly)."""
    return exists().where(col(ParticipationTable.id) == table_id, can_see_table_clause(None))


def _published_nodes(link: Any, owner: Any, column: Any) -> Any:
    """The codes (or ids) of the nodes of published plans linked to `owner`, in plan order."""
    return (
        select(
            func.coalesce(func.array_agg(aggregate_order_by(column, col(PlanNode.sort_path))), [])
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


def proposals_statement(org: Organization) -> Select[Any]:
    """Published and withdrawn proposals of public tables, visible (not hidden, not
    pending approval); never the author or coauthors."""
    linked = col(ProposalNode.proposal_id) == Proposal.id
    return (
        select_columns(
            Proposal.id,
            Proposal.table_id,
            ParticipationTable.slug,
            Proposal.title,
            Proposal.body,
            Proposal.status,
            Proposal.answer_state,
            Proposal.answer_text,
            Proposal.answered_at,
            Proposal.municipality_id,
            Municipality.name,
            Municipality.istat_code,
            _published_nodes(ProposalNode, linked, PlanNode.id),
            _published_nodes(ProposalNode, linked, PlanNode.code),
            Proposal.supports_count,
            Proposal.comments_count,
            Proposal.threshold_reached_at,
            Proposal.published_at,
            Proposal.withdrawn_at,
            Proposal.updated_at,
        )
        .join(ParticipationTable, col(ParticipationTable.id) == Proposal.table_id)
        .outerjoin(Municipality, col(Municipality.id) == Proposal.municipality_id)
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


def meetings_statement(org: Organization) -> Select[Any]:
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


def shape_meeting(row: Row, locale: str) -> Row:
    values = list(row)
    values[2], values[3] = pick(values[2], locale), pick(values[3], locale)
    values[-1] = pick(values[-1], locale) if values[-1] is not None else None
    return values


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


def measurements_statement(org: Organization) -> Select[Any]:
    """Every measurement of the indicators of published plans (never who recorded it)."""
    return (
        select_columns(
            Measurement.id,
            Measurement.indicator_id,
            Indicator.node_id,
            Indicator.plan_id,
            Measurement.value,
            Measurement.measured_on,
            Measurement.source,
            Measurement.note,
            Measurement.created_at,
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


def poll_results_statement(org: Organization) -> Select[Any]:
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


def shape_poll_result(row: Row, locale: str) -> Row:
    values = list(row)
    values[3], values[10] = pick(values[3], locale), pick(values[10], locale)
    return values


def streamed(
    statement: Statement, shape: Shape = _as_is
) -> Callable[[AsyncSession, Organization], Chunks]:
    """A row source for `datasets.py`: the statement, streamed and shaped."""

    def rows(session: AsyncSession, org: Organization) -> Chunks:
        return stream_rows(session, statement(org), shape, org.default_locale)

    return rows
