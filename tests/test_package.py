"""``import zslab``: fast, with the SDK's names loaded on first use."""

from __future__ import annotations

import json
import subprocess
import sys

import zslab


def test_importing_zslab_loads_no_heavy_library() -> None:
    heavy = [
        "torch",
        "dask",
        "distributed",
        "fastapi",
        "sqlalchemy",
        "httpx",
        "pydantic",
        "polars",
        "pyarrow",
        "numpy",
    ]
    code = f"import sys, json, zslab; print(json.dumps([m for m in {heavy!r} if m in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_connect_is_available_lazily() -> None:
    assert callable(zslab.connect)
    assert zslab.connect.__module__ == "zslab.client"
