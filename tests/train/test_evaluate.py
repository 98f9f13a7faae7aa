"""The evaluation harness: task configs, metrics with intervals, provenance, baselines,
contamination and splitting.

Models are tiny Llamas (one layer, hidden 32) with a character tokenizer built per module, so
each evaluation takes well under a second on CPU.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from tests.train.conftest import (
    TOKENIZER_TEXTS,
    classification_task,
    sentiment_records,
)
from zslab.corpus.dedup import normalize_text
from zslab.train.evaluate import (
    EvalResult,
    comparable,
    compare,
    contamination_report,
    data_hash,
    evaluate,
    hash_split,
    load_records,
    load_task,
    tfidf_baseline,
)
from zslab.train.models import build_tiny_model, load_model, model_hash


@pytest.fixture(scope="module")
def clf_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(
        tmp_path_factory.mktemp("clf"),
        texts=TOKENIZER_TEXTS,
        hidden_size=32,
        layers=1,
        heads=2,
        vocab_size=300,
        task="classification",
    )


@pytest.fixture(scope="module")
def lm_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(
        tmp_path_factory.mktemp("lm"),
        texts=TOKENIZER_TEXTS,
        hidden_size=32,
        layers=1,
        heads=2,
        vocab_size=300,
        task="causal-lm",
    )


# --- task configs ----------------------------------------------------------------------------


def test_task_yaml_round_trip_keeps_every_field_and_hash(tmp_path: Path) -> None:
    task = load_task(
        {
            "name": "gen",
            "type": "generation",
            "data": "gen.jsonl",
            "max_length": 64,
            "batch_size": 2,
            "generation": {"max_new_tokens": 5, "greedy": False},
            "metrics": {"n_resamples": 50, "confidence": 0.9},
            "contamination_card": "corpus/out",
            "seed": 7,
        }
    )
    path = tmp_path / "task.yaml"
    path.write_text(task.to_yaml(), encoding="utf-8")

    loaded = load_task(path)

    assert loaded == task
    assert loaded.to_config() == task.to_config()
    assert loaded.task_hash() == task.task_hash()
    assert loaded.data_path() == tmp_path / "gen.jsonl"  # relative to the YAML file


def test_task_hash_is_sha256_of_canonical_json_and_ignores_key_order() -> None:
    config = classification_task(sentiment_records(4))
    reordered = dict(reversed(list(config.items())))
    task = load_task(config)

    canonical = json.dumps(
        task.to_config(), sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    assert task.task_hash() == hashlib.sha256(canonical.encode()).hexdigest()
    assert load_task(reordered).task_hash() == task.task_hash()
    assert load_task({**config, "batch_size": 8}).task_hash() != task.task_hash()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"type": "ranking"}, "'type'"),
        ({"batch_size": 0}, "'batch_size'"),
        ({"max_length": "long"}, "'max_length'"),
        ({"label_names": None}, "'label_names'"),
        ({"label_names": ["pos", "pos"]}, "'label_names'"),
        ({"data": []}, "'data'"),
        ({"generation": {"max_new_tokens": -1}}, "'generation.max_new_tokens'"),
        ({"generation": {"temperature": 0.7}}, "'generation.temperature'"),
        ({"metrics": {"confidence": 1.5}}, "'metrics.confidence'"),
        ({"metrics": {"n_resamples": 0}}, "'metrics.n_resamples'"),
        ({"seed": "zero"}, "'seed'"),
        ({"epochs": 3}, "'epochs'"),
    ],
)
def test_bad_task_config_error_names_the_field(change: dict[str, Any], field: str) -> None:
    config = {**classification_task(sentiment_records(4)), **change}

    with pytest.raises(ValueError, match=field):
        load_task(config)


def test_record_missing_its_field_is_named() -> None:
    task = load_task({"name": "gen", "type": "generation", "data": [{"prompt": "问"}]})

    with pytest.raises(ValueError, match="'reference'"):
        load_records(task)


def test_records_load_from_jsonl_and_parquet_alike(tmp_path: Path) -> None:
    records = sentiment_records(6)
    (tmp_path / "d.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8"
    )
    pq.write_table(pa.Table.from_pylist(records), tmp_path / "d.parquet")

    from_jsonl = load_records(load_task(classification_task(str(tmp_path / "d.jsonl"))))
    from_parquet = load_records(load_task(classification_task(str(tmp_path / "d.parquet"))))

    assert from_jsonl == from_parquet == records
    assert data_hash(from_jsonl) == data_hash(records)


# --- classification --------------------------------------------------------------------------


def test_classification_eval_writes_metrics_predictions_and_hashes(
    clf_model: Path, tmp_path: Path
) -> None:
    records = sentiment_records(12)
    task = load_task(classification_task(records))
    out = tmp_path / "eval"

    result = evaluate(clf_model, task, output_dir=out)

    for name in ("accuracy", "macro_f1", "ece"):
        m = result.metrics[name]
        assert 0.0 <= m["low"] <= m["value"] <= m["high"] <= 1.0, name
        assert m["n"] == 12
    assert set(result.metrics["per_class"]) == {"neg", "pos"}
    rows = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == [r["id"] for r in records]
    assert all(math.isclose(sum(r["probabilities"].values()), 1.0, rel_tol=1e-5) for r in rows)
    assert np.mean([r["correct"] for r in rows]) == pytest.approx(
        result.metrics["accuracy"]["value"]
    )
    saved = json.loads((out / "results.json").read_text())
    assert saved["task_hash"] == task.task_hash()
    assert saved["model_hash"] == model_hash(clf_model)
    assert saved["data_hash"] == data_hash(records)
    assert saved["task"]["name"] == "sentiment"
    assert saved["throughput"]["examples_per_s"] > 0
    assert saved["throughput"]["latency_ms_p95"] >= saved["throughput"]["latency_ms_p50"] > 0
    assert saved["environment"]["packages"]["torch"] in torch.__version__


def test_saved_result_loads_back_equal(clf_model: Path, tmp_path: Path) -> None:
    result = evaluate(clf_model, classification_task(sentiment_records(6)), output_dir=tmp_path)

    loaded = EvalResult.load(tmp_path)

    assert loaded.to_json() == json.loads(json.dumps(result.to_json()))
    assert loaded.predictions == json.loads(json.dumps(result.predictions))


def test_comparable_for_other_model_but_not_other_data_or_task(clf_model: Path) -> None:
    records = sentiment_records(8)
    first = evaluate(clf_model, classification_task(records))
    model, tokenizer = load_model(clf_model, task="classification", label_names=["neg", "pos"])
    with torch.no_grad():
        next(model.parameters()).add_(1.0)  # another model: its hash changes
    other_model = evaluate(model, classification_task(records), tokenizer=tokenizer)
    other_data = evaluate(clf_model, classification_task(sentiment_records(8, seed=1)))
    other_task = evaluate(clf_model, classification_task(records, batch_size=2))

    assert other_model.model_hash != first.model_hash
    assert comparable(first, other_model) == (True, [])
    ok, reasons = comparable(first, other_data)
    assert not ok and any(r.startswith("data_hash differs") for r in reasons)
    ok, reasons = comparable(first.to_json(), other_task.to_json())
    assert not ok and reasons == [f"task_hash differs: {first.task_hash} vs {other_task.task_hash}"]


def test_loaded_model_without_tokenizer_is_refused(clf_model: Path) -> None:
    model, _ = load_model(clf_model, task="classification", label_names=["neg", "pos"])

    with pytest.raises(ValueError, match="tokenizer"):
        evaluate(model, classification_task(sentiment_records(4)))


# --- language modelling ----------------------------------------------------------------------


def test_lm_perplexity_is_exp_of_mean_token_nll_on_one_batch(lm_model: Path) -> None:
    texts = ["今天天气很好", "质量很好非常满意", "hello world", "物流很快"]
    task = {
        "name": "lm",
        "type": "language-modeling",
        "data": [{"text": t} for t in texts],
        "batch_size": 8,
        "metrics": {"n_resamples": 100},
    }

    result = evaluate(lm_model, task)

    model, tok = load_model(lm_model)
    rows = [[tok.bos_token_id, *tok.encode(t, add_special_tokens=False)] for t in texts]
    width = max(map(len, rows))
    ids = torch.tensor([r + [tok.pad_token_id] * (width - len(r)) for r in rows])
    mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows])
    labels = ids.masked_fill(mask == 0, -100)
    with torch.no_grad():
        loss = float(model(input_ids=ids, attention_mask=mask, labels=labels).loss)
    ppl = result.metrics["perplexity"]
    assert math.isfinite(ppl["value"])
    assert ppl["value"] == pytest.approx(math.exp(loss), rel=1e-4)
    assert ppl["low"] <= ppl["value"] <= ppl["high"]
    assert result.metrics["tokens"] == int(mask.sum()) - len(texts)
    bpc = loss * result.metrics["tokens"] / (sum(map(len, texts)) * math.log(2))
    assert result.metrics["bits_per_character"]["value"] == pytest.approx(bpc, rel=1e-4)


# --- generation ------------------------------------------------------------------------------


def test_greedy_generation_eval_runs_and_repeats(lm_model: Path, tmp_path: Path) -> None:
    task = {
        "name": "gen",
        "type": "generation",
        "data": [
            {"prompt": "今天天气", "reference": "很好"},
            {"prompt": "质量", "reference": "很好"},
            {"prompt": "物流很", "reference": "快"},
        ],
        "batch_size": 2,
        "generation": {"max_new_tokens": 3, "greedy": True},
        "metrics": {"n_resamples": 50},
    }

    first = evaluate(lm_model, task, output_dir=tmp_path)
    second = evaluate(lm_model, task)

    for name in ("exact_match", "chrf", "bleu", "rouge_l"):
        m = first.metrics[name]
        assert m["low"] <= m["value"] <= m["high"], name
    assert [p["prediction"] for p in first.predictions] == [
        p["prediction"] for p in second.predictions
    ]
    rows = (tmp_path / "predictions.jsonl").read_text().splitlines()
    assert [json.loads(r)["reference"] for r in rows] == ["很好", "很好", "快"]
    assert first.throughput["tokens"] > 0


# --- baselines -------------------------------------------------------------------------------


def test_tfidf_baseline_beats_chance_and_a_random_guesser() -> None:
    train, test = sentiment_records(200, seed=0), sentiment_records(120, seed=1)
    test = [{**r, "id": f"t{i}"} for i, r in enumerate(test)]
    rng = random.Random(3)
    guesses = [{"id": r["id"], "correct": rng.choice(["pos", "neg"]) == r["label"]} for r in test]

    base = tfidf_baseline(train, test, n_resamples=500)
    vs_random = compare(base, guesses, baseline_name="random")

    assert base.metrics["accuracy"]["low"] > 0.8
    assert vs_random["baseline_name"] == "random"
    assert vs_random["delta"] > 0.2
    assert vs_random["p_value"] < 0.05


def test_evaluate_compares_with_the_tfidf_baseline_per_example(clf_model: Path) -> None:
    train, test = sentiment_records(60, seed=0), sentiment_records(16, seed=1)
    base = tfidf_baseline(train, test, n_resamples=100)

    result = evaluate(clf_model, classification_task(test), baseline=base)

    assert base.data_hash == result.data_hash
    comparison = result.comparison
    assert comparison is not None and comparison["baseline_name"] == "tfidf-logreg"
    expected = result.metrics["accuracy"]["value"] - base.metrics["accuracy"]["value"]
    assert comparison["delta"] == pytest.approx(expected)
    assert comparison["low"] <= comparison["delta"] <= comparison["high"]
    assert 0.0 <= comparison["p_value"] <= 1.0


def test_baseline_on_other_examples_is_refused(clf_model: Path) -> None:
    base = tfidf_baseline(sentiment_records(40), sentiment_records(10, seed=5), n_resamples=50)

    with pytest.raises(ValueError, match="other examples"):
        evaluate(clf_model, classification_task(sentiment_records(10)), baseline=base)


# --- contamination ---------------------------------------------------------------------------

TRAIN_DOCS = [
    "人民日报社论指出今年的经济工作要坚持稳中求进的总基调推动高质量发展取得新成效",
    "The committee said that the new rules would apply to every school in the district "
    "starting next autumn after a long public consultation.",
    "春节期间全国铁路发送旅客人数创下新高各地车站秩序井然",
]


def write_corpus(folder: Path) -> Path:
    folder.mkdir()
    table = pa.table({"id": ["d0", "d1", "d2"], "text": TRAIN_DOCS})
    pq.write_table(table, folder / "shard-00000.parquet")
    card = {"name": "toy", "output": {"shards": [{"file": "shard-00000.parquet"}]}}
    (folder / "datacard.json").write_text(json.dumps(card), encoding="utf-8")
    return folder


def test_contamination_report_finds_planted_overlap_only(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    texts = [
        "问题：" + TRAIN_DOCS[0][3:30] + "？",  # 27 CJK characters copied from training
        "北京冬天的风很大但是阳光充足人们喜欢在公园里散步聊天锻炼身体",  # clean
        "Quiz: the new rules would apply to every school in the district starting next autumn",
        "the new rules would apply to every school",  # 8 words: shorter than a 13-word span
    ]

    report = contamination_report(texts, corpus / "datacard.json", ids=["a", "b", "c", "d"])

    assert report["contaminated_ids"] == ["a", "c"]
    assert report["training_matches"] == {"a": ["d0"], "c": ["d1"]}
    assert report["training_documents"] == 3
    assert report["contaminated"] == 2
    assert contamination_report(texts, corpus)["contaminated_ids"] == ["0", "2"]


def test_task_with_a_card_reports_contamination_in_results(lm_model: Path, tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    task = {
        "name": "lm",
        "type": "language-modeling",
        "data": [{"id": "leak", "text": TRAIN_DOCS[2]}, {"id": "ok", "text": "今天天气很好"}],
        "contamination_card": str(corpus),
        "metrics": {"n_resamples": 20},
    }

    evaluate(lm_model, task, output_dir=tmp_path / "out")

    saved = json.loads((tmp_path / "out" / "results.json").read_text())
    assert saved["contamination"]["contaminated_ids"] == ["leak"]


# --- splitting -------------------------------------------------------------------------------


def test_hash_split_is_deterministic_disjoint_and_leak_free() -> None:
    records = [{"text": f"review number {i} says ok"} for i in range(1000)]
    # Near-duplicates that differ only in case, punctuation and spacing.
    records += [{"text": f"Review number {i}, says OK!"} for i in range(0, 1000, 7)]
    shuffled = records[:]
    random.Random(0).shuffle(shuffled)

    train, test = hash_split(records, test_fraction=0.2)
    train2, test2 = hash_split(shuffled, test_fraction=0.2)

    key = {normalize_text(r["text"]) for r in test}
    assert key == {normalize_text(r["text"]) for r in test2}
    assert {normalize_text(r["text"]) for r in train} == {normalize_text(r["text"]) for r in train2}
    assert not key & {normalize_text(r["text"]) for r in train}
    assert len(key) == len(test)  # no exact (normalized) duplicates within test
    assert len(train) + len(test) == 1000
    assert 0.15 < len(test) / 1000 < 0.25


def test_hash_split_without_dedup_keeps_duplicates_on_one_side() -> None:
    records = [{"text": "同一句话。"}, {"text": "同一句话"}] * 20 + [
        {"text": f"第{i}句"} for i in range(50)
    ]

    train, test = hash_split(records, dedup=False, test_fraction=0.3)

    assert len(train) + len(test) == len(records)
    sides = {
        "train" if any(r["text"].startswith("同一") for r in train) else None,
        "test" if any(r["text"].startswith("同一") for r in test) else None,
    } - {None}
    assert len(sides) == 1
