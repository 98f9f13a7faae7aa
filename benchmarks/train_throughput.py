"""Training throughput: zslab's packed stream against a padded transformers ``Trainer``; memory.

    .venv/bin/python -m benchmarks.train_throughput            # full run, about 5 minutes
    .venv/bin/python -m benchmarks.train_throughput --quick    # smoke run; writes no results

The model is the built-in tiny Llama (:func:`zslab.train.models.build_tiny_model`, char
tokenizer, one seed), the documents People's Daily 1998 articles and product reviews (long
and short, see :mod:`zslab.corpus.demo`). Every measured process runs with
``torch.set_num_threads(1)`` so the two sides get the same compute on a shared machine.

1. **Throughput**, causal-LM training, same batch size, lr, schedule and steps on both sides:
   - zslab: the documents tokenized and packed into token shards (:func:`tokenize_shards`,
     ``--seq-len``, one EOS between documents), fed by :func:`zslab.corpus.stream.stream` to
     :func:`zslab.train.finetune.finetune` (``task="causal-lm"``);
   - transformers: the same documents tokenized one by one (+ EOS), truncated to ``--seq-len``,
     a ``Trainer`` with ``DataCollatorForLanguageModeling(mlm=False)`` padding each batch (no
     eval, no saving, ``report_to=[]``, ``use_cpu=True``, ``dataloader_num_workers=0``).

   Both count tokens the same way, in a forward pre-hook on the model: real tokens (attention
   mask 1) and all tokens; time runs from the first forward to the end of the call. After a
   warm-up of each, ``--repeats`` runs of ``--steps`` steps alternate, fresh weights each
   time; medians are reported. Target: zslab's real tokens/s ≥ 1.2 × the Trainer's.
2. **Memory**, LoRA against full fine-tuning of the same model on the same stream, each in its
   own subprocess: peak RSS (``resource.getrusage``, with the peak after loading for
   reference: at the tiny model's size the libraries dominate it), trainable parameters, and
   the optimizer state's bytes (read from the AdamW the loop built, through a global optimizer
   step hook). Reported, no target.

Results go to ``benchmarks/results/train_throughput.json`` and a section of
``benchmarks/README.md``; the exit status is 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchmarks._report import Target, target_table

NAME = "train_throughput"
LORA = {
    "r": 8,
    "alpha": 16,
    "dropout": 0.0,
    "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj"],
}


@dataclass(frozen=True)
class Setup:
    model: str
    tokens: str
    documents: list[str]
    seq_len: int
    batch_size: int
    lr: float


# --- data and model --------------------------------------------------------------------------


def documents(articles: int, reviews_every: int) -> list[str]:
    from zslab.corpus.demo import peoples_daily, reviews

    texts = [d["text"] for d in peoples_daily(limit=articles)]
    texts += [d["text"] for d in reviews()[::reviews_every]]
    # Interleave deterministically so shards (and the Trainer's shuffle) mix long and short.
    import random

    random.Random(0).shuffle(texts)
    return texts


def prepare(work: Path, args: argparse.Namespace) -> tuple[Setup, dict[str, Any]]:
    """The tiny model folder and the packed token shards of the documents."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from zslab.corpus.tokenize import tokenize_shards
    from zslab.train.models import build_tiny_model

    texts = documents(args.articles, args.reviews_every)
    model = build_tiny_model(
        work / "model",
        texts=texts,
        vocab_size=4000,
        hidden_size=args.hidden,
        layers=args.layers,
        heads=4,
        max_position=args.seq_len,
        seed=0,
    )
    curated = work / "curated"
    curated.mkdir()
    per_shard = -(-len(texts) // args.shards)
    for i in range(args.shards):
        part = texts[i * per_shard : (i + 1) * per_shard]
        table = pa.table({"id": [f"doc-{i}-{j}" for j in range(len(part))], "text": part})
        pq.write_table(table, curated / f"part-{i:03d}.parquet")
    stats = tokenize_shards(curated, work / "tokens", model, seq_len=args.seq_len, progress=False)
    chars = [len(t) for t in texts]
    info = {
        "documents": len(texts),
        "characters": sum(chars),
        "median_characters": statistics.median(chars),
        "packed": {
            "sequences": stats.sequences,
            "tokens": stats.tokens,
            "padding": stats.padding,
            "padding_fraction": stats.padding / max(1, stats.sequences * args.seq_len),
        },
    }
    setup = Setup(str(model), str(work / "tokens"), texts, args.seq_len, args.batch, args.lr)
    return setup, info


# --- measuring -------------------------------------------------------------------------------


class TokenCounter:
    """Counts what every training forward pass is given; the clock starts at the first one."""

    def __init__(self) -> None:
        self.real = 0
        self.total = 0
        self.forwards = 0
        self.first: float | None = None

    def __call__(self, module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        if not module.training:
            return
        if self.first is None:
            self.first = time.perf_counter()
        ids = kwargs.get("input_ids", args[0] if args else None)
        mask = kwargs.get("attention_mask")
        self.total += int(ids.numel())
        self.real += int(mask.sum()) if mask is not None else int(ids.numel())
        self.forwards += 1

    def result(self, end: float) -> dict[str, float]:
        seconds = end - (self.first or end)
        return {
            "seconds": seconds,
            "real_tokens": self.real,
            "all_tokens": self.total,
            "forwards": self.forwards,
            "real_tokens_per_s": self.real / seconds if seconds else 0.0,
            "all_tokens_per_s": self.total / seconds if seconds else 0.0,
            "padding_fraction": 1 - self.real / self.total if self.total else 0.0,
        }


def _fresh_model(setup: Setup) -> tuple[Any, Any]:
    from zslab.train.models import load_model

    return load_model(setup.model)


def run_zslab(setup: Setup, steps: int) -> dict[str, float]:
    from zslab.corpus.stream import stream
    from zslab.train.finetune import TrainConfig, finetune

    model, tok = _fresh_model(setup)
    counter = TokenCounter()
    model.register_forward_pre_hook(counter, with_kwargs=True)
    config = TrainConfig(
        task="causal-lm",
        lr=setup.lr,
        max_steps=steps,
        batch_size=setup.batch_size,
        bf16=False,
        log_every=steps,
    )
    data = stream(setup.tokens, batch_size=setup.batch_size, seed=0, loop=True)
    finetune(model, tok, data, None, config, progress=False)
    return counter.result(time.perf_counter())


def run_trainer(setup: Setup, steps: int, scratch: Path) -> dict[str, float]:
    import transformers
    from transformers import DataCollatorForLanguageModeling, Trainer, TrainingArguments
    from transformers.trainer_callback import PrinterCallback

    model, tok = _fresh_model(setup)
    counter = TokenCounter()
    model.register_forward_pre_hook(counter, with_kwargs=True)
    eos = [tok.eos_token_id]
    dataset = [
        {"input_ids": (tok.encode(text, add_special_tokens=False) + eos)[: setup.seq_len]}
        for text in setup.documents
    ]
    arguments = TrainingArguments(
        output_dir=str(scratch),
        per_device_train_batch_size=setup.batch_size,
        max_steps=steps,
        learning_rate=setup.lr,
        lr_scheduler_type="cosine",
        warmup_steps=0,
        max_grad_norm=1.0,
        weight_decay=0.0,
        eval_strategy="no",
        save_strategy="no",
        logging_strategy="no",
        report_to=[],
        use_cpu=True,
        dataloader_num_workers=0,
        disable_tqdm=True,
        seed=0,
    )
    transformers.logging.set_verbosity_error()
    trainer = Trainer(
        model=model,
        args=arguments,
        train_dataset=dataset,
        data_collator=DataCollatorForLanguageModeling(tok, mlm=False),
    )
    trainer.remove_callback(PrinterCallback)  # its end-of-train line would clutter the table
    trainer.train()
    return counter.result(time.perf_counter())


def throughput(setup: Setup, steps: int, repeats: int, warmup: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="zslab-bench-trainer-") as scratch:
        runners: dict[str, Callable[[int], dict[str, float]]] = {
            "zslab": lambda n: run_zslab(setup, n),
            "trainer": lambda n: run_trainer(setup, n, Path(scratch)),
        }
        for name, runner in runners.items():
            print(f"warm-up: {name}, {warmup} steps", file=sys.stderr)
            runner(warmup)
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in runners}
        for repeat in range(repeats):
            for name, runner in runners.items():
                runs[name].append(runner(steps))
                last = runs[name][-1]
                print(
                    f"  run {repeat + 1}/{repeats} {name}: "
                    f"{last['real_tokens_per_s']:.0f} real tokens/s",
                    file=sys.stderr,
                )
    out: dict[str, Any] = {"steps": steps, "repeats": repeats, "warmup_steps": warmup}
    for name, rows in runs.items():
        out[name] = {
            "real_tokens_per_s": statistics.median(r["real_tokens_per_s"] for r in rows),
            "all_tokens_per_s": statistics.median(r["all_tokens_per_s"] for r in rows),
            "padding_fraction": statistics.median(r["padding_fraction"] for r in rows),
            "runs": rows,
        }
    out["ratio"] = out["zslab"]["real_tokens_per_s"] / out["trainer"]["real_tokens_per_s"]
    return out


# --- memory (one subprocess per mode) -------------------------------------------------------


def _peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory_child(setup_file: str, mode: str, steps: int) -> None:
    """Train ``steps`` steps (full or LoRA) and print one JSON line of memory figures."""
    import torch
    from torch.optim.optimizer import register_optimizer_step_post_hook

    from zslab.corpus.stream import stream
    from zslab.train.finetune import TrainConfig, finetune

    torch.set_num_threads(1)
    setup = Setup(**json.loads(Path(setup_file).read_text()))
    model, tok = _fresh_model(setup)
    before = _peak_rss_mb()
    seen: dict[str, int] = {}

    def optimizer_state(optimizer: Any, *_: Any) -> None:
        tensors = [v for s in optimizer.state.values() for v in s.values() if torch.is_tensor(v)]
        seen["optimizer_state_bytes"] = sum(t.numel() * t.element_size() for t in tensors)
        params = [p for group in optimizer.param_groups for p in group["params"]]
        seen["trainable_parameters"] = sum(p.numel() for p in params)

    register_optimizer_step_post_hook(optimizer_state)
    config = TrainConfig(
        task="causal-lm",
        lr=setup.lr,
        max_steps=steps,
        batch_size=setup.batch_size,
        bf16=False,
        log_every=steps,
        lora=LORA if mode == "lora" else None,
    )
    data = stream(setup.tokens, batch_size=setup.batch_size, seed=0, loop=True)
    finetune(model, tok, data, None, config, progress=False)
    report = {
        "mode": mode,
        "total_parameters": sum(p.numel() for p in model.parameters()),
        "peak_rss_after_loading_mb": before,
        "peak_rss_mb": _peak_rss_mb(),
        **seen,
    }
    print(json.dumps(report))


def memory(setup: Setup, steps: int, work: Path) -> dict[str, Any]:
    setup_file = work / "setup.json"
    setup_file.write_text(json.dumps(asdict(setup)))
    out: dict[str, Any] = {"steps": steps, "lora": LORA}
    for mode in ("full", "lora"):
        print(f"memory: {mode} fine-tuning in a subprocess", file=sys.stderr)
        done = subprocess.run(
            [
                *(sys.executable, "-m", "benchmarks.train_throughput", "--memory-child", mode),
                *("--setup-file", str(setup_file), "--steps", str(steps)),
            ],
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parent.parent,
        )
        if done.returncode != 0:
            raise RuntimeError(f"the {mode} memory run failed:\n{done.stderr[-3000:]}")
        out[mode] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


# --- report ----------------------------------------------------------------------------------


def targets_of(speed: dict[str, Any]) -> list[Target]:
    return [
        Target(
            "zslab / Trainer, real tokens/s (median)",
            f"{speed['ratio']:.2f}",
            "≥ 1.2",
            speed["ratio"] >= 1.2,
        )
    ]


def tables(
    info: dict[str, Any], speed: dict[str, Any], mem: dict[str, Any], targets: list[Target]
) -> list[str]:
    lines = [
        f"| causal-LM training, {speed['steps']} steps | real tokens/s | all tokens/s | padding |",
        "|---|---|---|---|",
    ]
    for name, label in (
        ("zslab", "zslab: packed shards + stream + finetune"),
        ("trainer", "transformers Trainer, padded per batch"),
    ):
        row = speed[name]
        lines.append(
            f"| {label} | {row['real_tokens_per_s']:.0f} | {row['all_tokens_per_s']:.0f} | "
            f"{row['padding_fraction']:.1%} |"
        )
    lines.append(f"| ratio zslab / Trainer | {speed['ratio']:.2f} | | |")
    lines += [
        "",
        f"| {mem['steps']} steps | trainable parameters | optimizer state | peak RSS after "
        "loading | peak RSS after training |",
        "|---|---|---|---|---|",
    ]
    for mode in ("full", "lora"):
        row = mem[mode]
        lines.append(
            f"| {mode} ({row['total_parameters']:,} parameters) | "
            f"{row['trainable_parameters']:,} | {row['optimizer_state_bytes'] / 2**20:.2f} MiB | "
            f"{row['peak_rss_after_loading_mb']:.0f} MiB | {row['peak_rss_mb']:.0f} MiB |"
        )
    packed = info["packed"]
    lines += [
        "",
        "At this size the interpreter, torch and transformers dominate the RSS; the "
        "trainable parameters and optimizer state are the part LoRA shrinks.",
        "",
        f"Data: {info['documents']} documents, {info['characters']:,} characters (median "
        f"{info['median_characters']:.0f}); packed into {packed['sequences']} sequences with "
        f"{packed['padding_fraction']:.2%} padding.",
        "",
        *target_table(targets),
    ]
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.train_throughput", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--steps", type=int, default=40, help="steps per measured run (40)")
    parser.add_argument("--repeats", type=int, default=3, help="alternating runs per side (3)")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up steps per side (3)")
    parser.add_argument("--memory-steps", type=int, default=10, help="steps per memory run (10)")
    parser.add_argument("--batch", type=int, default=8, help="sequences per batch (8)")
    parser.add_argument("--seq-len", type=int, default=256, help="packing / truncation (256)")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--articles", type=int, default=1000, help="People's Daily articles")
    parser.add_argument("--reviews-every", type=int, default=5, help="every k-th review (5)")
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--quick", action="store_true", help="tiny sizes; writes nothing")
    parser.add_argument("--memory-child", choices=("full", "lora"), help=argparse.SUPPRESS)
    parser.add_argument("--setup-file", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    if args.memory_child:
        memory_child(args.setup_file, args.memory_child, args.steps)
        return 0
    if args.quick:
        args.steps, args.repeats, args.warmup, args.memory_steps = 3, 1, 1, 2
        args.articles, args.reviews_every, args.seq_len = 100, 50, 128

    with tempfile.TemporaryDirectory(prefix="zslab-bench-throughput-") as tmp:
        work = Path(tmp)
        print("building the tiny model and the token shards ...", file=sys.stderr)
        setup, info = prepare(work, args)
        speed = throughput(setup, args.steps, args.repeats, args.warmup)
        mem = memory(setup, args.memory_steps, work)
    targets = targets_of(speed)
    passed = all(t.passed for t in targets)
    report = tables(info, speed, mem, targets)
    print("\n".join(report))
    if args.quick:
        print("\n--quick: nothing written.")
        return 0 if passed else 1

    from benchmarks._report import (
        envelope,
        provenance,
        update_readme,
        write_results,
    )

    payload = {
        **envelope(NAME, ("torch", "transformers", "peft")),
        "parameters": {
            k: v for k, v in vars(args).items() if k not in ("quick", "memory_child", "setup_file")
        },
        "torch_threads": 1,
        "data": info,
        "throughput": speed,
        "memory": mem,
        "targets": [asdict(t) for t in targets],
        "passed": passed,
    }
    write_results(NAME, payload)
    section = "\n".join(
        [
            f"## {NAME}",
            "",
            f"Causal-LM training of the built-in tiny Llama (hidden {args.hidden}, {args.layers} "
            f"layers, char tokenizer) on {info['documents']} documents (People's Daily 1998 "
            f"articles and product reviews), batch {args.batch} × {args.seq_len} tokens, lr "
            f"{args.lr}, one torch thread per process. zslab: packed token shards → `stream` → "
            "`finetune`; baseline: a transformers `Trainer` on the same documents tokenized "
            f"one by one, truncated to {args.seq_len} and padded per batch by "
            "`DataCollatorForLanguageModeling(mlm=False)`. Tokens counted in a forward pre-hook "
            f"on both; medians of {args.repeats} alternating runs of {args.steps} steps after a "
            "warm-up. Memory: full vs LoRA fine-tuning, one subprocess each, peak RSS from "
            "`getrusage`. Packed rows attend across document boundaries (no block-diagonal "
            "mask): the usual packing trade.",
            "",
            provenance(payload),
            "",
            *report,
        ]
    )
    update_readme(NAME, section)
    print(f"\nwrote benchmarks/results/{NAME}.json and its README section")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
