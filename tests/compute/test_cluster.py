"""The cluster's allocation state and group index, under hand-picked and random operations.

The property test drives a small mixed cluster (MIG A100/H100 nodes, shared T4/A10 nodes, an
Ascend node, a CPU-only node; two pairs of identical nodes, so groups have several members)
with random requests placed by random policies and random releases, and checks after every
step that nothing is over-allocated, every placement satisfies its request, the index is
consistent, and releasing restores the exact prior state.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.compute.conftest import MILLI, check_cluster, inventory, node, snapshot
from zslab.compute.cluster import Cluster, Part, Placement
from zslab.compute.devices import find_model
from zslab.compute.frag import Workload
from zslab.compute.placement import POLICIES, Decision, make_policy
from zslab.compute.request import (
    MemorySize,
    MigSize,
    ShareSize,
    SliceRequest,
    WholeSize,
    parse_request,
)

GIB = 1024
T4_MIB = 16 * GIB  # the smallest shared device in the test inventory

MIXED = inventory(
    node("mig80-a", "a100-80gb", 2, cpu=24, memory_gib=96, site="s1", pool="mig"),
    node("mig80-b", "a100-80gb", 2, cpu=24, memory_gib=96, site="s1", pool="mig"),
    node("h100", "h100-80gb", 1, cpu=16, memory_gib=64, site="s2", pool="mig"),
    node("mig40", "a100-40gb", 1, cpu=16, memory_gib=64, site="s2", pool="mig40"),
    node("t4-a", "t4", 2, cpu=16, memory_gib=64, site="s1", pool="share"),
    node("t4-b", "t4", 2, cpu=16, memory_gib=64, site="s1", pool="share"),
    node("a10", "a10", 2, cpu=16, memory_gib=64, site="s2", pool="share"),
    node("npu", "ascend910b", 1, cpu=8, memory_gib=32, site="s3", pool="dom"),
    node("cpu", None, 0, cpu=8, memory_gib=32, site="s1", pool="cpu"),
)
SITES = ["s1", "s2", "s3"]
POOLS = ["mig", "mig40", "share", "dom", "cpu"]


def check_decision(cluster: Cluster, request: SliceRequest, decision: Decision) -> None:
    """The decision satisfies the request on the node as it is now (before placing)."""
    n = cluster.nodes[decision.node]
    spec = n.spec
    if request.sites is not None:
        assert spec.site in request.sites
    if request.pools is not None:
        assert spec.pool in request.pools
    assert n.cpu_left >= request.cpu_milli and n.mem_left >= request.memory_mib
    parts = decision.parts
    if not request.needs_device:
        assert parts == ()
        return
    assert spec.model is not None
    model = find_model(spec.model)
    if request.models is not None:
        assert model.name in request.models
    elif request.family == "gpu":
        assert model.vendor != "Huawei"
    elif request.family == "npu":
        assert model.vendor == "Huawei"
    if request.domestic_only:
        assert model.domestic
    assert all(0 <= p.device < spec.devices for p in parts)
    size = request.size
    if isinstance(size, WholeSize):
        devices = [p.device for p in parts]
        assert len(devices) == len(set(devices)) == size.devices
        for p in parts:
            assert p.profile is None and p.milli == MILLI
            assert n.free[p.device] == MILLI
            assert n.mig is None or n.mig[p.device].memory_mask == 0
    elif isinstance(size, ShareSize):
        assert model.slicing == "share" and n.mig is None
        assert len(parts) == request.count
        assert all(p.milli == size.milli for p in parts)
        assert all(p.memory_mib == (size.memory_mib or 0) for p in parts)
    elif isinstance(size, MigSize):
        assert model.mig is not None and n.mig is not None
        assert len(parts) == request.count
        for p in parts:
            assert p.profile == size.profile
            assert p.mig_start in model.mig.get(size.profile).starts
    else:
        assert isinstance(size, MemorySize)
        assert len(parts) == request.count
        assert len({(p.device, p.mig_start) for p in parts if p.profile}) == sum(
            1 for p in parts if p.profile
        )
        for part in parts:
            if part.profile is not None:
                assert model.mig is not None
                assert model.mig.get(part.profile).memory_mib >= size.min_mib
            elif part.milli < MILLI:
                assert model.slicing == "share" and part.memory_mib >= size.min_mib
            else:
                assert model.memory_mib >= size.min_mib


# --- random requests -----------------------------------------------------------------------------

MIG_TARGETS = [
    ("a100-80gb", ["1g.10gb", "1g.10gb+me", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb"]),
    ("h100", ["1g.10gb", "1g.10gb+me", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb"]),
    ("a100-40gb", ["1g.5gb", "1g.5gb+me", "1g.10gb", "2g.10gb", "3g.20gb", "4g.20gb", "7g.40gb"]),
    ("a100-80gb|h100", ["1g.10gb", "2g.20gb", "3g.40gb", "7g.80gb"]),
    # "1g.10gb" is one memory slice on the 80 GB part but two on the 40 GB part
    ("a100-40gb|a100-80gb", ["1g.10gb"]),
]
SHARE_MODELS = ["t4", "a10", "a10|t4", "gpu", "any", "ascend910b"]
WHOLE_MODELS = ["t4", "a10", "h100", "a100-80gb", "a100-40gb", "ascend910b", "gpu", "any"]
MEMORY_MODELS = [  # (models, largest device memory among them in MiB, capped at 40 GiB)
    ("any", 40 * GIB),
    ("gpu", 40 * GIB),
    ("t4", 16 * GIB),
    ("h100", 40 * GIB),
    ("a100-80gb|h100", 40 * GIB),
    ("a100-40gb", 40 * GIB),
]


@st.composite
def requests(draw: st.DrawFn) -> SliceRequest:
    kind = draw(st.sampled_from(["mig", "share", "whole", "memory", "cpu"]))
    domestic_ok = False
    if kind == "cpu":  # no grammar for CPU-only tasks: the trace's num_gpu=0 rows
        text = None
    elif kind == "mig":
        models, profiles = draw(st.sampled_from(MIG_TARGETS))
        text = f"{models}:{draw(st.sampled_from(profiles))} x{draw(st.integers(1, 3))}"
    elif kind == "share":
        models = draw(st.sampled_from(SHARE_MODELS))
        milli = draw(st.integers(1, 999))
        text = f"{models}:0.{milli:03d} x{draw(st.integers(1, 3))}"
        if draw(st.booleans()):  # any amount: devices must be chosen by memory too
            text += f" gpumem={draw(st.integers(1, T4_MIB))}MiB"
        domestic_ok = models in {"any", "ascend910b"}
    elif kind == "whole":
        devices = draw(st.integers(1, 2))
        text = f"{draw(st.sampled_from(WHOLE_MODELS))}:{devices}"
        if devices == 1:
            text += f" x{draw(st.integers(1, 2))}"
    else:
        models, largest = draw(st.sampled_from(MEMORY_MODELS))
        text = f"{models}:mem>={draw(st.integers(1, largest))}MiB x{draw(st.integers(1, 2))}"
        domestic_ok = models == "any"
    cpu = draw(st.integers(0, 16)) * 500
    ram = draw(st.integers(0, 24)) * GIB
    sites = draw(st.none() | st.sets(st.sampled_from(SITES), min_size=1))
    pools = draw(st.none() | st.sets(st.sampled_from(POOLS), min_size=1))
    if text is None:
        return SliceRequest(
            size=WholeSize(0),
            cpu_milli=cpu,
            memory_mib=ram,
            sites=frozenset(sites) if sites else None,
            pools=frozenset(pools) if pools else None,
        )
    if cpu:
        text += f" cpu={cpu / 1000:g}"
    if ram:
        text += f" ram={ram // GIB}GiB"
    if sites:
        text += f" site={','.join(sorted(sites))}"
    if pools:
        text += f" pool={','.join(sorted(pools))}"
    if domestic_ok and draw(st.booleans()):
        text += " domestic"
    return parse_request(text)


# --- the property test ---------------------------------------------------------------------------


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(requests(), min_size=1, max_size=40), st.data())
def test_random_placements_and_releases_keep_the_cluster_consistent(
    stream: list[SliceRequest], data: st.DataObject
) -> None:
    cluster = Cluster(MIXED, tie_seed=data.draw(st.none() | st.integers(0, 2**16), label="tie"))
    workload = Workload.from_requests(stream)
    policies = {name: make_policy(name, workload=workload, seed=7) for name in POLICIES}
    pristine = snapshot(cluster)
    check_cluster(cluster)
    live: list[Placement] = []

    for request in stream:
        if live and data.draw(st.booleans(), label="release first"):
            gone = live.pop(data.draw(st.integers(0, len(live) - 1), label="which"))
            cluster.release(gone)
            check_cluster(cluster)

        name = data.draw(st.sampled_from(list(POLICIES)), label="policy")
        before = snapshot(cluster)
        decision = policies[name].decide(cluster, request)
        fits = any(cluster.feasible(n, request) for n in cluster.nodes)
        assert (decision is not None) == fits, (name, str(request))
        if decision is None:
            assert snapshot(cluster) == before
            continue
        check_decision(cluster, request, decision)

        placement = cluster.place(request, decision.node, decision.parts)
        after = snapshot(cluster)
        check_cluster(cluster)
        cluster.release(placement)
        assert snapshot(cluster) == before, ("release did not restore", name, str(request))
        check_cluster(cluster)
        live.append(cluster.place(request, decision.node, decision.parts))
        assert snapshot(cluster) == after

    for placement in data.draw(st.permutations(live), label="release order"):
        cluster.release(placement)
        check_cluster(cluster)
    assert snapshot(cluster) == pristine


# --- hand-picked cases ---------------------------------------------------------------------------


def test_a_fresh_cluster_is_consistent_and_unused() -> None:
    cluster = Cluster(MIXED)

    check_cluster(cluster)
    assert cluster.used_milli == 0
    assert cluster.total_milli == MILLI * sum(n.devices for n in MIXED.nodes)


def test_identical_nodes_share_one_group() -> None:
    cluster = Cluster(inventory(*[node(f"n{i}", "t4", 2) for i in range(5)]))

    assert cluster.group_count == 1


def test_placing_moves_a_node_to_its_own_group_and_release_merges_it_back() -> None:
    cluster = Cluster(inventory(*[node(f"n{i}", "t4", 2) for i in range(5)]))
    request = parse_request("t4:0.5")

    placement = cluster.place(request, 2, (Part(0, 500),))
    moved = cluster.group_count
    cluster.release(placement)

    assert moved == 2
    assert cluster.group_count == 1
    check_cluster(cluster)


def test_used_milli_counts_a_share() -> None:
    cluster = Cluster(inventory(node("n", "t4", 2)))

    cluster.place(parse_request("t4:0.3"), 0, (Part(1, 300),))

    assert cluster.used_milli == 300


def test_used_milli_counts_mig_compute_slices() -> None:
    cluster = Cluster(inventory(node("n", "a100-80gb", 1)))
    request = parse_request("a100-80gb:3g.40gb")

    cluster.place(request, 0, cluster.device_choice_first(0, request))

    assert cluster.used_milli == round(MILLI * 3 / 7)  # 3 of 7 compute slices


def test_a_whole_mig_gpu_blocks_every_instance() -> None:
    cluster = Cluster(inventory(node("n", "h100-80gb", 1)))
    whole = parse_request("h100:1")
    cluster.place(whole, 0, cluster.device_choice_first(0, whole))

    assert not cluster.feasible(cluster.nodes[0], parse_request("h100:1g.10gb"))
    assert cluster.used_milli == MILLI


def test_a_partitioned_mig_gpu_is_not_whole() -> None:
    cluster = Cluster(inventory(node("n", "h100-80gb", 1)))
    one_g = parse_request("h100:1g.10gb")
    cluster.place(one_g, 0, cluster.device_choice_first(0, one_g))

    assert not cluster.feasible(cluster.nodes[0], parse_request("h100:1"))


def test_mig_instances_of_one_request_may_span_gpus() -> None:
    cluster = Cluster(inventory(node("n", "a100-80gb", 2)))
    request = parse_request("a100-80gb:3g.40gb x3")

    parts = cluster.device_choice_first(0, request)
    cluster.place(request, 0, parts)

    assert sorted((p.device, p.mig_start) for p in parts) == [(0, 0), (0, 4), (1, 0)]
    check_cluster(cluster)


def test_mig_count_beyond_the_geometry_is_infeasible() -> None:
    cluster = Cluster(inventory(node("n", "a100-80gb", 1)))

    assert not cluster.feasible(cluster.nodes[0], parse_request("a100-80gb:3g.40gb x3"))
    assert cluster.feasible(cluster.nodes[0], parse_request("a100-80gb:3g.40gb x2"))


def test_the_same_profile_name_takes_the_skus_own_geometry() -> None:
    cluster = Cluster(inventory(node("a40", "a100-40gb", 1), node("a80", "a100-80gb", 1)))
    request = parse_request("a100-40gb|a100-80gb:1g.10gb x4")

    for index in (0, 1):
        cluster.place(request, index, cluster.device_choice_first(index, request))

    masks = [n.mig[0].memory_mask for n in cluster.nodes if n.mig is not None]
    assert masks == [0b1111_1111, 0b0000_1111]  # 4 x 2 slices on 40 GB, 4 x 1 slice on 80 GB


def test_a_failed_place_changes_nothing() -> None:
    cluster = Cluster(inventory(node("n", "t4", 1)))
    before = snapshot(cluster)
    request = parse_request("t4:0.6 x2")

    with pytest.raises(ValueError):
        cluster.place(request, 0, (Part(0, 600), Part(0, 600)))

    assert snapshot(cluster) == before
    check_cluster(cluster)


def test_a_failed_mig_place_changes_nothing() -> None:
    cluster = Cluster(inventory(node("n", "a100-80gb", 1)))
    before = snapshot(cluster)
    request = parse_request("a100-80gb:4g.40gb x2")
    parts = tuple(Part(0, 571, mig_start=0, profile="4g.40gb") for _ in range(2))

    with pytest.raises(ValueError):
        cluster.place(request, 0, parts)

    assert snapshot(cluster) == before


def test_place_refuses_when_host_memory_is_short() -> None:
    cluster = Cluster(inventory(node("n", "t4", 1, memory_gib=8)))
    request = parse_request("t4:0.5 ram=16GiB")

    with pytest.raises(ValueError, match="CPU or memory"):
        cluster.place(request, 0, (Part(0, 500),))


def test_share_memory_is_taken_and_given_back() -> None:
    cluster = Cluster(inventory(node("n", "t4", 1)))
    request = parse_request("t4:0.25 gpumem=4GiB")

    placement = cluster.place(request, 0, cluster.device_choice_first(0, request))
    taken = cluster.nodes[0].dev_mem[0]
    cluster.release(placement)

    assert taken == 12 * GIB
    assert cluster.nodes[0].dev_mem[0] == 16 * GIB


def test_memory_request_takes_the_smallest_mig_profile_with_enough_memory() -> None:
    cluster = Cluster(inventory(node("n", "h100-80gb", 1)))
    request = parse_request("h100:mem>=15GiB")  # 1g.10gb has 9.75 GiB, 1g.20gb 19.62 GiB

    (part,) = cluster.device_choice_first(0, request)

    assert part.profile == "1g.20gb"


def test_memory_request_on_a_shared_gpu_takes_a_proportional_share() -> None:
    cluster = Cluster(inventory(node("n", "a10", 1)))
    request = parse_request("a10:mem>=6GiB")  # a quarter of 24 GiB

    (part,) = cluster.device_choice_first(0, request)

    assert (part.milli, part.memory_mib) == (250, 6 * GIB)


def test_cpu_only_request_fits_a_cpu_node() -> None:
    cluster = Cluster(inventory(node("cpu", None, 0, cpu=8)))
    request = SliceRequest(size=WholeSize(0), cpu_milli=8000)

    placement = cluster.place(request, 0, ())

    assert cluster.nodes[0].cpu_left == 0
    assert placement.tag == "no-gpu" and not cluster.nodes[0].affinity


def test_request_for_another_site_is_infeasible() -> None:
    cluster = Cluster(inventory(node("n", "t4", 1, site="pudong")))

    assert cluster.feasible(cluster.nodes[0], parse_request("t4:0.5 site=pudong,qingpu"))
    assert not cluster.feasible(cluster.nodes[0], parse_request("t4:0.5 site=qingpu"))


def test_release_in_any_order_returns_to_the_fresh_state() -> None:
    cluster = Cluster(MIXED, tie_seed=1)
    pristine = snapshot(cluster)
    placements = []
    for spec in ["a100-80gb:3g.40gb x2", "t4:0.3 x3", "h100:1", "a10:mem>=10GiB", "gpu:0.5"]:
        request = parse_request(spec)
        decision = make_policy("bestfit").decide(cluster, request)
        assert decision is not None
        placements.append(cluster.place(request, decision.node, decision.parts))

    random.Random(4).shuffle(placements)
    for placement in placements:
        cluster.release(placement)

    assert snapshot(cluster) == pristine
