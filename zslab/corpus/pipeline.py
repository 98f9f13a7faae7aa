"""A pipeline is a plain list of steps; running it writes Parquet shards and a data card.

    pipeline = Pipeline([Normalize(), GopherQuality(), PiiRedact(), MinHashDedup(threshold=0.8)])
    card = pipeline.run(read_jsonl("raw/*.jsonl.zst"), "curated/", client=client)

or, from YAML (``zslab corpus run pipeline.yaml``)::

    input: {paths: [raw/], format: jsonl, text_column: content}
    steps:
      - normalize: {}
      - gopher_quality: {}
      - pii_redact: {}
      - minhash_dedup: {threshold: 0.8}
    output: curated/

**How it runs.** The steps are cut into *stages* at each corpus step (deduplication needs every
shard). In a stage every shard is one Dask task: read (or take the previous stage's table),
apply the document steps in order, and, if a corpus step ends the stage, compute its
fingerprints. Then one task runs the corpus step's ``select`` over all fingerprints, and the
next stage starts by removing the documents it dropped. The last stage writes
``output/shard-NNNNN.parquet`` (``id``, ``text``, metadata). Intermediate tables live under
``output/_work/`` until the run finishes.

**Resuming.** Each task writes its results to temporary names and renames them, its stats file
last: that file is the completion marker. A rerun with the same pipeline and input skips every
task whose marker exists, so an interrupted run picks up where it stopped and produces the same
output as an uninterrupted one. A rerun with a different pipeline or input refuses to mix the
two (``overwrite=True`` starts over).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from zslab.corpus.core import CorpusStep, DocumentStep, Step, make_step
from zslab.corpus.readers import Corpus, Quarantined, Shard, read_corpus, read_shard
from zslab.corpus.tasks import map_tasks, run_task

__all__ = ["Pipeline", "PipelineConfig", "RunResult", "load_pipeline"]

WORK = "_work"
STATE_FILE = "run.json"
LENGTH_BINS = (0, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 50_000, 100_000)


@dataclass
class PipelineConfig:
    """A pipeline with its input and output, as a YAML file holds them."""

    pipeline: Pipeline
    input: dict[str, Any]
    output: str

    def corpus(self) -> Corpus:
        spec = dict(self.input)
        paths = spec.pop("paths", None) or spec.pop("path", None)
        if not paths:
            raise ValueError("input.paths: name the files, folders or URLs to read")
        allowed = {"format", "text_column", "id_column", "metadata_columns", "mode"}
        unknown = sorted(set(spec) - allowed - {"partition_mb"})
        if unknown:
            raise ValueError(
                f"input has no setting(s) {', '.join(unknown)}; it takes paths, "
                + ", ".join(sorted(allowed | {"partition_mb"}))
            )
        partition_mb = spec.pop("partition_mb", None)
        options = {k: v for k, v in spec.items() if v is not None}
        if partition_mb:
            options["partition_bytes"] = int(float(partition_mb) * (1 << 20))
        return read_corpus(paths, **options)

    def to_yaml(self) -> str:
        import yaml

        data = {"input": self.input, "steps": self.pipeline.to_config(), "output": self.output}
        return str(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))


def load_pipeline(path: str | Path) -> PipelineConfig:
    """Read a pipeline YAML (``input:``, ``steps:``, ``output:``); relative paths in it are
    relative to the YAML file."""
    import yaml

    source = Path(path)
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"{source}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{source}: expected a mapping with input, steps and output")
    missing = [key for key in ("input", "steps", "output") if key not in data]
    if missing:
        raise ValueError(f"{source}: missing {', '.join(missing)} (a pipeline has all three)")
    spec = data["input"]
    if isinstance(spec, str | list):
        spec = {"paths": spec}
    paths = spec.get("paths") or spec.get("path")
    base = source.parent

    def resolve(p: str) -> str:
        return p if "://" in p or os.path.isabs(p) else str(base / p)

    if isinstance(paths, str):
        spec["paths"] = [resolve(paths)]
    elif isinstance(paths, list):
        spec["paths"] = [resolve(str(p)) for p in paths]
    spec.pop("path", None)
    return PipelineConfig(Pipeline.from_config(data["steps"]), spec, resolve(str(data["output"])))


@dataclass
class RunResult:
    """What a run produced: where, how many, and the data card."""

    output: Path
    documents: int
    card: dict[str, Any]
    resumed_tasks: int = 0
    seconds: float = 0.0


@dataclass
class Pipeline:
    """An ordered list of steps (see the module docstring)."""

    steps: list[Step] = field(default_factory=list)

    def __post_init__(self) -> None:
        for step in self.steps:
            if not isinstance(step, DocumentStep | CorpusStep):
                raise TypeError(f"{step!r} is not a corpus step")

    # --- configuration ---------------------------------------------------------------------

    @classmethod
    def from_config(cls, steps: Iterable[Mapping[str, Any] | str]) -> Pipeline:
        if not isinstance(steps, list):
            raise ValueError("steps: a list, e.g. [{normalize: {}}, {pii_redact: {}}]")
        built = []
        for number, item in enumerate(steps, start=1):
            try:
                built.append(make_step(item))
            except ValueError as exc:
                raise ValueError(f"steps[{number}]: {exc}") from exc
        return cls(built)

    def to_config(self) -> list[dict[str, dict[str, Any]]]:
        return [step.to_config() for step in self.steps]

    @classmethod
    def from_yaml(cls, text: str) -> Pipeline:
        import yaml

        data = yaml.safe_load(text)
        steps = data.get("steps", data) if isinstance(data, dict) else data
        return cls.from_config(steps)

    def to_yaml(self) -> str:
        import yaml

        return str(yaml.safe_dump({"steps": self.to_config()}, allow_unicode=True, sort_keys=False))

    def fingerprint(self) -> str:
        """A hash of the steps and their parameters (two equal pipelines hash equal)."""
        text = json.dumps(self.to_config(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def stages(self) -> list[tuple[list[DocumentStep], CorpusStep | None]]:
        """The document steps of each stage, and the corpus step that ends it (if any)."""
        stages: list[tuple[list[DocumentStep], CorpusStep | None]] = []
        current: list[DocumentStep] = []
        for step in self.steps:
            if isinstance(step, CorpusStep):
                stages.append((current, step))
                current = []
            else:
                assert isinstance(step, DocumentStep)
                current.append(step)
        stages.append((current, None))
        return stages

    # --- running ---------------------------------------------------------------------------

    def run(
        self,
        corpus: Corpus,
        output: str | Path,
        *,
        client: Any = None,
        progress: bool = True,
        overwrite: bool = False,
        name: str | None = None,
        on_result: Callable[[dict[str, Any]], None] | None = None,
    ) -> RunResult:
        """Run over ``corpus`` into ``output`` (see the module docstring); returns the result,
        whose ``card`` is also written to ``output/datacard.json`` and ``datacard.md``.

        ``on_result`` sees each shard's stats as its task ends, and each corpus-wide step's
        ``{"select": …}`` (a live view: :class:`zslab.jupyter.widgets.PipelineProgress`)."""
        from zslab.corpus.datacard import build_card, write_card

        started = time.perf_counter()
        out = Path(output)
        work = out / WORK
        identity = {
            "pipeline": self.fingerprint(),
            "input": _input_identity(corpus),
        }
        _prepare(out, identity, overwrite)
        stages = self.stages()
        shard_stats: list[dict[str, Any]] = []
        resumed = 0
        for number, (steps, corpus_step) in enumerate(stages):
            last = number == len(stages) - 1
            tasks = [
                _StageTask(
                    corpus=corpus,
                    shard=shard,
                    stage=number,
                    steps=steps,
                    corpus_step=corpus_step,
                    drop=_drop_file(work, number - 1) if number else None,
                    work=str(work),
                    output=str(out),
                    last=last,
                )
                for shard in corpus.shards
            ]
            label = f"stage {number + 1}/{len(stages)}" + (
                f" → {corpus_step.name}" if corpus_step else ""
            )
            results = map_tasks(
                _run_stage_task,
                tasks,
                client=client,
                label=label,
                progress=progress,
                on_result=on_result,
            )
            resumed += sum(1 for r in results if r.get("resumed"))
            shard_stats.append({"stage": number, "shards": results})
            if corpus_step is not None:
                shard_stats[-1]["select"] = run_task(
                    _run_select,
                    corpus_step,
                    [_fingerprint_file(work, number, s) for s in corpus.shards],
                    str(_drop_file(work, number)),
                    client=client,
                )
                if on_result is not None:
                    on_result({"select": shard_stats[-1]["select"]})
        card = build_card(
            self,
            corpus,
            out,
            shard_stats,
            name=name or out.name,
            seconds=time.perf_counter() - started,
        )
        write_card(out, card)
        shutil.rmtree(work, ignore_errors=True)
        return RunResult(
            out,
            card["output"]["documents"],
            card,
            resumed_tasks=resumed,
            seconds=time.perf_counter() - started,
        )


# --- what a rerun may reuse -----------------------------------------------------------------


def _input_identity(corpus: Corpus) -> list[list[Any]]:
    return [[s.path, s.format, s.start, s.end, s.size] for s in corpus.shards] + [
        [corpus.text_column, corpus.id_column, corpus.metadata_columns, corpus.text_mode]
    ]


def _prepare(out: Path, identity: dict[str, Any], overwrite: bool) -> None:
    state = out / WORK / STATE_FILE
    if overwrite and out.exists():
        for child in out.iterdir():
            if child.name.startswith("shard-") or child.name in {
                WORK,
                "datacard.json",
                "datacard.md",
                "quarantine.jsonl",
            }:
                shutil.rmtree(child) if child.is_dir() else child.unlink()
    if state.exists():
        saved = json.loads(state.read_text(encoding="utf-8"))
        if saved != identity:
            raise ValueError(
                f"{out} holds an unfinished run of a different pipeline or input; "
                "pass overwrite=True (zslab corpus run --overwrite) to start over"
            )
        return
    finished = out / "datacard.json"
    if finished.exists() and not overwrite:
        card = json.loads(finished.read_text(encoding="utf-8"))
        if card.get("pipeline_hash") != identity["pipeline"]:
            raise ValueError(
                f"{out} already holds the output of a different pipeline; choose another "
                "output folder or pass overwrite=True (--overwrite)"
            )
        for child in out.glob("shard-*.parquet"):
            child.unlink()
    (out / WORK).mkdir(parents=True, exist_ok=True)
    _write_json(state, identity)


# --- one shard through one stage ------------------------------------------------------------


@dataclass
class _StageTask:
    corpus: Corpus
    shard: Shard
    stage: int
    steps: list[DocumentStep]
    corpus_step: CorpusStep | None
    drop: Path | None
    work: str
    output: str
    last: bool


def _table_file(work: Path, stage: int, shard: Shard) -> Path:
    return work / f"stage{stage}" / f"{shard.name}.parquet"


def _fingerprint_file(work: Path, stage: int, shard: Shard) -> str:
    return str(work / f"stage{stage}" / f"{shard.name}.fingerprint.parquet")


def _stats_file(work: Path, stage: int, shard: Shard) -> Path:
    return work / f"stage{stage}" / f"{shard.name}.stats.json"


def _drop_file(work: Path, stage: int) -> Path:
    return work / f"stage{stage}" / "select.json"


def _run_stage_task(task: _StageTask) -> dict[str, Any]:
    """Run one shard through one stage; the stats file written last marks it done."""
    import pyarrow.parquet as pq

    work = Path(task.work)
    marker = _stats_file(work, task.stage, task.shard)
    if marker.exists():
        result: dict[str, Any] = json.loads(marker.read_text(encoding="utf-8"))
        result["resumed"] = True
        return result
    marker.parent.mkdir(parents=True, exist_ok=True)
    quarantined: list[Quarantined] = []
    read_count = 0
    if task.stage == 0:
        table, quarantined = read_shard(task.corpus, task.shard)
        read_count = table.num_rows
    else:
        table = pq.read_table(_table_file(work, task.stage - 1, task.shard))
        assert task.drop is not None
        dropped = json.loads(task.drop.read_text(encoding="utf-8"))["drop"]
        if dropped and table.num_rows:
            keep = [doc_id not in dropped for doc_id in table.column("id").to_pylist()]
            table = table.filter(pa.array(keep, pa.bool_()))
    stats = []
    for step in task.steps:
        step_stats = step.new_stats()
        table = step.process(table, step_stats)
        stats.append(step_stats.to_json())
    entering = table.num_rows
    if task.corpus_step is not None:
        fingerprint = task.corpus_step.fingerprint(table)
        _write_parquet(fingerprint, Path(_fingerprint_file(work, task.stage, task.shard)))
    if task.last:
        target = Path(task.output) / f"{task.shard.name}.parquet"
        _write_parquet(table, target)
        summary = _summarize(table)
    else:
        _write_parquet(table, _table_file(work, task.stage, task.shard))
        summary = {}
    result = {
        "shard": task.shard.name,
        "stage": task.stage,
        "read": read_count,
        "quarantined": [q.to_json() for q in quarantined],
        "steps": stats,
        "entering_corpus_step": entering,
        "summary": summary,
    }
    _write_json(marker, result)
    return result


def _summarize(table: pa.Table) -> dict[str, Any]:
    """What the data card needs of a finished shard: counts, lengths, a content hash."""
    texts = table.column("text").to_pylist()
    lengths = [len(t) for t in texts]
    histogram = Counter(_bin(n) for n in lengths)
    digest = hashlib.sha256()
    for doc_id, text in zip(table.column("id").to_pylist(), texts, strict=True):
        digest.update(doc_id.encode())
        digest.update(b"\0")
        digest.update(text.encode())
        digest.update(b"\0")
    return {
        "documents": len(texts),
        "characters": sum(lengths),
        "bytes": sum(len(t.encode()) for t in texts),
        "length_histogram": {str(k): v for k, v in sorted(histogram.items())},
        "content_sha256": digest.hexdigest(),
    }


def _bin(length: int) -> int:
    """The lower edge of ``length``'s histogram bin."""
    edge = LENGTH_BINS[0]
    for candidate in LENGTH_BINS:
        if length >= candidate:
            edge = candidate
    return edge


def _run_select(step: CorpusStep, fingerprint_files: list[str], target: str) -> dict[str, Any]:
    """All shards' fingerprints → the ids to drop (written to ``target``, the marker)."""
    import pyarrow.parquet as pq

    path = Path(target)
    if path.exists():
        result: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        result["resumed"] = True
        return result
    tables = [pq.read_table(f) for f in fingerprint_files]
    stats = step.new_stats()
    stats.seen = sum(t.num_rows for t in tables)
    drop = step.select(tables, stats)
    stats.dropped.update(Counter(drop.values()))
    stats.kept = stats.seen - len(drop)
    result = {"step": step.name, "drop": drop, "stats": stats.to_json()}
    _write_json(path, result)
    return result


# --- files -----------------------------------------------------------------------------------


def _write_parquet(table: pa.Table, path: Path) -> None:
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, path)


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    os.replace(tmp, path)


def bins_label(edge: int) -> str:
    """``"100-199"`` for the bin starting at 100."""
    index = LENGTH_BINS.index(edge)
    upper = LENGTH_BINS[index + 1] - 1 if index + 1 < len(LENGTH_BINS) else math.inf
    return f"{edge}-{upper}" if upper != math.inf else f"{edge}+"
