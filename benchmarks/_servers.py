"""Server subprocesses for the benchmarks: start, wait until ready, stop; setup requests."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["HOST", "REPO", "Server", "free_port", "http_status", "running"]

REPO = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def http_status(url: str, *, token: str | None = None, body: dict[str, Any] | None = None) -> int:
    """The status of one request, for setup and readiness checks (not for measuring)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with _OPENER.open(request, timeout=5) as response:
            status: int = response.status
            return status
    except urllib.error.HTTPError as exc:
        return exc.code


@dataclass(frozen=True)
class Server:
    """A server subprocess, its log, and the URL that answers 200 when it can take load."""

    name: str
    proc: subprocess.Popen[bytes]
    log: Path
    ready_url: str

    def wait_ready(self) -> None:
        """Wait for a 200 from ``ready_url``: after the start, and for a hub that has stalled."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"The {self.name} exited with {self.proc.returncode}:\n"
                    + self.log.read_text(errors="replace")[-3000:]
                )
            try:
                if http_status(self.ready_url) == 200:
                    return
            except OSError:  # refused while starting, or timed out while stalled
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.ready_url} did not answer 200 in {START_TIMEOUT_S:g} s")
            time.sleep(0.1)


@contextmanager
def running(
    name: str, argv: list[str], *, env: dict[str, str], ready_url: str, log_dir: Path
) -> Iterator[Server]:
    """A started server logging to ``log_dir/<name>.log``, stopped when the block ends."""
    log = log_dir / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            server = Server(name, proc, log, ready_url)
            server.wait_ready()
            yield server
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
