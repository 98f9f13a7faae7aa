"""Concurrent writers must not corrupt state or get 500s."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.conftest import HubHandle, start_hub
from zslab.client import Lab
from zslab.config import Settings
from zslab.hub.db.engine import FairLock


def test_fifty_concurrent_creates_all_land_with_their_audit(hub: HubHandle, admin: Lab) -> None:
    admin.orgs.add("busy")

    def create(i: int) -> httpx.Response:
        with hub.http() as http:
            return http.post("/api/v1/projects", json={"org": "busy", "slug": f"p{i:02d}"})

    with ThreadPoolExecutor(16) as pool:
        responses = list(pool.map(create, range(50)))
    assert [r.status_code for r in responses] == [201] * 50
    assert len(admin.projects.list(org="busy")) == 50
    audited = admin.audit.list(action="project.create", outcome="success", limit=None)
    assert {e.object_id for e in audited} == {r.json()["id"] for r in responses}


def test_racing_for_one_name_gives_one_winner_and_clean_conflicts(
    hub: HubHandle, admin: Lab
) -> None:
    def create(_: int) -> httpx.Response:
        with hub.http() as http:
            return http.post("/api/v1/users", json={"name": "contested"})

    with ThreadPoolExecutor(10) as pool:
        statuses = sorted(r.status_code for r in pool.map(create, range(10)))
    assert statuses == [201] + [409] * 9
    assert [u.name for u in admin.users.list()].count("contested") == 1


@pytest.fixture
def patient_hub(hub_settings: Settings) -> Iterator[HubHandle]:
    """A hub whose writers wait up to 10 s for the database lock (the default fixture: 2 s):
    a stall (a deadlock between threads and the lock) still shows, a busy shared CI machine
    does not."""
    handle = start_hub(hub_settings.model_copy(update={"db_busy_timeout_s": 10.0}))
    yield handle
    handle.stop()


def test_more_writers_than_worker_threads_do_not_stall(patient_hub: HubHandle) -> None:
    # 64 concurrent writers exceed the 40 threads FastAPI runs handlers on; a writer holding
    # the database lock must never wait for a thread held by a writer waiting for the lock.
    hub = patient_hub
    with hub.lab() as admin:
        admin.orgs.add("crowd")

    def create(i: int) -> int:
        with hub.http() as http:
            response = http.post("/api/v1/projects", json={"org": "crowd", "slug": f"c{i:03d}"})
            return response.status_code

    with ThreadPoolExecutor(64) as pool:
        statuses = list(pool.map(create, range(192)))
    assert statuses == [201] * 192


def test_every_request_returns_its_database_connection(hub: HubHandle, admin: Lab) -> None:
    admin.orgs.add("pooled")
    with hub.http() as http:
        for _ in range(5):
            http.get("/api/v1/orgs/pooled")  # read
            http.post("/api/v1/orgs", json={"slug": "pooled"})  # 409 after queries
            http.post("/api/v1/projects", json={"org": "pooled", "slug": "BAD"})  # 422
            http.get("/api/v1/orgs/nope")  # 404
        http.post("/api/v1/projects", json={"org": "pooled", "slug": "ok"})  # 201
    assert hub.db.engine.pool.checkedout() == 0


# --- the writers' gate ------------------------------------------------------------------------


def test_the_writers_gate_serves_waiters_in_arrival_order() -> None:
    gate = FairLock()
    assert gate.acquire()
    order: list[int] = []

    def writer(i: int) -> None:
        assert gate.acquire(timeout=10)
        order.append(i)
        gate.release()

    threads = []
    for i in range(8):
        threads.append(threading.Thread(target=writer, args=(i,)))
        threads[-1].start()
        deadline = time.monotonic() + 5
        while len(gate._waiters) < i + 1 and time.monotonic() < deadline:
            time.sleep(0.001)  # let each writer queue before the next one arrives
    gate.release()
    for thread in threads:
        thread.join(10)

    assert order == list(range(8))


def test_a_writer_that_times_out_leaves_the_queue_and_the_gate_usable() -> None:
    gate = FairLock()
    assert gate.acquire()

    assert gate.acquire(timeout=0.05) is False
    assert not gate._waiters
    gate.release()
    assert gate.acquire(timeout=0) is True
    gate.release()
    with pytest.raises(RuntimeError):
        gate.release()
