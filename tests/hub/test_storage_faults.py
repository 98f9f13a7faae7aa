"""The embedded database under stress: read-only, locked, and the hub killed mid-write."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import zslab
from tests.conftest import HubHandle, free_port, start_hub, wait_for
from zslab.client import Lab
from zslab.config import Settings
from zslab.hub.app import open_database

PYTHON = sys.executable


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[str]:
    """Make the SQLite file read-only for this process; yields the URL to open it with.

    chmod suffices for ordinary users; root ignores permissions, so there the file is made
    immutable (chattr +i), and where even that is impossible SQLite is asked to open it
    read-only (mode=ro), which fails writes the same way.
    """
    url = f"sqlite:///{path}"
    mode = path.stat().st_mode
    path.chmod(stat.S_IRUSR | stat.S_IRGRP)
    immutable = False
    try:
        if os.access(path, os.W_OK):  # root
            immutable = (
                subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode == 0
            )
            if not immutable:
                url = f"sqlite:///file:{path}?mode=ro&uri=true"
        yield url
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        path.chmod(mode)


def test_read_only_database_serves_reads_and_refuses_writes_clearly(tmp_path: Path) -> None:
    db_file = tmp_path / "hub.db"
    settings = Settings(home=tmp_path / "home", db_url=f"sqlite:///{db_file}")
    hub = start_hub(settings)
    token = hub.admin_token
    with hub.lab() as lab:
        lab.orgs.add("kept")
    hub.stop()
    hub.db.dispose()

    with read_only(db_file) as url:
        ro = start_hub(Settings(home=tmp_path / "home", db_url=url), admin_token=token)
        try:
            with ro.lab() as lab:
                assert [o.slug for o in lab.orgs.list()] == ["kept"]
                with pytest.raises(zslab.StorageUnavailable) as caught:
                    lab.orgs.add("lost")
            assert "read-only" in caught.value.detail
            assert "Nothing was written" in caught.value.detail
            assert caught.value.fix and "writable" in caught.value.fix
        finally:
            ro.stop()
            ro.db.dispose()

    check = sqlite3.connect(db_file)
    assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert check.execute("SELECT slug FROM organizations").fetchall() == [("kept",)]


def test_a_new_database_in_a_read_only_place_fails_with_a_clear_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()  # an empty file nobody may write
    with read_only(empty) as url, pytest.raises(zslab.StorageUnavailable) as caught:
        open_database(Settings(home=tmp_path / "home", db_url=url))
    assert "read-only" in str(caught.value)


@contextlib.contextmanager
def write_lock_held(db_file: Path) -> Iterator[sqlite3.Connection]:
    """Another process-like connection holding the database's write lock."""
    other = sqlite3.connect(db_file, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN EXCLUSIVE")
    try:
        yield other
    finally:
        if other.in_transaction:
            other.execute("ROLLBACK")
        other.close()


def test_locked_database_gives_503_with_retry_after_and_reads_still_work(
    sqlite_hub: HubHandle,
) -> None:
    db_file = sqlite_hub.db.sqlite_path
    assert db_file is not None
    with write_lock_held(db_file), sqlite_hub.http() as http:
        refused = http.post("/api/v1/orgs", json={"slug": "blocked"})
        assert refused.status_code == 503
        doc = refused.json()
        assert "locked" in doc["detail"] and "Nothing was written" in doc["detail"]
        assert refused.headers["retry-after"] == "1"
        assert http.get("/api/v1/orgs").status_code == 200
    with sqlite_hub.http() as http:
        assert http.post("/api/v1/orgs", json={"slug": "blocked"}).status_code == 201


def test_sdk_rides_out_a_short_lock_and_creates_once(sqlite_hub: HubHandle) -> None:
    db_file = sqlite_hub.db.sqlite_path
    assert db_file is not None
    lab = Lab(sqlite_hub.url, sqlite_hub.admin_token, backoff=0.3, retries=4)
    with write_lock_held(db_file) as other:
        threading.Timer(0.8, lambda: other.execute("ROLLBACK")).start()
        org = lab.orgs.add("patient")
    assert [o.id for o in lab.orgs.list()] == [org.id]


@pytest.mark.slow
def test_sigkill_mid_write_loses_no_acknowledged_call(tmp_path: Path) -> None:
    db_file = tmp_path / "hub.db"
    token = "zsl_sigkill-test-admin-token"
    env = {
        **os.environ,
        "ZSLAB_HOME": str(tmp_path / "home"),
        "ZSLAB_BOOTSTRAP_TOKEN": token,
    }
    port = free_port()
    url = f"http://127.0.0.1:{port}"

    def start() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [PYTHON, "-m", "zslab", "hub", "--db", f"sqlite:///{db_file}", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def up() -> bool:
            try:
                return httpx.get(url + "/api/v1/health", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        assert wait_for(up, timeout=60), "hub did not start"
        return proc

    hub = start()
    headers = {"Authorization": f"Bearer {token}"}
    httpx.post(url + "/api/v1/orgs", json={"slug": "crash"}, headers=headers).raise_for_status()

    acknowledged: list[tuple[str, str]] = []  # (request id, project id)
    lock = threading.Lock()
    stop = threading.Event()

    def writer(n: int) -> None:
        with httpx.Client(base_url=url, headers=headers, timeout=5) as http:
            i = 0
            while not stop.is_set():
                i += 1
                try:
                    r = http.post("/api/v1/projects", json={"org": "crash", "slug": f"w{n}-{i}"})
                except httpx.HTTPError:
                    return  # the hub is gone
                if r.status_code == 201:
                    with lock:
                        acknowledged.append((r.headers["x-request-id"], r.json()["id"]))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    wait_for(lambda: len(acknowledged) >= 40, timeout=30)
    hub.send_signal(signal.SIGKILL)
    hub.wait(10)
    stop.set()
    for t in threads:
        t.join(10)
    assert len(acknowledged) >= 40

    integrity = sqlite3.connect(db_file).execute("PRAGMA integrity_check").fetchone()
    assert integrity == ("ok",)

    hub = start()
    try:
        with Lab(url, token) as lab:
            projects = {p.id for p in lab.projects.list(org="crash")}
            events = lab.audit.list(action="project.create", outcome="success", limit=None)
        audited_requests = {e.request_id for e in events}
        audited_objects = {e.object_id for e in events}
        for request_id, project_id in acknowledged:
            assert project_id in projects
            assert request_id in audited_requests
        # Each project and its audit event commit together: neither exists without the other.
        assert audited_objects == projects
    finally:
        hub.terminate()
        hub.wait(15)


def test_the_embedded_database_runs_in_wal_mode(sqlite_hub: HubHandle) -> None:
    with sqlite_hub.lab() as lab:
        lab.orgs.add("walled")
    db_file = sqlite_hub.db.sqlite_path
    assert db_file is not None
    assert sqlite3.connect(db_file).execute("PRAGMA journal_mode").fetchone() == ("wal",)
