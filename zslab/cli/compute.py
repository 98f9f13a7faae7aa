"""``zslab node | inventory | sim``: the hardware behind the slices, and the placement simulator.

``inventory show`` reads an inventory locally (the Shanghai example by default, a YAML file, an
Alibaba trace's node list, or this machine's NVIDIA GPUs); ``inventory load`` and ``node
drain`` change the hub's (admins); ``sim`` replays a cluster trace through a placement policy
(:mod:`zslab.compute.sim`) without a hub.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from zslab.cli._arguments import (
    Parents,
    Subcommands,
    add_noun,
    add_verb,
    connect,
    existing_file,
)
from zslab.cli._output import print_json, print_table

__all__ = [
    "INVENTORY_COLUMNS",
    "cmd_inventory_load",
    "cmd_inventory_show",
    "cmd_node_drain",
    "cmd_sim",
    "register",
]

INVENTORY_COLUMNS = ("site", "pool", "model", "nodes", "devices")


def register(nouns: Subcommands, parents: Parents) -> None:
    """Add the ``node`` and ``inventory`` nouns and the ``sim`` command."""
    node = add_noun(nouns, "node", "inventory nodes (admins)")
    p = add_verb(node, "drain", cmd_node_drain, "stop new placements on a node", [parents.client])
    p.add_argument("node")
    p.add_argument("--undo", action="store_true", help="accept placements again")
    p.add_argument("--reason", default="")

    inventory = add_noun(nouns, "inventory", "hardware inventories")
    p = add_verb(
        inventory,
        "load",
        cmd_inventory_load,
        "replace the hub's inventory (admins)",
        [parents.client],
    )
    p.add_argument("file", help="inventory YAML")
    p = add_verb(
        inventory,
        "show",
        cmd_inventory_show,
        "devices per site, pool and model",
        [parents.listing],
    )
    source = p.add_mutually_exclusive_group()
    source.add_argument("--file", help="a YAML inventory (default: the Shanghai example)")
    source.add_argument("--trace-nodes", help="an Alibaba trace node list CSV")
    source.add_argument("--nvml", action="store_true", help="this machine's NVIDIA GPUs")

    p = add_verb(
        nouns,
        "sim",
        cmd_sim,
        "replay a cluster trace through a placement policy",
        [parents.listing],
    )
    p.add_argument("--nodes", help="node list CSV (default: beside the pods file)")
    p.add_argument("--pods", help="task list CSV")
    p.add_argument("--trace", help="task list CSV (same as --pods)")
    p.add_argument(
        "--policy",
        default="zslab",
        help="random, firstfit, bestfit, dotprod, packing, clustering, fgd or zslab (default)",
    )
    p.add_argument("--seeds", default="42-51", help="e.g. 42-51 or 1,5,9")
    p.add_argument("--tune", type=float, default=1.3, help="inflate demand to this x capacity")
    p.add_argument(
        "--mode",
        choices=["fill", "timed"],
        default="fill",
        help="fill: the FGD paper's replay; timed: arrivals and departures",
    )
    p.add_argument(
        "--compress",
        type=float,
        default=1.0,
        help="timed mode: divide inter-arrival times by this factor",
    )
    p.add_argument("--workers", type=int, default=None, help="processes (default: cores)")
    p.add_argument("--out", help="also write the per-seed allocation curve as JSON here")


# --- the hub's inventory -----------------------------------------------------------------------


def cmd_node_drain(args: argparse.Namespace) -> int:
    """Stop (or, with ``--undo``, resume) new placements on a node; running leases stay."""
    with connect(args) as lab:
        result = lab.drain(args.node, drained=not args.undo, reason=args.reason)
    state = "drained" if result["drained"] else "accepting placements again"
    print(f"{result['node']} {state}; {result['live_leases']} lease(s) still running there.")
    return 0


def cmd_inventory_load(args: argparse.Namespace) -> int:
    """Replace the hub's inventory with a YAML file's."""
    text = existing_file(args.file, "file", fix="Point it at an inventory YAML.").read_text(
        encoding="utf-8"
    )
    with connect(args) as lab:
        result = lab.load_inventory(text)
    print(f"Loaded {result.name}: {result.nodes} nodes, {result.devices} accelerators.")
    return 0


def cmd_inventory_show(args: argparse.Namespace) -> int:
    """Devices per site, pool and model of an inventory (the example one by default)."""
    from zslab.compute.inventory import Inventory

    if args.file:
        inventory = Inventory.from_yaml(existing_file(args.file, "--file"))
    elif args.trace_nodes:
        inventory = Inventory.from_alibaba_trace(existing_file(args.trace_nodes, "--trace-nodes"))
    elif args.nvml:
        inventory = Inventory.discover_nvml()
    else:
        inventory = Inventory.demo()
    rows = inventory.summary()
    if args.json:
        print_json({"name": inventory.name, "example": inventory.example, "pools": rows})
        return 0
    label = " (EXAMPLE: made-up hardware)" if inventory.example else ""
    print(
        f"{inventory.name}{label}: {len(inventory.nodes)} nodes, {inventory.device_count} "
        "accelerators"
    )
    print_table(rows, INVENTORY_COLUMNS)
    return 0


# --- the simulator -----------------------------------------------------------------------------


def cmd_sim(args: argparse.Namespace) -> int:
    """Replay a trace through a placement policy (see zslab.compute.sim)."""
    from zslab.compute import sim
    from zslab.compute.placement import POLICIES
    from zslab.errors import InvalidInput

    if not (args.pods or args.trace):
        raise InvalidInput(
            "Which trace should be replayed?",
            field="pods",
            fix="Pass --pods (or --trace) with a task list CSV, and --nodes with a node list.",
        )
    fix = "Point --nodes and --pods at the trace's CSV files."
    pods = existing_file(args.pods or args.trace, "--pods", fix=fix)
    nodes = existing_file(
        args.nodes or str(pods.parent / "openb_node_list_gpu_node.csv"), "--nodes", fix=fix
    )
    if args.policy not in POLICIES:
        raise InvalidInput(
            f"Unknown policy {args.policy!r}.",
            field="policy",
            fix=f"Choose one of {', '.join(POLICIES)}.",
        )
    try:
        seeds = sim.parse_seeds(args.seeds)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="seeds") from exc
    if args.mode == "timed":
        summaries = [
            sim.replay_timed(nodes, pods, args.policy, seed=seed, compress=args.compress).summary()
            for seed in seeds
        ]
        if args.json:
            print_json({"mode": "timed", "seeds": seeds, "runs": summaries})
        else:
            _print_timed(summaries)
        return 0
    runs = sim.run_seeds(
        nodes,
        pods,
        args.policy,
        seeds,
        tune=args.tune,
        workers=args.workers,
        progress=not args.json,
    )
    summary = sim.summarize(runs)
    if args.out:
        percents = range(0, int(args.tune * 100) + 1)
        curve = {
            "summary": summary,
            "curve": {str(p): [r.alloc_ratio(p) for r in runs] for p in percents},
            "frag_rate": {str(p): [r.frag_rate(p) for r in runs] for p in percents},
        }
        Path(args.out).write_text(json.dumps(curve, indent=1) + "\n", encoding="utf-8")
    if args.json:
        print_json(summary)
    else:
        _print_fill(summary, runs)
    return 0


def _print_fill(summary: dict[str, Any], runs: list[Any]) -> None:
    import statistics

    print(
        f"{summary['policy']} on {summary['trace']}, seeds {summary['seeds'][0]}"
        f"-{summary['seeds'][-1]} ({len(runs)} runs)"
    )
    print("arrived %   allocated % (mean over seeds)")
    for percent in range(50, 131, 10):
        values = [v for v in (r.alloc_ratio(percent) for r in runs) if v is not None]
        if values:
            print(f"{percent:>9}   {statistics.fmean(values):6.2f}")
    print(
        f"fragmentation rate at 80/90 %: {summary['frag_rate']['80']} / "
        f"{summary['frag_rate']['90']} %"
    )
    latency = summary["decision_latency_ms"]
    print(
        f"decision latency p50 {latency['p50']} ms, p99 {latency['p99']} ms; "
        f"{summary['decisions_per_s']} decisions/s"
    )


def _print_timed(summaries: list[dict[str, Any]]) -> None:
    for s in summaries:
        delay = s["queue_delay_s"]
        print(
            f"{s['policy']} on {s['trace']}: placed {s['placed']}, never placed "
            f"{s['never_placed']}; queue delay mean {delay['mean']:.0f} s, p99 "
            f"{delay['p99']:.0f} s; GPU allocated mean {s['utilization_pct']['mean']:.1f} %"
        )
