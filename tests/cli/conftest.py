"""What the command-line tests share: ``zslab`` run as a user runs it (a subprocess) or
in-process (:func:`zslab.cli.main`, faster, output captured), the client options for a hub, a
hub with a small inventory and a project, and the check that a bad value is one clear error.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import HubHandle, start_hub, write_inventory
from zslab.cli import main
from zslab.config import Settings


def zslab_cli(
    *args: str, timeout: float = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m zslab ARGS`` in a fresh process, as a user would type it."""
    return subprocess.run(
        [sys.executable, "-m", "zslab", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **env} if env else None,
    )


def hub_options(hub: HubHandle, token: str | None = None) -> tuple[str, ...]:
    """``--url`` and ``--token`` for ``hub`` (its admin unless ``token`` is given)."""
    return ("--url", hub.url, "--token", token or hub.admin_token)


@dataclass(frozen=True)
class Outcome:
    """What one ``zslab`` command printed, and its exit status."""

    code: int
    out: str
    err: str


RunCli = Callable[..., Outcome]


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> RunCli:
    """Run ``zslab ARGV`` in this process through :func:`zslab.cli.main`."""

    def run(*argv: str) -> Outcome:
        capsys.readouterr()
        code = main(list(argv))
        captured = capsys.readouterr()
        return Outcome(code, captured.out, captured.err)

    return run


def assert_one_error(outcome: Outcome | subprocess.CompletedProcess[str], *names: str) -> None:
    """Exit 1 with one ``zslab: error:`` on stderr that names each of ``names``, no traceback."""
    code = outcome.code if isinstance(outcome, Outcome) else outcome.returncode
    err = outcome.err if isinstance(outcome, Outcome) else outcome.stderr
    assert code == 1, err
    assert err.count("zslab: error:") == 1, err
    assert err.startswith("zslab: error:"), err
    for name in names:
        assert name in err, err
    assert "Traceback" not in err


@pytest.fixture
def inventory_hub(tmp_path: Path) -> Iterator[HubHandle]:
    """A hub (SQLite) over the small test inventory, with the project ``acme/nlp``."""
    settings = Settings(
        home=tmp_path / "home",
        db_url=f"sqlite:///{tmp_path / 'hub.db'}",
        inventory=write_inventory(tmp_path),
    )
    handle = start_hub(settings)
    with handle.lab() as admin:
        admin.orgs.add("acme")
        admin.projects.add("acme", "nlp")
    yield handle
    handle.stop()
