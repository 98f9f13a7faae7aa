"""binder/: what mybinder.org needs to launch JupyterLab with zslab, its lab extension, the
embedded hub and the course."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

BINDER = Path(__file__).resolve().parent.parent / "binder"


def test_the_environment_has_python_node_and_the_cpu_torch_index() -> None:
    env = yaml.safe_load((BINDER / "environment.yml").read_text())

    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert any(d.startswith("python=3.11") for d in conda)
    assert any(d.startswith("nodejs") for d in conda)  # hatch-jupyter-builder runs jlpm
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in pip


@pytest.mark.parametrize("script", ["postBuild", "start"])
def test_the_scripts_are_executable_bash(script: str) -> None:
    path = BINDER / script

    assert os.access(path, os.X_OK)
    assert subprocess.run(["bash", "-n", str(path)], check=False).returncode == 0


@pytest.mark.slow
def test_start_brings_up_the_hub_then_runs_the_command(tmp_path: Path) -> None:
    home = tmp_path / "zslab-home"
    bindir = str(Path(sys.executable).parent)
    env = {**os.environ, "ZSLAB_HOME": str(home), "PATH": f"{bindir}:{os.environ['PATH']}"}
    try:
        done = subprocess.run(
            [str(BINDER / "start"), sys.executable, "-m", "zslab", "status", "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )

        assert done.returncode == 0, done.stderr
        assert '"running"' in done.stdout
    finally:
        subprocess.run(
            [sys.executable, "-m", "zslab", "down"], env=env, capture_output=True, timeout=60
        )
