"""How the command line prints what the hub returns: ``--json`` or a table.

Every command that prints a listing goes through here, so ``--json`` means the same everywhere
(pydantic models dumped in JSON mode, non-ASCII kept, indented) and every table looks alike:
upper-case headers, columns as wide as their widest cell, ``-`` for nothing, times in ISO 8601
to the second with ``Z`` for UTC.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["cell", "print_json", "print_table", "show", "to_json"]


def to_json(value: Any) -> Any:
    """``value`` as plain JSON data: pydantic models (also inside lists) dumped in JSON mode."""
    if isinstance(value, list):
        return [to_json(v) for v in value]
    dump = getattr(value, "model_dump", None)
    return dump(mode="json") if dump else value


def print_json(value: Any) -> None:
    """Print ``value`` as indented JSON, keeping Chinese text readable."""
    print(json.dumps(to_json(value), ensure_ascii=False, indent=2))


def cell(value: Any) -> str:
    """One table cell: ``-`` for nothing, lists comma-joined, times to the second (``Z``)."""
    if value is None:
        return "-"
    if isinstance(value, list):
        return ",".join(str(v) for v in value) or "-"
    text = str(value)
    if hasattr(value, "isoformat"):
        text = value.isoformat(timespec="seconds").replace("+00:00", "Z")
    return text


def _field(row: Any, column: str) -> Any:
    # Rows are pydantic models from the SDK, or plain dicts from the local domain code.
    if isinstance(row, Mapping):
        return row.get(column)
    return getattr(row, column, None)


def print_table(rows: Sequence[Any], columns: Sequence[str]) -> None:
    """Print ``rows`` (models or mappings) as a table of ``columns``; ``(none)`` when empty."""
    if not rows:
        print("(none)")
        return
    table = [[cell(_field(row, c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in table)) for i, c in enumerate(columns)]
    print("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for r in table:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())


def show(args: argparse.Namespace, value: Any, columns: Sequence[str]) -> int:
    """Print ``value`` (one row or a list) as JSON with ``--json``, else as a table; exit 0."""
    if args.json:
        print_json(value)
    else:
        print_table(value if isinstance(value, list) else [value], columns)
    return 0
