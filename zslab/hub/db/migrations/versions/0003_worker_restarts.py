"""worker restarts per project (a lease's Dask worker that dies is restarted this many times)

Revision ID: 0003_worker_restarts
Revises: 0002_broker
Create Date: 2026-11-26 11:28:30.650524
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_worker_restarts"
down_revision: str | None = "0002_broker"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("project_policies", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("worker_restarts", sa.Integer(), server_default="1", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("project_policies", schema=None) as batch_op:
        batch_op.drop_column("worker_restarts")
