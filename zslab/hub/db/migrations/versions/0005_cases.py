"""case library: cases, versions, metrics, reviews, reproductions

Revision ID: 0005_cases
Revises: 0004_runs
Create Date: 2026-11-26 14:02:44.530820
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_cases"
down_revision: str | None = "0004_runs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "cases",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("slug", sa.String(length=80), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("project_id", sa.String(length=40), nullable=False),
        sa.Column("owner_id", sa.String(length=40), nullable=False),
        sa.Column("sector", sa.String(length=32), nullable=False),
        sa.Column("visibility", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("title_en", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("task", sa.String(length=100), nullable=False),
        sa.Column("license", sa.String(length=64), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("datasets", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("published_version", sa.Integer(), nullable=True),
        sa.Column("reproduced", sa.Boolean(), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "sector IN ('finance', 'education', 'healthcare', 'culture_tourism', "
            "'manufacturing', 'city_governance', 'online_economy', 'other')",
            name=op.f("ck_cases_sector"),
        ),
        sa.CheckConstraint(
            "status IN ('draft', 'in_review', 'published', 'archived')",
            name=op.f("ck_cases_status"),
        ),
        sa.CheckConstraint(
            "visibility IN ('public', 'org', 'private')", name=op.f("ck_cases_visibility")
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_cases_org_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_cases_owner_id_users"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_cases_project_id_projects"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
        sa.UniqueConstraint("slug", name=op.f("uq_cases_slug")),
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cases_org_id"), ["org_id"], unique=False)
        batch_op.create_index("ix_cases_sector_updated", ["sector", "updated_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_task"), ["task"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_updated_at"), ["updated_at"], unique=False)

    op.create_table(
        "case_versions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("case_id", sa.String(length=40), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("title_en", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("task", sa.String(length=100), nullable=False),
        sa.Column("license", sa.String(length=64), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("results", sa.JSON(), nullable=False),
        sa.Column("tolerance", sa.JSON(), nullable=False),
        sa.Column("model_card", sa.Text(), nullable=False),
        sa.Column("data_card", sa.JSON(), nullable=False),
        sa.Column("run_ids", sa.JSON(), nullable=False),
        sa.Column("notebooks", sa.JSON(), nullable=False),
        sa.Column("compute", sa.JSON(), nullable=False),
        sa.Column("provenance", sa.JSON(), nullable=False),
        sa.Column("changelog", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by", sa.String(length=40), nullable=True),
        sa.CheckConstraint(
            "status IN ('draft', 'in_review', 'published', 'archived')",
            name=op.f("ck_case_versions_status"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_versions_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_case_versions_created_by_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_versions")),
        sa.UniqueConstraint("case_id", "number", name="uq_case_versions_case_number"),
    )
    with op.batch_alter_table("case_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_versions_status"), ["status"], unique=False)

    op.create_table(
        "case_metrics",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("version_id", sa.String(length=40), nullable=False),
        sa.Column("case_id", sa.String(length=40), nullable=False),
        sa.Column("task", sa.String(length=100), nullable=False),
        sa.Column("dataset", sa.String(length=200), nullable=False),
        sa.Column("dataset_hash", sa.String(length=128), nullable=True),
        sa.Column("config_hash", sa.String(length=128), nullable=True),
        sa.Column("metric", sa.String(length=100), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("low", sa.Float(), nullable=True),
        sa.Column("high", sa.Float(), nullable=True),
        sa.Column("higher_is_better", sa.Boolean(), nullable=False),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_metrics_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["case_versions.id"],
            name=op.f("fk_case_metrics_version_id_case_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_metrics")),
    )
    with op.batch_alter_table("case_metrics", schema=None) as batch_op:
        batch_op.create_index("ix_case_metrics_board", ["task", "dataset", "metric"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_metrics_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_case_metrics_version_id"), ["version_id"], unique=False
        )

    op.create_table(
        "case_reproductions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("case_id", sa.String(length=40), nullable=False),
        sa.Column("version_id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("run_ids", sa.JSON(), nullable=False),
        sa.Column("lease_id", sa.String(length=40), nullable=True),
        sa.Column("hardware", sa.JSON(), nullable=False),
        sa.Column("results", sa.JSON(), nullable=False),
        sa.Column("verdict", sa.JSON(), nullable=False),
        sa.Column("matched", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_reproductions_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_case_reproductions_user_id_users"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["case_versions.id"],
            name=op.f("fk_case_reproductions_version_id_case_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_reproductions")),
    )
    with op.batch_alter_table("case_reproductions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_case_reproductions_case_id"), ["case_id"], unique=False
        )

    op.create_table(
        "case_reviews",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("version_id", sa.String(length=40), nullable=False),
        sa.Column("actor_id", sa.String(length=40), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=False),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            name=op.f("fk_case_reviews_actor_id_users"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["case_versions.id"],
            name=op.f("fk_case_reviews_version_id_case_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_reviews")),
    )
    with op.batch_alter_table("case_reviews", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_case_reviews_version_id"), ["version_id"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("case_reviews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_reviews_version_id"))

    op.drop_table("case_reviews")
    with op.batch_alter_table("case_reproductions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_reproductions_case_id"))

    op.drop_table("case_reproductions")
    with op.batch_alter_table("case_metrics", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_metrics_version_id"))
        batch_op.drop_index(batch_op.f("ix_case_metrics_case_id"))
        batch_op.drop_index("ix_case_metrics_board")

    op.drop_table("case_metrics")
    with op.batch_alter_table("case_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_versions_status"))

    op.drop_table("case_versions")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cases_updated_at"))
        batch_op.drop_index(batch_op.f("ix_cases_task"))
        batch_op.drop_index("ix_cases_sector_updated")
        batch_op.drop_index(batch_op.f("ix_cases_org_id"))

    op.drop_table("cases")
