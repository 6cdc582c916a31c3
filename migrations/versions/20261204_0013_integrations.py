"""integrations: service clients, webhooks, and the events' transaction id

`events.xid` (xid8, default `pg_current_xact_id()`) lets the change feed and the webhook
outbox read only events of transactions that have finished (see ARCHITECTURE.md, "The
change feed"); existing rows get xid 0 (all their transactions have finished), without
rewriting the table. `events.actor_client_id` names a service client that acted.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 18:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from app.models.integrations import XID8

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UUID = postgresql.UUID(as_uuid=True)
_NOW = sa.text("now()")


def _id() -> sa.Column[object]:
    return sa.Column("id", _UUID, server_default=sa.text("gen_random_uuid()"), nullable=False)


def _ts(name: str, *, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(
        name,
        sa.DateTime(timezone=True),
        nullable=nullable,
        server_default=None if nullable else _NOW,
    )


def _jsonb(name: str, default: str) -> sa.Column[object]:
    return sa.Column(
        name, postgresql.JSONB(), server_default=sa.text(f"'{default}'::jsonb"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "api_clients",
        _id(),
        sa.Column("organization_id", _UUID, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        _jsonb("scopes", "[]"),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_by_id", _UUID, nullable=True),
        _ts("created_at", nullable=False),
        _ts("updated_at", nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name="api_clients_created_by_id_fkey",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name="api_clients_organization_id_fkey",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="api_clients_pkey"),
    )
    op.create_index("api_clients_created_by_id_idx", "api_clients", ["created_by_id"])
    op.create_index("api_clients_organization_id_idx", "api_clients", ["organization_id"])

    op.create_table(
        "api_client_secrets",
        _id(),
        sa.Column("client_id", _UUID, nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        _ts("expires_at"),
        _ts("created_at", nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["api_clients.id"],
            name="api_client_secrets_client_id_fkey",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="api_client_secrets_pkey"),
        sa.UniqueConstraint("secret_hash", name="api_client_secrets_secret_hash_key"),
    )
    op.create_index("api_client_secrets_client_id_idx", "api_client_secrets", ["client_id"])

    op.create_table(
        "webhook_endpoints",
        _id(),
        sa.Column("organization_id", _UUID, nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=True),
        _jsonb("event_types", "[]"),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("disabled_reason", sa.String(length=32), nullable=True),
        _ts("failing_since"),
        sa.Column("created_by_id", _UUID, nullable=True),
        _ts("created_at", nullable=False),
        _ts("updated_at", nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name="webhook_endpoints_created_by_id_fkey",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name="webhook_endpoints_organization_id_fkey",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="webhook_endpoints_pkey"),
    )
    op.create_index("webhook_endpoints_created_by_id_idx", "webhook_endpoints", ["created_by_id"])
    op.create_index(
        "webhook_endpoints_organization_id_idx", "webhook_endpoints", ["organization_id"]
    )

    op.create_table(
        "webhook_secrets",
        _id(),
        sa.Column("endpoint_id", _UUID, nullable=False),
        sa.Column("secret", sa.String(length=128), nullable=False),
        _ts("expires_at"),
        _ts("created_at", nullable=False),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["webhook_endpoints.id"],
            name="webhook_secrets_endpoint_id_fkey",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="webhook_secrets_pkey"),
    )
    op.create_index("webhook_secrets_endpoint_id_idx", "webhook_secrets", ["endpoint_id"])

    op.create_table(
        "webhook_deliveries",
        _id(),
        sa.Column("endpoint_id", _UUID, nullable=False),
        sa.Column("organization_id", _UUID, nullable=False),
        sa.Column("event_id", _UUID, nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        _jsonb("body", "{}"),
        sa.Column(
            "status", sa.String(length=16), server_default=sa.text("'pending'"), nullable=False
        ),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        _ts("next_attempt_at"),
        _ts("locked_until"),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("last_duration_ms", sa.Integer(), nullable=True),
        _ts("last_attempt_at"),
        _jsonb("log", "[]"),
        _ts("created_at", nullable=False),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["webhook_endpoints.id"],
            name="webhook_deliveries_endpoint_id_fkey",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name="webhook_deliveries_organization_id_fkey",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="webhook_deliveries_pkey"),
    )
    op.create_index(
        "webhook_deliveries_due_idx",
        "webhook_deliveries",
        ["next_attempt_at"],
        postgresql_where=sa.text("status IN ('pending', 'retrying')"),
    )
    op.create_index(
        "webhook_deliveries_endpoint_id_created_at_idx",
        "webhook_deliveries",
        ["endpoint_id", "created_at", "id"],
    )

    op.create_table(
        "webhook_outbox",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_xid", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("id", name="webhook_outbox_pkey"),
    )
    # Webhooks start from now: events written before this migration are not delivered.
    op.execute(
        "INSERT INTO webhook_outbox (id, last_xid, last_seq) "
        "SELECT 1, 0, coalesce(max(seq), 0) FROM events"
    )

    # A constant default first (no table rewrite, no long lock on a big table): rows
    # already there get xid 0, older than any transaction, so the feed shows them first,
    # in their seq order. New rows get their transaction's id.
    op.add_column(
        "events",
        sa.Column("xid", XID8(), server_default=sa.text("'0'::xid8"), nullable=False),
    )
    op.alter_column("events", "xid", server_default=sa.text("pg_current_xact_id()"))
    op.add_column("events", sa.Column("actor_client_id", _UUID, nullable=True))
    op.create_foreign_key(
        "events_actor_client_id_fkey",
        "events",
        "api_clients",
        ["actor_client_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_index(
        "events_organization_id_xid_seq_idx", "events", ["organization_id", "xid", "seq"]
    )
    op.create_index("events_xid_seq_idx", "events", ["xid", "seq"])


def downgrade() -> None:
    op.drop_index("events_xid_seq_idx", table_name="events")
    op.drop_index("events_organization_id_xid_seq_idx", table_name="events")
    op.drop_constraint("events_actor_client_id_fkey", "events", type_="foreignkey")
    op.drop_column("events", "actor_client_id")
    op.drop_column("events", "xid")
    op.drop_table("webhook_outbox")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_secrets")
    op.drop_table("webhook_endpoints")
    op.drop_table("api_client_secrets")
    op.drop_table("api_clients")
