"""Alembic migrations: applied at start, reversible, in step with the ORM, safe to race."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import inspect

from zslab.hub.db import migrate
from zslab.hub.db.engine import Database

TABLES = {
    "users",
    "tokens",
    "organizations",
    "org_members",
    "projects",
    "project_members",
    "audit_events",
    "idempotency_records",
}


def test_upgrade_creates_the_schema_and_matches_the_orm(db_url: str) -> None:
    db = Database(db_url)
    migrate.upgrade(db)
    assert set(inspect(db.engine).get_table_names()) >= TABLES
    assert migrate.current_revision(db) == migrate.head_revision()
    assert migrate.pending_changes(db) == []
    db.dispose()


def test_downgrade_to_base_and_back(db_url: str) -> None:
    db = Database(db_url)
    migrate.upgrade(db)
    migrate.downgrade(db, "base")
    assert not TABLES & set(inspect(db.engine).get_table_names())
    migrate.upgrade(db)
    assert set(inspect(db.engine).get_table_names()) >= TABLES
    db.dispose()


def test_hubs_starting_together_migrate_once(db_url: str) -> None:
    databases = [Database(db_url) for _ in range(4)]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(migrate.upgrade, databases))
    assert migrate.current_revision(databases[0]) == migrate.head_revision()
    for db in databases:
        db.dispose()
