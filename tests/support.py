"""Test helpers: a real hub served over HTTP from a thread, users with tokens, waiting, and
Debian's chromium driven by Playwright."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from zslab.client import Lab
from zslab.config import Settings
from zslab.hub.app import create_app, open_database
from zslab.hub.bootstrap import ensure_admin
from zslab.hub.context import HubState
from zslab.hub.db.engine import Database
from zslab.hub.server import bind_socket, make_server


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
