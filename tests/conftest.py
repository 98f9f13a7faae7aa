"""What every test folder shares: a real hub over HTTP on SQLite (the embedded default) and on
PostgreSQL, a Dask scheduler for lease workers, users with tokens, notebooks to run, the Alibaba
trace on disk, waiting, and Debian's chromium driven by Playwright.

Folders add their own ``conftest.py`` (``tests/compute/conftest.py`` …) for what only they use.

PostgreSQL tests use a fresh database per test on the server named by ``ZSLAB_TEST_PG_URL``
(default: the local server's ``test`` database as user ``postgres``); when that server cannot
be reached they are skipped with a message saying so.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from zslab.client import Lab
from zslab.config import Settings
from zslab.hub.app import create_app, open_database
from zslab.hub.bootstrap import ensure_admin
from zslab.hub.context import HubState
from zslab.hub.db.engine import Database
from zslab.hub.server import bind_socket, make_server

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


# --- helpers: a hub in a thread, users, waiting ---------------------------------------------


@dataclass
class HubHandle:
    url: str
    admin_token: str
    settings: Settings
    db: Database
    _server: object
    _thread: threading.Thread

    def lab(self, token: str | None = None, **kwargs: object) -> Lab:
        return Lab(self.url, token or self.admin_token, **kwargs)  # type: ignore[arg-type]

    def http(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token or self.admin_token}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    @property
    def state(self) -> HubState:
        """The running hub's state (its database, broker service, settings)."""
        app = self._server.config.app  # type: ignore[attr-defined]
        hub: HubState = app.state.hub
        return hub

    def stop(self) -> None:
        self._server.should_exit = True  # type: ignore[attr-defined]
        self._thread.join(timeout=15)


def start_hub(settings: Settings, *, admin_token: str | None = None) -> HubHandle:
    """Serve a hub over ``settings`` from a background thread on a free port.

    On a new database the first admin gets ``admin_token`` (or a fresh one); on an existing
    database pass the admin token it already has.
    """
    db = open_database(settings)
    secret = admin_token or f"zsl_test-admin-{uuid.uuid4().hex}"
    boot = ensure_admin(db, secret=secret)
    assert boot.created or admin_token, "existing database: pass its admin_token"
    app = create_app(settings, db=db)
    sock = bind_socket("127.0.0.1", 0)
    ready = threading.Event()
    server = make_server(app, log_level="warning", on_ready=ready.set)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    if not ready.wait(30):
        raise RuntimeError("hub did not start")
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    return HubHandle(url, secret, settings, db, server, thread)


def member_lab(
    hub: HubHandle,
    admin: Lab,
    name: str,
    *,
    role: str = "member",
    scopes: tuple[str, ...] = ("read", "write"),
) -> Lab:
    """A new user with a token, connected."""
    admin.users.add(name, role=role)
    token = admin.tokens.create(f"{name}-token", user=name, scopes=scopes)
    assert token.secret is not None
    return hub.lab(token.secret)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(predicate: object, timeout: float = 30.0, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(step)
    return bool(predicate())  # type: ignore[operator]


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


@contextlib.contextmanager
def chromium_browser() -> Iterator[Any]:
    """Debian's chromium through Playwright (never `playwright install`); the calling test is
    skipped, saying how to install it, where it is missing."""
    import pytest

    if not CHROMIUM.exists():
        pytest.skip("chromium is not installed: apt-get install -y chromium (make test does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS)
        )
        try:
            yield browser
        finally:
            browser.close()


def code_cell(source: str, *, cell_id: str | None = None, tags: tuple[str, ...] = ()) -> dict:
    """An unexecuted nbformat 4 code cell (``tags=("parameters",)`` for papermill)."""
    cell: dict[str, Any] = {
        "cell_type": "code",
        "metadata": {"tags": list(tags)} if tags else {},
        "source": source,
        "outputs": [],
        "execution_count": None,
    }
    if cell_id is not None:
        cell["id"] = cell_id
    return cell


def notebook(*cells: dict[str, Any]) -> dict[str, Any]:
    """An nbformat 4.5 notebook of ``cells`` on the python3 kernel."""
    return {
        "cells": list(cells),
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


# A template that finishes in seconds: it records twice its parameter (``doubled``).
ECHO_TEMPLATE: dict[str, Any] = notebook(
    {"cell_type": "markdown", "id": "title", "metadata": {}, "source": "# Echo\nDoubles."},
    code_cell("factor = 2  # what to double", cell_id="parameters", tags=("parameters",)),
    code_cell("from zslab import record\nrecord(doubled=factor * 2)", cell_id="work"),
)


# --- hubs with lease workers and inventories ---------------------------------------------------

SMALL_INVENTORY = """\
name: test-cluster
sites:
  - name: pudong
    pools:
      - name: h100
        nodes: {prefix: h-, count: 2, cpu: 64, memory: 512GiB, model: h100-80gb, devices: 4}
      - name: t4
        nodes: {prefix: t-, count: 2, cpu: 32, memory: 128GiB, model: t4, devices: 2}
  - name: lingang
    pools:
      - name: npu
        nodes: {prefix: n-, count: 1, cpu: 96, memory: 512GiB, model: ascend910b, devices: 8}
"""


def write_inventory(directory: Path, text: str = SMALL_INVENTORY) -> str:
    path = directory / "inventory.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


ONE_H100 = """\
name: one-h100
sites:
  - name: pudong
    pools:
      - name: h100
        nodes: {prefix: h-, count: 1, cpu: 16, memory: 64GiB, model: h100-80gb, devices: 1}
"""


def run_hub(
    tmp_path: Path, scheduler: str, inventory: str | None = None, **fields: Any
) -> HubHandle:
    fields.setdefault("heartbeat_s", 5)
    if inventory:
        fields["inventory"] = write_inventory(tmp_path, inventory)
    settings = Settings(
        home=tmp_path / "home",
        db_url=f"sqlite:///{tmp_path / 'hub.db'}",
        dask_scheduler=scheduler,
        launcher="local",
        **fields,
    )
    return start_hub(settings)


def until(predicate: Callable[[], Any], timeout: float = 20.0, step: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"not true within {timeout} s: {predicate}")


# --- the Alibaba GPU trace -------------------------------------------------------------------

# The repository is checked out at <somewhere>/main with shared/ beside it.
TRACE_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "alibaba-gpu-v2023"


def trace_file(name: str) -> Path:
    """A file of the Alibaba GPU trace; skips the test when the data is not checked out."""
    path = TRACE_DIR / name
    if not path.is_file():
        pytest.skip(
            f"Alibaba GPU trace file {name} not found in {TRACE_DIR}; "
            "check out shared/data/alibaba-gpu-v2023 beside the repository"
        )
    return path
