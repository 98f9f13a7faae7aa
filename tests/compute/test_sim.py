"""Trace pods and the simulator: reading pod lists, inflating a workload, fill and timed replay."""

from __future__ import annotations

import csv
import itertools
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import trace_file
from zslab.compute.inventory import Inventory
from zslab.compute.request import ShareSize, WholeSize
from zslab.compute.sim import (
    FillResult,
    inflate,
    parse_seeds,
    replay_fill,
    replay_timed,
    summarize,
)
from zslab.compute.trace import TracePod, read_trace_pods
from zslab.errors import InvalidInput

POD_LISTS = [
    "openb_pod_list_default.csv",
    "openb_pod_list_gpushare20.csv",
    "openb_pod_list_gpushare60.csv",
    "openb_pod_list_gpuspec10.csv",
    "openb_pod_list_multigpu20.csv",
    "openb_pod_list_cpu050.csv",
]
HEADER = "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec\n"


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def write(tmp_path: Path, text: str, name: str = "pods.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def pod(name: str, num_gpu: int = 1, gpu_milli: int = 500, *, cpu: int = 1000) -> TracePod:
    return TracePod(name, cpu, 1024, num_gpu, gpu_milli if num_gpu else 0)


# --- the real pod lists ----------------------------------------------------------------------


def test_default_pod_list_has_8152_tasks() -> None:
    # The count the data README states.
    assert len(read_trace_pods(trace_file("openb_pod_list_default.csv"))) == 8152


@pytest.mark.parametrize("name", POD_LISTS)
def test_every_row_of_a_pod_list_becomes_a_pod(name: str) -> None:
    path = trace_file(name)

    pods = read_trace_pods(path)

    rows = csv_rows(path)
    assert [p.name for p in pods] == [r["name"] for r in rows]
    assert sum(p.num_gpu for p in pods) == sum(int(r["num_gpu"]) for r in rows)


def test_multigpu_list_has_no_timestamps() -> None:
    pods = read_trace_pods(trace_file("openb_pod_list_multigpu20.csv"))

    assert all(p.creation_time is None and p.deletion_time is None for p in pods)
    assert all(p.gpu_spec == () for p in pods)


def test_gpu_spec_lists_catalog_models() -> None:
    pods = read_trace_pods(trace_file("openb_pod_list_gpuspec10.csv"))

    specs = {p.gpu_spec for p in pods if p.gpu_spec}

    assert specs
    assert all(
        set(s) <= {"p100", "t4", "v100m16", "v100m32", "a10", "g1", "g2", "g3"} for s in specs
    )


def test_pod_requests_have_the_shape_their_gpu_columns_say() -> None:
    pods = read_trace_pods(trace_file("openb_pod_list_default.csv"))

    for p in pods:
        size = p.request.size
        if p.num_gpu == 0:
            assert size == WholeSize(0)
        elif p.num_gpu == 1 and p.gpu_milli < 1000:
            assert size == ShareSize(p.gpu_milli)
        else:
            assert size == WholeSize(p.num_gpu)


# --- TracePod.request ------------------------------------------------------------------------


def test_a_fractional_pod_requests_a_share() -> None:
    shared = TracePod("p", 2000, 4096, 1, 460, ("v100m16", "v100m32"))

    request = shared.request

    assert request.size == ShareSize(460)
    assert request.models == frozenset({"v100m16", "v100m32"})
    assert (request.cpu_milli, request.memory_mib) == (2000, 4096)
    assert shared.is_sharing


def test_a_full_single_gpu_pod_requests_one_whole_device() -> None:
    whole = TracePod("p", 2000, 4096, 1, 1000)

    assert whole.request.size == WholeSize(1)
    assert whole.request.models is None
    assert not whole.is_sharing


def test_a_multi_gpu_pod_requests_whole_devices() -> None:
    multi = TracePod("p", 2000, 4096, 4, 1000)

    assert multi.request.size == WholeSize(4)
    assert multi.total_gpu_milli == 4000


def test_a_pod_without_gpus_is_cpu_only() -> None:
    cpu_only = TracePod("p", 8000, 4096, 0, 0)

    assert cpu_only.request.size == WholeSize(0)
    assert not cpu_only.request.needs_device


def test_gpu_milli_above_1000_is_read_as_a_whole_gpu(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "p1,1000,1024,1,1500,\n")

    (read,) = read_trace_pods(path)

    assert read.gpu_milli == 1000
    assert read.request.size == WholeSize(1)


def test_gpu_spec_nan_means_any_model(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "p1,1000,1024,1,500,nan\n")

    (read,) = read_trace_pods(path)

    assert read.gpu_spec == ()
    assert read.request.models is None


# --- malformed pod lists ---------------------------------------------------------------------


def assert_pods_invalid(path: Path, field: str) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        read_trace_pods(path)
    assert caught.value.field == field
    return caught.value


def test_pod_list_missing_a_column_names_it(tmp_path: Path) -> None:
    path = write(tmp_path, "name,cpu_milli,memory_mib,num_gpu\np1,1000,1024,1\n")

    error = assert_pods_invalid(path, "pods")

    assert "gpu_milli" in error.detail


def test_pod_list_with_a_non_numeric_value_names_the_column(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "p1,1000,1024,1,500,\np2,many,1024,1,500,\n")

    error = assert_pods_invalid(path, "cpu_milli")

    assert "line 3" in error.detail


def test_pod_list_with_a_negative_value_names_the_column(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "p1,1000,-5,1,500,\n")

    assert_pods_invalid(path, "memory_mib")


def test_pod_list_with_an_empty_number_names_the_column(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "p1,1000,1024,,500,\n")

    assert_pods_invalid(path, "num_gpu")


def test_pod_list_with_an_empty_name_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + ",1000,1024,1,500,\n")

    assert_pods_invalid(path, "name")


def test_pod_list_with_an_unknown_gpu_spec_names_the_column(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "p1,1000,1024,1,500,V100M16|Z80\n")

    error = assert_pods_invalid(path, "gpu_spec")

    assert "Z80" in error.detail


def test_pod_list_with_a_multi_gpu_fractional_share_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "p1,1000,1024,2,500,\n")

    assert_pods_invalid(path, "gpu_milli")


def test_pod_list_without_rows_is_refused(tmp_path: Path) -> None:
    assert_pods_invalid(write(tmp_path, HEADER), "pods")


def test_missing_pod_list_is_refused(tmp_path: Path) -> None:
    assert_pods_invalid(tmp_path / "absent.csv", "pods")


def test_pod_list_with_an_infinite_value_names_the_column(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "p1,inf,1024,1,500,\n")

    assert_pods_invalid(path, "cpu_milli")


# --- parse_seeds -----------------------------------------------------------------------------


def test_seed_range_is_inclusive() -> None:
    assert parse_seeds("42-51") == list(range(42, 52))


def test_seed_list() -> None:
    assert parse_seeds("1,5,9") == [1, 5, 9]


def test_seed_ranges_and_numbers_mix() -> None:
    assert parse_seeds("1-3, 7") == [1, 2, 3, 7]


@pytest.mark.parametrize("text", ["", ",", "a", "5-3", "1-x", "1.5"])
def test_bad_seeds_raise_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        parse_seeds(text)


# --- inflate ---------------------------------------------------------------------------------


single_gpu_pods = st.lists(
    st.builds(
        lambda i, milli: pod(f"p{i:03d}", 1, milli),
        st.integers(0, 999),
        st.integers(1, 1000),
    ),
    min_size=1,
    max_size=30,
    unique_by=lambda p: p.name,
)


@settings(max_examples=100, deadline=None)
@given(single_gpu_pods, st.integers(1, 20), st.floats(0.1, 2.0), st.integers(0, 2**31))
def test_inflated_single_gpu_demand_stops_within_one_share_of_the_target(
    pods: list[TracePod], devices: int, tune: float, seed: int
) -> None:
    target = tune * devices * 1000

    order = inflate(pods, devices * 1000, tune, random.Random(seed))

    total = sum(p.total_gpu_milli for p in order)
    assert total <= target
    if sum(p.total_gpu_milli for p in pods) < target:
        # grown: stopped by a candidate whose share would cross the target
        assert target < total + max(p.gpu_milli for p in pods)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.builds(
            lambda i, n: pod(f"p{i:03d}", n, 1000),
            st.integers(0, 999),
            st.integers(1, 8),
        ),
        min_size=1,
        max_size=20,
        unique_by=lambda p: p.name,
    ),
    st.integers(8, 40),
    st.integers(0, 2**31),
)
def test_inflate_stops_on_the_per_gpu_share_of_the_candidate(
    pods: list[TracePod], devices: int, seed: int
) -> None:
    """The docstring's rule: a clone is added while total + its per-GPU share <= target."""
    target = 1.3 * devices * 1000

    order = inflate(pods, devices * 1000, 1.3, random.Random(seed))

    total = sum(p.total_gpu_milli for p in order)
    clones = [p for p in order if "-tuned-" in p.name]
    if clones:
        last = clones[-1]
        assert total - last.total_gpu_milli + last.gpu_milli <= target
    else:
        assert total <= target


def test_inflate_removes_tasks_when_demand_exceeds_the_target() -> None:
    pods = [pod(f"p{i}", 1, 1000) for i in range(10)]  # 10 GPUs asked of a 5-GPU target

    order = inflate(pods, 5000, 1.0, random.Random(3))

    assert sum(p.total_gpu_milli for p in order) == 5000
    assert {p.name for p in order} < {p.name for p in pods}


def test_inflate_keeps_the_original_tasks_and_adds_clones() -> None:
    pods = [pod(f"p{i}", 1, 300) for i in range(5)]

    order = inflate(pods, 10_000, 1.3, random.Random(0))

    names = [p.name for p in order]
    assert sorted(names[:5]) == sorted(p.name for p in pods)
    assert all("-tuned-" in n for n in names[5:])
    assert len(set(names)) == len(names)


def test_inflate_is_deterministic_per_seed() -> None:
    pods = [pod(f"p{i}", 1 + i % 2, 1000 if i % 2 else 250 + i) for i in range(20)]

    first = inflate(pods, 40_000, 1.3, random.Random(7))
    again = inflate(pods, 40_000, 1.3, random.Random(7))
    other = inflate(pods, 40_000, 1.3, random.Random(8))

    assert [p.name for p in first] == [p.name for p in again]
    assert [p.name for p in first] != [p.name for p in other]


def test_inflate_does_not_depend_on_input_order() -> None:
    pods = [pod(f"p{i:02d}", 1, 100 + 10 * i) for i in range(20)]

    forward = inflate(pods, 8000, 1.3, random.Random(5))
    backward = inflate(list(reversed(pods)), 8000, 1.3, random.Random(5))

    assert [p.name for p in forward] == [p.name for p in backward]


def test_inflating_cpu_only_tasks_is_refused_at_once() -> None:
    # It once looped forever: run it where a regression cannot hang the suite.
    code = textwrap.dedent(
        """
        import random, resource
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
        from zslab.compute.sim import inflate
        from zslab.compute.trace import TracePod
        from zslab.errors import InvalidInput
        try:
            inflate([TracePod("cpu-only", 1000, 1024, 0, 0)], 1000, 1.3, random.Random(0))
        except InvalidInput as exc:
            print(exc.field)
        """
    )

    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=False
    )

    assert result.returncode == 0, result.stderr[-500:]
    assert result.stdout.strip() == "pods"


# --- replay_fill on a slice of the real trace ------------------------------------------------


@pytest.fixture(scope="module")
def trace_slice() -> tuple[Inventory, list[TracePod]]:
    inventory = Inventory.from_alibaba_trace(trace_file("openb_node_list_gpu_node.csv"))
    pods = read_trace_pods(trace_file("openb_pod_list_default.csv"))[:400]
    return inventory, pods


@pytest.fixture(scope="module")
def bestfit_fill(trace_slice: tuple[Inventory, list[TracePod]]) -> FillResult:
    inventory, pods = trace_slice
    return replay_fill(inventory, pods, "bestfit", seed=42)


def series(result: FillResult) -> tuple[list[int], list[int], list[float]]:
    return result.arrived_milli, result.used_milli, result.frag_milli


def test_fill_replay_is_deterministic_per_seed(
    trace_slice: tuple[Inventory, list[TracePod]], bestfit_fill: FillResult
) -> None:
    inventory, pods = trace_slice

    again = replay_fill(inventory, pods, "bestfit", seed=42)

    assert series(again) == series(bestfit_fill)
    assert (again.placed, again.failed) == (bestfit_fill.placed, bestfit_fill.failed)


def test_fill_replay_differs_between_seeds(
    trace_slice: tuple[Inventory, list[TracePod]], bestfit_fill: FillResult
) -> None:
    inventory, pods = trace_slice

    other = replay_fill(inventory, pods, "bestfit", seed=43)

    assert series(other) != series(bestfit_fill)


def test_fill_replay_records_one_event_per_task(bestfit_fill: FillResult) -> None:
    events = len(bestfit_fill.arrived_milli)

    assert events == bestfit_fill.placed + bestfit_fill.failed
    assert len(bestfit_fill.used_milli) == len(bestfit_fill.frag_milli) == events
    assert len(bestfit_fill.idle_milli) == len(bestfit_fill.latency_s) == events


def test_fill_replay_arrives_at_130_percent_of_capacity(bestfit_fill: FillResult) -> None:
    capacity = bestfit_fill.total_devices * 1000

    arrived = bestfit_fill.arrived_milli[-1]

    assert arrived <= 1.3 * capacity + 8000  # at most one multi-GPU clone past the target
    assert arrived > 1.3 * capacity - 1000


def test_fill_replay_never_over_allocates(bestfit_fill: FillResult) -> None:
    capacity = bestfit_fill.total_devices * 1000
    used = bestfit_fill.used_milli

    assert all(0 <= u <= capacity for u in used)
    assert all(a <= b for a, b in itertools.pairwise(used))  # no departures
    assert all(u <= a for u, a in zip(used, bestfit_fill.arrived_milli, strict=True))
    assert all(u + i == capacity for u, i in zip(used, bestfit_fill.idle_milli, strict=True))


def test_fill_replay_fragmentation_stays_within_the_idle_gpu(bestfit_fill: FillResult) -> None:
    pairs = zip(bestfit_fill.frag_milli, bestfit_fill.idle_milli, strict=True)

    assert all(-1e-6 <= f <= i + 1e-6 for f, i in pairs)


@pytest.mark.parametrize("percent", [50, 100, 130])
def test_alloc_ratio_is_a_percentage_not_above_arrived_demand(
    bestfit_fill: FillResult, percent: int
) -> None:
    ratio = bestfit_fill.alloc_ratio(percent)

    assert ratio is not None
    assert 0 <= ratio <= min(100, percent + 1)


@pytest.mark.parametrize("percent", [80, 90])
def test_frag_rate_is_a_percentage(bestfit_fill: FillResult, percent: int) -> None:
    rate = bestfit_fill.frag_rate(percent)

    assert rate is not None and 0 <= rate <= 100


def test_alloc_ratio_is_none_beyond_the_replay(bestfit_fill: FillResult) -> None:
    assert bestfit_fill.alloc_ratio(400) is None


def test_fgd_fill_replay_never_over_allocates(
    trace_slice: tuple[Inventory, list[TracePod]],
) -> None:
    inventory, pods = trace_slice

    result = replay_fill(inventory, pods, "fgd", seed=1)

    capacity = result.total_devices * 1000
    assert all(0 <= u <= capacity for u in result.used_milli)
    assert all(u <= a for u, a in zip(result.used_milli, result.arrived_milli, strict=True))


def test_summarize_adds_up_the_seeds(
    trace_slice: tuple[Inventory, list[TracePod]], bestfit_fill: FillResult
) -> None:
    inventory, pods = trace_slice
    other = replay_fill(inventory, pods, "bestfit", seed=43)

    summary = summarize([bestfit_fill, other])

    assert summary["seeds"] == [42, 43]
    assert summary["placed"] == bestfit_fill.placed + other.placed
    assert summary["failed"] == bestfit_fill.failed + other.failed
    ratios = [bestfit_fill.alloc_ratio(100), other.alloc_ratio(100)]
    assert min(ratios) - 0.01 <= summary["alloc_ratio"]["100"] <= max(ratios) + 0.01


# --- replay_timed on a slice -----------------------------------------------------------------


@pytest.fixture(scope="module")
def crowded_slice() -> tuple[Inventory, list[TracePod]]:
    """10 GPU nodes spread over the node list and 600 tasks: enough contention to wait."""
    full = Inventory.from_alibaba_trace(trace_file("openb_node_list_gpu_node.csv"))
    pods = read_trace_pods(trace_file("openb_pod_list_default.csv"))[:600]
    return Inventory("slice", full.nodes[::121][:10]), pods


def timed_tasks(pods: list[TracePod]) -> int:
    return sum(
        1
        for p in pods
        if p.creation_time is not None
        and p.deletion_time is not None
        and p.deletion_time > p.creation_time
    )


def test_timed_replay_accounts_for_every_timed_task(
    crowded_slice: tuple[Inventory, list[TracePod]],
) -> None:
    inventory, pods = crowded_slice

    result = replay_timed(inventory, pods, "bestfit")

    assert result.placed + result.never_placed == timed_tasks(pods)
    assert len(result.queue_delay_s) == result.placed


def test_timed_replay_delays_and_utilisation_are_sensible(
    crowded_slice: tuple[Inventory, list[TracePod]],
) -> None:
    inventory, pods = crowded_slice

    summary = replay_timed(inventory, pods, "fgd").summary()

    delays = summary["queue_delay_s"]
    assert 0 <= delays["p50"] <= delays["p99"]
    assert delays["mean"] >= 0
    assert 0 <= summary["utilization_pct"]["mean"] <= summary["utilization_pct"]["max"] <= 100


def test_timed_replay_drops_tasks_that_wait_too_long(
    crowded_slice: tuple[Inventory, list[TracePod]],
) -> None:
    inventory, pods = crowded_slice

    patient = replay_timed(inventory, pods, "bestfit")
    hasty = replay_timed(inventory, pods, "bestfit", max_wait_s=0)

    assert max(patient.queue_delay_s) > 0  # the slice is crowded enough for tasks to wait
    assert max(hasty.queue_delay_s) == 0
    assert hasty.placed + hasty.never_placed == timed_tasks(pods)
    assert hasty.placed < patient.placed


def test_timed_replay_needs_timestamps() -> None:
    with pytest.raises(ValueError, match="creation_time"):
        replay_timed(Inventory("empty", ()), [pod("p1")], "bestfit")
