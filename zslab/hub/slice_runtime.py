"""Lease ↔ Dask worker: start a worker when a lease is granted, retire it when the lease ends.

The hub's :class:`SliceRuntime` listens to the broker's committed events:

- ``granted``: build the lease's :class:`~zslab.compute.launchers.WorkerSpec` and start it with
  the configured launcher; once the worker has joined the scheduler the lease gets a
  ``worker_ready`` event (with its address), or ``failed`` if it does not join in time.
- ``preemption_notice`` / ``preemption_withdrawn``: set or clear the Dask ``Event``
  ``zslab-preempt-<lease>`` that code on the slice polls
  (:func:`zslab.compute.slice_worker.preemption_requested`).
- ``released`` / ``expired`` / ``preempted`` / ``failed``: cancel the lease's unfinished tasks
  (their futures raise ``CancelledError`` naming the reason), then stop the worker (SIGTERM, a
  hard stop after a timeout): a lease's slice is never used after it ends.

A monitor notices a worker that exits on its own (crash, OOM kill, ``kill -9``): within the
lease's time and its project's ``worker_restarts`` it is restarted (``worker_restarted``
event), else the lease fails with the exit code and the last line of the worker's log, and
its slice returns to the pool. Where devices are real, the monitor also reads their
utilisation from the worker for idle reclaim.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import anyio

from zslab.compute.broker import ENDED, Broker, Event
from zslab.compute.launchers import (
    GIB,
    Launcher,
    WorkerHandle,
    WorkerSpec,
    make_launcher,
    worker_spec,
)
from zslab.compute.slice_worker import PREEMPT_EVENT

__all__ = ["SliceRuntime", "WorkerState"]

log = logging.getLogger(__name__)
MONITOR_S = 0.5


@dataclass
class WorkerState:
    """One lease's worker as the hub tracks it."""

    lease_id: str
    spec: WorkerSpec
    handle: WorkerHandle | None = None
    state: Literal["starting", "running", "stopping", "stopped", "failed"] = "starting"
    address: str | None = None
    restarts: int = 0
    started_at: float = field(default_factory=time.time)
    ready_s: float | None = None
    error: str = ""

    def describe(self, launcher: str) -> dict[str, Any]:
        return {
            "name": self.spec.name,
            "state": self.state,
            "address": self.address,
            "scheduler": self.spec.scheduler,
            "resource": self.spec.resource,
            "launcher": launcher,
            "threads": self.spec.nthreads,
            "memory_limit": self.spec.memory_limit,
            "simulated": self.spec.simulated,
            "restarts": self.restarts,
            "ready_s": self.ready_s,
            "log": self.handle.log if self.handle else None,
            "error": self.error,
        }


class SliceRuntime:
    """Runs the workers of granted leases (see the module docstring)."""

    def __init__(self, hub: Any, launcher: Launcher, scheduler: str) -> None:
        self.hub = hub
        self.launcher = launcher
        self.scheduler = scheduler
        self.workers: dict[str, WorkerState] = {}
        self.client: Any = None
        self._queue: asyncio.Queue[tuple[str, str, Any]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[Any]] = []
        self._busy: set[asyncio.Task[Any]] = set()

    @classmethod
    def from_settings(cls, hub: Any) -> SliceRuntime | None:
        settings = hub.settings
        if settings.launcher == "none" or not settings.dask_scheduler:
            return None
        launcher = make_launcher(
            settings.launcher,
            log_dir=Path(settings.home) / "logs" / "workers",
            options=settings.launcher_options,
        )
        return cls(hub, launcher, settings.dask_scheduler)

    @property
    def broker(self) -> Broker:
        broker = self.hub.broker.broker
        assert broker is not None
        return broker

    # --- life of the service -------------------------------------------------------------

    async def start(self) -> None:
        from distributed import Client

        self.client = await Client(self.scheduler, asynchronous=True, name="zslab-hub", timeout=30)
        self.hub.broker.listeners.append(self._on_events)
        self.hub.broker.runtime = self
        for lease in list(self.broker.live.values()):
            self._queue.put_nowait(("start", lease.id, None))
        self._tasks = [
            asyncio.create_task(self._loop(), name="zslab-runtime"),
            asyncio.create_task(self._monitor(), name="zslab-runtime-monitor"),
        ]
        log.info("slice runtime: %s launcher, scheduler %s", self.launcher.kind, self.scheduler)

    async def stop(self) -> None:
        with contextlib.suppress(ValueError):
            self.hub.broker.listeners.remove(self._on_events)
        for task in [*self._tasks, *self._busy]:
            task.cancel()
        for task in [*self._tasks, *self._busy]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for worker in list(self.workers.values()):
            handle = worker.handle
            if handle is not None and worker.state in {"starting", "running", "stopping"}:
                with contextlib.suppress(Exception):
                    await anyio.to_thread.run_sync(self.launcher.stop, handle)
        if self.client is not None:
            with contextlib.suppress(Exception):
                await self.client.close()

    def describe(self, lease_id: str) -> dict[str, Any] | None:
        worker = self.workers.get(lease_id)
        return worker.describe(self.launcher.kind) if worker else None

    # --- reacting to the broker ----------------------------------------------------------

    def _on_events(self, events: list[Event]) -> None:
        for event in events:
            if event.type == "granted":
                self._queue.put_nowait(("start", event.lease_id, None))
            elif event.type in ENDED and event.lease_id in self.workers:
                self._queue.put_nowait(("stop", event.lease_id, event.reason))
            elif event.type == "preemption_notice":
                self._queue.put_nowait(("notice", event.lease_id, True))
            elif event.type == "preemption_withdrawn":
                self._queue.put_nowait(("notice", event.lease_id, False))

    async def _loop(self) -> None:
        while True:
            action, lease_id, arg = await self._queue.get()
            coro = {
                "start": self._start,
                "stop": self._stop,
                "notice": self._notice,
            }[action](lease_id, arg)
            task = asyncio.create_task(self._guard(action, lease_id, coro))
            self._busy.add(task)
            task.add_done_callback(self._busy.discard)

    async def _guard(self, action: str, lease_id: str, coro: Any) -> None:
        """Run one reaction; a failure to start a worker fails its lease with the reason."""
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("slice runtime: %s of lease %s failed", action, lease_id)
            if action == "start":
                worker = self.workers.get(lease_id)
                if worker is not None:
                    worker.state, worker.error = "failed", str(exc)
                with contextlib.suppress(Exception):
                    await self._fail(lease_id, f"its worker could not be started: {exc}")

    async def _note(self, lease_id: str, kind: str, reason: str, data: dict[str, Any]) -> None:
        from zslab.hub.broker_service import Command

        def apply(broker: Broker, now: float) -> tuple[None, list[Event]]:
            if lease_id not in broker.leases:
                return None, []
            return None, broker.note(lease_id, kind, now, reason, data)

        await self.hub.broker.run(Command(apply=apply))

    async def _fail(self, lease_id: str, reason: str) -> None:
        from zslab.hub.broker_service import Command

        def apply(broker: Broker, now: float) -> tuple[None, list[Event]]:
            if lease_id not in broker.leases:
                return None, []
            return None, broker.fail(lease_id, now, reason)

        await self.hub.broker.run(Command(apply=apply))

    def _spec(self, lease_id: str) -> WorkerSpec | None:
        lease = self.broker.leases.get(lease_id)
        if lease is None or not lease.live or lease.placement is None:
            return None
        from zslab.compute.broker import placement_data

        settings = self.hub.settings
        return worker_spec(
            lease_id,
            placement_data(self.broker.cluster, lease.placement),
            self.scheduler,
            walltime_s=(lease.expires_at or time.time()) - time.time(),
            simulated=not settings.real_devices,
            manager_assigns_devices=self.launcher.assigns_devices,
            default_threads=settings.slice_threads,
            default_memory=int(settings.slice_memory_gib * GIB),
        )

    async def _start(self, lease_id: str, _: Any) -> None:
        existing = self.workers.get(lease_id)
        if existing is not None and existing.state in {"starting", "running"}:
            return
        spec = self._spec(lease_id)
        if spec is None:
            return
        worker = WorkerState(lease_id, spec)
        if existing is not None:
            worker.restarts = existing.restarts
        self.workers[lease_id] = worker
        adopted = await self._find_worker(spec.name)
        if adopted is not None:  # a worker from before this hub (re)started is still serving
            worker.address, worker.state = adopted, "running"
            worker.handle = None
            return
        try:
            worker.handle = await anyio.to_thread.run_sync(lambda: self.launcher.start(spec))
        except Exception as exc:
            worker.state, worker.error = "failed", str(exc)
            await self._fail(lease_id, f"its worker could not be started: {exc}")
            return
        await self._note(
            lease_id,
            "worker_started",
            f"{self.launcher.kind} launcher started {spec.name}",
            {"name": spec.name, "launcher": self.launcher.kind, "ref": worker.handle.ref},
        )
        await self._await_ready(worker)

    async def _await_ready(self, worker: WorkerState) -> None:
        deadline = time.monotonic() + self.hub.settings.worker_start_timeout_s
        while time.monotonic() < deadline:
            if worker.state != "starting":
                return  # stopped or died meanwhile; the monitor or a stop handles it
            address = await self._find_worker(worker.spec.name)
            if address is not None:
                worker.address, worker.state = address, "running"
                worker.ready_s = round(time.time() - worker.started_at, 3)
                await self._note(
                    worker.lease_id,
                    "worker_ready",
                    f"{worker.spec.name} joined the scheduler at {address}",
                    {"address": address, "seconds": worker.ready_s},
                )
                return
            await asyncio.sleep(0.05)
        worker.error = (
            f"did not join the scheduler within {self.hub.settings.worker_start_timeout_s:g} s"
        )
        await self._retire(worker, f"worker start timed out: {worker.error}")
        worker.state = "failed"
        await self._fail(worker.lease_id, f"its worker {worker.error}{self._log_tail(worker)}")

    async def _find_worker(self, name: str) -> str | None:
        info = await self.client.scheduler.identity(n_workers=-1)
        for address, data in info.get("workers", {}).items():
            if data.get("name") == name:
                return str(address)
        return None

    async def _stop(self, lease_id: str, reason: Any) -> None:
        worker = self.workers.get(lease_id)
        if worker is None or worker.state in {"stopping", "stopped"}:
            return
        previous, worker.state = worker.state, "stopping"
        await self._retire(worker, str(reason or "the lease ended"))
        worker.state = "stopped" if previous != "failed" else "failed"
        await self._notice(lease_id, False)

    async def _retire(self, worker: WorkerState, reason: str) -> None:
        """Cancel the lease's unfinished tasks, then stop its worker."""
        with contextlib.suppress(Exception):
            await self.client.run_on_scheduler(
                _cancel_lease_tasks, resource=worker.spec.resource, reason=reason
            )
        handle = worker.handle
        if handle is not None:
            await anyio.to_thread.run_sync(lambda: self.launcher.stop(handle, timeout_s=10))
        elif worker.address is not None:  # adopted: ask the scheduler to close it
            with contextlib.suppress(Exception):
                await self.client.retire_workers(workers=[worker.address], close_workers=True)

    async def _notice(self, lease_id: str, on: Any) -> None:
        from distributed import Event as DaskEvent

        event = DaskEvent(PREEMPT_EVENT.format(lease=lease_id), client=self.client)
        with contextlib.suppress(Exception):
            await (event.set() if on else event.clear())

    # --- watching the workers ------------------------------------------------------------

    async def _monitor(self) -> None:
        last_utilization = 0.0
        while True:
            await asyncio.sleep(MONITOR_S)
            for worker in list(self.workers.values()):
                if worker.handle is None or worker.state not in {"starting", "running"}:
                    continue
                try:
                    code = await self._poll(worker.handle)
                except Exception as exc:  # the cluster manager did not answer: try later
                    log.warning("polling %s failed: %s", worker.spec.name, exc)
                    continue
                if code is not None and worker.state in {"starting", "running"}:
                    await self._lost(worker, code)
            if time.monotonic() - last_utilization > self.hub.settings.heartbeat_s:
                last_utilization = time.monotonic()
                await self._observe()

    async def _poll(self, handle: WorkerHandle) -> int | None:
        if self.launcher.kind == "local":
            return self.launcher.poll(handle)  # a waitpid: no thread needed
        return await anyio.to_thread.run_sync(lambda: self.launcher.poll(handle))

    async def _lost(self, worker: WorkerState, code: int) -> None:
        lease = self.broker.leases.get(worker.lease_id)
        why = f"its worker {worker.spec.name} exited with code {code}{self._log_tail(worker)}"
        if lease is None or not lease.live:
            worker.state = "stopped"
            return
        policy = self.broker.project(lease.project_id)
        left = (lease.expires_at or 0) - time.time()
        if worker.restarts < policy.worker_restarts and left > 60:
            worker.restarts += 1
            worker.state = "stopped"
            await self._note(
                worker.lease_id,
                "worker_restarted",
                f"{why}; restarted ({worker.restarts} of {policy.worker_restarts})",
                {"exit_code": code, "restarts": worker.restarts},
            )
            await self._start(worker.lease_id, None)
            return
        worker.state = "failed"
        worker.error = why
        with contextlib.suppress(Exception):
            await self.client.run_on_scheduler(
                _cancel_lease_tasks, resource=worker.spec.resource, reason=f"lease failed: {why}"
            )
        await self._fail(worker.lease_id, why)

    async def _observe(self) -> None:
        """Read real devices' utilisation from running workers, for idle reclaim."""
        if not self.hub.settings.real_devices:
            return
        running = [w for w in self.workers.values() if w.state == "running" and w.address]
        if not running:
            return
        from zslab.compute.slice_worker import utilization
        from zslab.hub.broker_service import Command

        try:
            measured = await self.client.run(utilization, workers=[w.address for w in running])
        except Exception as exc:
            log.warning("reading utilisation failed: %s", exc)
            return

        def apply(broker: Broker, now: float) -> tuple[None, list[Event]]:
            for worker in running:
                value = measured.get(worker.address)
                if value is not None and worker.lease_id in broker.leases:
                    broker.observe(worker.lease_id, now, float(value))
            return None, []

        await self.hub.broker.run(Command(apply=apply))

    def _log_tail(self, worker: WorkerState) -> str:
        if worker.handle is None or not worker.handle.log:
            return ""
        try:
            lines = Path(worker.handle.log).read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        meaningful = [line for line in lines if line.strip()]
        return f" ({meaningful[-1].strip()[:300]})" if meaningful else ""


def _cancel_lease_tasks(dask_scheduler: Any, resource: str, reason: str) -> int:
    """On the scheduler: cancel every unfinished task bound to ``resource``, for all clients."""
    keys = [
        ts.key
        for ts in dask_scheduler.tasks.values()
        if ts.resource_restrictions
        and resource in ts.resource_restrictions
        and ts.state not in {"memory", "erred", "forgotten"}
    ]
    if not keys:
        return 0
    wanted = {cs.client_key for key in keys for cs in dask_scheduler.tasks[key].who_wants}
    for client in wanted:
        dask_scheduler.stimulus_cancel(keys, client, force=True, reason=reason, msg=reason)
        break  # force=True cancels them for every client that wants them
    return len(keys)
