"""Idempotency records for retried POSTs; guardian consent on users

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 09:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "idempotency_records",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("caller", sa.String(length=80), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column(
            "response_headers",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("response_body", sa.LargeBinary(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("idempotency_records_pkey")),
        sa.UniqueConstraint("caller", "key", name=op.f("idempotency_records_caller_key_key")),
    )
    op.create_index(
        op.f("idempotency_records_expires_at_idx"),
        "idempotency_records",
        ["expires_at"],
        unique=False,
    )
    op.add_column(
        "users", sa.Column("guardian_consent_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("users", sa.Column("guardian_consent_by_id", sa.UUID(), nullable=True))
    op.create_foreign_key(
        op.f("users_guardian_consent_by_id_fkey"),
        "users",
        "users",
        ["guardian_consent_by_id"],
        ["id"],
        ondelete="SET NULL",
    )


def downgrade() -> None:
    op.drop_constraint(op.f("users_guardian_consent_by_id_fkey"), "users", type_="foreignkey")
    op.drop_column("users", "guardian_consent_by_id")
    op.drop_column("users", "guardian_consent_at")
    op.drop_index(op.f("idempotency_records_expires_at_idx"), table_name="idempotency_records")
    op.drop_table("idempotency_records")
