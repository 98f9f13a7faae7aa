"""``zslab up | down | status | hub``: the embedded hub's lifecycle, and the shared hub."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

import zslab
from tests.cli.conftest import RunCli, assert_one_error, hub_options, zslab_cli
from tests.conftest import HubHandle, free_port, wait_for
from zslab.config import RuntimeInfo, Settings


def _runtime() -> RuntimeInfo | None:
    return RuntimeInfo.read(Settings().runtime_file)


@pytest.fixture
def foreground_up() -> Iterator[subprocess.Popen[str]]:
    """``zslab up --no-dask`` running in the foreground, as a user would start it."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "zslab", "up", "--no-dask"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert wait_for(lambda: _runtime() is not None or proc.poll() is not None, 60)
    assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
    yield proc
    if proc.poll() is None:
        proc.kill()
        proc.wait(10)


# --- embedded lifecycle --------------------------------------------------------------------


@pytest.mark.slow
def test_up_publishes_a_private_runtime_file_and_sigterm_cleans_up(
    foreground_up: subprocess.Popen[str],
) -> None:
    info = _runtime()
    assert info is not None and info.pid == foreground_up.pid
    assert stat.S_IMODE(Settings().runtime_file.stat().st_mode) == 0o600
    assert zslab.connect(start=False).me().user.role == "admin"

    foreground_up.send_signal(signal.SIGTERM)
    assert foreground_up.wait(30) == 0
    output = foreground_up.stdout.read() if foreground_up.stdout else ""
    assert info.url in output and info.token in output
    assert "shutting down on SIGTERM" in output
    assert _runtime() is None
    with pytest.raises(zslab.HubUnavailable):
        zslab.connect(start=False)


@pytest.mark.slow
def test_ctrl_c_stops_cleanly(foreground_up: subprocess.Popen[str]) -> None:
    foreground_up.send_signal(signal.SIGINT)
    assert foreground_up.wait(30) == 0
    assert _runtime() is None


@pytest.mark.slow
def test_second_up_finds_the_running_hub(foreground_up: subprocess.Popen[str]) -> None:
    info = _runtime()
    assert info is not None
    second = zslab_cli("up", "--no-dask", timeout=60)
    assert second.returncode == 0
    assert "already running" in second.stdout
    assert info.url in second.stdout
    assert _runtime() == info


@pytest.mark.slow
def test_detach_status_and_down() -> None:
    started = zslab_cli("up", "--detach", "--no-dask")
    assert started.returncode == 0, started.stderr
    status = zslab_cli("status", "--json")
    assert status.returncode == 0
    state = json.loads(status.stdout)
    assert state["status"] == "running"
    assert httpx.get(state["url"] + "/api/v1/health").status_code == 200

    down = zslab_cli("down")
    assert "stopped" in down.stdout
    after = zslab_cli("status")
    assert after.returncode == 1
    assert "not running" in after.stdout


@pytest.mark.slow
def test_a_killed_hub_leaves_a_stale_file_that_up_replaces() -> None:
    assert zslab_cli("up", "--detach", "--no-dask").returncode == 0
    old = _runtime()
    assert old is not None
    os.kill(old.pid, signal.SIGKILL)
    assert wait_for(lambda: "stale" in zslab_cli("status").stdout, 30)
    with pytest.raises(zslab.HubUnavailable) as caught:
        zslab.connect(start=False)
    assert "stale" in str(caught.value)

    assert zslab_cli("up", "--detach", "--no-dask").returncode == 0
    new = _runtime()
    assert new is not None and new.pid != old.pid
    assert zslab.connect(start=False).health().status == "ok"
    assert "stopped" in zslab_cli("down").stdout


@pytest.mark.slow
def test_connect_starts_the_embedded_hub_when_none_is_configured() -> None:
    lab = zslab.connect()
    try:
        assert lab.source == "runtime file"
        assert lab.me().user.role == "admin"
    finally:
        assert "stopped" in zslab_cli("down").stdout


@pytest.mark.slow
def test_up_starts_a_dask_cluster_that_runs_work() -> None:
    from distributed import Client

    assert zslab_cli("up", "--detach").returncode == 0
    info = _runtime()
    try:
        assert info is not None and info.dask_scheduler and info.dask_dashboard
        with Client(info.dask_scheduler, timeout=30) as client:
            assert client.submit(sum, [1, 2, 3]).result(timeout=60) == 6
            assert len(client.scheduler_info()["workers"]) == 1
    finally:
        assert "stopped" in zslab_cli("down").stdout


# --- the shared hub ---------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.postgres
def test_hub_on_postgresql_bootstraps_an_admin_and_prints_its_token(pg_url: str) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "zslab", "hub", "--db", pg_url, "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(3)]
        assert "first admin" in lines[0]
        token = lines[1].strip()
        assert token.startswith("zsl_")
        assert "postgresql" in lines[2]
        lab = zslab.connect(f"http://127.0.0.1:{port}", token)
        assert lab.health().database["dialect"] == "postgresql"
        assert lab.me().user.name == "admin"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0


def test_hub_refuses_a_malformed_database_url() -> None:
    result = zslab_cli("hub", "--db", "not a url", "--port", "0")
    assert result.returncode == 1
    assert "not a SQLAlchemy URL" in result.stderr
    assert "Traceback" not in result.stderr
    assert_one_error(result, "database URL 'not a url'", "fix: Use e.g. sqlite:")


def test_hub_on_a_busy_port_says_so() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = zslab_cli("hub", "--port", str(port))
    assert result.returncode == 1
    assert f"127.0.0.1:{port}" in result.stderr and "--port" in result.stderr
    assert "Traceback" not in result.stderr


def test_version_prints_the_package_version(run_cli: RunCli) -> None:
    assert run_cli("version").out == f"zslab {zslab.__version__}\n"


def test_health_and_me_answer_from_the_hub(sqlite_hub: HubHandle, run_cli: RunCli) -> None:
    health = run_cli("health", *hub_options(sqlite_hub))
    me = run_cli("me", "--json", *hub_options(sqlite_hub))

    assert health.code == 0 and health.out.startswith(f"ok: zslab {zslab.__version__}, up ")
    assert json.loads(me.out)["user"]["name"] == "admin"


def test_a_client_command_without_a_hub_is_one_error_and_starts_none(run_cli: RunCli) -> None:
    outcome = run_cli("health")

    assert_one_error(outcome, "none is running", "fix: Run `zslab up`")
    assert _runtime() is None
