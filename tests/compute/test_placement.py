"""Placement policies on tiny hand-built clusters: each makes the choice its definition implies."""

from __future__ import annotations

import pytest

from tests.compute.conftest import inventory, node
from zslab.compute.cluster import Cluster, Part
from zslab.compute.frag import Workload
from zslab.compute.placement import (
    FGD,
    POLICIES,
    BestFit,
    DotProduct,
    FirstFit,
    GpuClustering,
    GpuPacking,
    Policy,
    RandomPolicy,
    ZslabPolicy,
    make_policy,
)
from zslab.compute.request import MigSize, ShareSize, SliceRequest, WholeSize, parse_request
from zslab.compute.trace import TracePod

GIB = 1024
HALF_T4 = parse_request("t4:0.5")
WORKLOAD = Workload.from_requests([HALF_T4] * 4)
FGD_FAMILY = {"fgd", "zslab"}
DETERMINISTIC = [name for name in POLICIES if name != "random"]


def policy(name: str, workload: Workload = WORKLOAD, seed: int = 0) -> Policy:
    return make_policy(name, workload=workload, seed=seed)


def use(cluster: Cluster, node_index: int, *parts: Part, cpu: int = 0) -> None:
    """Occupy devices of a node directly: each part as its own request (a share, a whole
    device or a MIG instance), and ``cpu`` as a CPU-only task."""
    if cpu:
        cluster.place(SliceRequest(size=WholeSize(0), cpu_milli=cpu), node_index, ())
    for part in parts:
        size: MigSize | ShareSize | WholeSize
        if part.profile is not None:
            size = MigSize(part.profile)
        elif part.milli == 1000:
            size = WholeSize(1)
        else:
            size = ShareSize(part.milli, part.memory_mib or None)
        cluster.place(SliceRequest(size=size), node_index, (part,))


def cpu_only(cores: float) -> SliceRequest:
    return SliceRequest(size=WholeSize(0), cpu_milli=round(cores * 1000))


def every_policy(_names: set[str], _reason: str) -> list[object]:
    """Every policy name (the arguments record which policies once had the bug)."""
    return list(POLICIES)


# --- make_policy -----------------------------------------------------------------------------


def test_make_policy_builds_every_named_policy() -> None:
    for name, cls in POLICIES.items():
        built = policy(name)

        assert type(built) is cls
        assert built.name == name


def test_make_policy_refuses_an_unknown_name() -> None:
    with pytest.raises(KeyError, match="unknown policy"):
        make_policy("bogus")


@pytest.mark.parametrize("name", sorted(FGD_FAMILY))
def test_fgd_family_needs_a_workload(name: str) -> None:
    with pytest.raises(ValueError, match="workload"):
        make_policy(name)


# --- each baseline's definition --------------------------------------------------------------


def test_bestfit_picks_the_fullest_node() -> None:
    cluster = Cluster(inventory(node("empty", "t4", 4), node("busy", "t4", 4)))
    use(cluster, 1, Part(0, 1000), Part(1, 1000), Part(2, 1000))

    decision = BestFit().decide(cluster, HALF_T4)

    assert decision is not None and decision.node == 1


def test_bestfit_counts_cpu_as_well_as_gpu() -> None:
    cluster = Cluster(inventory(node("roomy", "t4", 4, cpu=96), node("tight", "t4", 4, cpu=96)))
    use(cluster, 1, cpu=90_000)

    decision = BestFit().decide(cluster, HALF_T4)

    assert decision is not None and decision.node == 1


def test_bestfit_puts_a_share_on_the_tightest_fitting_device() -> None:
    cluster = Cluster(inventory(node("n", "t4", 3)))
    use(cluster, 0, Part(0, 700), Part(1, 400))  # free: 300, 600, 1000

    decision = BestFit().decide(cluster, HALF_T4)

    assert decision is not None and [p.device for p in decision.parts] == [1]


def test_firstfit_takes_the_first_fitting_device() -> None:
    cluster = Cluster(inventory(node("n", "t4", 3)))
    use(cluster, 0, Part(0, 700), Part(2, 400))  # free: 300, 1000, 600

    decision = FirstFit().decide(cluster, HALF_T4)

    assert decision is not None and [p.device for p in decision.parts] == [1]


def test_firstfit_takes_the_feasible_node_of_lowest_rank() -> None:
    nodes = [node(f"n{i}", "t4", 2, pool=f"p{i}") for i in range(6)]
    cluster = Cluster(inventory(*nodes), tie_seed=11)
    by_rank = sorted(cluster.nodes, key=lambda n: n.rank)
    use(cluster, by_rank[0].index, Part(0, 1000), Part(1, 1000))  # the first has no GPU left

    decision = FirstFit().decide(cluster, HALF_T4)

    assert decision is not None and decision.node == by_rank[1].index


def test_dotproduct_prefers_the_node_with_less_free_capacity() -> None:
    cluster = Cluster(inventory(node("idle", "t4", 4, cpu=64), node("used", "t4", 4, cpu=64)))
    use(cluster, 1, Part(0, 1000), Part(1, 1000), cpu=40_000)

    decision = DotProduct().decide(cluster, HALF_T4)

    assert decision is not None and decision.node == 1


def test_gpupacking_prefers_a_partly_used_gpu() -> None:
    cluster = Cluster(inventory(node("empty", "t4", 4), node("partial", "t4", 4)))
    use(cluster, 1, Part(2, 300))

    decision = GpuPacking().decide(cluster, HALF_T4)

    assert decision is not None
    assert decision.node == 1 and [p.device for p in decision.parts] == [2]


def test_gpupacking_prefers_a_used_node_to_an_empty_one() -> None:
    cluster = Cluster(inventory(node("empty", "t4", 4), node("used", "t4", 4)))
    use(cluster, 1, Part(0, 800))  # device 0 cannot take half a GPU any more

    decision = GpuPacking().decide(cluster, HALF_T4)

    assert decision is not None and decision.node == 1
    assert decision.parts[0].device != 0


def test_gpuclustering_puts_shares_with_shares() -> None:
    cluster = Cluster(
        inventory(node("empty", "t4", 4), node("whole", "t4", 4), node("shared", "t4", 4))
    )
    cluster.place(parse_request("t4:2"), 1, (Part(0, 1000), Part(1, 1000)))
    cluster.place(parse_request("t4:0.3"), 2, (Part(0, 300),))

    decision = GpuClustering().decide(cluster, HALF_T4)

    assert decision is not None and decision.node == 2


def test_gpuclustering_puts_two_gpu_tasks_with_two_gpu_tasks() -> None:
    cluster = Cluster(
        inventory(node("empty", "t4", 4), node("shared", "t4", 4), node("whole", "t4", 4))
    )
    cluster.place(parse_request("t4:0.3"), 1, (Part(0, 300),))
    cluster.place(parse_request("t4:2"), 2, (Part(0, 1000), Part(1, 1000)))

    decision = GpuClustering().decide(cluster, parse_request("t4:2"))

    assert decision is not None and decision.node == 2


def test_random_spreads_over_feasible_nodes_only() -> None:
    nodes = [node(f"n{i}", "t4", 1, pool=f"p{i}") for i in range(3)] + [node("a10", "a10", 1)]
    cluster = Cluster(inventory(*nodes))
    chooser = RandomPolicy()

    decisions = [chooser.decide(cluster, HALF_T4) for _ in range(100)]

    assert {d.node for d in decisions if d is not None} == {0, 1, 2}
    assert None not in decisions


def test_fgd_puts_a_share_where_the_remainder_stays_usable() -> None:
    cluster = Cluster(inventory(node("n", "t4", 2)))
    use(cluster, 0, Part(1, 300))  # free: 1000, 700; half of 700 would strand 200

    decision = FGD(WORKLOAD).decide(cluster, HALF_T4)

    assert decision is not None and [p.device for p in decision.parts] == [0]


def test_fgd_prefers_the_node_where_fragmentation_grows_least() -> None:
    cluster = Cluster(inventory(node("partial", "t4", 1), node("empty", "t4", 1)))
    use(cluster, 0, Part(0, 300))  # BestFit would take this fuller node and strand 200

    fgd = FGD(WORKLOAD).decide(cluster, HALF_T4)
    bestfit = BestFit().decide(cluster, HALF_T4)

    assert fgd is not None and fgd.node == 1
    assert bestfit is not None and bestfit.node == 0


def test_fgd_places_a_mig_instance_where_the_typical_profile_still_fits() -> None:
    # Typical task: 3g.40gb (slots at memory slices 0 and 4). With a 1g already at slice 4, a
    # second 1g at slice 0 (first fit) would block both 3g slots; at 5 or 6 it blocks none.
    workload = Workload.from_requests([parse_request("a100-80gb:3g.40gb")] * 9)
    cluster = Cluster(inventory(node("n", "a100-80gb", 1)))
    one_g = parse_request("a100-80gb:1g.10gb")
    cluster.place(one_g, 0, (Part(0, 143, mig_start=4, profile="1g.10gb"),))

    fgd = FGD(workload).decide(cluster, one_g)
    first = FirstFit().decide(cluster, one_g)

    assert fgd is not None and [p.mig_start for p in fgd.parts] in ([5], [6])
    assert first is not None and [p.mig_start for p in first.parts] == [0]


def test_zslab_sends_a_cpu_task_where_the_least_gpu_stays_idle() -> None:
    workload = Workload.from_requests([HALF_T4, cpu_only(2)])
    cluster = Cluster(inventory(node("idle", "t4", 4), node("busy", "t4", 4)))
    use(cluster, 1, Part(0, 1000), Part(1, 1000), Part(2, 1000))

    zslab = ZslabPolicy(workload).decide(cluster, cpu_only(2))
    fgd = FGD(workload).decide(cluster, cpu_only(2))

    assert zslab is not None and zslab.node == 1
    assert fgd is not None and fgd.node == 0  # FGD sees equal scores: lowest rank


# --- rules every policy follows --------------------------------------------------------------


@pytest.mark.parametrize("name", list(POLICIES))
def test_decisions_respect_gpu_spec(name: str) -> None:
    cluster = Cluster(inventory(node("a10", "a10", 4), node("t4", "t4", 4, pool="p2")))
    task = TracePod("p", 1000, 1024, 1, 500, ("t4",), "T4")

    decision = policy(name).decide(cluster, task.request)

    assert decision is not None and decision.node == 1


@pytest.mark.parametrize("name", list(POLICIES))
def test_multi_gpu_request_takes_whole_free_gpus_on_one_node(name: str) -> None:
    cluster = Cluster(inventory(node("short", "t4", 4), node("whole", "t4", 4, pool="p2")))
    use(cluster, 0, Part(1, 100))

    decision = policy(name).decide(cluster, parse_request("t4:4"))

    assert decision is not None and decision.node == 1
    assert sorted(p.device for p in decision.parts) == [0, 1, 2, 3]
    assert all(p.milli == 1000 for p in decision.parts)


@pytest.mark.parametrize("name", list(POLICIES))
@pytest.mark.parametrize(
    "spec", ["t4:8", "t4:0.5 site=elsewhere", "t4:0.5 pool=nowhere", "a10:1", "t4:1 cpu=64"]
)
def test_a_request_that_fits_nowhere_gets_none(name: str, spec: str) -> None:
    cluster = Cluster(inventory(node("a", "t4", 4), node("b", "t4", 4, pool="p2")))

    assert policy(name).decide(cluster, parse_request(spec)) is None


@pytest.mark.parametrize("name", list(POLICIES))
def test_a_full_cluster_fits_nothing_more(name: str) -> None:
    cluster = Cluster(inventory(node("a", "t4", 1)))
    use(cluster, 0, Part(0, 600))

    assert policy(name).decide(cluster, HALF_T4) is None


@pytest.mark.parametrize("name", DETERMINISTIC)
def test_ties_go_to_the_lowest_rank(name: str) -> None:
    # Identical nodes in different pools: different groups, equal scores.
    nodes = [node(f"n{i}", "t4", 2, pool=f"p{i}") for i in range(8)]
    cluster = Cluster(inventory(*nodes), tie_seed=5)
    lowest = min(cluster.nodes, key=lambda n: n.rank)

    decision = policy(name).decide(cluster, HALF_T4)

    assert lowest.index != 0  # the seed really permutes the ranks
    assert decision is not None and decision.node == lowest.index


@pytest.mark.parametrize("name", DETERMINISTIC)
def test_ties_within_one_group_go_to_the_lowest_rank(name: str) -> None:
    nodes = [node(f"n{i}", "t4", 2) for i in range(8)]
    cluster = Cluster(inventory(*nodes), tie_seed=9)
    lowest = min(cluster.nodes, key=lambda n: n.rank)

    decision = policy(name).decide(cluster, HALF_T4)

    assert cluster.group_count == 1
    assert decision is not None and decision.node == lowest.index


def test_tie_seed_ranks_are_a_permutation() -> None:
    cluster = Cluster(inventory(*[node(f"n{i}", "t4", 1) for i in range(20)]), tie_seed=3)

    assert sorted(n.rank for n in cluster.nodes) == list(range(20))


# --- bugs found and fixed ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    every_policy(
        set(POLICIES),
        "a share with gpumem goes to the device chosen by free compute alone "
        "(best_fit_device / first fit / random / FGD options ignore dev_mem), so on a t4 node "
        "whose device 0 holds 't4:0.2 gpumem=14GiB' the request 't4:0.3 gpumem=4GiB' is sent "
        "to device 0 (2 GiB left) and Cluster.place raises ValueError",
    ),
)
def test_a_share_with_gpumem_goes_to_a_device_with_that_memory(name: str) -> None:
    cluster = Cluster(inventory(node("n", "t4", 2)))
    cluster.place(parse_request("t4:0.2 gpumem=14GiB"), 0, (Part(0, 200, 14 * GIB),))
    request = parse_request("t4:0.3 gpumem=4GiB")  # device 0 has compute left, not memory

    for seed in range(20):  # the random policy draws its device
        decision = policy(name, seed=seed).decide(cluster, request)

        assert decision is not None
        assert [p.device for p in decision.parts] == [1]


@pytest.mark.parametrize(
    "name",
    every_policy(
        FGD_FAMILY,
        "FGD.options treats a share with a count (t4:0.25 x3) as a whole-GPU request: it "
        "returns one part of 1000 milli instead of three parts of 250",
    ),
)
def test_a_share_with_a_count_gets_that_many_shares(name: str) -> None:
    cluster = Cluster(inventory(node("n", "t4", 4)))

    decision = policy(name).decide(cluster, parse_request("t4:0.25 x3"))

    assert decision is not None
    assert [p.milli for p in decision.parts] == [250, 250, 250]


@pytest.mark.parametrize(
    "name",
    every_policy(
        FGD_FAMILY,
        "FGD.options calls Cluster.whole_devices for a counted share: on a t4 node with no "
        "fully free GPU, decide('t4:0.25 x3') raises ValueError 'has fewer than 1 free devices' "
        "although the request is feasible",
    ),
)
def test_a_share_with_a_count_fits_on_partly_used_gpus(name: str) -> None:
    cluster = Cluster(inventory(node("n", "t4", 2)))
    use(cluster, 0, Part(0, 100), Part(1, 100))
    request = parse_request("t4:0.25 x3")
    assert cluster.feasible(cluster.nodes[0], request)

    decision = policy(name).decide(cluster, request)

    assert decision is not None and len(decision.parts) == 3


@pytest.mark.parametrize(
    "name",
    every_policy(
        FGD_FAMILY,
        "FGD.options treats mem>= on a shared GPU as a whole GPU: 't4:mem>=4GiB' takes a whole "
        "T4 (1000 milli) instead of the smallest slice with 4 GiB (250 milli)",
    ),
)
def test_memory_request_on_a_shared_gpu_takes_the_smallest_slice(name: str) -> None:
    cluster = Cluster(inventory(node("n", "t4", 2)))

    decision = policy(name).decide(cluster, parse_request("t4:mem>=4GiB"))

    assert decision is not None
    assert [(p.milli, p.memory_mib) for p in decision.parts] == [(250, 4 * GIB)]


@pytest.mark.parametrize(
    "name",
    every_policy(
        FGD_FAMILY,
        "on a t4 node with no fully free GPU, FGD/zslab decide('t4:mem>=4GiB') raises "
        "ValueError from Cluster.whole_devices although a 4 GiB share fits",
    ),
)
def test_memory_request_fits_on_partly_used_shared_gpus(name: str) -> None:
    cluster = Cluster(inventory(node("n", "t4", 2)))
    use(cluster, 0, Part(0, 100), Part(1, 100))

    decision = policy(name).decide(cluster, parse_request("t4:mem>=4GiB"))

    assert decision is not None and len(decision.parts) == 1


def test_memory_request_for_a_whole_h100_fits_an_idle_h100() -> None:
    cluster = Cluster(inventory(node("n", "h100-80gb", 8)))

    assert BestFit().decide(cluster, parse_request("h100:mem>=80GiB")) is not None


@pytest.mark.parametrize(
    "name",
    every_policy(
        set(POLICIES),
        "the count of a whole-device request is ignored: 'h100:1 x2' parses to WholeSize(1) "
        "count 2, and Cluster.devices_needed / whole_devices grant a single GPU",
    ),
)
def test_one_device_times_two_gets_two_devices(name: str) -> None:
    cluster = Cluster(inventory(node("n", "h100-80gb", 4)))

    decision = policy(name).decide(cluster, parse_request("h100:1 x2"))

    assert decision is not None and len({p.device for p in decision.parts}) == 2


@pytest.mark.parametrize(
    "name",
    every_policy(
        set(POLICIES) - FGD_FAMILY,
        "the count of a mem>= request is ignored by Cluster.memory_parts: 'any:mem>=20GiB x2' "
        "on an H100 node grants one 3g.40gb instance (FGD-family policies place two)",
    ),
)
def test_memory_request_with_a_count_gets_that_many_slices(name: str) -> None:
    cluster = Cluster(inventory(node("n", "h100-80gb", 4)))
    request = parse_request("any:mem>=20GiB x2")

    decision = policy(name).decide(cluster, request)

    assert decision is not None and len(decision.parts) == 2
    cluster.place(request, decision.node, decision.parts)
