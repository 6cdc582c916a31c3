"""plans

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 08:55:12.325746
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate may emit sqlmodel types)
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "plans",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("slug", sa.String(length=63), nullable=False),
        sa.Column(
            "title",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "summary",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("approved_on", sa.Date(), nullable=True),
        sa.Column("period_start", sa.Date(), nullable=True),
        sa.Column("period_end", sa.Date(), nullable=True),
        sa.Column(
            "levels",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
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
            "status IN ('draft', 'consultation', 'approved', 'implementation', 'archived')",
            name=op.f("plans_status_check"),
        ),
        sa.CheckConstraint(
            "period_start IS NULL OR period_end IS NULL OR period_end >= period_start",
            name=op.f("plans_period_check"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("plans_organization_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("plans_pkey")),
        sa.UniqueConstraint("organization_id", "slug", name=op.f("plans_organization_id_slug_key")),
    )
    op.create_table(
        "plan_nodes",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("plan_id", sa.UUID(), nullable=False),
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("parent_id", sa.UUID(), nullable=True),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column(
            "title",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "summary",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "description",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "expected_results",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("depth", sa.SmallInteger(), nullable=False),
        sa.Column("sort_path", sa.String(length=64), nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
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
            "parent_id IS NULL OR parent_id <> id", name=op.f("plan_nodes_parent_check")
        ),
        sa.CheckConstraint("position >= 0", name=op.f("plan_nodes_position_check")),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("plan_nodes_organization_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["plan_nodes.id"],
            name=op.f("plan_nodes_parent_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plans.id"], name=op.f("plan_nodes_plan_id_fkey"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("plan_nodes_pkey")),
        sa.UniqueConstraint("plan_id", "code", name=op.f("plan_nodes_plan_id_code_key")),
    )
    op.create_index(
        op.f("plan_nodes_organization_id_idx"), "plan_nodes", ["organization_id"], unique=False
    )
    op.create_index(op.f("plan_nodes_parent_id_idx"), "plan_nodes", ["parent_id"], unique=False)
    op.create_index(
        "plan_nodes_plan_id_sort_path_idx", "plan_nodes", ["plan_id", "sort_path"], unique=False
    )
    op.create_table(
        "plan_phases",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("plan_id", sa.UUID(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column(
            "name",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("ends_on >= starts_on", name=op.f("plan_phases_dates_check")),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plans.id"], name=op.f("plan_phases_plan_id_fkey"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("plan_phases_pkey")),
    )
    op.create_index(op.f("plan_phases_plan_id_idx"), "plan_phases", ["plan_id"], unique=False)
    op.create_table(
        "indicators",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("node_id", sa.UUID(), nullable=False),
        sa.Column("plan_id", sa.UUID(), nullable=False),
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column(
            "name",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("unit", sa.String(length=32), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("baseline_value", sa.Double(), nullable=False),
        sa.Column("baseline_date", sa.Date(), nullable=False),
        sa.Column("target_value", sa.Double(), nullable=False),
        sa.Column("target_date", sa.Date(), nullable=False),
        sa.Column("weight", sa.Double(), nullable=True),
        sa.Column("created_by_id", sa.UUID(), nullable=True),
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
            "(direction = 'increase' AND target_value > baseline_value) OR (direction = 'decrease' AND target_value < baseline_value)",
            name=op.f("indicators_target_check"),
        ),
        sa.CheckConstraint(
            "direction IN ('increase', 'decrease')", name=op.f("indicators_direction_check")
        ),
        sa.CheckConstraint("target_date >= baseline_date", name=op.f("indicators_dates_check")),
        sa.CheckConstraint("weight IS NULL OR weight > 0", name=op.f("indicators_weight_check")),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("indicators_created_by_id_fkey"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["node_id"], ["plan_nodes.id"], name=op.f("indicators_node_id_fkey"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("indicators_organization_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plans.id"], name=op.f("indicators_plan_id_fkey"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("indicators_pkey")),
    )
    op.create_index(op.f("indicators_node_id_idx"), "indicators", ["node_id"], unique=False)
    op.create_index(
        op.f("indicators_organization_id_idx"), "indicators", ["organization_id"], unique=False
    )
    op.create_index(op.f("indicators_plan_id_idx"), "indicators", ["plan_id"], unique=False)
    op.create_table(
        "indicator_measurements",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("indicator_id", sa.UUID(), nullable=False),
        sa.Column("value", sa.Double(), nullable=False),
        sa.Column("measured_on", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_by_id", sa.UUID(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["indicator_id"],
            ["indicators.id"],
            name=op.f("indicator_measurements_indicator_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["users.id"],
            name=op.f("indicator_measurements_recorded_by_id_fkey"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("indicator_measurements_pkey")),
    )
    op.create_index(
        "indicator_measurements_latest_idx",
        "indicator_measurements",
        [
            "indicator_id",
            sa.literal_column("measured_on DESC"),
            sa.literal_column("created_at DESC"),
            sa.literal_column("id DESC"),
        ],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("indicator_measurements_latest_idx", table_name="indicator_measurements")
    op.drop_table("indicator_measurements")
    op.drop_index(op.f("indicators_plan_id_idx"), table_name="indicators")
    op.drop_index(op.f("indicators_organization_id_idx"), table_name="indicators")
    op.drop_index(op.f("indicators_node_id_idx"), table_name="indicators")
    op.drop_table("indicators")
    op.drop_index(op.f("plan_phases_plan_id_idx"), table_name="plan_phases")
    op.drop_table("plan_phases")
    op.drop_index("plan_nodes_plan_id_sort_path_idx", table_name="plan_nodes")
    op.drop_index(op.f("plan_nodes_parent_id_idx"), table_name="plan_nodes")
    op.drop_index(op.f("plan_nodes_organization_id_idx"), table_name="plan_nodes")
    op.drop_table("plan_nodes")
    op.drop_table("plans")
