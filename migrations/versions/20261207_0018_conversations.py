"""conversations: statements, votes and stored opinion maps

Conversations of a table (Polis-style): short statements, one agree / disagree / pass
vote per person and statement, and the opinion map the worker computes from them
(app/services/conversations). Statements are a new kind of moderated content, so the
moderation queue's `target_type` admits `statement`.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 16:30:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_TARGETS = "'proposal', 'comment', 'meeting', 'user', 'poll', 'plan_node', 'question'"
NEW_TARGETS = OLD_TARGETS + ", 'statement'"


def _fk(column: str, target: str, ondelete: str = "CASCADE", *, nullable: bool) -> Any:
    return sa.Column(column, sa.UUID(), sa.ForeignKey(target, ondelete=ondelete), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "conversations",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        _fk("organization_id", "organizations.id", nullable=False),
        _fk("table_id", "participation_tables.id", nullable=False),
        _fk("created_by_id", "users.id", "SET NULL", nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), server_default="open", nullable=False),
        sa.Column("participant_statements", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("map_dirty", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("pseudonym_key", sa.LargeBinary(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint("status IN ('open', 'closed')", name=op.f("conversations_status_check")),
        sa.PrimaryKeyConstraint("id", name=op.f("conversations_pkey")),
    )
    op.create_index(
        "conversations_table_id_created_at_id_idx",
        "conversations",
        ["table_id", "created_at", "id"],
    )
    op.create_index(
        "conversations_map_dirty_idx",
        "conversations",
        ["id"],
        postgresql_where=sa.text("map_dirty"),
    )
    op.create_index(op.f("conversations_organization_id_idx"), "conversations", ["organization_id"])
    op.create_index(op.f("conversations_created_by_id_idx"), "conversations", ["created_by_id"])
    op.create_table(
        "conversation_statements",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        _fk("conversation_id", "conversations.id", nullable=False),
        _fk("organization_id", "organizations.id", nullable=False),
        _fk("table_id", "participation_tables.id", nullable=False),
        _fk("author_id", "users.id", "SET NULL", nullable=True),
        sa.Column("body", sa.String(length=280), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="visible", nullable=False),
        sa.Column("agree_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("disagree_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("pass_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "agree_count >= 0 AND disagree_count >= 0 AND pass_count >= 0",
            name=op.f("conversation_statements_counts_check"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'visible', 'hidden')",
            name=op.f("conversation_statements_status_check"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("conversation_statements_pkey")),
    )
    op.create_index(
        "conversation_statements_conversation_created_idx",
        "conversation_statements",
        ["conversation_id", "created_at", "id"],
    )
    for column in ("organization_id", "table_id", "author_id"):
        op.create_index(
            op.f(f"conversation_statements_{column}_idx"), "conversation_statements", [column]
        )
    op.create_table(
        "conversation_votes",
        _fk("statement_id", "conversation_statements.id", nullable=False),
        _fk("user_id", "users.id", nullable=False),
        _fk("conversation_id", "conversations.id", nullable=False),
        sa.Column("vote", sa.SmallInteger(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint("vote IN (-1, 0, 1)", name=op.f("conversation_votes_vote_check")),
        sa.PrimaryKeyConstraint("statement_id", "user_id", name=op.f("conversation_votes_pkey")),
    )
    op.create_index(
        "conversation_votes_conversation_id_idx", "conversation_votes", ["conversation_id"]
    )
    op.create_index(
        "conversation_votes_user_id_conversation_id_idx",
        "conversation_votes",
        ["user_id", "conversation_id"],
    )
    op.create_table(
        "conversation_maps",
        _fk("conversation_id", "conversations.id", nullable=False),
        sa.Column("data_as_of", sa.DateTime(timezone=True), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("computation_ms", sa.Integer(), nullable=False),
        sa.Column("votes_count", sa.Integer(), nullable=False),
        sa.Column("result", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("conversation_id", name=op.f("conversation_maps_pkey")),
    )
    op.drop_constraint(op.f("moderations_target_type_check"), "moderations", type_="check")
    op.create_check_constraint(
        op.f("moderations_target_type_check"), "moderations", f"target_type IN ({NEW_TARGETS})"
    )


def downgrade() -> None:
    op.execute("DELETE FROM moderations WHERE target_type = 'statement'")
    op.drop_constraint(op.f("moderations_target_type_check"), "moderations", type_="check")
    op.create_check_constraint(
        op.f("moderations_target_type_check"), "moderations", f"target_type IN ({OLD_TARGETS})"
    )
    op.drop_table("conversation_maps")
    op.drop_table("conversation_votes")
    op.drop_table("conversation_statements")
    op.drop_table("conversations")
