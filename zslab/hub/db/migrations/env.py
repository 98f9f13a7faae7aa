"""Alembic environment: always driven from :func:`zslab.hub.db.migrate.upgrade`, which passes
an open connection (so the hub, the tests and ``migrate revision`` share one code path)."""

from __future__ import annotations

from alembic import context

from zslab.cases.search import include_name
from zslab.hub.db.orm import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - guarded by migrate.py
    raise RuntimeError("run migrations through zslab.hub.db.migrate, not the alembic CLI")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,  # SQLite alters tables by copy; harmless elsewhere
    compare_type=True,
    include_name=include_name,  # search objects that orm.py does not map (migration 0006)
)
with context.begin_transaction():
    context.run_migrations()
