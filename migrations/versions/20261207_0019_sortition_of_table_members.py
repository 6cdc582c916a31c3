"""sortition of table members: configurations, applications, draws; the `sortition`
membership policy

A table whose membership policy is `sortition` draws its members by lot from applicants
(app/services/sortition). A draw stores its inputs and their hash, so that it can be
replayed; at most one draw per table stands (`status = 'done'`).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 16:11:55
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

POLICY_CHECK = "participation_tables_membership_policy_check"

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sortition_applications",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("table_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column(
            "features",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("household_hash", sa.String(length=64), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["table_id"],
            ["participation_tables.id"],
            name=op.f("sortition_applications_table_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("sortition_applications_user_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("sortition_applications_pkey")),
        sa.UniqueConstraint(
            "table_id", "user_id", name=op.f("sortition_applications_table_id_user_id_key")
        ),
    )
    op.create_index(
        op.f("sortition_applications_user_id_idx"),
        "sortition_applications",
        ["user_id"],
        unique=False,
    )
    op.create_table(
        "sortition_configs",
        sa.Column("table_id", sa.UUID(), nullable=False),
        sa.Column(
            "features",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("number_to_select", sa.Integer(), nullable=False),
        sa.Column("applications_open_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("applications_close_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("algorithm", sa.String(length=16), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=True),
        sa.Column("seed_source", sa.Text(), nullable=True),
        sa.Column("seed_published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("check_same_address", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("updated_by_id", sa.UUID(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "algorithm IN ('maximin', 'nash', 'leximin', 'legacy')",
            name=op.f("sortition_configs_algorithm_check"),
        ),
        sa.CheckConstraint(
            "number_to_select > 0", name=op.f("sortition_configs_number_to_select_check")
        ),
        sa.ForeignKeyConstraint(
            ["table_id"],
            ["participation_tables.id"],
            name=op.f("sortition_configs_table_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["users.id"],
            name=op.f("sortition_configs_updated_by_id_fkey"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("table_id", name=op.f("sortition_configs_pkey")),
    )
    op.create_table(
        "sortition_draws",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("table_id", sa.UUID(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("algorithm", sa.String(length=16), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("seed_source", sa.Text(), nullable=True),
        sa.Column("number_to_select", sa.Integer(), nullable=False),
        sa.Column("applicants_count", sa.Integer(), nullable=False),
        sa.Column(
            "inputs",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("inputs_hash", sa.String(length=64), nullable=False),
        sa.Column("library_version", sa.String(length=32), nullable=False),
        sa.Column(
            "progress",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("error", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "drawn",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "panel",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "reserve",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("marginals", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "replacements",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("committees_count", sa.Integer(), nullable=True),
        sa.Column("requested_by_id", sa.UUID(), nullable=True),
        sa.Column("claimed_by", sa.String(length=200), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'done', 'failed')",
            name=op.f("sortition_draws_status_check"),
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"],
            ["users.id"],
            name=op.f("sortition_draws_requested_by_id_fkey"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["table_id"],
            ["participation_tables.id"],
            name=op.f("sortition_draws_table_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("sortition_draws_pkey")),
    )
    op.create_index(
        "sortition_draws_due_idx",
        "sortition_draws",
        ["created_at"],
        unique=False,
        postgresql_where="status IN ('queued', 'running')",
    )
    op.create_index(
        "sortition_draws_table_id_idx", "sortition_draws", ["table_id", "created_at"], unique=False
    )
    op.create_index(
        "sortition_draws_one_done_idx",
        "sortition_draws",
        ["table_id"],
        unique=True,
        postgresql_where="status = 'done'",
    )
    op.drop_constraint(op.f(POLICY_CHECK), "participation_tables", type_="check")
    op.create_check_constraint(
        op.f(POLICY_CHECK),
        "participation_tables",
        "membership_policy IN ('open', 'request', 'invitation', 'sortition')",
    )


def downgrade() -> None:
    # Tables drawn by lot keep their members and admit new ones by invitation.
    op.execute(
        "UPDATE participation_tables SET membership_policy = 'invitation' "
        "WHERE membership_policy = 'sortition'"
    )
    op.drop_constraint(op.f(POLICY_CHECK), "participation_tables", type_="check")
    op.create_check_constraint(
        op.f(POLICY_CHECK),
        "participation_tables",
        "membership_policy IN ('open', 'request', 'invitation')",
    )
    op.drop_index("sortition_draws_one_done_idx", table_name="sortition_draws")
    op.drop_index("sortition_draws_table_id_idx", table_name="sortition_draws")
    op.drop_index(
        "sortition_draws_due_idx",
        table_name="sortition_draws",
        postgresql_where="status IN ('queued', 'running')",
    )
    op.drop_table("sortition_draws")
    op.drop_table("sortition_configs")
    op.drop_index(op.f("sortition_applications_user_id_idx"), table_name="sortition_applications")
    op.drop_table("sortition_applications")
