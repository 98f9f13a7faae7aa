"""Identifiers with a type prefix that sort by creation time: ``usr_01jdx3…``.

The body is a ULID (48-bit millisecond timestamp + 80 random bits, Crockford base32, lower
case), so ids double as a stable cursor for pagination and never reveal a row count.
"""

from __future__ import annotations

import os
import time

__all__ = ["PREFIXES", "new_id", "prefix_of"]

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"

PREFIXES = {
    "usr": "user",
    "tok": "token",
    "org": "organization",
    "prj": "project",
    "lse": "lease",
    "rsv": "reservation",
    "run": "run",
    "cas": "case",
    "cav": "case version",
    "rpr": "reproduction",
}


def new_id(prefix: str, *, now_ms: int | None = None) -> str:
    """A new id such as ``prj_01jdx3k9q8v6w2c4t7h5m0n1ab``."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    value = (ms << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        value, digit = divmod(value, 32)
        chars.append(_ALPHABET[digit])
    return f"{prefix}_{''.join(reversed(chars))}"


def prefix_of(identifier: str) -> str | None:
    """The object type an id names (``"project"`` for ``prj_…``), or None."""
    head, sep, _ = identifier.partition("_")
    return PREFIXES.get(head) if sep else None
