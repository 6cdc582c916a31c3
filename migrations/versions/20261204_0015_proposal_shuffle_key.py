"""a stored random key per proposal, for the seeded random order

`sort=random` hashed every proposal of the table (`md5(seed || id)`) and sorted them
all on every page: ~2.4 s per page at 500 000 proposals in one table. Each proposal
now draws a random `shuffle_key` once, at insert (existing rows draw theirs here), and
the list walks `(table_id, shuffle_key, id)` through an index, the seed choosing the
order in which ranges of keys are visited (app/services/proposal_search.py).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 19:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "proposals",
        sa.Column(
            "shuffle_key",
            sa.Integer(),
            nullable=False,
            server_default=sa.text("(floor(random() * 2147483648))::integer"),
        ),
    )
    op.create_index(
        "proposals_table_id_shuffle_key_id_idx",
        "proposals",
        ["table_id", "shuffle_key", "id"],
    )


def downgrade() -> None:
    op.drop_index("proposals_table_id_shuffle_key_id_idx", table_name="proposals")
    op.drop_column("proposals", "shuffle_key")
