"""case search: an FTS5 index (SQLite) or a GIN tsvector index (PostgreSQL) over search_text

``cases.search_text`` holds the tokens :mod:`zslab.cases.search` computes (CJK bigrams and
lower-cased words, space-separated), so both backends index the same tokens:

- SQLite: ``cases_fts``, an FTS5 table (``unicode61``: a CJK bigram has no separator inside,
  so it stays one token) whose rowid is the case row's rowid, kept in step by triggers on
  ``cases``, so every write path updates it in the writer's transaction.
- PostgreSQL: a GIN index on ``to_tsvector('simple', search_text)``; the ``simple`` parser
  keeps our tokens as they are and records positions, so phrases (``<->``) work. No extension
  is needed (pg_trgm would index raw text, not our bigrams, and needs CREATE privileges).

Neither object is in ``orm.py``: autogenerate is told to ignore them by
``zslab.cases.search.include_name`` (see ``migrations/env.py``).

Revision ID: 0006_case_search
Revises: 0005_cases
Create Date: 2026-11-27 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006_case_search"
down_revision: str | None = "0005_cases"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SQLITE_UP = (
    "CREATE VIRTUAL TABLE cases_fts USING fts5(search_text, tokenize = 'unicode61')",
    "INSERT INTO cases_fts (rowid, search_text) "
    "SELECT rowid, search_text FROM cases WHERE search_text != ''",
    "CREATE TRIGGER cases_fts_insert AFTER INSERT ON cases WHEN new.search_text != '' BEGIN "
    "INSERT INTO cases_fts (rowid, search_text) VALUES (new.rowid, new.search_text); END",
    "CREATE TRIGGER cases_fts_delete AFTER DELETE ON cases BEGIN "
    "DELETE FROM cases_fts WHERE rowid = old.rowid; END",
    "CREATE TRIGGER cases_fts_update AFTER UPDATE OF search_text ON cases BEGIN "
    "DELETE FROM cases_fts WHERE rowid = old.rowid; "
    "INSERT INTO cases_fts (rowid, search_text) "
    "SELECT new.rowid, new.search_text WHERE new.search_text != ''; END",
)
_SQLITE_DOWN = (
    "DROP TRIGGER IF EXISTS cases_fts_update",
    "DROP TRIGGER IF EXISTS cases_fts_delete",
    "DROP TRIGGER IF EXISTS cases_fts_insert",
    "DROP TABLE IF EXISTS cases_fts",
)
_PG_UP = (
    "CREATE INDEX ix_cases_search_tsv ON cases "
    "USING gin (to_tsvector('simple'::regconfig, search_text))",
)
_PG_DOWN = ("DROP INDEX IF EXISTS ix_cases_search_tsv",)


def _statements(up: bool) -> tuple[str, ...]:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        return _SQLITE_UP if up else _SQLITE_DOWN
    if dialect == "postgresql":
        return _PG_UP if up else _PG_DOWN
    return ()  # other databases search by scanning search_text (see zslab.cases.search)


def upgrade() -> None:
    for statement in _statements(up=True):
        op.execute(statement)


def downgrade() -> None:
    for statement in _statements(up=False):
        op.execute(statement)
