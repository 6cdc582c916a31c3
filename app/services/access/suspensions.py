"""Suspensions as the write paths' context loaders read them: in the same query.

`suspension_columns(actor, organization_id)` adds two columns to a loader's query —
whether a suspension of the actor in the content's organization is in force, and until
when — so a loader asked for a write (`write=True`: `table_context`, `proposal_context`,
`poll_context`, the content kinds' `find`, `get_visible_table`, `get_visible_meeting`…)
answers 403 `suspended` from the row it loads anyway, without a query or a call of its
own at each write path. `in_force_clause` is the one definition of "in force".
"""

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, func, null, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import Select

from app.error_codes import ErrorCode
from app.errors import Forbidden
from app.models.accounts import User
from app.models.moderation import Suspension


def in_force_clause(now: datetime | ColumnElement[datetime] | None = None) -> ColumnElement[bool]:
    """SQL condition on `Suspension`: in force at `now` (default: the database's now())."""
    at = now if now is not None else func.now()
    return col(Suspension.lifted_at).is_(None) & or_(
        col(Suspension.ends_at).is_(None), col(Suspension.ends_at) > at
    )


def suspension_columns(actor: User | None, organization_id: Any) -> tuple[Any, Any]:
    """`(suspended, suspended_until)` of the actor in the organization of `organization_id`
    (a column of the loader's query), on the partial unique index (organization_id,
    user_id) WHERE lifted_at IS NULL."""
    if actor is None:
        return false().label("suspended"), null().label("suspended_until")
    in_force = and_(
        col(Suspension.organization_id) == organization_id,
        col(Suspension.user_id) == actor.id,
        in_force_clause(),
    )
    until = select(Suspension.ends_at).where(in_force).limit(1).scalar_subquery()
    return exists().where(in_force).label("suspended"), until.label("suspended_until")


def suspended_error(ends_at: datetime | None) -> Forbidden:
    until = f"until {ends_at.isoformat()}" if ends_at is not None else "until it is lifted"
    return Forbidden(
        f"You are suspended from taking part in this organization {until}.",
        code=ErrorCode.SUSPENDED,
        extra={"suspended_until": ends_at.isoformat() if ends_at is not None else None},
    )


def refuse_if_suspended(suspended: Any, suspended_until: datetime | None) -> None:
    """403 `suspended` when the loader's row says a suspension is in force."""
    if suspended:
        raise suspended_error(suspended_until)


def _as_rows(stmt: Any) -> Any:
    """The same statement, answering rows rather than its first column's scalars (SQLModel
    answers a statement built from `select(Model)` with scalars even once columns are
    added)."""
    rows: Any = Select.__new__(Select)
    rows.__dict__.update(stmt.__dict__)
    return rows


async def one_with_suspension(
    session: AsyncSession, stmt: Any, actor: User | None, organization_id: Any
) -> tuple[Any, bool, datetime | None]:
    """(the one entity `stmt` selects or None, suspended, suspended_until), in one query:
    for loaders that check visibility before refusing a suspended writer."""
    with_suspension = stmt.add_columns(*suspension_columns(actor, organization_id))
    row = (await session.exec(_as_rows(with_suspension))).one_or_none()
    if row is None:
        return None, False, None
    return row[0], bool(row[1]), row[2]


async def one_for_writer(
    session: AsyncSession, stmt: Any, writer: User | None, organization_id: Any
) -> Any:
    """The one entity a loader's `stmt` selects (None without a row), read together with
    the writer's suspension in the organization of `organization_id`: 403 `suspended`
    when one is in force. Without a writer (a read), the plain query."""
    if writer is None:
        return (await session.exec(stmt)).one_or_none()
    with_suspension = stmt.add_columns(*suspension_columns(writer, organization_id))
    row = (await session.exec(_as_rows(with_suspension))).one_or_none()
    if row is None:
        return None
    refuse_if_suspended(row[1], row[2])
    return row[0]
