"""Tasks of the Alibaba GPU-sharing trace (cluster-trace-gpu-v2023, ``openb_pod_list_*.csv``).

Each row becomes a :class:`TracePod` and, through :meth:`TracePod.request`, the same
:class:`~zslab.compute.request.SliceRequest` a notebook user's ``gpu:0.46`` would be: the
simulator replays the trace through the production placement code.

Semantics follow the trace's publisher (the ATC'23 FGD simulator): ``gpu_milli`` is the share of
one GPU when ``num_gpu`` is 1, and whole GPUs otherwise; ``gpu_spec`` lists allowed models
(``V100M16|V100M32``); a task without GPUs competes for CPU on GPU nodes.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from zslab.compute.devices import find_model
from zslab.compute.request import ShareSize, SliceRequest, WholeSize
from zslab.errors import InvalidInput

__all__ = ["REQUIRED_POD_COLUMNS", "TracePod", "read_trace_pods"]

REQUIRED_POD_COLUMNS = ("name", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli")
MILLI = 1000


@dataclass(frozen=True)
class TracePod:
    """One task of the trace."""

    name: str
    cpu_milli: int
    memory_mib: int
    num_gpu: int
    gpu_milli: int  # per GPU, 0-1000
    gpu_spec: tuple[str, ...] = ()  # catalog names; empty: any model
    spec_text: str = ""  # the trace's own spelling, e.g. "V100M16|V100M32"
    creation_time: int | None = None
    deletion_time: int | None = None
    scheduled_time: int | None = None
    qos: str = ""  # LS (latency-sensitive), BE (best effort), Burstable, Guaranteed

    @property
    def total_gpu_milli(self) -> int:
        return self.gpu_milli * self.num_gpu

    @property
    def is_sharing(self) -> bool:
        return self.num_gpu == 1 and 0 < self.gpu_milli < MILLI

    @cached_property
    def request(self) -> SliceRequest:
        models = frozenset(self.gpu_spec) or None
        if self.num_gpu == 0 or self.gpu_milli == 0:
            size: ShareSize | WholeSize = WholeSize(0)
        elif self.is_sharing:
            size = ShareSize(self.gpu_milli)
        else:
            size = WholeSize(self.num_gpu)
        return SliceRequest(
            size=size, models=models, cpu_milli=self.cpu_milli, memory_mib=self.memory_mib
        )

    def clone(self, suffix: str) -> TracePod:
        return TracePod(
            f"{self.name}{suffix}",
            self.cpu_milli,
            self.memory_mib,
            self.num_gpu,
            self.gpu_milli,
            self.gpu_spec,
            self.spec_text,
            self.creation_time,
            self.deletion_time,
            self.scheduled_time,
            self.qos,
        )


def _int(raw: str | None, column: str, line: int, path: Path, *, optional: bool = False) -> int:
    if raw is None or raw.strip() in {"", "nan", "NaN"}:
        if optional:
            return -1
        raise InvalidInput(
            f"{path.name}, line {line}: column {column!r} is empty.",
            field=column,
            fix="Every task needs a number there.",
        )
    try:
        value = float(raw)
    except ValueError:
        raise InvalidInput(
            f"{path.name}, line {line}: {column}={raw!r} is not a number.",
            field=column,
            fix="Correct or remove that row.",
        ) from None
    if not math.isfinite(value) or value < 0:
        raise InvalidInput(
            f"{path.name}, line {line}: {column}={raw!r} must be a non-negative number.",
            field=column,
        )
    return int(value)


def read_trace_pods(path: str | Path) -> list[TracePod]:
    """Rows of an ``openb_pod_list`` CSV, validated; malformed files get an error naming the
    file, line and column."""
    path = Path(path)
    try:
        fh = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"Cannot read {path}: {exc.strerror}.", field="pods") from exc
    pods: list[TracePod] = []
    with fh:
        reader = csv.DictReader(fh)
        columns = reader.fieldnames or []
        missing = [c for c in REQUIRED_POD_COLUMNS if c not in columns]
        if missing:
            raise InvalidInput(
                f"{path.name} lacks the column(s) {', '.join(missing)}.",
                field="pods",
                fix=f"A task list needs the columns {', '.join(REQUIRED_POD_COLUMNS)} "
                "(gpu_spec and the timestamps are optional).",
            )
        for line, row in enumerate(reader, start=2):
            if not row.get("name"):
                raise InvalidInput(f"{path.name}, line {line}: the task has no name.", field="name")
            num_gpu = _int(row.get("num_gpu"), "num_gpu", line, path)
            gpu_milli = _int(row.get("gpu_milli"), "gpu_milli", line, path)
            if num_gpu == 0:
                gpu_milli = 0
            elif gpu_milli > MILLI:
                gpu_milli = MILLI  # as the trace's publisher reads it
            if num_gpu > 1 and 0 < gpu_milli < MILLI:
                raise InvalidInput(
                    f"{path.name}, line {line}: {num_gpu} GPUs of {gpu_milli}/1000 each: a "
                    "fractional share is for one GPU only.",
                    field="gpu_milli",
                )
            spec_text = (row.get("gpu_spec") or "").strip()
            if spec_text.lower() == "nan":
                spec_text = ""
            try:
                spec = tuple(sorted({find_model(p).name for p in spec_text.split("|") if p}))
            except KeyError as exc:
                raise InvalidInput(
                    f"{path.name}, line {line}: {exc.args[0]}.", field="gpu_spec"
                ) from None
            times = [
                _int(row.get(c), c, line, path, optional=True)
                for c in ("creation_time", "deletion_time", "scheduled_time")
            ]
            pods.append(
                TracePod(
                    name=row["name"],
                    cpu_milli=_int(row.get("cpu_milli"), "cpu_milli", line, path),
                    memory_mib=_int(row.get("memory_mib"), "memory_mib", line, path),
                    num_gpu=num_gpu,
                    gpu_milli=gpu_milli,
                    gpu_spec=spec,
                    spec_text="|".join(p for p in spec_text.split("|") if p),
                    creation_time=times[0] if times[0] >= 0 else None,
                    deletion_time=times[1] if times[1] >= 0 else None,
                    scheduled_time=times[2] if times[2] >= 0 else None,
                    qos=(row.get("qos") or "").strip(),
                )
            )
    if not pods:
        raise InvalidInput(f"{path.name} has no tasks.", field="pods")
    return pods
