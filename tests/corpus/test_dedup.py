"""Deduplication (zslab.corpus.dedup): exact and MinHash, against plain-Python references."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import xxhash
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.corpus.conftest import EN_BUDGET, EN_HARBOUR, EN_MUSIC, ZH_FARMS, ZH_PARKS, ZH_SCHOOLS
from zslab.corpus.core import StepStats, make_step, texts
from zslab.corpus.decontam import Decontaminate
from zslab.corpus.dedup import (
    ExactDedup,
    MinHashDedup,
    MinHasher,
    duplicates_in,
    estimate_jaccard,
    is_cjk_dominant,
    normalize_text,
    optimal_bands_rows,
    partition_by_hash,
    s_curve,
    shingle_hashes,
    span_hashes,
)

# --- real text ---------------------------------------------------------------------------------

ZH_FARMS_EDITED = ZH_FARMS.replace("十二万亩", "十三万亩").replace("四千多元", "五千多元")
EN_BUDGET_EDITED = EN_BUDGET.replace("Tuesday", "Wednesday")


# --- an independent shingler: plain Python, string shingles ------------------------------------

_CJK = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")


def plain_shingles(text: str, char_ngram: int = 5, word_ngram: int = 3) -> list[tuple[str, ...]]:
    """MinHash's shingles as the module documents them, computed with str methods and re."""
    text = text.lower()
    cjk = [c for c in text if c.isalnum() and _CJK.match(c)]
    words = re.findall(r"[^\W_]+", _CJK.sub(" ", text))
    if cjk and len(cjk) >= len(words):
        units, n = [c for c in text if c.isalnum()], char_ngram
    else:
        units, n = re.findall(r"[^\W_]+", text), word_ngram
    if not units:
        return []
    if len(units) < n:
        return [tuple(units)]
    return [tuple(units[i : i + n]) for i in range(len(units) - n + 1)]


def true_jaccard(a: str, b: str) -> float:
    sa, sb = set(plain_shingles(a)), set(plain_shingles(b))
    return len(sa & sb) / len(sa | sb)


def corpus(rows: dict[str, str]) -> pa.Table:
    return texts({"id": k, "text": v} for k, v in rows.items())


def run_select(step: ExactDedup | MinHashDedup, *shards: dict[str, str]) -> dict[str, str]:
    return step.select([step.fingerprint(corpus(s)) for s in shards], StepStats(step.name))


# --- exact dedup -------------------------------------------------------------------------------


def test_normalize_text_drops_case_punctuation_and_spacing_differences() -> None:
    assert normalize_text("  Hello,\tWORLD!! ") == normalize_text("hello world") == "hello world"
    assert normalize_text("今天，天气 很好。") == normalize_text("今天天气很好") == "今天天气很好"
    assert normalize_text("「你好」, Python！") == "你好python"


def test_exact_dedup_keeps_the_smallest_id_of_each_duplicate_group() -> None:
    drops = run_select(
        ExactDedup(),
        {
            "d3": "The committee met on Tuesday.",
            "d1": "the committee   met on tuesday",
            "d2": "THE COMMITTEE MET ON TUESDAY!!!",
            "z9": "今天，天气很好。",
            "a5": "今天天气很好",
            "m0": "今天天气不好",
        },
    )
    assert drops == {
        "d2": "exact_dedup:duplicate",
        "d3": "exact_dedup:duplicate",
        "z9": "exact_dedup:duplicate",
    }


def test_exact_dedup_without_normalize_compares_raw_text() -> None:
    drops = run_select(
        ExactDedup(normalize=False),
        {"a": "Hello world", "b": "hello world", "c": "Hello world"},
    )
    assert drops == {"c": "exact_dedup:duplicate"}


def test_exact_dedup_reports_cluster_sizes() -> None:
    stats = StepStats("exact_dedup")
    step = ExactDedup()
    rows = {"a": "x y", "b": "X Y", "c": "x, y", "d": "p q", "e": "P Q", "f": "alone"}
    step.select([step.fingerprint(corpus(rows))], stats)
    assert stats.details["clusters"] == {"2": 1, "3": 1}


@pytest.mark.parametrize("k", [1, 2, 3, 7, 64])
def test_buckets_by_hash_prefix_give_the_same_drops_as_select(k: int) -> None:
    step = ExactDedup()
    shards = [{f"s{s}-{i}": f"document number {i % 13}" for i in range(40)} for s in range(3)]
    fingerprints = [step.fingerprint(corpus(s)) for s in shards]
    buckets = partition_by_hash(fingerprints, k)
    survivor_of: dict[str, str] = {}
    for bucket in buckets:
        survivor_of.update(duplicates_in(bucket))
    expected = step.select(fingerprints, StepStats(step.name))
    assert len(buckets) == k
    assert sum(b.num_rows for b in buckets) == 120
    assert sorted(survivor_of) == sorted(expected)
    bucket_sets = [set(b.column("hash").to_pylist()) for b in buckets]
    assert sum(len(s) for s in bucket_sets) == len(set().union(*bucket_sets))  # no hash split


# --- shingles and signatures ---------------------------------------------------------------------


def test_cjk_dominance_compares_cjk_characters_with_other_words() -> None:
    assert is_cjk_dominant(ZH_FARMS)
    assert is_cjk_dominant("我们用Python编程")
    assert not is_cjk_dominant("a 中文 quote in an English sentence")
    assert not is_cjk_dominant("")


MIXED = [
    ZH_FARMS,
    EN_BUDGET,
    "",
    "，。！",
    "Hi",
    "中",
    "two words",
    "我们用Python编程，效率很高",
    "Ｆｕｌｌ-width ＡＢＣ and 日本語のテキスト",
    "snake_case and CamelCase 42 times",
    "한국어 문장 테스트 입니다 정말",
]


def test_shingle_hashes_match_a_plain_python_shingler() -> None:
    batch = shingle_hashes(MIXED)
    hash_of: dict[tuple[str, ...], int] = {}
    shingle_of: dict[int, tuple[str, ...]] = {}
    for i, text in enumerate(MIXED):
        expected = plain_shingles(text)
        got = batch.of(i).tolist()
        assert len(got) == len(expected), text
        for shingle, h in zip(expected, got, strict=True):
            assert hash_of.setdefault(shingle, h) == h
            assert shingle_of.setdefault(h, shingle) == shingle


def test_shingle_hashes_of_a_batch_equal_those_of_each_text_alone() -> None:
    batch = shingle_hashes(MIXED)
    for i, text in enumerate(MIXED):
        assert np.array_equal(shingle_hashes([text]).hashes, batch.of(i))


def test_span_hashes_read_words_and_cjk_characters_as_separate_streams() -> None:
    english = " ".join(f"w{i}" for i in range(15))  # 15 words -> 3 spans of 13
    chinese = ZH_PARKS[:30]  # 30 characters incl. punctuation
    cjk_chars = sum(1 for c in chinese if _CJK.match(c))
    spans = span_hashes([english, chinese, english + chinese], word_ngram=13, cjk_ngram=23)
    assert len(spans.of(0)) == 3
    assert len(spans.of(1)) == cjk_chars - 22
    assert sorted(spans.of(2).tolist()) == sorted(spans.of(0).tolist() + spans.of(1).tolist())


PAIRS = [
    (ZH_FARMS, ZH_FARMS_EDITED),
    (EN_BUDGET, EN_BUDGET_EDITED),
    (EN_BUDGET, EN_BUDGET[: len(EN_BUDGET) // 2]),
    (ZH_PARKS, ZH_PARKS[40:]),
    (EN_HARBOUR, EN_MUSIC),
]


@pytest.mark.parametrize(("a", "b"), PAIRS)
def test_minhash_estimate_is_within_0_1_of_the_true_jaccard(a: str, b: str) -> None:
    signatures = MinHasher(num_perm=128, seed=7).signatures([a, b])
    assert abs(estimate_jaccard(signatures[0], signatures[1]) - true_jaccard(a, b)) <= 0.1


def _set_pairs(rng: np.random.Generator, count: int) -> list[tuple[list[str], list[str], float]]:
    """Random shingle-set pairs with Jaccard similarity spread over [0, 1]."""
    pairs = []
    for p in range(count):
        common = int(rng.integers(0, 400))
        only_a, only_b = (int(x) for x in rng.integers(0, 200, size=2))
        shared = [f"s{p}-{i}" for i in range(common)]
        a = shared + [f"a{p}-{i}" for i in range(only_a)]
        b = shared + [f"b{p}-{i}" for i in range(only_b)]
        if a and b:
            pairs.append((a, b, common / (common + only_a + only_b)))
    return pairs


def test_signatures_agree_with_datasketch_statistically() -> None:
    datasketch = pytest.importorskip("datasketch")
    hasher = MinHasher(num_perm=128, seed=3)
    ours, theirs, truth = [], [], []
    for a, b, jaccard in _set_pairs(np.random.default_rng(11), 80):
        values = [
            np.array([xxhash.xxh32_intdigest(s.encode()) for s in x], np.uint32) for x in (a, b)
        ]
        offsets = np.array([0, len(a), len(a) + len(b)])
        sig = hasher.signatures_of(np.concatenate(values), offsets)
        ours.append(estimate_jaccard(sig[0], sig[1]))
        ma, mb = datasketch.MinHash(num_perm=128, seed=3), datasketch.MinHash(num_perm=128, seed=3)
        ma.update_batch([s.encode() for s in a])
        mb.update_batch([s.encode() for s in b])
        theirs.append(ma.jaccard(mb))
        truth.append(jaccard)
    ours_error = np.array(ours) - np.array(truth)
    theirs_error = np.array(theirs) - np.array(truth)
    # Each estimate is Binomial(128, J) / 128: standard deviation at most 0.044, so over 80
    # pairs a bias of 0.02 is more than 4 standard errors.
    assert abs(ours_error.mean()) < 0.02
    assert abs(theirs_error.mean()) < 0.02
    assert abs(ours_error.std() - theirs_error.std()) < 0.015
    assert np.abs(np.array(ours) - np.array(theirs)).max() < 0.2


def test_empty_text_has_an_all_max_signature() -> None:
    signatures = MinHasher(num_perm=16).signatures(["", "，。", "hello there"])
    assert (signatures[:2] == 0xFFFFFFFF).all()
    assert (signatures[2] != 0xFFFFFFFF).any()


# --- LSH parameters ------------------------------------------------------------------------------


def test_s_curve_rises_monotonically_and_is_about_half_at_the_threshold() -> None:
    bands, rows = optimal_bands_rows(0.8, 128)
    curve = s_curve(bands, rows)
    probabilities = [p for _, p in curve]
    assert [s for s, _ in curve] == pytest.approx([i / 20 for i in range(21)])
    assert probabilities == sorted(probabilities)
    assert probabilities[0] == 0.0 and probabilities[-1] == 1.0
    assert 0.3 <= dict(curve)[0.8] <= 0.7


@pytest.mark.parametrize(
    ("threshold", "num_perm", "weights"),
    [(0.8, 128, (0.5, 0.5)), (0.5, 64, (0.5, 0.5)), (0.8, 128, (0.1, 0.9))],
)
def test_optimal_bands_rows_match_datasketch(
    threshold: float, num_perm: int, weights: tuple[float, float]
) -> None:
    lsh = pytest.importorskip("datasketch.lsh")
    expected = lsh._optimal_param(threshold, num_perm, *weights)
    got = optimal_bands_rows(
        threshold, num_perm, false_positive_weight=weights[0], false_negative_weight=weights[1]
    )
    assert got == expected


def test_explicit_bands_and_rows_override_the_optimum() -> None:
    assert MinHashDedup(bands=16, rows=8).band_rows == (16, 8)
    assert MinHashDedup().band_rows == optimal_bands_rows(
        0.8, 128, false_positive_weight=0.1, false_negative_weight=0.9
    )


# --- near-duplicate clusters ---------------------------------------------------------------------


def test_near_duplicates_cluster_and_unrelated_texts_do_not() -> None:
    assert true_jaccard(ZH_FARMS, ZH_FARMS_EDITED) >= 0.8
    assert true_jaccard(EN_BUDGET, EN_BUDGET_EDITED) >= 0.8
    drops = run_select(
        MinHashDedup(),
        {
            "zh-2": ZH_FARMS_EDITED,
            "zh-1": ZH_FARMS,
            "zh-3": ZH_PARKS,
            "zh-4": ZH_SCHOOLS,
            "en-1": EN_BUDGET_EDITED,
            "en-2": EN_BUDGET,
            "en-3": EN_HARBOUR,
            "en-4": EN_MUSIC,
        },
    )
    assert drops == {"zh-2": "minhash_dedup:near_duplicate", "en-2": "minhash_dedup:near_duplicate"}


def test_pairs_below_the_threshold_are_kept_even_when_they_are_candidates() -> None:
    half = ZH_PARKS[: len(ZH_PARKS) * 3 // 4]
    assert 0.5 < true_jaccard(ZH_PARKS, half) < 0.8
    step = MinHashDedup(bands=32, rows=4)  # candidates from Jaccard ~0.3 up
    stats = StepStats(step.name)
    drops = step.select([step.fingerprint(corpus({"a": ZH_PARKS, "b": half}))], stats)
    assert drops == {}
    assert stats.details["candidate_pairs"] == 1
    assert stats.details["verified_pairs"] == 0


def test_a_cluster_spread_over_three_shards_keeps_one_survivor() -> None:
    drops = run_select(
        MinHashDedup(),
        {"shard1-b": EN_BUDGET_EDITED, "shard1-x": EN_MUSIC},
        {"shard2-a": EN_BUDGET, "shard2-y": ZH_SCHOOLS},
        {"shard3-c": EN_BUDGET.replace("autumn", "winter"), "shard3-z": EN_HARBOUR},
    )
    assert drops == {  # the survivor is the smallest id, whichever text came first
        "shard2-a": "minhash_dedup:near_duplicate",
        "shard3-c": "minhash_dedup:near_duplicate",
    }


def _chain() -> tuple[str, str, str]:
    """A ~ B and B ~ C above 0.8, but A and C below it."""
    words = (EN_BUDGET + " " + EN_HARBOUR).split()
    b_words = list(words)
    for i in (5, 15, 25):  # each changed word changes 3 of ~140 word 3-grams
        b_words[i] = f"changed{i}"
    c_words = list(b_words)
    for i in (-5, -15, -25):
        c_words[i] = f"altered{i}"
    return " ".join(words), " ".join(b_words), " ".join(c_words)


def test_similarity_is_transitive_within_a_cluster() -> None:
    a, b, c = _chain()
    assert true_jaccard(a, b) >= 0.8 and true_jaccard(b, c) >= 0.8
    assert true_jaccard(a, c) < 0.8
    step = MinHashDedup(bands=32, rows=4)  # every pair above 0.6 is a candidate
    stats = StepStats(step.name)
    drops = step.select([step.fingerprint(corpus({"c": c, "a": a, "b": b}))], stats)
    assert drops == {"b": "minhash_dedup:near_duplicate", "c": "minhash_dedup:near_duplicate"}
    assert stats.details["clusters"] == {"3": 1}


def test_verifying_by_signature_estimate_needs_no_shingle_column() -> None:
    step = MinHashDedup(verify_exact=False)
    fingerprint = step.fingerprint(corpus({"b": EN_BUDGET_EDITED, "a": EN_BUDGET, "c": EN_MUSIC}))
    assert "shingles" not in fingerprint.column_names
    assert step.select([fingerprint], StepStats(step.name)) == {"b": "minhash_dedup:near_duplicate"}


def test_select_reports_clusters_pairs_and_the_s_curve() -> None:
    step = MinHashDedup()
    stats = StepStats(step.name)
    rows = {"1": ZH_FARMS, "2": ZH_FARMS_EDITED, "3": ZH_FARMS, "4": EN_MUSIC}
    step.select([step.fingerprint(corpus(rows))], stats)
    details = stats.details
    assert details["clusters"] == {"3": 1}
    assert details["verified_pairs"] == 2  # two edges join three documents
    assert details["candidate_pairs"] >= 2
    assert (details["bands"], details["rows"]) == step.band_rows
    assert len(details["s_curve"]) == 21
    json.dumps(details)  # goes into the data card as is


def test_fingerprint_tables_hold_what_select_needs() -> None:
    step = MinHashDedup(num_perm=64, bands=8, rows=8)
    fingerprint = step.fingerprint(corpus({"a": EN_MUSIC, "b": ""}))
    assert fingerprint.column_names == ["id", "n_shingles", "signature", "band_keys", "shingles"]
    assert fingerprint.column("signature").type == pa.binary(4 * 64)
    assert fingerprint.column("n_shingles").to_pylist() == [len(plain_shingles(EN_MUSIC)), 0]


def test_documents_without_shingles_are_never_near_duplicates() -> None:
    assert run_select(MinHashDedup(), {"a": "", "b": "，。", "c": "!!"}) == {}


# --- idempotence ---------------------------------------------------------------------------------

SENTENCES = [
    "The committee met on Tuesday.",
    "the fishing boats leave the harbour one by one",
    "Short daily practice sessions work better.",
    "今年以来，我市坚持发展现代农业。",
    "城区各大公园迎来赏花高峰。",
    "课后服务坚持学生自愿参加原则",
]


def _survivors(step: ExactDedup | MinHashDedup, rows: dict[str, str]) -> dict[str, str]:
    drops = step.select([step.fingerprint(corpus(rows))], StepStats(step.name))
    return {k: v for k, v in rows.items() if k not in drops}


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    docs=st.lists(
        st.lists(st.sampled_from(SENTENCES), min_size=1, max_size=8).map(" ".join),
        min_size=1,
        max_size=25,
    ),
    noise=st.lists(st.sampled_from(["", "!", "  ", "，"]), min_size=25, max_size=25),
)
def test_dedup_is_idempotent(docs: list[str], noise: Sequence[str]) -> None:
    rows = {f"d{i:02d}": text + noise[i] for i, text in enumerate(docs)}
    for step in (ExactDedup(), MinHashDedup(threshold=0.7, num_perm=64)):
        survivors = _survivors(step, rows)
        assert step.select([step.fingerprint(corpus(survivors))], StepStats(step.name)) == {}


# --- configuration -------------------------------------------------------------------------------


def test_make_step_builds_each_step_with_its_parameters(eval_set: Path) -> None:
    exact = make_step({"exact_dedup": {"normalize": False}})
    near = make_step({"minhash_dedup": {"threshold": 0.7, "num_perm": 64, "char_ngram": 4}})
    decontam = make_step({"decontaminate": {"eval_sets": [str(eval_set)], "action": "flag"}})
    assert isinstance(exact, ExactDedup) and exact.normalize is False
    assert isinstance(near, MinHashDedup) and near.band_rows == optimal_bands_rows(
        0.7, 64, false_positive_weight=0.1, false_negative_weight=0.9
    )
    assert isinstance(decontam, Decontaminate) and decontam.action == "flag"
    assert make_step(near.to_config()) == near


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"minhash_dedup": {"bands": 4}}, "both bands and rows"),
        ({"minhash_dedup": {"bands": 20, "rows": 10}}, "at most num_perm"),
        ({"minhash_dedup": {"threshold": 1.5}}, "threshold"),
        ({"decontaminate": {}}, "needs eval_sets"),
        ({"decontaminate": {"eval_sets": ["x.jsonl"], "action": "erase"}}, "action"),
    ],
)
def test_invalid_parameters_are_rejected_with_a_reason(
    config: dict[str, dict[str, object]], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        make_step(config)
