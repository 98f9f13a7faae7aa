"""``zslab quota show | set``: a project's quota (GPU units) and its lease limits.

The limits are the default and maximum lease TTL, the idle limit after which an unused lease is
reclaimed, the fair-share weight, and the cohort whose idle quota the project may borrow.
"""

from __future__ import annotations

import argparse

from zslab.cli._arguments import Parents, Subcommands, add_noun, add_verb, connect
from zslab.cli._output import show

__all__ = ["QUOTA_COLUMNS", "cmd_quota_set", "cmd_quota_show", "register"]

QUOTA_COLUMNS = (
    "project_id",
    "quota_units",
    "used_units",
    "ttl_default_h",
    "ttl_max_h",
    "idle_limit_min",
    "weight",
    "cohort",
)


def register(nouns: Subcommands, parents: Parents) -> None:
    """Add the ``quota`` noun."""
    both = [parents.client, parents.listing]
    quota = add_noun(nouns, "quota", "project quotas and lease limits")
    p = add_verb(quota, "show", cmd_quota_show, "a project's quota and use", both)
    p.add_argument("project")
    p = add_verb(quota, "set", cmd_quota_set, "change a project's quota or limits", both)
    p.add_argument("project")
    p.add_argument("--units", type=float, help="quota in GPU units")
    p.add_argument("--ttl-default", type=float)
    p.add_argument("--ttl-max", type=float)
    p.add_argument("--idle-limit", type=float, help="minutes")
    p.add_argument("--weight", type=float)
    p.add_argument("--cohort")


def cmd_quota_show(args: argparse.Namespace) -> int:
    """A project's quota, what it uses now, and its lease limits."""
    with connect(args) as lab:
        policy = lab.policies.get(args.project)
    return show(args, policy, QUOTA_COLUMNS)


def cmd_quota_set(args: argparse.Namespace) -> int:
    """Change only the limits given (admins)."""
    fields = {
        k: v
        for k, v in {
            "quota_units": args.units,
            "ttl_default_h": args.ttl_default,
            "ttl_max_h": args.ttl_max,
            "idle_limit_min": args.idle_limit,
            "weight": args.weight,
            "cohort": args.cohort,
        }.items()
        if v is not None
    }
    with connect(args) as lab:
        policy = lab.policies.set(args.project, **fields)
    return show(args, policy, QUOTA_COLUMNS)
