"""tables and meetings

Participation tables (with the plan nodes they work on and their memberships), meetings
(with their plan nodes, registrations and minutes). CHECK constraints hold the enumerated
values and ranges; a partial unique index keeps one non-cancelled registration per person
and meeting; check-in codes are unique per meeting; `seq` gives the arrival order.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 09:01:21.717135
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate may emit sqlmodel types)
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "participation_tables",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("slug", sa.String(length=63), nullable=False),
        sa.Column(
            "name",
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
        sa.Column("plan_id", sa.UUID(), nullable=True),
        sa.Column("visibility", sa.String(length=16), nullable=False),
        sa.Column("membership_policy", sa.String(length=16), nullable=False),
        sa.Column("min_age", sa.SmallInteger(), nullable=True),
        sa.Column("max_age", sa.SmallInteger(), nullable=True),
        sa.Column(
            "eligible_municipality_ids",
            postgresql.ARRAY(sa.UUID()),
            server_default=sa.text("'{}'::uuid[]"),
            nullable=False,
        ),
        sa.Column("max_members", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
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
            "membership_policy IN ('open', 'request', 'invitation')",
            name=op.f("participation_tables_membership_policy_check"),
        ),
        sa.CheckConstraint(
            "status IN ('open', 'closed', 'archived')",
            name=op.f("participation_tables_status_check"),
        ),
        sa.CheckConstraint(
            "visibility IN ('public', 'private')",
            name=op.f("participation_tables_visibility_check"),
        ),
        sa.CheckConstraint(
            "(min_age IS NULL OR min_age >= 0) AND (max_age IS NULL OR max_age >= 0) AND (min_age IS NULL OR max_age IS NULL OR min_age <= max_age)",
            name=op.f("participation_tables_age_range_check"),
        ),
        sa.CheckConstraint(
            "max_members IS NULL OR max_members > 0",
            name=op.f("participation_tables_max_members_check"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("participation_tables_created_by_id_fkey"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("participation_tables_organization_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["plans.id"],
            name=op.f("participation_tables_plan_id_fkey"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("participation_tables_pkey")),
        sa.UniqueConstraint(
            "organization_id", "slug", name=op.f("participation_tables_organization_id_slug_key")
        ),
    )
    op.create_index(
        op.f("participation_tables_organization_id_idx"),
        "participation_tables",
        ["organization_id"],
        unique=False,
    )
    op.create_index(
        op.f("participation_tables_plan_id_idx"), "participation_tables", ["plan_id"], unique=False
    )
    op.create_table(
        "meetings",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("table_id", sa.UUID(), nullable=False),
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column(
            "title",
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
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("location_name", sa.String(length=200), nullable=True),
        sa.Column("location_address", sa.String(length=300), nullable=True),
        sa.Column("location_municipality_id", sa.UUID(), nullable=True),
        sa.Column("online_url", sa.String(length=2048), nullable=True),
        sa.Column("capacity", sa.Integer(), server_default="0", nullable=False),
        sa.Column("registration_opens_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("registration_closes_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "agenda",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
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
            "format IN ('in_person', 'online', 'hybrid')", name=op.f("meetings_format_check")
        ),
        sa.CheckConstraint(
            "kind IN ('plenary', 'thematic', 'public', 'working_group')",
            name=op.f("meetings_kind_check"),
        ),
        sa.CheckConstraint(
            "status IN ('scheduled', 'cancelled', 'held')", name=op.f("meetings_status_check")
        ),
        sa.CheckConstraint("capacity >= 0", name=op.f("meetings_capacity_check")),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("meetings_time_range_check")),
        sa.CheckConstraint(
            "registration_opens_at IS NULL OR registration_closes_at IS NULL OR registration_opens_at < registration_closes_at",
            name=op.f("meetings_registration_window_check"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("meetings_created_by_id_fkey"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["location_municipality_id"],
            ["municipalities.id"],
            name=op.f("meetings_location_municipality_id_fkey"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("meetings_organization_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["table_id"],
            ["participation_tables.id"],
            name=op.f("meetings_table_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("meetings_pkey")),
    )
    op.create_index(
        op.f("meetings_organization_id_idx"), "meetings", ["organization_id"], unique=False
    )
    op.create_index(
        "meetings_table_id_starts_at_idx", "meetings", ["table_id", "starts_at"], unique=False
    )
    op.create_table(
        "participation_table_nodes",
        sa.Column("table_id", sa.UUID(), nullable=False),
        sa.Column("node_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["node_id"],
            ["plan_nodes.id"],
            name=op.f("participation_table_nodes_node_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["table_id"],
            ["participation_tables.id"],
            name=op.f("participation_table_nodes_table_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("table_id", "node_id", name=op.f("participation_table_nodes_pkey")),
    )
    op.create_index(
        "participation_table_nodes_node_id_idx",
        "participation_table_nodes",
        ["node_id"],
        unique=False,
    )
    op.create_table(
        "table_memberships",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("table_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("invited_by_id", sa.UUID(), nullable=True),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
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
            "role IN ('member', 'facilitator')", name=op.f("table_memberships_role_check")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'invited', 'active', 'rejected')",
            name=op.f("table_memberships_status_check"),
        ),
        sa.ForeignKeyConstraint(
            ["invited_by_id"],
            ["users.id"],
            name=op.f("table_memberships_invited_by_id_fkey"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["table_id"],
            ["participation_tables.id"],
            name=op.f("table_memberships_table_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("table_memberships_user_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("table_memberships_pkey")),
        sa.UniqueConstraint(
            "table_id", "user_id", name=op.f("table_memberships_table_id_user_id_key")
        ),
    )
    op.create_index(
        op.f("table_memberships_user_id_idx"), "table_memberships", ["user_id"], unique=False
    )
    op.create_table(
        "meeting_minutes",
        sa.Column("meeting_id", sa.UUID(), nullable=False),
        sa.Column(
            "text",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("attendees_count", sa.Integer(), nullable=False),
        sa.Column(
            "attending_organizations",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("published_by_id", sa.UUID(), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
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
            "attendees_count >= 0", name=op.f("meeting_minutes_attendees_count_check")
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("meeting_minutes_meeting_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["published_by_id"],
            ["users.id"],
            name=op.f("meeting_minutes_published_by_id_fkey"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("meeting_id", name=op.f("meeting_minutes_pkey")),
    )
    op.create_table(
        "meeting_plan_nodes",
        sa.Column("meeting_id", sa.UUID(), nullable=False),
        sa.Column("node_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("meeting_plan_nodes_meeting_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["node_id"],
            ["plan_nodes.id"],
            name=op.f("meeting_plan_nodes_node_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("meeting_id", "node_id", name=op.f("meeting_plan_nodes_pkey")),
    )
    op.create_index(
        "meeting_plan_nodes_node_id_idx", "meeting_plan_nodes", ["node_id"], unique=False
    )
    op.create_table(
        "meeting_registrations",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("meeting_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("check_in_code", sa.String(length=16), nullable=False),
        sa.Column("promoted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("checked_in_at", sa.DateTime(timezone=True), nullable=True),
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
            "status IN ('registered', 'waitlisted', 'cancelled', 'attended')",
            name=op.f("meeting_registrations_status_check"),
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("meeting_registrations_meeting_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("meeting_registrations_user_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("meeting_registrations_pkey")),
        sa.UniqueConstraint(
            "meeting_id",
            "check_in_code",
            name=op.f("meeting_registrations_meeting_id_check_in_code_key"),
        ),
        sa.UniqueConstraint("seq", name=op.f("meeting_registrations_seq_key")),
    )
    op.create_index(
        "meeting_registrations_active_user_key",
        "meeting_registrations",
        ["meeting_id", "user_id"],
        unique=True,
        postgresql_where=sa.text("status <> 'cancelled'"),
    )
    op.create_index(
        "meeting_registrations_meeting_id_status_seq_idx",
        "meeting_registrations",
        ["meeting_id", "status", "seq"],
        unique=False,
    )
    op.create_index(
        op.f("meeting_registrations_user_id_idx"),
        "meeting_registrations",
        ["user_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("meeting_registrations_user_id_idx"), table_name="meeting_registrations")
    op.drop_index(
        "meeting_registrations_meeting_id_status_seq_idx", table_name="meeting_registrations"
    )
    op.drop_index(
        "meeting_registrations_active_user_key",
        table_name="meeting_registrations",
        postgresql_where=sa.text("status <> 'cancelled'"),
    )
    op.drop_table("meeting_registrations")
    op.drop_index("meeting_plan_nodes_node_id_idx", table_name="meeting_plan_nodes")
    op.drop_table("meeting_plan_nodes")
    op.drop_table("meeting_minutes")
    op.drop_index(op.f("table_memberships_user_id_idx"), table_name="table_memberships")
    op.drop_table("table_memberships")
    op.drop_index("participation_table_nodes_node_id_idx", table_name="participation_table_nodes")
    op.drop_table("participation_table_nodes")
    op.drop_index("meetings_table_id_starts_at_idx", table_name="meetings")
    op.drop_index(op.f("meetings_organization_id_idx"), table_name="meetings")
    op.drop_table("meetings")
    op.drop_index(op.f("participation_tables_plan_id_idx"), table_name="participation_tables")
    op.drop_index(
        op.f("participation_tables_organization_id_idx"), table_name="participation_tables"
    )
    op.drop_table("participation_tables")
