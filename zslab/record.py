"""Record a notebook's results (metrics, paths, small tables) where the run can read them back.

Inside a notebook, :func:`record` displays the values as an output of the cell with the MIME
type ``application/vnd.zslab.record+v1+json`` (plus a one-line text fallback), so they travel
inside the executed ``.ipynb`` itself; :func:`read_records` merges them back::

    from zslab.record import record

    record(accuracy=0.91, model_dir="out/model")      # in a template cell

    read_records("executed.ipynb")                      # {"accuracy": 0.91, "model_dir": ...}

When ``ZSLAB_RECORD_FILE`` is set, :func:`record` also appends one JSON line to that file (in a
script or a test, that is its only output); otherwise outside IPython it just returns the
values.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["MIME_TYPE", "RECORD_FILE_ENV", "read_records", "record"]

MIME_TYPE = "application/vnd.zslab.record+v1+json"
RECORD_FILE_ENV = "ZSLAB_RECORD_FILE"
_FALLBACK_CHARS = 200


def record(**values: Any) -> dict[str, Any]:
    """Record JSON-able ``values`` as this run's outputs; returns them.

    Later records win over earlier ones with the same key when they are read back.
    A value that is not JSON-able raises ``TypeError`` naming it, at the call, not at the end.

    Example::

        record(eval_accuracy=0.87, checkpoint="run/checkpoints/best")
    """
    for name, value in values.items():
        try:
            json.dumps(value)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"record({name}=...) needs a JSON-able value (numbers, strings, lists, dicts), "
                f"got {type(value).__name__}; convert it first, e.g. float(x) or str(path)"
            ) from exc
    # An explicit record file always gets the values, in IPython or not.
    target = os.environ.get(RECORD_FILE_ENV)
    if target:
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(values, ensure_ascii=False) + "\n")
    if _in_ipython():
        from IPython.display import display

        display(
            {MIME_TYPE: values, "text/plain": _summary(values)},
            raw=True,
        )
    return values


def read_records(notebook: str | os.PathLike[str] | Mapping[str, Any]) -> dict[str, Any]:
    """Merge every record output of an executed notebook (a path or a loaded notebook), in
    cell order; a later key wins."""
    if isinstance(notebook, Mapping):
        nb: Mapping[str, Any] = notebook
    else:
        nb = json.loads(Path(notebook).read_text(encoding="utf-8"))
    merged: dict[str, Any] = {}
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []) or []:
            data = output.get("data") or {}
            values = data.get(MIME_TYPE)
            if isinstance(values, str):  # some writers store JSON MIME bundles as text
                values = json.loads(values)
            if isinstance(values, Mapping):
                merged.update(values)
    return merged


def _in_ipython() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return get_ipython() is not None


def _summary(values: Mapping[str, Any]) -> str:
    text = json.dumps(dict(values), ensure_ascii=False)
    if len(text) > _FALLBACK_CHARS:
        text = text[: _FALLBACK_CHARS - 1] + "…"
    return f"zslab.record {text}"
