"""``zslab audit list``: the hub's audit log, newest first (admins).

Every mutating call to the hub is an audit event (who, what, when, from where, outcome); this
reads them back, filtered by actor, action, outcome and time.
"""

from __future__ import annotations

import argparse

from zslab.cli._arguments import Parents, Subcommands, add_noun, add_verb, connect, iso_time
from zslab.cli._output import show

__all__ = ["AUDIT_COLUMNS", "cmd_audit_list", "register"]

AUDIT_COLUMNS = ("id", "at", "actor_name", "action", "object_id", "status", "outcome")


def register(nouns: Subcommands, parents: Parents) -> None:
    """Add the ``audit`` noun."""
    audit = add_noun(nouns, "audit", "the audit log (admins)")
    p = add_verb(
        audit,
        "list",
        cmd_audit_list,
        "newest audit events first",
        [parents.client, parents.listing],
    )
    p.add_argument("--actor")
    p.add_argument("--action")
    p.add_argument("--outcome", choices=["success", "denied", "invalid", "error"])
    p.add_argument("--since", help="ISO time, e.g. 2026-11-26T00:00:00+00:00")
    p.add_argument("--limit", type=int, default=50)


def cmd_audit_list(args: argparse.Namespace) -> int:
    """Audit events matching the filters, newest first."""
    since = iso_time(args.since, "--since") if args.since else None
    with connect(args) as lab:
        events = lab.audit.list(
            actor=args.actor,
            action=args.action,
            outcome=args.outcome,
            since=since,
            limit=args.limit,
        )
    return show(args, events, AUDIT_COLUMNS)
