"""Serving the hub with uvicorn, with our own signal handling.

uvicorn re-raises SIGTERM/SIGINT after a graceful shutdown, which would kill the process before
``zslab up`` stops its Dask cluster and removes its runtime file. :class:`HubServer` shuts down
on the same signals but leaves the process alive to clean up.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
from collections.abc import Callable, Generator
from typing import Any

import uvicorn

from zslab.errors import ConfigError

__all__ = ["HubServer", "bind_socket"]

HANDLED = (signal.SIGINT, signal.SIGTERM)


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening socket; port 0 picks a free one (read it back with getsockname)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"Cannot listen on {host}:{port}: {exc.strerror}.",
            field="port",
            fix="Choose another --port (0 picks a free one), or stop what listens there.",
        ) from exc
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


class HubServer(uvicorn.Server):
    """uvicorn.Server that calls ``on_ready`` once listening and does not re-raise signals."""

    def __init__(self, config: uvicorn.Config, on_ready: Callable[[], None] | None = None):
        super().__init__(config)
        self.on_ready = on_ready
        self.received_signal: int | None = None

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        originals = {sig: signal.signal(sig, self._on_signal) for sig in HANDLED}
        try:
            yield
        finally:
            for sig, handler in originals.items():
                signal.signal(sig, handler)

    def _on_signal(self, sig: int, frame: Any) -> None:
        self.received_signal = sig
        self.handle_exit(sig, frame)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and self.on_ready is not None:
            self.on_ready()


def make_server(
    app: Any,
    *,
    log_level: str = "info",
    access_log: bool = False,
    on_ready: Callable[[], None] | None = None,
) -> HubServer:
    config = uvicorn.Config(
        app,
        log_level=log_level.lower(),
        access_log=access_log,
        lifespan="on",
        timeout_graceful_shutdown=10,
        server_header=False,
    )
    return HubServer(config, on_ready=on_ready)
