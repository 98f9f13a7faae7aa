"""Training checkpoints: one state dict per folder, written atomically, the last N kept.

A checkpoint is a folder ``<dir>/step-00000040/`` holding ``state.pt`` (one ``torch.save``
of the whole training state: model or LoRA adapter weights, optimizer, scheduler, step, RNG
states, data position, config, metrics history) and ``meta.json`` (step, status and the
last metrics, for people and tools that do not want to load tensors)::

    from zslab.train import checkpoint

    path = checkpoint.save("run/checkpoints", state)           # run/checkpoints/step-00000040
    checkpoint.prune("run/checkpoints", keep_last=3)           # delete older step-* folders
    state = checkpoint.load(checkpoint.resolve("run/checkpoints", "latest"))

The folder is written under a temporary name and renamed when complete, so a folder named
``step-*`` is always whole: a run killed while saving leaves the previous checkpoint intact.
Only plain data and tensors are stored (NumPy RNG state as a tensor), so :func:`load` uses
``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from pathlib import Path
from typing import Any

import torch

__all__ = ["FORMAT", "STATE_FILE", "list_steps", "load", "prune", "resolve", "save"]

FORMAT = "zslab.train/1"
STATE_FILE = "state.pt"
META_FILE = "meta.json"
_STEP_DIR = re.compile(r"^step-(\d+)$")


def save(directory: str | os.PathLike[str], state: dict[str, Any], *, name: str = "") -> Path:
    """Write ``state`` to ``directory/<name>`` (default ``step-<state["step"]:08d>``).

    An existing checkpoint of that name is replaced. Returns the checkpoint folder.
    """
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    target = root / (name or f"step-{int(state['step']):08d}")
    tmp = root / f".tmp-{target.name}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        torch.save({"format": FORMAT, **state}, tmp / STATE_FILE)
        meta = {
            "format": FORMAT,
            "step": state.get("step"),
            "epoch": state.get("epoch"),
            "status": state.get("status"),
            "adapter_only": state.get("adapter_only"),
            "metrics": state.get("metrics", {}),
        }
        (tmp / META_FILE).write_text(json.dumps(meta, indent=2, default=str))
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def load(path: str | os.PathLike[str], *, map_location: str | torch.device = "cpu") -> Any:
    """The state dict saved in checkpoint folder ``path``."""
    file = Path(path) / STATE_FILE
    if not file.is_file():
        raise FileNotFoundError(f"no checkpoint at {path} (missing {STATE_FILE})")
    state = torch.load(file, map_location=map_location, weights_only=True)
    if state.get("format") != FORMAT:
        raise ValueError(f"{file} has format {state.get('format')!r}, expected {FORMAT!r}")
    return state


def list_steps(directory: str | os.PathLike[str]) -> list[tuple[int, Path]]:
    """``(step, folder)`` of every complete ``step-*`` checkpoint in ``directory``, oldest first."""
    root = Path(directory)
    if not root.is_dir():
        return []
    found = []
    for child in root.iterdir():
        match = _STEP_DIR.match(child.name)
        if match and (child / STATE_FILE).is_file():
            found.append((int(match.group(1)), child))
    return sorted(found)


def resolve(directory: str | os.PathLike[str], which: str | os.PathLike[str]) -> Path:
    """The checkpoint folder meant by ``which``: ``"latest"`` (highest step in ``directory``),
    a name inside ``directory`` (``"best"``, ``"step-00000040"``) or a path."""
    if str(which) == "latest":
        steps = list_steps(directory)
        if not steps:
            raise FileNotFoundError(f"no checkpoints in {directory} to resume from")
        return steps[-1][1]
    path = Path(which)
    if not (path / STATE_FILE).is_file() and (Path(directory) / path / STATE_FILE).is_file():
        path = Path(directory) / path
    if not (path / STATE_FILE).is_file():
        raise FileNotFoundError(f"no checkpoint at {which}")
    return path


def prune(directory: str | os.PathLike[str], *, keep_last: int) -> list[Path]:
    """Delete all but the newest ``keep_last`` ``step-*`` checkpoints; the deleted folders.

    Other names (``best``) are never touched.
    """
    if keep_last < 1:
        raise ValueError(f"keep_last must be at least 1, got {keep_last}")
    old = [path for _, path in list_steps(directory)[:-keep_last]]
    for path in old:
        shutil.rmtree(path)
    return old
