"""read-your-writes fences for read replicas

One row per caller who has written (`app/replicas.py`): its `version` is bumped by the
writing transaction itself, so a replica holding a version at least the primary's has
replayed that write. Logged (replicated) on purpose: the replica's copy is the proof.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "read_fences",
        sa.Column("caller", sa.String(length=80), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("caller", name="read_fences_pkey"),
    )


def downgrade() -> None:
    op.drop_table("read_fences")
