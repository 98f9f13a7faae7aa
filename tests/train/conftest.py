"""What the training tests share: a one-character-per-id tokenizer and tiny Llama models for
the loop, and an easy Chinese sentiment task for evaluation and ensembles."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import torch
from transformers import LlamaConfig, LlamaForCausalLM, LlamaForSequenceClassification

from zslab.train.finetune import TrainConfig

# --- the fine-tuning loop --------------------------------------------------------------------

ALPHABET = "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ#:\n.,!?0123456789"


class CharTokenizer:
    """One id per character; 0 is padding, 1 end of sequence, 2 unknown."""

    pad_token_id = 0
    eos_token_id = 1

    def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
        return [ALPHABET.index(c) + 3 if c in ALPHABET else 2 for c in text]


class UnkCharTokenizer(CharTokenizer):
    """The same, declaring id 2 as its unknown token (what token dropout writes)."""

    unk_token_id = 2


def tiny_config(**extra: Any) -> LlamaConfig:
    return LlamaConfig(
        vocab_size=80,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=64,
        pad_token_id=0,
        **extra,
    )


def classifier() -> LlamaForSequenceClassification:
    torch.manual_seed(0)
    return LlamaForSequenceClassification(tiny_config(num_labels=2))


def causal_lm() -> LlamaForCausalLM:
    torch.manual_seed(0)
    return LlamaForCausalLM(tiny_config())


def contains_x_records(n: int, seed: int) -> list[dict[str, Any]]:
    """Label 1 when the text holds an 'x': learnable by a one-layer model."""
    rng = random.Random(seed)
    records = []
    for i in range(n):
        chars = [rng.choice("abcdefgh") for _ in range(8)]
        if i % 2:
            chars[rng.randrange(8)] = "x"
        records.append({"text": "".join(chars), "label": i % 2})
    return records


TRAIN = contains_x_records(64, seed=1)
EVAL = contains_x_records(32, seed=2)


def cls_config(tmp: Path, **overrides: Any) -> TrainConfig:
    fields: dict[str, Any] = {
        "task": "classification",
        "lr": 3e-3,
        "max_steps": 8,
        "batch_size": 4,
        "grad_accum": 2,
        "warmup_steps": 2,
        "log_every": 1,
        "output_dir": str(tmp),
        "seed": 0,
    }
    fields.update(overrides)
    return TrainConfig(**fields)


# --- evaluation ------------------------------------------------------------------------------

GOOD = ["质量很好", "非常满意", "好评推荐", "物流很快", "包装精美"]
BAD = ["质量太差", "非常失望", "差评退货", "物流很慢", "包装破损"]
FILLER = ["这个东西", "买了以后", "总的来说", "说实话", "朋友说"]
TOKENIZER_TEXTS = GOOD + BAD + FILLER + ["hello world the quick brown fox", "今天天气很好"]


def sentiment_records(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """An easy two-class task: the label is decided by which phrase list the text quotes."""
    rng = random.Random(seed)
    records = []
    for i in range(n):
        label = "pos" if i % 2 == 0 else "neg"
        phrase = rng.choice(GOOD if label == "pos" else BAD)
        text = f"{rng.choice(FILLER)}{phrase}{rng.choice(FILLER)}{i}"
        records.append({"id": f"r{i}", "text": text, "label": label})
    return records


def classification_task(records: list[dict[str, Any]] | str, **extra: Any) -> dict[str, Any]:
    return {
        "name": "sentiment",
        "type": "classification",
        "data": records,
        "label_names": ["neg", "pos"],
        "batch_size": 4,
        "max_length": 32,
        "metrics": {"n_resamples": 200},
        **extra,
    }
