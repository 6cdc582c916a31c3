"""participatory budgeting

Processes with phases and voting rules, areas with their amounts (euro cents) and
municipalities, costed projects (linked to plan nodes and proposals, with implementation
updates), secret ballots and counted results. Secrecy by design: `budget_ballots` (what
was chosen) is keyed by an HMAC of (SECRET_KEY, budget, user) or a random key, with no
user id and no timestamp; `budget_voters` (who voted) has no choices and no timestamp.
Comments may now target budget projects.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 18:41:14.880208
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate may emit sqlmodel types)
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_TARGETS = "'proposal', 'meeting', 'plan_node', 'poll'"
NEW_TARGETS = OLD_TARGETS + ", 'budget_project'"


def upgrade() -> None:
    op.create_table(
        "budgets",
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
            "description",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("plan_id", sa.UUID(), nullable=True),
        sa.Column("table_id", sa.UUID(), nullable=True),
        sa.Column(
            "phases",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("voting_method", sa.String(length=16), nullable=False),
        sa.Column("max_projects", sa.SmallInteger(), nullable=True),
        sa.Column("min_spend_percent", sa.SmallInteger(), nullable=True),
        sa.Column("counting", sa.String(length=16), nullable=False),
        sa.Column("min_age", sa.SmallInteger(), nullable=True),
        sa.Column("any_area", sa.Boolean(), server_default="false", nullable=False),
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
            "counting IN ('greedy', 'equal_shares')", name=op.f("budgets_counting_check")
        ),
        sa.CheckConstraint(
            "voting_method IN ('approval', 'cumulative_cost')",
            name=op.f("budgets_voting_method_check"),
        ),
        sa.CheckConstraint(
            "max_projects IS NULL OR max_projects >= 1", name=op.f("budgets_max_projects_check")
        ),
        sa.CheckConstraint(
            "min_age IS NULL OR min_age BETWEEN 0 AND 120", name=op.f("budgets_min_age_check")
        ),
        sa.CheckConstraint(
            "min_spend_percent IS NULL OR min_spend_percent BETWEEN 0 AND 100",
            name=op.f("budgets_min_spend_percent_check"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("budgets_created_by_id_fkey"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("budgets_organization_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plans.id"], name=op.f("budgets_plan_id_fkey"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["table_id"],
            ["participation_tables.id"],
            name=op.f("budgets_table_id_fkey"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("budgets_pkey")),
        sa.UniqueConstraint(
            "organization_id", "slug", name=op.f("budgets_organization_id_slug_key")
        ),
    )
    op.create_index(op.f("budgets_plan_id_idx"), "budgets", ["plan_id"], unique=False)
    op.create_index(op.f("budgets_table_id_idx"), "budgets", ["table_id"], unique=False)
    op.create_table(
        "budget_areas",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("budget_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("amount > 0", name=op.f("budget_areas_amount_check")),
        sa.ForeignKeyConstraint(
            ["budget_id"],
            ["budgets.id"],
            name=op.f("budget_areas_budget_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("budget_areas_pkey")),
    )
    op.create_index(
        "budget_areas_budget_id_created_at_id_idx",
        "budget_areas",
        ["budget_id", "created_at", "id"],
        unique=False,
    )
    op.create_table(
        "budget_nodes",
        sa.Column("budget_id", sa.UUID(), nullable=False),
        sa.Column("node_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["budget_id"],
            ["budgets.id"],
            name=op.f("budget_nodes_budget_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["node_id"],
            ["plan_nodes.id"],
            name=op.f("budget_nodes_node_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("budget_id", "node_id", name=op.f("budget_nodes_pkey")),
    )
    op.create_index(op.f("budget_nodes_node_id_idx"), "budget_nodes", ["node_id"], unique=False)
    op.create_table(
        "budget_results",
        sa.Column("budget_id", sa.UUID(), nullable=False),
        sa.Column("counting", sa.String(length=16), nullable=False),
        sa.Column(
            "data",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "counted_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["budget_id"],
            ["budgets.id"],
            name=op.f("budget_results_budget_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("budget_id", "counting", name=op.f("budget_results_pkey")),
    )
    op.create_table(
        "budget_voters",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("budget_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=True),
        sa.Column("identity_key", sa.String(length=64), nullable=True),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.CheckConstraint(
            "channel IN ('online', 'paper')", name=op.f("budget_voters_channel_check")
        ),
        sa.CheckConstraint(
            "user_id IS NOT NULL OR identity_key IS NOT NULL", name=op.f("budget_voters_who_check")
        ),
        sa.ForeignKeyConstraint(
            ["budget_id"],
            ["budgets.id"],
            name=op.f("budget_voters_budget_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("budget_voters_user_id_fkey"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("budget_voters_pkey")),
        sa.UniqueConstraint(
            "budget_id", "identity_key", name=op.f("budget_voters_budget_id_identity_key_key")
        ),
        sa.UniqueConstraint(
            "budget_id", "user_id", name=op.f("budget_voters_budget_id_user_id_key")
        ),
    )
    op.create_index(op.f("budget_voters_user_id_idx"), "budget_voters", ["user_id"], unique=False)
    op.create_table(
        "budget_area_municipalities",
        sa.Column("area_id", sa.UUID(), nullable=False),
        sa.Column("municipality_id", sa.UUID(), nullable=False),
        sa.Column("budget_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["area_id"],
            ["budget_areas.id"],
            name=op.f("budget_area_municipalities_area_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["budget_id"],
            ["budgets.id"],
            name=op.f("budget_area_municipalities_budget_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["municipality_id"],
            ["municipalities.id"],
            name=op.f("budget_area_municipalities_municipality_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "area_id", "municipality_id", name=op.f("budget_area_municipalities_pkey")
        ),
        sa.UniqueConstraint(
            "budget_id",
            "municipality_id",
            name=op.f("budget_area_municipalities_budget_id_municipality_id_key"),
        ),
    )
    op.create_index(
        op.f("budget_area_municipalities_municipality_id_idx"),
        "budget_area_municipalities",
        ["municipality_id"],
        unique=False,
    )
    op.create_table(
        "budget_ballots",
        sa.Column("budget_id", sa.UUID(), nullable=False),
        sa.Column("voter_key", sa.String(length=64), nullable=False),
        sa.Column("area_id", sa.UUID(), nullable=False),
        sa.Column("project_ids", postgresql.ARRAY(sa.UUID()), nullable=False),
        sa.ForeignKeyConstraint(
            ["area_id"],
            ["budget_areas.id"],
            name=op.f("budget_ballots_area_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["budget_id"],
            ["budgets.id"],
            name=op.f("budget_ballots_budget_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("budget_id", "voter_key", name=op.f("budget_ballots_pkey")),
    )
    op.create_index(op.f("budget_ballots_area_id_idx"), "budget_ballots", ["area_id"], unique=False)
    op.create_table(
        "budget_projects",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("budget_id", sa.UUID(), nullable=False),
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column("area_id", sa.UUID(), nullable=False),
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
        sa.Column("cost", sa.BigInteger(), nullable=False),
        sa.Column("feasibility", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("feasibility_report", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("implementation_status", sa.String(length=16), nullable=True),
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
            "feasibility IN ('pending', 'feasible', 'unfeasible')",
            name=op.f("budget_projects_feasibility_check"),
        ),
        sa.CheckConstraint(
            "implementation_status IS NULL OR implementation_status IN ('planned', 'in_progress', 'completed')",
            name=op.f("budget_projects_implementation_status_check"),
        ),
        sa.CheckConstraint("cost > 0", name=op.f("budget_projects_cost_check")),
        sa.ForeignKeyConstraint(
            ["area_id"],
            ["budget_areas.id"],
            name=op.f("budget_projects_area_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["budget_id"],
            ["budgets.id"],
            name=op.f("budget_projects_budget_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("budget_projects_created_by_id_fkey"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("budget_projects_organization_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("budget_projects_pkey")),
    )
    op.create_index(
        op.f("budget_projects_area_id_idx"), "budget_projects", ["area_id"], unique=False
    )
    op.create_index(
        "budget_projects_budget_id_created_at_id_idx",
        "budget_projects",
        ["budget_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        op.f("budget_projects_organization_id_idx"),
        "budget_projects",
        ["organization_id"],
        unique=False,
    )
    op.create_table(
        "budget_project_nodes",
        sa.Column("project_id", sa.UUID(), nullable=False),
        sa.Column("node_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["node_id"],
            ["plan_nodes.id"],
            name=op.f("budget_project_nodes_node_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["budget_projects.id"],
            name=op.f("budget_project_nodes_project_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("project_id", "node_id", name=op.f("budget_project_nodes_pkey")),
    )
    op.create_index(
        op.f("budget_project_nodes_node_id_idx"), "budget_project_nodes", ["node_id"], unique=False
    )
    op.create_table(
        "budget_project_proposals",
        sa.Column("project_id", sa.UUID(), nullable=False),
        sa.Column("proposal_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["budget_projects.id"],
            name=op.f("budget_project_proposals_project_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["proposals.id"],
            name=op.f("budget_project_proposals_proposal_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "project_id", "proposal_id", name=op.f("budget_project_proposals_pkey")
        ),
    )
    op.create_index(
        op.f("budget_project_proposals_proposal_id_idx"),
        "budget_project_proposals",
        ["proposal_id"],
        unique=False,
    )
    op.create_table(
        "budget_project_updates",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("project_id", sa.UUID(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("happened_on", sa.Date(), nullable=False),
        sa.Column(
            "note",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("created_by_id", sa.UUID(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('planned', 'in_progress', 'completed')",
            name=op.f("budget_project_updates_status_check"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("budget_project_updates_created_by_id_fkey"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["budget_projects.id"],
            name=op.f("budget_project_updates_project_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("budget_project_updates_pkey")),
    )
    op.create_index(
        "budget_project_updates_project_id_happened_on_idx",
        "budget_project_updates",
        ["project_id", "happened_on"],
        unique=False,
    )
    op.drop_constraint(op.f("comments_target_type_check"), "comments", type_="check")
    op.create_check_constraint("target_type", "comments", f"target_type IN ({NEW_TARGETS})")


def downgrade() -> None:
    # Comments on budget projects go with them (their replies cascade through root_id).
    op.execute("DELETE FROM comments WHERE target_type = 'budget_project'")
    op.drop_constraint(op.f("comments_target_type_check"), "comments", type_="check")
    op.create_check_constraint("target_type", "comments", f"target_type IN ({OLD_TARGETS})")
    op.drop_index(
        "budget_project_updates_project_id_happened_on_idx", table_name="budget_project_updates"
    )
    op.drop_table("budget_project_updates")
    op.drop_index(
        op.f("budget_project_proposals_proposal_id_idx"), table_name="budget_project_proposals"
    )
    op.drop_table("budget_project_proposals")
    op.drop_index(op.f("budget_project_nodes_node_id_idx"), table_name="budget_project_nodes")
    op.drop_table("budget_project_nodes")
    op.drop_index(op.f("budget_projects_organization_id_idx"), table_name="budget_projects")
    op.drop_index("budget_projects_budget_id_created_at_id_idx", table_name="budget_projects")
    op.drop_index(op.f("budget_projects_area_id_idx"), table_name="budget_projects")
    op.drop_table("budget_projects")
    op.drop_index(op.f("budget_ballots_area_id_idx"), table_name="budget_ballots")
    op.drop_table("budget_ballots")
    op.drop_index(
        op.f("budget_area_municipalities_municipality_id_idx"),
        table_name="budget_area_municipalities",
    )
    op.drop_table("budget_area_municipalities")
    op.drop_index(op.f("budget_voters_user_id_idx"), table_name="budget_voters")
    op.drop_table("budget_voters")
    op.drop_table("budget_results")
    op.drop_index(op.f("budget_nodes_node_id_idx"), table_name="budget_nodes")
    op.drop_table("budget_nodes")
    op.drop_index("budget_areas_budget_id_created_at_id_idx", table_name="budget_areas")
    op.drop_table("budget_areas")
    op.drop_index(op.f("budgets_table_id_idx"), table_name="budgets")
    op.drop_index(op.f("budgets_plan_id_idx"), table_name="budgets")
    op.drop_table("budgets")
