"""Fine-tune a Hugging Face model: classification, SFT or causal-LM pretraining, resumably.

:func:`finetune` is the whole loop, reading straight down (nanoGPT / torchtune style)::

    from zslab.train.finetune import TrainConfig, finetune

    config = TrainConfig(task="classification", lr=1e-3, max_steps=200, batch_size=8,
                         eval_every=50, checkpoint_every=50, output_dir="run/")
    result = finetune(model, tokenizer, [{"text": "...", "label": 1}, ...], eval_data, config)
    result.status, result.metrics, result.best_checkpoint

    # After a crash or a preemption, the same call continues exactly where it stopped:
    result = finetune(model, tokenizer, train_data, eval_data, config, resume_from="latest")

**Data.** ``classification``: records ``{"text", "label"}`` (the model is a
``*ForSequenceClassification``). ``sft``: alpaca records ``{"instruction", "input", "output"}``
or chat records ``{"messages": [{"role", "content"}, ...]}``; the loss is only on the response
(assistant) tokens, every prompt token is labelled -100 (:func:`encode_sft`). ``causal-lm``:
an iterable of ``LongTensor [batch, seq_len]`` batches with ``state_dict()`` /
``load_state_dict()``, such as :func:`zslab.corpus.stream.stream` (pad ids are masked).
In-memory records are visited in a seeded permutation per epoch (:class:`DataOrder`), whose
position is saved in checkpoints like the stream's.

**Steps.** One step is one optimizer update over ``grad_accum`` micro-batches of
``batch_size`` records per process; the learning rate warms up linearly for ``warmup_steps``
and then follows a cosine down to ``lr * min_lr_ratio``; gradients are clipped to
``max_grad_norm``. Every ``eval_every`` steps the eval data is scored (loss, and accuracy for
classification); ``early_stopping_patience`` evals in a row without improving
``early_stopping_metric`` stop the run, and every improvement is saved as ``checkpoints/best``.

**Checkpoints** (:mod:`zslab.train.checkpoint`) go to ``output_dir/checkpoints/step-N`` every
``checkpoint_every`` steps and at the end, the last ``keep_last`` kept. A checkpoint holds
everything the loop's future depends on (weights or only the LoRA adapter, optimizer,
scheduler, step, RNG states of every rank, data position, early-stopping state, history), so
a resumed run produces the same losses as one that was never interrupted.

**Preemption.** ``should_stop(step)`` is asked after every step (by default, on a zslab lease,
:func:`zslab.compute.slice_worker.preemption_requested`); when it says yes the loop saves a
checkpoint and returns with status ``"preempted"``.

**Distributed.** When ``torch.distributed`` is initialized (:func:`init_distributed` does it
from the ``torchrun`` environment) the model is wrapped in DDP, each rank takes its slice of
every global batch (``batch_size * world_size`` records), and only rank 0 writes checkpoints,
``metrics.jsonl`` and progress. ``python -m zslab.train.finetune --help`` is a torchrun entry
point.

**Reporting.** tqdm progress; ``output_dir/metrics.jsonl`` gets one JSON line per
``log_every`` steps (``step, loss, lr, tokens, tokens_per_s``) and one per eval
(``"eval": true``); ``callbacks`` (e.g. :class:`LossPlot` in a notebook) get every such record.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from zslab.train import checkpoint
from zslab.train.predict import encode

__all__ = [
    "DataOrder",
    "LossPlot",
    "TrainConfig",
    "TrainResult",
    "encode_sft",
    "finetune",
    "init_distributed",
    "main",
    "spawn",
]

Task = Literal["classification", "causal-lm", "sft"]
Record = Mapping[str, Any]
Callback = Callable[[dict[str, Any]], None]


@dataclass
class TrainConfig:
    """Everything that decides a run. Stored in every checkpoint."""

    task: Task = "classification"
    lr: float = 1e-4
    weight_decay: float = 0.0
    epochs: int = 1
    max_steps: int | None = None  # wins over epochs; required for causal-lm streams
    batch_size: int = 8  # per process and micro-batch
    grad_accum: int = 1
    max_grad_norm: float | None = 1.0
    warmup_steps: int = 0
    min_lr_ratio: float = 0.1
    max_length: int = 512  # classification and SFT records are truncated to this many tokens
    # Classification: each real input token becomes the tokenizer's unknown token with this
    # probability while training (a regularizer for small labelled sets; 0 turns it off).
    token_dropout: float = 0.0
    eval_every: int | None = None
    early_stopping_patience: int | None = None
    early_stopping_metric: str = "eval_loss"  # or "eval_accuracy"; loss is minimized
    checkpoint_every: int | None = None
    keep_last: int | None = 3
    lora: dict[str, Any] | None = None  # {"r", "alpha", "dropout", "target_modules"}
    gradient_checkpointing: bool = False
    bf16: bool | Literal["auto"] = "auto"
    seed: int = 0
    output_dir: str | None = None
    log_every: int = 10

    def __post_init__(self) -> None:
        if self.task not in ("classification", "causal-lm", "sft"):
            raise ValueError(f"task must be classification, causal-lm or sft, got {self.task!r}")
        for name in ("batch_size", "grad_accum", "log_every", "epochs"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError(f"max_steps must be at least 1, got {self.max_steps}")
        if self.early_stopping_patience is not None and not self.eval_every:
            raise ValueError("early_stopping_patience needs eval_every (and eval_data)")
        if not 0.0 <= self.token_dropout < 1.0:
            raise ValueError(f"token_dropout must be in [0, 1), got {self.token_dropout}")
        if self.token_dropout and self.task != "classification":
            raise ValueError(
                f"token_dropout applies to classification only; set it to 0 for {self.task}"
            )


@dataclass
class TrainResult:
    """What :func:`finetune` returns.

    ``status`` is ``"completed"``, ``"early_stopped"`` or ``"preempted"``; ``losses`` has the
    training loss of every step since step 1 (resumed runs included); ``history`` is what
    ``metrics.jsonl`` holds; ``device`` and ``precision`` (``"bf16"`` under autocast, else
    ``"fp32"``) say where and how the steps ran.
    """

    status: str
    step: int
    metrics: dict[str, float]
    losses: list[float]
    history: list[dict[str, Any]]
    best_checkpoint: Path | None = None
    last_checkpoint: Path | None = None
    tokens_per_second: float = 0.0
    device: str = "cpu"
    precision: str = "fp32"
    extra: dict[str, Any] = field(default_factory=dict)


# --- data ------------------------------------------------------------------------------------


class DataOrder:
    """Which records each micro-batch takes: a seeded permutation per epoch, resumable.

    Every process holds the same position; a global batch is ``batch_size * world_size``
    consecutive records of the permutation and rank ``r`` takes the ``r``-th slice of it, so
    a DDP run sees the same global batches as one process with ``batch_size * world_size``.
    The short tail of an epoch is dropped.
    """

    def __init__(
        self, size: int, batch_size: int, *, seed: int, rank: int = 0, world_size: int = 1
    ) -> None:
        self.size, self.batch_size, self.seed = size, batch_size, seed
        self.rank, self.world_size = rank, world_size
        self.global_batch = batch_size * world_size
        if size < self.global_batch:
            raise ValueError(
                f"{size} records cannot fill one batch of {batch_size} x {world_size} ranks"
            )
        self.epoch = 0
        self.position = 0
        self._perm: list[int] | None = None

    @property
    def batches_per_epoch(self) -> int:
        return self.size // self.global_batch

    def next_indices(self) -> list[int]:
        if self.position + self.global_batch > self.size:
            self.epoch, self.position, self._perm = self.epoch + 1, 0, None
        if self._perm is None:
            generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
            self._perm = torch.randperm(self.size, generator=generator).tolist()
        start = self.position + self.rank * self.batch_size
        self.position += self.global_batch
        return self._perm[start : start + self.batch_size]

    def state_dict(self) -> dict[str, Any]:
        return {"kind": "order", "seed": self.seed, "epoch": self.epoch, "position": self.position}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if state.get("seed") != self.seed:
            raise ValueError(f"data order was saved with seed {state.get('seed')}, not {self.seed}")
        self.epoch, self.position, self._perm = int(state["epoch"]), int(state["position"]), None


ALPACA_PROMPT = "### Instruction:\n{instruction}\n\n{input_block}### Response:\n"


def encode_sft(record: Record, tokenizer: Any, max_length: int) -> dict[str, list[int]]:
    """Token ids and labels of one SFT record; labels are -100 except on response tokens.

    Alpaca: the prompt is ``ALPACA_PROMPT`` (the ``### Input`` block only when ``input`` is
    not empty), the response ``output`` + EOS. Chat: each message is ``"<role>: <content>\\n"``;
    only the content of ``assistant`` messages (and the EOS after the last) is learned.
    """
    eos = [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []
    pieces: list[tuple[list[int], bool]] = []
    if "messages" in record:
        messages = record["messages"]
        for number, message in enumerate(messages):
            role, content = message["role"], message["content"]
            pieces.append((encode(tokenizer, f"{role}: "), False))
            learned = role == "assistant"
            tail = "\n" if number + 1 < len(messages) else ""
            pieces.append((encode(tokenizer, content + tail), learned))
        pieces.append((eos, bool(messages) and messages[-1]["role"] == "assistant"))
    elif "instruction" in record:
        extra = record.get("input") or ""
        block = f"### Input:\n{extra}\n\n" if extra else ""
        prompt = ALPACA_PROMPT.format(instruction=record["instruction"], input_block=block)
        pieces.append((encode(tokenizer, prompt), False))
        pieces.append((encode(tokenizer, record["output"]) + eos, True))
    else:
        raise ValueError("an SFT record needs 'messages' or 'instruction'/'output' keys")
    input_ids: list[int] = []
    labels: list[int] = []
    for ids, learned in pieces:
        input_ids += ids
        labels += ids if learned else [-100] * len(ids)
    return {"input_ids": input_ids[:max_length], "labels": labels[:max_length]}


def _encode_records(records: Sequence[Record], tokenizer: Any, config: TrainConfig) -> list[Any]:
    if config.task == "sft":
        return [encode_sft(r, tokenizer, config.max_length) for r in records]
    return [
        {"input_ids": encode(tokenizer, r["text"])[: config.max_length], "label": int(r["label"])}
        for r in records
    ]


def _collate(examples: Sequence[dict[str, Any]], pad_id: int, task: Task) -> dict[str, Any]:
    width = max(len(e["input_ids"]) for e in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    labels = torch.full((len(examples), width), -100, dtype=torch.long)
    for row, example in enumerate(examples):
        n = len(example["input_ids"])
        ids[row, :n] = torch.tensor(example["input_ids"], dtype=torch.long)
        mask[row, :n] = 1
        if task == "sft":
            labels[row, :n] = torch.tensor(example["labels"], dtype=torch.long)
    if task == "classification":
        labels = torch.tensor([e["label"] for e in examples], dtype=torch.long)
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def _drop_tokens(batch: dict[str, Any], rate: float, replacement: int) -> dict[str, Any]:
    """Replace each real (unmasked) input token by ``replacement`` with probability ``rate``.

    Draws from the global torch RNG, which checkpoints save, so a resumed run drops the same
    tokens as an uninterrupted one.
    """
    ids = batch["input_ids"]
    drop = (torch.rand(ids.shape) < rate) & batch["attention_mask"].bool()
    return {**batch, "input_ids": ids.masked_fill(drop, replacement)}


def _lm_batch(tokens: torch.Tensor, pad_id: int | None) -> dict[str, torch.Tensor]:
    labels = tokens.clone()
    mask = torch.ones_like(tokens)
    if pad_id is not None:
        labels[tokens == pad_id] = -100
        mask[tokens == pad_id] = 0
    return {"input_ids": tokens, "attention_mask": mask, "labels": labels}


# --- the loop --------------------------------------------------------------------------------


def finetune(
    model: nn.Module,
    tokenizer: Any,
    train_data: Any,
    eval_data: Any = None,
    config: TrainConfig | None = None,
    *,
    resume_from: str | os.PathLike[str] | None = None,
    should_stop: Callable[[int], bool] | None = None,
    progress: bool = True,
    callbacks: Sequence[Callback] | None = None,
) -> TrainResult:
    """Train ``model`` on ``train_data`` as ``config`` says (see the module doc).

    ``resume_from``: a checkpoint folder, or ``"latest"`` / ``"best"`` in
    ``output_dir/checkpoints``. ``should_stop(step)``: True saves a checkpoint and returns
    with status ``"preempted"``.
    """
    config = config or TrainConfig()
    distributed = torch.distributed.is_available() and torch.distributed.is_initialized()
    rank = torch.distributed.get_rank() if distributed else 0
    world = torch.distributed.get_world_size() if distributed else 1
    device = _device(rank)
    use_bf16 = _use_bf16(config.bf16, device)
    should_stop = should_stop or _default_should_stop()
    callbacks = list(callbacks or [])
    out = Path(config.output_dir) if config.output_dir else None
    ckpt_dir = out / "checkpoints" if out else None
    pad_id = tokenizer.pad_token_id if tokenizer is not None else None
    collate_pad = pad_id if pad_id is not None else 0
    unk_id = getattr(tokenizer, "unk_token_id", None)
    if config.token_dropout and unk_id is None:
        raise ValueError(
            "token_dropout replaces tokens by the tokenizer's unknown token, and this tokenizer "
            "has none (unk_token_id is None); give it an unk_token or set token_dropout=0"
        )
    _seed_everything(config.seed)

    # Model: LoRA adapter (base frozen) if asked, gradient checkpointing, DDP.
    if config.lora is not None:
        model = _add_lora(model, config)
    if config.gradient_checkpointing:
        _enable_gradient_checkpointing(model)
    model.to(device)
    model.train()
    raw_model = model
    if distributed:
        from torch.nn.parallel import DistributedDataParallel

        ids = [device.index] if device.type == "cuda" else None
        model = DistributedDataParallel(model, device_ids=ids)

    # Data: an order over encoded records, or a resumable token stream.
    if config.task == "causal-lm":
        order: Any = train_data
        if config.max_steps is None:
            raise ValueError("causal-lm training on a stream needs max_steps")
        max_steps = config.max_steps
    else:
        examples = _encode_records(train_data, tokenizer, config)
        order = DataOrder(
            len(examples), config.batch_size, seed=config.seed, rank=rank, world_size=world
        )
        per_epoch = order.batches_per_epoch // config.grad_accum
        max_steps = config.max_steps or max(1, config.epochs * per_epoch)
    eval_examples = (
        _encode_records(eval_data, tokenizer, config)
        if eval_data is not None and config.task != "causal-lm"
        else eval_data
    )

    # Optimizer (no weight decay on biases and norms) and warmup + cosine schedule.
    trainable = [p for p in raw_model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(
        [
            {"params": [p for p in trainable if p.dim() >= 2], "weight_decay": config.weight_decay},
            {"params": [p for p in trainable if p.dim() < 2], "weight_decay": 0.0},
        ],
        lr=config.lr,
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, _schedule(config.warmup_steps, max_steps, config.min_lr_ratio)
    )

    # Everything that evolves, in one place; a checkpoint is this plus the weights.
    step, tokens_seen = 0, 0
    losses: list[float] = []
    history: list[dict[str, Any]] = []
    stopping: dict[str, Any] = {"best": None, "bad_evals": 0, "best_step": None}
    best_path: Path | None = None
    if resume_from is not None:
        path = checkpoint.resolve(ckpt_dir or ".", resume_from)
        state = checkpoint.load(path)
        if state["config"]["task"] != config.task:
            raise ValueError(f"{path} is a {state['config']['task']} run, not {config.task}")
        _load_model_state(raw_model, state["model"], adapter_only=state["adapter_only"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        order.load_state_dict(state["data"])
        step, tokens_seen = int(state["step"]), int(state["tokens"])
        losses, history = list(state["losses"]), list(state["history"])
        stopping = dict(state["early_stopping"])
        best_dir = ckpt_dir / "best" if ckpt_dir else None
        best_path = best_dir if best_dir is not None and best_dir.is_dir() else None
        _set_rng_state(state["rng"][rank] if rank < len(state["rng"]) else state["rng"][0])
    if rank == 0 and out is not None:
        out.mkdir(parents=True, exist_ok=True)
        _rewrite_jsonl(out / "metrics.jsonl", history)  # drop lines written after the checkpoint

    def save(name: str = "", status: str = "running") -> Path | None:
        # Collective: every rank sends its RNG and stream state; rank 0 writes.
        rng = _gather(_rng_state(), distributed, world)
        data_state = _data_state(order, distributed, world)
        if rank != 0 or ckpt_dir is None:
            _barrier(distributed)
            return None
        state = {
            "step": step,
            "epoch": getattr(order, "epoch", None),
            "status": status,
            "adapter_only": config.lora is not None,
            "model": _model_state(raw_model, adapter_only=config.lora is not None),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "rng": rng,
            "data": data_state,
            "tokens": tokens_seen,
            "losses": losses,
            "history": history,
            "early_stopping": stopping,
            "config": asdict(config),
            "metrics": history[-1] if history else {},
        }
        path = checkpoint.save(ckpt_dir, state, name=name)
        if not name and config.keep_last:
            checkpoint.prune(ckpt_dir, keep_last=config.keep_last)
        _barrier(distributed)
        return path

    def emit(record: dict[str, Any]) -> None:
        history.append(record)
        if rank == 0:
            if out is not None:
                with open(out / "metrics.jsonl", "a") as log:
                    log.write(json.dumps(record) + "\n")
            for callback in callbacks:
                callback(record)

    from tqdm.auto import tqdm

    bar = tqdm(total=max_steps, initial=step, disable=not progress or rank != 0, unit="step")
    batches: Iterator[Any] = iter(order) if config.task == "causal-lm" else iter(())
    status, last_path, saved_step = "completed", None, -1
    window_tokens, window_start = 0, time.perf_counter()
    run_tokens, run_start = 0, time.perf_counter()
    autocast = torch.autocast(device.type, dtype=torch.bfloat16) if use_bf16 else nullcontext()
    while step < max_steps:
        # One optimizer step over grad_accum micro-batches.
        step_loss = 0.0
        for micro in range(config.grad_accum):
            if config.task == "causal-lm":
                tokens, batches = _next_batch(batches, order)
                batch = _lm_batch(tokens, pad_id)
            else:
                chosen = [examples[i] for i in order.next_indices()]
                batch = _collate(chosen, collate_pad, config.task)
                if config.token_dropout and unk_id is not None:
                    batch = _drop_tokens(batch, config.token_dropout, int(unk_id))
            batch = {k: v.to(device) for k, v in batch.items()}
            micro_tokens = int(batch["attention_mask"].sum()) * world
            window_tokens += micro_tokens
            tokens_seen += micro_tokens
            run_tokens += micro_tokens
            last_micro = micro == config.grad_accum - 1
            sync = nullcontext() if last_micro or not distributed else model.no_sync()  # type: ignore[operator]
            with sync:
                with autocast:
                    loss = model(**batch).loss / config.grad_accum
                loss.backward()
            step_loss += loss.item()
        if config.max_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(trainable, config.max_grad_norm)
        lr = scheduler.get_last_lr()[0]
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        if distributed:
            step_loss = _mean_across_ranks(step_loss, device)
        step += 1
        losses.append(step_loss)
        bar.update(1)
        bar.set_postfix(loss=f"{step_loss:.4f}")

        if step % config.log_every == 0 or step == max_steps:
            elapsed = max(time.perf_counter() - window_start, 1e-9)
            emit(
                {
                    "step": step,
                    "loss": step_loss,
                    "lr": lr,
                    "tokens": tokens_seen,
                    "tokens_per_s": window_tokens / elapsed,
                }
            )
            window_tokens, window_start = 0, time.perf_counter()

        if config.eval_every and eval_examples is not None and step % config.eval_every == 0:
            metrics = _evaluate(raw_model, eval_examples, config, pad_id, device, autocast)
            emit({"step": step, "eval": True, **metrics})
            value = metrics.get(config.early_stopping_metric)
            if value is not None:
                lower = config.early_stopping_metric.endswith("loss")
                best_value = stopping["best"]
                if best_value is None or (value < best_value if lower else value > best_value):
                    stopping.update(best=value, bad_evals=0, best_step=step)
                    best_path = save("best") or best_path
                else:
                    stopping["bad_evals"] = int(stopping["bad_evals"] or 0) + 1
            patience = config.early_stopping_patience
            if patience is not None and int(stopping["bad_evals"] or 0) >= patience:
                status = "early_stopped"
                break

        if config.checkpoint_every and step % config.checkpoint_every == 0:
            last_path, saved_step = save(), step
        if _any_rank(should_stop(step), distributed, device):
            status = "preempted"
            break
    bar.close()

    if saved_step != step:  # every rank takes this branch together: save is collective
        last_path = save(status=status)
    run_time = max(time.perf_counter() - run_start, 1e-9)
    train_lines = [r for r in history if not r.get("eval")]
    eval_lines = [r for r in history if r.get("eval")]
    final: dict[str, float] = {"loss": losses[-1]} if losses else {}
    if eval_lines:
        final.update({k: v for k, v in eval_lines[-1].items() if k.startswith("eval_")})
    if train_lines:
        final["tokens_per_s"] = float(train_lines[-1]["tokens_per_s"])
    return TrainResult(
        status=status,
        step=step,
        metrics=final,
        losses=losses,
        history=history,
        best_checkpoint=best_path,
        last_checkpoint=last_path,
        tokens_per_second=run_tokens / run_time,
        device=str(device),
        precision="bf16" if use_bf16 else "fp32",
    )


# --- pieces of the loop ----------------------------------------------------------------------


def _schedule(warmup: int, total: int, min_ratio: float) -> Callable[[int], float]:
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))

    return factor


def _next_batch(batches: Iterator[Any], stream: Any) -> tuple[torch.Tensor, Iterator[Any]]:
    # A finite stream starts its next epoch when iterated again.
    for _ in range(2):
        batch = next(batches, None)
        if batch is not None:
            return batch, batches
        batches = iter(stream)
    raise ValueError("the training stream yields no batches")


@torch.no_grad()
def _evaluate(
    model: nn.Module,
    data: Any,
    config: TrainConfig,
    pad_id: int | None,
    device: torch.device,
    autocast: Any,
) -> dict[str, float]:
    """Mean loss (per batch, weighted by records), and accuracy for classification."""
    model.eval()
    total_loss, total, correct = 0.0, 0, 0
    if config.task == "causal-lm":
        if hasattr(data, "set_epoch"):
            data.set_epoch(0)  # the same eval batches every time
        batches: Iterable[dict[str, torch.Tensor]] = (_lm_batch(b, pad_id) for b in data)
    else:
        batches = (
            _collate(data[i : i + config.batch_size], pad_id or 0, config.task)
            for i in range(0, len(data), config.batch_size)
        )
    for batch in batches:
        batch = {k: v.to(device) for k, v in batch.items()}
        with autocast:
            output = model(**batch)
        n = int(batch["input_ids"].shape[0])
        total_loss += float(output.loss) * n
        total += n
        if config.task == "classification":
            correct += int((output.logits.argmax(-1) == batch["labels"]).sum())
    model.train()
    metrics = {"eval_loss": total_loss / max(total, 1)}
    if config.task == "classification":
        metrics["eval_accuracy"] = correct / max(total, 1)
    return metrics


def _add_lora(model: nn.Module, config: TrainConfig) -> nn.Module:
    from peft import LoraConfig, TaskType, get_peft_model

    lora = dict(config.lora or {})
    task_type = TaskType.SEQ_CLS if config.task == "classification" else TaskType.CAUSAL_LM
    peft_config = LoraConfig(
        task_type=task_type,
        r=int(lora.get("r", 8)),
        lora_alpha=int(lora.get("alpha", 16)),
        lora_dropout=float(lora.get("dropout", 0.0)),
        target_modules=lora.get("target_modules"),
    )
    return get_peft_model(model, peft_config)


def _enable_gradient_checkpointing(model: nn.Module) -> None:
    enable = getattr(model, "gradient_checkpointing_enable", None)
    if enable is None:
        warnings.warn("this model has no gradient_checkpointing_enable", stacklevel=3)
        return
    enable()
    inputs = getattr(model, "enable_input_require_grads", None)
    if inputs is not None:  # frozen embeddings (LoRA) would otherwise cut the graph
        inputs()


def _model_state(model: nn.Module, *, adapter_only: bool) -> dict[str, torch.Tensor]:
    if adapter_only:
        from peft import get_peft_model_state_dict

        return {k: v.detach().cpu() for k, v in get_peft_model_state_dict(model).items()}
    return {k: v.detach().cpu() for k, v in model.state_dict().items()}


def _load_model_state(
    model: nn.Module, weights: dict[str, torch.Tensor], *, adapter_only: bool
) -> None:
    if adapter_only:
        from peft import set_peft_model_state_dict

        result = set_peft_model_state_dict(model, weights)
        unexpected = getattr(result, "unexpected_keys", [])
        if unexpected:
            raise ValueError(f"the adapter checkpoint does not fit this model: {unexpected[:5]}")
        return
    model.load_state_dict(weights)


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _rng_state() -> dict[str, Any]:
    numpy_state: Any = np.random.get_state()
    name, key, pos, has_gauss, gauss = numpy_state
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": [name, torch.from_numpy(key.astype(np.int64)), pos, has_gauss, gauss],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: Mapping[str, Any]) -> None:
    random.setstate(state["python"])
    name, key, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((name, key.numpy().astype(np.uint32), pos, has_gauss, gauss))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _rewrite_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def _device(rank: int) -> torch.device:
    if torch.cuda.is_available():
        local = int(os.environ.get("LOCAL_RANK", rank)) % torch.cuda.device_count()
        torch.cuda.set_device(local)
        return torch.device("cuda", local)
    return torch.device("cpu")


def _use_bf16(setting: bool | str, device: torch.device) -> bool:
    if setting == "auto":
        return device.type == "cuda" and torch.cuda.is_bf16_supported()
    return bool(setting)


def _default_should_stop() -> Callable[[int], bool]:
    if os.environ.get("ZSLAB_LEASE_ID"):
        from zslab.compute.slice_worker import preemption_requested

        return lambda step: preemption_requested()
    return lambda step: False


# --- distributed -----------------------------------------------------------------------------


def init_distributed() -> tuple[int, int]:
    """Join the process group that ``torchrun`` describes (``WORLD_SIZE > 1``); (rank, world).

    NCCL where CUDA is available, gloo otherwise. A no-op when already initialized or alone.
    """
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def spawn(fn: Callable[..., Any], world_size: int, *args: Any, port: int = 29512) -> None:
    """Run ``fn(rank, world_size, *args)`` in ``world_size`` processes in one gloo group.

    ``fn`` must be importable (a module-level function). For tests and single-node experiments
    without ``torchrun``.
    """
    import sys

    import torch.multiprocessing as mp

    # IPython (a notebook, or a test that made a shell) replaces __main__ with a module that
    # has no __spec__, which the spawn start method reads; None is what it expects then.
    main = sys.modules.get("__main__")
    if main is not None and not hasattr(main, "__spec__"):
        main.__spec__ = None
    mp.spawn(_spawned, args=(fn, world_size, port, args), nprocs=world_size, join=True)


def _spawned(
    rank: int, fn: Callable[..., Any], world_size: int, port: int, args: tuple[Any, ...]
) -> None:
    os.environ.update(
        MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world_size)
    )
    torch.distributed.init_process_group("gloo", rank=rank, world_size=world_size)
    try:
        fn(rank, world_size, *args)
    finally:
        torch.distributed.destroy_process_group()


def _gather(value: Any, distributed: bool, world: int) -> list[Any]:
    if not distributed:
        return [value]
    out: list[Any] = [None] * world
    torch.distributed.all_gather_object(out, value)
    return out


def _data_state(order: Any, distributed: bool, world: int) -> dict[str, Any]:
    """The data position; a stream's per-rank positions are merged into one state."""
    states = _gather(order.state_dict(), distributed, world)
    merged = dict(states[0])
    if "positions" in merged:
        positions: dict[str, Any] = {}
        for state in states:
            positions.update(state["positions"])
        merged["positions"] = positions
    return merged


def _barrier(distributed: bool) -> None:
    if distributed:
        torch.distributed.barrier()


def _mean_across_ranks(value: float, device: torch.device) -> float:
    tensor = torch.tensor([value], dtype=torch.float64, device=device)
    torch.distributed.all_reduce(tensor)
    return float(tensor.item()) / torch.distributed.get_world_size()


def _any_rank(flag: bool, distributed: bool, device: torch.device) -> bool:
    """One rank's preemption notice stops them all (at the same step)."""
    if not distributed:
        return flag
    tensor = torch.tensor([int(flag)], device=device)
    torch.distributed.all_reduce(tensor, op=torch.distributed.ReduceOp.MAX)
    return bool(tensor.item())


# --- notebook --------------------------------------------------------------------------------


class LossPlot:
    """A callback that draws the training loss (and eval loss) live in a notebook.

    ``finetune(..., callbacks=[LossPlot()])``. Uses ipywidgets; outside a notebook, or without
    ipywidgets, it does nothing.
    """

    def __init__(self, width: int = 480, height: int = 160) -> None:
        self.width, self.height = width, height
        self.train: list[tuple[int, float]] = []
        self.eval: list[tuple[int, float]] = []
        self._widget: Any = None
        try:
            import ipywidgets  # type: ignore[import-untyped]
            from IPython.display import display

            self._widget = ipywidgets.HTML()
            display(self._widget)
        except Exception:  # not in a notebook or no ipywidgets: stay silent
            self._widget = None

    def __call__(self, record: dict[str, Any]) -> None:
        if record.get("eval") and "eval_loss" in record:
            self.eval.append((record["step"], float(record["eval_loss"])))
        elif "loss" in record:
            self.train.append((record["step"], float(record["loss"])))
        if self._widget is not None:
            self._widget.value = self.svg()

    def svg(self) -> str:
        """The plot as an SVG string (train in blue, eval in orange)."""
        points = self.train + self.eval
        if not points:
            return ""
        steps = [s for s, _ in points]
        values = [v for _, v in points]
        lo, hi = min(values), max(values)
        span_s, span_v = max(max(steps) - min(steps), 1), max(hi - lo, 1e-12)

        def line(series: list[tuple[int, float]], colour: str) -> str:
            xy = " ".join(
                f"{(s - min(steps)) / span_s * (self.width - 10) + 5:.1f},"
                f"{(hi - v) / span_v * (self.height - 20) + 5:.1f}"
                for s, v in series
            )
            return f'<polyline fill="none" stroke="{colour}" points="{xy}"/>'

        last = f"step {self.train[-1][0]}: loss {self.train[-1][1]:.4f}" if self.train else ""
        return (
            f'<svg width="{self.width}" height="{self.height}">'
            f"{line(self.train, '#1f77b4')}{line(self.eval, '#ff7f0e')}"
            f'<text x="5" y="{self.height - 3}" font-size="11">{last}</text></svg>'
        )


# --- command line (torchrun entry point) -----------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """``torchrun --nproc_per_node 2 -m zslab.train.finetune --model DIR --train FILE ...``"""
    parser = argparse.ArgumentParser(prog="python -m zslab.train.finetune")
    parser.add_argument("--model", required=True, help="a local Hugging Face model folder")
    parser.add_argument("--tokenizer", help="tokenizer folder (default: --model)")
    parser.add_argument(
        "--train", required=True, help="JSONL records, or a token shard folder (causal-lm)"
    )
    parser.add_argument("--eval", help="JSONL records, or a token shard folder (causal-lm)")
    parser.add_argument("--config", help="a JSON file of TrainConfig fields")
    parser.add_argument("--resume-from", help="a checkpoint folder or 'latest'")
    parser.add_argument("--num-labels", type=int, default=2)
    args = parser.parse_args(argv)

    from transformers import (
        AutoModelForCausalLM,
        AutoModelForSequenceClassification,
        AutoTokenizer,
    )

    init_distributed()
    fields = json.loads(Path(args.config).read_text()) if args.config else {}
    config = TrainConfig(**fields)
    tokenizer = AutoTokenizer.from_pretrained(args.tokenizer or args.model)
    model: nn.Module
    if config.task == "classification":
        model = AutoModelForSequenceClassification.from_pretrained(
            args.model, num_labels=args.num_labels
        )
    else:
        model = AutoModelForCausalLM.from_pretrained(args.model)

    def read(source: str | None, *, train: bool) -> Any:
        if source is None:
            return None
        if config.task == "causal-lm":
            from zslab.corpus.stream import stream

            return stream(source, batch_size=config.batch_size, seed=config.seed, loop=train)
        return [json.loads(line) for line in Path(source).read_text().splitlines() if line]

    result = finetune(
        model,
        tokenizer,
        read(args.train, train=True),
        read(args.eval, train=False),
        config,
        resume_from=args.resume_from,
    )
    if torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
    print(json.dumps({"status": result.status, "step": result.step, **result.metrics}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
