"""Optional dependencies: a feature whose extra is not installed says which one to install.

``pip install zslab`` is the SDK and the CLI only; the rest comes in extras (README, "Install"):
``zslab[hub]`` (``zslab up``, ``zslab hub``), ``zslab[corpus]``, ``zslab[train]``,
``zslab[lab]`` (JupyterLab, magics, template runs, ``lease.client``), ``zslab[all]``. A
feature that needs an extra calls :func:`require` before its lazy imports, so a bare install
answers with one line a user can act on, never an ``ImportError`` traceback::

    from zslab.extras import require

    def cmd_up(args):
        require("hub", "zslab up")   # ConfigError: zslab up needs zslab's hub packages
        from zslab import embedded    # (fastapi is not installed): pip install 'zslab[hub]'

Which distributions an extra holds is read from zslab's installed metadata, so pyproject.toml
stays the one list; only standard-library modules are imported here, and nothing is imported
to check (the distributions are looked up, not loaded).
"""

from __future__ import annotations

import functools
import re
from importlib import metadata
from typing import Literal

from zslab.errors import ConfigError

__all__ = ["Extra", "distributions", "missing", "require"]

Extra = Literal["hub", "corpus", "train", "lab", "all"]

# "uvicorn[standard]>=0.30; extra == 'hub'" -> name "uvicorn", extras "standard", extra "hub".
_REQUIREMENT = re.compile(
    r"^\s*(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[(?P<extras>[^\]]*)\])?"
    r"[^;]*(?:;\s*(?P<marker>.*))?$"
)
_EXTRA_MARKER = re.compile(r"""extra\s*==\s*["']([^"']+)["']""")


def require(extra: Extra, feature: str) -> None:
    """Raise :class:`~zslab.errors.ConfigError` naming ``zslab[extra]`` when any of its
    distributions is missing; ``feature`` is what the user asked for (``"zslab up"``)."""
    absent = missing(extra)
    if absent:
        install = f"pip install 'zslab[{extra}]'"
        # The command to run is in the message, not in ``fix``: the CLI prints ``fix`` on a line
        # of its own, and this answer should be one line.
        named = ", ".join(absent[:3]) + (f" and {len(absent) - 3} more" if len(absent) > 3 else "")
        raise ConfigError(
            f"{feature} needs zslab's {extra} packages ({named} "
            f"{'is' if len(absent) == 1 else 'are'} not installed): {install}",
            requires=f"zslab[{extra}]",
            missing=absent,
        )


def missing(extra: Extra) -> list[str]:
    """The distributions of ``zslab[extra]`` that are not installed, in the order of zslab's
    metadata (empty when all are, or when zslab itself runs uninstalled from a source tree)."""
    return [name for name in distributions(extra) if not _installed(name)]


@functools.cache
def distributions(extra: str) -> tuple[str, ...]:
    """The distributions ``zslab[extra]`` installs, as pyproject.toml lists them (extras made of
    extras, such as ``all``, expanded)."""
    try:
        requirements = metadata.requires("zslab") or []
    except metadata.PackageNotFoundError:  # a source tree on sys.path: nothing to check against
        return ()
    names: list[str] = []
    for line in requirements:
        match = _REQUIREMENT.match(line)
        if match is None or extra not in _EXTRA_MARKER.findall(match["marker"] or ""):
            continue
        if match["name"].lower() == "zslab":  # an extra made of extras: zslab[corpus]
            for inner in (match["extras"] or "").split(","):
                names += [n for n in distributions(inner.strip()) if n not in names]
        elif match["name"] not in names:
            names.append(match["name"])
    return tuple(names)


def _installed(name: str) -> bool:
    # Not cached: a package installed into a running kernel counts from then on.
    try:
        metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return False
    return True
