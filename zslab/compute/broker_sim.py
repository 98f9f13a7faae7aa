"""Replay jobs with arrivals and departures through the production :class:`Broker`.

The broker benchmark's trace-driven half, and a tool for trying queue settings before changing
a shared hub. Each :class:`Job` arrives, is submitted as a lease (priority class, project, its
slice as the request grammar spells it, declared hours rounded up to a quarter), runs for its
real duration once granted and is then released. A job whose lease is preempted resumes, as a
new lease, with the work it still had left (it checkpointed at the notice), so preemption costs
queue time but loses no work.

Reported per run: GPU utilisation over the arrival window, queue wait (arrival to first grant)
per priority class, and fairness across projects — Jain's index over each project's
*received share*: the GPU units it held, integrated over the time some request was waiting,
divided by what max-min fair division of the units then in use would have given it for its
demand (held plus queued). 1.0 means every project got its fair share while there was
contention; FIFO hands a project that floods the queue more than its share.
"""

from __future__ import annotations

import heapq
import math
import random
import statistics
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from zslab.compute.broker import Broker, BrokerSettings, Event, Lease, ProjectPolicy
from zslab.compute.cluster import Cluster
from zslab.compute.inventory import Inventory
from zslab.compute.trace import TracePod

__all__ = [
    "DEFAULT_PROJECTS",
    "BrokerSimResult",
    "Job",
    "jain_index",
    "jobs_from_trace",
    "max_min_shares",
    "replay_broker",
]

HOUR = 3600.0
# Eight projects of a shared cluster with very different appetites (weights of arrivals).
DEFAULT_PROJECTS: tuple[tuple[str, float], ...] = (
    ("llm-pretrain", 0.30),
    ("recsys", 0.20),
    ("vision", 0.15),
    ("speech", 0.10),
    ("course-ai101", 0.10),
    ("finance-risk", 0.06),
    ("medical-nlp", 0.05),
    ("city-traffic", 0.04),
)


@dataclass(frozen=True)
class Job:
    """Work to run: who, how urgent, what slice, when it arrives and how long it runs."""

    id: str
    project: str
    priority: Literal["interactive", "batch"]
    spec: str
    units: float  # GPU units it asks for (a share counts its fraction)
    arrival: float  # seconds from the start
    duration_s: float


def jobs_from_trace(
    pods: Iterable[TracePod],
    *,
    capacity_units: float,
    load: float,
    seed: int,
    projects: Sequence[tuple[str, float]] = DEFAULT_PROJECTS,
    limit: int | None = None,
    max_duration_s: float = 24 * HOUR,
    fits: Cluster | None = None,
) -> list[Job]:
    """Jobs with the trace's sizes, QoS and run times, arriving as a Poisson process.

    The trace's own creation times spread its pods over months (a snapshot of a cluster far
    from full), so arrivals are redrawn: exponential gaps at the rate that makes the offered
    load (GPU units × run time per second) ``load`` × ``capacity_units``. Arrival *order*
    follows the trace. QoS ``LS`` becomes interactive, the rest batch; projects are drawn with
    the given weights. Run times are clamped to [60 s, ``max_duration_s``]; pods without GPUs,
    without times, or (when ``fits`` is given) that no node of that cluster could hold are left
    out.
    """
    rng = random.Random(seed)
    chosen = []
    for pod in sorted(pods, key=lambda p: (p.creation_time or 0, p.name)):
        if pod.num_gpu == 0 or pod.creation_time is None or pod.deletion_time is None:
            continue
        if fits is not None and not fits.could_ever_fit(pod.request):
            continue
        chosen.append(pod)
        if limit is not None and len(chosen) >= limit:
            break
    if not chosen:
        return []
    durations = [
        min(max(float(p.deletion_time - p.creation_time), 60.0), max_duration_s)  # type: ignore[operator]
        for p in chosen
    ]
    units = [p.total_gpu_milli / 1000 for p in chosen]
    work = statistics.fmean(u * d for u, d in zip(units, durations, strict=True))
    rate = load * capacity_units / work  # arrivals per second
    names = [name for name, _ in projects]
    weights = [weight for _, weight in projects]
    jobs = []
    clock = 0.0
    for pod, duration, size in zip(chosen, durations, units, strict=True):
        clock += rng.expovariate(rate)
        jobs.append(
            Job(
                id=pod.name,
                project=rng.choices(names, weights)[0],
                priority="interactive" if pod.qos == "LS" else "batch",
                spec=str(pod.request),
                units=size,
                arrival=clock,
                duration_s=duration,
            )
        )
    return jobs


def max_min_shares(capacity: float, demands: dict[str, float]) -> dict[str, float]:
    """Max-min fair division of ``capacity`` among ``demands`` (water-filling, equal weights)."""
    shares = dict.fromkeys(demands, 0.0)
    left = capacity
    open_ = sorted((d, p) for p, d in demands.items() if d > 0)
    while open_ and left > 1e-12:
        level = left / len(open_)
        demand, project = open_[0]
        if demand <= level:
            shares[project] = demand
            left -= demand
            open_.pop(0)
        else:
            for _, p in open_:
                shares[p] = level
            left = 0.0
            open_ = []
    return shares


def jain_index(values: Sequence[float]) -> float:
    """Jain's fairness index: 1 when all equal, 1/n when one value takes everything."""
    if not values:
        return 1.0
    total = sum(values)
    squares = sum(v * v for v in values)
    return total * total / (len(values) * squares) if squares > 0 else 1.0


@dataclass
class BrokerSimResult:
    order: str
    jobs: int
    capacity_units: float
    utilization: float  # mean GPU units held / capacity, over the arrival window
    waits: dict[str, dict[str, float]]  # class -> mean_s, p95_s, count
    jain: float
    received_share: dict[str, float]  # project -> held / fair, while contended
    preemptions: int
    contended_s: float
    makespan_s: float
    wall_s: float
    per_project_wait_s: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "order": self.order,
            "jobs": self.jobs,
            "capacity_units": self.capacity_units,
            "utilization": self.utilization,
            "waits": self.waits,
            "jain": self.jain,
            "received_share": self.received_share,
            "per_project_mean_wait_s": self.per_project_wait_s,
            "preemptions": self.preemptions,
            "contended_s": self.contended_s,
            "makespan_s": self.makespan_s,
            "wall_s": self.wall_s,
        }


@dataclass
class _Run:
    job: Job
    left_s: float
    attempt: int = 0
    first_grant: float | None = None
    granted_at: float | None = None


def _declared_hours(seconds: float) -> float:
    return max(0.25, math.ceil(seconds / HOUR * 4) / 4)


def replay_broker(
    inventory: Inventory,
    jobs: Sequence[Job],
    *,
    order: Literal["fair", "fifo"] = "fair",
    policy: str = "zslab",
    grace_s: float = 120.0,
    progress: Any = None,
) -> BrokerSimResult:
    """Run ``jobs`` through a broker over ``inventory`` and measure the queue (see module)."""
    broker = Broker(
        inventory,
        policy=policy,
        settings=BrokerSettings(
            heartbeat_s=1e9,  # simulated clients never miss a heartbeat
            preemption_grace_s=grace_s,
            queue_order=order,
            forget_ended_s=60.0,
        ),
    )
    for project in {job.project for job in jobs}:
        broker.set_project(ProjectPolicy(project, ttl_max_h=48.0))
    capacity = float(broker.cluster.total_devices)
    runs = {job.id: _Run(job, job.duration_s) for job in jobs}
    by_lease: dict[str, _Run] = {}
    heap: list[tuple[float, int, str, str]] = []
    seq = 0

    def push(at: float, kind: str, key: str) -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(heap, (at, seq, kind, key))

    for job in jobs:
        push(job.arrival, "arrive", job.id)
    held: dict[str, float] = defaultdict(float)
    queued: dict[str, float] = defaultdict(float)
    held_integral: dict[str, float] = defaultdict(float)
    fair_integral: dict[str, float] = defaultdict(float)
    busy_integral = 0.0
    contended_s = 0.0
    preemptions = 0
    last_arrival = max((job.arrival for job in jobs), default=0.0)
    clock = 0.0
    started = time.perf_counter()

    def submit(run: _Run, at: float) -> list[Event]:
        lease_id = f"{run.job.id}#{run.attempt}"
        by_lease[lease_id] = run
        queued[run.job.project] += run.job.units
        lease = Lease(
            id=lease_id,
            user_id="sim",
            project_id=run.job.project,
            spec=run.job.spec,
            hours=_declared_hours(run.left_s),
            priority=run.job.priority,
        )
        return broker.submit(lease, at)

    def handle(events: list[Event], at: float) -> list[Event]:
        nonlocal preemptions
        follow: list[Event] = []
        for event in events:
            run = by_lease.get(event.lease_id)
            if run is None:
                continue
            project = run.job.project
            if event.type == "granted":
                queued[project] -= run.job.units
                held[project] += broker.leases[event.lease_id].units
                run.granted_at = at
                if run.first_grant is None:
                    run.first_grant = at
                push(at + run.left_s, "depart", event.lease_id)
            elif event.type == "preemption_notice":
                push(event.data["preempt_at"], "tick", "")
            elif event.type in {"released", "preempted", "expired"}:
                lease = broker.leases[event.lease_id]
                held[project] -= lease.units
                if event.type != "released":
                    assert run.granted_at is not None
                    preemptions += 1
                    run.left_s = max(60.0, run.left_s - (at - run.granted_at))
                    run.attempt += 1
                    follow += submit(run, at)
            elif event.type == "failed":
                queued[project] -= run.job.units
        return follow

    while heap:
        at, _, kind, key = heapq.heappop(heap)
        dt = at - clock
        if dt > 0:
            in_use = sum(held.values())
            if clock < last_arrival:
                busy_integral += in_use * min(dt, last_arrival - clock)
            if broker.queue:
                contended_s += dt
                demands = {p: held[p] + queued[p] for p in set(held) | set(queued)}
                fair = max_min_shares(in_use, demands)
                for project, share in fair.items():
                    fair_integral[project] += share * dt
                    held_integral[project] += held[project] * dt
            clock = at
        if kind == "arrive":
            events = submit(runs[key], at)
        elif kind == "depart":
            lease = broker.leases.get(key)
            events = broker.release(key, at) if lease is not None and lease.live else []
        else:
            events = broker.tick(at)
        while events:
            events = handle(events, at)
        if progress is not None:
            progress(1)

    waits: dict[str, list[float]] = defaultdict(list)
    project_waits: dict[str, list[float]] = defaultdict(list)
    for run in runs.values():
        assert run.first_grant is not None, f"{run.job.id} never started"
        waits[run.job.priority].append(run.first_grant - run.job.arrival)
        project_waits[run.job.project].append(run.first_grant - run.job.arrival)
    received = {
        project: held_integral[project] / fair_integral[project]
        for project in sorted(fair_integral)
        if fair_integral[project] > 0
    }
    return BrokerSimResult(
        order=order,
        jobs=len(jobs),
        capacity_units=capacity,
        utilization=busy_integral / (capacity * last_arrival) if last_arrival > 0 else 0.0,
        waits={
            priority: {
                "mean_s": statistics.fmean(values),
                "p95_s": _percentile(sorted(values), 0.95),
                "count": len(values),
            }
            for priority, values in sorted(waits.items())
        },
        jain=jain_index(list(received.values())),
        received_share=received,
        preemptions=preemptions,
        contended_s=contended_s,
        makespan_s=clock,
        wall_s=time.perf_counter() - started,
        per_project_wait_s={p: statistics.fmean(v) for p, v in sorted(project_waits.items())},
    )


def _percentile(values: Sequence[float], q: float) -> float:
    rank = max(1, math.ceil(q * len(values)))
    return values[rank - 1]
