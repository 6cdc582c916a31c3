"""organizations.ipa_code: the organization's IndicePA code, for its open-data catalog

DCAT-AP_IT names the publisher and rights holder of a dataset as a `dcatapit:Agent`
identified by its IPA code (`dct:identifier`); organizations had nowhere to keep it.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 16:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("organizations", sa.Column("ipa_code", sa.String(length=20), nullable=True))


def downgrade() -> None:
    op.drop_column("organizations", "ipa_code")
