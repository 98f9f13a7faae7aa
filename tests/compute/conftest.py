"""What the zslab.compute tests share: tiny hand-built clusters and the allocation invariants
every placement must keep (nothing over-allocated, MIG layouts legal, the group index consistent).
"""

from __future__ import annotations

from typing import Any

from zslab.compute.cluster import Cluster, NodeState
from zslab.compute.inventory import Inventory, NodeSpec
from zslab.compute.mig import COMPUTE_SLICES, MigLayout

GIB = 1024
MILLI = 1000


def node(
    name: str,
    model: str | None = None,
    devices: int = 0,
    *,
    cpu: int = 32,
    memory_gib: int = 256,
    site: str = "s1",
    pool: str = "p1",
) -> NodeSpec:
    """One node; ``cpu`` in cores."""
    return NodeSpec(name, site, pool, cpu * 1000, memory_gib * GIB, model, devices)


def inventory(*nodes: NodeSpec) -> Inventory:
    return Inventory("test", tuple(nodes))


# --- invariants --------------------------------------------------------------------------------


def snapshot(cluster: Cluster) -> tuple[Any, ...]:
    """Everything that placing and releasing may change."""
    nodes = tuple(
        (
            n.cpu_left,
            n.mem_left,
            tuple(n.free),
            tuple(n.dev_mem),
            None
            if n.mig is None
            else tuple((layout.state(), tuple(layout.instances.items())) for layout in n.mig),
            tuple(sorted(n.affinity.items())),
        )
        for n in cluster.nodes
    )
    groups = frozenset((g.key, frozenset(g.members)) for g in cluster.groups())
    return nodes, groups, cluster.used_milli


def check_layout(layout: MigLayout) -> None:
    instances = layout.instances
    if not instances and layout.memory_mask == 0xFF:  # a whole GPU outside MIG mode
        assert layout.compute_used == COMPUTE_SLICES
        return
    union = 0
    compute = 0
    media = 0
    for start, name in instances.items():
        profile = layout.table.get(name)
        run = ((1 << profile.memory_slices) - 1) << start
        assert start in profile.starts, (name, start)
        assert not union & run, f"{name} at {start} overlaps {instances}"
        union |= run
        compute += profile.compute_slices
        media += profile.media_extensions
    assert union == layout.memory_mask
    assert compute == layout.compute_used <= COMPUTE_SLICES
    assert media <= 1 and layout.media_used == bool(media)


def check_node(n: NodeState) -> None:
    assert 0 <= n.cpu_left <= n.spec.cpu_milli
    assert 0 <= n.mem_left <= n.spec.memory_mib
    assert len(n.free) == len(n.dev_mem) == n.spec.devices
    if n.mig is None:
        capacity = n.model.memory_mib if n.model else 0
        for free, memory in zip(n.free, n.dev_mem, strict=True):
            assert 0 <= free <= MILLI
            assert 0 <= memory <= capacity
    else:
        for free, layout in zip(n.free, n.mig, strict=True):
            check_layout(layout)
            assert free == round(MILLI * (COMPUTE_SLICES - layout.compute_used) / COMPUTE_SLICES)


def check_index(cluster: Cluster) -> None:
    groups = list(cluster.groups())
    assert sum(len(g) for g in groups) == len(cluster.nodes)
    assert len({g.key for g in groups}) == len(groups)
    group_of: dict[int, Any] = {}
    for g in groups:
        assert len(g) > 0
        assert g.state.index in g.members
        assert g.state.state_key() == g.key
        assert g.best_node == min(g.members, key=lambda i: cluster.nodes[i].rank)
        for index in g.members:
            assert index not in group_of, f"node {index} is in two groups"
            group_of[index] = g
    for n in cluster.nodes:
        assert group_of[n.index].key == n.state_key() == n.key


def check_cluster(cluster: Cluster) -> None:
    for n in cluster.nodes:
        check_node(n)
    assert cluster.used_milli == sum(n.devices * MILLI - sum(n.free) for n in cluster.nodes)
    check_index(cluster)
