"""Classifier ensembles: soft voting, backward members, save/load, evaluate, bad input.

Members are tiny Llama classifiers (one layer, hidden 32, character tokenizer) with different
random weights, so their probabilities differ and averaging is visible.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from tests.train.conftest import TOKENIZER_TEXTS, classification_task, sentiment_records
from zslab.train.ensemble import ClassifierEnsemble, Member, is_ensemble, load_ensemble
from zslab.train.evaluate import evaluate, tfidf_baseline
from zslab.train.models import build_tiny_model, load_model

LABELS = ("neg", "pos")
TEXTS = ["质量很好非常满意", "差评退货", "这个东西说实话包装破损", "好"]


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return [
        build_tiny_model(
            tmp_path_factory.mktemp(f"member{seed}"),
            texts=TOKENIZER_TEXTS,
            hidden_size=32,
            layers=1,
            heads=2,
            vocab_size=300,
            seed=seed,
            task="classification",
        )
        for seed in (0, 1, 2)
    ]


def member(folder: Path, **extra: Any) -> Member:
    model, tok = load_model(folder, task="classification", label_names=LABELS)
    return Member(model, tok, **extra)


def own_probs(m: Member, texts: list[str]) -> np.ndarray:
    """What the member's model says on its own, encoded as training encodes (no specials)."""
    rows = [m.tokenizer.encode(t, add_special_tokens=False) for t in texts]
    out = []
    with torch.no_grad():
        for row in rows:
            logits = m.model(input_ids=torch.tensor([row])).logits
            out.append(torch.softmax(logits.float(), dim=-1)[0].numpy())
    return np.array(out)


# --- voting ----------------------------------------------------------------------------------


def test_probabilities_are_the_weighted_mean_of_the_members(folders: list[Path]) -> None:
    members = [member(f) for f in folders]
    ensemble = ClassifierEnsemble(members, weights=[1, 1, 2])

    probs = ensemble.predict_proba(TEXTS, batch_size=3)

    expected = sum(w * own_probs(m, TEXTS) for w, m in zip([0.25, 0.25, 0.5], members, strict=True))
    assert probs.shape == (len(TEXTS), 2)
    np.testing.assert_allclose(probs, expected, atol=1e-5)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-6)
    # Different random members disagree, so the mean is none of them.
    assert not np.allclose(own_probs(members[0], TEXTS), own_probs(members[1], TEXTS), atol=1e-3)


def test_a_backward_member_reads_the_text_reversed(folders: list[Path]) -> None:
    backward = ClassifierEnsemble([member(folders[0], reverse=True)])
    forward = ClassifierEnsemble([member(folders[0])])

    reversed_texts = [t[::-1] for t in TEXTS]
    np.testing.assert_allclose(
        backward.predict_proba(TEXTS), forward.predict_proba(reversed_texts), atol=1e-6
    )
    assert not np.allclose(backward.predict_proba(TEXTS), forward.predict_proba(TEXTS), atol=1e-4)


def test_max_length_truncates_what_each_member_reads(folders: list[Path]) -> None:
    ensemble = ClassifierEnsemble([member(folders[0])])

    long = "质量很好" * 20
    np.testing.assert_allclose(
        ensemble.predict_proba([long], max_length=4),
        ensemble.predict_proba(["质量很好"], max_length=4),
        atol=1e-6,
    )


# --- evaluate --------------------------------------------------------------------------------


def test_a_one_member_ensemble_evaluates_like_its_model(folders: list[Path]) -> None:
    task = classification_task(sentiment_records(24))
    model, tok = load_model(folders[0], task="classification", label_names=LABELS)

    alone = evaluate(model, task, tokenizer=tok, device="cpu")
    wrapped = evaluate(ClassifierEnsemble([Member(model, tok)]), task, device="cpu")

    def table(result: Any) -> np.ndarray:
        return np.array([[p["probabilities"][n] for n in LABELS] for p in result.predictions])

    np.testing.assert_allclose(table(wrapped), table(alone), atol=1e-6)
    assert wrapped.metrics["accuracy"] == alone.metrics["accuracy"]
    assert wrapped.throughput["tokens"] == alone.throughput["tokens"]


def test_ensemble_evaluation_compares_with_a_baseline(folders: list[Path]) -> None:
    records = sentiment_records(40)
    task = classification_task(records[20:])
    base = tfidf_baseline(records[:20], records[20:], n_resamples=100)

    result = evaluate(ClassifierEnsemble([member(f) for f in folders]), task, baseline=base)

    assert result.comparison is not None
    assert result.comparison["baseline_name"] == base.model
    assert result.comparison["metric"] == "accuracy"
    assert result.model.startswith("ClassifierEnsemble(")
    assert len(result.predictions) == 20


def test_an_ensemble_does_not_do_language_modeling(folders: list[Path]) -> None:
    task = {"name": "lm", "type": "language-modeling", "data": [{"text": "好"}]}

    with pytest.raises(ValueError, match=r"ensemble classifies.*language-modeling"):
        evaluate(ClassifierEnsemble([member(folders[0])]), task)


# --- save / load -----------------------------------------------------------------------------


def test_saved_ensemble_loads_back_the_same(folders: list[Path], tmp_path: Path) -> None:
    ensemble = ClassifierEnsemble(
        [member(folders[0], name="fwd"), member(folders[1], reverse=True, name="bwd")],
        weights=[3, 1],
    )
    ensemble.save(tmp_path / "ens")

    loaded = load_ensemble(tmp_path / "ens")

    assert is_ensemble(tmp_path / "ens") and not is_ensemble(folders[0])
    assert [(m.name, m.reverse) for m in loaded.members] == [("fwd", False), ("bwd", True)]
    assert loaded.weights == [0.75, 0.25]
    assert loaded.label_names == LABELS
    np.testing.assert_allclose(loaded.predict_proba(TEXTS), ensemble.predict_proba(TEXTS))
    assert loaded.state_hash() == ensemble.state_hash()
    assert not (tmp_path / "ens.partial").exists()


def test_evaluate_takes_a_saved_ensemble_folder(folders: list[Path], tmp_path: Path) -> None:
    ensemble = ClassifierEnsemble([member(folders[0]), member(folders[1], reverse=True)])
    ensemble.save(tmp_path / "ens")
    task = classification_task(sentiment_records(12))

    from_folder = evaluate(tmp_path / "ens", task, device="cpu")
    in_memory = evaluate(ensemble, task, device="cpu")

    assert from_folder.model == str(tmp_path / "ens")
    assert from_folder.model_hash == in_memory.model_hash
    assert from_folder.metrics["accuracy"] == in_memory.metrics["accuracy"]


def test_saving_again_replaces_the_folder_whole(folders: list[Path], tmp_path: Path) -> None:
    ClassifierEnsemble([member(f) for f in folders]).save(tmp_path / "ens")
    ClassifierEnsemble([member(folders[0])]).save(tmp_path / "ens")

    assert len(load_ensemble(tmp_path / "ens")) == 1
    assert sorted(p.name for p in (tmp_path / "ens" / "members").iterdir()) == ["00"]


def test_state_hash_follows_weights_and_direction(folders: list[Path]) -> None:
    first = member(folders[0])
    forward = ClassifierEnsemble([first]).state_hash()
    backward = ClassifierEnsemble([member(folders[0], reverse=True)]).state_hash()
    with torch.no_grad():
        next(first.model.parameters()).add_(0.01)

    assert forward != backward
    assert ClassifierEnsemble([first]).state_hash() != forward


# --- bad input -------------------------------------------------------------------------------


def test_an_empty_ensemble_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one member"):
        ClassifierEnsemble([])


def test_members_with_other_labels_are_named(folders: list[Path]) -> None:
    model, tok = load_model(folders[1], task="classification", label_names=("bad", "good"))

    with pytest.raises(ValueError, match=r"'other'.*\('bad', 'good'\).*same labels"):
        ClassifierEnsemble([member(folders[0]), Member(model, tok, name="other")])


@pytest.mark.parametrize(
    ("weights", "match"),
    [([1.0], "one weight per member"), ([1.0, -1.0], "non-negative"), ([0, 0], "not all 0")],
)
def test_bad_weights_are_refused(folders: list[Path], weights: list[float], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ClassifierEnsemble([member(folders[0]), member(folders[1])], weights=weights)


def test_loading_a_plain_model_folder_says_it_is_not_an_ensemble(folders: list[Path]) -> None:
    with pytest.raises(FileNotFoundError, match="not a saved ensemble"):
        load_ensemble(folders[0])


def test_load_model_on_an_ensemble_folder_points_to_load_ensemble(
    folders: list[Path], tmp_path: Path
) -> None:
    ClassifierEnsemble([member(folders[0])]).save(tmp_path / "ens")

    with pytest.raises(ValueError, match=r"saved classifier ensemble.*load_ensemble"):
        load_model(tmp_path / "ens", task="classification")


def test_a_missing_member_folder_is_named(folders: list[Path], tmp_path: Path) -> None:
    ClassifierEnsemble([member(folders[0], name="a"), member(folders[1], name="b")]).save(
        tmp_path / "ens"
    )
    shutil.rmtree(tmp_path / "ens" / "members" / "01")

    with pytest.raises(FileNotFoundError, match="'b' is missing"):
        load_ensemble(tmp_path / "ens")


def test_a_corrupt_or_foreign_manifest_is_refused(folders: list[Path], tmp_path: Path) -> None:
    ClassifierEnsemble([member(folders[0])]).save(tmp_path / "ens")
    manifest = tmp_path / "ens" / "ensemble.json"
    manifest.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_ensemble(tmp_path / "ens")

    manifest.write_text(json.dumps({"format": 99, "kind": "classifier-ensemble", "members": []}))
    with pytest.raises(ValueError, match="format 99"):
        load_ensemble(tmp_path / "ens")
