"""Database engines and sessions: SQLite (embedded default) or any SQLAlchemy URL.

SQLite runs in WAL mode so readers never wait for the writer. Python's sqlite3 module issues a
deferred ``BEGIN``, and a deferred transaction that later upgrades to a write lock can fail with
"database is locked" without waiting; so the driver's own transaction handling is switched off
and we emit ``BEGIN IMMEDIATE`` for sessions that will write (the recipe in SQLAlchemy's SQLite
dialect notes).

SQLite's own wait for the write lock is a sleep-and-retry loop (1, 2, 5, 10 … ms), which turns
a queue of writers into long tail latencies. The hub's writers therefore first queue on an
in-process gate (a first-come, first-served lock held from ``BEGIN IMMEDIATE`` to
``COMMIT``/``ROLLBACK``, so no writer starves behind later ones); SQLite's ``busy_timeout`` is
left to arbitrate with other processes only.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections import deque
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from zslab.errors import ConfigError, StorageUnavailable

__all__ = [
    "Database",
    "redact_url",
    "storage_error",
]

log = logging.getLogger(__name__)

WRITE_OPTION = "zslab_write"


class FairLock:
    """A lock granted in the order it was asked for (``threading.Lock`` lets a releasing
    thread or a newcomer barge ahead, so under load one waiter can starve past any timeout)."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._waiters: deque[threading.Lock] = deque()
        self._held = False

    def acquire(self, timeout: float = -1) -> bool:
        with self._mutex:
            if not self._held and not self._waiters:
                self._held = True
                return True
            turn = threading.Lock()
            turn.acquire()
            self._waiters.append(turn)
        if turn.acquire(timeout=timeout):
            return True  # handed over by release()
        with self._mutex:
            try:
                self._waiters.remove(turn)
            except ValueError:
                return True  # handed over just as the wait timed out: ours after all
            return False

    def release(self) -> None:
        with self._mutex:
            if not self._held:
                raise RuntimeError("release of an unheld FairLock")
            if self._waiters:
                self._waiters.popleft().release()  # ownership passes on; still held
            else:
                self._held = False


def redact_url(url: str) -> str:
    """The URL with any password hidden, for logs, health and the runtime file."""
    return make_url(url).render_as_string(hide_password=True)


class Database:
    """An engine plus two session factories: one for reads, one for writes.

    >>> db = Database("sqlite:///:memory:")
    >>> with db.write_session() as s: ...
    """

    def __init__(self, url: str, *, busy_timeout_s: float = 5.0, echo: bool = False) -> None:
        self.url = url
        self.busy_timeout_s = busy_timeout_s
        try:
            parsed = make_url(url)
        except Exception as exc:  # sqlalchemy raises ArgumentError with a terse message
            raise ConfigError(
                f"The database URL {url!r} is not a SQLAlchemy URL.",
                field="db_url",
                fix="Use e.g. sqlite:////path/zslab.db or postgresql+psycopg://user@host/db.",
            ) from exc
        self.dialect = parsed.get_backend_name()
        if self.dialect == "postgresql" and parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        self.engine: Engine
        if self.dialect == "sqlite":
            self.engine = self._sqlite_engine(parsed, echo=echo)
        else:
            self.engine = create_engine(
                parsed, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=20
            )
        self._reads = sessionmaker(self.engine, expire_on_commit=False)
        self._writes = sessionmaker(
            self.engine.execution_options(**{WRITE_OPTION: True}), expire_on_commit=False
        )

    @property
    def sqlite_path(self) -> Path | None:
        database = make_url(self.url).database
        if self.dialect != "sqlite" or not database or database == ":memory:":
            return None
        return Path(database.removeprefix("file:").split("?", 1)[0])

    def _sqlite_engine(self, parsed: Any, *, echo: bool) -> Engine:
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            parsed,
            echo=echo,
            connect_args={"timeout": self.busy_timeout_s, "check_same_thread": False},
            # One connection per request thread (anyio's pool has 40) plus room for the rest.
            pool_size=40,
            max_overflow=24,
        )
        busy_ms = int(self.busy_timeout_s * 1000)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, see module docstring
            cursor = dbapi_conn.cursor()
            try:
                cursor.execute(f"PRAGMA busy_timeout = {busy_ms}")
                cursor.execute("PRAGMA foreign_keys = ON")
                try:
                    cursor.execute("PRAGMA journal_mode = WAL")
                except sqlite3.OperationalError as exc:
                    # A read-only file cannot switch journal mode; reads still work.
                    log.warning("SQLite WAL mode not enabled: %s", exc)
                # WAL + NORMAL: a commit survives the process being killed (SIGKILL); only an
                # OS crash or power loss can drop the newest commits, never corrupt the file.
                cursor.execute("PRAGMA synchronous = NORMAL")
            finally:
                cursor.close()

        gate = FairLock()

        def release(info: dict[str, Any]) -> None:
            if info.pop("zslab_gate", False):
                gate.release()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            if not conn.get_execution_options().get(WRITE_OPTION, False):
                conn.exec_driver_sql("BEGIN")
                return
            if not gate.acquire(timeout=self.busy_timeout_s):
                raise OperationalError(
                    "BEGIN IMMEDIATE",
                    None,
                    sqlite3.OperationalError("database is locked (by this hub's other writers)"),
                )
            conn.info["zslab_gate"] = True
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                release(conn.info)
                raise

        @event.listens_for(engine, "commit")
        @event.listens_for(engine, "rollback")
        def _on_end(conn: Any) -> None:
            # Fired just before COMMIT/ROLLBACK: a waiter may reach BEGIN IMMEDIATE a moment
            # early and then waits on busy_timeout for microseconds, never longer.
            release(conn.info)

        @event.listens_for(engine.pool, "checkin")
        @event.listens_for(engine.pool, "invalidate")
        def _on_return(_dbapi_conn: Any, record: Any, *_: Any) -> None:
            release(record.info)  # a connection lost mid-transaction must not keep the gate

        return engine

    def read_session(self) -> Session:
        return self._reads()

    def write_session(self) -> Session:
        """A session whose transaction takes the write lock at its start (SQLite)."""
        return self._writes()

    def dispose(self) -> None:
        self.engine.dispose()


def storage_error(exc: DBAPIError, db: Database) -> StorageUnavailable:
    """Translate a driver error about the database itself into an actionable message."""
    text = str(exc.orig) if exc.orig is not None else str(exc)
    lowered = text.lower()
    where = str(db.sqlite_path) if db.sqlite_path else redact_url(db.url)
    if "locked" in lowered or "busy" in lowered:
        return StorageUnavailable(
            f"The database {where} is locked by another process; waited "
            f"{db.busy_timeout_s:g} s. Nothing was written.",
            fix="Retry shortly. If it persists, find the process holding the database open "
            f"(`fuser {where}`) and stop it; only the hub should write to it.",
            retry_after=1,
        )
    if "readonly" in lowered or "read-only" in lowered or "read only" in lowered:
        return StorageUnavailable(
            f"The database {where} is read-only. Nothing was written.",
            fix="Make the database file and its directory writable by the hub's user, or set "
            "ZSLAB_DB_URL to a writable database, then restart the hub.",
        )
    if "disk" in lowered and ("full" in lowered or "i/o" in lowered):
        return StorageUnavailable(
            f"The database {where} cannot be written ({text}). Nothing was written.",
            fix="Free disk space or check the disk, then retry.",
        )
    return StorageUnavailable(
        f"The database {where} is unavailable ({text}).",
        fix="Check that the database server is running and reachable, then retry.",
        retry_after=2,
    )
