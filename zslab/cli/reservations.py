"""``zslab reservations add | ls | cancel``: slices held for a project's window (a class).

An educator reserves N slices of a profile for a course project from ``--start`` to ``--end``;
only its members draw on them, and idle reserved capacity is lent to batch work meanwhile.
"""

from __future__ import annotations

import argparse

from zslab.cli._arguments import Parents, Subcommands, add_noun, add_verb, connect, iso_time
from zslab.cli._output import show

__all__ = [
    "RESERVATION_COLUMNS",
    "cmd_reservations_add",
    "cmd_reservations_cancel",
    "cmd_reservations_ls",
    "register",
]

RESERVATION_COLUMNS = (
    "id",
    "project_id",
    "spec",
    "count",
    "start_at",
    "end_at",
    "state",
    "held",
    "in_use",
)


def register(nouns: Subcommands, parents: Parents) -> None:
    """Add the ``reservations`` noun."""
    both = [parents.client, parents.listing]
    reservations = add_noun(nouns, "reservations", "slices held for a class")
    p = add_verb(
        reservations, "add", cmd_reservations_add, "reserve slices for a project's window", both
    )
    p.add_argument("project")
    p.add_argument("spec")
    p.add_argument("count", type=int)
    p.add_argument("--start", required=True, help="ISO time")
    p.add_argument("--end", required=True, help="ISO time")
    p.add_argument("--note", default="")
    add_verb(reservations, "ls", cmd_reservations_ls, "reservations you can see", both)
    p = add_verb(reservations, "cancel", cmd_reservations_cancel, "cancel one", both)
    p.add_argument("reservation_id")


def cmd_reservations_add(args: argparse.Namespace) -> int:
    """Reserve ``count`` slices of ``spec`` for ``project`` from ``--start`` to ``--end``."""
    start = iso_time(args.start, "--start")
    end = iso_time(args.end, "--end")
    with connect(args) as lab:
        reservation = lab.reservations.add(
            args.project, args.spec, args.count, start=start, end=end, note=args.note
        )
    return show(args, reservation, RESERVATION_COLUMNS)


def cmd_reservations_ls(args: argparse.Namespace) -> int:
    """The reservations you can see."""
    with connect(args) as lab:
        return show(args, lab.reservations.list(), RESERVATION_COLUMNS)


def cmd_reservations_cancel(args: argparse.Namespace) -> int:
    """Cancel a reservation; its held slices go back to the pool."""
    with connect(args) as lab:
        return show(args, lab.reservations.cancel(args.reservation_id), RESERVATION_COLUMNS)
