"""Helpers for the broker API tests: a small inventory file for the hub."""

from __future__ import annotations

from pathlib import Path

INVENTORY_YAML = """
name: broker-test
sites:
  - name: pudong
    pools:
      - name: h100
        nodes: {prefix: h-, count: 1, cpu: 192, memory: 2048GiB, model: h100-80gb, devices: 8}
      - name: t4
        nodes: {prefix: t-, count: 2, cpu: 32, memory: 128GiB, model: t4, devices: 2}
      - name: npu
        nodes: {prefix: n-, count: 1, cpu: 192, memory: 1536GiB, model: ascend910b, devices: 8}
"""


def write_inventory(directory: Path) -> str:
    """Write the small test inventory (8 H100, 4 T4, 8 Ascend 910B) and return its path."""
    path = directory / "inventory.yaml"
    path.write_text(INVENTORY_YAML)
    return str(path)
