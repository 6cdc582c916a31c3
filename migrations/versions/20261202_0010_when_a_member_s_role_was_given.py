"""when a member's role was given

The organization's roles list dates a facilitator's appointment from when the role was
given, not from when the person joined the table (a member promoted later would be
listed in the past, and missed by a client paging from a cursor). Null for existing
rows: their role is dated from the membership, as before.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 11:05:42.744426
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "table_memberships", sa.Column("role_since", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("table_memberships", "role_since")
