"""Placement policies: where a slice goes.

Every policy answers one question — which feasible node is best for this request, and which
devices on it — through one interface, :meth:`Policy.decide`, over the shared
:class:`~zslab.compute.cluster.Cluster` index. A policy scores node *states*; the cluster groups
identical nodes, and each group caches its scores, so a decision is one pass over the groups.
Ties go to the node with the smallest rank.

The baselines reproduce the ATC'23 FGD simulator (``hkust-adsl/kubernetes-scheduler-simulator``)
exactly, integer truncation of scores included, because the published allocation ratios depend on
those details: Random, FirstFit, BestFit, DotProduct, GpuPacking, GpuClustering and FGD.
:class:`ZslabPolicy` is zslab's own default (see its docstring).

>>> from zslab.compute.inventory import Inventory
>>> from zslab.compute.request import parse_request
>>> cluster = Cluster(Inventory.demo())
>>> decision = BestFit().decide(cluster, parse_request("t4:0.25"))
>>> cluster.nodes[decision.node].spec.pool
'qingpu-t4'
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass
from typing import Any, ClassVar

from zslab.compute.cluster import MILLI, Cluster, NodeState, Part, affinity_tag
from zslab.compute.frag import DEFAULT_CPU_MILLI, Workload
from zslab.compute.request import ShareSize, SliceRequest, WholeSize

__all__ = [
    "FGD",
    "POLICIES",
    "BestFit",
    "Decision",
    "DotProduct",
    "FirstFit",
    "GpuClustering",
    "GpuPacking",
    "Policy",
    "RandomPolicy",
    "ZslabPolicy",
    "make_policy",
]

MAX_SPEC_CPU = 128_000  # the reference simulator's normalisers (MaxSpecCpu, MaxSpecGpu)
MAX_SPEC_GPU = 8_000
MAX_SCORE = 100
_INFEASIBLE = object()
_tokens = itertools.count()


@dataclass(frozen=True, slots=True)
class Decision:
    """Where a request goes: a node and the device parts on it."""

    node: int
    parts: tuple[Part, ...]


def score_cpu(request: SliceRequest) -> int:
    return request.cpu_milli or DEFAULT_CPU_MILLI


def request_gpu_milli(request: SliceRequest) -> tuple[int, int]:
    """(per-GPU milli, GPU count) of a request, as the trace's scorers see it."""
    size = request.size
    if isinstance(size, ShareSize):
        return size.milli, 1
    if isinstance(size, WholeSize):
        return (MILLI, size.devices) if size.devices else (0, 0)
    return MILLI, 1


def best_fit_device(free: list[int], milli: int) -> int:
    """The device with the least free capacity that still fits ``milli``; lowest index on ties."""
    best, best_free = -1, MILLI + 1
    for i, f in enumerate(free):
        if milli <= f < best_free:
            best, best_free = i, f
    return best


class Policy:
    """Base of all policies: the decision loop, score caching and device choice."""

    name: ClassVar[str] = "policy"

    def __init__(self, *, rng: random.Random | None = None) -> None:
        self.rng = rng or random.Random(0)
        self._token = next(_tokens)
        self._shapes: dict[SliceRequest, int] = {}

    # What subclasses provide -------------------------------------------------------------

    def node_score(self, node: NodeState, request: SliceRequest) -> float:
        """Higher is better; called only for nodes where the request fits."""
        raise NotImplementedError

    def share_device(self, cluster: Cluster, node: NodeState, request: SliceRequest) -> int:
        """Which device takes a fractional share (default: best fit)."""
        size = request.size
        assert isinstance(size, ShareSize)
        return best_fit_device(node.free, size.milli)

    # The decision --------------------------------------------------------------------------

    def _shape(self, request: SliceRequest) -> tuple[int, int]:
        shape = self._shapes.get(request)
        if shape is None:
            shape = self._shapes[request] = len(self._shapes)
        return (self._token, shape)

    def decide(self, cluster: Cluster, request: SliceRequest) -> Decision | None:
        """The best feasible node and its devices, or None when the request fits nowhere."""
        shape = self._shape(request)
        best_group = None
        best_score: Any = -math.inf
        best_rank = 0
        for group in cluster.groups():
            score: Any = group.scores.get(shape, None)
            if score is None:
                state = group.state
                score = (
                    self.node_score(state, request)
                    if cluster.feasible(state, request)
                    else _INFEASIBLE
                )
                group.scores[shape] = score
            if score is _INFEASIBLE:
                continue
            if score > best_score:
                best_group, best_score, best_rank = group, score, group.best[0]
            elif score == best_score:
                rank = group.best[0]
                if rank < best_rank:
                    best_group, best_rank = group, rank
        if best_group is None:
            return None
        node = cluster.nodes[best_group.best_node]
        return Decision(node.index, self.choose_devices(cluster, node, request))

    def choose_devices(
        self, cluster: Cluster, node: NodeState, request: SliceRequest
    ) -> tuple[Part, ...]:
        size = request.size
        if isinstance(size, ShareSize) and request.count == 1 and node.mig is None:
            device = self.share_device(cluster, node, request)
            return (Part(device, milli=size.milli, memory_mib=size.memory_mib or 0),)
        return cluster.device_choice_first(node.index, request)

    def place(self, cluster: Cluster, request: SliceRequest) -> Any:
        """Decide and commit; returns the Placement or None."""
        decision = self.decide(cluster, request)
        if decision is None:
            return None
        return cluster.place(request, decision.node, decision.parts)


class FirstFit(Policy):
    """The first node (by rank) where the request fits; first fitting device."""

    name = "firstfit"

    def node_score(self, node: NodeState, request: SliceRequest) -> float:
        return 0.0

    def share_device(self, cluster: Cluster, node: NodeState, request: SliceRequest) -> int:
        size = request.size
        assert isinstance(size, ShareSize)
        return next(i for i, f in enumerate(node.free) if f >= size.milli)


class RandomPolicy(Policy):
    """A uniformly random feasible node, and a random fitting device (the paper's Random)."""

    name = "random"

    def decide(self, cluster: Cluster, request: SliceRequest) -> Decision | None:
        feasible = [g for g in cluster.groups() if cluster.feasible(g.state, request)]
        if not feasible:
            return None
        pick = self.rng.randrange(sum(len(g) for g in feasible))
        for group in feasible:
            if pick < len(group):
                members = sorted(group.members)
                node = cluster.nodes[members[pick]]
                return Decision(node.index, self.choose_devices(cluster, node, request))
            pick -= len(group)
        raise AssertionError("unreachable")

    def share_device(self, cluster: Cluster, node: NodeState, request: SliceRequest) -> int:
        size = request.size
        assert isinstance(size, ShareSize)
        fitting = [i for i, f in enumerate(node.free) if f >= size.milli]
        return self.rng.choice(fitting)


class BestFit(Policy):
    """Least CPU and GPU left after placement (equal weights), as in the paper's BestFit."""

    name = "bestfit"

    def node_score(self, node: NodeState, request: SliceRequest) -> float:
        milli, num = request_gpu_milli(request)
        cpu_free = node.cpu_left - score_cpu(request)
        gpu_free = node.idle_milli - milli * num
        return int(
            MAX_SCORE * (1 - (0.5 * cpu_free / MAX_SPEC_CPU + 0.5 * gpu_free / MAX_SPEC_GPU))
        )


class DotProduct(Policy):
    """Smallest dot product of the node's free (CPU, GPU) and the request's (CPU, GPU)."""

    name = "dotprod"

    def node_score(self, node: NodeState, request: SliceRequest) -> float:
        cpu = score_cpu(request)
        if node.cpu_left < cpu:
            return 0
        milli, num = request_gpu_milli(request)
        dot = (node.cpu_left / MAX_SPEC_CPU) * (cpu / MAX_SPEC_CPU) + (
            node.idle_milli / MAX_SPEC_GPU
        ) * (milli * num / MAX_SPEC_GPU)
        return int(MAX_SCORE * (1 - dot / 2))


class GpuPacking(Policy):
    """Prefer partly used GPUs, then used nodes, then empty nodes (the paper's GpuPacking)."""

    name = "packing"

    def node_score(self, node: NodeState, request: SliceRequest) -> float:
        milli, num = request_gpu_milli(request)
        if milli <= 0:
            return 0
        free = node.free
        whole = sum(1 for f in free if f == MILLI)
        if whole == len(free):
            return max(MAX_SCORE // 3 - whole, whole)
        use = [f for f in sorted(free) if f >= milli][:num]
        untouched = sum(1 for f in use if f == MILLI)
        if untouched > 0:
            return max(MAX_SCORE // 2 - untouched, MAX_SCORE // 3)
        left = sum(f * 100 // MILLI for f in use)
        return max(MAX_SCORE - left // 10, MAX_SCORE // 2)


class GpuClustering(Policy):
    """Keep tasks of one kind (shared, 1-GPU, 2-GPU …) together (the paper's GpuClustering)."""

    name = "clustering"

    def node_score(self, node: NodeState, request: SliceRequest) -> float:
        tag = affinity_tag(request)
        if tag == "no-gpu":
            return 0
        # The reference measures use against an 8-GPU node whatever the node's size.
        base = (MAX_SCORE // 4) * (MAX_SPEC_GPU - node.idle_milli) // MAX_SPEC_GPU
        tags = node.affinity
        present = sum(1 for n in tags.values() if n > 0)
        if tags.get(tag, 0) > 0:
            return base + (75 if present == 1 else 50)
        return base + (25 if present == 0 else 0)


def sigmoid_score(delta_milli: float) -> int:
    """FGD's score: sigmoid of the fragmentation reduction in GPUs, x100, truncated."""
    return int(MAX_SCORE / (1.0 + math.exp(-delta_milli / MILLI)))


class FGD(Policy):
    """Fragmentation Gradient Descent (Weng et al., ATC'23): go where fragmentation grows least.

    Faithful to the reference: the score is ``int(100·sigmoid(ΔF/1000))``; a shared task takes
    the device with the best such score (lowest index on ties); whole-GPU tasks take the
    lowest-index free GPUs.
    """

    name = "fgd"

    def __init__(self, workload: Workload, *, rng: random.Random | None = None) -> None:
        super().__init__(rng=rng)
        self.workload = workload

    def _frag(self, node: NodeState, cpu_left: int, free: list[int]) -> float:
        return self.workload.fragmentation(node.spec.model, cpu_left, tuple(sorted(free)))

    def _share_scores(self, node: NodeState, request: SliceRequest) -> list[tuple[int, int]]:
        """(score, device) for every device that fits a shared task."""
        size = request.size
        assert isinstance(size, ShareSize)
        before = self._frag(node, node.cpu_left, node.free)
        cpu_after = node.cpu_left - score_cpu(request)
        results = []
        seen: dict[int, int] = {}
        for i, f in enumerate(node.free):
            if f < size.milli:
                continue
            score = seen.get(f)
            if score is None:
                after = list(node.free)
                after[i] = f - size.milli
                score = sigmoid_score(before - self._frag(node, cpu_after, after))
                seen[f] = score
            results.append((score, i))
        return results

    def node_score(self, node: NodeState, request: SliceRequest) -> float:
        size = request.size
        if isinstance(size, ShareSize):
            return max(score for score, _ in self._share_scores(node, request))
        before = self._frag(node, node.cpu_left, node.free)
        cpu = score_cpu(request)
        cpu_after = node.cpu_left - cpu if node.cpu_left >= cpu else node.cpu_left
        milli, num = request_gpu_milli(request)
        after = sorted(node.free)
        taken = 0
        for i, f in enumerate(after):
            if taken == num:
                break
            if f >= milli:
                after[i] = f - milli
                taken += 1
        return sigmoid_score(before - self._frag(node, cpu_after, after))

    def share_device(self, cluster: Cluster, node: NodeState, request: SliceRequest) -> int:
        best_score, best_device = -1, -1
        for score, device in self._share_scores(node, request):
            if score > best_score:
                best_score, best_device = score, device
        return best_device


class ZslabPolicy(FGD):
    """zslab's default: FGD's fragmentation gradient, measured without rounding, with
    best-fit tie-breaks.

    (Placeholder refined by the research in benchmarks/placement.)
    """

    name = "zslab"


POLICIES: dict[str, type[Policy]] = {
    "random": RandomPolicy,
    "firstfit": FirstFit,
    "bestfit": BestFit,
    "dotprod": DotProduct,
    "packing": GpuPacking,
    "clustering": GpuClustering,
    "fgd": FGD,
    "zslab": ZslabPolicy,
}


def make_policy(name: str, *, workload: Workload | None = None, seed: int = 0) -> Policy:
    """A policy by name; FGD-family policies need the workload's typical tasks."""
    try:
        factory = POLICIES[name]
    except KeyError:
        raise KeyError(f"unknown policy {name!r}; choose one of {', '.join(POLICIES)}") from None
    rng = random.Random(seed)
    if issubclass(factory, FGD):
        if workload is None:
            raise ValueError(f"policy {name!r} needs the workload's typical tasks")
        return factory(workload, rng=rng)
    return factory(rng=rng)
