"""Trace replay through the production placement code.

Two modes:

- :func:`replay_fill` replays a trace as the FGD paper does: the tasks are inflated by seeded
  resampling until their GPU demand reaches ``tune`` × the cluster's GPUs (130 % in the paper),
  shuffled, and placed one by one with no departures; a task that fits nowhere is dropped. After
  every task it records the arrived demand, the allocated GPU and the fragmentation, from which
  the allocation ratio at X % arrived demand is the mean over the events in that percent bucket.
- :func:`replay_timed` replays arrivals and departures on the trace's own timestamps with a
  FIFO queue: queueing delay and GPU utilisation over time.

Both report per-decision latency. :func:`run_seeds` runs several seeds in parallel processes.

>>> result = replay_fill(NODES, PODS, "bestfit", seed=42)      # doctest: +SKIP
>>> round(result.alloc_ratio(130), 2)                          # doctest: +SKIP
93.1
"""

from __future__ import annotations

import heapq
import itertools
import os
import random
import statistics
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from zslab.compute.cluster import MILLI, Cluster
from zslab.compute.frag import Workload
from zslab.compute.inventory import Inventory, NodeSpec
from zslab.compute.placement import Policy, make_policy
from zslab.compute.trace import TracePod, read_trace_pods
from zslab.errors import InvalidInput

__all__ = [
    "MIG_MIX",
    "FillResult",
    "StreamResult",
    "TimedResult",
    "inflate",
    "parse_seeds",
    "replay_fill",
    "replay_requests",
    "replay_timed",
    "run_seeds",
    "scale_inventory",
    "summarize",
    "uniform_inventory",
]


def parse_seeds(text: str) -> list[int]:
    """``42-51`` → [42, …, 51]; ``1,5,9`` → [1, 5, 9]."""
    seeds: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        low, sep, high = part.partition("-")
        try:
            if sep:
                start, end = int(low), int(high)
                if end < start:
                    raise ValueError
                seeds.extend(range(start, end + 1))
            else:
                seeds.append(int(part))
        except ValueError:
            raise ValueError(
                f"seeds {text!r}: write a range like 42-51 or a list like 1,5,9"
            ) from None
    if not seeds:
        raise ValueError("no seeds given")
    return seeds


def inflate(
    pods: Sequence[TracePod], capacity_milli: int, tune: float, rng: random.Random
) -> list[TracePod]:
    """The paper's workload: name-sorted, shuffled, then resampled clones appended until the GPU
    demand reaches ``tune`` × capacity (or tasks removed at random when it exceeds it).

    The stop rule compares the running total plus the candidate's *per-GPU* share with the
    target, as the reference simulator does.
    """
    original = sorted(pods, key=lambda p: p.name)
    if not any(p.gpu_milli for p in original):
        raise InvalidInput(
            "No task of the trace asks for a GPU, so its GPU demand cannot be inflated.",
            field="pods",
            fix="Replay a task list with GPU tasks, or use the timed mode.",
        )
    order = list(original)
    rng.shuffle(order)
    total = sum(p.total_gpu_milli for p in order)
    target = tune * capacity_milli
    if total < target:
        i = 0
        while True:
            pod = original[rng.randrange(len(original))]
            if total + pod.gpu_milli > target:
                break
            total += pod.total_gpu_milli
            order.append(pod.clone(f"-tuned-{i}"))
            i += 1
    else:
        while total > target and order:
            pod = order.pop(rng.randrange(len(order)))
            total -= pod.total_gpu_milli
    return order


@dataclass
class FillResult:
    """Per-event series of one fill replay, and what is computed from them."""

    policy: str
    trace: str
    seed: int
    total_devices: int
    arrived_milli: list[int] = field(default_factory=list)
    used_milli: list[int] = field(default_factory=list)
    frag_milli: list[float] = field(default_factory=list)
    idle_milli: list[int] = field(default_factory=list)
    latency_s: list[float] = field(default_factory=list)
    placed: int = 0
    failed: int = 0

    def _bucket(self, percent: int) -> list[int]:
        denominator = self.total_devices * 10  # milli → percent of the cluster's GPUs
        exact = [i for i, a in enumerate(self.arrived_milli) if round(a / denominator) == percent]
        if exact:
            return exact
        return [
            i
            for i, a in enumerate(self.arrived_milli)
            if percent - 1 <= round(a / denominator) <= percent + 1
        ]

    def alloc_ratio(self, percent: int) -> float | None:
        """Mean allocated GPU (% of the cluster) over the events at ``percent`` arrived demand."""
        rows = self._bucket(percent)
        if not rows:
            return None
        denominator = self.total_devices * 10
        return statistics.fmean(round(self.used_milli[i] / denominator, 2) for i in rows)

    def frag_rate(self, percent: int) -> float | None:
        """Mean fragmented share of the idle GPU (%) at ``percent`` arrived demand."""
        rows = [i for i in self._bucket(percent) if self.idle_milli[i] > 0]
        if not rows:
            return None
        return statistics.fmean(100 * self.frag_milli[i] / self.idle_milli[i] for i in rows)

    def frag_amount(self, percent: int) -> float | None:
        """Mean fragmented GPU (% of the cluster's GPUs) at ``percent`` arrived demand."""
        rows = self._bucket(percent)
        if not rows:
            return None
        return statistics.fmean(100 * self.frag_milli[i] / MILLI / self.total_devices for i in rows)

    def curve(self, percents: Iterable[int]) -> dict[int, float | None]:
        return {p: self.alloc_ratio(p) for p in percents}


def _load(nodes: str | Path, pods: str | Path) -> tuple[Inventory, list[TracePod]]:
    return Inventory.from_alibaba_trace(nodes), read_trace_pods(pods)


def replay_fill(
    nodes: str | Path | Inventory,
    pods: str | Path | Sequence[TracePod],
    policy: str,
    *,
    seed: int,
    tune: float = 1.3,
    progress: bool = False,
) -> FillResult:
    """Replay the FGD paper's experiment for one policy and one seed."""
    inventory = nodes if isinstance(nodes, Inventory) else Inventory.from_alibaba_trace(nodes)
    tasks = list(pods) if not isinstance(pods, str | Path) else read_trace_pods(pods)
    trace_name = Path(pods).stem if isinstance(pods, str | Path) else "tasks"
    workload = Workload.typical(tasks)
    rng = random.Random(seed)
    capacity = inventory.device_count * MILLI
    order = inflate(tasks, capacity, tune, rng)
    cluster = Cluster(inventory, tie_seed=rng.randrange(2**31))
    chosen: Policy = make_policy(policy, workload=workload, seed=rng.randrange(2**31))
    result = FillResult(policy, trace_name, seed, cluster.total_devices)
    node_frag = [
        workload.fragmentation(n.spec.model, n.cpu_left, tuple(sorted(n.free)))
        for n in cluster.nodes
    ]
    frag_total = sum(node_frag)
    arrived = 0
    iterator: Iterable[TracePod] = order
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(order, desc=f"{policy} seed {seed}", unit="task", leave=False)
    clock = time.perf_counter
    for pod in iterator:
        arrived += pod.total_gpu_milli
        request = pod.request
        started = clock()
        decision = chosen.decide(cluster, request)
        result.latency_s.append(clock() - started)
        if decision is None:
            result.failed += 1
        else:
            cluster.place(request, decision.node, decision.parts)
            result.placed += 1
            node = cluster.nodes[decision.node]
            value = workload.fragmentation(node.spec.model, node.cpu_left, tuple(sorted(node.free)))
            frag_total += value - node_frag[decision.node]
            node_frag[decision.node] = value
        result.arrived_milli.append(arrived)
        result.used_milli.append(cluster.used_milli)
        result.frag_milli.append(frag_total)
        result.idle_milli.append(cluster.total_milli - cluster.used_milli)
    return result


@dataclass
class TimedResult:
    """Queueing and utilisation of a timed replay."""

    policy: str
    trace: str
    placed: int
    never_placed: int
    queue_delay_s: list[float]
    utilization: list[tuple[int, float]]  # (time s, allocated GPU %)
    latency_s: list[float]
    last_arrival: int = 0

    def mean_utilization(self) -> float:
        """Allocated GPU (%) averaged over time while tasks still arrive (not over events, and
        not over the drain after the last arrival)."""
        points = [(t, u) for t, u in self.utilization if t <= self.last_arrival]
        if len(points) < 2:
            return points[0][1] if points else 0.0
        area = sum((t2 - t1) * u for (t1, u), (t2, _) in itertools.pairwise(points))
        span = points[-1][0] - points[0][0]
        return area / span if span else points[-1][1]

    def summary(self) -> dict[str, Any]:
        delays = sorted(self.queue_delay_s) or [0.0]
        util = [u for _, u in self.utilization] or [0.0]
        return {
            "policy": self.policy,
            "trace": self.trace,
            "placed": self.placed,
            "never_placed": self.never_placed,
            "queue_delay_s": {
                "mean": statistics.fmean(delays),
                "p50": delays[len(delays) // 2],
                "p99": delays[min(len(delays) - 1, int(len(delays) * 0.99))],
            },
            "utilization_pct": {"mean": self.mean_utilization(), "max": max(util)},
        }


def replay_timed(
    nodes: str | Path | Inventory,
    pods: str | Path | Sequence[TracePod],
    policy: str,
    *,
    seed: int = 0,
    max_wait_s: int | None = None,
    compress: float = 1.0,
) -> TimedResult:
    """Replay arrivals at ``creation_time`` and departures after each task's own run time.

    A task that fits nowhere waits in a FIFO queue; after every departure the queue is retried
    in order. ``max_wait_s`` drops tasks that waited longer. ``compress`` > 1 brings arrivals
    closer together (run times unchanged): the trace's own pace leaves its cluster mostly idle.
    """
    if compress <= 0:
        raise ValueError("compress must be positive")
    inventory = nodes if isinstance(nodes, Inventory) else Inventory.from_alibaba_trace(nodes)
    tasks = list(pods) if not isinstance(pods, str | Path) else read_trace_pods(pods)
    trace_name = Path(pods).stem if isinstance(pods, str | Path) else "tasks"
    timed = [
        p
        for p in tasks
        if p.creation_time is not None
        and p.deletion_time is not None
        and p.deletion_time > p.creation_time
    ]
    if not timed:
        raise ValueError("the trace has no tasks with both creation_time and deletion_time")
    timed.sort(key=lambda p: (p.creation_time, p.name))
    workload = Workload.typical(tasks)
    cluster = Cluster(inventory, tie_seed=seed)
    chosen = make_policy(policy, workload=workload, seed=seed)
    events: list[tuple[int, int, int, Any]] = []  # (time, kind 0=depart 1=arrive, seq, payload)
    seq = 0
    start = timed[0].creation_time or 0
    last_arrival = start
    for pod in timed:
        assert pod.creation_time is not None
        arrival = start + round((pod.creation_time - start) / compress)
        last_arrival = max(last_arrival, arrival)
        heapq.heappush(events, (arrival, 1, seq, pod))
        seq += 1
    queue: list[tuple[int, TracePod]] = []
    delays: list[float] = []
    utilization: list[tuple[int, float]] = []
    latencies: list[float] = []
    placed = never = 0

    def try_place(now: int, pod: TracePod) -> bool:
        nonlocal seq, placed
        started = time.perf_counter()
        decision = chosen.decide(cluster, pod.request)
        latencies.append(time.perf_counter() - started)
        if decision is None:
            return False
        placement = cluster.place(pod.request, decision.node, decision.parts)
        run = pod.deletion_time - pod.creation_time  # type: ignore[operator]
        heapq.heappush(events, (now + run, 0, seq, placement))
        seq += 1
        placed += 1
        return True

    while events:
        now, kind, _, payload = heapq.heappop(events)
        if kind == 0:
            cluster.release(payload)
            waiting, queue = queue, []
            for arrived, pod in waiting:
                if max_wait_s is not None and now - arrived > max_wait_s:
                    never += 1
                elif try_place(now, pod):
                    delays.append(now - arrived)
                else:
                    queue.append((arrived, pod))
        elif try_place(now, payload):
            delays.append(0.0)
        else:
            queue.append((now, payload))
        utilization.append((now, 100 * cluster.used_milli / max(cluster.total_milli, 1)))
    never += len(queue)
    return TimedResult(
        policy, trace_name, placed, never, delays, utilization, latencies, last_arrival
    )


def _run_one(args: tuple[str, str, str, int, float]) -> FillResult:
    nodes, pods, policy, seed, tune = args
    return replay_fill(nodes, pods, policy, seed=seed, tune=tune)


def run_seeds(
    nodes: str | Path,
    pods: str | Path,
    policy: str,
    seeds: Sequence[int],
    *,
    tune: float = 1.3,
    workers: int | None = None,
    progress: bool = False,
) -> list[FillResult]:
    """One fill replay per seed, in parallel processes (one per core by default)."""
    jobs = [(str(nodes), str(pods), policy, seed, tune) for seed in seeds]
    workers = workers or min(len(jobs), os.cpu_count() or 1)
    if workers <= 1:
        return [_run_one(job) for job in jobs]
    with ProcessPoolExecutor(workers) as pool:
        results = pool.map(_run_one, jobs)
        if progress:
            from tqdm.auto import tqdm

            results = tqdm(results, total=len(jobs), desc=policy, unit="seed")
        return list(results)


def summarize(results: Sequence[FillResult]) -> dict[str, Any]:
    """The JSON object ``zslab sim --json`` prints (means over seeds)."""

    def mean(values: Iterable[float | None]) -> float | None:
        present = [v for v in values if v is not None]
        return round(statistics.fmean(present), 2) if present else None

    latencies = sorted(x for r in results for x in r.latency_s)
    total_time = sum(latencies)
    first = results[0]
    return {
        "policy": first.policy,
        "trace": first.trace,
        "seeds": [r.seed for r in results],
        "alloc_ratio": {str(p): mean(r.alloc_ratio(p) for r in results) for p in (100, 130)},
        "frag_rate": {str(p): mean(r.frag_rate(p) for r in results) for p in (80, 90)},
        "frag_amount": {str(p): mean(r.frag_amount(p) for r in results) for p in (80, 90)},
        "decision_latency_ms": {
            "p50": round(1000 * latencies[len(latencies) // 2], 4) if latencies else None,
            "p99": round(1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], 4)
            if latencies
            else None,
        },
        "decisions_per_s": round(len(latencies) / total_time, 1) if total_time else None,
        "placed": sum(r.placed for r in results),
        "failed": sum(r.failed for r in results),
    }


# --- synthetic clusters and request streams (speed and MIG benchmarks) -----------------------


def scale_inventory(inventory: Inventory, devices: int, *, name: str | None = None) -> Inventory:
    """Copies of ``inventory``'s nodes (renamed ``<name>-c<k>``) until ``devices`` accelerators."""
    nodes: list[NodeSpec] = []
    count = 0
    copy = 0
    while count < devices:
        for node in inventory.nodes:
            if count >= devices:
                break
            nodes.append(replace(node, name=f"{node.name}-c{copy}"))
            count += node.devices
        copy += 1
    return Inventory(name or f"{inventory.name}-x{devices}", tuple(nodes))


def uniform_inventory(
    nodes: int, *, model: str, devices: int, cpu: int = 192, memory_gib: int = 2048
) -> Inventory:
    """``nodes`` identical machines (e.g. 1,250 × 8 H100 = a 10,000-GPU MIG cluster)."""
    return Inventory(
        f"{nodes}x{devices}-{model}",
        tuple(
            NodeSpec(f"n{i:05d}", "sim", model, cpu * 1000, memory_gib * 1024, model, devices)
            for i in range(nodes)
        ),
    )


# A mix of MIG and whole-GPU requests for 80 GB MIG parts, weights by how often each arrives.
# Illustrative, not measured: no public trace records MIG profile requests.
MIG_MIX: tuple[tuple[str, int], ...] = (
    ("h100:1g.10gb cpu=4 ram=32GiB", 30),
    ("h100:2g.20gb cpu=8 ram=64GiB", 20),
    ("h100:3g.40gb cpu=12 ram=96GiB", 20),
    ("h100:4g.40gb cpu=16 ram=128GiB", 8),
    ("h100:7g.80gb cpu=24 ram=192GiB", 8),
    ("h100:1g.10gb x4 cpu=8 ram=64GiB", 5),
    ("h100:2 cpu=48 ram=384GiB", 5),
    ("h100:8 cpu=160 ram=1536GiB", 2),
    ("any:mem>=20GiB cpu=8 ram=64GiB", 2),
)


@dataclass
class StreamResult:
    """A fill replay of a synthetic request stream."""

    policy: str
    requests: int
    placed: int
    alloc_pct: float
    latency_s: list[float]

    def latency_ms(self, quantile: float) -> float:
        ordered = sorted(self.latency_s)
        return 1000 * ordered[min(len(ordered) - 1, int(len(ordered) * quantile))]

    @property
    def decisions_per_s(self) -> float:
        return len(self.latency_s) / sum(self.latency_s)


def replay_requests(
    inventory: Inventory,
    mix: Sequence[tuple[str, int]],
    policy: str,
    *,
    seed: int = 42,
    tune: float = 1.3,
) -> StreamResult:
    """Draw requests from ``mix`` (seeded) until their demand reaches ``tune`` × the cluster's
    GPUs, placing each with ``policy``; a request that fits nowhere is dropped."""
    from zslab.compute.request import parse_request

    requests = [parse_request(spec) for spec, _ in mix]
    weights = [weight for _, weight in mix]
    workload = Workload.from_requests(
        [r for r, w in zip(requests, weights, strict=True) for _ in range(w)]
    )
    rng = random.Random(seed)
    cluster = Cluster(inventory, tie_seed=rng.randrange(2**31))
    chosen = make_policy(policy, workload=workload, seed=rng.randrange(2**31))
    target = tune * cluster.total_devices
    demand = 0.0
    placed = 0
    latencies: list[float] = []
    clock = time.perf_counter
    while demand < target:
        request = rng.choices(requests, weights)[0]
        demand += gpu_equivalents(request)
        started = clock()
        decision = chosen.decide(cluster, request)
        latencies.append(clock() - started)
        if decision is not None:
            cluster.place(request, decision.node, decision.parts)
            placed += 1
    return StreamResult(
        policy, len(latencies), placed, 100 * cluster.used_milli / cluster.total_milli, latencies
    )


def gpu_equivalents(request: Any) -> float:
    """A request's size in GPUs (a MIG instance counts its share of the 7 compute slices)."""
    from zslab.compute.request import MemorySize, MigSize, ShareSize, WholeSize

    size = request.size
    if isinstance(size, MigSize):
        return int(size.profile.split("g.", 1)[0]) / 7 * request.count
    if isinstance(size, ShareSize):
        return size.milli / MILLI * request.count
    if isinstance(size, WholeSize):
        return float(size.devices)
    assert isinstance(size, MemorySize)
    return 3 / 7
