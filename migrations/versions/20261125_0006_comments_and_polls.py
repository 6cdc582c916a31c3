"""comments and polls

Comments (threaded to depth 3, on proposals, meetings, plan nodes and polls) with their
up/down votes; polls with their options and participations. Ballots are secret by
design: `poll_participations` (who voted) and `poll_options.votes_count` (what was
chosen) share no key, row or timestamp.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 09:06:09.366165
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate may emit sqlmodel types)
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "comments",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("target_type", sa.String(length=16), nullable=False),
        sa.Column("target_id", sa.UUID(), nullable=False),
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("table_id", sa.UUID(), nullable=True),
        sa.Column("author_id", sa.UUID(), nullable=True),
        sa.Column("parent_id", sa.UUID(), nullable=True),
        sa.Column("root_id", sa.UUID(), nullable=False),
        sa.Column("depth", sa.SmallInteger(), nullable=False),
        sa.Column("alignment", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("upvotes", sa.Integer(), server_default="0", nullable=False),
        sa.Column("downvotes", sa.Integer(), server_default="0", nullable=False),
        sa.Column("status", sa.String(length=16), server_default="visible", nullable=False),
        sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True),
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
        sa.CheckConstraint(
            "alignment IN ('in_favor', 'against', 'neutral')", name=op.f("comments_alignment_check")
        ),
        sa.CheckConstraint(
            "status IN ('visible', 'hidden', 'pending')", name=op.f("comments_status_check")
        ),
        sa.CheckConstraint(
            "target_type IN ('proposal', 'meeting', 'plan_node', 'poll')",
            name=op.f("comments_target_type_check"),
        ),
        sa.CheckConstraint(
            "(depth = 0 AND parent_id IS NULL AND root_id = id) OR (depth > 0 AND parent_id IS NOT NULL AND root_id <> id)",
            name=op.f("comments_thread_check"),
        ),
        sa.CheckConstraint(
            "body IS NOT NULL OR deleted_at IS NOT NULL", name=op.f("comments_body_check")
        ),
        sa.CheckConstraint("depth BETWEEN 0 AND 3", name=op.f("comments_depth_check")),
        sa.CheckConstraint("upvotes >= 0 AND downvotes >= 0", name=op.f("comments_votes_check")),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("comments_author_id_fkey"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("comments_organization_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["comments.id"], name=op.f("comments_parent_id_fkey"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["root_id"], ["comments.id"], name=op.f("comments_root_id_fkey"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["table_id"],
            ["participation_tables.id"],
            name=op.f("comments_table_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("comments_pkey")),
    )
    op.create_index(op.f("comments_author_id_idx"), "comments", ["author_id"], unique=False)
    op.create_index(
        op.f("comments_organization_id_idx"), "comments", ["organization_id"], unique=False
    )
    op.create_index(op.f("comments_parent_id_idx"), "comments", ["parent_id"], unique=False)
    op.create_index(op.f("comments_root_id_idx"), "comments", ["root_id"], unique=False)
    op.create_index(op.f("comments_table_id_idx"), "comments", ["table_id"], unique=False)
    op.create_index(
        "comments_target_idx",
        "comments",
        ["target_type", "target_id", "created_at", "id"],
        unique=False,
    )
    op.create_table(
        "polls",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("table_id", sa.UUID(), nullable=False),
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column(
            "question",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("max_choices", sa.SmallInteger(), nullable=False),
        sa.Column("opens_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("results_visibility", sa.String(length=16), nullable=False),
        sa.Column("ballots_count", sa.Integer(), server_default="0", nullable=False),
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
        sa.CheckConstraint("kind IN ('single', 'multiple')", name=op.f("polls_kind_check")),
        sa.CheckConstraint(
            "max_choices BETWEEN 1 AND 20 AND (kind = 'multiple' OR max_choices = 1)",
            name=op.f("polls_max_choices_check"),
        ),
        sa.CheckConstraint(
            "results_visibility IN ('live', 'after_close')",
            name=op.f("polls_results_visibility_check"),
        ),
        sa.CheckConstraint("ballots_count >= 0", name=op.f("polls_ballots_count_check")),
        sa.CheckConstraint("closes_at > opens_at", name=op.f("polls_window_check")),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("polls_created_by_id_fkey"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("polls_organization_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["table_id"],
            ["participation_tables.id"],
            name=op.f("polls_table_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("polls_pkey")),
    )
    op.create_index(op.f("polls_organization_id_idx"), "polls", ["organization_id"], unique=False)
    op.create_index(
        "polls_table_id_created_at_id_idx", "polls", ["table_id", "created_at", "id"], unique=False
    )
    op.create_table(
        "comment_votes",
        sa.Column("comment_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("value", sa.SmallInteger(), nullable=False),
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
        sa.CheckConstraint("value IN (-1, 1)", name=op.f("comment_votes_value_check")),
        sa.ForeignKeyConstraint(
            ["comment_id"],
            ["comments.id"],
            name=op.f("comment_votes_comment_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("comment_votes_user_id_fkey"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("comment_id", "user_id", name=op.f("comment_votes_pkey")),
    )
    op.create_index(op.f("comment_votes_user_id_idx"), "comment_votes", ["user_id"], unique=False)
    op.create_table(
        "poll_options",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("poll_id", sa.UUID(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column(
            "label",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("votes_count", sa.Integer(), server_default="0", nullable=False),
        sa.CheckConstraint("position >= 0", name=op.f("poll_options_position_check")),
        sa.CheckConstraint("votes_count >= 0", name=op.f("poll_options_votes_count_check")),
        sa.ForeignKeyConstraint(
            ["poll_id"], ["polls.id"], name=op.f("poll_options_poll_id_fkey"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("poll_options_pkey")),
        sa.UniqueConstraint("poll_id", "position", name=op.f("poll_options_poll_id_position_key")),
    )
    op.create_table(
        "poll_participations",
        sa.Column("poll_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["poll_id"],
            ["polls.id"],
            name=op.f("poll_participations_poll_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("poll_participations_user_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("poll_id", "user_id", name=op.f("poll_participations_pkey")),
    )
    op.create_index(
        op.f("poll_participations_user_id_idx"), "poll_participations", ["user_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("poll_participations_user_id_idx"), table_name="poll_participations")
    op.drop_table("poll_participations")
    op.drop_table("poll_options")
    op.drop_index(op.f("comment_votes_user_id_idx"), table_name="comment_votes")
    op.drop_table("comment_votes")
    op.drop_index("polls_table_id_created_at_id_idx", table_name="polls")
    op.drop_index(op.f("polls_organization_id_idx"), table_name="polls")
    op.drop_table("polls")
    op.drop_index("comments_target_idx", table_name="comments")
    op.drop_index(op.f("comments_table_id_idx"), table_name="comments")
    op.drop_index(op.f("comments_root_id_idx"), table_name="comments")
    op.drop_index(op.f("comments_parent_id_idx"), table_name="comments")
    op.drop_index(op.f("comments_organization_id_idx"), table_name="comments")
    op.drop_index(op.f("comments_author_id_idx"), table_name="comments")
    op.drop_table("comments")
