"""Evaluation metrics for fine-tuning and evaluation templates, with bootstrap confidence intervals.

Pure functions over Python lists or numpy arrays; nothing here touches a GPU, a file or a server.

    from zslab.train import metrics
    metrics.accuracy([0, 1, 1], [0, 1, 0])                       # 0.666...
    metrics.bootstrap_ci(metrics.accuracy, y_true, y_pred)       # MetricResult(value, low, high, n)
    metrics.paired_bootstrap(metrics.chrf, refs, hyps_a, hyps_b) # PairedResult(delta, .., p_value)
    metrics.evaluate_generation(refs, hyps, bleu_tokenize="zh")  # JSON-able dict

Scales: classification, exact match, ROUGE-L and ECE are fractions in [0, 1]; BLEU and chrF keep
sacrebleu's 0-100 scale so they compare directly with published numbers.

Bootstrap fast path: a metric that is a function of per-example *sufficient statistics* summed over
examples (accuracy, exact match, ROUGE-L, macro-F1, ECE, BLEU, chrF) is resampled by reweighting
those statistics with a matrix of resample counts, so 1000 resamples cost one matrix product instead
of 1000 metric calls. Any other callable is recomputed on every resample. Both paths draw the same
indices from the same seed, so they give the same interval.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
import string
import unicodedata
from collections.abc import Callable, Hashable, Iterator, Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

__all__ = [
    "MetricResult",
    "PairedResult",
    "accuracy",
    "bits_per_character",
    "bleu",
    "bootstrap_ci",
    "chrf",
    "evaluate_classification",
    "evaluate_generation",
    "exact_match",
    "expected_calibration_error",
    "macro_f1",
    "paired_bootstrap",
    "per_class_report",
    "perplexity",
    "rouge_l",
]

Labels = Sequence[Hashable] | npt.ArrayLike
RougeTokenizer = Literal["char", "word", "auto"]
BleuTokenize = Literal["13a", "zh"]


# ---------------------------------------------------------------------------- results


@dataclasses.dataclass(frozen=True)
class MetricResult:
    """A point estimate with a percentile-bootstrap interval over ``n`` examples."""

    value: float
    low: float
    high: float
    n: int

    def to_json(self) -> dict[str, float | int]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class PairedResult:
    """System A minus system B on the same examples, with a paired-bootstrap interval.

    ``p_value`` is one-sided (Koehn 2004): the share of resamples in which the sign of the delta
    does not agree with the observed one. Double it (capped at 1) for a two-sided test, or call
    :func:`paired_bootstrap` with ``two_sided=True``.
    """

    delta: float
    low: float
    high: float
    p_value: float

    def to_json(self) -> dict[str, float]:
        return dataclasses.asdict(self)


# ---------------------------------------------------------------------------- input checks


def _check_lengths(*columns: Sequence[Any] | np.ndarray) -> int:
    lengths = {len(c) for c in columns}
    if len(lengths) != 1:
        raise ValueError(
            f"columns have different lengths {sorted(lengths)}; pass one entry per example"
        )
    n = lengths.pop()
    if n == 0:
        raise ValueError("no examples: metrics need at least one example")
    return n


def _as_array(values: Labels) -> np.ndarray:
    return np.asarray(values)


# ---------------------------------------------------------------------------- classification


def accuracy(y_true: Labels, y_pred: Labels) -> float:
    """Fraction of examples whose prediction equals the label (sklearn ``accuracy_score``)."""
    t, p = _as_array(y_true), _as_array(y_pred)
    _check_lengths(t, p)
    return float(np.mean(t == p))


def _resolve_labels(y_true: np.ndarray, y_pred: np.ndarray, labels: Labels | None) -> list[Any]:
    if labels is not None:
        resolved = list(np.asarray(labels).tolist())
        if not resolved:
            raise ValueError("labels is empty; pass at least one label or leave it None")
        return resolved
    # sklearn's unique_labels: the sorted union of labels seen in either column.
    return sorted(set(y_true.tolist()) | set(y_pred.tolist()))


def _encode(values: np.ndarray, labels: list[Any]) -> np.ndarray:
    """Index of each value in ``labels``; -1 for values outside it (they count for no class)."""
    index = {label: i for i, label in enumerate(labels)}
    return np.fromiter(
        (index.get(v, -1) for v in values.tolist()), dtype=np.int64, count=len(values)
    )


def _class_counts(
    y_true: Labels, y_pred: Labels, labels: Labels | None
) -> tuple[list[Any], np.ndarray]:
    """Resolved labels and per-example statistics for per-class P/R/F1.

    Columns are ``[tp_k..., predicted_k..., true_k...]`` for the k labels, each 0 or 1.
    """
    t, p = _as_array(y_true), _as_array(y_pred)
    n = _check_lengths(t, p)
    resolved = _resolve_labels(t, p, labels)
    k = len(resolved)
    ti, pi = _encode(t, resolved), _encode(p, resolved)
    stats = np.zeros((n, 3 * k))
    rows = np.arange(n)
    hit = (ti == pi) & (ti >= 0)
    stats[rows[hit], ti[hit]] = 1.0
    stats[rows[pi >= 0], k + pi[pi >= 0]] = 1.0
    stats[rows[ti >= 0], 2 * k + ti[ti >= 0]] = 1.0
    return resolved, stats


def _prf_from_counts(sums: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision, recall, F1 per class from summed counts; 0 where undefined (zero_division=0)."""
    tp, n_pred, n_true = sums[..., :k], sums[..., k : 2 * k], sums[..., 2 * k :]
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(n_pred > 0, tp / n_pred, 0.0)
        recall = np.where(n_true > 0, tp / n_true, 0.0)
        # 2tp / (2tp + fp + fn) is sklearn's formula and equals 2PR / (P + R) wherever defined.
        denom = n_pred + n_true
        f1 = np.where(denom > 0, 2 * tp / denom, 0.0)
    return precision, recall, f1


def macro_f1(y_true: Labels, y_pred: Labels, labels: Labels | None = None) -> float:
    """Unweighted mean of per-class F1 over ``labels`` (default: sorted union of both columns).

    Matches ``sklearn.metrics.f1_score(average="macro", zero_division=0)``: a class never
    predicted, or never present, has F1 0 and still counts in the mean.
    """
    resolved, stats = _class_counts(y_true, y_pred, labels)
    _, _, f1 = _prf_from_counts(stats.sum(axis=0), len(resolved))
    return float(f1.mean())


def per_class_report(
    y_true: Labels, y_pred: Labels, labels: Labels | None = None
) -> dict[Any, dict[str, float | int]]:
    """``{label: {"precision", "recall", "f1", "support"}}`` for each label, in label order.

    Matches ``sklearn.metrics.precision_recall_fscore_support(zero_division=0)``.
    """
    resolved, stats = _class_counts(y_true, y_pred, labels)
    k = len(resolved)
    sums = stats.sum(axis=0)
    precision, recall, f1 = _prf_from_counts(sums, k)
    return {
        label: {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(sums[2 * k + i]),
        }
        for i, label in enumerate(resolved)
    }


def _calibration_stats(y_true: Labels, probs: npt.ArrayLike, n_bins: int = 15) -> np.ndarray:
    """Per-example ``(correct - confidence)`` placed in the column of its confidence bin."""
    t = np.asarray(y_true)
    pr = np.asarray(probs, dtype=np.float64)
    if pr.ndim != 2:
        raise ValueError(f"probs must be a 2-D array (examples x classes), got shape {pr.shape}")
    n = _check_lengths(t, pr)
    if n_bins < 1:
        raise ValueError(f"n_bins must be at least 1, got {n_bins}")
    confidence = pr.max(axis=1)
    correct = (pr.argmax(axis=1) == t).astype(np.float64)
    # Bin m holds (m/M, (m+1)/M]; a confidence of exactly 0 joins the first bin.
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bins = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, n_bins - 1)
    stats = np.zeros((n, n_bins + 1))
    stats[np.arange(n), bins] = correct - confidence
    stats[:, n_bins] = 1.0  # example count, so ECE divides by the (resampled) n
    return stats


def _ece_from_stats(sums: np.ndarray) -> np.ndarray:
    return np.abs(sums[..., :-1]).sum(axis=-1) / sums[..., -1]


def expected_calibration_error(y_true: Labels, probs: npt.ArrayLike, n_bins: int = 15) -> float:
    """ECE with ``n_bins`` equal-width confidence bins (Guo et al. 2017, "On Calibration of
    Modern Neural Networks", eq. 3): ``sum_m |B_m|/n * |acc(B_m) - conf(B_m)|``.

    ``y_true`` holds class indices (columns of ``probs``); confidence is the top probability and
    the prediction its argmax.
    """
    return float(_ece_from_stats(_calibration_stats(y_true, probs, n_bins).sum(axis=0)))


# ---------------------------------------------------------------------------- language modelling


def perplexity(total_nll: float, total_tokens: int) -> float:
    """``exp(total_nll / total_tokens)`` with the NLL summed in nats over all predicted tokens."""
    if total_tokens <= 0:
        raise ValueError(f"total_tokens must be positive, got {total_tokens}")
    return math.exp(total_nll / total_tokens)


def bits_per_character(total_nll_nats: float, total_characters: int) -> float:
    """Summed NLL in nats converted to bits and spread over the characters of the text.

    Tokenizer-independent, so models with different vocabularies compare; see Graves 2013,
    "Generating Sequences With Recurrent Neural Networks".
    """
    if total_characters <= 0:
        raise ValueError(f"total_characters must be positive, got {total_characters}")
    return total_nll_nats / (total_characters * math.log(2))


# ---------------------------------------------------------------------------- generation

_ARTICLES = re.compile(r"\b(a|an|the)\b")


def _normalize_answer(text: str) -> str:
    """SQuAD v1.1 answer normalization (lowercase, drop punctuation and English articles,
    squeeze whitespace), after NFKC so full-width forms and Chinese punctuation are handled too."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = "".join(
        ch
        for ch in text
        if ch not in string.punctuation and not unicodedata.category(ch).startswith("P")
    )
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def _exact_match_scores(
    refs: Sequence[str], hyps: Sequence[str], normalize: bool = True
) -> np.ndarray:
    _check_lengths(refs, hyps)
    if normalize:
        return np.array(
            [_normalize_answer(r) == _normalize_answer(h) for r, h in zip(refs, hyps, strict=True)],
            dtype=np.float64,
        )
    return np.array([r == h for r, h in zip(refs, hyps, strict=True)], dtype=np.float64)


def exact_match(refs: Sequence[str], hyps: Sequence[str], normalize: bool = True) -> float:
    """Fraction of hypotheses equal to their reference, SQuAD-normalized unless told not to."""
    return float(_exact_match_scores(refs, hyps, normalize).mean())


def _sacrebleu_metric(kind: Literal["bleu", "chrf"], tokenize: BleuTokenize = "13a") -> Any:
    from sacrebleu.metrics import BLEU, CHRF

    return BLEU(tokenize=tokenize) if kind == "bleu" else CHRF()


def bleu(refs: Sequence[str], hyps: Sequence[str], tokenize: BleuTokenize = "13a") -> float:
    """Corpus BLEU (0-100) via ``sacrebleu.metrics.BLEU``; one reference per hypothesis.

    Use ``tokenize="zh"`` for Chinese output (Post 2018, "A Call for Clarity in Reporting BLEU").
    """
    _check_lengths(refs, hyps)
    return float(_sacrebleu_metric("bleu", tokenize).corpus_score(list(hyps), [list(refs)]).score)


def chrf(refs: Sequence[str], hyps: Sequence[str]) -> float:
    """Corpus chrF (0-100) via ``sacrebleu.metrics.CHRF`` (Popović 2015); one reference each."""
    _check_lengths(refs, hyps)
    return float(_sacrebleu_metric("chrf").corpus_score(list(hyps), [list(refs)]).score)


def _is_cjk(ch: str) -> bool:
    return unicodedata.name(ch, "").startswith(("CJK", "HIRAGANA", "KATAKANA", "HANGUL"))


def _rouge_tokens(text: str, tokenizer: RougeTokenizer) -> list[str]:
    if tokenizer == "auto":
        visible = [ch for ch in text if not ch.isspace()]
        cjk = sum(_is_cjk(ch) for ch in visible)
        tokenizer = "char" if visible and cjk * 2 >= len(visible) else "word"
    if tokenizer == "char":
        return [ch for ch in text if not ch.isspace()]
    if tokenizer == "word":
        return text.split()
    raise ValueError(f"tokenizer must be 'char', 'word' or 'auto', got {tokenizer!r}")


def _lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    if len(a) < len(b):
        a, b = b, a
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b):
            current.append(previous[j] + 1 if x == y else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]


def _rouge_l_scores(
    refs: Sequence[str], hyps: Sequence[str], tokenizer: RougeTokenizer = "auto"
) -> np.ndarray:
    _check_lengths(refs, hyps)
    scores = np.zeros(len(refs))
    for i, (ref, hyp) in enumerate(zip(refs, hyps, strict=True)):
        r, h = _rouge_tokens(ref, tokenizer), _rouge_tokens(hyp, tokenizer)
        lcs = _lcs_length(r, h)
        if lcs:
            scores[i] = 2 * lcs / (len(r) + len(h))  # = 2PR/(P+R) with P=lcs/|h|, R=lcs/|r|
    return scores


def rouge_l(refs: Sequence[str], hyps: Sequence[str], tokenizer: RougeTokenizer = "auto") -> float:
    """Mean sentence-level ROUGE-L F1 (Lin 2004), as Google's ``rouge-score`` averages it.

    ``tokenizer="char"`` compares characters (the usual choice for Chinese), ``"word"`` splits on
    whitespace (no stemming or lowercasing), ``"auto"`` picks char when at least half the visible
    characters of a text are CJK. Whitespace never counts as a character token.
    """
    return float(_rouge_l_scores(refs, hyps, tokenizer).mean())


# ---------------------------------------------------------------------------- bootstrap fast paths


@dataclasses.dataclass(frozen=True)
class _Decomposition:
    """How a metric is a function of per-example statistics summed over examples."""

    stats: Callable[..., np.ndarray]  # (*columns, **kwargs) -> (n, k)
    finish: Callable[[np.ndarray, dict[str, Any]], np.ndarray]  # ((R, k) sums, kwargs) -> (R,)


def _mean_of_scores(score_fn: Callable[..., np.ndarray]) -> _Decomposition:
    def stats(*columns: Any, **kwargs: Any) -> np.ndarray:
        scores = score_fn(*columns, **kwargs)
        return np.stack([scores, np.ones_like(scores)], axis=1)

    return _Decomposition(stats, lambda sums, _: sums[..., 0] / sums[..., 1])


def _macro_f1_stats(y_true: Labels, y_pred: Labels, labels: Labels | None = None) -> np.ndarray:
    # The label set is fixed from the full sample, so a class missing from one resample still
    # counts (with F1 0), exactly as when ``labels`` is passed.
    return _class_counts(y_true, y_pred, labels)[1]


def _macro_f1_finish(sums: np.ndarray, _: dict[str, Any]) -> np.ndarray:
    return _prf_from_counts(sums, sums.shape[-1] // 3)[2].mean(axis=-1)


def _sacrebleu_decomposition(kind: Literal["bleu", "chrf"]) -> _Decomposition:
    # sacrebleu's corpus score is itself computed from summed per-sentence statistics
    # (``_extract_corpus_statistics`` / ``_compute_score_from_stats``, used by its own paired
    # bootstrap), so reweighting them reproduces ``corpus_score`` on a resample exactly.
    def stats(refs: Sequence[str], hyps: Sequence[str], **kwargs: Any) -> np.ndarray:
        _check_lengths(refs, hyps)
        metric = _sacrebleu_metric(kind, **kwargs)
        return np.asarray(metric._extract_corpus_statistics(list(hyps), [list(refs)]), dtype=float)

    def finish(sums: np.ndarray, kwargs: dict[str, Any]) -> np.ndarray:
        metric = _sacrebleu_metric(kind, **kwargs)
        counts = np.rint(sums).astype(np.int64)
        return np.array([metric._compute_score_from_stats(row.tolist()).score for row in counts])

    return _Decomposition(stats, finish)


_DECOMPOSITIONS: dict[Callable[..., float], _Decomposition] = {
    accuracy: _mean_of_scores(lambda t, p: (_as_array(t) == _as_array(p)).astype(np.float64)),
    exact_match: _mean_of_scores(_exact_match_scores),
    rouge_l: _mean_of_scores(_rouge_l_scores),
    macro_f1: _Decomposition(_macro_f1_stats, _macro_f1_finish),
    expected_calibration_error: _Decomposition(
        _calibration_stats, lambda sums, _: _ece_from_stats(sums)
    ),
    bleu: _sacrebleu_decomposition("bleu"),
    chrf: _sacrebleu_decomposition("chrf"),
}


def _decomposition_of(
    metric_fn: Callable[..., float],
) -> tuple[_Decomposition, dict[str, Any]] | None:
    """The fast path for ``metric_fn`` (also through ``functools.partial`` with keywords only)."""
    if isinstance(metric_fn, functools.partial):
        if metric_fn.args or metric_fn.func not in _DECOMPOSITIONS:
            return None
        return _DECOMPOSITIONS[metric_fn.func], dict(metric_fn.keywords)
    found = _DECOMPOSITIONS.get(metric_fn)
    return (found, {}) if found is not None else None


# ---------------------------------------------------------------------------- bootstrap

_CHUNK_CELLS = 4_000_000  # resample-count matrix cells held at once (~32 MB of float64)


def _index_chunks(rng: np.random.Generator, n: int, n_resamples: int) -> Iterator[np.ndarray]:
    """Resampled example indices, ``(chunk, n)`` at a time so memory stays bounded for large n."""
    per_chunk = max(1, _CHUNK_CELLS // n)
    for start in range(0, n_resamples, per_chunk):
        yield rng.integers(0, n, size=(min(per_chunk, n_resamples - start), n))


def _take(column: Any, idx: np.ndarray) -> Any:
    if isinstance(column, np.ndarray):
        return column[idx]
    return [column[i] for i in idx.tolist()]


def _resampled_values(
    metric_fn: Callable[..., float],
    columns: Sequence[Any],
    n: int,
    n_resamples: int,
    seed: int,
    fast: bool,
) -> np.ndarray:
    """The metric on ``n_resamples`` bootstrap resamples of the examples (indices from ``seed``)."""
    rng = np.random.default_rng(seed)
    decomposition = _decomposition_of(metric_fn) if fast else None
    values: list[np.ndarray] = []
    if decomposition is not None:
        parts, kwargs = decomposition
        stats = parts.stats(*columns, **kwargs)
        for idx in _index_chunks(rng, n, n_resamples):
            rows = idx.shape[0]
            # counts[r, i] = how often example i was drawn in resample r.
            flat = (idx + n * np.arange(rows)[:, None]).ravel()
            counts = np.bincount(flat, minlength=rows * n).reshape(rows, n).astype(np.float64)
            values.append(parts.finish(counts @ stats, kwargs))
    else:
        for idx in _index_chunks(rng, n, n_resamples):
            values.append(np.array([metric_fn(*(_take(c, row) for c in columns)) for row in idx]))
    return np.concatenate(values)


def _check_bootstrap_args(n_resamples: int, confidence: float) -> None:
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be at least 1, got {n_resamples}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence}")


def bootstrap_ci(
    metric_fn: Callable[..., float],
    *columns: Any,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    fast: bool = True,
) -> MetricResult:
    """Percentile-bootstrap interval for ``metric_fn(*columns)`` over resampled examples.

    Every column holds one entry per example (labels, predictions, probability rows, strings);
    each resample draws ``n`` example indices with replacement and applies them to all columns
    (Efron & Tibshirani 1993, ch. 13). Metrics of this module, bare or wrapped in
    ``functools.partial(fn, key=value)``, take the vectorized fast path unless ``fast=False``;
    anything else is recomputed per resample, so keep ``n_resamples`` modest for slow metrics.

        bootstrap_ci(accuracy, y_true, y_pred)
        bootstrap_ci(functools.partial(bleu, tokenize="zh"), refs, hyps, n_resamples=200)
    """
    if not columns:
        raise ValueError("pass at least one column of per-example values")
    n = _check_lengths(*columns)
    _check_bootstrap_args(n_resamples, confidence)
    value = float(metric_fn(*columns))
    samples = _resampled_values(metric_fn, columns, n, n_resamples, seed, fast)
    alpha = 1.0 - confidence
    low, high = np.quantile(samples, [alpha / 2, 1 - alpha / 2])
    return MetricResult(value=value, low=float(low), high=float(high), n=n)


def paired_bootstrap(
    metric_fn: Callable[..., float],
    y_true: Any,
    pred_a: Any,
    pred_b: Any,
    n_resamples: int = 1000,
    seed: int = 0,
    *,
    confidence: float = 0.95,
    two_sided: bool = False,
    fast: bool = True,
) -> PairedResult:
    """Is system A better than B? Paired bootstrap resampling (Koehn 2004, "Statistical
    Significance Tests for Machine Translation Evaluation").

    Both systems are scored on the *same* resampled indices. ``delta = metric(A) - metric(B)``;
    ``p_value`` is the share of resamples whose delta is ``<= 0`` when the observed delta is
    positive (``>= 0`` when it is negative; 1.0 when it is 0), i.e. one-sided in the observed
    direction. ``two_sided=True`` returns ``min(1, 2 * p)``.
    """
    n = _check_lengths(y_true, pred_a, pred_b)
    _check_bootstrap_args(n_resamples, confidence)
    delta = float(metric_fn(y_true, pred_a)) - float(metric_fn(y_true, pred_b))
    # Same seed => same index draws for both systems, which is what makes the test paired.
    a = _resampled_values(metric_fn, (y_true, pred_a), n, n_resamples, seed, fast)
    b = _resampled_values(metric_fn, (y_true, pred_b), n, n_resamples, seed, fast)
    deltas = a - b
    if delta > 0:
        p_value = float(np.mean(deltas <= 0))
    elif delta < 0:
        p_value = float(np.mean(deltas >= 0))
    else:
        p_value = 1.0
    if two_sided:
        p_value = min(1.0, 2 * p_value)
    alpha = 1.0 - confidence
    low, high = np.quantile(deltas, [alpha / 2, 1 - alpha / 2])
    return PairedResult(delta=delta, low=float(low), high=float(high), p_value=p_value)


# ---------------------------------------------------------------------------- bundles


def _jsonable_label(label: Any) -> str | int | float | bool:
    return label if isinstance(label, str | int | float | bool) else str(label)


def evaluate_classification(
    y_true: Labels,
    y_pred: Labels,
    probs: npt.ArrayLike | None = None,
    labels: Labels | None = None,
    ci: bool = True,
    n_resamples: int = 1000,
    *,
    n_bins: int = 15,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, Any]:
    """Accuracy, macro-F1 and (with ``probs``) ECE, each a :class:`MetricResult` dict, plus the
    per-class report. Without ``ci`` the interval collapses to the point value. JSON-able.

    The label set is fixed once from the whole sample (or ``labels``) and used in every resample.
    """
    t, p = _as_array(y_true), _as_array(y_pred)
    n = _check_lengths(t, p)
    resolved = _resolve_labels(t, p, labels)
    # Every resample scores (y_true, y_pred); ECE adds the probability column.
    plan: dict[str, tuple[Callable[..., float], tuple[Any, ...]]] = {
        "accuracy": (accuracy, (t, p)),
        "macro_f1": (functools.partial(macro_f1, labels=resolved), (t, p)),
    }
    if probs is not None:
        plan["ece"] = (
            functools.partial(expected_calibration_error, n_bins=n_bins),
            (t, np.asarray(probs, dtype=np.float64)),
        )
    result: dict[str, Any] = {"n": n}
    for name, (fn, columns) in plan.items():
        if ci:
            scored = bootstrap_ci(
                fn, *columns, n_resamples=n_resamples, confidence=confidence, seed=seed
            )
        else:
            value = float(fn(*columns))
            scored = MetricResult(value=value, low=value, high=value, n=n)
        result[name] = scored.to_json()
    result["per_class"] = {
        str(_jsonable_label(label)): scores
        for label, scores in per_class_report(t, p, labels=resolved).items()
    }
    return result


def evaluate_generation(
    refs: Sequence[str],
    hyps: Sequence[str],
    *,
    bleu_tokenize: BleuTokenize = "13a",
    rouge_tokenizer: RougeTokenizer = "auto",
    normalize: bool = True,
    ci: bool = True,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, Any]:
    """Exact match, chrF, BLEU and ROUGE-L, each a :class:`MetricResult` dict. JSON-able.

    For Chinese output pass ``bleu_tokenize="zh"``; ROUGE-L picks character tokens itself.
    """
    refs, hyps = list(refs), list(hyps)
    n = _check_lengths(refs, hyps)
    plan: dict[str, Callable[..., float]] = {
        "exact_match": functools.partial(exact_match, normalize=normalize),
        "chrf": chrf,
        "bleu": functools.partial(bleu, tokenize=bleu_tokenize),
        "rouge_l": functools.partial(rouge_l, tokenizer=rouge_tokenizer),
    }
    result: dict[str, Any] = {"n": n}
    for name, fn in plan.items():
        if ci:
            scored = bootstrap_ci(
                fn, refs, hyps, n_resamples=n_resamples, confidence=confidence, seed=seed
            )
        else:
            value = float(fn(refs, hyps))
            scored = MetricResult(value=value, low=value, high=value, n=n)
        result[name] = scored.to_json()
    return result
