"""Where benchmarks leave their numbers: ``results/<name>.json`` and a README section."""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

BENCHMARKS = Path(__file__).resolve().parent
README_FILE = BENCHMARKS / "README.md"


def results_file(name: str) -> Path:
    return BENCHMARKS / "results" / f"{name}.json"


def write_results(name: str, payload: dict[str, Any]) -> Path:
    """Write ``results/<name>.json`` atomically (a stopped run leaves the old file whole)."""
    path = results_file(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def update_readme(name: str, section: str) -> None:
    """Replace the README's section between ``<!-- name:start/end -->``, or append it."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    text = README_FILE.read_text(encoding="utf-8") if README_FILE.exists() else "# Benchmarks\n"
    block = f"{start}\n{section}\n{end}"
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _match: block, text)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    README_FILE.write_text(text, encoding="utf-8")


def git_commit() -> str | None:
    """The checkout's short commit, or None outside a git checkout."""
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=BENCHMARKS.parent,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip() or None if done.returncode == 0 else None


def envelope(name: str, packages: Sequence[str] = ()) -> dict[str, Any]:
    """What every results file starts with: which benchmark, when, which code, which machine."""
    return {
        "benchmark": name,
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "machine": {
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "implementation": platform.python_implementation(),
            "platform": platform.platform(),
        },
        "versions": {package: metadata.version(package) for package in ("zslab", *packages)},
    }


def provenance(payload: dict[str, Any]) -> str:
    """The README line that says when, on which commit and on what machine numbers were taken."""
    machine = payload["machine"]
    return (
        f"Last run {payload['timestamp']}, commit {payload['git_commit'] or '?'}: "
        f"{machine['cpu_count']} CPUs, Python {machine['python']}, {machine['platform']}."
    )


@dataclass(frozen=True)
class Target:
    """A benchmark target: what was measured, what was required, and whether it held."""

    name: str
    measured: str
    required: str
    passed: bool


def target_table(targets: Sequence[Target]) -> list[str]:
    """The README table of ``targets`` (a header and one row each)."""
    return [
        "| target | measured | required | result |",
        "|---|---|---|---|",
        *(
            f"| {t.name} | {t.measured} | {t.required} | {'PASS' if t.passed else 'FAIL'} |"
            for t in targets
        ),
    ]
