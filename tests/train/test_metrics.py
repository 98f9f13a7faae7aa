"""zslab.train.metrics against reference implementations (scikit-learn, sacrebleu, brute force)."""

from __future__ import annotations

import functools
import itertools
import json
import math
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sacrebleu import corpus_bleu, corpus_chrf
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

from zslab.train import metrics

FAST = settings(max_examples=40, deadline=None)

# Label columns of equal length where some labels may never be predicted or never occur.
label_pairs = st.integers(min_value=1, max_value=60).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 4), min_size=n, max_size=n),
        st.lists(st.integers(0, 4), min_size=n, max_size=n),
    )
)

WORDS = ["the", "cat", "sat", "on", "a", "mat", "dog", "ran", "fast", "today", "it", "rained"]


def random_sentences(rng: random.Random, n: int) -> list[str]:
    return [" ".join(rng.choices(WORDS, k=rng.randint(1, 12))) for _ in range(n)]


def noisy_copies(rng: random.Random, sentences: list[str]) -> list[str]:
    out = []
    for sentence in sentences:
        words = [w if rng.random() < 0.7 else rng.choice(WORDS) for w in sentence.split()]
        out.append(" ".join(words))
    return out


def reference_ece(y_true: np.ndarray, probs: np.ndarray, n_bins: int) -> float:
    confidence, predicted = probs.max(axis=1), probs.argmax(axis=1)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    total = 0.0
    for b in range(n_bins):
        lo, hi = edges[b], edges[b + 1]
        members = [i for i, c in enumerate(confidence) if (lo < c <= hi) or (b == 0 and c == 0.0)]
        if members:
            acc = np.mean([predicted[i] == y_true[i] for i in members])
            conf = np.mean([confidence[i] for i in members])
            total += len(members) / len(y_true) * abs(acc - conf)
    return total


def brute_force_lcs(a: str, b: str) -> int:
    """Longest common subsequence by trying every subsequence of the shorter string."""
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    for size in range(len(short), 0, -1):
        for picked in itertools.combinations(short, size):
            it = iter(long_)
            if all(ch in it for ch in picked):
                return size
    return 0


# ---------------------------------------------------------------------------- classification


@FAST
@given(label_pairs)
def test_accuracy_matches_sklearn(pair: tuple[list[int], list[int]]) -> None:
    y_true, y_pred = pair
    assert metrics.accuracy(y_true, y_pred) == pytest.approx(accuracy_score(y_true, y_pred))


@FAST
@given(label_pairs)
def test_macro_f1_matches_sklearn_with_zero_division_0(pair: tuple[list[int], list[int]]) -> None:
    y_true, y_pred = pair
    expected = f1_score(y_true, y_pred, average="macro", zero_division=0)
    assert metrics.macro_f1(y_true, y_pred) == pytest.approx(expected)


@FAST
@given(label_pairs)
def test_macro_f1_with_explicit_labels_counts_absent_labels(
    pair: tuple[list[int], list[int]],
) -> None:
    y_true, y_pred = pair
    labels = [0, 1, 2, 3, 4, 5, 6]  # 5 and 6 never occur: F1 0, still in the mean
    expected = f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)
    assert metrics.macro_f1(y_true, y_pred, labels=labels) == pytest.approx(expected)


@FAST
@given(label_pairs)
def test_per_class_report_matches_sklearn(pair: tuple[list[int], list[int]]) -> None:
    y_true, y_pred = pair
    labels = sorted(set(y_true) | set(y_pred))
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    report = metrics.per_class_report(y_true, y_pred)
    assert list(report) == labels
    for i, label in enumerate(labels):
        assert report[label]["precision"] == pytest.approx(p[i])
        assert report[label]["recall"] == pytest.approx(r[i])
        assert report[label]["f1"] == pytest.approx(f[i])
        assert report[label]["support"] == s[i]


def test_per_class_report_gives_zero_for_a_label_never_predicted() -> None:
    report = metrics.per_class_report(["a", "a", "b"], ["a", "a", "a"])
    assert report["b"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}


@FAST
@given(
    st.integers(min_value=1, max_value=80),
    st.integers(min_value=2, max_value=5),
    st.integers(min_value=1, max_value=20),
    st.integers(min_value=0, max_value=2**31),
)
def test_ece_matches_reference_binning(n: int, classes: int, n_bins: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, classes)) * rng.uniform(0.1, 5)
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y_true = rng.integers(0, classes, size=n)
    got = metrics.expected_calibration_error(y_true, probs, n_bins=n_bins)
    assert got == pytest.approx(reference_ece(y_true, probs, n_bins), abs=1e-12)


def test_ece_puts_a_confidence_on_a_bin_edge_in_the_lower_bin() -> None:
    # 5 bins; 0.4 is the upper edge of (0.2, 0.4], so it shares that bin with 0.3:
    # acc 1/2, conf 0.35 -> ECE 0.15. Left-closed bins would split them and give 0.45.
    probs = np.array([[0.4, 0.3, 0.3, 0.0], [0.3, 0.3, 0.2, 0.2]])
    assert metrics.expected_calibration_error([0, 1], probs, n_bins=5) == pytest.approx(0.15)


def test_ece_is_zero_for_perfectly_calibrated_bins() -> None:
    probs = np.array([[0.75, 0.25]] * 4)
    assert metrics.expected_calibration_error([0, 0, 0, 1], probs) == pytest.approx(0.0)


# ---------------------------------------------------------------------------- language modelling


def test_perplexity_is_exp_of_mean_nll() -> None:
    nll = np.random.default_rng(1).exponential(2.0, size=300)
    assert metrics.perplexity(float(nll.sum()), nll.size) == pytest.approx(math.exp(nll.mean()))


def test_bits_per_character_converts_nats_to_bits() -> None:
    assert metrics.bits_per_character(100 * math.log(2), 50) == pytest.approx(2.0)


def test_perplexity_rejects_zero_tokens() -> None:
    with pytest.raises(ValueError, match="total_tokens"):
        metrics.perplexity(1.0, 0)


# ---------------------------------------------------------------------------- generation


def test_exact_match_normalizes_case_punctuation_articles_and_full_width() -> None:
    refs = ["The Eiffel Tower", "北京。", "Ｂｅｉｊｉｎｇ", "cat"]
    hyps = ["eiffel tower!", "北京", "beijing", "dog"]
    assert metrics.exact_match(refs, hyps) == pytest.approx(0.75)
    assert metrics.exact_match(refs, hyps, normalize=False) == 0.0


@pytest.mark.parametrize("seed", range(5))
def test_bleu_equals_sacrebleu_corpus_bleu(seed: int) -> None:
    rng = random.Random(seed)
    refs = random_sentences(rng, 40)
    hyps = noisy_copies(rng, refs)
    assert metrics.bleu(refs, hyps) == pytest.approx(corpus_bleu(hyps, [refs]).score)


def test_bleu_zh_tokenization_equals_sacrebleu() -> None:
    refs = ["今天天气很好。", "我们去公园散步吧", "机器翻译的质量越来越高"]
    hyps = ["今天天气不错。", "我们去公园走走吧", "机器翻译质量越来越好"]
    expected = corpus_bleu(hyps, [refs], tokenize="zh").score
    assert metrics.bleu(refs, hyps, tokenize="zh") == pytest.approx(expected)
    assert expected != pytest.approx(corpus_bleu(hyps, [refs]).score)  # the option matters


@pytest.mark.parametrize("seed", range(5))
def test_chrf_equals_sacrebleu_corpus_chrf(seed: int) -> None:
    rng = random.Random(seed)
    refs = random_sentences(rng, 40)
    hyps = noisy_copies(rng, refs)
    assert metrics.chrf(refs, hyps) == pytest.approx(corpus_chrf(hyps, [refs]).score)


@FAST
@given(st.text("abcd", max_size=7), st.text("abcd", max_size=7))
def test_rouge_l_char_matches_brute_force_lcs(ref: str, hyp: str) -> None:
    lcs = brute_force_lcs(ref, hyp)
    if lcs == 0:
        expected = 0.0
    else:
        precision, recall = lcs / len(hyp), lcs / len(ref)
        expected = 2 * precision * recall / (precision + recall)
    assert metrics.rouge_l([ref], [hyp], tokenizer="char") == pytest.approx(expected)


def test_rouge_l_word_mode_uses_whitespace_tokens() -> None:
    # LCS of words = "the cat on mat" (4); P = 4/5, R = 4/6.
    score = metrics.rouge_l(["the cat sat on the mat"], ["the cat on a mat"], tokenizer="word")
    assert score == pytest.approx(2 * (4 / 5) * (4 / 6) / (4 / 5 + 4 / 6))


def test_rouge_l_auto_uses_characters_for_chinese() -> None:
    # 今天天气很好 vs 今天天气不错: LCS 今天天气 = 4 of 6 chars each side -> F = 4/6.
    assert metrics.rouge_l(["今天天气很好"], ["今天天气不错"]) == pytest.approx(4 / 6)
    # As one whitespace "word" each, the two texts would share nothing.
    assert metrics.rouge_l(["今天天气很好"], ["今天天气不错"], tokenizer="word") == 0.0


def test_metrics_reject_columns_of_different_lengths() -> None:
    with pytest.raises(ValueError, match="different lengths"):
        metrics.accuracy([1, 2, 3], [1, 2])


# ---------------------------------------------------------------------------- bootstrap


def bernoulli_predictions(n: int, p: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 2, size=n)
    correct = rng.random(n) < p
    return y_true, np.where(correct, y_true, 1 - y_true)


def test_bootstrap_ci_contains_the_point_estimate() -> None:
    y_true, y_pred = bernoulli_predictions(300, 0.8, seed=3)
    result = metrics.bootstrap_ci(metrics.accuracy, y_true, y_pred)
    assert result.value == pytest.approx(metrics.accuracy(y_true, y_pred))
    assert result.low < result.value < result.high
    assert result.n == 300


def test_bootstrap_ci_narrows_as_n_grows() -> None:
    small = metrics.bootstrap_ci(metrics.accuracy, *bernoulli_predictions(100, 0.8, seed=4))
    large = metrics.bootstrap_ci(metrics.accuracy, *bernoulli_predictions(2500, 0.8, seed=4))
    assert (large.high - large.low) < 0.5 * (small.high - small.low)  # ~ 1/sqrt(25) = 0.2


def test_bootstrap_ci_is_deterministic_for_a_seed() -> None:
    y_true, y_pred = bernoulli_predictions(200, 0.7, seed=5)
    first = metrics.bootstrap_ci(metrics.accuracy, y_true, y_pred, seed=11)
    again = metrics.bootstrap_ci(metrics.accuracy, y_true, y_pred, seed=11)
    other = metrics.bootstrap_ci(metrics.accuracy, y_true, y_pred, seed=12)
    assert first == again
    assert (first.low, first.high) != (other.low, other.high)


def test_bootstrap_ci_width_matches_normal_approximation_for_accuracy() -> None:
    n, p = 2000, 0.8
    y_true, y_pred = bernoulli_predictions(n, p, seed=6)
    result = metrics.bootstrap_ci(metrics.accuracy, y_true, y_pred, n_resamples=2000)
    p_hat = result.value
    normal_width = 2 * 1.96 * math.sqrt(p_hat * (1 - p_hat) / n)
    assert (result.high - result.low) == pytest.approx(normal_width, rel=0.2)


@pytest.mark.parametrize(
    ("metric_fn", "columns"),
    [
        (metrics.accuracy, "labels"),
        (metrics.macro_f1, "labels"),
        (functools.partial(metrics.macro_f1, labels=[0, 1, 2, 3]), "labels"),
        (metrics.expected_calibration_error, "probs"),
        (functools.partial(metrics.expected_calibration_error, n_bins=7), "probs"),
        (metrics.exact_match, "text"),
        (metrics.rouge_l, "text"),
        (metrics.bleu, "text"),
        (metrics.chrf, "text"),
    ],
    ids=lambda v: getattr(v, "__name__", None) or getattr(getattr(v, "func", None), "__name__", v),
)
def test_bootstrap_fast_path_equals_recomputing_each_resample(metric_fn, columns: str) -> None:
    rng = np.random.default_rng(7)
    n = 60
    if columns == "labels":
        y_true = rng.integers(0, 3, size=n)
        data = (y_true, np.where(rng.random(n) < 0.6, y_true, rng.integers(0, 3, size=n)))
    elif columns == "probs":
        logits = rng.normal(size=(n, 3)) * 2
        data = (rng.integers(0, 3, size=n), np.exp(logits) / np.exp(logits).sum(1, keepdims=True))
    else:
        text_rng = random.Random(7)
        refs = random_sentences(text_rng, n)
        data = (refs, noisy_copies(text_rng, refs))
    fast = metrics.bootstrap_ci(metric_fn, *data, n_resamples=50, seed=1)
    slow = metrics.bootstrap_ci(metric_fn, *data, n_resamples=50, seed=1, fast=False)
    assert fast.value == pytest.approx(slow.value)
    assert (fast.low, fast.high) == pytest.approx((slow.low, slow.high))
    assert fast.low < fast.high  # the resamples really vary


def test_bootstrap_ci_recomputes_an_arbitrary_metric() -> None:
    y_true, y_pred = bernoulli_predictions(100, 0.8, seed=8)

    def error_rate(t: np.ndarray, p: np.ndarray) -> float:
        return float(np.mean(t != p))

    errors = metrics.bootstrap_ci(error_rate, y_true, y_pred, n_resamples=200)
    acc = metrics.bootstrap_ci(metrics.accuracy, y_true, y_pred, n_resamples=200)
    assert errors.value == pytest.approx(1 - acc.value)
    assert (errors.low, errors.high) == pytest.approx((1 - acc.high, 1 - acc.low))


def test_paired_bootstrap_finds_a_clearly_better_system() -> None:
    rng = np.random.default_rng(9)
    y_true = rng.integers(0, 2, size=500)
    good = np.where(rng.random(500) < 0.85, y_true, 1 - y_true)
    weak = np.where(rng.random(500) < 0.70, y_true, 1 - y_true)
    result = metrics.paired_bootstrap(metrics.accuracy, y_true, good, weak)
    assert result.delta > 0.1
    assert result.p_value < 0.05
    assert result.low > 0


def test_paired_bootstrap_gives_p_one_for_identical_systems() -> None:
    y_true, y_pred = bernoulli_predictions(300, 0.8, seed=10)
    result = metrics.paired_bootstrap(metrics.accuracy, y_true, y_pred, y_pred.copy())
    assert result == metrics.PairedResult(delta=0.0, low=0.0, high=0.0, p_value=1.0)


def test_paired_bootstrap_is_not_significant_for_equally_good_systems() -> None:
    rng = np.random.default_rng(11)
    y_true = rng.integers(0, 2, size=400)
    a = np.where(rng.random(400) < 0.8, y_true, 1 - y_true)
    b = np.where(rng.random(400) < 0.8, y_true, 1 - y_true)
    result = metrics.paired_bootstrap(metrics.accuracy, y_true, a, b)
    assert result.p_value > 0.05
    assert result.low < 0 < result.high


def test_paired_bootstrap_two_sided_doubles_the_p_value() -> None:
    rng = np.random.default_rng(12)
    y_true = rng.integers(0, 2, size=200)
    a = np.where(rng.random(200) < 0.8, y_true, 1 - y_true)
    b = np.where(rng.random(200) < 0.76, y_true, 1 - y_true)
    one = metrics.paired_bootstrap(metrics.accuracy, y_true, a, b)
    two = metrics.paired_bootstrap(metrics.accuracy, y_true, a, b, two_sided=True)
    assert 0 < one.p_value < 0.5
    assert two.p_value == pytest.approx(2 * one.p_value)


def test_paired_bootstrap_works_for_corpus_bleu() -> None:
    rng = random.Random(13)
    refs = random_sentences(rng, 80)
    close = noisy_copies(rng, refs)
    far = [" ".join(rng.choices(WORDS, k=6)) for _ in refs]
    result = metrics.paired_bootstrap(metrics.bleu, refs, close, far, n_resamples=200)
    assert result.delta == pytest.approx(
        corpus_bleu(close, [refs]).score - corpus_bleu(far, [refs]).score
    )
    assert result.p_value < 0.05


# ---------------------------------------------------------------------------- bundles


def test_evaluate_classification_bundles_json_able_results() -> None:
    y_true = ["pos", "neg", "neu", "pos", "neg", "pos"] * 10
    y_pred = ["pos", "neg", "pos", "pos", "neu", "pos"] * 10
    probs = np.random.default_rng(14).dirichlet([1, 1, 1], size=60)
    result = json.loads(
        json.dumps(metrics.evaluate_classification(y_true, y_pred, probs=probs, n_resamples=100))
    )
    assert result["accuracy"]["value"] == pytest.approx(accuracy_score(y_true, y_pred))
    assert result["macro_f1"]["value"] == pytest.approx(
        f1_score(y_true, y_pred, average="macro", zero_division=0)
    )
    assert result["accuracy"]["low"] < result["accuracy"]["value"] < result["accuracy"]["high"]
    assert set(result["per_class"]) == {"neg", "neu", "pos"}
    assert result["ece"]["n"] == 60


def test_evaluate_classification_without_probs_or_ci() -> None:
    result = metrics.evaluate_classification([0, 1, 1], [0, 1, 0], ci=False)
    assert "ece" not in result
    assert result["accuracy"] == {"value": 2 / 3, "low": 2 / 3, "high": 2 / 3, "n": 3}


def test_evaluate_generation_bundles_json_able_results() -> None:
    refs = ["今天天气很好", "我们去公园散步吧", "机器翻译的质量越来越高", "你好"] * 5
    hyps = ["今天天气不错", "我们去公园走走吧", "机器翻译质量越来越好", "你好"] * 5
    result = json.loads(
        json.dumps(metrics.evaluate_generation(refs, hyps, bleu_tokenize="zh", n_resamples=100))
    )
    assert result["bleu"]["value"] == pytest.approx(corpus_bleu(hyps, [refs], tokenize="zh").score)
    assert result["chrf"]["value"] == pytest.approx(corpus_chrf(hyps, [refs]).score)
    assert result["exact_match"]["value"] == pytest.approx(0.25)
    assert result["rouge_l"]["value"] == pytest.approx(
        metrics.rouge_l(refs, hyps, tokenizer="char")
    )
    assert result["rouge_l"]["value"] != pytest.approx(
        metrics.rouge_l(refs, hyps, tokenizer="word")
    )
