"""The lab extension's generated types are current: ``lab_ext/openapi.json`` is what
:mod:`zslab.jupyter.openapi` writes now, and ``lab_ext/src/generated/hub.ts`` is what
openapi-typescript makes of it. Either failing means: run ``make types`` and commit."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from zslab.jupyter.openapi import dump_document, lab_document

LAB = Path(__file__).resolve().parents[2] / "lab_ext"
STALE = "is stale: run `make types` (after a change to the hub's or the server extension's "
STALE += "schemas or routes) and commit the result"


def test_the_openapi_document_is_current() -> None:
    committed = (LAB / "openapi.json").read_text(encoding="utf-8")
    assert committed == dump_document(lab_document()), f"lab_ext/openapi.json {STALE}"


def test_the_typescript_types_are_current(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None or not (LAB / "node_modules" / "openapi-typescript").is_dir():
        pytest.skip("needs node and lab_ext/node_modules (`make setup` or `jlpm install`)")
    generated = tmp_path / "hub.ts"
    subprocess.run(
        [node, "scripts/generate-types.mjs", "openapi.json", str(generated)],
        cwd=LAB,
        check=True,
        timeout=120,
    )
    committed = (LAB / "src" / "generated" / "hub.ts").read_text(encoding="utf-8")
    assert generated.read_text(encoding="utf-8") == committed, f"src/generated/hub.ts {STALE}"
