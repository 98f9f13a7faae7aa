"""A closed- and open-loop HTTP/1.1 load generator on raw asyncio streams.

httpx spends more CPU per request than the servers under test, so a benchmark driven by it
would measure httpx. This client keeps one keep-alive connection per simulated client, writes
prebuilt request bytes and parses only the status line, the headers and a ``Content-Length``
body. Call :func:`run_load` in a process of its own, so that it has its own core.

Each run has a warm-up window (discarded) followed by ``repeats`` measured windows of
``duration_s``; a request belongs to the window in which it was sent (closed loop) or
scheduled (open loop). Any response outside 2xx, any broken connection and any request still
unanswered :data:`DRAIN_S` after the last window is an error; errors in the warm-up are kept too.

- Closed loop: every client sends its next request as soon as it has read the previous
  response, so the server runs at saturation; latency is measured from the send.
- Open loop: the clients together send ``rate`` requests per second on a fixed schedule, and
  latency is measured from the *scheduled* time, so a stalled server is charged for the
  requests it delayed (no coordinated omission).
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import uvloop

__all__ = ["DRAIN_S", "LoadResult", "LoadSpec", "RequestSpec", "WindowResult", "run_load"]

DRAIN_S = 10.0  # how long requests in flight at the end may still take (the hub waits 5 s on locks)
UNANSWERED = "unanswered"

# A response: its status code, or the name of the exception that broke the exchange.
Outcome = int | str
_BROKEN = (ConnectionResetError, BrokenPipeError, asyncio.IncompleteReadError)


class ProtocolError(Exception):
    """The server answered something this minimal client does not parse."""


@dataclass(frozen=True)
class RequestSpec:
    """One kind of request.

    When ``unique_field`` is set, that field of ``json_body`` gets a fresh value for every
    request, ``<unique_tag>-<client>-<n>``, so that creating POSTs never collide.
    """

    method: str
    path: str
    token: str | None = None
    json_body: dict[str, Any] | None = None
    unique_field: str | None = None
    unique_tag: str = "r"


@dataclass(frozen=True)
class LoadSpec:
    """Where to send what, how hard and for how long; ``rate=None`` means closed loop."""

    host: str
    port: int
    request: RequestSpec
    clients: int
    warmup_s: float
    duration_s: float
    repeats: int
    rate: float | None = None


@dataclass(frozen=True)
class WindowResult:
    """One measured window: successful requests, their rate and latency, and the errors."""

    requests: int
    throughput_rps: float
    p50_ms: float | None
    p99_ms: float | None
    errors: dict[str, int]


@dataclass(frozen=True)
class LoadResult:
    """The measured windows, and the errors of the warm-up (whose latencies are discarded)."""

    windows: list[WindowResult]
    warmup_errors: dict[str, int]


def percentile(sorted_values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0..1) of ascending values; None when there are none."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[rank - 1]


def _request_builder(spec: LoadSpec, client: int) -> Callable[[int], bytes]:
    """A function from the request number to the request bytes of one client."""
    request = spec.request
    head = f"{request.method} {request.path} HTTP/1.1\r\nHost: {spec.host}:{spec.port}\r\n"
    if request.token:
        head += f"Authorization: Bearer {request.token}\r\n"
    if request.json_body is None:
        fixed = (head + "\r\n").encode()
        return lambda _n: fixed

    def render(body: dict[str, Any]) -> bytes:
        data = json.dumps(body, separators=(",", ":")).encode()
        return (
            f"{head}Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
        ).encode() + data

    if request.unique_field is None:
        fixed = render(request.json_body)
        return lambda _n: fixed
    body, field, tag = request.json_body, request.unique_field, request.unique_tag
    return lambda n: render({**body, field: f"{tag}-{client}-{n}"})


class Connection:
    """One keep-alive HTTP/1.1 connection, (re)opened on demand."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self.body = b""  # the last response's body

    async def open(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None

    async def exchange(self, payload: bytes) -> Outcome:
        """Send one request and read its whole response: the status, or the breaking error."""
        if self._writer is None:
            await self.open()
        assert self._reader is not None and self._writer is not None
        try:
            self._writer.write(payload)
            head = await self._reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length: int | None = None
            keep_alive = True
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection":
                    keep_alive = value.strip().lower() != b"close"
            if length is None:
                raise ProtocolError("response without Content-Length")
            self.body = await self._reader.readexactly(length)
        except (*_BROKEN, ProtocolError) as exc:
            self.close()
            return type(exc).__name__
        if not keep_alive:
            self.close()
        return status


class Recorder:
    """Sorts finished requests into the warm-up window and the measured windows."""

    def __init__(self, start: float, warmup_s: float, duration_s: float, repeats: int) -> None:
        self.start = start
        self.duration_s = duration_s
        self._bounds = [start + warmup_s + i * duration_s for i in range(repeats + 1)]
        self._latencies: list[list[float]] = [[] for _ in range(repeats)]
        self._errors: list[Counter[str]] = [Counter() for _ in range(repeats)]
        self._warmup_errors: Counter[str] = Counter()

    @property
    def end(self) -> float:
        return self._bounds[-1]

    def add(self, sent: float, latency_s: float, outcome: Outcome) -> None:
        window = bisect_right(self._bounds, sent) - 1
        ok = isinstance(outcome, int) and 200 <= outcome < 300
        if window < 0:
            if not ok:
                self._warmup_errors[str(outcome)] += 1
        elif ok:
            self._latencies[window].append(latency_s)
        else:
            self._errors[window][str(outcome)] += 1

    def result(self) -> LoadResult:
        windows = []
        for latencies, errors in zip(self._latencies, self._errors, strict=True):
            latencies.sort()
            p50, p99 = percentile(latencies, 0.50), percentile(latencies, 0.99)
            windows.append(
                WindowResult(
                    requests=len(latencies),
                    throughput_rps=len(latencies) / self.duration_s,
                    p50_ms=None if p50 is None else p50 * 1000,
                    p99_ms=None if p99 is None else p99 * 1000,
                    errors=dict(errors),
                )
            )
        return LoadResult(windows, dict(self._warmup_errors))


async def _timed(conn: Connection, payload: bytes, sent: float, recorder: Recorder) -> None:
    """One exchange, recorded as sent at ``sent``; if cancelled, recorded as unanswered."""
    try:
        outcome = await conn.exchange(payload)
    except asyncio.CancelledError:
        recorder.add(sent, time.perf_counter() - sent, UNANSWERED)
        raise
    recorder.add(sent, time.perf_counter() - sent, outcome)


async def _closed_loop(conn: Connection, build: Callable[[int], bytes], recorder: Recorder) -> None:
    n = 0
    while True:
        payload = build(n)
        n += 1
        sent = time.perf_counter()
        if sent >= recorder.end:
            return
        await _timed(conn, payload, sent, recorder)


async def _open_loop(
    conn: Connection,
    build: Callable[[int], bytes],
    recorder: Recorder,
    *,
    first: float,
    interval: float,
) -> None:
    scheduled, n = first, 0
    while scheduled < recorder.end:
        payload = build(n)
        n += 1
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        await _timed(conn, payload, scheduled, recorder)
        scheduled += interval


async def _run(spec: LoadSpec) -> LoadResult:
    conns = [Connection(spec.host, spec.port) for _ in range(spec.clients)]
    await asyncio.gather(*(conn.open() for conn in conns))
    recorder = Recorder(time.perf_counter(), spec.warmup_s, spec.duration_s, spec.repeats)
    builders = [_request_builder(spec, client) for client in range(spec.clients)]
    try:
        if spec.rate is None:
            loops = [_closed_loop(c, b, recorder) for c, b in zip(conns, builders, strict=True)]
        else:
            interval = spec.clients / spec.rate
            loops = [
                _open_loop(c, b, recorder, first=recorder.start + i / spec.rate, interval=interval)
                for i, (c, b) in enumerate(zip(conns, builders, strict=True))
            ]
        tasks = [asyncio.create_task(loop) for loop in loops]
        done, pending = await asyncio.wait(
            tasks, timeout=recorder.end + DRAIN_S - time.perf_counter()
        )
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for task in done:
            task.result()  # re-raises, e.g. when the server refused a new connection
    finally:
        for conn in conns:
            conn.close()
    return recorder.result()


def run_load(spec: LoadSpec) -> LoadResult:
    """Run one load on uvloop and return the measured windows (call it in its own process)."""
    return uvloop.run(_run(spec))
