"""The trace-driven broker replay behind benchmarks/broker: jobs, fairness, fair vs FIFO."""

from __future__ import annotations

import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.compute.conftest import inventory, node
from tests.conftest import trace_file
from zslab.compute.broker_sim import (
    Job,
    jain_index,
    jobs_from_trace,
    max_min_shares,
    replay_broker,
)
from zslab.compute.cluster import Cluster
from zslab.compute.trace import TracePod, read_trace_pods

HOUR = 3600.0
TWO_H100 = inventory(node("h1", "h100-80gb", 1), node("h2", "h100-80gb", 1))

# --- fairness measures ------------------------------------------------------------------------


def test_jain_index_is_one_for_equal_shares_and_one_over_n_for_a_monopoly() -> None:
    assert jain_index([2.0, 2.0, 2.0]) == pytest.approx(1.0)
    assert jain_index([5.0, 0.0, 0.0, 0.0]) == pytest.approx(0.25)
    assert jain_index([1.0, 2.0]) == pytest.approx(9 / 10)  # (1+2)^2 / (2 * (1+4))
    assert jain_index([]) == 1.0


def test_max_min_shares_fill_small_demands_first_and_split_the_rest_equally() -> None:
    shares = max_min_shares(10.0, {"a": 2.0, "b": 10.0, "c": 10.0, "idle": 0.0})

    assert shares == pytest.approx({"a": 2.0, "b": 4.0, "c": 4.0, "idle": 0.0})


def test_max_min_shares_give_everyone_their_demand_when_capacity_suffices() -> None:
    assert max_min_shares(10.0, {"a": 1.0, "b": 3.0}) == pytest.approx({"a": 1.0, "b": 3.0})


@given(
    capacity=st.floats(0.0, 100.0),
    demands=st.dictionaries(st.sampled_from("abcdefg"), st.floats(0.0, 50.0), max_size=7),
)
def test_max_min_shares_are_max_min_fair(capacity: float, demands: dict[str, float]) -> None:
    shares = max_min_shares(capacity, demands)

    assert set(shares) == set(demands)
    assert sum(shares.values()) == pytest.approx(min(capacity, sum(demands.values())), abs=1e-6)
    for project, share in shares.items():
        assert -1e-9 <= share <= demands[project] + 1e-9
    # Nobody left short holds less than anyone else: raising a short share would need taking
    # from a share that is no larger.
    short = [shares[p] for p in demands if shares[p] < demands[p] - 1e-6]
    if short:
        assert max(shares.values()) <= min(short) + 1e-6


# --- jobs from the trace ----------------------------------------------------------------------


def pod(
    name: str, *, gpus: int = 1, milli: int = 1000, qos: str = "BE", run_s: int = 600
) -> TracePod:
    return TracePod(
        name,
        cpu_milli=4000,
        memory_mib=8192,
        num_gpu=gpus,
        gpu_milli=milli,
        creation_time=100,
        deletion_time=100 + run_s,
        qos=qos,
    )


def test_jobs_from_trace_keep_sizes_classes_and_run_times_and_skip_cpu_pods() -> None:
    pods = [
        pod("ls", qos="LS", run_s=1200),
        pod("share", milli=250, run_s=30),
        pod("cpu-only", gpus=0, milli=0),
        TracePod("no-times", 1000, 1024, 1, 1000),
    ]

    jobs = {job.id: job for job in jobs_from_trace(pods, capacity_units=4, load=1.0, seed=1)}

    assert set(jobs) == {"ls", "share"}
    assert jobs["ls"].priority == "interactive" and jobs["share"].priority == "batch"
    assert jobs["ls"].units == 1.0 and jobs["share"].units == 0.25
    assert jobs["ls"].duration_s == 1200
    assert jobs["share"].duration_s == 60  # clamped up to a minute


def test_jobs_from_trace_arrive_at_the_rate_that_makes_the_offered_load() -> None:
    pods = [pod(f"p{i:04d}", gpus=1 + i % 2, run_s=600) for i in range(4000)]

    jobs = jobs_from_trace(pods, capacity_units=30, load=0.8, seed=7)

    arrivals = [job.arrival for job in jobs]
    assert arrivals == sorted(arrivals)
    offered = sum(job.units * job.duration_s for job in jobs) / arrivals[-1]
    assert offered == pytest.approx(0.8 * 30, rel=0.06)
    assert jobs == jobs_from_trace(pods, capacity_units=30, load=0.8, seed=7)  # reproducible
    assert jobs != jobs_from_trace(pods, capacity_units=30, load=0.8, seed=8)


def test_jobs_from_trace_leave_out_pods_no_node_could_hold() -> None:
    pods = [pod("fits"), pod("eight", gpus=8)]
    cluster = Cluster(TWO_H100)

    jobs = jobs_from_trace(pods, capacity_units=2, load=1.0, seed=1, fits=cluster)

    assert [job.id for job in jobs] == ["fits"]


def test_trace_qos_is_read_from_the_pod_list() -> None:
    pods = read_trace_pods(trace_file("openb_pod_list_default.csv"))

    classes = {p.qos for p in pods}
    assert {"LS", "BE"} <= classes
    jobs = jobs_from_trace(pods, capacity_units=100, load=1.0, seed=1, limit=2000)
    assert {job.priority for job in jobs} == {"interactive", "batch"}


# --- replay: fair share against FIFO ------------------------------------------------------------


def flood_then_latecomer(priority: str = "batch") -> list[Job]:
    """``flood`` queues six one-hour H100 jobs; ``late`` asks for two a few seconds later."""
    jobs = [Job(f"flood-{i}", "flood", "batch", "h100:1", 1.0, float(i), HOUR) for i in range(6)]
    jobs += [
        Job(f"late-{i}", "late", priority, "h100:1", 1.0, 10.0 + i, HOUR)  # type: ignore[arg-type]
        for i in range(2)
    ]
    return jobs


def test_fifo_makes_the_latecomer_wait_behind_the_whole_flood() -> None:
    result = replay_broker(TWO_H100, flood_then_latecomer(), order="fifo")

    assert result.jobs == 8 and result.preemptions == 0
    assert result.per_project_wait_s["late"] == pytest.approx(3 * HOUR - 10.5, abs=1)
    assert result.makespan_s == pytest.approx(4 * HOUR + 1, abs=1)


def test_fair_share_serves_the_latecomer_at_the_first_free_slot() -> None:
    fair = replay_broker(TWO_H100, flood_then_latecomer(), order="fair")
    fifo = replay_broker(TWO_H100, flood_then_latecomer(), order="fifo")

    # The two flood jobs running at t=0 end at 1 h; the latecomer, with no usage, goes next.
    assert fair.per_project_wait_s["late"] == pytest.approx(HOUR - 10.5, abs=1)
    assert fair.jain > fifo.jain
    assert fair.received_share["late"] > fifo.received_share["late"]
    # Same work, same machine: both keep the two GPUs busy until the last arrival.
    assert fair.utilization == pytest.approx(fifo.utilization)
    assert fair.makespan_s == pytest.approx(fifo.makespan_s, abs=1)


def test_interactive_work_preempts_batch_after_the_grace_and_no_work_is_lost() -> None:
    grace = 120.0
    result = replay_broker(TWO_H100, flood_then_latecomer("interactive"), grace_s=grace)

    waits = result.waits
    assert waits["interactive"]["count"] == 2
    assert waits["interactive"]["p95_s"] <= grace + 1
    assert result.preemptions == 2
    # Preempted jobs resume with what they had left: all eight GPU-hours still get done, so the
    # two GPUs are busy for four hours (plus the grace the preempted jobs overlapped by nothing).
    assert result.makespan_s == pytest.approx(4 * HOUR + 10, abs=30)


def test_a_trace_replay_reports_every_class_and_sane_measures() -> None:
    pods = read_trace_pods(trace_file("openb_pod_list_default.csv"))
    inv = inventory(*(node(f"v{i}", "v100m32", 8, cpu=96, memory_gib=512) for i in range(4)))
    jobs = jobs_from_trace(pods, capacity_units=32, load=1.0, seed=3, limit=300, fits=Cluster(inv))

    result = replay_broker(inv, jobs, order="fair")

    assert result.jobs == len(jobs) > 250
    assert 0.3 < result.utilization <= 1.0
    assert set(result.waits) == {"interactive", "batch"}
    assert sum(w["count"] for w in result.waits.values()) == len(jobs)
    assert 0.0 < result.jain <= 1.0
    assert statistics.fmean(result.received_share.values()) > 0
