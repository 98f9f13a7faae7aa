"""How the command line reports a :class:`~zslab.errors.ZslabError`: on stderr, no traceback.

``zslab: error: <what went wrong>``, then one ``- field: message`` line per bad field, the
``fix:`` and the hub's request id when there is one; :func:`zslab.cli.main` then exits 1.
"""

from __future__ import annotations

import sys

from zslab.errors import ConfigError, ZslabError

__all__ = ["config_error", "report"]


def report(exc: ZslabError) -> None:
    """Print ``exc`` for a person reading a terminal."""
    print(f"zslab: error: {exc.detail}", file=sys.stderr)
    for item in exc.errors:
        print(f"  - {item.get('field')}: {item.get('message')}", file=sys.stderr)
    if exc.fix:
        print(f"  fix: {exc.fix}", file=sys.stderr)
    request_id = getattr(exc, "request_id", None)
    if request_id:
        print(f"  request id: {request_id}", file=sys.stderr)


def config_error(exc: Exception) -> ZslabError:
    """A local file or value the domain code rejected (``ValueError``, ``OSError``), as a
    :class:`~zslab.errors.ConfigError` whose message is the original one."""
    return ConfigError(str(exc))
