"""proposals and supports

Proposals of participation tables (with their plan nodes and co-authors), supports (one
row per person and proposal: the primary key), and each table's participation settings.
`proposals.search_vector` is a generated tsvector (Italian configuration, title weighted
above body) with a GIN index; expression index for the `recent` keyset order. CHECK
constraints hold the lifecycle, the answer states, counters and settings' ranges.

SQL functions (IMMUTABLE, plain SQL: the embedded PostgreSQL ships no pg_trgm):
`consulta_array_jaccard(a, b)` (shared / distinct elements of two text arrays, as sets),
`consulta_trigrams(t)` (pg_trgm's trigrams: lower-cased words padded with two spaces in
front and one behind) and `consulta_trigram_similarity(a, b)` (pg_trgm's `similarity`).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 09:03:30.491131
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate may emit sqlmodel types)
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


FUNCTIONS = (
    """
    CREATE FUNCTION consulta_array_jaccard(a text[], b text[]) RETURNS real
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
        SELECT CASE WHEN n_union = 0 THEN 0::real ELSE n_common::real / n_union::real END
        FROM (
            SELECT n_common, n_a + n_b - n_common AS n_union
            FROM (
                SELECT (SELECT count(DISTINCT x) FROM unnest(a) AS x) AS n_a,
                       (SELECT count(DISTINCT x) FROM unnest(b) AS x) AS n_b,
                       (SELECT count(DISTINCT x) FROM unnest(a) AS x WHERE x = ANY (b))
                           AS n_common
            ) AS counts
        ) AS sizes
    $$
    """,
    """
    CREATE FUNCTION consulta_trigrams(t text) RETURNS text[]
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
        SELECT coalesce(array_agg(DISTINCT substr(w.padded, i, 3)), '{}'::text[])
        FROM (
            SELECT '  ' || word || ' ' AS padded
            FROM regexp_split_to_table(lower(t), '[^[:alnum:]]+') AS word
            WHERE word <> ''
        ) AS w,
        generate_series(1, length(w.padded) - 2) AS i
    $$
    """,
    """
    CREATE FUNCTION consulta_trigram_similarity(a text, b text) RETURNS real
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
        SELECT consulta_array_jaccard(consulta_trigrams(a), consulta_trigrams(b))
    $$
    """,
)


def upgrade() -> None:
    for statement in FUNCTIONS:
        op.execute(statement)
    op.create_table(
        "proposals",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("table_id", sa.UUID(), nullable=False),
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("author_id", sa.UUID(), nullable=True),
        sa.Column("municipality_id", sa.UUID(), nullable=True),
        sa.Column("title", sa.String(length=150), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("answer_state", sa.String(length=16), nullable=True),
        sa.Column("answer_text", sa.Text(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_by_id", sa.UUID(), nullable=True),
        sa.Column("supports_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("comments_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("threshold_reached_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
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
        sa.Column(
            "search_vector",
            postgresql.TSVECTOR(),
            sa.Computed(
                "setweight(to_tsvector('italian'::regconfig, coalesce(title, '')), 'A') || setweight(to_tsvector('italian'::regconfig, coalesce(body, '')), 'B')",
                persisted=True,
            ),
            nullable=True,
        ),
        sa.CheckConstraint(
            "answer_state IS NULL OR answer_state IN ('evaluating', 'accepted', 'rejected', 'implemented')",
            name=op.f("proposals_answer_state_check"),
        ),
        sa.CheckConstraint(
            "answer_state IS NULL OR status <> 'draft'",
            name=op.f("proposals_draft_unanswered_check"),
        ),
        sa.CheckConstraint(
            "status = 'draft' OR published_at IS NOT NULL",
            name=op.f("proposals_published_at_check"),
        ),
        sa.CheckConstraint(
            "status IN ('draft', 'published', 'withdrawn')", name=op.f("proposals_status_check")
        ),
        sa.CheckConstraint(
            "(answer_state IS NULL) = (answered_at IS NULL)", name=op.f("proposals_answered_check")
        ),
        sa.CheckConstraint(
            "char_length(title) BETWEEN 1 AND 150", name=op.f("proposals_title_check")
        ),
        sa.CheckConstraint(
            "supports_count >= 0 AND comments_count >= 0", name=op.f("proposals_counters_check")
        ),
        sa.ForeignKeyConstraint(
            ["answered_by_id"],
            ["users.id"],
            name=op.f("proposals_answered_by_id_fkey"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("proposals_author_id_fkey"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["municipality_id"],
            ["municipalities.id"],
            name=op.f("proposals_municipality_id_fkey"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("proposals_organization_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["table_id"],
            ["participation_tables.id"],
            name=op.f("proposals_table_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("proposals_pkey")),
    )
    op.create_index(op.f("proposals_author_id_idx"), "proposals", ["author_id"], unique=False)
    op.create_index(
        op.f("proposals_municipality_id_idx"), "proposals", ["municipality_id"], unique=False
    )
    op.create_index(
        op.f("proposals_organization_id_idx"), "proposals", ["organization_id"], unique=False
    )
    op.create_index(
        "proposals_search_vector_idx",
        "proposals",
        ["search_vector"],
        unique=False,
        postgresql_using="gin",
    )
    op.create_index(
        "proposals_table_id_comments_count_id_idx",
        "proposals",
        ["table_id", "comments_count", "id"],
        unique=False,
    )
    op.create_index(
        "proposals_table_id_listed_at_id_idx",
        "proposals",
        ["table_id", sa.literal_column("coalesce(published_at, created_at)"), "id"],
        unique=False,
    )
    op.create_index(
        "proposals_table_id_supports_count_id_idx",
        "proposals",
        ["table_id", "supports_count", "id"],
        unique=False,
    )
    op.create_table(
        "table_settings",
        sa.Column("table_id", sa.UUID(), nullable=False),
        sa.Column("proposals_open", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("supports", sa.String(length=16), server_default="enabled", nullable=False),
        sa.Column("support_limit", sa.Integer(), server_default="0", nullable=False),
        sa.Column("support_threshold", sa.Integer(), server_default="0", nullable=False),
        sa.Column("edit_window_minutes", sa.Integer(), server_default="15", nullable=False),
        sa.Column("comments_open", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
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
            "supports IN ('enabled', 'blocked', 'hidden')",
            name=op.f("table_settings_supports_check"),
        ),
        sa.CheckConstraint(
            "edit_window_minutes BETWEEN 0 AND 10080",
            name=op.f("table_settings_edit_window_minutes_check"),
        ),
        sa.CheckConstraint("support_limit >= 0", name=op.f("table_settings_support_limit_check")),
        sa.CheckConstraint(
            "support_threshold >= 0", name=op.f("table_settings_support_threshold_check")
        ),
        sa.ForeignKeyConstraint(
            ["table_id"],
            ["participation_tables.id"],
            name=op.f("table_settings_table_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["users.id"],
            name=op.f("table_settings_updated_by_id_fkey"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("table_id", name=op.f("table_settings_pkey")),
    )
    op.create_table(
        "proposal_coauthors",
        sa.Column("proposal_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["proposals.id"],
            name=op.f("proposal_coauthors_proposal_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("proposal_coauthors_user_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("proposal_id", "user_id", name=op.f("proposal_coauthors_pkey")),
    )
    op.create_index(
        "proposal_coauthors_user_id_idx", "proposal_coauthors", ["user_id"], unique=False
    )
    op.create_table(
        "proposal_nodes",
        sa.Column("proposal_id", sa.UUID(), nullable=False),
        sa.Column("node_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["node_id"],
            ["plan_nodes.id"],
            name=op.f("proposal_nodes_node_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["proposals.id"],
            name=op.f("proposal_nodes_proposal_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("proposal_id", "node_id", name=op.f("proposal_nodes_pkey")),
    )
    op.create_index("proposal_nodes_node_id_idx", "proposal_nodes", ["node_id"], unique=False)
    op.create_table(
        "proposal_supports",
        sa.Column("proposal_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("table_id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["proposals.id"],
            name=op.f("proposal_supports_proposal_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["table_id"],
            ["participation_tables.id"],
            name=op.f("proposal_supports_table_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("proposal_supports_user_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("proposal_id", "user_id", name=op.f("proposal_supports_pkey")),
    )
    op.create_index(
        "proposal_supports_user_id_table_id_idx",
        "proposal_supports",
        ["user_id", "table_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("proposal_supports_user_id_table_id_idx", table_name="proposal_supports")
    op.drop_table("proposal_supports")
    op.drop_index("proposal_nodes_node_id_idx", table_name="proposal_nodes")
    op.drop_table("proposal_nodes")
    op.drop_index("proposal_coauthors_user_id_idx", table_name="proposal_coauthors")
    op.drop_table("proposal_coauthors")
    op.drop_table("table_settings")
    op.drop_index("proposals_table_id_supports_count_id_idx", table_name="proposals")
    op.drop_index("proposals_table_id_listed_at_id_idx", table_name="proposals")
    op.drop_index("proposals_table_id_comments_count_id_idx", table_name="proposals")
    op.drop_index("proposals_search_vector_idx", table_name="proposals", postgresql_using="gin")
    op.drop_index(op.f("proposals_organization_id_idx"), table_name="proposals")
    op.drop_index(op.f("proposals_municipality_id_idx"), table_name="proposals")
    op.drop_index(op.f("proposals_author_id_idx"), table_name="proposals")
    op.drop_table("proposals")
    op.execute("DROP FUNCTION consulta_trigram_similarity(text, text)")
    op.execute("DROP FUNCTION consulta_trigrams(text)")
    op.execute("DROP FUNCTION consulta_array_jaccard(text[], text[])")
