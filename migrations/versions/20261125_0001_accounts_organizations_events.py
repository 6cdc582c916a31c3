"""accounts organizations events

Revision ID: 0001
Revises:
Create Date: 2026-11-25 08:37:39.198543
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate may emit sqlmodel types)
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "organizations",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("slug", sa.String(length=63), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("default_locale", sa.String(length=8), nullable=False),
        sa.Column(
            "settings",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
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
        sa.PrimaryKeyConstraint("id", name=op.f("organizations_pkey")),
        sa.UniqueConstraint("slug", name=op.f("organizations_slug_key")),
    )
    op.create_table(
        "rate_limit_counters",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", "window_start", name=op.f("rate_limit_counters_pkey")),
    )
    op.create_index(
        op.f("rate_limit_counters_expires_at_idx"),
        "rate_limit_counters",
        ["expires_at"],
        unique=False,
    )
    op.create_table(
        "municipalities",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("istat_code", sa.String(length=6), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("municipalities_organization_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("municipalities_pkey")),
        sa.UniqueConstraint(
            "organization_id", "name", name=op.f("municipalities_organization_id_name_key")
        ),
    )
    op.create_index(
        op.f("municipalities_organization_id_idx"),
        "municipalities",
        ["organization_id"],
        unique=False,
    )
    op.create_table(
        "users",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("email_verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("display_name", sa.String(length=80), nullable=False),
        sa.Column("locale", sa.String(length=8), server_default="it", nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("municipality_id", sa.UUID(), nullable=True),
        sa.Column("is_platform_admin", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("tokens_invalid_before", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
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
            ["municipality_id"],
            ["municipalities.id"],
            name=op.f("users_municipality_id_fkey"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("users_pkey")),
    )
    op.create_index(
        "users_email_lower_key", "users", [sa.literal_column("lower(email)")], unique=True
    )
    op.create_index(op.f("users_municipality_id_idx"), "users", ["municipality_id"], unique=False)
    op.create_table(
        "events",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("organization_id", sa.UUID(), nullable=True),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("subject_type", sa.String(length=32), nullable=False),
        sa.Column("subject_id", sa.UUID(), nullable=False),
        sa.Column("actor_id", sa.UUID(), nullable=True),
        sa.Column(
            "payload",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("events_actor_id_fkey"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("events_organization_id_fkey"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("events_pkey")),
        sa.UniqueConstraint("seq", name=op.f("events_seq_key")),
    )
    op.create_index(op.f("events_actor_id_idx"), "events", ["actor_id"], unique=False)
    op.create_index(op.f("events_organization_id_idx"), "events", ["organization_id"], unique=False)
    op.create_index(op.f("events_subject_id_idx"), "events", ["subject_id"], unique=False)
    op.create_index(op.f("events_type_idx"), "events", ["type"], unique=False)
    op.create_table(
        "one_time_tokens",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("one_time_tokens_user_id_fkey"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("one_time_tokens_pkey")),
        sa.UniqueConstraint("token_hash", name=op.f("one_time_tokens_token_hash_key")),
    )
    op.create_index(
        op.f("one_time_tokens_user_id_idx"), "one_time_tokens", ["user_id"], unique=False
    )
    op.create_table(
        "organization_roles",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("organization_roles_organization_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("organization_roles_user_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("organization_roles_pkey")),
        sa.UniqueConstraint(
            "organization_id",
            "user_id",
            "role",
            name=op.f("organization_roles_organization_id_user_id_role_key"),
        ),
    )
    op.create_index(
        op.f("organization_roles_organization_id_idx"),
        "organization_roles",
        ["organization_id"],
        unique=False,
    )
    op.create_index(
        op.f("organization_roles_user_id_idx"), "organization_roles", ["user_id"], unique=False
    )
    op.create_table(
        "refresh_tokens",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("family_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("refresh_tokens_user_id_fkey"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("refresh_tokens_pkey")),
        sa.UniqueConstraint("token_hash", name=op.f("refresh_tokens_token_hash_key")),
    )
    op.create_index(
        op.f("refresh_tokens_family_id_idx"), "refresh_tokens", ["family_id"], unique=False
    )
    op.create_index(op.f("refresh_tokens_user_id_idx"), "refresh_tokens", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("refresh_tokens_user_id_idx"), table_name="refresh_tokens")
    op.drop_index(op.f("refresh_tokens_family_id_idx"), table_name="refresh_tokens")
    op.drop_table("refresh_tokens")
    op.drop_index(op.f("organization_roles_user_id_idx"), table_name="organization_roles")
    op.drop_index(op.f("organization_roles_organization_id_idx"), table_name="organization_roles")
    op.drop_table("organization_roles")
    op.drop_index(op.f("one_time_tokens_user_id_idx"), table_name="one_time_tokens")
    op.drop_table("one_time_tokens")
    op.drop_index(op.f("events_type_idx"), table_name="events")
    op.drop_index(op.f("events_subject_id_idx"), table_name="events")
    op.drop_index(op.f("events_organization_id_idx"), table_name="events")
    op.drop_index(op.f("events_actor_id_idx"), table_name="events")
    op.drop_table("events")
    op.drop_index(op.f("users_municipality_id_idx"), table_name="users")
    op.drop_index("users_email_lower_key", table_name="users")
    op.drop_table("users")
    op.drop_index(op.f("municipalities_organization_id_idx"), table_name="municipalities")
    op.drop_table("municipalities")
    op.drop_index(op.f("rate_limit_counters_expires_at_idx"), table_name="rate_limit_counters")
    op.drop_table("rate_limit_counters")
    op.drop_table("organizations")
