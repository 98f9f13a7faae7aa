"""Shared fixtures: a real hub over HTTP on SQLite (embedded default) and on PostgreSQL.

PostgreSQL tests use a fresh database per test on the server named by ``ZSLAB_TEST_PG_URL``
(default: the local server's ``test`` database as user ``postgres``); when that server cannot
be reached they are skipped with a message saying so.
"""

from __future__ import annotations

import contextlib
import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import HubHandle, start_hub
from zslab.client import Lab
from zslab.config import Settings

pytest_plugins = ("pytest_jupyter.jupyter_server",)  # jp_fetch & co. for the server extension


def _serves_jupyter(request: pytest.FixtureRequest) -> bool:
    return "jp_serverapp" in request.fixturenames


# pytest-jupyter makes these two autouse: every test of the suite would get a fresh event loop
# set as the current one and a ServerApp built and cleaned up after it. Only the tests that
# start a Jupyter server (through jp_fetch / jp_serverapp) get them here.
@pytest.fixture(autouse=True)
def jp_asyncio_loop(request: pytest.FixtureRequest) -> Iterator[object]:
    if not _serves_jupyter(request):
        yield None
        return
    from jupyter_core.utils import ensure_event_loop

    loop = ensure_event_loop(prefer_selector_loop=True)
    yield loop
    loop.close()


@pytest.fixture(autouse=True)
def jp_server_cleanup(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if not _serves_jupyter(request):
        return
    from jupyter_server.serverapp import ServerApp

    loop = request.getfixturevalue("jp_asyncio_loop")
    app = ServerApp.instance()
    with contextlib.suppress(RuntimeError, SystemExit):
        loop.run_until_complete(app._cleanup())
    if hasattr(app, "kernel_manager"):
        app.kernel_manager.context.destroy()
    ServerApp.clear_instance()


PG_URL = os.environ.get("ZSLAB_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own ZSLAB_HOME and no inherited hub configuration."""
    home = tmp_path / "zslab-home"
    monkeypatch.setenv("ZSLAB_HOME", str(home))
    for name in ("ZSLAB_URL", "ZSLAB_TOKEN", "ZSLAB_DB_URL", "ZSLAB_BOOTSTRAP_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return home


# --- databases -------------------------------------------------------------------------------


def _pg_admin_connect() -> object:
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(PG_URL)
    return psycopg.connect(
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        user=url.username or "postgres",
        dbname=url.database or "postgres",
        autocommit=True,
        connect_timeout=3,
    )


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test; dropped afterwards."""
    try:
        admin = _pg_admin_connect()
    except Exception as exc:
        pytest.skip(f"PostgreSQL is not reachable at {PG_URL} ({exc}); set ZSLAB_TEST_PG_URL")
    name = f"zslab_t_{uuid.uuid4().hex[:12]}"
    from sqlalchemy.engine import make_url

    with admin:  # type: ignore[attr-defined]
        admin.execute(f'CREATE DATABASE "{name}"')  # type: ignore[attr-defined]
    try:
        yield (
            make_url(PG_URL)
            .set(drivername="postgresql+psycopg", database=name)
            .render_as_string(hide_password=False)
        )
    finally:
        with _pg_admin_connect() as admin2:  # type: ignore[attr-defined]
            admin2.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The hub database URL: the embedded SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'hub.db'}"
    return str(request.getfixturevalue("pg_url"))


# --- a real hub over HTTP ----------------------------------------------------------------------


@pytest.fixture
def hub_settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(
        home=tmp_path / "zslab-home", db_url=db_url, db_busy_timeout_s=2.0, auth_cache_s=1.0
    )


@pytest.fixture
def hub(hub_settings: Settings) -> Iterator[HubHandle]:
    """A running hub (SQLite and PostgreSQL) with a known admin token."""
    handle = start_hub(hub_settings)
    yield handle
    handle.stop()


@pytest.fixture
def sqlite_hub(tmp_path: Path) -> Iterator[HubHandle]:
    """A running hub on the embedded default only (SQLite-specific faults)."""
    settings = Settings(
        home=tmp_path / "zslab-home",
        db_url=f"sqlite:///{tmp_path / 'hub.db'}",
        db_busy_timeout_s=0.5,
    )
    handle = start_hub(settings)
    yield handle
    handle.stop()


@pytest.fixture
def admin(hub: HubHandle) -> Iterator[Lab]:
    with hub.lab() as lab:
        yield lab


@pytest.fixture(scope="session")
def scheduler() -> Iterator[str]:
    """A Dask scheduler with no workers of its own: lease workers (subprocesses) join it."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=0,
        processes=False,
        protocol="tcp://",
        host="127.0.0.1",
        scheduler_port=0,
        dashboard_address="127.0.0.1:0",
    ) as cluster:
        yield cluster.scheduler_address
