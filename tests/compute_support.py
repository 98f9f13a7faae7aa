"""Helpers for the zslab.compute tests: the Alibaba trace on disk and tiny hand-built clusters."""

from __future__ import annotations

from pathlib import Path

import pytest

from zslab.compute.inventory import Inventory, NodeSpec

# The repository is checked out at <somewhere>/main with shared/ beside it.
TRACE_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "alibaba-gpu-v2023"
GIB = 1024


def trace_file(name: str) -> Path:
    """A file of the Alibaba GPU trace; skips the test when the data is not checked out."""
    path = TRACE_DIR / name
    if not path.is_file():
        pytest.skip(
            f"Alibaba GPU trace file {name} not found in {TRACE_DIR}; "
            "check out shared/data/alibaba-gpu-v2023 beside the repository"
        )
    return path


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
