"""The slice broker through the real hub: SDK, API and CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

import zslab
from tests.conftest import HubHandle, member_lab, start_hub, write_inventory
from zslab.client import Lab
from zslab.config import Settings


@pytest.fixture
def broker_hub(tmp_path: Path, db_url: str) -> Iterator[HubHandle]:
    """A hub over the small test inventory, with a fast heartbeat."""
    settings = Settings(
        home=tmp_path / "home",
        db_url=db_url,
        inventory=write_inventory(tmp_path),
        heartbeat_s=0.5,
        preemption_grace_s=0.5,
        auth_cache_s=1.0,
    )
    handle = start_hub(settings)
    yield handle
    handle.stop()


@pytest.fixture
def lab(broker_hub: HubHandle) -> Iterator[Lab]:
    with broker_hub.lab() as connected:
        yield connected


def wait_until(predicate: object, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return bool(predicate())  # type: ignore[operator]


# --- requesting --------------------------------------------------------------------------------


def test_a_request_that_fits_is_granted_with_its_placement(lab: Lab) -> None:
    lease = lab.request("h100:3g.40gb", hours=1)
    assert lease.state == "granted"
    assert lease.placement is not None
    assert lease.placement["pool"] == "h100"
    assert lease.placement["parts"][0]["profile"] == "3g.40gb"
    assert lease.data.units == pytest.approx(0.5)  # 4 of 8 memory slices


def test_the_lease_context_manager_heartbeats_then_releases(lab: Lab) -> None:
    with lab.request("t4:0.5", hours=1) as lease:
        time.sleep(1.2)  # several heartbeat intervals: a silent lease would expire
        assert lease.refresh().state == "active"
    assert lease.state == "released"
    assert lease.data.metering is not None and lease.data.metering["slice_hours"] > 0


def test_pools_show_free_capacity_by_profile(lab: Lab) -> None:
    before = {p.pool: p for p in lab.pools()}
    lab.request("h100:7g.80gb", hours=1)
    after = {p.pool: p for p in lab.pools()}
    assert before["h100"].free_devices - after["h100"].free_devices == 1
    assert after["h100"].profiles is not None and after["h100"].profiles["7g.80gb"] == 7
    assert after["npu"].domestic is True


def test_a_request_that_does_not_fit_waits_with_position_and_estimate(lab: Lab) -> None:
    first = lab.request("ascend910b:8", hours=0.5)
    assert first.state == "granted"
    waiting = lab.request("ascend910b:8", hours=0.5)
    assert waiting.state == "queued"
    assert waiting.queue is not None and waiting.queue.position == 1
    assert waiting.queue.expected_start is not None
    assert waiting.queue.expected_start >= first.expires_at - timedelta(seconds=1)
    first.release()
    assert wait_until(lambda: waiting.refresh().state == "granted")


def test_an_expired_lease_is_reclaimed_within_one_heartbeat_interval(
    lab: Lab, broker_hub: HubHandle
) -> None:
    ttl_hours = 2.0 / 3600
    lease = lab.request("t4:1", hours=ttl_hours)
    lease.start_heartbeats()
    try:
        expires = lease.expires_at
        assert expires is not None
        assert wait_until(lambda: lease.refresh().state == "expired", timeout=10)
        ended = lease.data.ended_at
        assert ended is not None
        lateness = (ended - expires).total_seconds()
        assert 0 <= lateness <= broker_hub.settings.heartbeat_s
        assert "TTL" in lease.data.reason
    finally:
        lease.stop_heartbeats()


def test_a_lease_without_heartbeats_expires(lab: Lab) -> None:
    lease = lab.request("t4:0.25", hours=1)
    assert wait_until(lambda: lease.refresh().state == "expired", timeout=10)
    assert "heartbeat" in lease.data.reason


def test_renewal_extends_and_is_bounded_by_the_project_maximum(lab: Lab) -> None:
    lease = lab.request("t4:0.25", hours=1)
    before = lease.expires_at
    assert before is not None
    renewed = lease.renew(3)
    assert renewed.expires_at is not None and renewed.expires_at > before
    with pytest.raises(zslab.InvalidInput) as caught:
        lease.renew(10_000)
    assert caught.value.field == "hours"


def test_an_ended_lease_cannot_be_renewed_and_releasing_it_again_changes_nothing(
    broker_hub: HubHandle, lab: Lab
) -> None:
    lease = lab.request("t4:0.25", hours=1)
    lease.release()
    with pytest.raises(zslab.Conflict) as caught:
        lease.renew(1)
    assert caught.value.field == "lease" and "released" in str(caught.value)
    again = lab.call("POST", f"/leases/{lease.id}/release")
    assert again["state"] == "released"
    # Once the broker has forgotten it (after a while), the database answers the same way.
    broker = broker_hub.state.broker.broker
    assert broker is not None
    broker.leases.pop(lease.id)
    assert lab.call("POST", f"/leases/{lease.id}/release")["state"] == "released"
    assert lab.lease(lease.id).state == "released"
    with pytest.raises(zslab.Conflict):
        lease.renew(1)


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"spec": "h100:3g40gb"}, "spec", "REQUEST"),
        ({"spec": "h100:9g.90gb"}, "spec", "no MIG profile"),
        ({"spec": "h100:1", "hours": -1}, "hours", "greater than 0"),
        ({"spec": "h100:1g.10gb x100000"}, "spec", "could ever hold"),
        ({"spec": "h100:9"}, "spec", "larger than any device"),
        ({"spec": "t4:0.5", "hours": 1000}, "hours", "maximum"),
        ({"spec": "t4:0.5", "flexible": True}, "flexible", "batch"),
    ],
)
def test_bad_requests_get_422_saying_why(
    broker_hub: HubHandle, body: dict[str, object], field: str, words: str
) -> None:
    with broker_hub.http() as http:
        response = http.post("/api/v1/leases", json=body)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["field"] == field
    assert words in problem["detail"] + problem.get("fix", "")


# --- who may see what --------------------------------------------------------------------------


def test_another_projects_lease_cannot_be_seen_renewed_or_released(
    broker_hub: HubHandle, lab: Lab
) -> None:
    lab.orgs.add("uni")
    lab.projects.add("uni", "alpha")
    lab.projects.add("uni", "beta")
    alice = member_lab(broker_hub, lab, "alice")
    bob = member_lab(broker_hub, lab, "bob")
    lab.projects.add_member("uni/alpha", "alice")
    lab.projects.add_member("uni/beta", "bob")
    lease = alice.request("t4:0.5", hours=1, project="uni/alpha")
    for call in (
        lambda: bob.lease(lease.id),
        lambda: bob.call("POST", f"/leases/{lease.id}/renew", json={"hours": 1}),
        lambda: bob.call("POST", f"/leases/{lease.id}/release"),
    ):
        with pytest.raises(zslab.Forbidden):
            call()
    assert lease.id not in {x.id for x in bob.leases()}
    assert alice.lease(lease.id).state == "granted"


def test_requests_count_against_a_named_project_the_user_belongs_to(
    broker_hub: HubHandle, lab: Lab
) -> None:
    lab.orgs.add("uni")
    lab.projects.add("uni", "alpha")
    carol = member_lab(broker_hub, lab, "carol")
    with pytest.raises(zslab.Forbidden) as caught:
        carol.request("t4:0.5", hours=1, project="uni/alpha")
    assert caught.value.field == "project"
    lab.projects.add_member("uni/alpha", "carol")
    mine = carol.request("t4:0.5", hours=1, project="uni/alpha")
    assert mine.state == "granted"
    alpha = lab.projects.get("uni/alpha")
    assert mine.data.project_id == alpha.id
    # Resolutions are cached, but a membership change shows at once.
    lab.projects.remove_member("uni/alpha", "carol")
    with pytest.raises(zslab.Forbidden):
        carol.request("t4:0.5", hours=1, project="uni/alpha")


def test_a_user_without_projects_gets_a_personal_one(broker_hub: HubHandle, lab: Lab) -> None:
    dave = member_lab(broker_hub, lab, "dave")
    lease = dave.request("t4:0.5", hours=1)
    project = dave.projects.get(lease.data.project_id)
    assert (project.org_slug, project.slug) == ("personal", "dave")


# --- quotas, preemption, reservations, metering --------------------------------------------


def test_quota_makes_work_wait_then_borrowing_needs_an_idle_cohort(lab: Lab) -> None:
    lab.orgs.add("uni")
    lab.projects.add("uni", "alpha")
    lab.policies.set("uni/alpha", quota_units=1.0)
    first = lab.request("h100:1", hours=1, project="uni/alpha")
    second = lab.request("h100:1", hours=1, project="uni/alpha")
    assert first.state == "granted"
    assert second.state == "queued"
    assert "quota" in second.data.reason
    lab.projects.add("uni", "beta")
    lab.policies.set("uni/beta", quota_units=2.0)  # idle quota in the same cohort (the org)
    assert wait_until(lambda: second.refresh().state == "granted")
    assert second.data.borrowed is True
    assert lab.policies.get("uni/alpha").used_units == pytest.approx(2.0)


def test_an_interactive_request_preempts_batch_work_after_notice(lab: Lab) -> None:
    batch = lab.request("ascend910b:8", hours=1, priority="batch")
    batch.start_heartbeats()
    noticed: list[str] = []
    batch.on_preemption = lambda lease: noticed.append(lease.id)
    try:
        urgent = lab.request("ascend910b:4", hours=1)
        assert urgent.state == "queued"
        assert wait_until(lambda: urgent.refresh().state == "granted", timeout=10)
        assert batch.refresh().state == "preempted"
        types = [e.type for e in batch.events()]
        assert types.index("preemption_notice") < types.index("preempted")
        assert noticed == [batch.id] or "preemption_notice" in types
    finally:
        batch.stop_heartbeats()


def test_a_reservation_holds_slices_for_its_project_only(broker_hub: HubHandle, lab: Lab) -> None:
    lab.orgs.add("uni")
    lab.projects.add("uni", "course")
    student = member_lab(broker_hub, lab, "student")
    lab.projects.add_member("uni/course", "student")
    now = datetime.now(UTC)
    reservation = lab.reservations.add(
        "uni/course", "t4:1", 4, start=now, end=now + timedelta(hours=1), note="lab session"
    )
    assert wait_until(
        lambda: next(r for r in lab.reservations.list() if r.id == reservation.id).held == 4
    )
    stranger = member_lab(broker_hub, lab, "stranger")  # in no project: a personal one
    outsider = stranger.request("t4:1", hours=1)  # all four T4s are held for the class
    assert outsider.state == "queued"
    mine = student.request("t4:1", hours=1, project="uni/course")
    assert mine.state == "granted"
    assert mine.data.reservation_id == reservation.id


def test_a_flexible_batch_job_is_deferred_to_a_cheaper_window(lab: Lab) -> None:
    deadline = datetime.now(UTC) + timedelta(hours=30)
    lease = lab.request("h100:4", hours=2, priority="batch", flexible=True, deadline=deadline)
    events = {e.type: e for e in lease.events()}
    if "deferred" in events:  # not when the cheapest window is already now
        assert lease.state == "queued"
        assert events["deferred"].data["saving"] > 0
        assert lease.data.not_before is not None
    else:
        assert lease.state == "granted"


def test_usage_reports_energy_cost_and_csv(lab: Lab) -> None:
    with lab.request("ascend910b:1", hours=1):
        time.sleep(0.3)
    rows = lab.usage(group_by="model")
    npu = next(r for r in rows if r.key == "ascend910b")
    assert npu.slice_hours > 0 and npu.energy_kwh > 0 and npu.cost > 0
    assert npu.net_cost == pytest.approx(npu.cost - npu.subsidy, abs=1e-3)
    assert npu.domestic_share == 1.0
    csv_text = lab.usage_csv(group_by="model")
    assert csv_text.splitlines()[0].startswith("key,name,leases,slice_hours")
    me = lab.me().user
    (mine,) = [r for r in lab.usage(group_by="user") if r.key == me.id]
    assert mine.name == me.name and mine.slice_hours == pytest.approx(npu.slice_hours)
    projects = lab.usage(group_by="project")
    assert all(r.name.count("/") == 1 and r.name != r.key for r in projects)


def test_the_estimate_prices_a_request_before_asking(lab: Lab) -> None:
    estimate = lab.estimate("h100:4", hours=3)
    assert estimate.grantable_now is True
    assert estimate.energy_kwh == pytest.approx(0.7 * 4 * 3 * 1.3, rel=0.01)
    assert estimate.tariff_is_example is True


def test_events_stream_as_server_sent_events(lab: Lab) -> None:
    lease = lab.request("t4:0.25", hours=1)
    seen: list[dict[str, object]] = []

    def listen() -> None:
        for event in lab.events(lease=lease.id, timeout=5):
            seen.append(event)
            if event["type"] == "released":
                return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    time.sleep(0.5)
    lease.release()
    listener.join(10)
    assert [e["type"] for e in seen][-1] == "released"


def test_draining_a_node_stops_new_placements_there(lab: Lab) -> None:
    lab.drain("n-01", reason="maintenance")
    assert next(p for p in lab.pools() if p.pool == "npu").drained_nodes == 1
    lease = lab.request("ascend910b:1", hours=1)
    assert lease.state == "queued"
    lab.drain("n-01", drained=False)
    assert wait_until(lambda: lease.refresh().state == "granted")


def test_an_inventory_that_drops_a_busy_node_is_refused(lab: Lab) -> None:
    lab.request("ascend910b:1", hours=1)
    smaller = """
sites:
  - name: pudong
    pools:
      - name: t4
        nodes: {prefix: t-, count: 2, cpu: 32, memory: 128GiB, model: t4, devices: 2}
"""
    with pytest.raises(zslab.Conflict) as caught:
        lab.load_inventory(smaller)
    assert "n-01" in caught.value.detail


def test_leases_survive_a_hub_restart(broker_hub: HubHandle, lab: Lab) -> None:
    granted = lab.request("h100:3g.40gb", hours=1)
    full = lab.request("ascend910b:8", hours=1)
    waiting = lab.request("ascend910b:8", hours=1)
    broker_hub.stop()
    restarted = start_hub(broker_hub.settings, admin_token=broker_hub.admin_token)
    try:
        with restarted.lab() as again:
            assert again.lease(granted.id).placement == granted.placement
            assert again.lease(full.id).state == "granted"
            assert again.lease(waiting.id).state == "queued"
    finally:
        restarted.stop()


# --- the CLI -----------------------------------------------------------------------------------


def test_cli_slices_request_prints_the_lease_as_json(broker_hub: HubHandle) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "zslab",
            "slices",
            "request",
            "t4:0.5",
            "--hours",
            "1",
            "--json",
            "--url",
            broker_hub.url,
            "--token",
            broker_hub.admin_token,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    lease = json.loads(result.stdout)
    assert lease["state"] == "granted" and lease["spec"] == "t4:0.5"
    assert (
        httpx.get(
            f"{broker_hub.url}/api/v1/leases/{lease['id']}",
            headers={"Authorization": f"Bearer {broker_hub.admin_token}"},
        ).json()["id"]
        == lease["id"]
    )
