"""Slice broker: request→grant latency through the HTTP API, and a trace-driven queue run.

    .venv/bin/python -m benchmarks.broker            # full run, about 8 minutes on 2 cores
    .venv/bin/python -m benchmarks.broker --quick    # smoke run; writes no results

Two parts, each against a baseline measured in the same run:

1. **Request→grant latency.** ``zslab hub`` on SQLite over a 10,000-GPU inventory (an EXAMPLE
   one: nine pools of the Shanghai demo's models, made-up counts). ``--clients`` users (50, then
   200), each with its own token and personal project and one keep-alive connection from
   another process, repeat a cycle: ``POST /api/v1/leases`` (with an Idempotency-Key, as the
   SDK sends) and, once it answers ``granted``, ``POST /api/v1/leases/{id}/release``. The
   request→grant latency is the first POST's round trip: by then the grant and its event are
   committed. Two loads for each client count: *steady*, an open loop at ``--rate`` grants/s
   from all clients together (latency counted from each scheduled send, so a stall is charged
   in full), and *saturation*, a closed loop in which every client starts its next cycle as
   soon as the last one ends (grants/s is the hub's capacity; latency there is mostly waiting
   in line). Medians of ``--repeats`` windows. Baseline: the bare FastAPI app's ``POST /echo``
   in a closed loop with the same clients (the floor of HTTP + JSON on this machine). Target:
   p99 ≤ 50 ms at 50 clients.
2. **Trace-driven queue.** The Alibaba GPU trace's 7,064 GPU tasks (sizes, QoS, run times
   clamped to [1 min, 6 h]) arrive as a Poisson process at ``--loads`` × the capacity of a
   slice of the trace's cluster (every ``--node-step``-th node), and run through the broker
   (:mod:`zslab.compute.broker_sim`) with zslab's queue (classes, fair share, backfill,
   preemption) and with plain FIFO, on the same arrivals and seeds. Reported: utilisation,
   mean/p95 queue wait per priority class, and Jain's fairness index across eight projects.

Results go to ``benchmarks/results/broker.json`` and a section of ``benchmarks/README.md``; the
exit status is 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import uvloop

from benchmarks._loadgen import (
    Connection,
    LoadSpec,
    Recorder,
    RequestSpec,
    WindowResult,
    run_load,
)
from benchmarks._report import envelope, provenance, results_file, update_readme, write_results
from benchmarks._servers import HOST, REPO, free_port, running
from benchmarks.hub_latency import ECHO_BODY
from zslab.compute import broker_sim
from zslab.compute.cluster import Cluster
from zslab.compute.inventory import Inventory
from zslab.compute.trace import read_trace_pods

DATA = Path(
    os.environ.get("ZSLAB_TRACE_DIR", REPO.parent / "shared" / "data" / "alibaba-gpu-v2023")
)
RESULTS_FILE = results_file("broker")

P99_LIMIT_MS = 50.0

# EXAMPLE inventory: 10,000 accelerators in the Shanghai demo's pools; the counts are made up.
INVENTORY_10K = """\
example: true
name: shanghai-10k
sites:
  - name: pudong
    pools:
      - name: pudong-h100
        nodes: {prefix: pd-h100-, count: 250, cpu: 192, memory: 2048GiB,
                model: h100-80gb, devices: 8}
      - name: pudong-a100
        nodes: {prefix: pd-a100-, count: 200, cpu: 128, memory: 1024GiB,
                model: a100-80gb, devices: 8}
  - name: lingang
    pools:
      - name: lingang-910b
        nodes: {prefix: lg-910b-, count: 250, cpu: 192, memory: 1536GiB,
                model: ascend910b, devices: 8}
      - name: lingang-h200
        nodes: {prefix: lg-h200-, count: 100, cpu: 224, memory: 2048GiB, model: h200, devices: 8}
  - name: songjiang
    pools:
      - name: songjiang-a10
        nodes: {prefix: sj-a10-, count: 300, cpu: 64, memory: 512GiB, model: a10, devices: 4}
      - name: songjiang-mlu
        nodes: {prefix: sj-mlu-, count: 100, cpu: 96, memory: 768GiB, model: mlu370-x8, devices: 8}
  - name: qingpu
    pools:
      - name: qingpu-t4
        nodes: {prefix: qp-t4-, count: 200, cpu: 48, memory: 384GiB, model: t4, devices: 4}
      - name: qingpu-a100-40
        nodes: {prefix: qp-a100-, count: 50, cpu: 96, memory: 1024GiB, model: a100-40gb, devices: 8}
  - name: jinshan
    pools:
      - name: jinshan-dcu
        nodes: {prefix: js-dcu-, count: 50, cpu: 128, memory: 1024GiB, model: dcu-k100, devices: 8}
"""
# What the simulated notebook users ask for, in turn: MIG slices, shares, whole devices.
SPECS = (
    "h100:1g.10gb",
    "h100:3g.40gb",
    "a100-80gb:2g.20gb",
    "t4:0.5",
    "a10:0.25",
    "ascend910b:1",
    "h200:1",
    "a100-40gb:1g.5gb",
    "h100:1 cpu=16 ram=128GiB",
    "gpu:mem>=20GiB",
)


# --- part 1: request→grant over HTTP ---------------------------------------------------------


@dataclass(frozen=True)
class GrantLoad:
    host: str
    port: int
    tokens: tuple[str, ...]  # one per client
    warmup_s: float
    duration_s: float
    repeats: int
    rate: float | None = None  # grants/s from all clients together; None: closed loop


def _post(host: str, port: int, path: str, token: str, body: dict[str, Any] | None) -> bytes:
    data = json.dumps(body, separators=(",", ":")).encode() if body is not None else b""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
        f"Idempotency-Key: {uuid.uuid4()}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(data)}\r\n\r\n"
    )
    return head.encode() + data


async def _grant_client(
    load: GrantLoad,
    client: int,
    conn: Connection,
    grants: Recorder,
    releases: Recorder,
    states: Counter[str],
) -> None:
    token = load.tokens[client]
    n = client
    interval = len(load.tokens) / load.rate if load.rate else None
    scheduled = grants.start + client / load.rate if load.rate else 0.0
    while True:
        spec = SPECS[n % len(SPECS)]
        n += 1
        payload = _post(load.host, load.port, "/api/v1/leases", token, {"spec": spec, "hours": 1})
        if interval is not None:  # open loop: latency counts from the scheduled send
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            sent = scheduled
            scheduled += interval
        else:
            sent = time.perf_counter()
        if sent >= grants.end:
            return
        outcome = await conn.exchange(payload)
        latency = time.perf_counter() - sent
        if outcome != 201:
            grants.add(sent, latency, outcome)
            continue
        lease = json.loads(conn.body)
        states[lease["state"]] += 1
        grants.add(sent, latency, 201 if lease["state"] == "granted" else lease["state"])
        path = f"/api/v1/leases/{lease['id']}/release"
        release = _post(load.host, load.port, path, token, None)
        sent = time.perf_counter()
        outcome = await conn.exchange(release)
        if sent < releases.end:  # a release after the last window still frees the slice
            releases.add(sent, time.perf_counter() - sent, outcome)


async def _grant_run(load: GrantLoad) -> dict[str, Any]:
    conns = [Connection(load.host, load.port) for _ in load.tokens]
    await asyncio.gather(*(conn.open() for conn in conns))
    start = time.perf_counter()
    grants = Recorder(start, load.warmup_s, load.duration_s, load.repeats)
    releases = Recorder(start, load.warmup_s, load.duration_s, load.repeats)
    states: Counter[str] = Counter()
    try:
        await asyncio.gather(
            *(
                _grant_client(load, i, conn, grants, releases, states)
                for i, conn in enumerate(conns)
            )
        )
    finally:
        for conn in conns:
            conn.close()
    return {
        "grants": [w.__dict__ for w in grants.result().windows],
        "releases": [w.__dict__ for w in releases.result().windows],
        "states": dict(states),
    }


def run_grants(load: GrantLoad) -> dict[str, Any]:
    """The closed request→release loop in this process (call it in a process of its own)."""
    return uvloop.run(_grant_run(load))


def _median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def _summary(windows: list[dict[str, Any]]) -> dict[str, Any]:
    errors: Counter[str] = Counter()
    for window in windows:
        errors.update(window["errors"])
    return {
        "per_s": _median([w["throughput_rps"] for w in windows]),
        "p50_ms": _median([w["p50_ms"] for w in windows]),
        "p99_ms": _median([w["p99_ms"] for w in windows]),
        "errors": dict(errors),
        "windows": windows,
    }


def _setup_users(url: str, admin_token: str, count: int) -> list[str]:
    """``count`` users with a token each; each makes one request first (its personal project)."""
    import zslab

    tokens = []
    with zslab.connect(url, admin_token, start=False) as admin:
        for i in range(count):
            name = f"bench-user-{i:03d}"
            admin.users.add(name)
            token = admin.tokens.create(f"{name}-token", user=name, scopes=("read", "write"))
            assert token.secret is not None
            tokens.append(token.secret)
    for secret in tokens:
        with zslab.connect(url, secret, start=False) as lab:
            lab.request("t4:0.25", hours=1).release()
    return tokens


def http_part(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    admin_token = "zsl_" + secrets.token_urlsafe(32)
    inventory_file = workdir / "inventory.yaml"
    inventory_file.write_text(INVENTORY_10K, encoding="utf-8")
    devices = Inventory.from_yaml(inventory_file).device_count
    ports = {"hub": free_port(), "baseline": free_port()}
    python = sys.executable
    hub_env = {
        **os.environ,
        "ZSLAB_HOME": str(workdir / "home"),
        "ZSLAB_BOOTSTRAP_TOKEN": admin_token,
        "ZSLAB_INVENTORY": str(inventory_file),
        "ZSLAB_HEARTBEAT_S": "3600",  # the loop releases every lease long before
    }
    hub_url = f"http://{HOST}:{ports['hub']}"
    hub_argv = [python, "-m", "zslab", "hub", "--host", HOST, "--port", str(ports["hub"])]
    hub_argv += ["--log-level", "warning"]
    baseline_argv = [python, "-m", "benchmarks._baseline_app", "--port", str(ports["baseline"])]
    out: dict[str, Any] = {"inventory_devices": devices, "loads": {}}
    with ExitStack() as stack:
        hub = stack.enter_context(
            running(
                "hub",
                hub_argv,
                env=hub_env,
                ready_url=f"{hub_url}/api/v1/health",
                log_dir=workdir,
            )
        )
        stack.enter_context(
            running(
                "baseline",
                baseline_argv,
                env=dict(os.environ),
                ready_url=f"http://{HOST}:{ports['baseline']}/hello",
                log_dir=workdir,
            )
        )
        print(f"  {max(args.clients)} users ...", file=sys.stderr, flush=True)
        tokens = _setup_users(hub_url, admin_token, max(args.clients))
        pool = stack.enter_context(ProcessPoolExecutor(1, mp_context=get_context("spawn")))
        for clients in args.clients:
            row: dict[str, Any] = {"clients": clients}
            for mode, rate in (("steady", args.rate), ("saturation", None)):
                hub.wait_ready()
                grant_load = GrantLoad(
                    HOST,
                    ports["hub"],
                    tuple(tokens[:clients]),
                    args.warmup,
                    args.duration,
                    args.repeats,
                    rate,
                )
                measured = pool.submit(run_grants, grant_load).result()
                row[mode] = {
                    "rate": rate,
                    "grant": _summary(measured["grants"]),
                    "release": _summary(measured["releases"]),
                    "states": measured["states"],
                }
                grant = row[mode]["grant"]
                print(
                    f"  {clients:>3} clients, {mode:<10}: {grant['per_s']:.0f} grants/s, p50 "
                    f"{_fmt(grant['p50_ms'])} ms, p99 {_fmt(grant['p99_ms'])} ms",
                    file=sys.stderr,
                    flush=True,
                )
            baseline = pool.submit(
                run_load,
                LoadSpec(
                    host=HOST,
                    port=ports["baseline"],
                    request=RequestSpec("POST", "/echo", json_body=ECHO_BODY),
                    clients=clients,
                    warmup_s=args.warmup,
                    duration_s=args.duration,
                    repeats=args.repeats,
                ),
            ).result()
            row["baseline_post"] = _summary([_window(w) for w in baseline.windows])
            out["loads"][str(clients)] = row
    return out


def _window(window: WindowResult) -> dict[str, Any]:
    return dict(window.__dict__)


# --- part 2: the trace-driven queue ----------------------------------------------------------


def _trace_case(case: tuple[int, float, int, str, int | None]) -> dict[str, Any]:
    node_step, load, seed, order, limit = case
    inventory = _trace_inventory(node_step)
    pods = read_trace_pods(DATA / "openb_pod_list_default.csv")
    jobs = broker_sim.jobs_from_trace(
        pods,
        capacity_units=inventory.device_count,
        load=load,
        seed=seed,
        limit=limit,
        max_duration_s=6 * 3600,
        fits=Cluster(inventory),
    )
    result = broker_sim.replay_broker(inventory, jobs, order=order)  # type: ignore[arg-type]
    return {"load": load, "seed": seed, **result.to_json()}


def _trace_inventory(node_step: int) -> Inventory:
    full = Inventory.from_alibaba_trace(DATA / "openb_node_list_gpu_node.csv")
    return Inventory(f"{full.name}-every-{node_step}", full.nodes[::node_step])


def trace_part(args: argparse.Namespace) -> dict[str, Any]:
    cases = [
        (args.node_step, load, seed, order, args.trace_limit)
        for load in args.loads
        for seed in args.seeds
        for order in ("fair", "fifo")
    ]
    with ProcessPoolExecutor(args.workers, mp_context=get_context("spawn")) as pool:
        runs = list(pool.map(_trace_case, cases))
    summary: dict[str, Any] = {}
    for load in args.loads:
        for order in ("fair", "fifo"):
            mine = [r for r in runs if r["load"] == load and r["order"] == order]
            classes = sorted({c for r in mine for c in r["waits"]})
            summary[f"{load:g}/{order}"] = {
                "load": load,
                "order": order,
                "utilization": statistics.median(r["utilization"] for r in mine),
                "jain": statistics.median(r["jain"] for r in mine),
                "waits": {
                    c: {
                        "mean_s": statistics.median(r["waits"][c]["mean_s"] for r in mine),
                        "p95_s": statistics.median(r["waits"][c]["p95_s"] for r in mine),
                    }
                    for c in classes
                },
                "preemptions": statistics.median(r["preemptions"] for r in mine),
                "wall_s": statistics.median(r["wall_s"] for r in mine),
            }
            done = summary[f"{load:g}/{order}"]
            print(
                f"  load {load:g} {order:<4}: utilisation {done['utilization']:.3f}, "
                f"Jain {done['jain']:.3f}",
                file=sys.stderr,
                flush=True,
            )
    inventory = _trace_inventory(args.node_step)
    return {
        "inventory": {"nodes": len(inventory.nodes), "devices": inventory.device_count},
        "jobs": runs[0]["jobs"] if runs else 0,
        "summary": summary,
        "runs": runs,
    }


# --- targets and report ----------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    name: str
    measured: str
    required: str
    passed: bool


def evaluate(http: dict[str, Any], trace: dict[str, Any]) -> list[Target]:
    targets = []
    fifty = http["loads"].get("50")
    if fifty is not None:
        for mode, what in (
            ("steady", f"{fifty['steady']['rate']:g} grants/s"),
            ("saturation", "closed loop"),
        ):
            p99 = fifty[mode]["grant"]["p99_ms"]
            targets.append(
                Target(
                    f"request→grant p99, 50 clients, {what}",
                    f"{_fmt(p99)} ms",
                    f"≤ {P99_LIMIT_MS:g} ms",
                    p99 is not None and p99 <= P99_LIMIT_MS,
                )
            )
    errors = sum(
        sum(row[mode][kind]["errors"].values())
        for row in http["loads"].values()
        for mode in ("steady", "saturation")
        for kind in ("grant", "release")
    )
    targets.append(Target("failed or queued requests", str(errors), "= 0", errors == 0))
    for load in sorted({v["load"] for v in trace["summary"].values()}):
        fair, fifo = trace["summary"][f"{load:g}/fair"], trace["summary"][f"{load:g}/fifo"]
        targets.append(
            Target(
                f"Jain index, zslab vs FIFO, load {load:g}",
                f"{fair['jain']:.3f} vs {fifo['jain']:.3f}",
                "zslab ≥ FIFO",
                fair["jain"] >= fifo["jain"],
            )
        )
        targets.append(
            Target(
                f"interactive mean wait, zslab vs FIFO, load {load:g}",
                f"{fair['waits']['interactive']['mean_s'] / 60:.1f} vs "
                f"{fifo['waits']['interactive']['mean_s'] / 60:.1f} min",
                "zslab ≤ FIFO",
                fair["waits"]["interactive"]["mean_s"] <= fifo["waits"]["interactive"]["mean_s"],
            )
        )
    return targets


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _table(rows: Sequence[Sequence[str]], *, markdown: bool) -> list[str]:
    if markdown:
        lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
        return lines + ["| " + " | ".join(row) + " |" for row in rows[1:]]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]


def report_tables(
    http: dict[str, Any], trace: dict[str, Any], targets: list[Target], *, markdown: bool
) -> list[str]:
    http_rows = [
        [
            "clients",
            "load",
            "grants/s",
            "grant p50 ms",
            "grant p99 ms",
            "release p99 ms",
        ]
    ]
    for clients, row in http["loads"].items():
        for mode in ("steady", "saturation"):
            measured = row[mode]
            http_rows.append(
                [
                    clients,
                    f"open loop, {measured['rate']:g} grants/s"
                    if measured["rate"]
                    else "closed loop",
                    _fmt(measured["grant"]["per_s"]),
                    _fmt(measured["grant"]["p50_ms"], 2),
                    _fmt(measured["grant"]["p99_ms"], 2),
                    _fmt(measured["release"]["p99_ms"], 2),
                ]
            )
        http_rows.append(
            [
                clients,
                "baseline POST /echo, closed loop",
                _fmt(row["baseline_post"]["per_s"]),
                _fmt(row["baseline_post"]["p50_ms"], 2),
                _fmt(row["baseline_post"]["p99_ms"], 2),
                "-",
            ]
        )
    trace_rows = [
        [
            "load",
            "queue",
            "utilisation",
            "interactive wait mean / p95 (min)",
            "batch wait mean / p95 (min)",
            "Jain",
            "preemptions",
        ]
    ]
    for row in trace["summary"].values():
        waits = row["waits"]

        def wait(c: str, waits: dict[str, Any] = waits) -> str:
            return f"{waits[c]['mean_s'] / 60:.1f} / {waits[c]['p95_s'] / 60:.1f}"

        trace_rows.append(
            [
                f"{row['load']:g}",
                "zslab" if row["order"] == "fair" else "FIFO",
                f"{row['utilization']:.3f}",
                wait("interactive"),
                wait("batch"),
                f"{row['jain']:.3f}",
                f"{row['preemptions']:g}",
            ]
        )
    target_rows = [["target", "measured", "required", "result"]] + [
        [t.name, t.measured, t.required, "PASS" if t.passed else "FAIL"] for t in targets
    ]
    return [
        *_table(http_rows, markdown=markdown),
        "",
        *_table(trace_rows, markdown=markdown),
        "",
        *_table(target_rows, markdown=markdown),
    ]


def readme_section(args: argparse.Namespace, payload: dict[str, Any], tables: list[str]) -> str:
    http = payload["http"]
    trace = payload["trace"]
    return "\n".join(
        [
            "## broker",
            "",
            f"Request→grant through the HTTP API: `zslab hub` (SQLite) over a "
            f"{http['inventory_devices']:,}-accelerator EXAMPLE inventory; each client is its "
            "own user with a keep-alive connection, cycling `POST /api/v1/leases` (granted at "
            "once) then `POST /api/v1/leases/{id}/release`; the grant latency is the first "
            "POST's round trip, after the grant and its event are committed. *Open loop*: "
            f"{args.rate:g} grants/s from all clients together, latency from each scheduled "
            "send. *Closed loop*: every client starts its next cycle at once (saturation: "
            "grants/s is the capacity, latency mostly waiting in line). Baseline: the bare "
            "FastAPI app's `POST /echo` under the same clients, closed loop. "
            f"Medians of {args.repeats} windows of {args.duration:g} s after a "
            f"{args.warmup:g} s warm-up.",
            "",
            f"Trace-driven queue: the Alibaba trace's {trace['jobs']:,} GPU tasks on every "
            f"{args.node_step}th node of its cluster ({trace['inventory']['devices']} GPUs), "
            "Poisson arrivals at the given offered load, the same arrivals through zslab's "
            "queue and through plain FIFO; medians over seeds "
            f"{', '.join(map(str, args.seeds))}. Jain's index is over eight projects' received "
            "share (GPU units held ÷ max-min fair share of the units in use, while anything "
            "waits).",
            "",
            provenance(payload),
            "",
            *tables,
        ]
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.broker", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--clients", type=int, nargs="+", default=[50, 200], help="client counts (50 200)"
    )
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds discarded (3)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per window (10)")
    parser.add_argument("--repeats", type=int, default=3, help="measured windows (3)")
    parser.add_argument(
        "--rate", type=float, default=100.0, help="open-loop grants/s, all clients (100)"
    )
    parser.add_argument(
        "--loads", type=float, nargs="+", default=[0.9, 1.1], help="offered loads (0.9 1.1)"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3], help="seeds (1 2 3)")
    parser.add_argument("--node-step", type=int, default=10, help="every n-th trace node (10)")
    parser.add_argument("--trace-limit", type=int, default=None, help="first n tasks (all)")
    parser.add_argument("--workers", type=int, default=2, help="processes for the trace (2)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run (short windows, 800 tasks, one seed and load); writes no results",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.warmup, args.duration, args.repeats = 1.0, 2.0, 1
        args.loads, args.seeds, args.trace_limit, args.node_step = [1.0], [1], 800, 20
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    print("request→grant over HTTP ...", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory(prefix="zslab-bench-broker-") as tmp:
        http = http_part(args, Path(tmp))
    print("trace-driven queue ...", file=sys.stderr, flush=True)
    trace = trace_part(args)
    targets = evaluate(http, trace)
    print()
    print("\n".join(report_tables(http, trace, targets, markdown=False)))
    passed = all(t.passed for t in targets)
    if args.quick:
        print("\n--quick: nothing written.")
        return 0 if passed else 1
    payload = {
        **envelope("broker", ("fastapi", "uvicorn", "sqlalchemy", "pydantic")),
        "parameters": {k: v for k, v in vars(args).items() if k not in {"quick"}},
        "http": http,
        "trace": trace,
        "targets": [t.__dict__ for t in targets],
        "passed": passed,
    }
    write_results("broker", payload)
    update_readme(
        "broker", readme_section(args, payload, report_tables(http, trace, targets, markdown=True))
    )
    print(f"\nwrote {RESULTS_FILE.relative_to(REPO)} and the broker section of the README")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
