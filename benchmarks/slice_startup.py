"""Slice startup: from ``lab.request(...)`` to the first result on the slice, and submit overhead.

    .venv/bin/python -m benchmarks.slice_startup            # full run, about 2 minutes
    .venv/bin/python -m benchmarks.slice_startup --quick    # smoke run; writes no results

Runs on the embedded default exactly as a user gets it: ``zslab up --detach`` in a scratch
``ZSLAB_HOME`` (hub on SQLite, Dask LocalCluster, local launcher), then the SDK.

1. **Startup**, ``--runs`` times: ``lease = lab.request("h100:1g.10gb", hours=1)``, then
   ``lease.submit(inc, 1).result()``, then ``lease.release()``. Reported: p50/p90 of the whole
   (target: p50 ≤ 3 s), and of its parts: the grant (the POST's round trip) and the worker's
   start (launch to joining the scheduler, as the hub measured it).
2. **Submit overhead** on one lease: ``--tasks`` trivial tasks submitted then gathered,
   through ``lease.submit`` and through a plain ``client.submit`` to the same worker
   (``workers=[address]``), alternating, ``--repeats`` times each; and the same for sequential
   round trips (submit, wait, next). Target: lease/plain per-task time ≤ 1.2 (medians).

Results go to ``benchmarks/results/slice_startup.json`` and a section of
``benchmarks/README.md``; the exit status is 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from benchmarks._report import (
    Target,
    envelope,
    provenance,
    target_table,
    update_readme,
    write_results,
)
from zslab.config import load_settings

SPEC = "h100:1g.10gb"


def inc(x: int) -> int:
    return x + 1


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def startup(lab: Any, runs: int) -> dict[str, Any]:
    rows = []
    for i in range(runs):
        started = time.perf_counter()
        lease = lab.request(SPEC, hours=1)
        granted = time.perf_counter()
        assert lease.submit(inc, i).result(timeout=60) == i + 1
        first = time.perf_counter()
        worker = lease.refresh().worker or {}
        lease.release()
        rows.append(
            {
                "total_s": first - started,
                "grant_s": granted - started,
                "worker_start_s": worker.get("ready_s"),
                "after_ready_s": first - granted - (worker.get("ready_s") or 0.0),
            }
        )
        print(f"  run {i + 1}/{runs}: first result after {first - started:.2f} s", file=sys.stderr)
        time.sleep(0.3)  # let the released worker go before the next request
    totals = [r["total_s"] for r in rows]
    starts = [r["worker_start_s"] for r in rows if r["worker_start_s"] is not None]
    return {
        "runs": rows,
        "p50_s": statistics.median(totals),
        "p90_s": _percentile(totals, 0.9),
        "grant_p50_s": statistics.median(r["grant_s"] for r in rows),
        "worker_start_p50_s": statistics.median(starts) if starts else None,
    }


def overhead(lab: Any, tasks: int, repeats: int) -> dict[str, Any]:
    with lab.request(SPEC, hours=1) as lease:
        worker = lease.wait_for_worker()
        client = lease.client
        address = worker["address"]

        def batch_lease() -> float:
            started = time.perf_counter()
            client.gather([lease.submit(inc, i) for i in range(tasks)])
            return (time.perf_counter() - started) / tasks

        def batch_plain() -> float:
            started = time.perf_counter()
            futures = [client.submit(inc, i, pure=False, workers=[address]) for i in range(tasks)]
            client.gather(futures)
            return (time.perf_counter() - started) / tasks

        def serial_lease() -> float:
            started = time.perf_counter()
            for i in range(tasks // 10):
                lease.submit(inc, i).result()
            return (time.perf_counter() - started) / (tasks // 10)

        def serial_plain() -> float:
            started = time.perf_counter()
            for i in range(tasks // 10):
                client.submit(inc, i, pure=False, workers=[address]).result()
            return (time.perf_counter() - started) / (tasks // 10)

        def sdk_only() -> float:
            """What lease.submit adds in the SDK: finding the client and binding the task."""
            started = time.perf_counter()
            for _ in range(tasks):
                lease.client  # noqa: B018 - the property is the cost being measured
                lease._bound({})
            return (time.perf_counter() - started) / tasks

        batch_lease(), batch_plain()  # warm-up
        samples: dict[str, list[float]] = {k: [] for k in ("batch", "serial")}
        plain: dict[str, list[float]] = {k: [] for k in ("batch", "serial")}
        for _ in range(repeats):
            samples["batch"].append(batch_lease())
            plain["batch"].append(batch_plain())
            samples["serial"].append(serial_lease())
            plain["serial"].append(serial_plain())
        sdk_us = statistics.median(sdk_only() for _ in range(5)) * 1e6
    out: dict[str, Any] = {"tasks": tasks, "repeats": repeats, "sdk_us_per_task": sdk_us}
    for mode in ("batch", "serial"):
        lease_us = statistics.median(samples[mode]) * 1e6
        plain_us = statistics.median(plain[mode]) * 1e6
        out[mode] = {
            "lease_us_per_task": lease_us,
            "plain_us_per_task": plain_us,
            "ratio": lease_us / plain_us,
            "lease_samples_us": [s * 1e6 for s in samples[mode]],
            "plain_samples_us": [s * 1e6 for s in plain[mode]],
        }
    return out


def evaluate(start: dict[str, Any], over: dict[str, Any]) -> list[Target]:
    return [
        Target(
            "request → first result p50",
            f"{start['p50_s']:.2f} s",
            "≤ 3 s",
            start["p50_s"] <= 3.0,
        ),
        *(
            Target(
                f"lease.submit / plain client.submit, {mode}",
                f"{over[mode]['ratio']:.2f}",
                "≤ 1.2",
                over[mode]["ratio"] <= 1.2,
            )
            for mode in ("batch", "serial")
        ),
    ]


def tables(start: dict[str, Any], over: dict[str, Any], targets: list[Target]) -> list[str]:
    worker = start["worker_start_p50_s"]
    lines = [
        "| startup | p50 s | p90 s |",
        "|---|---|---|",
        f"| request → first result | {start['p50_s']:.2f} | {start['p90_s']:.2f} |",
        f"| of which: grant (POST round trip) | {start['grant_p50_s']:.3f} | |",
        f"| of which: worker start (launch → joined) | {worker:.2f} | |" if worker else "",
        "",
        "| per task | lease.submit µs | plain client.submit µs | ratio |",
        "|---|---|---|---|",
    ]
    for mode, label in (("batch", "submit all, then gather"), ("serial", "one round trip each")):
        row = over[mode]
        lines.append(
            f"| {label} ({over['tasks'] if mode == 'batch' else over['tasks'] // 10} tasks) | "
            f"{row['lease_us_per_task']:.0f} | {row['plain_us_per_task']:.0f} | "
            f"{row['ratio']:.2f} |"
        )
    lines.append(
        f"| SDK work in lease.submit (client lookup, binding) | {over['sdk_us_per_task']:.1f} | | |"
    )
    lines += ["", *target_table(targets)]
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.slice_startup", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--runs", type=int, default=20, help="startup runs (20)")
    parser.add_argument("--tasks", type=int, default=1000, help="tasks per batch (1000)")
    parser.add_argument("--repeats", type=int, default=11, help="batches of each kind (11)")
    parser.add_argument("--quick", action="store_true", help="3 runs, 200 tasks; writes nothing")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.tasks, args.repeats = 3, 200, 2

    from zslab import embedded
    from zslab.client import connect

    with tempfile.TemporaryDirectory(prefix="zslab-bench-slices-") as home:
        os.environ["ZSLAB_HOME"] = home
        settings = load_settings()
        print("starting the embedded hub ...", file=sys.stderr)
        info = embedded.start_detached(settings, log_file=Path(home) / "up.log")
        try:
            lab = connect(info.url, info.token)
            print("startup runs ...", file=sys.stderr)
            start = startup(lab, args.runs)
            print("submit overhead ...", file=sys.stderr)
            over = overhead(lab, args.tasks, args.repeats)
            lab.close()
        finally:
            print(embedded.stop(settings), file=sys.stderr)
    targets = evaluate(start, over)
    passed = all(t.passed for t in targets)
    report = tables(start, over, targets)
    print("\n".join(report))
    if args.quick:
        print("\n--quick: nothing written.")
        return 0 if passed else 1
    payload = {
        **envelope("slice_startup", ("distributed", "dask")),
        "parameters": {k: v for k, v in vars(args).items() if k != "quick"},
        "startup": start,
        "overhead": over,
        "targets": [asdict(t) for t in targets],
        "passed": passed,
    }
    write_results("slice_startup", payload)
    section = "\n".join(
        [
            "## slice_startup",
            "",
            f"The embedded default (`zslab up`: hub on SQLite, Dask LocalCluster, local "
            f"launcher). Startup: {args.runs} runs of `lab.request({SPEC!r})` → "
            "`lease.submit(inc, 1).result()` → release, each starting a fresh `dask worker` "
            f"subprocess for the lease. Overhead: {args.tasks} trivial tasks per batch through "
            "`lease.submit` and through a plain `client.submit(..., workers=[address])` to the "
            f"same worker, alternating, medians of {args.repeats} batches each.",
            "",
            provenance(payload),
            "",
            *report,
        ]
    )
    update_readme("slice_startup", section)
    print("\nwrote benchmarks/results/slice_startup.json and its README section")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
