"""Running code on a slice: a real hub, a real Dask scheduler and real worker subprocesses.

Each granted lease gets a ``dask worker`` subprocess (the local launcher) named after it and
carrying its resource; these tests submit work through the SDK and watch the hub react to the
worker's life: ready, killed, restarted, failed, released with work still running.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from distributed import CancelledError, get_worker

from tests.conftest import ONE_H100, HubHandle, code_cell, notebook, run_hub, start_hub, until
from zslab.client import Lab, Lease
from zslab.config import Settings
from zslab.errors import ZslabError


@pytest.fixture
def hub(tmp_path: Path, scheduler: str) -> Iterator[HubHandle]:
    handle = run_hub(tmp_path, scheduler)
    yield handle
    handle.stop()


@pytest.fixture
def lab(hub: HubHandle) -> Iterator[Lab]:
    with hub.lab() as lab:
        yield lab


def whoami() -> dict[str, Any]:
    worker = get_worker()
    return {
        "name": worker.name,
        "pid": os.getpid(),
        "lease": os.environ.get("ZSLAB_LEASE_ID"),
        "cuda": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "simulated": os.environ.get("ZSLAB_SIMULATED_DEVICES"),
        "threads": worker.state.nthreads,
    }


def events(lease: Lease) -> list[str]:
    return [e.type for e in lease.events()]


# --- running work ---------------------------------------------------------------------------


def test_a_function_submitted_through_a_lease_runs_on_its_worker(lab: Lab) -> None:
    with lab.request("h100:3g.40gb cpu=3", hours=1) as lease:
        seen = lease.submit(whoami).result(timeout=30)

        assert seen["name"] == f"lease-{lease.id}"
        assert seen["lease"] == lease.id
        assert seen["threads"] == 3  # from the request's cpu=3
        assert seen["cuda"] == ""  # this machine's GPUs (if any) are not the slice
        assert "h100-80gb#" in seen["simulated"] and "mig-3g.40gb" in seen["simulated"]
        assert lease.submit(lambda x, y: x * y, 6, y=7).result(timeout=30) == 42
        assert lease.run(os.getpid) == seen["pid"]
        worker = lease.refresh().worker
        assert worker is not None and worker["state"] == "running"
        assert worker["launcher"] == "local" and worker["resource"] == f"lease-{lease.id}"
        assert {"worker_started", "worker_ready"} <= set(events(lease))


def test_two_leases_never_run_each_others_tasks(lab: Lab) -> None:
    with lab.request("h100:1g.10gb", hours=1) as a, lab.request("t4:0.5", hours=1) as b:
        names_a = {r["name"] for r in a.client.gather(a.map(lambda _: whoami(), range(20)))}
        names_b = {r["name"] for r in b.client.gather(b.map(lambda _: whoami(), range(20)))}

    assert names_a == {f"lease-{a.id}"}
    assert names_b == {f"lease-{b.id}"}


def test_releasing_a_lease_stops_its_running_tasks(lab: Lab) -> None:
    lease = lab.request("h100:1g.10gb", hours=1, wait=30)
    pid = lease.run(os.getpid)
    future = lease.submit(time.sleep, 120)
    until(lambda: future.status == "pending" and _processing(lease))

    lease.release()

    with pytest.raises(CancelledError):
        future.result(timeout=20)
    until(lambda: not _alive(pid), timeout=20)
    assert lease.refresh().worker["state"] == "stopped"  # type: ignore[index]


def _processing(lease: Lease) -> bool:
    return any(lease.client.processing().values())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie child of the hub counts as gone
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except OSError:
        return False


# --- a worker that dies --------------------------------------------------------------------


def test_a_killed_worker_is_restarted_once_then_its_lease_fails_and_frees_the_slice(
    lab: Lab,
) -> None:
    free_before = _free(lab, "h100")
    lease = lab.request("h100:1", hours=1, wait=30)
    first = lease.run(os.getpid)
    assert _free(lab, "h100") == free_before - 1

    os.kill(first, signal.SIGKILL)
    until(lambda: "worker_restarted" in events(lease), timeout=15)
    second = until(lambda: _pid_when_running(lease), timeout=30)
    assert second != first
    assert lease.submit(lambda: 1 + 1).result(timeout=30) == 2  # the slice works again

    os.kill(second, signal.SIGKILL)
    until(lambda: lease.refresh().state == "failed", timeout=15)
    assert "exited with code" in lease.data.reason
    assert _free(lab, "h100") == free_before


def _pid_when_running(lease: Lease) -> int | None:
    worker = lease.refresh().worker
    if worker is None or worker["state"] != "running":
        return None
    return int(lease.run(os.getpid))


def _free(lab: Lab, model: str) -> int:
    return sum(p.free_devices for p in lab.pools() if p.model and p.model.startswith(model))


def test_a_project_without_restarts_fails_at_the_first_death(lab: Lab) -> None:
    lab.orgs.add("uni")
    lab.projects.add("uni", "ml")
    lab.policies.set("uni/ml", worker_restarts=0)
    lease = lab.request("h100:1g.10gb", hours=1, project="uni/ml", wait=30)

    os.kill(lease.run(os.getpid), signal.SIGKILL)

    until(lambda: lease.refresh().state == "failed", timeout=15)
    assert "worker_restarted" not in events(lease)
    with pytest.raises(ZslabError, match="failed"):
        lease.wait_for_worker(timeout=5)


# --- preemption reaches the slice ------------------------------------------------------------


def wait_for_notice(limit_s: float) -> bool:
    from zslab.compute.slice_worker import preemption_requested

    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if preemption_requested(timeout=0.2):
            return True
    return False


def test_a_preemption_notice_reaches_code_on_the_slice_then_the_worker_stops(
    tmp_path: Path, scheduler: str
) -> None:
    hub = run_hub(tmp_path, scheduler, ONE_H100, preemption_grace_s=3)
    try:
        with hub.lab() as lab:
            batch = lab.request("h100:1", hours=1, priority="batch", wait=30)
            pid = batch.run(os.getpid)
            notice = batch.submit(wait_for_notice, 30)
            until(lambda: _processing(batch))
            urgent = lab.request("h100:1", hours=1)  # interactive: preempts the batch lease

            assert notice.result(timeout=20) is True  # the running task saw the notice
            until(lambda: batch.refresh().state == "preempted", timeout=20)
            until(lambda: not _alive(pid), timeout=20)
            assert urgent.wait_for_worker(timeout=30)["name"] == f"lease-{urgent.id}"
            urgent.release()
    finally:
        hub.stop()


# --- notebooks -----------------------------------------------------------------------------

NOTEBOOK = notebook(
    code_cell("greeting = 'hello'", tags=("parameters",)),
    code_cell("import os\nprint(greeting, os.environ['ZSLAB_LEASE_ID'])"),
)


def test_a_notebook_runs_with_papermill_on_the_slice(lab: Lab, tmp_path: Path) -> None:
    import json

    import nbformat

    source = tmp_path / "hello.ipynb"
    source.write_text(json.dumps(NOTEBOOK), encoding="utf-8")
    with lab.request("t4:0.25", hours=1) as lease:
        executed = lease.run_notebook(source, {"greeting": "你好"})

    assert executed == tmp_path / f"hello.{lease.id}.ipynb"
    notebook = nbformat.read(executed, as_version=4)
    printed = "".join(o.get("text", "") for c in notebook.cells for o in c.get("outputs", []))
    assert printed.strip() == f"你好 {lease.id}"


def test_a_failing_notebook_keeps_the_executed_copy_and_says_why(lab: Lab, tmp_path: Path) -> None:
    import json

    broken = json.loads(json.dumps(NOTEBOOK))
    broken["cells"][1]["source"] = "raise ValueError('bad data')"
    source = tmp_path / "broken.ipynb"
    source.write_text(json.dumps(broken), encoding="utf-8")
    with (
        lab.request("t4:0.25", hours=1) as lease,
        pytest.raises(ZslabError, match="ValueError: bad data"),
    ):
        lease.run_notebook(source, output_path=tmp_path / "out.ipynb")

    assert "bad data" in (tmp_path / "out.ipynb").read_text(encoding="utf-8")


def test_a_hub_without_a_scheduler_says_so_when_code_is_submitted(tmp_path: Path) -> None:
    hub = start_hub(Settings(home=tmp_path / "h", db_url=f"sqlite:///{tmp_path / 'x.db'}"))
    try:
        with hub.lab() as lab, lab.request("h100:1g.10gb", hours=1) as lease:
            assert lease.worker is None
            with pytest.raises(ZslabError, match="starts no worker") as raised:
                lease.submit(whoami)
            assert "ZSLAB_DASK_SCHEDULER" in (raised.value.fix or "")
    finally:
        hub.stop()


def test_a_lease_runs_as_many_tasks_at_once_as_its_worker_has_threads(lab: Lab) -> None:
    with lab.request("h100:1g.10gb cpu=3", hours=1) as lease:
        assert lease.wait_for_worker()["threads"] == 3

        def window(_: int) -> tuple[float, float]:
            started = time.monotonic()
            time.sleep(1.0)
            return started, time.monotonic()

        spans = lease.client.gather(lease.map(window, range(6)))
        whole = lease.submit(window, 0, resources={lease.resource: 1})
        alone = lease.submit(window, 1)
        spans_whole = lease.client.gather([whole, alone])

    overlapping = max(sum(1 for s, e in spans if s <= start < e) for start, _ in spans)
    assert overlapping == 3  # three threads' worth at a time, never more
    (ws, we), (as_, ae) = spans_whole
    assert as_ >= we - 0.05 or ws >= ae - 0.05  # a whole-slice task runs alone


def test_an_expired_lease_loses_its_worker(tmp_path: Path, scheduler: str) -> None:
    hub = run_hub(tmp_path, scheduler, heartbeat_s=1)  # expires after 3 s without heartbeats
    try:
        with hub.lab() as lab:
            lease = lab.request("h100:1g.10gb", hours=1, wait=30)
            # Heartbeat while the worker starts (seconds on a loaded machine, longer than the
            # 3 s limit), then fall silent with a task running: only then may the lease expire.
            lease.start_heartbeats()
            pid = lease.run(os.getpid)
            future = lease.submit(time.sleep, 60)
            lease.stop_heartbeats()

            until(lambda: lease.refresh().state == "expired", timeout=20)

            with pytest.raises(CancelledError):
                future.result(timeout=20)
            until(lambda: not _alive(pid), timeout=20)
    finally:
        hub.stop()


def worker_name(_: int) -> str:
    time.sleep(0.01)
    return str(get_worker().name)


def test_corpus_tasks_stay_off_lease_workers_while_shared_workers_exist(
    lab: Lab, scheduler: str, tmp_path: Path
) -> None:
    import subprocess
    import sys

    from zslab.corpus.tasks import map_tasks

    shared = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "distributed.cli.dask_worker",
            scheduler,
            "--name",
            "cpu-shared",
            "--nthreads",
            "1",
            "--no-nanny",
            "--no-dashboard",
            "--local-directory",
            str(tmp_path / "w"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with lab.request("h100:1g.10gb", hours=1) as lease:
            client = lease.client
            until(lambda: "cpu-shared" in _names(client), timeout=30)

            names = map_tasks(
                worker_name, list(range(20)), client=client, label="t", progress=False
            )

        assert set(names) == {"cpu-shared"}
    finally:
        shared.terminate()
        shared.wait(10)


def _names(client: object) -> set[str]:
    info = client.scheduler_info(n_workers=-1)  # type: ignore[attr-defined]
    return {str(w.get("name")) for w in info["workers"].values()}


def test_preemption_is_never_requested_where_no_dask_client_can_ask(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A papermill kernel on the lease's machine inherits ZSLAB_LEASE_ID but has no client.
    from zslab.compute.slice_worker import preemption_requested

    monkeypatch.setenv("ZSLAB_LEASE_ID", "lse_without_a_client")

    assert preemption_requested() is False
