"""The arguments commands share, and what they resolve to.

Two parent parsers carry the options many verbs take: ``client`` (``--url``/``--token``, for
verbs that talk to a hub) and ``listing`` (``--json``). :func:`add_noun` and :func:`add_verb`
are how a noun module registers ``zslab <noun> <verb>``. :func:`connect` turns
``--url``/``--token`` into a connected SDK :class:`~zslab.client.Lab`, found the way
:func:`zslab.connect` finds it; :func:`local_settings` reads the local settings with ``--home``
applied. Values that need more than argparse's checks (ISO times, files that must exist) are read
here, so that a bad one is an :class:`~zslab.errors.InvalidInput` naming the option (exit 1),
not a traceback or argparse's exit 2.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    from datetime import datetime

    from zslab.client import Lab
    from zslab.config import Settings

__all__ = [
    "Handler",
    "Parents",
    "Subcommands",
    "add_noun",
    "add_verb",
    "connect",
    "csv_list",
    "existing_file",
    "iso_time",
    "local_settings",
    "make_parents",
]

Handler = Callable[[argparse.Namespace], int]
"""A command: reads the parsed arguments, prints, returns the exit status."""

Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
"""What ``add_subparsers`` returns: the nouns of ``zslab``, or the verbs of one noun."""


@dataclass(frozen=True)
class Parents:
    """The parent parsers whose options many verbs share."""

    client: argparse.ArgumentParser
    """``--url`` and ``--token``: for verbs that talk to a hub."""
    listing: argparse.ArgumentParser
    """``--json``: for verbs that print something a script may want to read."""


def make_parents() -> Parents:
    """Build the shared parent parsers (once per :func:`zslab.cli.build_parser`)."""
    client = argparse.ArgumentParser(add_help=False)
    client.add_argument("--url", help="hub URL (default: ZSLAB_URL or the embedded hub)")
    client.add_argument("--token", help="API token (default: ZSLAB_TOKEN or the runtime file)")
    listing = argparse.ArgumentParser(add_help=False)
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return Parents(client=client, listing=listing)


def add_noun(nouns: Subcommands, name: str, help: str) -> Subcommands:
    """Register ``zslab <name>`` as a noun with verbs; returns where to add the verbs."""
    noun: argparse.ArgumentParser = nouns.add_parser(name, help=help)
    verbs: Subcommands = noun.add_subparsers(dest="verb", metavar="<verb>", required=True)
    return verbs


def add_verb(
    verbs: Subcommands,
    name: str,
    handler: Handler,
    help: str,
    parents: Sequence[argparse.ArgumentParser] = (),
) -> argparse.ArgumentParser:
    """Register one command (a verb of a noun, or a noun without verbs) run by ``handler``."""
    parser: argparse.ArgumentParser = verbs.add_parser(
        name, help=help, description=help, parents=list(parents)
    )
    parser.set_defaults(handler=handler)
    return parser


def local_settings(args: argparse.Namespace, **overrides: Any) -> Settings:
    """The local settings (``ZSLAB_*``) with ``--home`` when given, and ``overrides``."""
    from zslab.config import load_settings

    if getattr(args, "home", None):
        overrides["home"] = args.home
    return load_settings(**overrides)


def connect(args: argparse.Namespace) -> Lab:
    """The hub named by ``--url``/``--token`` (or found as :func:`zslab.connect` finds it).

    Never starts an embedded hub: a command line that silently starts a server surprises; the
    error says to run ``zslab up``.
    """
    from zslab.client import connect as connect_sdk

    return connect_sdk(args.url, args.token, start=False, home=getattr(args, "home", None))


def csv_list(value: str) -> list[str]:
    """``"read, write,"`` → ``["read", "write"]``."""
    return [part.strip() for part in value.split(",") if part.strip()]


def iso_time(value: str, option: str) -> datetime:
    """``value``, given as ``option`` (e.g. ``--since``), read as an ISO 8601 time.

    A time without a zone (``2026-11-26`` or ``2026-11-26T09:00``) is read in this machine's
    zone, as people mean it when they type it; the hub stores and compares times in UTC.

    >>> iso_time("2026-11-26T09:00:00+08:00", "--since").hour
    9
    """
    from datetime import datetime

    from zslab.errors import InvalidInput

    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(
            f"{option}: {value!r} is not an ISO 8601 time.",
            field=_field_name(option),
            fix=f"Write it like {option} 2026-11-26T09:00:00+08:00 (or a date: 2026-11-26).",
        ) from exc
    return parsed if parsed.tzinfo else parsed.astimezone()


def existing_file(value: str, option: str, *, fix: str | None = None) -> Path:
    """``value``, given as ``option``, as the path of a file that exists."""
    from zslab.errors import InvalidInput

    path = Path(value)
    if not path.is_file():
        raise InvalidInput(
            f"{path} is not a file.",
            field=_field_name(option),
            fix=fix or f"Point {option} at an existing file.",
        )
    return path


def _field_name(option: str) -> str:
    # "--ttl-max" names the field "ttl_max", as the hub's problem responses do.
    return option.lstrip("-").replace("-", "_")
