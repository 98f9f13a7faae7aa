"""Alembic migrations, applied when the hub starts.

Two hubs starting at once against one database must not both migrate: on PostgreSQL the upgrade
runs under an advisory lock, on SQLite under ``BEGIN IMMEDIATE`` (the write lock).

For developers::

    python -m zslab.hub.db.migrate revision "add leases"   # autogenerate from orm.py
    python -m zslab.hub.db.migrate check                    # orm.py and migrations agree?
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from zslab.cases.search import include_name
from zslab.hub.db.engine import Database
from zslab.hub.db.orm import Base

__all__ = ["current_revision", "downgrade", "head_revision", "pending_changes", "upgrade"]

MIGRATIONS = Path(__file__).parent / "migrations"
_PG_LOCK_KEY = 0x7A534C4142  # "zSLAB": any constant shared by all hubs


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def _run(db: Database, fn: Any, *args: Any) -> None:
    cfg = _config()
    with db.engine.execution_options(zslab_write=True).begin() as conn:
        if db.dialect == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY})")
        cfg.attributes["connection"] = conn
        fn(cfg, *args)


def upgrade(db: Database, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (default: the newest).

    A database already at head is only read, so a hub can start on a read-only copy.
    """
    if revision == "head" and current_revision(db) == head_revision():
        return
    _run(db, command.upgrade, revision)


def downgrade(db: Database, revision: str) -> None:
    _run(db, command.downgrade, revision)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_config()).get_current_head()


def current_revision(db: Database) -> str | None:
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def pending_changes(db: Database) -> list[Any]:
    """Differences between ``orm.py`` and the migrated schema (empty when they agree)."""
    with db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_name": include_name}
        )
        return list(compare_metadata(context, Base.metadata))


def _main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"revision", "check"}:
        print(__doc__)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/migrate.db")
        upgrade(db)
        if argv[0] == "check":
            changes = pending_changes(db)
            for change in changes:
                print(change)
            print("orm.py and the migrations agree" if not changes else "migration needed")
            return 1 if changes else 0
        message = " ".join(argv[1:]) or "change"
        cfg = _config()
        with db.engine.connect() as conn:
            cfg.attributes["connection"] = conn
            command.revision(cfg, message=message, autogenerate=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
