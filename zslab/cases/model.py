"""What a case is, apart from where it is stored: sectors, results, reviews, boards, reproduction.

A *case* is a verifiable result in one industry sector; its *versions* carry the content
(title, summary, results, cards, notebooks, compute, provenance) and move through review::

    draft ──submit──▶ in_review ──approve──▶ published ──archive──▶ archived
      ▲                  │
      └─request_changes──┘   (withdraw: the author takes it back to draft)

A published version never changes; a fix is a new version. Results follow the Hugging Face
``model-index`` shape (task, dataset, metrics), with a confidence interval per metric and the
two hashes that decide comparability: the dataset's and the task config's.

Everything here is pure: the hub (:mod:`zslab.hub.cases`) stores what these functions decide.

>>> rows = metric_rows(normalize_results([{
...     "task": {"type": "text-classification"},
...     "dataset": {"name": "reviews", "sha256": "ab" * 32},
...     "metrics": [{"type": "accuracy", "value": 0.9, "ci": [0.88, 0.92]}]}]))
>>> rows[0].metric, rows[0].low
('accuracy', 0.88)
"""

from __future__ import annotations

import math
import re
import secrets
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = [
    "ACTIONS",
    "LICENSES",
    "SECTORS",
    "STATUSES",
    "VISIBILITIES",
    "BoardEntry",
    "MetricComparison",
    "MetricRow",
    "ReproductionVerdict",
    "ResultsError",
    "board_key",
    "compare_reproduction",
    "higher_is_better",
    "metric_rows",
    "model_card",
    "normalize_results",
    "rank_board",
    "results_entry",
    "results_from_runs",
    "slugify",
    "transition",
]

# Sector key → (中文, English). The keys are the API's; the labels are the gallery's.
SECTORS: dict[str, tuple[str, str]] = {
    "finance": ("金融", "Finance"),
    "education": ("教育", "Education"),
    "healthcare": ("医疗", "Healthcare"),
    "culture_tourism": ("文旅", "Culture & tourism"),
    "manufacturing": ("工业", "Manufacturing"),
    "city_governance": ("城市治理", "City governance"),
    "online_economy": ("在线新经济", "Online economy"),
    "other": ("其他", "Other"),
}

VISIBILITIES = ("public", "org", "private")
STATUSES = ("draft", "in_review", "published", "archived")
ACTIONS = ("submit", "withdraw", "approve", "request_changes", "archive", "comment")
Action = Literal["submit", "withdraw", "approve", "request_changes", "archive", "comment"]

# SPDX identifiers people publish models and data under; anything else must be "other:<name>".
LICENSES = (
    "apache-2.0",
    "mit",
    "bsd-3-clause",
    "bsd-2-clause",
    "cc-by-4.0",
    "cc-by-sa-4.0",
    "cc-by-nc-4.0",
    "cc-by-nc-sa-4.0",
    "cc0-1.0",
    "gpl-3.0",
    "lgpl-3.0",
    "mpl-2.0",
    "openrail",
    "llama3",
    "qwen",
    "proprietary",
)

# Metrics where smaller is better; every other metric ranks larger first.
_LOWER_IS_BETTER = re.compile(
    r"(perplexity|^ppl$|loss|bits_per_|^bpc$|^ece$|calibration|error|latency|^wer$|^cer$|seconds)"
)


class ResultsError(ValueError):
    """Results that cannot be published; ``errors`` names each field and the fix."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors))
        self.errors = errors


def higher_is_better(metric: str) -> bool:
    """Whether a larger value of ``metric`` is better (accuracy yes, perplexity no)."""
    return _LOWER_IS_BETTER.search(metric.lower()) is None


# --- results (model-index) -------------------------------------------------------------------


@dataclass(frozen=True)
class MetricRow:
    """One metric of one result, flattened: what a leaderboard ranks."""

    task: str
    dataset: str
    dataset_hash: str | None
    config_hash: str | None
    metric: str
    value: float
    low: float | None = None
    high: float | None = None
    higher_is_better: bool = True

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.task, self.dataset, self.metric)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def normalize_results(results: Any) -> list[dict[str, Any]]:
    """Check ``model-index``-style results and return them in one canonical shape.

    Each result: ``{"task": {"type", "name"?}, "dataset": {"name", "type"?, "revision"?,
    "sha256"?, "config_hash"?}, "metrics": [{"type", "value", "name"?, "ci"?: [low, high]}]}``.
    ``task`` may be a plain string and a metric's interval may come as ``low``/``high``.
    Raises :class:`ResultsError` naming every wrong field (e.g. metrics without a dataset).
    """
    errors: list[dict[str, str]] = []

    def fail(where: str, message: str) -> None:
        errors.append({"field": where, "message": message})

    if not isinstance(results, list) or not results:
        raise ResultsError(
            [
                {
                    "field": "results",
                    "message": "give at least one result: a task, a dataset and its metrics "
                    '(e.g. [{"task": "text-classification", "dataset": {"name": "reviews"}, '
                    '"metrics": [{"type": "accuracy", "value": 0.9}]}])',
                }
            ]
        )
    canonical: list[dict[str, Any]] = []
    for i, result in enumerate(results):
        where = f"results[{i}]"
        if not isinstance(result, Mapping):
            fail(where, "each result is an object with task, dataset and metrics")
            continue
        task = result.get("task")
        if isinstance(task, str):
            task = {"type": task}
        if not isinstance(task, Mapping) or not str(task.get("type") or "").strip():
            fail(f"{where}.task", 'name the task, e.g. "text-classification"')
            task = {"type": "?"}
        dataset = result.get("dataset")
        if isinstance(dataset, str):
            dataset = {"name": dataset}
        if not isinstance(dataset, Mapping) or not str(dataset.get("name") or "").strip():
            fail(
                f"{where}.dataset",
                "metrics need the dataset they were measured on: give dataset.name (and its "
                "sha256 or revision so others can check they use the same data)",
            )
            dataset = {"name": "?"}
        metrics = result.get("metrics")
        if not isinstance(metrics, list) or not metrics:
            fail(f"{where}.metrics", 'give a list of metrics, e.g. [{"type": "accuracy", ...}]')
            metrics = []
        clean_metrics = []
        for j, metric in enumerate(metrics):
            mwhere = f"{where}.metrics[{j}]"
            if not isinstance(metric, Mapping) or not str(metric.get("type") or "").strip():
                fail(mwhere, 'each metric has a "type" (e.g. "accuracy") and a numeric "value"')
                continue
            value = _number(metric.get("value"))
            if value is None:
                fail(f"{mwhere}.value", "the value must be a finite number")
                continue
            ci = metric.get("ci")
            low, high = (
                (ci[0], ci[1])
                if isinstance(ci, list | tuple) and len(ci) == 2
                else (
                    metric.get("low"),
                    metric.get("high"),
                )
            )
            low_n, high_n = _number(low), _number(high)
            if (low is not None or high is not None) and (
                low_n is None or high_n is None or not low_n <= value <= high_n
            ):
                fail(f"{mwhere}.ci", "the interval is [low, high] with low ≤ value ≤ high")
                continue
            name = str(metric["type"]).strip()
            entry: dict[str, Any] = {"type": name, "value": value}
            if low_n is not None and high_n is not None:
                entry["ci"] = [low_n, high_n]
            if metric.get("name"):
                entry["name"] = str(metric["name"])
            better = metric.get("higher_is_better")
            entry["higher_is_better"] = (
                bool(better) if isinstance(better, bool) else higher_is_better(name)
            )
            clean_metrics.append(entry)
        clean_dataset = {
            k: str(v)
            for k, v in dataset.items()
            if k in ("name", "type", "revision", "sha256", "config", "split", "config_hash")
            and v is not None
        }
        sha = clean_dataset.get("sha256")
        if sha is not None and not re.fullmatch(r"[0-9a-f]{64}", sha):
            fail(f"{where}.dataset.sha256", "give the lower-case hex sha256 of the data")
        canonical.append(
            {
                "task": {k: str(v) for k, v in task.items() if k in ("type", "name")},
                "dataset": clean_dataset,
                "metrics": clean_metrics,
            }
        )
    if errors:
        raise ResultsError(errors)
    return canonical


def metric_rows(results: Iterable[Mapping[str, Any]]) -> list[MetricRow]:
    """Flatten canonical results (see :func:`normalize_results`) into one row per metric."""
    rows = []
    for result in results:
        dataset = result["dataset"]
        for metric in result["metrics"]:
            ci = metric.get("ci") or (None, None)
            rows.append(
                MetricRow(
                    task=result["task"]["type"],
                    dataset=dataset["name"],
                    dataset_hash=dataset.get("sha256") or dataset.get("revision"),
                    config_hash=dataset.get("config_hash"),
                    metric=metric["type"],
                    value=float(metric["value"]),
                    low=ci[0],
                    high=ci[1],
                    higher_is_better=bool(metric.get("higher_is_better", True)),
                )
            )
    return rows


def results_entry(
    *,
    task: str,
    dataset: str,
    metrics: Mapping[str, Any],
    dataset_sha256: str | None = None,
    config_hash: str | None = None,
    split: str | None = None,
) -> dict[str, Any]:
    """One ``model-index`` result from a ``{name: value | {"value", "low", "high"}}`` mapping,
    the form :mod:`zslab.train.metrics` scores take — what a template records as ``results``.

    >>> results_entry(task="text-classification", dataset="reviews",
    ...               metrics={"accuracy": {"value": 0.9, "low": 0.8, "high": 0.95}})["metrics"]
    [{'type': 'accuracy', 'value': 0.9, 'ci': [0.8, 0.95]}]
    """
    out = []
    for name, score in metrics.items():
        if isinstance(score, Mapping):
            entry: dict[str, Any] = {"type": name, "value": float(score["value"])}
            if score.get("low") is not None and score.get("high") is not None:
                entry["ci"] = [float(score["low"]), float(score["high"])]
        else:
            entry = {"type": name, "value": float(score)}
        out.append(entry)
    data: dict[str, Any] = {"name": dataset}
    for key, value in (("sha256", dataset_sha256), ("config_hash", config_hash), ("split", split)):
        if value is not None:
            data[key] = value
    return {"task": {"type": task}, "dataset": data, "metrics": out}


def results_from_runs(run_metrics: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The ``results`` lists the runs recorded (``zslab.record(results=[...])``), in order."""
    found: list[dict[str, Any]] = []
    for metrics in run_metrics:
        recorded = metrics.get("results")
        if isinstance(recorded, list):
            found.extend(dict(r) for r in recorded if isinstance(r, Mapping))
        elif isinstance(recorded, Mapping):
            found.append(dict(recorded))
    return found


# --- review workflow -------------------------------------------------------------------------

_TRANSITIONS: dict[tuple[str, str], str] = {
    ("draft", "submit"): "in_review",
    ("in_review", "withdraw"): "draft",
    ("in_review", "approve"): "published",
    ("in_review", "request_changes"): "draft",
    ("published", "archive"): "archived",
    ("draft", "archive"): "archived",
}


def transition(status: str, action: str) -> str:
    """The status a version moves to when ``action`` is taken; ValueError when it cannot.

    ``comment`` leaves any status as it is.

    >>> transition("in_review", "approve")
    'published'
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}; the actions are: {', '.join(ACTIONS)}")
    if action == "comment":
        return status
    try:
        return _TRANSITIONS[(status, action)]
    except KeyError:
        allowed = [a for (s, a) in _TRANSITIONS if s == status] + ["comment"]
        raise ValueError(
            f"a {status} version cannot be {_PAST.get(action, action)}; "
            f"from {status} you may: {', '.join(allowed)}"
        ) from None


_PAST = {
    "submit": "submitted",
    "withdraw": "withdrawn",
    "approve": "approved",
    "request_changes": "sent back for changes",
    "archive": "archived",
}


# --- leaderboards ----------------------------------------------------------------------------


def board_key(row: MetricRow) -> tuple[str, str, str, str | None, str | None]:
    """Results share a board only with the same task, dataset, metric and both hashes."""
    return (row.task, row.dataset, row.metric, row.dataset_hash, row.config_hash)


@dataclass
class BoardEntry:
    """One ranked version on a leaderboard."""

    slug: str
    version: int
    title: str
    value: float
    low: float | None
    high: float | None
    reproduced: bool = False
    rank: int = 0
    tied: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def interval(self) -> tuple[float, float]:
        low = self.value if self.low is None else self.low
        high = self.value if self.high is None else self.high
        return low, high


def rank_board(entries: Sequence[BoardEntry], *, higher_better: bool = True) -> list[BoardEntry]:
    """Order entries best first; rank = 1 + the number of entries *clearly* better.

    An entry is clearly better than another when their intervals do not overlap (a point
    value without an interval is its own interval). Entries whose intervals overlap the one
    ranked above them are ties: they share a rank and are flagged ``tied``.

    >>> a = BoardEntry("a", 1, "A", 0.90, 0.88, 0.92)
    >>> b = BoardEntry("b", 1, "B", 0.89, 0.87, 0.91)
    >>> c = BoardEntry("c", 1, "C", 0.70, 0.68, 0.72)
    >>> [(e.slug, e.rank, e.tied) for e in rank_board([c, b, a])]
    [('a', 1, True), ('b', 1, True), ('c', 3, False)]
    """
    sign = 1.0 if higher_better else -1.0
    ordered = sorted(entries, key=lambda e: (-sign * e.value, e.slug, e.version))
    for entry in ordered:
        low, high = entry.interval()
        better = 0
        for other in ordered:
            if other is entry:
                continue
            olow, ohigh = other.interval()
            if (olow > high) if higher_better else (ohigh < low):
                better += 1
        entry.rank = better + 1
    counts: dict[int, int] = {}
    for entry in ordered:
        counts[entry.rank] = counts.get(entry.rank, 0) + 1
    for entry in ordered:
        entry.tied = counts[entry.rank] > 1
    return ordered


# --- reproduction ----------------------------------------------------------------------------


@dataclass
class MetricComparison:
    """One published metric against its reproduction."""

    task: str
    dataset: str
    metric: str
    published: float
    reproduced: float | None
    delta: float | None
    rule: str  # "tolerance 0.01", "confidence intervals overlap", "missing"
    matched: bool


@dataclass
class ReproductionVerdict:
    matched: bool
    comparisons: list[MetricComparison]

    def to_json(self) -> dict[str, Any]:
        return {"matched": self.matched, "comparisons": [asdict(c) for c in self.comparisons]}


def compare_reproduction(
    published: Sequence[MetricRow],
    reproduced: Sequence[MetricRow],
    tolerance: Mapping[str, float] | None = None,
    *,
    default_tolerance: float = 1e-6,
) -> ReproductionVerdict:
    """Check every published metric against the reproduced one of the same task, dataset and
    metric: within ``tolerance[metric]`` (absolute) where one is declared, else the two
    confidence intervals overlap where both have one, else within ``default_tolerance``.
    A metric the reproduction did not produce is a mismatch.

    >>> pub = [MetricRow("t", "d", None, None, "accuracy", 0.90, 0.88, 0.92)]
    >>> rep = [MetricRow("t", "d", None, None, "accuracy", 0.89, 0.87, 0.91)]
    >>> compare_reproduction(pub, rep).matched
    True
    """
    tolerance = dict(tolerance or {})
    found = {row.key: row for row in reproduced}
    comparisons = []
    for row in published:
        again = found.get(row.key)
        if again is None:
            comparisons.append(
                MetricComparison(
                    row.task, row.dataset, row.metric, row.value, None, None, "missing", False
                )
            )
            continue
        delta = again.value - row.value
        if row.metric in tolerance:
            limit = float(tolerance[row.metric])
            rule, matched = f"|Δ| ≤ {limit:g}", abs(delta) <= limit
        elif None not in (row.low, row.high, again.low, again.high):
            assert row.low is not None and row.high is not None
            assert again.low is not None and again.high is not None
            rule = "confidence intervals overlap"
            matched = again.low <= row.high and row.low <= again.high
        else:
            rule, matched = f"|Δ| ≤ {default_tolerance:g}", abs(delta) <= default_tolerance
        comparisons.append(
            MetricComparison(
                row.task, row.dataset, row.metric, row.value, again.value, delta, rule, matched
            )
        )
    return ReproductionVerdict(all(c.matched for c in comparisons), comparisons)


# --- slugs and model cards -------------------------------------------------------------------


def slugify(*texts: str | None, suffix: bool = True) -> str:
    """A URL slug from the first text with ASCII words in it, plus a short random suffix so
    two cases with one title never collide (``"Review sentiment"`` → ``review-sentiment-4kq2``).
    """
    words: list[str] = []
    for text in texts:
        if not text:
            continue
        ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
        words = re.findall(r"[a-z0-9]+", ascii_text.lower())
        if words:
            break
    base = "-".join(words)[:48].strip("-") or "case"
    if not base[0].isalpha():
        base = f"case-{base}"
    return f"{base}-{secrets.token_hex(3)}" if suffix else base


def _yaml_scalar(value: Any) -> str:
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)  # a JSON string is a YAML string


def model_card(case: Mapping[str, Any], version: Mapping[str, Any]) -> str:
    """A Hugging Face model card (``README.md``) for a case version, with ``model-index``.

    ``case`` has slug, sector, visibility, reproduced; ``version`` has number, title, summary,
    license, tags, results, model (name), compute, provenance. Metrics of a reproduced case are
    marked ``verified: true``.
    """
    results = version.get("results") or []
    model_name = version.get("model") or case["slug"]
    tags = list(version.get("tags") or [])
    sector = case.get("sector")
    lines = ["---"]
    lines.append(f"license: {_yaml_scalar(version.get('license') or 'other')}")
    lines.append("tags:")
    for tag in ["zslab", f"sector:{sector}", *tags]:
        lines.append(f"- {_yaml_scalar(tag)}")
    lines.append("model-index:")
    lines.append(f"- name: {_yaml_scalar(model_name)}")
    lines.append("  results:")
    for result in results:
        task, dataset = result["task"], result["dataset"]
        lines.append("  - task:")
        lines.append(f"      type: {_yaml_scalar(task['type'])}")
        if task.get("name"):
            lines.append(f"      name: {_yaml_scalar(task['name'])}")
        lines.append("    dataset:")
        lines.append(f"      name: {_yaml_scalar(dataset['name'])}")
        lines.append(f"      type: {_yaml_scalar(dataset.get('type') or dataset['name'])}")
        revision = dataset.get("revision") or dataset.get("sha256")
        if revision:
            lines.append(f"      revision: {_yaml_scalar(revision)}")
        lines.append("    metrics:")
        for metric in result["metrics"]:
            lines.append(f"    - type: {_yaml_scalar(metric['type'])}")
            lines.append(f"      value: {_yaml_scalar(metric['value'])}")
            if metric.get("name"):
                lines.append(f"      name: {_yaml_scalar(metric['name'])}")
            lines.append(f"      verified: {_yaml_scalar(bool(case.get('reproduced')))}")
    lines.append("---")
    lines.append("")
    title = version.get("title") or case["slug"]
    lines.append(f"# {title}")
    if version.get("title_en") and version.get("title_en") != title:
        lines.append(f"\n*{version['title_en']}*")
    label = SECTORS.get(str(sector), ("", ""))
    lines.append(f"\nSector: {label[1]} ({label[0]}) · version {version.get('number', 1)}")
    if version.get("summary"):
        lines.append(f"\n{version['summary']}")
    lines.append("\n## Results\n")
    lines.append("| task | dataset | metric | value | 95% CI |")
    lines.append("|---|---|---|---|---|")
    for row in metric_rows(results):
        ci = f"[{row.low:.4g}, {row.high:.4g}]" if row.low is not None else "—"
        lines.append(f"| {row.task} | {row.dataset} | {row.metric} | {row.value:.4g} | {ci} |")
    compute = version.get("compute") or {}
    if compute.get("slice_hours"):
        lines.append("\n## Compute\n")
        lines.append(
            f"{compute.get('slice_hours', 0):.3g} slice-hours on "
            f"{', '.join(compute.get('accelerators') or ['?'])}; "
            f"{compute.get('energy_kwh', 0):.3g} kWh; cost {compute.get('cost', 0):.2f} "
            f"{compute.get('currency', 'CNY')} (subsidy {compute.get('subsidy', 0):.2f})."
        )
    provenance = version.get("provenance") or {}
    if provenance:
        lines.append("\n## Provenance\n")
        for key in sorted(provenance):
            value = provenance[key]
            if isinstance(value, str | int | float):
                lines.append(f"- {key}: `{value}`")
    lines.append("\n## Reproduce\n")
    lines.append("```python\nimport zslab\n\nlab = zslab.connect()")
    lines.append(f'lab.cases.reproduce("{case["slug"]}")\n```')
    state = "reproduced by the hub" if case.get("reproduced") else "not yet reproduced"
    lines.append(f"\nThis case is {state}.")
    return "\n".join(lines) + "\n"
