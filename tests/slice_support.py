"""Helpers for tests that run code on slices: a hub with a Dask scheduler, polling."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.hub_broker_support import write_inventory
from tests.support import HubHandle, start_hub
from zslab.config import Settings

ONE_H100 = """\
name: one-h100
sites:
  - name: pudong
    pools:
      - name: h100
        nodes: {prefix: h-, count: 1, cpu: 16, memory: 64GiB, model: h100-80gb, devices: 1}
"""


def run_hub(
    tmp_path: Path, scheduler: str, inventory: str | None = None, **fields: Any
) -> HubHandle:
    fields.setdefault("heartbeat_s", 5)
    if inventory:
        fields["inventory"] = write_inventory(tmp_path, inventory)
    settings = Settings(
        home=tmp_path / "home",
        db_url=f"sqlite:///{tmp_path / 'hub.db'}",
        dask_scheduler=scheduler,
        launcher="local",
        **fields,
    )
    return start_hub(settings)


def until(predicate: Callable[[], Any], timeout: float = 20.0, step: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"not true within {timeout} s: {predicate}")
