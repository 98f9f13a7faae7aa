"""The corpus data model and the step contract every curation step follows.

A corpus is processed as **batches**: ``pyarrow.Table`` s with at least a string ``id`` column
(unique across the corpus) and a string ``text`` column; other columns (metadata) pass through
untouched. A step is a small dataclass whose fields are its parameters (so it round-trips to
YAML as ``- step_name: {param: value}``). There are two kinds:

- :class:`DocumentStep` looks at one document at a time: :meth:`DocumentStep.apply` returns the
  (possibly modified) text, or a :class:`Drop` with a named reason. Filters, normalizers,
  redaction and decontamination are document steps; they run on every shard in parallel.
- :class:`CorpusStep` needs the whole corpus (deduplication): :meth:`CorpusStep.fingerprint`
  runs per shard and returns a small table (``id`` plus whatever the step needs, e.g. hashes or
  MinHash band keys); :meth:`CorpusStep.select` sees all shards' fingerprints and returns the
  ids to drop, each with its reason.

Every step reports into a :class:`StepStats`: documents kept, dropped (per reason), modified,
and step-specific counters and details (PII found by type, dedup cluster sizes, which
evaluation items matched which documents) that end up in the data card.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pyarrow as pa

__all__ = [
    "STEPS",
    "CorpusStep",
    "DocumentStep",
    "Drop",
    "Step",
    "StepStats",
    "make_step",
    "step_catalog",
    "texts",
]

# name -> class, filled by Step.__init_subclass__ as step modules are imported.
STEPS: dict[str, type[Step]] = {}


@dataclass(frozen=True)
class Drop:
    """A document is dropped; ``reason`` names the rule, e.g. ``"gopher_quality:stop_words"``."""

    reason: str


@dataclass
class StepStats:
    """What one step did, summed over the shards it ran on."""

    step: str
    seen: int = 0
    kept: int = 0
    modified: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    counters: Counter[str] = field(default_factory=Counter)  # e.g. {"pii:mobile": 12}
    details: dict[str, Any] = field(default_factory=dict)  # step-specific, JSON-able

    def merge(self, other: StepStats) -> StepStats:
        """Add ``other`` (another shard's stats of the same step) into this one."""
        self.seen += other.seen
        self.kept += other.kept
        self.modified += other.modified
        self.dropped.update(other.dropped)
        self.counters.update(other.counters)
        for key, value in other.details.items():
            mine = self.details.get(key)
            if isinstance(mine, dict) and isinstance(value, dict):
                for k, v in value.items():
                    if isinstance(v, list):
                        mine.setdefault(k, []).extend(v)
                    elif isinstance(v, int | float):
                        mine[k] = mine.get(k, 0) + v
                    else:
                        mine[k] = v
            elif isinstance(mine, list) and isinstance(value, list):
                mine.extend(value)
            else:
                self.details[key] = value
        return self

    def to_json(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "seen": self.seen,
            "kept": self.kept,
            "modified": self.modified,
            "dropped": dict(sorted(self.dropped.items())),
            "counters": dict(sorted(self.counters.items())),
            "details": self.details,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StepStats:
        return cls(
            step=data["step"],
            seen=data["seen"],
            kept=data["kept"],
            modified=data["modified"],
            dropped=Counter(data.get("dropped", {})),
            counters=Counter(data.get("counters", {})),
            details=dict(data.get("details", {})),
        )


class Step:
    """Base of all steps; subclasses are dataclasses and set ``name``."""

    name: ClassVar[str] = ""
    kind: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.name:
            if cls.name in STEPS and STEPS[cls.name].__qualname__ != cls.__qualname__:
                raise TypeError(f"two steps named {cls.name!r}")
            STEPS[cls.name] = cls

    def params(self) -> dict[str, Any]:
        """The step's parameters as plain data (what YAML holds)."""
        assert dataclasses.is_dataclass(self)
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def to_config(self) -> dict[str, dict[str, Any]]:
        return {self.name: self.params()}

    def new_stats(self) -> StepStats:
        return StepStats(self.name)


class DocumentStep(Step):
    """A step that judges or rewrites one document at a time."""

    kind: ClassVar[str] = "document"

    def apply(self, text: str, stats: StepStats) -> str | Drop:
        """The document's new text (the same object when unchanged), or a :class:`Drop`.

        ``stats.counters`` / ``stats.details`` may be updated; seen/kept/modified/dropped are
        counted by :meth:`process`.
        """
        raise NotImplementedError

    def apply_doc(self, doc_id: str, text: str, stats: StepStats) -> str | Drop:
        """Like :meth:`apply` with the document's id (steps that report ids override this)."""
        return self.apply(text, stats)

    def process(self, table: pa.Table, stats: StepStats) -> pa.Table:
        """Apply the step to every row of ``table``; rows dropped are removed."""
        ids = table.column("id").to_pylist()
        texts = table.column("text").to_pylist()
        keep: list[bool] = []
        out: list[str] = []
        changed = False
        for doc_id, text in zip(ids, texts, strict=True):
            stats.seen += 1
            result = self.apply_doc(doc_id, text, stats)
            if isinstance(result, Drop):
                stats.dropped[result.reason] += 1
                keep.append(False)
                continue
            stats.kept += 1
            keep.append(True)
            if result is not text and result != text:
                stats.modified += 1
                changed = True
            out.append(result)
        if all(keep) and not changed:
            return table
        kept = table.filter(pa.array(keep, pa.bool_())) if not all(keep) else table
        index = kept.schema.get_field_index("text")
        return kept.set_column(index, "text", pa.array(out, pa.string()))


class CorpusStep(Step):
    """A step that needs all shards at once (deduplication)."""

    kind: ClassVar[str] = "corpus"

    def fingerprint(self, table: pa.Table) -> pa.Table:
        """Per shard: a small table with ``id`` and what :meth:`select` needs."""
        raise NotImplementedError

    def select(self, fingerprints: Sequence[pa.Table], stats: StepStats) -> dict[str, str]:
        """From every shard's fingerprints: ``{id: reason}`` of the documents to drop.

        Record cluster sizes and the like in ``stats.details`` / ``stats.counters``; the
        pipeline counts seen/kept/dropped itself.
        """
        raise NotImplementedError


def make_step(config: Mapping[str, Any] | str) -> Step:
    """A step from its YAML form: ``"name"`` or ``{"name": {params}}``."""
    params: dict[str, Any]
    if isinstance(config, str):
        name, params = config, {}
    else:
        if len(config) != 1:
            raise ValueError(
                "a step is one name with its parameters, e.g. {'pii_redact': {}}; "
                f"got {dict(config)}"
            )
        ((name, params),) = config.items()
        params = dict(params or {})
    _load_builtin_steps()
    cls = STEPS.get(name)
    if cls is None:
        known = ", ".join(sorted(STEPS))
        raise ValueError(f"unknown step {name!r}; the steps are: {known}")
    fields = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(params) - fields)
    if unknown:
        raise ValueError(
            f"step {name!r} has no parameter(s) {', '.join(unknown)}; "
            f"it takes: {', '.join(sorted(fields)) or 'none'}"
        )
    try:
        return cls(**params)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"step {name!r}: {exc}") from exc


def step_catalog() -> list[dict[str, Any]]:
    """Every step with its kind, description and parameters (name, default, type)."""
    _load_builtin_steps()
    out = []
    for name, cls in sorted(STEPS.items()):
        params = []
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            if f.default is not dataclasses.MISSING:
                default = _plain(f.default)
            elif f.default_factory is not dataclasses.MISSING:
                default = _plain(f.default_factory())
            else:
                default = None
            params.append({"name": f.name, "default": default, "type": str(f.type)})
        doc = (cls.__doc__ or "").strip().splitlines()
        out.append(
            {"name": name, "kind": cls.kind, "description": doc[0] if doc else "", "params": params}
        )
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, tuple | list | set | frozenset):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _load_builtin_steps() -> None:
    """Import the modules that define the built-in steps (they register themselves)."""
    import importlib

    for module in _STEP_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


_STEP_MODULES: tuple[str, ...] = (
    "zslab.corpus.normalize",
    "zslab.corpus.filters",
    "zslab.corpus.pii",
    "zslab.corpus.dedup",
    "zslab.corpus.decontam",
)


def texts(rows: Iterable[Mapping[str, Any]]) -> pa.Table:
    """A batch from dicts with ``id`` and ``text`` (tests and small examples)."""
    rows = list(rows)
    return pa.table(
        {
            "id": pa.array([str(r["id"]) for r in rows], pa.string()),
            "text": pa.array([r["text"] for r in rows], pa.string()),
        }
    )
