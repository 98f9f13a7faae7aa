"""The tiny model, loading, hashing and the local model library (zslab.train.models)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from zslab.train.models import (  # noqa: E402
    COMPLETE_MARKER,
    TINY_MODEL_NAME,
    build_tiny_model,
    default_tiny_model,
    list_models,
    load_model,
    model_hash,
)

TEXTS = [
    "人民日报社论：今年全国经济形势很好，人民生活水平不断提高。",
    "这个手机质量很好，价格也便宜，物流很快。",
    "质量太差了，用了两天就坏了，不推荐购买。",
    "新华社北京一月一日电，国家主席发表新年讲话。",
] * 3
SMALL = {"vocab_size": 128, "hidden_size": 64, "layers": 2, "heads": 4, "max_position": 64}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("models") / "tiny", texts=TEXTS, **SMALL)


def _auto(path: Path) -> tuple[object, object]:
    model = transformers.AutoModelForCausalLM.from_pretrained(path, local_files_only=True)
    tok = transformers.AutoTokenizer.from_pretrained(path, local_files_only=True)
    return model, tok


def test_built_model_loads_with_auto_classes_offline(tiny: Path) -> None:
    model, tok = _auto(tiny)

    assert type(model).__name__ == "LlamaForCausalLM"
    assert model.config.tie_word_embeddings is True
    assert model.config.vocab_size == len(tok)
    assert (tok.pad_token, tok.bos_token, tok.eos_token, tok.unk_token) == (
        "<pad>",
        "<bos>",
        "<eos>",
        "<unk>",
    )


def test_char_tokenizer_round_trips_chinese_exactly(tiny: Path) -> None:
    _, tok = _auto(tiny)
    text = "人民日报：质量很好，价格便宜。"

    ids = tok(text)["input_ids"]

    assert len(ids) == len(text)  # one token per character
    assert tok.unk_token_id not in ids
    assert tok.decode(ids) == text


def test_bpe_tokenizer_round_trips_unseen_text(tmp_path: Path) -> None:
    path = build_tiny_model(tmp_path / "bpe", texts=TEXTS, tokenizer_kind="bpe", **SMALL)
    _, tok = _auto(path)
    text = "从未见过的字：龘 and English"

    assert tok.decode(tok(text)["input_ids"]) == text


def test_unigram_tokenizer_model_builds_and_round_trips(tmp_path: Path) -> None:
    path = build_tiny_model(
        tmp_path / "uni", texts=TEXTS, tokenizer_kind="unigram", **{**SMALL, "vocab_size": 96}
    )
    model, tok = load_model(path)
    ids = tok("质量很好", add_special_tokens=False)["input_ids"]

    assert tok.decode(ids) == "质量很好"
    assert model.config.vocab_size == len(tok)


def test_forward_gives_vocab_logits_and_finite_loss(tiny: Path) -> None:
    model, tok = load_model(tiny)
    batch = tok(["人民日报社论", "质量很好价格"], return_tensors="pt")

    with torch.no_grad():
        out = model(**batch, labels=batch["input_ids"])

    assert out.logits.shape == (2, 6, model.config.vocab_size)
    assert torch.isfinite(out.loss)
    assert out.loss.item() > 0


def test_same_seed_gives_same_weights_and_another_seed_differs(tmp_path: Path) -> None:
    first = build_tiny_model(tmp_path / "a", texts=TEXTS, seed=7, **SMALL)
    again = build_tiny_model(tmp_path / "b", texts=TEXTS, seed=7, **SMALL)
    other = build_tiny_model(tmp_path / "c", texts=TEXTS, seed=8, **SMALL)

    assert model_hash(first) == model_hash(again)
    assert model_hash(first) != model_hash(other)


def test_config_overrides_are_merged_into_the_saved_config(tmp_path: Path) -> None:
    path = build_tiny_model(
        tmp_path / "m", texts=TEXTS, config_overrides={"attention_dropout": 0.25}, **SMALL
    )

    config = transformers.AutoConfig.from_pretrained(path, local_files_only=True)
    assert config.attention_dropout == 0.25
    assert config.hidden_size == SMALL["hidden_size"]


def test_building_leaves_the_global_torch_rng_alone(tmp_path: Path) -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)

    build_tiny_model(tmp_path / "m", texts=TEXTS, seed=5, **SMALL)

    assert torch.equal(torch.rand(3), expected)


def test_classification_gives_label_logits_and_handles_padding(tiny: Path) -> None:
    model, tok = load_model(tiny, task="classification", label_names=["neg", "pos"])
    model.eval()
    texts = ["好", "质量太差了不推荐"]
    padded = tok(texts, padding=True, return_tensors="pt")

    with torch.no_grad():
        logits = model(**padded).logits
        alone = model(**tok(texts[:1], return_tensors="pt")).logits

    assert logits.shape == (2, 2)
    assert model.config.pad_token_id == tok.pad_token_id is not None
    assert model.config.id2label == {0: "neg", 1: "pos"}
    assert padded["attention_mask"][0].sum() < padded["attention_mask"].shape[1]  # row 0 padded
    # The padded row is scored on its last real token, as when it is alone.
    assert torch.allclose(logits[0], alone[0], atol=1e-5)


def test_bidirectional_classifier_sees_later_tokens_and_reloads_so(
    tiny: Path, tmp_path: Path
) -> None:
    def first_state(model: object, text: str) -> torch.Tensor:
        ids = tok(text, return_tensors="pt")["input_ids"]
        return model.model(input_ids=ids).last_hidden_state[0, 0]  # type: ignore[attr-defined]

    causal, tok = load_model(tiny, task="classification", label_names=["neg", "pos"])
    both, _ = load_model(
        tiny, task="classification", label_names=["neg", "pos"], bidirectional=True
    )
    with torch.no_grad():
        # The first token's state: fixed by the first token alone when causal.
        assert torch.allclose(first_state(causal, "好评"), first_state(causal, "好差"))
        assert not torch.allclose(first_state(both, "好评"), first_state(both, "好差"))

        both.save_pretrained(tmp_path / "clf")
        tok.save_pretrained(tmp_path / "clf")
        again, _ = load_model(tmp_path / "clf", task="classification")
        assert again.config.is_causal is False
        assert torch.allclose(first_state(again, "好评"), first_state(both, "好评"))
        # Loaded as a language model, the same weights attend causally again.
        lm, _ = load_model(tmp_path / "clf", task="causal-lm")
        assert lm.config.is_causal is True


def test_bidirectional_causal_lm_is_rejected(tiny: Path) -> None:
    with pytest.raises(ValueError, match="bidirectional=True is for classification"):
        load_model(tiny, task="causal-lm", bidirectional=True)


def test_classification_num_labels_conflicting_with_label_names_is_rejected(tiny: Path) -> None:
    with pytest.raises(ValueError, match="num_labels=3"):
        load_model(tiny, task="classification", num_labels=3, label_names=["neg", "pos"])


def test_model_card_has_front_matter_and_parameter_count(tiny: Path) -> None:
    import yaml

    model, _ = load_model(tiny)
    text = (tiny / "README.md").read_text(encoding="utf-8")
    front = yaml.safe_load(text.split("---\n")[1])

    assert front["license"]
    assert front["language"] == ["zh", "en"]
    assert front["tags"] == ["zslab", "tiny"]
    assert front["parameters"] == model.num_parameters()
    assert front["sha256"] == model_hash(tiny)
    assert front["tokenizer"] == {"kind": "char", "vocab_size": model.config.vocab_size}
    assert front["config"]["hidden_size"] == 64
    assert front["data"] == [f"{len(TEXTS)} texts given to build_tiny_model"]


def test_list_models_finds_model_with_parameter_count(tiny: Path, tmp_path: Path) -> None:
    (tmp_path / "not-a-model").mkdir()
    model, _ = load_model(tiny)

    infos = list_models(tmp_path, extra_roots=[tiny.parent])

    assert [info.name for info in infos] == ["tiny"]
    info = infos[0]
    assert info.parameters == model.num_parameters()
    assert (info.architecture, info.task) == ("LlamaForCausalLM", "causal-lm")
    assert info.card["tags"] == ["zslab", "tiny"]
    assert info.sha256() == model_hash(tiny)


def test_load_model_on_missing_dir_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"

    with pytest.raises(ValueError, match="no model directory") as err:
        load_model(missing)

    assert str(missing) in str(err.value)


def test_load_model_on_dir_without_config_names_the_path(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a model", encoding="utf-8")

    with pytest.raises(ValueError, match=r"no config\.json") as err:
        load_model(tmp_path)

    assert str(tmp_path) in str(err.value)


def test_load_model_on_config_without_weights_is_a_value_error(tiny: Path, tmp_path: Path) -> None:
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json"):
        (tmp_path / name).write_bytes((tiny / name).read_bytes())

    with pytest.raises(ValueError, match=re.escape(str(tmp_path))):
        load_model(tmp_path)


def test_default_tiny_model_builds_once_and_reuses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZSLAB_HOME", str(tmp_path))

    path = default_tiny_model()
    built_hash = model_hash(path)
    started = time.perf_counter()
    again = default_tiny_model()
    elapsed = time.perf_counter() - started

    assert path == tmp_path / "models" / TINY_MODEL_NAME
    assert (path / COMPLETE_MARKER).is_file()
    assert again == path
    assert elapsed < 0.5
    assert model_hash(again) == built_hash
    assert [p.name for p in (tmp_path / "models").iterdir()] == [TINY_MODEL_NAME]  # no leftovers
    model, tok = load_model(TINY_MODEL_NAME)  # the name resolves to the cached folder
    assert model.config.hidden_size == 128
    assert tok.decode(tok("人民日报")["input_ids"]) == "人民日报"


def test_classification_build_is_listed_and_loaded_as_classifier(tmp_path: Path) -> None:
    path = build_tiny_model(
        tmp_path / "clf", texts=TEXTS, task="classification", num_labels=3, **SMALL
    )

    model, tok = load_model(path, task="classification")
    with torch.no_grad():
        logits = model(**tok(["质量很好", "太差"], padding=True, return_tensors="pt")).logits

    assert logits.shape == (2, 3)
    assert [(info.architecture, info.task) for info in list_models(tmp_path)] == [
        ("LlamaForSequenceClassification", "classification")
    ]
