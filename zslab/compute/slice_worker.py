"""Inside a lease's Dask worker: which lease this is, its devices, preemption notices.

Launchers start every slice worker with ``--preload zslab.compute.slice_worker``; Dask then calls
:func:`dask_setup`, which, where real accelerators are visible (NVML answers and the slice is not
simulated), checks that the worker sees exactly the devices of its lease and refuses to start
otherwise, so a misconfigured node fails the lease with a reason instead of running on the wrong
GPU. Code running on the slice can call::

    from zslab.compute import slice_worker
    slice_worker.lease_id()               # "lse_…" (also os.environ["ZSLAB_LEASE_ID"])
    slice_worker.info()                   # model, placement, simulated or not
    if slice_worker.preemption_requested():
        save_checkpoint()                 # the hub gave this lease a preemption notice
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

__all__ = [
    "PREEMPT_EVENT",
    "dask_setup",
    "device_problems",
    "info",
    "lease_id",
    "preemption_requested",
    "utilization",
]

log = logging.getLogger(__name__)
PREEMPT_EVENT = "zslab-preempt-{lease}"


def lease_id() -> str | None:
    """The lease this process works for, or None outside a slice worker."""
    return os.environ.get("ZSLAB_LEASE_ID") or None


def info() -> dict[str, Any]:
    """What this worker's slice is: lease, model, placement, and whether it is simulated."""
    placement = json.loads(os.environ.get("ZSLAB_SLICE") or "{}")
    simulated = os.environ.get("ZSLAB_SIMULATED_DEVICES")
    return {
        "lease_id": lease_id(),
        "model": os.environ.get("ZSLAB_DEVICE_MODEL") or placement.get("model"),
        "placement": placement,
        "simulated": simulated is not None,
        "devices": simulated.split(",") if simulated else _visible(),
    }


def _visible() -> list[str]:
    for variable in (
        "CUDA_VISIBLE_DEVICES",
        "ASCEND_RT_VISIBLE_DEVICES",
        "MLU_VISIBLE_DEVICES",
        "HIP_VISIBLE_DEVICES",
    ):
        value = os.environ.get(variable)
        if value:
            return value.split(",")
    return []


def preemption_requested(timeout: float = 0.0) -> bool:
    """Whether the hub has given this lease a preemption notice (checkpoint now if so)."""
    lease = lease_id()
    if lease is None:
        return False
    from distributed import Event

    try:
        return bool(Event(PREEMPT_EVENT.format(lease=lease)).wait(timeout=timeout or 0.001))
    # No client or worker context (e.g. a papermill kernel on the lease's machine, which
    # inherits ZSLAB_LEASE_ID): nobody can tell us. Recent distributed raises RuntimeError.
    except (ValueError, OSError, RuntimeError):
        return False


def device_problems() -> list[str]:
    """Differences between the devices this process sees and its lease's (real NVIDIA GPUs).

    Empty when they match, when the slice is simulated, or when NVML is not available here.
    """
    if os.environ.get("ZSLAB_SIMULATED_DEVICES") is not None:
        return []
    placement = json.loads(os.environ.get("ZSLAB_SLICE") or "{}")
    expected = len(placement.get("parts") or [])
    try:
        import pynvml

        pynvml.nvmlInit()
    except Exception:  # no driver, no library: nothing to check against
        return []
    try:
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        count = (
            len([v for v in visible.split(",") if v])
            if visible is not None
            else pynvml.nvmlDeviceGetCount()
        )
        problems = []
        if count != expected:
            problems.append(
                f"sees {count} device(s) (CUDA_VISIBLE_DEVICES={visible!r}); "
                f"its lease has {expected}"
            )
        return problems
    finally:
        pynvml.nvmlShutdown()


def utilization() -> float | None:
    """Mean GPU utilisation (0-1) of this worker's devices from NVML, None where unknown."""
    if os.environ.get("ZSLAB_SIMULATED_DEVICES") is not None:
        return None
    try:
        import pynvml

        pynvml.nvmlInit()
    except Exception:
        return None
    try:
        handles = []
        for token in _visible():
            if token.startswith(("GPU-", "MIG-")):
                handles.append(pynvml.nvmlDeviceGetHandleByUUID(token))
            elif token.isdigit():
                handles.append(pynvml.nvmlDeviceGetHandleByIndex(int(token)))
        if not handles:
            return None
        rates = [pynvml.nvmlDeviceGetUtilizationRates(h).gpu / 100 for h in handles]
        return sum(rates) / len(rates)
    except Exception:  # a MIG instance reports no utilisation of its own
        return None
    finally:
        pynvml.nvmlShutdown()


def dask_setup(worker: Any) -> None:
    """Dask's preload hook: refuse to serve a lease on the wrong devices."""
    problems = device_problems()
    if problems:
        message = f"slice worker for lease {lease_id()}: " + "; ".join(problems)
        log.error(message)
        raise RuntimeError(message)
    log.info("slice worker for lease %s: %s", lease_id(), info()["devices"])
