"""The embedded default: ``zslab up`` / ``down`` / ``status`` on this machine.

``zslab up`` runs a hub (SQLite under ``$ZSLAB_HOME``) and a Dask ``LocalCluster`` in one
process. While it runs it holds an exclusive lock on ``$ZSLAB_HOME/runtime.lock`` and publishes
``runtime.json`` (mode 0600). The lock, not the file, says whether a hub is alive: the kernel
drops it when the process dies, even by SIGKILL, so a runtime file left behind is recognised as
stale and a second ``zslab up`` never starts a second hub.
"""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Literal

from zslab._version import __version__
from zslab.config import RuntimeInfo, Settings
from zslab.errors import HubUnavailable

__all__ = ["Probe", "probe", "run_foreground", "start_detached", "stop"]

log = logging.getLogger(__name__)

Status = Literal["running", "starting", "stale", "absent"]


@dataclass(frozen=True)
class Probe:
    """What is known about the embedded hub of one ``$ZSLAB_HOME``."""

    status: Status
    info: RuntimeInfo | None

    def describe(self, settings: Settings) -> str:
        if self.status == "absent":
            return "zslab is not running."
        if self.status == "starting":
            return "zslab is starting."
        assert self.info is not None
        if self.status == "stale":
            return (
                f"zslab is not running: {settings.runtime_file} is stale (pid {self.info.pid} "
                "has stopped). `zslab up` starts a new hub; `zslab down` removes the file."
            )
        return banner(self.info, settings, headline=f"zslab {self.info.version} is running")


def _open_lock(path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    return os.open(path, os.O_RDWR | os.O_CREAT, 0o600)


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _lock_is_held(path: Path) -> bool:
    """Whether a live ``zslab up`` holds the lock."""
    if not path.exists():
        return False
    fd = _open_lock(path)
    try:
        if _try_lock(fd):
            fcntl.flock(fd, fcntl.LOCK_UN)
            return False
        return True
    finally:
        os.close(fd)


def probe(settings: Settings) -> Probe:
    info = RuntimeInfo.read(settings.runtime_file)
    held = _lock_is_held(settings.runtime_lock)
    if info is None:
        return Probe("starting" if held else "absent", None)
    return Probe("running" if held else "stale", info)


def banner(info: RuntimeInfo, settings: Settings, *, headline: str) -> str:
    lines = [
        headline,
        f"  hub:       {info.url}   (API docs {info.url}/api/v1/docs)",
        f"  token:     {info.token}   (admin)",
        f"  runtime:   {settings.runtime_file}   (mode 0600)",
        f"  database:  {info.database}",
        f"  pid:       {info.pid}, started {info.started_at}",
    ]
    if info.dask_scheduler:
        lines.append(f"  dask:      {info.dask_scheduler}   dashboard {info.dask_dashboard}")
    return "\n".join(lines)


def _wait_until(predicate: Callable[[], bool], timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


# --- zslab up (foreground) ---------------------------------------------------------------


def _start_dask(settings: Settings) -> Any:
    from distributed import LocalCluster

    return LocalCluster(
        n_workers=settings.dask_workers,
        threads_per_worker=settings.dask_threads,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
        silence_logs=logging.WARNING,
    )


def run_foreground(
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    dask: bool = True,
    echo: Callable[[str], None] = print,
) -> int:
    """Run the embedded hub until SIGINT/SIGTERM. Returns the process exit code."""
    lock_fd = _open_lock(settings.runtime_lock)
    if not _try_lock(lock_fd):
        os.close(lock_fd)
        _wait_until(lambda: RuntimeInfo.read(settings.runtime_file) is not None, 30)
        state = probe(settings)
        echo(state.describe(settings).replace("is running", "is already running", 1))
        return 0
    try:
        return _serve_locked(settings, host=host, port=port, dask=dask, echo=echo)
    finally:
        fcntl.flock(lock_fd, fcntl.LOCK_UN)
        os.close(lock_fd)


def _serve_locked(
    settings: Settings, *, host: str, port: int, dask: bool, echo: Callable[[str], None]
) -> int:
    from zslab.hub.app import create_app, open_database
    from zslab.hub.bootstrap import ensure_admin, issue_runtime_token, revoke_runtime_tokens
    from zslab.hub.db.engine import redact_url
    from zslab.hub.server import bind_socket, make_server

    settings.runtime_file.unlink(missing_ok=True)  # stale: we hold the lock, nobody else runs
    db = open_database(settings)
    cluster = None
    try:
        ensure_admin(db, secret=settings.bootstrap_token)
        token = issue_runtime_token(db)
        if dask and not settings.dask_scheduler:
            cluster = _start_dask(settings)
            # Lease workers attach to the embedded cluster's scheduler.
            settings = settings.model_copy(update={"dask_scheduler": cluster.scheduler_address})
        app = create_app(settings, db=db)
        sock = bind_socket(host, port)
        url = f"http://{host}:{sock.getsockname()[1]}"
        info = RuntimeInfo(
            url=url,
            token=token,
            pid=os.getpid(),
            started_at=datetime.now(UTC).isoformat(timespec="seconds"),
            version=__version__,
            database=redact_url(db.url),
            dask_scheduler=settings.dask_scheduler,
            dask_dashboard=cluster.dashboard_link if cluster else None,
        )

        def on_ready() -> None:
            info.write(settings.runtime_file)
            echo(banner(info, settings, headline=f"zslab {__version__} is up"))
            echo("Press Ctrl-C (or `zslab down`) to stop.")

        server = make_server(app, log_level="warning", on_ready=on_ready)
        server.run(sockets=[sock])
        sock.close()
        stopped_by = signal.Signals(server.received_signal).name if server.received_signal else ""
        echo(f"zslab is shutting down{' on ' + stopped_by if stopped_by else ''}...")
        return 0
    finally:
        settings.runtime_file.unlink(missing_ok=True)
        with suppress(Exception):
            revoke_runtime_tokens(db)
        if cluster is not None:
            with suppress(Exception):
                cluster.close(timeout=10)
        db.dispose()


# --- zslab up --detach -------------------------------------------------------------------


def _child_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env["ZSLAB_HOME"] = str(settings.home)
    if settings.db_url:
        env["ZSLAB_DB_URL"] = settings.db_url
    env["ZSLAB_DASK_WORKERS"] = str(settings.dask_workers)
    env["ZSLAB_DASK_THREADS"] = str(settings.dask_threads)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def _log_tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def start_detached(
    settings: Settings, *, port: int = 0, dask: bool = True, log_file: Path | None = None
) -> RuntimeInfo:
    """Start ``zslab up`` in the background and wait until its hub answers."""
    state = probe(settings)
    if state.status == "running" and state.info is not None:
        return state.info
    log_file = log_file or settings.log_dir / "up.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "zslab", "up", "--port", str(port)]
    if not dask:
        command.append("--no-dask")
    out: IO[bytes]
    with open(log_file, "ab") as out:
        out.write(f"\n--- zslab up --detach at {datetime.now(UTC).isoformat()} ---\n".encode())
        out.flush()
        child = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=_child_env(settings),
            start_new_session=True,
        )

    def ready() -> bool:
        info = RuntimeInfo.read(settings.runtime_file)
        return info is not None and (info.pid == child.pid or child.poll() is not None)

    deadline = time.monotonic() + settings.start_timeout_s
    while time.monotonic() < deadline:
        if ready():
            break
        if child.poll() is not None and RuntimeInfo.read(settings.runtime_file) is None:
            raise HubUnavailable(
                f"The embedded hub exited while starting (code {child.returncode}):\n"
                f"{_log_tail(log_file)}",
                fix=f"Read the whole log at {log_file}, fix the cause, and run `zslab up`.",
            )
        time.sleep(0.1)
    else:
        child.terminate()
        raise HubUnavailable(
            f"The embedded hub did not come up within {settings.start_timeout_s:g} s.",
            fix=f"Read {log_file}; raise ZSLAB_START_TIMEOUT_S on a slow machine.",
        )
    info = RuntimeInfo.read(settings.runtime_file)
    assert info is not None
    return info


# --- zslab down ---------------------------------------------------------------------------


def stop(settings: Settings, *, timeout: float = 30.0) -> str:
    """Stop the embedded hub (SIGTERM, then SIGKILL after ``timeout``); say what happened."""
    state = probe(settings)
    if state.status == "absent":
        return "zslab is not running."
    if state.status == "stale":
        settings.runtime_file.unlink(missing_ok=True)
        assert state.info is not None
        return f"zslab was not running; removed the stale runtime file of pid {state.info.pid}."
    if state.info is None:  # starting: wait for it to publish its pid
        _wait_until(lambda: RuntimeInfo.read(settings.runtime_file) is not None, 30)
        state = probe(settings)
        if state.info is None:
            return "zslab is starting and has not published its pid; try again."
    pid = state.info.pid
    with suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if _wait_until(lambda: not _lock_is_held(settings.runtime_lock), timeout, step=0.1):
        return f"zslab (pid {pid}) stopped."
    with suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    _wait_until(lambda: not _lock_is_held(settings.runtime_lock), 10, step=0.1)
    settings.runtime_file.unlink(missing_ok=True)
    return f"zslab (pid {pid}) did not stop within {timeout:g} s and was killed."
