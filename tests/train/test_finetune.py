"""The fine-tuning loop: learning, exact resume, LoRA, SFT masking, checkpoints, DDP.

Tiny Llama models (one layer, hidden 32) and a character tokenizer keep every run under a
second or two on CPU. These tests check the loop's logic bit for bit, so they run on the CPU
even where a GPU is visible (``cpu_only``); ``test_cuda.py`` covers the GPU and bf16.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from tests.train.conftest import (
    EVAL,
    TRAIN,
    CharTokenizer,
    UnkCharTokenizer,
    causal_lm,
    classifier,
    cls_config,
)
from zslab.corpus.stream import stream
from zslab.corpus.tokenize import METADATA_KEY
from zslab.train import checkpoint
from zslab.train.finetune import TrainConfig, _drop_tokens, encode_sft, finetune, spawn


@pytest.fixture(autouse=True)
def cpu_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hide CUDA from the loop here and from the processes a DDP test spawns."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")


# --- learning --------------------------------------------------------------------------------


def test_classification_loss_decreases_and_accuracy_rises(tmp_path: Path) -> None:
    config = cls_config(tmp_path, max_steps=60, grad_accum=1, batch_size=8, eval_every=60)

    result = finetune(classifier(), CharTokenizer(), TRAIN, EVAL, config, progress=False)

    first, last = sum(result.losses[:5]) / 5, sum(result.losses[-5:]) / 5
    assert last < 0.5 * first
    assert result.metrics["eval_accuracy"] >= 0.9
    assert result.status == "completed"
    assert result.tokens_per_second > 0


# --- exact resume ----------------------------------------------------------------------------


def test_classification_resume_gives_the_same_losses(tmp_path: Path) -> None:
    full_config = cls_config(tmp_path / "full", checkpoint_every=4, keep_last=5, eval_every=2)
    full = finetune(classifier(), CharTokenizer(), TRAIN, EVAL, full_config, progress=False)

    resumed_config = cls_config(tmp_path / "resumed", eval_every=2)
    resumed = finetune(
        classifier(),
        CharTokenizer(),
        TRAIN,
        EVAL,
        resumed_config,
        resume_from=tmp_path / "full" / "checkpoints" / "step-00000004",
        progress=False,
    )

    assert len(full.losses) == 8
    assert torch.equal(torch.tensor(resumed.losses), torch.tensor(full.losses))
    assert resumed.history == [r for r in resumed.history if "step" in r]
    assert [r["step"] for r in resumed.history if r.get("eval")] == [2, 4, 6, 8]


def write_token_shards(directory: Path, shards: int, rows: int, seq_len: int) -> None:
    directory.mkdir()
    rng = torch.Generator().manual_seed(0)
    for shard in range(shards):
        # A learnable pattern: a random start, then counting up.
        starts = torch.randint(3, 40, (rows, 1), generator=rng)
        tokens = (starts + torch.arange(seq_len)).to(torch.int32).numpy()
        column = pa.FixedSizeListArray.from_arrays(pa.array(tokens.reshape(-1)), seq_len)
        table = pa.Table.from_arrays([column], names=["tokens"])
        meta = {"format": "zslab.tokens/1", "seq_len": seq_len, "eos_id": 1, "pad_id": 0}
        table = table.replace_schema_metadata({METADATA_KEY: json.dumps(meta)})
        pq.write_table(table, directory / f"shard-{shard:03d}.parquet")


def test_causal_lm_stream_resume_gives_the_same_losses(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens"
    write_token_shards(tokens, shards=3, rows=10, seq_len=16)

    def data() -> Any:
        return stream(tokens, batch_size=4, seed=3, shuffle_buffer=8, loop=True)

    config = TrainConfig(task="causal-lm", lr=3e-3, max_steps=8, batch_size=4, log_every=1, seed=0)
    full_config = {**config.__dict__, "output_dir": str(tmp_path / "a"), "checkpoint_every": 5}
    full = finetune(
        causal_lm(), CharTokenizer(), data(), None, TrainConfig(**full_config), progress=False
    )
    resumed = finetune(
        causal_lm(), CharTokenizer(), data(), None,
        TrainConfig(**{**config.__dict__, "output_dir": str(tmp_path / "b")}),
        resume_from=tmp_path / "a" / "checkpoints" / "step-00000005",
        progress=False,
    )  # fmt: skip

    assert full.losses[-1] < full.losses[0]
    assert torch.equal(torch.tensor(resumed.losses), torch.tensor(full.losses))
    saved = checkpoint.load(tmp_path / "a" / "checkpoints" / "step-00000005")
    assert saved["data"]["format"] == "zslab.stream/1"  # the stream's own position


# --- LoRA and SFT ----------------------------------------------------------------------------

SFT = [
    {"instruction": "Say hi", "input": "", "output": "hi!"},
    {"instruction": "Count", "input": "1 2", "output": "3 4"},
    {"messages": [{"role": "user", "content": "yes?"}, {"role": "assistant", "content": "no."}]},
    {"instruction": "Shout", "input": "abc", "output": "ABC"},
] * 4


def test_lora_trains_only_the_adapter_and_resumes(tmp_path: Path) -> None:
    lora = {"r": 4, "alpha": 8, "dropout": 0.1, "target_modules": ["q_proj", "v_proj"]}
    config = TrainConfig(
        task="sft", lr=1e-2, max_steps=6, batch_size=4, log_every=1, lora=lora,
        checkpoint_every=3, output_dir=str(tmp_path / "full"),
    )  # fmt: skip
    model = causal_lm()
    before = {k: v.clone() for k, v in model.state_dict().items()}

    full = finetune(model, CharTokenizer(), SFT, None, config, progress=False)

    after = {k.replace("base_model.model.", "").replace(".base_layer", ""): v
             for k, v in model.state_dict().items() if "lora_" not in k}  # fmt: skip
    assert all(torch.equal(before[k], after[k]) for k in before)  # base frozen
    lora_weights = {k: v for k, v in model.state_dict().items() if "lora_B" in k}
    assert lora_weights and all(v.abs().sum() > 0 for v in lora_weights.values())  # B starts at 0
    saved = checkpoint.load(tmp_path / "full" / "checkpoints" / "step-00000003")
    assert saved["adapter_only"] and all("lora_" in k for k in saved["model"])

    resumed = finetune(
        causal_lm(), CharTokenizer(), SFT, None,
        TrainConfig(**{**config.__dict__, "output_dir": str(tmp_path / "resumed")}),
        resume_from=tmp_path / "full" / "checkpoints" / "step-00000003",
        progress=False,
    )  # fmt: skip
    assert torch.equal(torch.tensor(resumed.losses), torch.tensor(full.losses))


def test_sft_alpaca_masks_the_prompt() -> None:
    tok = CharTokenizer()
    record = {"instruction": "Add", "input": "1 2", "output": "3"}

    encoded = encode_sft(record, tok, max_length=512)

    prompt = "### Instruction:\nAdd\n\n### Input:\n1 2\n\n### Response:\n"
    assert encoded["input_ids"] == tok.encode(prompt) + tok.encode("3") + [tok.eos_token_id]
    assert encoded["labels"] == [-100] * len(prompt) + tok.encode("3") + [tok.eos_token_id]


def test_sft_messages_learn_only_assistant_content() -> None:
    tok = CharTokenizer()
    record = {
        "messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "yo"},
            {"role": "user", "content": "bye"},
            {"role": "assistant", "content": "ok"},
        ]
    }

    encoded = encode_sft(record, tok, max_length=512)

    learned = [t for t, label in zip(encoded["input_ids"], encoded["labels"], strict=True)
               if label != -100]  # fmt: skip
    assert learned == tok.encode("yo\n") + tok.encode("ok") + [tok.eos_token_id]
    assert len(encoded["labels"]) == len(encoded["input_ids"])


# --- checkpoints, early stopping, preemption, logs -------------------------------------------


# --- token dropout ---------------------------------------------------------------------------


def test_drop_tokens_replaces_only_real_tokens_at_about_the_rate() -> None:
    torch.manual_seed(0)
    ids = torch.randint(3, 80, (64, 100))
    mask = torch.ones_like(ids)
    mask[:, 60:] = 0  # the last 40 columns are padding
    ids[:, 60:] = 0
    batch = {"input_ids": ids, "attention_mask": mask, "labels": torch.zeros(64)}

    dropped = _drop_tokens(batch, 0.25, replacement=2)["input_ids"]

    assert torch.equal(dropped[:, 60:], ids[:, 60:])  # padding untouched
    changed = dropped[:, :60] != ids[:, :60]
    assert torch.all(dropped[:, :60][changed] == 2)
    assert 0.2 < changed.float().mean().item() < 0.3  # 3,840 draws at p = 0.25
    assert torch.equal(batch["input_ids"], ids)  # the input batch is not modified


def test_token_dropout_changes_training_and_resumes_exactly(tmp_path: Path) -> None:
    plain = finetune(
        classifier(), UnkCharTokenizer(), TRAIN, None, cls_config(tmp_path / "p"), progress=False
    )
    full_config = cls_config(tmp_path / "full", token_dropout=0.3, checkpoint_every=4)
    full = finetune(classifier(), UnkCharTokenizer(), TRAIN, None, full_config, progress=False)
    resumed = finetune(
        classifier(),
        UnkCharTokenizer(),
        TRAIN,
        None,
        cls_config(tmp_path / "resumed", token_dropout=0.3),
        resume_from=tmp_path / "full" / "checkpoints" / "step-00000004",
        progress=False,
    )

    assert plain.losses[0] != full.losses[0]  # the first batch already differs
    assert torch.equal(torch.tensor(resumed.losses), torch.tensor(full.losses))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"token_dropout": 1.0}, r"token_dropout must be in \[0, 1\), got 1.0"),
        ({"token_dropout": -0.1}, r"token_dropout must be in \[0, 1\)"),
        ({"token_dropout": 0.1, "task": "sft"}, "token_dropout applies to classification only"),
    ],
)
def test_bad_token_dropout_is_rejected_naming_the_field(
    overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        TrainConfig(**overrides)


def test_token_dropout_without_an_unknown_token_names_the_fix(tmp_path: Path) -> None:
    config = cls_config(tmp_path, token_dropout=0.1)
    with pytest.raises(ValueError, match=r"unk_token_id is None.*set token_dropout=0"):
        finetune(classifier(), CharTokenizer(), TRAIN, None, config, progress=False)


def test_keep_last_deletes_older_checkpoints(tmp_path: Path) -> None:
    config = cls_config(tmp_path, max_steps=6, grad_accum=1, checkpoint_every=1, keep_last=2)

    result = finetune(classifier(), CharTokenizer(), TRAIN, None, config, progress=False)

    kept = [step for step, _ in checkpoint.list_steps(tmp_path / "checkpoints")]
    assert kept == [5, 6]
    assert result.last_checkpoint == tmp_path / "checkpoints" / "step-00000006"


def test_early_stopping_stops_after_patience_evals_without_improvement(tmp_path: Path) -> None:
    # lr 0: the eval loss never improves on the first eval.
    config = cls_config(
        tmp_path, lr=0.0, max_steps=20, grad_accum=1, eval_every=1, early_stopping_patience=2
    )

    result = finetune(classifier(), CharTokenizer(), TRAIN, EVAL, config, progress=False)

    assert result.status == "early_stopped"
    assert result.step == 3
    assert result.best_checkpoint == tmp_path / "checkpoints" / "best"
    assert checkpoint.load(result.best_checkpoint)["step"] == 1


def test_preemption_checkpoints_stops_and_resumes_to_the_same_losses(tmp_path: Path) -> None:
    uninterrupted = finetune(
        classifier(), CharTokenizer(), TRAIN, None, cls_config(tmp_path / "u"), progress=False
    )
    config = cls_config(tmp_path / "p")

    stopped = finetune(
        classifier(), CharTokenizer(), TRAIN, None, config,
        should_stop=lambda step: step == 3, progress=False,
    )  # fmt: skip
    resumed = finetune(
        classifier(), CharTokenizer(), TRAIN, None, config, resume_from="latest", progress=False
    )

    assert (stopped.status, stopped.step) == ("preempted", 3)
    assert stopped.last_checkpoint == tmp_path / "p" / "checkpoints" / "step-00000003"
    assert resumed.status == "completed"
    assert torch.equal(torch.tensor(resumed.losses), torch.tensor(uninterrupted.losses))


def test_metrics_jsonl_has_a_line_per_log_step_and_eval(tmp_path: Path) -> None:
    config = cls_config(tmp_path, max_steps=4, log_every=2, eval_every=4)

    finetune(classifier(), CharTokenizer(), TRAIN, EVAL, config, progress=False)

    lines = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    train = [line for line in lines if not line.get("eval")]
    assert [line["step"] for line in train] == [2, 4]
    assert all({"loss", "lr", "tokens_per_s", "tokens"} <= line.keys() for line in train)
    assert all(line["tokens_per_s"] > 0 for line in train)
    assert [(line["step"], "eval_accuracy" in line) for line in lines if line.get("eval")] == [
        (4, True)
    ]


# --- data parallel ---------------------------------------------------------------------------


def _ddp_worker(rank: int, world_size: int, root: str) -> None:
    config = cls_config(Path(root) / f"rank{rank}", batch_size=2, max_steps=3, checkpoint_every=3)
    model = classifier()
    result = finetune(model, CharTokenizer(), TRAIN, None, config, progress=False)
    torch.save(
        {"weights": model.state_dict(), "losses": result.losses},
        Path(root) / f"weights{rank}.pt",
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.skipif(
    not torch.distributed.is_available() or not torch.distributed.is_gloo_available(),
    reason="torch.distributed with gloo is not available",
)
def test_ddp_two_ranks_average_gradients_and_only_rank0_writes(tmp_path: Path) -> None:
    spawn(_ddp_worker, 2, str(tmp_path), port=_free_port())
    single_model = classifier()
    single = finetune(
        single_model, CharTokenizer(), TRAIN, None,
        cls_config(tmp_path / "single", batch_size=4, max_steps=3), progress=False,
    )  # fmt: skip

    ranks = [torch.load(tmp_path / f"weights{r}.pt") for r in (0, 1)]
    for name, value in ranks[0]["weights"].items():
        assert torch.equal(value, ranks[1]["weights"][name]), name
        assert torch.allclose(value, single_model.state_dict()[name], atol=1e-5), name
    assert ranks[0]["losses"] == ranks[1]["losses"]
    assert torch.allclose(torch.tensor(ranks[0]["losses"]), torch.tensor(single.losses), atol=1e-5)
    assert checkpoint.list_steps(tmp_path / "rank0" / "checkpoints")
    assert (tmp_path / "rank0" / "metrics.jsonl").is_file()
    assert not (tmp_path / "rank1").exists()
