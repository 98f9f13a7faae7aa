"""Allocation state of a cluster, and the incremental index every placement policy shares.

A :class:`Cluster` is built from an :class:`~zslab.compute.inventory.Inventory`. Each node
tracks free CPU, host memory and per-device capacity: for shared devices the free compute in
thousandths ("milli", 1000 = a whole device) and free device memory; for MIG devices the
:class:`~zslab.compute.mig.MigLayout`.

The index groups nodes whose state is identical (same model, site, pool, free CPU and memory,
same multiset of device states, same mix of tenants). A policy scores a *group* once and the
score holds for every member, so a decision costs one pass over the groups, most of whose
scores are already cached; nothing rescans devices. Placing or releasing moves one node from
one group to another. Among equally good nodes the one with the smallest ``rank`` wins: ranks
are a seeded random permutation (the reference FGD simulator breaks ties the same way), or
inventory order.

>>> from zslab.compute.inventory import Inventory
>>> from zslab.compute.request import parse_request
>>> cluster = Cluster(Inventory.demo())
>>> request = parse_request("h100:3g.40gb")
>>> node = next(g for g in cluster.groups() if cluster.feasible(g.state, request)).best_node
>>> placement = cluster.place(request, node, cluster.device_choice_first(node, request))
>>> cluster.release(placement)
"""

from __future__ import annotations

import heapq
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from zslab.compute.devices import DeviceModel, find_model
from zslab.compute.inventory import Inventory, NodeSpec
from zslab.compute.mig import COMPUTE_SLICES, MigLayout, state_capacity
from zslab.compute.request import MemorySize, MigSize, ShareSize, SliceRequest, WholeSize

__all__ = [
    "Cluster",
    "Group",
    "NodeState",
    "Part",
    "Placement",
    "affinity_tag",
    "capacity",
    "resolve_size",
]

MILLI = 1000


def _mig_free_milli(layout: MigLayout) -> int:
    """A MIG GPU's free compute in thousandths of the whole GPU."""
    return round(MILLI * (COMPUTE_SLICES - layout.compute_used) / COMPUTE_SLICES)


@dataclass(frozen=True, slots=True)
class Part:
    """What a placement took from one device."""

    device: int
    milli: int = 0
    memory_mib: int = 0
    mig_start: int | None = None
    profile: str | None = None


@dataclass(frozen=True, slots=True)
class Placement:
    """A granted request: the node, the device parts, and the host resources it holds."""

    node: int
    node_name: str
    parts: tuple[Part, ...]
    cpu_milli: int
    memory_mib: int
    tag: str

    @property
    def gpu_milli(self) -> int:
        return sum(p.milli for p in self.parts)


def affinity_tag(request: SliceRequest) -> str:
    """The tenant class a request adds to a node: ``no-gpu``, ``share-gpu`` or ``<n>-gpu``."""
    size = request.size
    if isinstance(size, WholeSize):
        return "no-gpu" if size.devices == 0 else f"{size.devices}-gpu"
    if isinstance(size, ShareSize):
        return "share-gpu"
    if isinstance(size, MigSize):
        return f"mig-{size.profile}"
    return "mem-slice"


class NodeState:
    """One node's free resources. Device lists keep inventory order (device index = position)."""

    __slots__ = (
        "affinity",
        "cpu_capacity",
        "cpu_left",
        "dev_mem",
        "drained",
        "free",
        "index",
        "key",
        "mem_left",
        "mig",
        "model",
        "rank",
        "spec",
    )

    def __init__(self, index: int, spec: NodeSpec, rank: int) -> None:
        self.index = index
        self.spec = spec
        self.rank = rank
        self.model: DeviceModel | None = find_model(spec.model) if spec.model else None
        self.cpu_capacity = spec.cpu_milli
        self.cpu_left = spec.cpu_milli
        self.mem_left = spec.memory_mib
        self.free: list[int] = [MILLI] * spec.devices
        memory = self.model.memory_mib if self.model else 0
        self.dev_mem: list[int] = [memory] * spec.devices
        self.mig: list[MigLayout] | None = None
        if self.model is not None and self.model.slicing == "mig" and self.model.mig is not None:
            self.mig = [MigLayout(self.model.mig) for _ in range(spec.devices)]
        self.affinity: Counter[str] = Counter()
        self.drained = False
        self.key: tuple[Any, ...] = ()

    @property
    def devices(self) -> int:
        return len(self.free)

    @property
    def idle_milli(self) -> int:
        return sum(self.free)

    def state_key(self) -> tuple[Any, ...]:
        """Everything a policy's score may depend on, and nothing else."""
        spec = self.spec
        if self.mig is not None:
            devices: tuple[Any, ...] = tuple(sorted(layout.state() for layout in self.mig))
        elif any(m for m in self.dev_mem):
            devices = tuple(sorted(zip(self.free, self.dev_mem, strict=True)))
        else:
            devices = tuple(sorted(self.free))
        tenants = tuple(sorted(tag for tag, n in self.affinity.items() if n > 0))
        return (
            spec.model,
            spec.site,
            spec.pool,
            self.cpu_left,
            self.mem_left,
            devices,
            tenants,
            self.drained,
        )


ConcreteSize = MigSize | ShareSize | WholeSize


def _share_capacity(node: NodeState, milli: int, memory: int) -> int:
    """How many shares of ``milli`` compute and ``memory`` MiB the node's devices can hold."""
    total = 0
    for f, m in zip(node.free, node.dev_mem, strict=True):
        by_compute = f // milli
        total += min(by_compute, m // memory) if memory else by_compute
    return total


def _mig_capacity(node: NodeState, profile: str) -> int:
    """Instances of ``profile`` placeable at once (first allowed starts, GPU by GPU)."""
    assert node.mig is not None
    table = node.mig[0].table
    return sum(state_capacity(layout.state(), table.get(profile)) for layout in node.mig)


def _empty_devices(node: NodeState) -> int:
    if node.mig is not None:
        return sum(1 for layout in node.mig if layout.memory_mask == 0)
    return sum(1 for f in node.free if f == MILLI)


def capacity(node: NodeState, size: ConcreteSize) -> int:
    """How many slices of ``size`` the node's devices could take right now."""
    if isinstance(size, WholeSize):
        return _empty_devices(node) // max(size.devices, 1)
    if isinstance(size, ShareSize):
        if node.mig is not None:
            return 0
        return _share_capacity(node, size.milli, size.memory_mib or 0)
    if node.mig is None or size.profile not in node.mig[0].table.names:
        return 0
    return _mig_capacity(node, size.profile)


def resolve_size(node: NodeState, request: SliceRequest) -> ConcreteSize | None:
    """The concrete slice this node would give ``request``, or None when it has none.

    Only ``mem>=`` requests need resolving: they become the smallest slice with enough device
    memory that still fits ``count`` times — a MIG profile, a share of a shared device, or whole
    devices (a MIG GPU outside MIG mode counts with its full memory).
    """
    size = request.size
    if not isinstance(size, MemorySize):
        return size
    model = node.model
    if model is None or model.memory_mib < size.min_mib:
        return None
    count = request.count
    if node.mig is not None and model.mig is not None:
        profiles = sorted(
            (
                p
                for p in model.mig.profiles
                if p.memory_mib >= size.min_mib and not p.media_extensions
            ),
            key=lambda p: (p.memory_slices, p.compute_slices),
        )
        for profile in profiles:
            if _mig_capacity(node, profile.name) >= count:
                return MigSize(profile.name)
        return WholeSize(count) if _empty_devices(node) >= count else None
    if model.slicing == "share":
        milli = -(-size.min_mib * MILLI // model.memory_mib)
        if milli < MILLI:
            share = ShareSize(milli, size.min_mib)
            return share if _share_capacity(node, milli, size.min_mib) >= count else None
    return WholeSize(count) if _empty_devices(node) >= count else None


def slices_needed(request: SliceRequest, size: ConcreteSize) -> int:
    """How many slices of a resolved ``size`` the request takes (whole devices come as one)."""
    if isinstance(size, WholeSize):
        return 1
    return request.count


class Group:
    """Nodes in identical states; the member with the smallest rank represents them.

    ``scores`` caches what policies computed for this state (per policy and request shape);
    it lives and dies with the group, so a cached score is never stale.
    """

    __slots__ = ("_heap", "key", "members", "scores", "state")

    def __init__(self, key: tuple[Any, ...], state: NodeState) -> None:
        self.key = key
        self.state = state  # any member: they are interchangeable for scoring
        self.members: set[int] = set()
        self.scores: dict[Any, Any] = {}
        self._heap: list[tuple[int, int]] = []

    def add(self, node: NodeState) -> None:
        self.members.add(node.index)
        heapq.heappush(self._heap, (node.rank, node.index))

    def remove(self, node: NodeState) -> None:
        self.members.discard(node.index)

    @property
    def best(self) -> tuple[int, int]:
        """(rank, node index) of the member that wins ties."""
        heap = self._heap
        while heap[0][1] not in self.members:
            heapq.heappop(heap)
        return heap[0]

    @property
    def best_node(self) -> int:
        return self.best[1]

    def __len__(self) -> int:
        return len(self.members)


class Cluster:
    """Allocation state plus the group index. Not thread-safe: one decision at a time."""

    def __init__(self, inventory: Inventory, *, tie_seed: int | None = None) -> None:
        self.inventory = inventory
        count = len(inventory.nodes)
        if tie_seed is None:
            ranks = list(range(count))
        else:
            # The reference simulator sorts nodes by name and draws one permutation per run.
            order = sorted(range(count), key=lambda i: inventory.nodes[i].name)
            perm = list(range(count))
            random.Random(tie_seed).shuffle(perm)
            ranks = [0] * count
            for position, node_index in enumerate(order):
                ranks[node_index] = perm[position]
        self.nodes = [NodeState(i, spec, ranks[i]) for i, spec in enumerate(inventory.nodes)]
        self._by_name = {node.spec.name: node.index for node in self.nodes}
        self._ever: dict[SliceRequest, bool] = {}
        self._pristine: list[NodeState] = []
        self._groups: dict[tuple[Any, ...], Group] = {}
        for node in self.nodes:
            self._enter(node)
        self.total_devices = sum(n.devices for n in self.nodes)
        self.total_milli = self.total_devices * MILLI
        self.used_milli = 0
        self.version = 0  # bumped by every change; caches key on group keys, not on this

    # --- the index -----------------------------------------------------------------------

    def _enter(self, node: NodeState) -> None:
        node.key = node.state_key()
        group = self._groups.get(node.key)
        if group is None:
            group = self._groups[node.key] = Group(node.key, node)
        group.add(node)

    def _leave(self, node: NodeState) -> None:
        group = self._groups[node.key]
        group.remove(node)
        if not group.members:
            del self._groups[node.key]
        elif group.state is node:
            group.state = self.nodes[next(iter(group.members))]

    def groups(self) -> Iterator[Group]:
        return iter(self._groups.values())

    @property
    def group_count(self) -> int:
        return len(self._groups)

    # --- feasibility ---------------------------------------------------------------------

    def feasible(self, node: NodeState, request: SliceRequest) -> bool:
        """Whether ``request`` fits ``node`` now: place, model, host resources and devices."""
        if node.drained:
            return False
        if node.cpu_left < request.cpu_milli or node.mem_left < request.memory_mib:
            return False
        spec = node.spec
        if request.sites is not None and spec.site not in request.sites:
            return False
        if request.pools is not None and spec.pool not in request.pools:
            return False
        if not request.needs_device:
            return True
        model = node.model
        if model is None or not request.allows(model):
            return False
        size = resolve_size(node, request)
        return size is not None and capacity(node, size) >= slices_needed(request, size)

    def could_ever_fit(self, request: SliceRequest) -> bool:
        """Whether some node could hold ``request`` if it were empty (drains ignored)."""
        cached = self._ever.get(request)
        if cached is None:
            cached = any(self.feasible(empty, request) for empty in self._empty_types())
            self._ever[request] = cached
        return cached

    def _empty_types(self) -> list[NodeState]:
        """One pristine node per distinct kind of machine."""
        if not self._pristine:
            kinds: dict[tuple[Any, ...], NodeState] = {}
            for spec in self.inventory.nodes:
                kind = (
                    spec.site,
                    spec.pool,
                    spec.cpu_milli,
                    spec.memory_mib,
                    spec.model,
                    spec.devices,
                )
                if kind not in kinds:
                    kinds[kind] = NodeState(-1, spec, 0)
            self._pristine = list(kinds.values())
        return self._pristine

    def set_drained(self, node_index: int, drained: bool) -> None:
        """Stop (or resume) new placements on a node; what runs there keeps running."""
        node = self.nodes[node_index]
        if node.drained == drained:
            return
        self._leave(node)
        node.drained = drained
        self._enter(node)
        self.version += 1

    def node_index(self, name: str) -> int:
        """The index of the node called ``name``."""
        index = self._by_name.get(name)
        if index is None:
            raise KeyError(f"no node {name!r} in this cluster")
        return index

    # --- placing and releasing -------------------------------------------------------------

    def device_choice_first(self, node_index: int, request: SliceRequest) -> tuple[Part, ...]:
        """The simplest valid device choice: lowest-index devices that fit."""
        node = self.nodes[node_index]
        size = resolve_size(node, request)
        if size is None:
            raise ValueError(f"{node.spec.name} cannot hold {request}")
        if isinstance(size, WholeSize):
            return self.whole_devices(node, size.devices)
        if isinstance(size, ShareSize):
            return self.share_parts(node, size, request.count, order=range(node.devices))
        return self.mig_parts(node, size.profile, request.count)

    @staticmethod
    def whole_devices(node: NodeState, count: int) -> tuple[Part, ...]:
        if count == 0:
            return ()
        parts: list[Part] = []
        for i in range(node.devices):
            free = node.mig[i].memory_mask == 0 if node.mig is not None else node.free[i] == MILLI
            if free:
                parts.append(Part(i, milli=MILLI, memory_mib=node.dev_mem[i]))
                if len(parts) == count:
                    return tuple(parts)
        raise ValueError(f"{node.spec.name} has fewer than {count} free devices")

    @staticmethod
    def share_parts(
        node: NodeState, size: ShareSize, count: int, *, order: Any
    ) -> tuple[Part, ...]:
        """``count`` shares of ``size``, filling devices in ``order``."""
        memory = size.memory_mib or 0
        free = list(node.free)
        mem = list(node.dev_mem)
        parts: list[Part] = []
        for i in order:
            while free[i] >= size.milli and mem[i] >= memory and len(parts) < count:
                free[i] -= size.milli
                mem[i] -= memory
                parts.append(Part(i, milli=size.milli, memory_mib=memory))
            if len(parts) == count:
                return tuple(parts)
        raise ValueError(f"{node.spec.name} cannot hold {count} x {size}")

    @staticmethod
    def mig_parts(node: NodeState, profile: str, count: int) -> tuple[Part, ...]:
        assert node.mig is not None
        parts: list[Part] = []
        scratch = [MigLayout(layout.table) for layout in node.mig]
        for copy, layout in zip(scratch, node.mig, strict=True):
            copy.memory_mask, copy.compute_used = layout.memory_mask, layout.compute_used
            copy.media_used = layout.media_used
        for i, layout in enumerate(scratch):
            while len(parts) < count and layout.can_place(profile):
                start = layout.place(profile)
                milli = round(MILLI * layout.table.get(profile).compute_slices / COMPUTE_SLICES)
                parts.append(Part(i, milli=milli, mig_start=start, profile=profile))
        if len(parts) < count:
            raise ValueError(f"{node.spec.name} cannot hold {count} x {profile}")
        return tuple(parts)

    def place(
        self,
        request: SliceRequest,
        node_index: int,
        parts: tuple[Part, ...],
        *,
        restoring: bool = False,
    ) -> Placement:
        """Commit ``parts`` of ``request`` on a node. Raises ValueError if they do not fit.

        ``restoring`` puts back a placement that was already granted (a reload, or the undo of
        a trial release): the parts are authoritative, so a drained node or a changed
        ``mem>=`` resolution does not refuse them; the devices must still be free.
        """
        node = self.nodes[node_index]
        if node.cpu_left < request.cpu_milli or node.mem_left < request.memory_mib:
            raise ValueError(f"{node.spec.name} lacks CPU or memory for {request}")
        if not restoring:
            if not self.feasible(node, request):
                raise ValueError(f"{request} does not fit {node.spec.name}")
            size = resolve_size(node, request) if request.needs_device else WholeSize(0)
            assert size is not None
            expected = size.devices if isinstance(size, WholeSize) else request.count
            if len(parts) != expected:
                raise ValueError(f"{request} takes {expected} device part(s), not {len(parts)}")
        idle_before = node.idle_milli
        self._leave(node)
        applied: list[Part] = []
        try:
            for part in parts:
                self._take(node, part)
                applied.append(part)
        except ValueError:
            for part in reversed(applied):
                self._give(node, part)
            self._enter(node)
            raise
        node.cpu_left -= request.cpu_milli
        node.mem_left -= request.memory_mib
        tag = affinity_tag(request)
        if tag != "no-gpu":
            node.affinity[tag] += 1
        self._enter(node)
        placement = Placement(
            node_index, node.spec.name, tuple(parts), request.cpu_milli, request.memory_mib, tag
        )
        self.used_milli += idle_before - node.idle_milli
        self.version += 1
        return placement

    def release(self, placement: Placement) -> None:
        """Give back exactly what ``placement`` took."""
        node = self.nodes[placement.node]
        idle_before = node.idle_milli
        self._leave(node)
        for part in placement.parts:
            self._give(node, part)
        node.cpu_left += placement.cpu_milli
        node.mem_left += placement.memory_mib
        if placement.tag != "no-gpu":
            node.affinity[placement.tag] -= 1
            if node.affinity[placement.tag] <= 0:
                del node.affinity[placement.tag]
        self._enter(node)
        self.used_milli += idle_before - node.idle_milli
        self.version += 1

    @staticmethod
    def _take(node: NodeState, part: Part) -> None:
        i = part.device
        if node.mig is not None:
            layout = node.mig[i]
            if part.profile is None:  # a whole MIG-capable GPU, outside MIG mode
                if layout.memory_mask:
                    raise ValueError(f"GPU {i} of {node.spec.name} is partitioned")
                layout.memory_mask, layout.compute_used = 0xFF, 7
                node.free[i] = 0
                return
            layout.place(part.profile, part.mig_start)
            node.free[i] = _mig_free_milli(layout)
            return
        if node.free[i] < part.milli or node.dev_mem[i] < part.memory_mib:
            raise ValueError(f"device {i} of {node.spec.name} is short for {part}")
        node.free[i] -= part.milli
        node.dev_mem[i] -= part.memory_mib

    @staticmethod
    def _give(node: NodeState, part: Part) -> None:
        i = part.device
        if node.mig is not None:
            layout = node.mig[i]
            if part.profile is None:
                layout.memory_mask, layout.compute_used = 0, 0
                node.free[i] = MILLI
                return
            assert part.mig_start is not None
            layout.release(part.mig_start)
            node.free[i] = _mig_free_milli(layout)
            return
        node.free[i] += part.milli
        node.dev_mem[i] += part.memory_mib
