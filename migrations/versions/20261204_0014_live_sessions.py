"""live sessions: questions, likes, tickets, presence; events on a meeting's stream

`events.meeting_id` puts an event on a meeting's live stream. Two triggers on `events`,
only for such rows (so other events pay nothing, and NOTIFY's commit-time lock is taken
only by live writes):

* BEFORE INSERT takes a transaction-scoped advisory lock on the meeting and only then
  draws the row's `seq` (replacing the value drawn for the column default). The lock is
  held until commit, so within one meeting `seq` order is commit order: a listener that
  has delivered up to seq N of a meeting can never later see a committed event of that
  meeting with seq < N. (Across meetings nothing is serialized.)
* AFTER INSERT sends `NOTIFY consulta_live, '<meeting_id>:<seq>'` (ids only; delivered
  at commit, dropped on rollback).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 18:34:31.159777
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


OLD_TARGETS = "'proposal', 'comment', 'meeting', 'user', 'poll', 'plan_node'"
NEW_TARGETS = OLD_TARGETS + ", 'question'"
# 0x6c697665 = "live": the advisory-lock class of live-stream ordering.
ORDER_FUNCTION = """
CREATE FUNCTION consulta_live_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(1818850917, hashtext(NEW.meeting_id::text));
    NEW.seq := nextval(pg_get_serial_sequence('events', 'seq'));
    RETURN NEW;
END
$$
"""
NOTIFY_FUNCTION = """
CREATE FUNCTION consulta_live_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('consulta_live', NEW.meeting_id::text || ':' || NEW.seq::text);
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "live_presence",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("meeting_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("live_presence_meeting_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("live_presence_user_id_fkey"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("live_presence_pkey")),
    )
    op.create_index(
        "live_presence_meeting_id_expires_at_idx",
        "live_presence",
        ["meeting_id", "expires_at"],
        unique=False,
    )
    op.create_table(
        "live_questions",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("meeting_id", sa.UUID(), nullable=False),
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("table_id", sa.UUID(), nullable=False),
        sa.Column("author_id", sa.UUID(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="visible", nullable=False),
        sa.Column("pinned", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("likes_count", sa.Integer(), server_default="0", nullable=False),
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
            "status IN ('pending', 'visible', 'answered', 'hidden')",
            name=op.f("live_questions_status_check"),
        ),
        sa.CheckConstraint("likes_count >= 0", name=op.f("live_questions_likes_count_check")),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("live_questions_author_id_fkey"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("live_questions_meeting_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("live_questions_organization_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["table_id"],
            ["participation_tables.id"],
            name=op.f("live_questions_table_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("live_questions_pkey")),
    )
    op.create_index(
        op.f("live_questions_author_id_idx"), "live_questions", ["author_id"], unique=False
    )
    op.create_index(
        "live_questions_meeting_likes_idx",
        "live_questions",
        ["meeting_id", "likes_count", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "live_questions_meeting_recent_idx",
        "live_questions",
        ["meeting_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        op.f("live_questions_organization_id_idx"),
        "live_questions",
        ["organization_id"],
        unique=False,
    )
    op.create_table(
        "live_tickets",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("meeting_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("live_tickets_meeting_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("live_tickets_user_id_fkey"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("live_tickets_pkey")),
    )
    op.create_index(
        op.f("live_tickets_expires_at_idx"), "live_tickets", ["expires_at"], unique=False
    )
    op.create_index(op.f("live_tickets_user_id_idx"), "live_tickets", ["user_id"], unique=False)
    op.create_table(
        "live_question_likes",
        sa.Column("question_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["live_questions.id"],
            name=op.f("live_question_likes_question_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("live_question_likes_user_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("question_id", "user_id", name=op.f("live_question_likes_pkey")),
    )
    op.create_index(
        op.f("live_question_likes_user_id_idx"), "live_question_likes", ["user_id"], unique=False
    )
    op.add_column("events", sa.Column("meeting_id", sa.UUID(), nullable=True))
    op.create_index(
        "events_meeting_id_seq_idx",
        "events",
        ["meeting_id", "seq"],
        unique=False,
        postgresql_where=sa.text("meeting_id IS NOT NULL"),
    )
    op.add_column("meetings", sa.Column("live_status", sa.String(length=16), nullable=True))
    op.add_column("meetings", sa.Column("current_agenda_item", sa.Integer(), nullable=True))
    op.add_column("polls", sa.Column("meeting_id", sa.UUID(), nullable=True))
    op.create_index(op.f("polls_meeting_id_idx"), "polls", ["meeting_id"], unique=False)
    op.create_foreign_key(
        op.f("polls_meeting_id_fkey"),
        "polls",
        "meetings",
        ["meeting_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_check_constraint(
        op.f("meetings_live_status_check"), "meetings", "live_status IN ('live', 'ended')"
    )
    # Questions are reported and moderated like comments.
    op.drop_constraint(op.f("moderations_target_type_check"), "moderations", type_="check")
    op.create_check_constraint(
        op.f("moderations_target_type_check"), "moderations", f"target_type IN ({NEW_TARGETS})"
    )
    op.execute(ORDER_FUNCTION)
    op.execute(NOTIFY_FUNCTION)
    op.execute(
        "CREATE TRIGGER events_live_order BEFORE INSERT ON events FOR EACH ROW "
        "WHEN (NEW.meeting_id IS NOT NULL) EXECUTE FUNCTION consulta_live_order()"
    )
    op.execute(
        "CREATE TRIGGER events_live_notify AFTER INSERT ON events FOR EACH ROW "
        "WHEN (NEW.meeting_id IS NOT NULL) EXECUTE FUNCTION consulta_live_notify()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER events_live_notify ON events")
    op.execute("DROP TRIGGER events_live_order ON events")
    op.execute("DROP FUNCTION consulta_live_notify()")
    op.execute("DROP FUNCTION consulta_live_order()")
    op.drop_constraint(op.f("meetings_live_status_check"), "meetings", type_="check")
    op.execute("DELETE FROM moderations WHERE target_type = 'question'")
    op.drop_constraint(op.f("moderations_target_type_check"), "moderations", type_="check")
    op.create_check_constraint(
        op.f("moderations_target_type_check"), "moderations", f"target_type IN ({OLD_TARGETS})"
    )
    op.drop_constraint(op.f("polls_meeting_id_fkey"), "polls", type_="foreignkey")
    op.drop_index(op.f("polls_meeting_id_idx"), table_name="polls")
    op.drop_column("polls", "meeting_id")
    op.drop_column("meetings", "current_agenda_item")
    op.drop_column("meetings", "live_status")
    op.drop_index(
        "events_meeting_id_seq_idx",
        table_name="events",
        postgresql_where=sa.text("meeting_id IS NOT NULL"),
    )
    op.drop_column("events", "meeting_id")
    op.drop_index(op.f("live_question_likes_user_id_idx"), table_name="live_question_likes")
    op.drop_table("live_question_likes")
    op.drop_index(op.f("live_tickets_user_id_idx"), table_name="live_tickets")
    op.drop_index(op.f("live_tickets_expires_at_idx"), table_name="live_tickets")
    op.drop_table("live_tickets")
    op.drop_index(op.f("live_questions_organization_id_idx"), table_name="live_questions")
    op.drop_index("live_questions_meeting_recent_idx", table_name="live_questions")
    op.drop_index("live_questions_meeting_likes_idx", table_name="live_questions")
    op.drop_index(op.f("live_questions_author_id_idx"), table_name="live_questions")
    op.drop_table("live_questions")
    op.drop_index("live_presence_meeting_id_expires_at_idx", table_name="live_presence")
    op.drop_table("live_presence")
