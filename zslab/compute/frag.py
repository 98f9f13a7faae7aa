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

On MIG GPUs the same idea is measured in memory slices (one slice = 125 thousandths): a typical
MIG task can use ``k x its slices`` of a GPU where ``k`` more instances of its profile still fit
the layout's geometry (:meth:`Workload.fragmentation_mig`); shares cannot use MIG GPUs, whole-GPU
tasks only fully free ones.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from zslab.compute.devices import find_model
from zslab.compute.mig import (
    MEMORY_SLICES,
    LayoutState,
    MigProfile,
    free_memory_slices,
    state_capacity,
)
from zslab.compute.request import MigSize, ShareSize, SliceRequest, WholeSize
from zslab.compute.trace import TracePod

__all__ = ["DEFAULT_CPU_MILLI", "TaskType", "Workload"]

# Kubernetes scores a zero CPU request as 100m (GetNonzeroRequests); FGD's scores do the same.
DEFAULT_CPU_MILLI = 100
MILLI = 1000
SLICE_MILLI = MILLI // MEMORY_SLICES  # one MIG memory slice, in thousandths of a GPU


@dataclass(frozen=True, slots=True)
class TaskType:
    """A request shape and its share of the workload."""

    cpu_milli: int
    gpu_milli: int  # per GPU; 0 for a CPU-only task
    num_gpu: int
    models: frozenset[str] | None  # None: any model
    weight: float
    memory_mib: float = 0.0  # mean host memory of the tasks of this shape (FGD ignores it)
    profile: str | None = None  # a MIG profile; gpu_milli is then MILLI per instance


class Workload:
    """Typical tasks, and the fragmentation they see on a node."""

    def __init__(self, types: Sequence[TaskType]) -> None:
        total = sum(t.weight for t in types)
        if total <= 0:
            raise ValueError("a workload needs at least one task type with weight")
        self.types = tuple(
            TaskType(
                t.cpu_milli,
                t.gpu_milli,
                t.num_gpu,
                t.models,
                t.weight / total,
                t.memory_mib,
                t.profile,
            )
            for t in types
        )
        self._by_model: dict[str | None, tuple[tuple[int, int, int, float], ...]] = {}
        self._mig_by_model: dict[str, tuple[tuple[int, MigProfile | None, int, float], ...]] = {}
        self._memo: dict[tuple[Any, ...], float] = {}
        self._capacity: dict[tuple[str, LayoutState], tuple[int, ...]] = {}

    @property
    def cpu_per_gpu_milli(self) -> float:
        """Expected CPU (milli) that arrives with each thousandth of GPU."""
        gpu = sum(t.weight * t.gpu_milli * t.num_gpu for t in self.types)
        cpu = sum(t.weight * t.cpu_milli for t in self.types)
        return cpu / gpu if gpu else 0.0

    @classmethod
    def from_requests(cls, requests: Iterable[SliceRequest]) -> Workload:
        """Task shapes of the given requests (e.g. a queue's recent history), by frequency."""
        counts: Counter[tuple[Any, ...]] = Counter()
        for request in requests:
            size = request.size
            profile = None
            if isinstance(size, MigSize):
                profile, milli, num = size.profile, MILLI, request.count
            elif isinstance(size, ShareSize):
                milli, num = size.milli, request.count
            elif isinstance(size, WholeSize):
                milli, num = (MILLI, size.devices) if size.devices else (0, 0)
            else:
                milli, num = MILLI, 1
            cpu = request.cpu_milli or DEFAULT_CPU_MILLI
            counts[(cpu, milli, num, request.models, profile, request.memory_mib)] += 1
        if not counts:
            raise ValueError("no requests to learn a workload from")
        return cls(
            [
                TaskType(cpu, milli, num, models, float(n), memory, profile)
                for (cpu, milli, num, models, profile, memory), n in counts.items()
            ]
        )

    @classmethod
    def typical(cls, pods: Iterable[TracePod], *, coverage: float = 0.95) -> Workload:
        """The most frequent shapes of ``pods`` covering ``coverage`` of them (FGD's rule: sort
        by count, keep shapes until the running count reaches the coverage, the one crossing it
        included, then renormalise)."""
        counts: Counter[tuple[int, int, int, str]] = Counter()
        memory: Counter[tuple[int, int, int, str]] = Counter()
        models: dict[str, frozenset[str] | None] = {}
        total = 0
        for pod in pods:
            spec = pod.spec_text
            models[spec] = frozenset(pod.gpu_spec) or None
            key = (pod.cpu_milli or DEFAULT_CPU_MILLI, pod.gpu_milli, pod.num_gpu, spec)
            counts[key] += 1
            memory[key] += pod.memory_mib
            total += 1
        ranked = sorted(counts.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)
        chosen: list[TaskType] = []
        covered = 0
        for (cpu, milli, num, spec), count in ranked:
            if covered >= coverage * total:
                break
            covered += count
            key = (cpu, milli, num, spec)
            chosen.append(
                TaskType(cpu, milli, num, models[spec], float(count), memory[key] / count)
            )
        return cls(chosen)

    def _types_for(self, model: str | None) -> tuple[tuple[int, int, int, float], ...]:
        """(cpu, per-GPU milli, GPUs, weight) of the GPU tasks that may use ``model``."""
        cached = self._by_model.get(model)
        if cached is None:
            cached = tuple(
                (t.cpu_milli, t.gpu_milli, t.num_gpu, t.weight)
                for t in self.types
                if t.gpu_milli > 0
                and t.profile is None
                and model is not None
                and (t.models is None or model in t.models)
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

    def _mig_types_for(self, model: str) -> tuple[tuple[int, MigProfile | None, int, float], ...]:
        """(cpu, MIG profile or None for whole GPUs, count, weight) usable on ``model``."""
        cached = self._mig_by_model.get(model)
        if cached is None:
            table = find_model(model).mig
            rows: list[tuple[int, MigProfile | None, int, float]] = []
            for t in self.types:
                if t.models is not None and model not in t.models:
                    continue
                if t.profile is not None and table is not None and t.profile in table.names:
                    rows.append((t.cpu_milli, table.get(t.profile), t.num_gpu, t.weight))
                elif t.profile is None and t.gpu_milli == MILLI:
                    rows.append((t.cpu_milli, None, t.num_gpu, t.weight))
            cached = self._mig_by_model[model] = tuple(rows)
        return cached

    def _mig_capacity(self, model: str, state: LayoutState) -> tuple[int, ...]:
        """Per MIG task type of ``model``: how many more it fits on one GPU in ``state``."""
        key = (model, state)
        cached = self._capacity.get(key)
        if cached is None:
            cached = tuple(
                (1 if state[0] == 0 else 0) if profile is None else state_capacity(state, profile)
                for _, profile, _, _ in self._mig_types_for(model)
            )
            self._capacity[key] = cached
        return cached

    def fragmentation_mig(
        self, model: str, cpu_left: int, layouts: tuple[LayoutState, ...]
    ) -> float:
        """F(node) for a MIG node whose GPUs are in ``layouts`` (any order), in thousandths."""
        key = ("mig", model, cpu_left, layouts)
        value = self._memo.get(key)
        if value is not None:
            return value
        types = self._mig_types_for(model)
        totals = [0] * len(types)
        idle_slices = 0
        for state in layouts:
            idle_slices += free_memory_slices(state)
            for i, n in enumerate(self._mig_capacity(model, state)):
                totals[i] += n
        usable = 0.0
        for (cpu, profile, count, weight), instances in zip(types, totals, strict=True):
            if cpu_left < cpu or instances < count or not instances:
                continue
            size = MILLI if profile is None else SLICE_MILLI * profile.memory_slices
            usable += weight * size * instances
        value = SLICE_MILLI * idle_slices - usable
        if len(self._memo) > 2_000_000:
            self._memo.clear()
        self._memo[key] = value
        return value
