"""GPU fragmentation as the FGD paper measures it (Weng et al., USENIX ATC'23).

A cluster's workload is summarised by its *typical tasks*: the most frequent request shapes
(CPU, GPU share, GPU count, allowed models) that together cover 95 % of the tasks, each weighted
by its frequency. For one node, the free GPU that a typical task could not use is *fragmented*:

- all idle GPU, for a task that needs no GPU, may not use this model, lacks CPU on the node, or
  cannot fit its GPU demand;
- otherwise only the GPUs with less free capacity than the task's per-GPU share.

The node's fragmentation is the frequency-weighted expectation over typical tasks. Rearranged,

    F(node) = idle - Σ_{t fits the node} w_t · (free GPU on devices with at least m_t free)

which is what :meth:`Workload.fragmentation` computes, memoised per node state (nodes in the same
state share it). Units: thousandths of a GPU.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from zslab.compute.trace import TracePod

__all__ = ["DEFAULT_CPU_MILLI", "TaskType", "Workload"]

# Kubernetes scores a zero CPU request as 100m (GetNonzeroRequests); FGD's scores do the same.
DEFAULT_CPU_MILLI = 100


@dataclass(frozen=True, slots=True)
class TaskType:
    """A request shape and its share of the workload."""

    cpu_milli: int
    gpu_milli: int  # per GPU; 0 for a CPU-only task
    num_gpu: int
    models: frozenset[str] | None  # None: any model
    weight: float


class Workload:
    """Typical tasks, and the fragmentation they see on a node."""

    def __init__(self, types: Sequence[TaskType]) -> None:
        total = sum(t.weight for t in types)
        if total <= 0:
            raise ValueError("a workload needs at least one task type with weight")
        self.types = tuple(
            TaskType(t.cpu_milli, t.gpu_milli, t.num_gpu, t.models, t.weight / total) for t in types
        )
        self._by_model: dict[str | None, tuple[tuple[int, int, int, float], ...]] = {}
        self._memo: dict[tuple[str | None, int, tuple[int, ...]], float] = {}

    @classmethod
    def typical(cls, pods: Iterable[TracePod], *, coverage: float = 0.95) -> Workload:
        """The most frequent shapes of ``pods`` covering ``coverage`` of them (FGD's rule: sort
        by count, keep shapes until the running count reaches the coverage, the one crossing it
        included, then renormalise)."""
        counts: Counter[tuple[int, int, int, str]] = Counter()
        models: dict[str, frozenset[str] | None] = {}
        total = 0
        for pod in pods:
            spec = pod.spec_text
            models[spec] = frozenset(pod.gpu_spec) or None
            key = (pod.cpu_milli or DEFAULT_CPU_MILLI, pod.gpu_milli, pod.num_gpu, spec)
            counts[key] += 1
            total += 1
        ranked = sorted(counts.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)
        chosen: list[TaskType] = []
        covered = 0
        for (cpu, milli, num, spec), count in ranked:
            if covered >= coverage * total:
                break
            covered += count
            chosen.append(TaskType(cpu, milli, num, models[spec], float(count)))
        return cls(chosen)

    def _types_for(self, model: str | None) -> tuple[tuple[int, int, int, float], ...]:
        """(cpu, per-GPU milli, GPUs, weight) of the GPU tasks that may use ``model``."""
        cached = self._by_model.get(model)
        if cached is None:
            cached = tuple(
                (t.cpu_milli, t.gpu_milli, t.num_gpu, t.weight)
                for t in self.types
                if t.gpu_milli > 0 and model is not None and (t.models is None or model in t.models)
            )
            self._by_model[model] = cached
        return cached

    def fragmentation(self, model: str | None, cpu_left: int, free: tuple[int, ...]) -> float:
        """F(node) for a node of ``model`` with ``cpu_left`` and ``free`` (sorted ascending)."""
        key = (model, cpu_left, free)
        value = self._memo.get(key)
        if value is not None:
            return value
        idle = sum(free)
        usable = 0.0
        if idle:
            n = len(free)
            suffix = [0] * (n + 1)  # suffix[i] = sum(free[i:])
            for i in range(n - 1, -1, -1):
                suffix[i] = suffix[i + 1] + free[i]
            for cpu, milli, num, weight in self._types_for(model):
                if cpu_left < cpu:
                    continue
                first = bisect.bisect_left(free, milli)  # devices with >= milli free start here
                if n - first >= num:
                    usable += weight * suffix[first]
        value = idle - usable
        if len(self._memo) > 2_000_000:
            self._memo.clear()
        self._memo[key] = value
        return value
