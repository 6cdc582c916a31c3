"""A table and the actor's standing in it, in one query, and who may take part.

`table_context(actor, table_id)` (and `context_of` for queries that select the same
columns) gives a `TableContext`: the table (404 unless the actor may see it), its
settings (the defaults, `default_settings`, until a facilitator changes them) and whether
the actor is an active member and whether they run it. The `require_*` checks read it.

Who may take part (propose, support, comment, vote in polls): active members of the table
(facilitators included) or — on a public table with an open membership policy — any
verified person who meets the table's eligibility rules (`eligibility_errors`: age,
municipality), without joining first.
"""

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, false
from sqlalchemy.dialects.postgresql import UUID
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.error_codes import ErrorCode
from app.errors import Conflict, Forbidden, NotFound, Unprocessable
from app.models.accounts import User, age_on
from app.models.meetings import MEETING_TIMEZONE
from app.models.tables import (
    ParticipationTable,
    TableSettings,
)
from app.services.access.statements import (
    StatementCache,
    actor_kind,
    actor_params,
    template_actor,
)
from app.services.access.suspensions import refuse_if_suspended, suspension_columns
from app.services.access.tables import (
    TABLE_NOT_FOUND,
    can_see_table_clause,
    facilitates_clause,
    member_clause,
)
from app.services.validation import field_error

# --- a table and the actor's standing in it, in one query -----------------------------


@dataclass
class TableContext:
    table: ParticipationTable
    settings: TableSettings
    # Active member (or facilitator) of the table.
    is_member: bool
    # Runs the table: active facilitator, organization admin or platform admin.
    is_facilitator: bool
    # A suspension of the actor in the table's organization is in force (and until when).
    suspended: bool = False
    suspended_until: datetime | None = None

    def require_not_suspended(self) -> None:
        refuse_if_suspended(self.suspended, self.suspended_until)

    @property
    def counts_visible(self) -> bool:
        return self.settings.supports != "hidden" or self.is_facilitator


def standing_columns(actor: User | None) -> tuple[Any, Any, Any, Any]:
    """`(is_member, is_facilitator, suspended, suspended_until)` as selectable columns of
    a query on `ParticipationTable`."""
    facilitator = facilitates_clause(actor) if actor is not None else false()
    return (
        member_clause(actor).label("is_member"),
        facilitator.label("is_facilitator"),
        *suspension_columns(actor, ParticipationTable.organization_id),
    )


def context_of(row: Any, *, write: bool = False) -> TableContext:
    """A `TableContext` from a row of (…, ParticipationTable, TableSettings | None,
    *standing_columns) — the last six columns. With `write`, 403 `suspended` when the
    actor is suspended in the table's organization."""
    table, settings, is_member, is_facilitator, suspended, until = row[-6:]
    ctx = TableContext(
        table=table,
        settings=settings if settings is not None else default_settings(table.id),
        is_member=bool(is_member),
        is_facilitator=bool(is_facilitator),
        suspended=bool(suspended),
        suspended_until=until,
    )
    if write:
        ctx.require_not_suspended()
    return ctx


async def table_context(
    session: AsyncSession, actor: User | None, table_id: uuid.UUID, *, write: bool = False
) -> TableContext:
    """The table (404 unless the actor may see it), its settings and the actor's standing
    (suspension included: `write` answers 403 `suspended`), in one query, built once per
    kind of actor (`statements.py`)."""
    stmt = _TABLE_CONTEXTS.get(
        actor_kind(actor), lambda: _table_context_statement(template_actor(actor))
    )
    bound = {**actor_params(actor), "table_id": table_id}
    row = (await session.exec(stmt, params=bound)).one_or_none()
    if row is None:
        raise NotFound(TABLE_NOT_FOUND)
    return context_of(row, write=write)


_TABLE_CONTEXTS = StatementCache()


def _table_context_statement(actor: User | None) -> Any:
    stmt: Any = (
        select(ParticipationTable, TableSettings)
        .add_columns(*standing_columns(actor))
        .outerjoin(TableSettings, col(TableSettings.table_id) == ParticipationTable.id)
        .where(
            col(ParticipationTable.id) == bindparam("table_id", type_=UUID(as_uuid=True)),
            can_see_table_clause(actor),
        )
    )
    return stmt


# --- checks shared by proposals and supports ------------------------------------------


def require_open_table(ctx: TableContext) -> None:
    if ctx.table.status != "open":
        raise Conflict(
            "This table is closed: its proposals and supports can no longer change.",
            code=ErrorCode.TABLE_CLOSED,
        )


def require_participant(ctx: TableContext, actor: User) -> None:
    """403 unless the actor may take part in the table (see the module docstring)."""
    if ctx.is_member:
        return
    table = ctx.table
    if table.visibility == "public" and table.membership_policy == "open":
        errors = eligibility_errors(table, actor)
        if errors:
            raise Forbidden(
                "You do not meet this table's eligibility rules: "
                + "; ".join(e["msg"] for e in errors)
                + ".",
                code=ErrorCode.NOT_ELIGIBLE,
                errors=errors,
            )
        return
    raise Forbidden(
        "Only the members of this table may take part; join it first.", code=ErrorCode.NOT_A_MEMBER
    )


def require_proposals_open(ctx: TableContext) -> None:
    if not ctx.settings.proposals_open:
        raise Conflict("This table does not accept proposals now.", code=ErrorCode.PROPOSALS_CLOSED)


def require_plan(ctx: TableContext) -> uuid.UUID:
    if ctx.table.plan_id is None:
        raise Unprocessable(
            "This table is not linked to a plan, so proposals have no nodes to refer to.",
            code=ErrorCode.NO_PLAN,
            errors=[field_error(["body", "node_ids"], "the table has no plan", ErrorCode.NO_PLAN)],
        )
    return ctx.table.plan_id


def eligibility_errors(
    table: ParticipationTable, user: User, today: date | None = None
) -> list[dict[str, Any]]:
    """The table's eligibility rules that `user` fails, as problem `errors` entries."""
    today = today or datetime.now(MEETING_TIMEZONE).date()
    errors: list[dict[str, Any]] = []

    def fail(field: str, code: ErrorCode, msg: str) -> None:
        errors.append(field_error(["user", field], msg, code))

    if table.min_age is not None or table.max_age is not None:
        if user.birth_date is None:
            fail(
                "birth_date",
                ErrorCode.BIRTH_DATE_REQUIRED,
                "this table has an age requirement: add your birth date to your profile",
            )
        else:
            age = age_on(user.birth_date, today)
            if table.min_age is not None and age < table.min_age:
                fail("birth_date", ErrorCode.TOO_YOUNG, f"members must be at least {table.min_age}")
            if table.max_age is not None and age > table.max_age:
                fail("birth_date", ErrorCode.TOO_OLD, f"members must be at most {table.max_age}")
    if table.eligible_municipality_ids:
        if user.municipality_id is None:
            fail(
                "municipality_id",
                ErrorCode.MUNICIPALITY_REQUIRED,
                "this table is for residents of some municipalities: add yours to your profile",
            )
        elif user.municipality_id not in table.eligible_municipality_ids:
            fail(
                "municipality_id",
                ErrorCode.MUNICIPALITY_NOT_ELIGIBLE,
                "your municipality of residence is not among this table's",
            )
    return errors


def default_settings(table_id: uuid.UUID) -> TableSettings:
    """The settings of a table that never changed them (not added to the session)."""
    return TableSettings(
        table_id=table_id,
        proposals_open=True,
        supports="enabled",
        support_limit=0,
        support_threshold=0,
        edit_window_minutes=15,
        comments_open=True,
        premoderation=None,
        version=1,
    )
