"""Checks shared by the proposal writes: the municipality a proposal is about belongs to
the table's organization, and co-authors are active members of the table.
"""

import uuid

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.error_codes import ErrorCode
from app.errors import Unprocessable
from app.models.accounts import User
from app.models.organizations import Municipality
from app.models.tables import TableMembership
from app.services.validation import field_error


async def check_municipality(
    session: AsyncSession, organization_id: uuid.UUID, municipality_id: uuid.UUID | None
) -> None:
    if municipality_id is None:
        return
    found = (
        await session.exec(
            select(Municipality.id).where(
                col(Municipality.id) == municipality_id,
                col(Municipality.organization_id) == organization_id,
            )
        )
    ).first()
    if found is None:
        raise Unprocessable(
            "Not a municipality of this table's organization.",
            code=ErrorCode.UNKNOWN_MUNICIPALITY,
            errors=[
                field_error(
                    ["body", "municipality_id"],
                    "not a municipality of this organization",
                    ErrorCode.UNKNOWN_MUNICIPALITY,
                )
            ],
        )


async def check_coauthors(
    session: AsyncSession, table_id: uuid.UUID, author_id: uuid.UUID, ids: list[uuid.UUID]
) -> None:
    """Co-authors are active members of the table, other than the author."""
    if not ids:
        return
    members = set(
        (
            await session.exec(
                select(TableMembership.user_id)
                .join(User, col(User.id) == TableMembership.user_id)
                .where(
                    col(TableMembership.table_id) == table_id,
                    col(TableMembership.user_id).in_(ids),
                    col(TableMembership.status) == "active",
                    col(User.deleted_at).is_(None),
                )
            )
        ).all()
    )
    errors = [
        field_error(
            ["body", "coauthor_ids", i],
            "co-authors are active members of the table, other than the author",
            ErrorCode.UNKNOWN_COAUTHOR,
        )
        for i, user_id in enumerate(ids)
        if user_id not in members or user_id == author_id
    ]
    if errors:
        raise Unprocessable(
            "Co-authors must be active members of the table (other than the author).",
            code=ErrorCode.UNKNOWN_COAUTHOR,
            errors=errors,
        )
