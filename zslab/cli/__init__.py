"""``zslab <noun> <verb>``: the command line.

One module per noun registers its own commands (``register(nouns, parents)``) and holds their
``cmd_*`` handlers; this module builds the root parser, asks each noun module in turn, and runs
the chosen handler, reporting a :class:`~zslab.errors.ZslabError` as ``zslab: error: … / fix:
…`` with exit 1 (Ctrl-C exits 130; a closed pipe, as in ``zslab pools | head``, exits 0)::

    runtime       up, down, status, hub, health, me, version
    accounts      token, user, org, project
    leases        pools, slices (parse, request, ls, show, release, renew, estimate);
                  slice parse, the old spelling of slices parse, hidden from the help
    usage         usage
    reservations  reservations
    quota         quota
    compute       node, inventory, sim
    corpus        corpus
    templates     templates, run
    cases         cases
    audit         audit

Shared pieces: :mod:`._arguments` (the ``--url``/``--token`` and ``--json`` parent parsers, a
connected SDK ``Lab`` for a command), :mod:`._output` (``--json`` and tables, the one way to
print a listing) and :mod:`._errors`. Every listing takes ``--json``. Client commands find the
hub like :func:`zslab.connect` does (``--url``/``--token``, ``ZSLAB_URL``/``ZSLAB_TOKEN``, or the
embedded hub's runtime file). Heavy imports happen inside handlers, so ``zslab --help`` stays
fast.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from types import ModuleType

from zslab._version import __version__
from zslab.cli import (
    accounts,
    audit,
    cases,
    compute,
    corpus,
    leases,
    quota,
    reservations,
    runtime,
    templates,
    usage,
)
from zslab.cli._arguments import Handler, make_parents
from zslab.cli._errors import report
from zslab.errors import ZslabError

__all__ = ["NOUN_MODULES", "build_parser", "main"]

NOUN_MODULES: tuple[ModuleType, ...] = (
    runtime,
    accounts,
    leases,
    usage,
    reservations,
    quota,
    compute,
    corpus,
    templates,
    cases,
    audit,
)
"""The noun modules in the order ``zslab --help`` lists their commands."""


def build_parser() -> argparse.ArgumentParser:
    """The ``zslab`` parser: global options, then every noun module's commands."""
    parser = argparse.ArgumentParser(
        prog="zslab",
        description="智算 Lab: accelerator slices, corpus pipelines, templates and cases.",
    )
    parser.add_argument("--home", help="state directory (default: ZSLAB_HOME)")
    parser.add_argument("--version", action="version", version=f"zslab {__version__}")
    nouns = parser.add_subparsers(dest="noun", metavar="<noun>")
    parents = make_parents()
    for module in NOUN_MODULES:
        module.register(nouns, parents)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``zslab`` with ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.home:
        os.environ["ZSLAB_HOME"] = args.home
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return handler(args)
    except ZslabError as exc:
        report(exc)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. `zslab pools | head`: the reader left; that is fine
        sys.stderr.close()
        return 0
