"""The slice broker in memory: leases, the queue, quotas, preemption, reservations, tariffs.

No hub, no database: each test builds a :class:`~zslab.compute.broker.Broker` over a tiny
hand-built inventory and drives the clock itself (``now`` passed to every command).
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.compute.broker.conftest import HOUR, T0, advance, kinds, lease
from tests.compute.conftest import check_cluster, inventory, node, snapshot
from zslab.compute.broker import (
    ENDED,
    LIVE,
    Broker,
    BrokerSettings,
    Lease,
    ProjectPolicy,
    Reservation,
)
from zslab.compute.cluster import Cluster, Part
from zslab.compute.inventory import Inventory
from zslab.compute.tariff import EXAMPLE_SHANGHAI

ONE_H100 = inventory(node("h1", "h100-80gb", 1))
TWO_H100 = inventory(node("h1", "h100-80gb", 1), node("h2", "h100-80gb", 1))
THREE_H100 = inventory(*(node(f"h{i}", "h100-80gb", 1) for i in (1, 2, 3)))
DUAL_H100 = inventory(node("h", "h100-80gb", 2))
H100_AND_T4 = inventory(node("h1", "h100-80gb", 1), node("t1", "t4", 1))
GRACE = BrokerSettings().preemption_grace_s
LEAD = BrokerSettings().reservation_lead_s
SH = ZoneInfo("Asia/Shanghai")
PEAK_9AM = datetime(2024, 5, 6, 9, 0, tzinfo=SH).timestamp()  # a Monday, peak tariff


def cohort_broker(inv: Inventory = TWO_H100, quota: float = 1.0) -> Broker:
    """Projects A and B of org ``uni`` lending each other quota in cohort ``lab``."""
    broker = Broker(inv)
    for name in ("A", "B"):
        broker.set_project(ProjectPolicy(name, org_id="uni", quota_units=quota, cohort="lab"))
    return broker


def class_reservation(count: int = 2) -> Reservation:
    """``count`` H100s for project ``class`` from T0 + 1 h to T0 + 3 h."""
    return Reservation("r", "class", "h100:1", count, T0 + HOUR, T0 + 3 * HOUR)


def hold_spots(reservation: Reservation) -> set[tuple[int, tuple[Part, ...]]]:
    """Where a reservation's holds sit: (node index, device parts) of each."""
    return {(hold.node, hold.parts) for hold in reservation.holds}


# --- lifecycle -------------------------------------------------------------------------------


def test_a_request_that_fits_is_granted_with_a_placement() -> None:
    broker = Broker(TWO_H100)
    request = lease("a")

    events = broker.submit(request, T0)

    assert kinds(events) == ["requested", "granted"]
    assert request.state == "granted" and request.placement is not None
    assert events[-1].data["placement"]["node"] == request.placement.node_name
    assert events[-1].data["expires_at"] == T0 + HOUR


def test_the_first_heartbeat_makes_a_lease_active() -> None:
    broker = Broker(ONE_H100)
    broker.submit(lease("a"), T0)

    events = broker.heartbeat("a", T0 + 10)

    assert kinds(events) == ["active"]
    assert broker.leases["a"].state == "active"


def test_release_ends_the_lease_and_returns_its_capacity() -> None:
    broker = Broker(ONE_H100)
    broker.submit(lease("a", "h100:3g.40gb"), T0)
    assert broker.cluster.used_milli > 0

    events = broker.release("a", T0 + 60)

    assert kinds(events) == ["released"]
    assert broker.leases["a"].state == "released"
    assert broker.cluster.used_milli == 0


def test_a_request_is_queued_when_the_cluster_is_full() -> None:
    broker = Broker(ONE_H100)
    broker.submit(lease("a"), T0)

    events = broker.submit(lease("b", "h100:1g.10gb"), T0 + 1)

    assert kinds(events) == ["requested", "queued"]
    assert broker.leases["b"].state == "queued" and broker.leases["b"].placement is None
    assert broker.queue == ["b"]


def test_cancelling_a_queued_lease_ends_it_and_leaves_the_queue() -> None:
    broker = Broker(ONE_H100)
    broker.submit(lease("a"), T0)
    broker.submit(lease("b"), T0 + 1)

    events = broker.release("b", T0 + 2)

    assert kinds(events) == ["released"]
    assert events[0].reason == "cancelled before it was granted"
    assert broker.queue == []
    assert broker.leases["a"].state == "granted"


def test_every_transition_emits_an_event_with_a_reason() -> None:
    broker = Broker(ONE_H100)
    events = broker.submit(lease("a"), T0)
    events += broker.submit(lease("b"), T0 + 1)
    events += broker.heartbeat("a", T0 + 2)
    events += broker.release("a", T0 + 3)

    events += broker.tick(T0 + 3 + 2 * HOUR)  # b: never heartbeated

    assert [(e.lease_id, e.type) for e in events] == [
        ("a", "requested"),
        ("a", "granted"),
        ("b", "requested"),
        ("b", "queued"),
        ("a", "active"),
        ("a", "released"),
        ("b", "granted"),
        ("b", "expired"),
    ]
    assert all(e.reason for e in events)
    assert all(e.state == e.type for e in events)


def test_an_ended_lease_cannot_be_renewed() -> None:
    broker = Broker(ONE_H100)
    broker.submit(lease("a"), T0)
    broker.release("a", T0 + 1)

    with pytest.raises(ValueError, match="released"):
        broker.renew("a", 1.0, T0 + 2)


def test_renewing_a_live_lease_moves_its_expiry() -> None:
    broker = Broker(ONE_H100)
    broker.submit(lease("a"), T0)

    events = broker.renew("a", 2.0, T0 + 600)

    assert kinds(events) == ["renewed"]
    assert broker.leases["a"].expires_at == T0 + 600 + 2 * HOUR


# --- expiry ----------------------------------------------------------------------------------


def test_a_lease_expires_at_the_first_tick_after_its_ttl() -> None:
    broker = Broker(ONE_H100)
    broker.submit(lease("a", hours=1.0), T0)
    advance(broker, T0 + HOUR - 1)
    assert broker.leases["a"].live

    events = advance(broker, T0 + HOUR)

    assert kinds(events, "a") == ["expired"]
    assert "TTL" in broker.leases["a"].reason
    assert broker.cluster.used_milli == 0


def test_missed_heartbeats_expire_a_lease() -> None:
    broker = Broker(ONE_H100, settings=BrokerSettings(heartbeat_s=30, missed_heartbeats=3))
    broker.submit(lease("a"), T0)
    broker.tick(T0 + 90)
    assert broker.leases["a"].live

    events = broker.tick(T0 + 91)

    assert kinds(events) == ["expired"]
    assert broker.leases["a"].reason == "no heartbeat for 91 s (limit 90 s)"


def test_heartbeats_keep_a_lease_alive() -> None:
    broker = Broker(ONE_H100, settings=BrokerSettings(heartbeat_s=30, missed_heartbeats=3))
    broker.submit(lease("a"), T0)

    for t in range(60, 1201, 60):
        advance(broker, T0 + t)

    assert broker.leases["a"].state == "active"


def test_an_idle_lease_expires_after_its_project_idle_limit() -> None:
    broker = Broker(ONE_H100)
    broker.set_project(ProjectPolicy("p", idle_limit_min=10))
    broker.submit(lease("a"), T0)

    for t in range(60, 721, 60):  # idle from T0 + 60 s
        advance(broker, T0 + t, utilization=0.01)

    assert broker.leases["a"].state == "expired"
    assert broker.leases["a"].reason == "idle for more than 10 min"


def test_utilization_above_the_threshold_resets_idleness() -> None:
    broker = Broker(ONE_H100)
    broker.set_project(ProjectPolicy("p", idle_limit_min=10))
    broker.submit(lease("a"), T0)

    for t in range(60, 721, 60):  # busy once at T0 + 300 s: idle only from T0 + 360 s
        advance(broker, T0 + t, utilization=0.9 if t == 300 else 0.01)

    assert broker.leases["a"].state == "active"
    assert broker.leases["a"].idle_since == T0 + 360


def test_a_lease_granted_at_time_zero_still_needs_heartbeats() -> None:
    broker = Broker(ONE_H100, settings=BrokerSettings(heartbeat_s=30, missed_heartbeats=3))
    broker.submit(lease("a"), 0.0)

    events = broker.tick(91.0)

    assert kinds(events) == ["expired"]


# --- queue order and backfill ------------------------------------------------------------------


def test_interactive_requests_go_before_older_batch_ones() -> None:
    broker = Broker(ONE_H100)
    broker.submit(lease("hog", project="x"), T0)
    broker.submit(lease("old-batch", project="y", priority="batch"), T0 + 1)
    broker.submit(lease("new-interactive", project="z"), T0 + 2)

    events = broker.release("hog", T0 + 3)

    assert kinds(events, "new-interactive") == ["granted"]
    assert broker.leases["old-batch"].state == "queued"


def test_within_a_class_the_project_with_less_recent_use_goes_first() -> None:
    broker = Broker(ONE_H100)
    broker.tick(T0)  # starts the usage clock
    broker.submit(lease("hog", project="heavy", hours=8), T0)
    advance(broker, T0 + 5 * HOUR)  # five GPU-hours of use for "heavy"
    broker.submit(lease("h", project="heavy", priority="batch"), T0 + 5 * HOUR + 1)
    broker.submit(lease("l", project="light", priority="batch"), T0 + 5 * HOUR + 2)
    assert broker.fair_shares()["heavy"]["priority"] > 0

    events = broker.release("hog", T0 + 5 * HOUR + 3)

    assert kinds(events, "l") == ["granted"]
    assert broker.leases["h"].state == "queued"


def test_within_a_class_and_equal_use_the_older_request_goes_first() -> None:
    broker = Broker(ONE_H100)
    broker.submit(lease("hog", project="x"), T0)
    broker.submit(lease("older", project="y", priority="batch"), T0 + 1)
    broker.submit(lease("newer", project="z", priority="batch"), T0 + 2)

    events = broker.release("hog", T0 + 3)

    assert kinds(events, "older") == ["granted"]
    assert broker.leases["newer"].state == "queued"


def test_a_short_request_backfills_ahead_of_a_blocked_head() -> None:
    broker = Broker(DUAL_H100)
    broker.submit(lease("running", hours=2), T0)  # the head can start at T0 + 2 h
    broker.submit(lease("head", "h100:2"), T0 + 1)

    events = broker.submit(lease("short", hours=1), T0 + 2)

    assert kinds(events, "short") == ["requested", "granted"]
    assert broker.leases["head"].state == "queued"


def test_a_long_request_does_not_backfill_past_a_blocked_head() -> None:
    broker = Broker(DUAL_H100)
    broker.submit(lease("running", hours=2), T0)
    broker.submit(lease("head", "h100:2"), T0 + 1)

    events = broker.submit(lease("long", hours=3), T0 + 2)

    assert kinds(events, "long") == ["requested", "queued"]
    assert broker.cluster.used_milli == 1000  # the free GPU is kept for the head


def test_a_quota_blocked_head_does_not_hold_back_other_projects() -> None:
    broker = Broker(THREE_H100)
    broker.set_project(ProjectPolicy("p", quota_units=1.0))
    broker.submit(lease("a", project="p", hours=1), T0)
    broker.submit(lease("over-quota", project="p", hours=1), T0 + 1)

    events = broker.submit(lease("other", project="q", hours=4), T0 + 2)

    assert kinds(events, "other") == ["requested", "granted"]


def test_plain_fifo_keeps_arrival_order_without_backfill_or_classes() -> None:
    fifo = Broker(ONE_H100, settings=BrokerSettings(queue_order="fifo"))
    fair = Broker(ONE_H100)
    for broker in (fifo, fair):
        broker.submit(lease("running", "h100:4g.40gb", project="x", hours=1), T0)
        broker.submit(lease("head", "h100:1", project="x", priority="batch", hours=1), T0 + 1)
        broker.submit(lease("small", "h100:1g.10gb", project="y", hours=0.5), T0 + 2)

    assert fifo.leases["small"].state == "queued"  # stuck behind the head
    assert fair.leases["small"].live  # ends before the head could start: backfilled
    assert "preemption_notice" not in kinds(
        fifo.submit(lease("urgent", "h100:7g.80gb", project="z"), T0 + 3)
    )
    fifo.release("running", T0 + 10)
    assert fifo.leases["head"].live and fifo.leases["small"].state == "queued"


def test_ended_leases_are_forgotten_after_a_while_and_live_ones_kept() -> None:
    broker = Broker(TWO_H100, settings=BrokerSettings(forget_ended_s=60))
    broker.submit(lease("done"), T0)
    broker.submit(lease("running"), T0)
    broker.release("done", T0 + 1)

    advance(broker, T0 + 30)
    assert "done" in broker.leases
    advance(broker, T0 + 62)
    assert "done" not in broker.leases
    assert broker.leases["running"].live and list(broker.live) == ["running"]


def test_use_between_ticks_counts_toward_fair_share() -> None:
    broker = Broker(TWO_H100)
    broker.submit(lease("a", project="x"), T0)
    broker.release("a", T0 + 600)  # no tick in between

    shares = broker.fair_shares()

    assert shares["x"]["gpu"] > 0
    assert "y" not in shares


def test_a_queued_lease_fails_after_its_max_wait() -> None:
    broker = Broker(ONE_H100)
    broker.submit(lease("hog", hours=2), T0)
    broker.submit(lease("w", max_wait_s=600), T0 + 10)
    advance(broker, T0 + 610)
    assert broker.leases["w"].state == "queued"

    events = advance(broker, T0 + 611)

    assert kinds(events, "w") == ["failed"]
    assert broker.leases["w"].reason == "waited 601 s, more than max_wait 600 s"
    assert "w" not in broker.queue


# --- quotas ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "units"),
    [("h100:7g.80gb", 1.0), ("h100:1g.10gb", 0.125), ("h100:3g.40gb", 0.5), ("t4:0.5", 0.5)],
)
def test_quota_units_count_the_slice_size(spec: str, units: float) -> None:
    broker = Broker(H100_AND_T4)

    broker.submit(lease("a", spec), T0)

    assert broker.leases["a"].units == units


def test_a_project_at_quota_borrows_idle_cohort_quota() -> None:
    broker = cohort_broker()
    broker.submit(lease("a1", project="A"), T0)

    events = broker.submit(lease("a2", project="A"), T0 + 1)

    assert kinds(events) == ["requested", "granted"]
    assert events[-1].data["borrowed"] is True
    assert broker.leases["a2"].borrowed and not broker.leases["a1"].borrowed


def test_a_project_at_quota_waits_when_its_cohort_has_no_idle_quota() -> None:
    broker = cohort_broker(THREE_H100)
    broker.submit(lease("a1", project="A"), T0)
    broker.submit(lease("b1", project="B"), T0 + 1)

    events = broker.submit(lease("a2", project="A"), T0 + 2)

    assert kinds(events) == ["requested", "queued"]
    assert events[-1].reason.startswith("project quota of 1 GPU units is in use (1)")
    assert broker.cluster.used_milli == 2000  # capacity was not the reason


def test_idle_cohort_quota_is_lent_only_once() -> None:
    broker = Broker(inventory(*(node(f"h{i}", "h100-80gb", 1) for i in range(4))))
    for name in ("A", "B", "C"):
        broker.set_project(ProjectPolicy(name, org_id="uni", quota_units=1.0))
    for i, project in enumerate(["A", "A", "C"]):  # A borrows B's idle unit
        broker.submit(lease(f"l{i}", project=project), T0 + i)

    events = broker.submit(lease("c2", project="C"), T0 + 3)

    assert kinds(events) == ["requested", "queued"]


def test_the_org_quota_caps_its_projects_together() -> None:
    broker = Broker(THREE_H100)
    for name in ("x", "y"):
        broker.set_project(ProjectPolicy(name, org_id="uni"))
    broker.org_quotas["uni"] = 1.5
    broker.submit(lease("x1", project="x"), T0)

    events = broker.submit(lease("y1", project="y"), T0 + 1)

    assert kinds(events) == ["requested", "queued"]
    assert events[-1].reason == "organization quota of 1.5 GPU units is in use (1)"


def test_reclaiming_own_quota_preempts_a_borrowed_lease_with_notice() -> None:
    broker = cohort_broker()
    broker.submit(lease("a1", project="A"), T0)
    broker.submit(lease("a2", project="A"), T0 + 1)  # borrows B's idle unit

    events = broker.submit(lease("b1", project="B"), T0 + 10)
    events += advance(broker, T0 + 10 + GRACE)

    assert [(e.lease_id, e.type) for e in events if e.type != "active"] == [
        ("b1", "requested"),
        ("a2", "preemption_notice"),
        ("b1", "queued"),
        ("a2", "preempted"),
        ("b1", "granted"),
    ]
    assert events[1].data["preempt_at"] == T0 + 10 + GRACE
    assert broker.leases["a1"].live and not broker.leases["b1"].borrowed


# --- preemption ------------------------------------------------------------------------------


def test_an_interactive_request_gives_a_batch_lease_notice() -> None:
    broker = Broker(ONE_H100)
    broker.submit(lease("b", project="x", priority="batch", hours=4), T0)

    events = broker.submit(lease("i", project="y"), T0 + 10)

    assert [(e.lease_id, e.type) for e in events] == [
        ("i", "requested"),
        ("b", "preemption_notice"),
        ("i", "queued"),
    ]
    assert events[1].data == {"preempt_at": T0 + 10 + GRACE, "for": "i"}
    assert broker.leases["b"].live


def test_a_noticed_lease_is_stopped_at_the_first_tick_after_the_grace() -> None:
    broker = Broker(ONE_H100)
    broker.submit(lease("b", project="x", priority="batch", hours=4), T0)
    broker.submit(lease("i", project="y"), T0 + 10)
    advance(broker, T0 + 10 + GRACE - 1)
    assert broker.leases["b"].live

    events = advance(broker, T0 + 10 + GRACE)

    assert [(e.lease_id, e.type) for e in events if e.type != "active"] == [
        ("b", "preempted"),
        ("i", "granted"),
    ]
    assert broker.leases["b"].reason == "preempted for interactive request i"


def test_a_batch_request_never_preempts() -> None:
    broker = Broker(ONE_H100)
    broker.submit(lease("b1", project="x", priority="batch", hours=4), T0)

    events = broker.submit(lease("b2", project="y", priority="batch"), T0 + 10)
    events += advance(broker, T0 + 10 + 2 * GRACE)

    assert "preemption_notice" not in kinds(events)
    assert broker.leases["b1"].live and broker.leases["b1"].preempt_at is None


def test_a_notice_is_not_repeated_on_every_tick() -> None:
    broker = Broker(ONE_H100)
    broker.submit(lease("b", project="x", priority="batch", hours=4), T0)
    broker.submit(lease("i", project="y"), T0 + 10)

    events = []
    for t in range(20, 130, 10):
        events += advance(broker, T0 + t)

    assert "preemption_notice" not in kinds(events)


def test_urgent_requests_queued_together_each_give_their_own_notice_at_once() -> None:
    broker = Broker(THREE_H100)
    for name in ("b1", "b2", "b3"):
        broker.submit(lease(name, project="x", priority="batch", hours=4), T0)

    events = broker.submit(lease("i1", project="y"), T0 + 10)
    events += broker.submit(lease("i2", project="y"), T0 + 11)

    notices = [e for e in events if e.type == "preemption_notice"]
    # Two victims, one for each request, not the same one twice; the third batch lease runs on.
    assert sorted(e.data["for"] for e in notices) == ["i1", "i2"]
    assert len({e.lease_id for e in notices}) == 2
    spared = {"b1", "b2", "b3"} - {e.lease_id for e in notices}
    assert broker.leases[spared.pop()].preempt_at is None

    events = advance(broker, T0 + 11 + GRACE)
    assert broker.leases["i1"].state == "granted" and broker.leases["i2"].state == "granted"
    assert kinds(events).count("preempted") == 2


def test_an_urgent_request_does_not_count_on_room_promised_to_another() -> None:
    broker = Broker(
        inventory(node("h1", "h100-80gb", 1, pool="a"), node("h2", "h100-80gb", 1, pool="b"))
    )
    broker.submit(lease("b1", "h100:4g.40gb pool=a", project="x", priority="batch"), T0)
    broker.submit(lease("b2", "h100:1 pool=b", project="x", priority="batch"), T0 + 1)
    broker.submit(lease("i1", "h100:1 pool=a", project="y"), T0 + 10)  # b1 stops for i1

    events = broker.submit(lease("i2", "h100:3g.40gb", project="y"), T0 + 11)

    # h1's free 3g.40gb is part of the GPU promised to i1, so i2 needs a victim of its own.
    assert [(e.lease_id, e.data["for"]) for e in events if e.type == "preemption_notice"] == [
        ("b2", "i2")
    ]
    events = advance(broker, T0 + 11 + GRACE)
    assert broker.leases["i1"].placement.node_name == "h1"  # type: ignore[union-attr]
    assert broker.leases["i2"].placement.node_name == "h2"  # type: ignore[union-attr]


def test_preemption_notices_only_leases_whose_end_makes_room() -> None:
    broker = Broker(
        inventory(node("h1", "h100-80gb", 1, pool="a"), node("h2", "h100-80gb", 1, pool="b"))
    )
    broker.submit(lease("whole", "h100:1 pool=b", project="x", priority="batch", hours=4), T0)
    broker.submit(lease("pinned", "h100:3g.40gb pool=a", project="x", hours=4), T0 + 1)
    broker.submit(
        lease("slice", "h100:4g.40gb pool=a", project="x", priority="batch", hours=4), T0 + 2
    )

    events = broker.submit(lease("i", "h100:1", project="y"), T0 + 10)

    assert [e.lease_id for e in events if e.type == "preemption_notice"] == ["whole"]


def test_preemption_notices_are_withdrawn_when_the_request_is_cancelled() -> None:
    broker = Broker(ONE_H100)
    broker.submit(lease("b", project="x", priority="batch", hours=4), T0)
    broker.submit(lease("i", project="y"), T0 + 10)
    assert broker.leases["b"].preempt_at is not None

    events = broker.release("i", T0 + 20)

    assert [(e.lease_id, e.type) for e in events] == [
        ("i", "released"),
        ("b", "preemption_withdrawn"),
    ]
    assert broker.leases["b"].preempt_at is None
    advance(broker, T0 + 20 + 2 * GRACE)
    assert broker.leases["b"].live


def test_preemption_notices_are_withdrawn_when_the_request_is_granted_elsewhere() -> None:
    broker = Broker(TWO_H100)
    broker.submit(lease("b", project="x", priority="batch", hours=4), T0)
    broker.submit(lease("other", project="z", hours=4), T0 + 1)
    broker.submit(lease("i", project="y"), T0 + 10)
    assert broker.leases["b"].preempt_for == "i"

    events = broker.release("other", T0 + 20)

    assert ("i", "granted") in [(e.lease_id, e.type) for e in events]
    assert ("b", "preemption_withdrawn") in [(e.lease_id, e.type) for e in events]
    assert broker.leases["b"].live and broker.leases["b"].preempt_at is None


def test_a_request_beyond_its_own_quota_does_not_preempt() -> None:
    broker = Broker(TWO_H100)
    broker.set_project(ProjectPolicy("y", quota_units=1.0))
    broker.submit(lease("mine", "h100:4g.40gb", project="y", hours=4), T0)  # 0.5 units
    broker.submit(lease("b", project="x", priority="batch", hours=4), T0 + 1)
    broker.submit(lease("fill", "h100:3g.40gb", project="z", hours=4), T0 + 2)

    # a whole GPU more would make 1.5 units, over y's quota of 1.0: it must not push out b
    events = broker.submit(lease("whole", "h100:1", project="y"), T0 + 10)

    assert "preemption_notice" not in kinds(events)
    assert broker.leases["b"].preempt_at is None


def test_a_request_within_its_own_quota_does_preempt() -> None:
    broker = Broker(TWO_H100)
    broker.set_project(ProjectPolicy("y", quota_units=1.5))
    broker.submit(lease("mine", "h100:4g.40gb", project="y", hours=4), T0)
    broker.submit(lease("b", project="x", priority="batch", hours=4), T0 + 1)
    broker.submit(lease("fill", "h100:3g.40gb", project="z", hours=4), T0 + 2)

    events = broker.submit(lease("whole", "h100:1", project="y"), T0 + 10)

    assert [e.lease_id for e in events if e.type == "preemption_notice"] == ["b"]


def test_a_lease_id_cannot_be_submitted_twice() -> None:
    broker = Broker(TWO_H100)
    broker.submit(lease("a"), T0)

    with pytest.raises(ValueError, match="already exists"):
        broker.submit(lease("a"), T0 + 1)

    assert broker.cluster.used_milli == 1000


def test_queue_estimates_leave_the_cluster_as_they_found_it() -> None:
    broker = Broker(TWO_H100)
    broker.submit(lease("a", hours=2), T0)
    broker.submit(lease("b", hours=3), T0)
    for i in range(4):
        broker.submit(lease(f"q{i}", project=f"p{i}"), T0 + 1 + i)
    before = snapshot(broker.cluster), broker.cluster.version

    estimates = broker.queue_estimates(T0 + 10)

    assert (snapshot(broker.cluster), broker.cluster.version) == before
    check_cluster(broker.cluster)
    # q0 follows a (2 h); q1 follows b (3 h) and q2 follows q0 (3 h); q3 follows q1 or q2
    starts = [estimates[f"q{i}"]["expected_start"] for i in range(4)]
    assert starts == [T0 + 2 * HOUR, T0 + 3 * HOUR, T0 + 3 * HOUR, T0 + 4 * HOUR]


# --- reservations ----------------------------------------------------------------------------


def test_nothing_is_held_before_the_reservation_lead() -> None:
    broker = Broker(THREE_H100)
    broker.add_reservation(class_reservation(), T0)

    advance(broker, T0 + HOUR - LEAD - 1)

    assert broker.reservations["r"].holds == []
    assert broker.reservations["r"].state == "scheduled"
    assert broker.cluster.used_milli == 0


def test_holds_are_placed_when_the_reservation_window_opens() -> None:
    broker = Broker(THREE_H100)
    broker.add_reservation(class_reservation(count=2), T0)

    advance(broker, T0 + HOUR - LEAD)

    assert len(broker.reservations["r"].holds) == 2
    assert broker.reservations["r"].state == "active"
    assert broker.cluster.used_milli == 2000


def test_a_member_request_takes_a_holds_exact_placement() -> None:
    broker = Broker(THREE_H100)
    broker.add_reservation(class_reservation(count=2), T0)
    advance(broker, T0 + HOUR)
    spots = hold_spots(broker.reservations["r"])

    events = broker.submit(lease("m", project="class"), T0 + HOUR)

    member = broker.leases["m"]
    assert kinds(events) == ["requested", "granted"]
    assert member.reservation_id == "r"
    assert member.placement is not None
    assert (member.placement.node, member.placement.parts) in spots
    assert len(broker.reservations["r"].holds) == 1
    assert broker.cluster.used_milli == 2000


def test_a_non_member_request_cannot_use_holds() -> None:
    broker = Broker(THREE_H100)
    broker.add_reservation(class_reservation(count=2), T0)
    advance(broker, T0 + HOUR)
    broker.submit(lease("x", project="other"), T0 + HOUR)  # takes the one unreserved GPU

    events = broker.submit(lease("o", project="other"), T0 + HOUR + 1)

    assert kinds(events) == ["requested", "queued"]
    assert len(broker.reservations["r"].holds) == 2


def test_a_batch_request_borrows_an_idle_hold() -> None:
    broker = Broker(TWO_H100)
    broker.add_reservation(class_reservation(count=1), T0)
    advance(broker, T0 + HOUR)
    broker.submit(lease("x", project="other", hours=4), T0 + HOUR)  # the unreserved GPU
    spots = hold_spots(broker.reservations["r"])

    events = broker.submit(lease("bb", project="other", priority="batch"), T0 + HOUR + 1)

    borrower = broker.leases["bb"]
    assert kinds(events) == ["requested", "granted"]
    assert borrower.lent_from == "r" and borrower.reservation_id is None
    assert borrower.placement is not None
    assert (borrower.placement.node, borrower.placement.parts) in spots
    assert broker.reservations["r"].lent == {"bb"}


def test_a_lent_hold_is_reclaimed_with_notice_when_a_member_needs_it() -> None:
    broker = Broker(TWO_H100)
    broker.add_reservation(class_reservation(count=1), T0)
    advance(broker, T0 + HOUR)
    broker.submit(lease("x", project="other", hours=4), T0 + HOUR)
    broker.submit(lease("bb", project="other", priority="batch"), T0 + HOUR + 1)

    events = broker.submit(lease("m", project="class"), T0 + HOUR + 2)
    events += advance(broker, T0 + HOUR + 2 + GRACE)

    assert [(e.lease_id, e.type) for e in events if e.type != "active"] == [
        ("m", "requested"),
        ("bb", "preemption_notice"),
        ("m", "queued"),
        ("bb", "preempted"),
        ("m", "granted"),
    ]
    assert broker.leases["m"].reservation_id == "r"
    assert broker.leases["x"].live


def test_a_lent_hold_is_not_reclaimed_while_no_member_needs_it() -> None:
    broker = Broker(TWO_H100)
    broker.add_reservation(class_reservation(count=1), T0)
    advance(broker, T0 + HOUR)
    broker.submit(lease("x", project="other", hours=4), T0 + HOUR)
    broker.submit(lease("bb", project="other", priority="batch"), T0 + HOUR + 1)

    events = advance(broker, T0 + HOUR + 30)

    assert "preemption_notice" not in kinds(events)


def test_reclaiming_for_a_reservation_notices_one_lease_per_missing_hold() -> None:
    broker = Broker(TWO_H100)
    broker.submit(lease("b1", project="x", priority="batch", hours=8), T0)
    broker.submit(lease("b2", project="x", priority="batch", hours=8), T0 + 1)
    broker.add_reservation(class_reservation(count=1), T0 + 2)

    for t in (HOUR - LEAD, HOUR - LEAD + 10, HOUR - LEAD + 20):
        advance(broker, T0 + t)

    noticed = [v.id for v in broker.leases.values() if v.preempt_at is not None]
    assert len(noticed) == 1


def test_reclaiming_for_a_reservation_spares_leases_that_cannot_make_room() -> None:
    broker = Broker(H100_AND_T4)
    broker.submit(lease("on-h100", project="x", priority="batch", hours=8), T0)
    broker.submit(lease("on-t4", "t4:1", project="x", priority="batch", hours=8), T0 + 1)
    broker.add_reservation(class_reservation(count=1), T0 + 2)

    advance(broker, T0 + HOUR - LEAD)

    assert broker.leases["on-t4"].preempt_at is None
    assert broker.leases["on-h100"].preempt_at is not None


def test_a_member_queued_before_the_window_gets_a_hold_when_it_opens() -> None:
    broker = Broker(THREE_H100)
    broker.set_project(ProjectPolicy("class", quota_units=1.0))
    broker.submit(lease("first", project="class", hours=8), T0)
    broker.submit(lease("m", project="class", hours=4), T0 + 1)  # over quota: queued
    broker.add_reservation(class_reservation(count=1), T0 + 2)

    events = advance(broker, T0 + HOUR) + advance(broker, T0 + HOUR + 60)

    assert kinds(events, "m")[0] == "granted"
    assert broker.leases["m"].live
    assert broker.leases["m"].reservation_id == "r"


def test_holds_are_released_at_the_window_end() -> None:
    broker = Broker(THREE_H100)
    broker.add_reservation(class_reservation(count=2), T0)
    advance(broker, T0 + HOUR)

    advance(broker, T0 + 3 * HOUR)

    assert broker.reservations["r"].holds == []
    assert broker.reservations["r"].state == "ended"
    assert broker.cluster.used_milli == 0


def test_cancelling_a_reservation_releases_its_holds() -> None:
    broker = Broker(THREE_H100)
    broker.add_reservation(class_reservation(count=2), T0)
    advance(broker, T0 + HOUR)

    broker.cancel_reservation("r", T0 + HOUR + 1)

    assert broker.reservations["r"].holds == []
    assert broker.reservations["r"].state == "cancelled"
    assert broker.cluster.used_milli == 0


# --- time-of-use deferral -------------------------------------------------------------------


def flexible(lease_id: str = "f", *, deadline_h: float = 24.0, hours: float = 2.0) -> Lease:
    """A flexible batch request submitted at 09:00 Shanghai time, due ``deadline_h`` later."""
    return lease(
        lease_id,
        priority="batch",
        hours=hours,
        flexible=True,
        deadline=PEAK_9AM + deadline_h * HOUR,
    )


def test_a_flexible_batch_request_at_peak_is_deferred_to_the_valley() -> None:
    broker = Broker(TWO_H100, tariff=EXAMPLE_SHANGHAI)

    events = broker.submit(flexible(), PEAK_9AM)

    deferred = broker.leases["f"]
    assert kinds(events) == ["requested", "deferred"]
    assert deferred.state == "queued" and deferred.placement is None
    assert deferred.not_before is not None and deferred.not_before > PEAK_9AM
    start = datetime.fromtimestamp(deferred.not_before, SH)
    assert EXAMPLE_SHANGHAI.price_at(start)[0] == "valley"
    assert events[-1].data["not_before"] == deferred.not_before
    assert events[-1].data["saving"] > 0


def test_a_deferred_lease_is_granted_once_its_start_passes() -> None:
    broker = Broker(TWO_H100, tariff=EXAMPLE_SHANGHAI)
    broker.submit(flexible(), PEAK_9AM)
    start = broker.leases["f"].not_before
    assert start is not None
    advance(broker, start - 1)
    assert broker.leases["f"].state == "queued"

    events = advance(broker, start)

    assert kinds(events, "f") == ["granted"]
    assert broker.leases["f"].expires_at == start + 2 * HOUR


def test_a_request_that_is_not_flexible_is_granted_at_once() -> None:
    broker = Broker(TWO_H100, tariff=EXAMPLE_SHANGHAI)
    request = lease("f", priority="batch", hours=2, deadline=PEAK_9AM + 24 * HOUR)

    events = broker.submit(request, PEAK_9AM)

    assert kinds(events) == ["requested", "granted"]
    assert request.not_before is None


def test_a_tight_deadline_keeps_a_flexible_request_immediate() -> None:
    broker = Broker(TWO_H100, tariff=EXAMPLE_SHANGHAI)

    events = broker.submit(flexible(deadline_h=2.0), PEAK_9AM)

    assert kinds(events) == ["requested", "granted"]
    assert broker.leases["f"].not_before is None


# --- estimates, pools, draining, admission ---------------------------------------------------


def test_queue_estimates_number_the_queue_in_its_order() -> None:
    broker = Broker(ONE_H100)
    broker.submit(lease("hog", hours=2), T0)
    broker.submit(lease("y", project="a", priority="batch"), T0 + 1)
    broker.submit(lease("x", project="b"), T0 + 2)
    broker.submit(lease("z", project="c"), T0 + 3)

    estimates = broker.queue_estimates(T0 + 4)

    assert list(estimates) == ["x", "z", "y"]
    assert [e["position"] for e in estimates.values()] == [1, 2, 3]


def test_expected_starts_follow_the_expiries_that_free_room() -> None:
    broker = Broker(TWO_H100)
    broker.submit(lease("soon", hours=1), T0)
    broker.submit(lease("late", hours=3), T0)
    broker.submit(lease("x", project="a"), T0 + 1)
    broker.submit(lease("y", project="b"), T0 + 2)

    estimates = broker.queue_estimates(T0 + 3)

    # x takes the GPU "soon" frees at 1 h and holds it for its own hour; y gets it next, at
    # 2 h, before "late" ends at 3 h.
    assert estimates["x"]["expected_start"] == T0 + HOUR
    assert estimates["y"]["expected_start"] == T0 + 2 * HOUR


def test_pools_report_free_capacity_that_drops_on_grant_and_recovers_on_release() -> None:
    broker = Broker(TWO_H100)
    before = broker.pools()[0]

    broker.submit(lease("a", "h100:3g.40gb"), T0)
    during = broker.pools()[0]
    broker.release("a", T0 + 1)
    after = broker.pools()[0]

    assert (before["free_devices"], during["free_devices"], after["free_devices"]) == (2, 1, 2)
    assert during["profiles"]["7g.80gb"] == before["profiles"]["7g.80gb"] - 1
    assert after == before


def test_a_drained_node_takes_no_new_placements() -> None:
    broker = Broker(TWO_H100)
    broker.drain("h1", True, T0)

    broker.submit(lease("a"), T0 + 1)
    events = broker.submit(lease("b"), T0 + 2)

    placed = broker.leases["a"].placement
    assert placed is not None and placed.node_name == "h2"
    assert kinds(events) == ["requested", "queued"]


def test_undraining_a_node_lets_the_queue_in() -> None:
    broker = Broker(TWO_H100)
    broker.drain("h1", True, T0)
    broker.submit(lease("a"), T0 + 1)
    broker.submit(lease("b"), T0 + 2)

    events = broker.drain("h1", False, T0 + 3)

    placed = broker.leases["b"].placement
    assert kinds(events) == ["granted"]
    assert placed is not None and placed.node_name == "h1"


def test_draining_a_busy_node_does_not_break_queueing() -> None:
    broker = Broker(TWO_H100)
    broker.submit(lease("a", hours=1), T0)
    broker.submit(lease("b", hours=2), T0)
    broker.drain("h1", True, T0 + 1)

    events = broker.submit(lease("c"), T0 + 2)

    assert kinds(events) == ["requested", "queued"]
    assert broker.cluster.used_milli == 2000


def test_a_request_no_node_could_ever_hold_is_refused() -> None:
    broker = Broker(TWO_H100)

    with pytest.raises(LookupError, match="could ever hold"):
        broker.submit(lease("a", "h100:2"), T0)  # two GPUs, but one per node

    assert broker.leases == {} and broker.queue == []


def test_hours_above_the_project_maximum_are_refused() -> None:
    broker = Broker(TWO_H100)
    broker.set_project(ProjectPolicy("p", ttl_max_h=4))

    with pytest.raises(ValueError, match="between 0 and 4"):
        broker.submit(lease("a", hours=5), T0)

    assert broker.leases == {}


# --- restore ---------------------------------------------------------------------------------

MIXED = inventory(
    node("h1", "h100-80gb", 1, cpu=16, memory_gib=64),
    node("h2", "h100-80gb", 1, cpu=16, memory_gib=64),
    node("t", "t4", 2, cpu=16, memory_gib=64),
)


def busy_broker() -> Broker:
    """MIG slices, shares and whole GPUs granted on MIXED, and two requests waiting."""
    broker = Broker(MIXED)
    specs = ["h100:1g.10gb", "h100:3g.40gb", "h100:1", "t4:0.5 cpu=4", "t4:0.25", "h100:2g.20gb"]
    for i, spec in enumerate(specs):
        broker.submit(lease(f"g{i}", spec), T0 + i)
    broker.submit(lease("q1", "h100:7g.80gb"), T0 + 10)
    broker.submit(lease("q2", "t4:2", priority="batch"), T0 + 11)
    return broker


def test_restore_retakes_the_exact_allocations() -> None:
    broker = busy_broker()
    restored = Broker(MIXED)

    restored.restore([copy.deepcopy(v) for v in broker.leases.values()], now=T0 + 20)

    assert snapshot(restored.cluster) == snapshot(broker.cluster)
    check_cluster(restored.cluster)


def test_restore_keeps_the_queue() -> None:
    broker = busy_broker()
    restored = Broker(MIXED)

    restored.restore([copy.deepcopy(v) for v in broker.leases.values()], now=T0 + 20)

    assert broker.queue == ["q1", "q2"]
    assert restored.queue == broker.queue
    assert all(restored.leases[i].state == "queued" for i in restored.queue)


def test_restore_over_a_drained_node_keeps_its_leases() -> None:
    broker = busy_broker()
    restored = Broker(MIXED)
    restored.cluster.set_drained(restored.cluster.node_index("t"), True)

    restored.restore([copy.deepcopy(v) for v in broker.leases.values()], now=T0 + 20)

    assert restored.cluster.used_milli == broker.cluster.used_milli


def test_restore_remembers_what_a_notice_makes_room_for() -> None:
    broker = Broker(ONE_H100)
    broker.submit(lease("b", project="x", priority="batch", hours=4), T0)
    broker.submit(lease("i", project="y"), T0 + 10)
    saved = [copy.deepcopy(v) for v in broker.leases.values()]
    for row in saved:  # the database keeps the reason, not the target
        row.preempt_for = None
    restored = Broker(ONE_H100)

    restored.restore(saved, now=T0 + 20)
    events = restored.release("i", T0 + 30)

    assert ("b", "preemption_withdrawn") in [(e.lease_id, e.type) for e in events]


# --- the property test -----------------------------------------------------------------------

SPECS = [
    "h100:1g.10gb",
    "h100:2g.20gb x2",
    "h100:3g.40gb",
    "h100:7g.80gb",
    "h100:1",
    "t4:0.25 cpu=4",
    "t4:0.5",
    "t4:1",
    "t4:2",
    "gpu:0.5",
]
PROJECTS = ["A", "B", "C"]
SMALL = inventory(
    node("h", "h100-80gb", 1, cpu=16, memory_gib=64),
    node("t", "t4", 2, cpu=8, memory_gib=32),
)  # small enough that requests queue, preempt and borrow


def check_broker(broker: Broker) -> None:
    """Nothing over-allocated; live placements and holds are exactly what the cluster holds;
    every lease is in exactly one of queue, live and ended."""
    check_cluster(broker.cluster)
    rebuilt = Cluster(broker.inventory, tie_seed=0)
    for held in broker.leases.values():
        if held.live:
            assert held.placement is not None
            rebuilt.place(held.request, held.placement.node, held.placement.parts)
    for reservation in broker.reservations.values():
        for hold in reservation.holds:
            rebuilt.place(reservation.request, hold.node, hold.parts)
    assert snapshot(rebuilt) == snapshot(broker.cluster)

    assert len(broker.queue) == len(set(broker.queue))
    queued = {i for i, v in broker.leases.items() if v.state == "queued"}
    live = {i for i, v in broker.leases.items() if v.state in LIVE}
    ended = {i for i, v in broker.leases.items() if v.state in ENDED}
    assert set(broker.queue) == queued
    assert queued | live | ended == set(broker.leases)
    assert len(queued) + len(live) + len(ended) == len(broker.leases)
    assert all(broker.leases[i].placement is None for i in queued)


def pick(broker: Broker, index: int) -> Lease | None:
    """The ``index``-th lease ever submitted (modulo their count), or None before any."""
    ids = list(broker.leases)
    return broker.leases[ids[index % len(ids)]] if ids else None


def apply(broker: Broker, op: tuple[Any, ...], now: float, serial: int) -> float:
    """Carry out one random command at ``now``; returns the clock after it."""
    match op:
        case ("submit", spec, project, priority, hours):
            request = lease(f"l{serial}", spec, project=project, priority=priority, hours=hours)
            broker.submit(request, now)
        case ("release", index):
            if (target := pick(broker, index)) is not None:
                broker.release(target.id, now)
        case ("heartbeat", index, utilization):
            if (target := pick(broker, index)) is not None and target.live:
                broker.heartbeat(target.id, now, utilization)
        case ("renew", index, hours):
            target = pick(broker, index)
            if target is not None and target.live and target.preempt_at is None:
                broker.renew(target.id, hours, now)
        case ("tick", seconds, healthy):
            now += seconds
            if healthy:  # every live lease heartbeats first
                advance(broker, now)
            else:
                broker.tick(now)
        case ("reserve", spec, count):
            reservation = Reservation(f"r{serial}", "C", spec, count, now + 600, now + HOUR)
            broker.add_reservation(reservation, now)
    return now


submit = st.tuples(
    st.just("submit"),
    st.sampled_from(SPECS),
    st.sampled_from(PROJECTS),
    st.sampled_from(["interactive", "batch"]),
    st.sampled_from([0.25, 1.0, 3.0]),
)
operation = st.one_of(
    submit,
    submit,
    st.tuples(st.just("release"), st.integers(0, 60)),
    st.tuples(st.just("heartbeat"), st.integers(0, 60), st.sampled_from([None, 0.0, 0.9])),
    st.tuples(st.just("renew"), st.integers(0, 60), st.sampled_from([0.5, 2.0])),
    st.tuples(st.just("tick"), st.sampled_from([5.0, 60.0, 130.0, 1800.0]), st.booleans()),
    st.tuples(st.just("reserve"), st.sampled_from(["h100:3g.40gb", "t4:0.5"]), st.integers(1, 2)),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(operation, min_size=10, max_size=60))
def test_random_broker_commands_keep_the_books_exact(ops: list[tuple[Any, ...]]) -> None:
    broker = Broker(SMALL)
    broker.set_project(ProjectPolicy("A", org_id="uni", quota_units=1.0, cohort="lab"))
    broker.set_project(ProjectPolicy("B", org_id="uni", quota_units=1.0, cohort="lab"))
    broker.set_project(ProjectPolicy("C", idle_limit_min=5))
    now = T0

    for serial, op in enumerate(ops):
        now = apply(broker, op, now + 1.0, serial)

        check_broker(broker)
