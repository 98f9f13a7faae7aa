"""``zslab sim | inventory | node``: the simulator and the hardware inventory from the command
line (the request grammar, ``zslab slices parse``, is tested with the leases)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import RunCli, assert_one_error, hub_options, zslab_cli
from tests.conftest import ONE_H100, HubHandle, trace_file, write_inventory
from zslab.compute.inventory import Inventory, model_from_nvml_name
from zslab.errors import InvalidInput


@pytest.fixture(scope="module")
def small_trace(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The GPU node list and the first 600 tasks of the default trace."""
    nodes = trace_file("openb_node_list_gpu_node.csv")
    lines = trace_file("openb_pod_list_default.csv").read_text().splitlines()
    pods = tmp_path_factory.mktemp("trace") / "openb_pod_list_small.csv"
    pods.write_text("\n".join(lines[:601]) + "\n")
    return nodes, pods


def test_sim_json_has_the_fields_the_checks_rely_on(small_trace: tuple[Path, Path]) -> None:
    nodes, pods = small_trace
    result = zslab_cli(
        "sim",
        "--nodes",
        str(nodes),
        "--pods",
        str(pods),
        "--policy",
        "fgd",
        "--seeds",
        "42-43",
        "--tune",
        "1.3",
        "--json",
        "--workers",
        "1",
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["policy"] == "fgd"
    assert summary["trace"] == "openb_pod_list_small"
    assert summary["seeds"] == [42, 43]
    assert set(summary["alloc_ratio"]) == {"100", "130"}
    assert set(summary["frag_rate"]) == {"80", "90"}
    assert set(summary["decision_latency_ms"]) == {"p50", "p99"}
    assert summary["decisions_per_s"] > 0
    assert 0 < summary["alloc_ratio"]["130"] <= 130


def test_sim_writes_the_allocation_curve(small_trace: tuple[Path, Path], tmp_path: Path) -> None:
    nodes, pods = small_trace
    out = tmp_path / "curve.json"
    result = zslab_cli(
        "sim",
        "--nodes",
        str(nodes),
        "--pods",
        str(pods),
        "--policy",
        "zslab",
        "--seeds",
        "7",
        "--out",
        str(out),
        "--workers",
        "1",
    )
    assert result.returncode == 0, result.stderr
    assert "allocated %" in result.stdout
    curve = json.loads(out.read_text())["curve"]
    assert len(curve) == 131
    assert curve["50"][0] == pytest.approx(50, abs=1.0)  # below saturation all of it fits


def test_sim_timed_mode_reports_queueing(small_trace: tuple[Path, Path]) -> None:
    nodes, pods = small_trace
    result = zslab_cli(
        "sim",
        "--nodes",
        str(nodes),
        "--pods",
        str(pods),
        "--mode",
        "timed",
        "--seeds",
        "1",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    run = json.loads(result.stdout)["runs"][0]
    assert run["placed"] + run["never_placed"] == 600
    assert run["queue_delay_s"]["mean"] >= 0


@pytest.mark.parametrize(
    ("args", "field_text"),
    [
        (["--policy", "nope"], "Unknown policy"),
        (["--seeds", "9-1"], "seeds"),
        (["--pods", "/nonexistent.csv"], "is not a file"),
    ],
)
def test_sim_bad_arguments_are_explained(
    small_trace: tuple[Path, Path], args: list[str], field_text: str
) -> None:
    nodes, pods = small_trace
    base = {"--nodes": str(nodes), "--pods": str(pods)}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    flat = [x for pair in base.items() for x in pair]
    result = zslab_cli("sim", *flat)
    assert result.returncode == 1
    assert field_text in result.stderr
    assert "Traceback" not in result.stderr


def test_inventory_show_labels_the_example() -> None:
    table = zslab_cli("inventory", "show")
    assert "EXAMPLE" in table.stdout
    data = json.loads(zslab_cli("inventory", "show", "--json").stdout)
    assert data["example"] is True
    assert {row["site"] for row in data["pools"]} == {
        "pudong",
        "lingang",
        "songjiang",
        "qingpu",
        "jinshan",
    }


@pytest.mark.parametrize(
    ("name", "memory_mib", "model"),
    [
        ("NVIDIA H100 80GB HBM3", 81559, "h100-80gb"),
        ("NVIDIA A100-SXM4-40GB", 40960, "a100-40gb"),
        ("NVIDIA A100-SXM4-80GB", 81920, "a100-80gb"),
        ("NVIDIA H200", 143771, "h200"),
        ("Tesla V100-SXM2-32GB", 32768, "v100m32"),
        ("Tesla T4", 15360, "t4"),
        ("NVIDIA A10", 23028, "a10"),
    ],
)
def test_nvml_device_names_map_to_the_catalog(name: str, memory_mib: int, model: str) -> None:
    assert model_from_nvml_name(name, memory_mib) == model


def test_nvml_discovery_without_a_gpu_says_so() -> None:
    try:
        import pynvml

        pynvml.nvmlInit()
        pynvml.nvmlShutdown()
    except Exception:
        with pytest.raises(InvalidInput) as caught:
            Inventory.discover_nvml()
        assert "NVML" in caught.value.detail
    else:
        pytest.skip("this machine has NVIDIA GPUs: discovery works instead of failing")


def test_inventory_show_reads_a_yaml_file(tmp_path: Path) -> None:
    result = zslab_cli("inventory", "show", "--file", write_inventory(tmp_path, ONE_H100))

    lines = result.stdout.splitlines()
    assert result.returncode == 0
    assert lines[0] == "one-h100: 1 nodes, 1 accelerators"
    assert lines[1].split() == ["SITE", "POOL", "MODEL", "NODES", "DEVICES"]
    assert lines[2].split() == ["pudong", "h100", "h100-80gb", "1", "1"]


@pytest.mark.parametrize("option", ["--file", "--trace-nodes"])
def test_a_missing_inventory_file_is_one_error_naming_the_option(
    tmp_path: Path, option: str
) -> None:
    result = zslab_cli("inventory", "show", option, str(tmp_path / "nowhere.yaml"))

    assert_one_error(result, "nowhere.yaml is not a file", option)


def test_inventory_load_replaces_the_hubs_and_a_node_drains(
    inventory_hub: HubHandle, tmp_path: Path, run_cli: RunCli
) -> None:
    admin = hub_options(inventory_hub)

    loaded = run_cli("inventory", "load", write_inventory(tmp_path, ONE_H100), *admin)
    drained = run_cli("node", "drain", "h-01", "--reason", "maintenance", *admin)
    undone = run_cli("node", "drain", "h-01", "--undo", *admin)

    assert loaded.out == "Loaded one-h100: 1 nodes, 1 accelerators.\n"
    assert drained.out == "h-01 drained; 0 lease(s) still running there.\n"
    assert undone.out == "h-01 accepting placements again; 0 lease(s) still running there.\n"


def test_loading_a_missing_inventory_is_one_error(tmp_path: Path, run_cli: RunCli) -> None:
    outcome = run_cli("inventory", "load", str(tmp_path / "site.yaml"))

    assert_one_error(outcome, "site.yaml is not a file")
