"""``zslab pools`` and ``zslab slices …``: free capacity, and your leases of accelerator slices.

A *slice* is a piece of an accelerator (a MIG instance, a fractional share, or whole devices)
described by the request grammar of :mod:`zslab.compute.request`; a *lease* is a slice the
broker granted (or queued) for you. ``zslab slices parse SPEC`` checks a request against the
grammar without a hub; ``request``, ``ls``, ``show``, ``release``, ``renew`` and ``estimate`` go
through the hub's broker.

``zslab slice parse`` is the older spelling of ``zslab slices parse``: one noun, ``slices``, now
means everything about slices. The old form still works, is hidden from ``zslab --help``, and
prints a one-line notice on stderr.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from zslab.cli._arguments import Parents, Subcommands, add_noun, add_verb, connect, iso_time
from zslab.cli._output import cell, print_json, show

__all__ = [
    "LEASE_COLUMNS",
    "POOL_COLUMNS",
    "cmd_pools",
    "cmd_slice_parse",
    "cmd_slices_estimate",
    "cmd_slices_ls",
    "cmd_slices_parse",
    "cmd_slices_release",
    "cmd_slices_renew",
    "cmd_slices_request",
    "cmd_slices_show",
    "register",
]

LEASE_COLUMNS = ("id", "spec", "state", "priority", "expires_at", "reason")
POOL_COLUMNS = ("site", "pool", "model", "free_devices", "devices", "free_units")

_PARSE_HELP = "check a request such as h100:3g.40gb"
_SPEC_EXAMPLE = "e.g. 'a100-80gb:1g.10gb x4 site=pudong'"


def register(nouns: Subcommands, parents: Parents) -> None:
    """Add ``pools``, ``slices`` and the hidden ``slice`` (old spelling of ``slices parse``)."""
    both = [parents.client, parents.listing]

    # Added without help=, so argparse leaves it out of `zslab --help`; it still parses.
    slice_ = nouns.add_parser(
        "slice", description="deprecated: use `zslab slices parse` (same arguments)"
    ).add_subparsers(dest="verb", metavar="<verb>", required=True)
    p = add_verb(slice_, "parse", cmd_slice_parse, _PARSE_HELP, [parents.listing])
    p.add_argument("spec", help=_SPEC_EXAMPLE)

    add_verb(nouns, "pools", cmd_pools, "free capacity per pool, profile and share", both)

    slices = add_noun(nouns, "slices", "your leases of accelerator slices")
    p = add_verb(slices, "parse", cmd_slices_parse, _PARSE_HELP, [parents.listing])
    p.add_argument("spec", help=_SPEC_EXAMPLE)
    p = add_verb(slices, "request", cmd_slices_request, "ask for a slice", both)
    p.add_argument("spec", help="e.g. h100:3g.40gb, gpu:0.5, 'a100-80gb:1g.10gb x4'")
    p.add_argument("--hours", type=float, default=None)
    p.add_argument("--priority", choices=["interactive", "batch"], default="interactive")
    p.add_argument("--project", help="org/slug or id (default: your project)")
    p.add_argument("--max-wait", type=float, default=None, help="seconds to wait in the queue")
    p.add_argument("--flexible", action="store_true", help="batch: start when cheapest")
    p.add_argument("--deadline", help="flexible batch: ISO time to finish by")
    p.add_argument(
        "--wait",
        type=float,
        nargs="?",
        const=3600.0,
        default=None,
        help="block until granted (seconds)",
    )
    p = add_verb(slices, "ls", cmd_slices_ls, "live leases (--all for every state)", both)
    p.add_argument("--all", action="store_true")
    p.add_argument("--state")
    p.add_argument("--project")
    p.add_argument("--mine", action="store_true")
    p.add_argument("--limit", type=int, default=100)
    p = add_verb(slices, "show", cmd_slices_show, "a lease and its events", both)
    p.add_argument("lease_id")
    p = add_verb(slices, "release", cmd_slices_release, "give a slice back", both)
    p.add_argument("lease_id")
    p = add_verb(slices, "renew", cmd_slices_renew, "extend a lease", both)
    p.add_argument("lease_id")
    p.add_argument("--hours", type=float, required=True)
    p = add_verb(
        slices, "estimate", cmd_slices_estimate, "cost and availability before asking", both
    )
    p.add_argument("spec")
    p.add_argument("--hours", type=float, default=1.0)
    p.add_argument("--priority", choices=["interactive", "batch"], default="interactive")


def cmd_slices_parse(args: argparse.Namespace) -> int:
    """Check a slice request against the grammar and show how it reads (no hub needed)."""
    from zslab.compute.request import parse_request

    request = parse_request(args.spec)
    if args.json:
        print_json(
            {
                "spec": str(request),
                "size": {"kind": type(request.size).__name__, **_slots(request.size)},
                "models": sorted(request.models) if request.models else None,
                "family": request.family,
                "count": request.count,
                "sites": sorted(request.sites) if request.sites else None,
                "pools": sorted(request.pools) if request.pools else None,
                "domestic_only": request.domestic_only,
                "cpu_milli": request.cpu_milli,
                "memory_mib": request.memory_mib,
            }
        )
    else:
        print(f"{request}  ({type(request.size).__name__}: {request.size})")
    return 0


def cmd_slice_parse(args: argparse.Namespace) -> int:
    """``zslab slice parse``: the old spelling of ``zslab slices parse``, with a notice."""
    print(
        "zslab: `zslab slice parse` is deprecated; use `zslab slices parse` (same arguments).",
        file=sys.stderr,
    )
    return cmd_slices_parse(args)


def _slots(value: Any) -> dict[str, Any]:
    # The request's size classes are slotted dataclasses; their slots are their fields.
    return {name: getattr(value, name) for name in value.__slots__}


def _lease_row(lease: Any) -> Any:
    # lab.leases() yields SDK Lease handles; their .data is the row to print.
    return lease.data if hasattr(lease, "data") else lease


def cmd_pools(args: argparse.Namespace) -> int:
    """Free capacity per pool, then what each pool can still give (profiles or shares)."""
    with connect(args) as lab:
        pools = lab.pools()
    show(args, pools, POOL_COLUMNS)
    if not args.json:
        for pool in pools:
            detail = pool.profiles or pool.shares
            if detail:
                offer = ", ".join(f"{k}×{v}" for k, v in detail.items() if v)
                print(f"  {pool.pool}: {offer or 'nothing free'}")
    return 0


def cmd_slices_request(args: argparse.Namespace) -> int:
    """Ask the broker for a slice; say where it was granted, or where it waits in the queue."""
    deadline = iso_time(args.deadline, "--deadline") if args.deadline else None
    with connect(args) as lab:
        lease = lab.request(
            args.spec,
            hours=args.hours,
            priority=args.priority,
            project=args.project,
            max_wait=args.max_wait,
            flexible=args.flexible,
            deadline=deadline,
            wait=args.wait if args.wait else False,
        )
    if args.json:
        print_json(lease.data)
        return 0
    data = lease.data
    if data.state in {"granted", "active"} and data.placement:
        where = data.placement
        print(
            f"{data.id}: {data.spec} granted on {where['node']} ({where['site']}/"
            f"{where['pool']}) until {cell(data.expires_at)}"
        )
    elif data.queue is not None:
        eta = cell(data.queue.expected_start) if data.queue.expected_start else "unknown"
        print(
            f"{data.id}: queued at position {data.queue.position}, expected start {eta} "
            f"({data.queue.reason})"
        )
    else:
        print(f"{data.id}: {data.state} ({data.reason})")
    return 0


def cmd_slices_ls(args: argparse.Namespace) -> int:
    """Your live leases (``--all`` for every state, or one ``--state``)."""
    with connect(args) as lab:
        leases = [
            _lease_row(x)
            for x in lab.leases(
                state=args.state or (None if args.all else "live"),
                project=args.project,
                mine=args.mine,
                limit=args.limit,
            )
        ]
    return show(args, leases, LEASE_COLUMNS)


def cmd_slices_show(args: argparse.Namespace) -> int:
    """One lease, and (as text) its events: every transition with its reason."""
    with connect(args) as lab:
        lease = lab.lease(args.lease_id)
        show(args, lease.data, LEASE_COLUMNS)
        if not args.json:
            for event in lease.events():
                print(f"  {cell(event.at)}  {event.type:<18} {event.reason}")
    return 0


def cmd_slices_release(args: argparse.Namespace) -> int:
    """Give a slice back now."""
    with connect(args) as lab:
        lease = lab.lease(args.lease_id).release()
    return show(args, lease.data, LEASE_COLUMNS)


def cmd_slices_renew(args: argparse.Namespace) -> int:
    """Extend a lease by ``--hours`` (within the project's maximum TTL)."""
    with connect(args) as lab:
        lease = lab.lease(args.lease_id).renew(args.hours)
    return show(args, lease.data, LEASE_COLUMNS)


def cmd_slices_estimate(args: argparse.Namespace) -> int:
    """Energy, cost, subsidy and whether it fits now, before asking; a cheaper start if any."""
    with connect(args) as lab:
        estimate = lab.estimate(args.spec, hours=args.hours, priority=args.priority)
    if args.json:
        print_json(estimate)
        return 0
    label = " (example tariff)" if estimate.tariff_is_example else ""
    print(
        f"{estimate.spec} for {estimate.hours:g} h: {estimate.energy_kwh:.2f} kWh, "
        f"{estimate.cost:.2f} {estimate.currency}, subsidy {estimate.subsidy:.2f}, net "
        f"{estimate.net_cost:.2f}{label}; "
        f"{'fits now' if estimate.grantable_now else 'would queue'}"
    )
    if estimate.cheapest_start:
        print(
            f"  starting at {cell(estimate.cheapest_start)} would save "
            f"{estimate.cheapest_saving:.2f} {estimate.currency}"
        )
    return 0
