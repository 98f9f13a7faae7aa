"""Inventories: the shipped Shanghai example, YAML documents and the Alibaba trace's node list."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import trace_file
from zslab.compute.devices import find_model
from zslab.compute.inventory import Inventory, NodeSpec, read_trace_nodes
from zslab.errors import InvalidInput

SHANGHAI_SITES = ["jinshan", "lingang", "pudong", "qingpu", "songjiang"]


def pool_yaml(nodes: str) -> str:
    return f"sites:\n  - name: a\n    pools:\n      - name: p\n        nodes: {nodes}\n"


# --- the demo inventory ----------------------------------------------------------------------


def test_demo_is_labelled_an_example() -> None:
    assert Inventory.demo().example is True


def test_demo_has_the_five_shanghai_sites() -> None:
    assert Inventory.demo().sites == SHANGHAI_SITES


def test_demo_mixes_domestic_and_nvidia_models() -> None:
    models = {n.device_model for n in Inventory.demo().nodes if n.device_model is not None}

    assert any(m.domestic for m in models)
    assert any(m.vendor == "NVIDIA" and not m.domestic for m in models)


def test_demo_has_a_cpu_only_pool() -> None:
    cpu_only = [n for n in Inventory.demo().nodes if n.model is None]

    assert cpu_only and all(n.devices == 0 for n in cpu_only)


def test_demo_summary_counts_every_device() -> None:
    inventory = Inventory.demo()

    rows = inventory.summary()

    assert sum(r["devices"] for r in rows) == inventory.device_count
    assert sum(r["nodes"] for r in rows) == len(inventory.nodes)


# --- YAML documents --------------------------------------------------------------------------


def test_yaml_group_expands_into_numbered_nodes() -> None:
    text = pool_yaml("{prefix: n-, count: 3, cpu: 8, memory: 64GiB, model: T4, devices: 4}")

    inventory = Inventory.from_yaml(text)

    assert [n.name for n in inventory.nodes] == ["n-01", "n-02", "n-03"]
    assert inventory.nodes[0] == NodeSpec("n-01", "a", "p", 8000, 65536, "t4", 4)
    assert inventory.example is False


def test_yaml_is_read_from_a_path(tmp_path: Path) -> None:
    path = tmp_path / "inv.yaml"
    path.write_text(pool_yaml("{name: solo, cpu: 2, memory: 4GiB}"), encoding="utf-8")

    inventory = Inventory.from_yaml(path)

    assert [n.name for n in inventory.nodes] == ["solo"]
    assert inventory.nodes[0].model is None and inventory.nodes[0].devices == 0


def test_yaml_model_without_devices_means_one_device() -> None:
    inventory = Inventory.from_yaml(pool_yaml("{name: x, cpu: 2, memory: 4GiB, model: a10}"))

    assert inventory.nodes[0].devices == 1


def assert_invalid(text: str, field: str) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        Inventory.from_yaml(text)
    assert caught.value.field == field
    return caught.value


def test_invalid_yaml_is_refused() -> None:
    assert_invalid("sites: [unclosed\n  - {", "inventory")


def test_yaml_without_sites_is_refused() -> None:
    assert_invalid("name: nothing-here\n", "sites")


def test_yaml_site_without_name_is_refused() -> None:
    assert_invalid("sites:\n  - title: nameless\n", "name")


def test_yaml_unknown_model_is_refused() -> None:
    error = assert_invalid(pool_yaml("{name: x, cpu: 2, memory: 4GiB, model: b200}"), "model")

    assert "b200" in error.detail


def test_yaml_node_without_cpu_is_refused() -> None:
    assert_invalid(pool_yaml("{name: x, memory: 4GiB}"), "cpu")


def test_yaml_node_without_memory_is_refused() -> None:
    assert_invalid(pool_yaml("{name: x, cpu: 2}"), "memory")


def test_yaml_node_with_bad_memory_is_refused() -> None:
    assert_invalid(pool_yaml("{name: x, cpu: 2, memory: plenty}"), "memory")


def test_yaml_node_with_bad_cpu_names_the_cpu_field() -> None:
    assert_invalid(pool_yaml("{name: x, cpu: lots, memory: 4GiB}"), "cpu")


def test_yaml_node_with_bad_device_count_names_the_devices_field() -> None:
    assert_invalid(
        pool_yaml("{name: x, cpu: 2, memory: 4GiB, model: t4, devices: eight}"), "devices"
    )


def test_duplicate_node_names_are_refused() -> None:
    text = (
        "sites:\n"
        "  - name: a\n"
        "    pools:\n"
        "      - name: p\n"
        "        nodes:\n"
        "          - {name: twin, cpu: 2, memory: 4GiB}\n"
        "          - {name: twin, cpu: 4, memory: 8GiB}\n"
    )

    error = assert_invalid(text, "nodes")

    assert "twin" in error.detail


def test_duplicate_node_names_are_refused_when_built_directly() -> None:
    twin = NodeSpec("twin", "a", "p", 1000, 1024)

    with pytest.raises(InvalidInput):
        Inventory("direct", (twin, twin))


# --- the Alibaba trace's node list -----------------------------------------------------------


def test_trace_gpu_node_list_has_1213_nodes_and_6212_gpus() -> None:
    inventory = Inventory.from_alibaba_trace(trace_file("openb_node_list_gpu_node.csv"))

    assert len(inventory.nodes) == 1213
    assert inventory.device_count == 6212


def test_trace_full_node_list_adds_310_cpu_only_nodes() -> None:
    inventory = Inventory.from_alibaba_trace(trace_file("openb_node_list_all_node.csv"))

    assert len(inventory.nodes) == 1523
    assert inventory.device_count == 6212
    assert sum(1 for n in inventory.nodes if n.model is None) == 310


def test_trace_node_models_are_catalog_models() -> None:
    inventory = Inventory.from_alibaba_trace(trace_file("openb_node_list_gpu_node.csv"))

    models = {n.model for n in inventory.nodes}

    assert models <= {"p100", "t4", "v100m16", "v100m32", "a10", "g1", "g2", "g3"}
    assert all(find_model(m).slicing == "share" for m in models if m)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_node_csv_missing_a_column_names_file_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "nodes-nomodel.csv", "sn,cpu_milli,memory_mib,gpu\nn1,1000,1024,1\n")

    with pytest.raises(InvalidInput) as caught:
        read_trace_nodes(path)

    assert "nodes-nomodel.csv" in caught.value.detail
    assert "model" in caught.value.detail


def test_node_csv_with_a_malformed_number_names_file_and_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "nodes-bad.csv",
        "sn,cpu_milli,memory_mib,gpu,model\nn1,1000,1024,1,T4\nn2,lots,1024,1,T4\n",
    )

    with pytest.raises(InvalidInput) as caught:
        Inventory.from_alibaba_trace(path)

    assert "nodes-bad.csv, line 3" in caught.value.detail


def test_node_csv_with_an_unknown_model_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "nodes-model.csv", "sn,cpu_milli,memory_mib,gpu,model\nn1,1,1,2,X9\n")

    with pytest.raises(InvalidInput) as caught:
        read_trace_nodes(path)

    assert "nodes-model.csv, line 2" in caught.value.detail
    assert "X9" in caught.value.detail


def test_node_csv_row_without_gpus_has_no_model(tmp_path: Path) -> None:
    path = write(tmp_path, "nodes-cpu.csv", "sn,cpu_milli,memory_mib,gpu,model\nc1,8000,4096,0,\n")

    (row,) = read_trace_nodes(path)

    assert row == {"sn": "c1", "cpu_milli": 8000, "memory_mib": 4096, "gpu": 0, "model": None}
