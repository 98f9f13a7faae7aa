"""``zslab usage``: what leases used, metered: slice-hours, energy, cost, subsidy and CO2.

Grouped by project, user, organization, model or pool over a period; as a table, ``--json``, or
the hub's CSV with ``--csv``.
"""

from __future__ import annotations

import argparse

from zslab.cli._arguments import Parents, Subcommands, add_verb, connect, iso_time
from zslab.cli._output import show

__all__ = ["USAGE_COLUMNS", "cmd_usage", "register"]

USAGE_COLUMNS = (
    "key",
    "leases",
    "slice_hours",
    "energy_kwh",
    "cost",
    "net_cost",
    "co2_kg",
    "domestic_share",
)


def register(nouns: Subcommands, parents: Parents) -> None:
    """Add the ``usage`` command."""
    p = add_verb(
        nouns,
        "usage",
        cmd_usage,
        "slice-hours, energy, cost and CO2",
        [parents.client, parents.listing],
    )
    p.add_argument("--by", choices=["project", "user", "org", "model", "pool"], default="project")
    p.add_argument("--since", help="ISO time")
    p.add_argument("--until", help="ISO time")
    p.add_argument("--csv", action="store_true", help="print CSV")


def cmd_usage(args: argparse.Namespace) -> int:
    """Metered use per group over ``--since``…``--until``."""
    since = iso_time(args.since, "--since") if args.since else None
    until = iso_time(args.until, "--until") if args.until else None
    with connect(args) as lab:
        if args.csv:
            print(lab.usage_csv(group_by=args.by, since=since, until=until), end="")
            return 0
        rows = lab.usage(group_by=args.by, since=since, until=until)
    return show(args, rows, USAGE_COLUMNS)
