"""Corpus pipeline: zslab against DataTrove on the same corpus, scaling, and stream memory.

    .venv/bin/python -m benchmarks.corpus_pipeline            # full run, about 10 minutes
    .venv/bin/python -m benchmarks.corpus_pipeline --quick    # smoke run; writes no results

Needs DataTrove (``pip install "datatrove[processing]" spacy``); ``make bench`` installs it.

1. **Throughput against DataTrove**, one process each, in one run: the same JSONL corpus
   (People's Daily 1998 articles, product reviews and English documents, with planted
   near-duplicates; see :mod:`zslab.corpus.demo`) through the equivalent steps — Gopher
   repetition, Gopher quality, MinHash near-dedup at threshold 0.8 (5-gram shingles, 14 bands ×
   8 rows in both) — writing the survivors. DataTrove runs its four MinHash stages with
   ``LocalPipelineExecutor(tasks=1, workers=1)``; zslab its pipeline in-process. Reported:
   documents/s and MB/s per core (input size over wall time), and what each kept. Target: zslab
   ahead. DataTrove's Gopher filters count words, so they drop nearly every Chinese document
   (that is in the "kept" columns, and it makes its MinHash stage cheaper); zslab's use
   character-based variants for Chinese.
2. **Scaling**: zslab's pipeline on a Dask LocalCluster with 1 and then 2 worker processes
   (one thread each) on the corpus copied ``--scale`` times. Reported: speed-up.
3. **Stream memory**: token shards for the corpus and for 10× it; one subprocess each streams
   every batch through :func:`zslab.corpus.stream` and reports its peak RSS. Target: the 10×
   corpus's peak within +15 % of the 1× corpus's.

Results go to ``benchmarks/results/corpus_pipeline.json`` and a section of
``benchmarks/README.md``; the exit status is 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from benchmarks._report import (
    Target,
    envelope,
    provenance,
    target_table,
    update_readme,
    write_results,
)

THRESHOLD = 0.8
BANDS, ROWS, NGRAM = 14, 8, 5


def build_corpus(
    folder: Path, *, articles: int | None, copies: int = 1, english_only: bool = False
) -> dict[str, Any]:
    """JSONL shards of the demo corpus (``copies`` times, ids made unique)."""
    from zslab.corpus.demo import english_docs, peoples_daily, plant, reviews

    docs = [] if english_only else peoples_daily(articles)
    if not english_only:
        docs += reviews(None if articles is None else articles * 3)
    docs += english_docs(None if articles is None else articles)
    planted = plant(docs, seed=1, near_duplicates=200, exact_duplicates=50, pii_docs=0)
    everything = docs + planted.docs
    random.Random(1).shuffle(everything)
    folder.mkdir(parents=True, exist_ok=True)
    size = 0
    count = 0
    per_shard = 2000
    rows = []
    for copy in range(copies):
        for doc in everything:
            rows.append({"id": f"{doc['id']}#{copy}", "text": doc["text"]})
    for number, start in enumerate(range(0, len(rows), per_shard)):
        path = folder / f"part-{number:04d}.jsonl"
        with open(path, "w", encoding="utf-8") as handle:
            for row in rows[start : start + per_shard]:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        size += path.stat().st_size
        count += len(rows[start : start + per_shard])
    return {"documents": count, "bytes": size, "files": number + 1}


def zslab_steps() -> list[dict[str, Any]]:
    return [
        {"gopher_repetition": {}},
        {"gopher_quality": {}},
        {"minhash_dedup": {"threshold": THRESHOLD, "bands": BANDS, "rows": ROWS}},
    ]


def run_zslab(source: Path, output: Path, client: Any = None) -> dict[str, Any]:
    from zslab.corpus.pipeline import Pipeline
    from zslab.corpus.readers import read_jsonl

    shutil.rmtree(output, ignore_errors=True)
    pipeline = Pipeline.from_config(zslab_steps())
    started = time.perf_counter()
    result = pipeline.run(
        read_jsonl(str(source), id_column="id"), output, client=client, progress=False
    )
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "kept": result.documents}


def run_datatrove(source: Path, work: Path) -> dict[str, Any]:
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup import (
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupFilter,
        MinhashDedupSignature,
    )
    from datatrove.pipeline.dedup.minhash import MinhashConfig
    from datatrove.pipeline.filters import GopherQualityFilter, GopherRepetitionFilter
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter

    shutil.rmtree(work, ignore_errors=True)
    config = MinhashConfig(num_buckets=BANDS, hashes_per_bucket=ROWS, n_grams=NGRAM)
    filtered, sigs, buckets, remove, out = (
        work / name for name in ("filtered", "sigs", "buckets", "remove", "out")
    )
    logs = work / "logs"
    started = time.perf_counter()
    LocalPipelineExecutor(
        pipeline=[
            JsonlReader(str(source), id_key="id"),
            GopherRepetitionFilter(),
            GopherQualityFilter(),
            JsonlWriter(str(filtered)),
        ],
        tasks=1,
        workers=1,
        logging_dir=str(logs / "1"),
    ).run()
    LocalPipelineExecutor(
        pipeline=[JsonlReader(str(filtered)), MinhashDedupSignature(str(sigs), config=config)],
        tasks=1,
        workers=1,
        logging_dir=str(logs / "2"),
    ).run()
    LocalPipelineExecutor(
        pipeline=[MinhashDedupBuckets(str(sigs), str(buckets), config=config)],
        tasks=config.num_buckets,
        workers=1,
        logging_dir=str(logs / "3"),
    ).run()
    LocalPipelineExecutor(
        pipeline=[MinhashDedupCluster(str(buckets), str(remove), config=config)],
        tasks=1,
        workers=1,
        logging_dir=str(logs / "4"),
    ).run()
    LocalPipelineExecutor(
        pipeline=[
            JsonlReader(str(filtered)),
            MinhashDedupFilter(str(remove)),
            JsonlWriter(str(out)),
        ],
        tasks=1,
        workers=1,
        logging_dir=str(logs / "5"),
    ).run()
    seconds = time.perf_counter() - started
    kept = 0
    import gzip

    for path in out.glob("*.jsonl.gz"):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            kept += sum(1 for _ in handle)
    return {"seconds": seconds, "kept": kept}


def throughput(
    args: argparse.Namespace, scratch: Path, *, english_only: bool = False
) -> dict[str, Any]:
    source = scratch / ("english" if english_only else "one")
    info = build_corpus(source, articles=args.articles, english_only=english_only)
    rounds: dict[str, list[dict[str, Any]]] = {"zslab": [], "datatrove": []}
    for number in range(args.repeats):
        print(f"  round {number + 1}/{args.repeats}", file=sys.stderr, flush=True)
        rounds["zslab"].append(run_zslab(source, scratch / "zslab-out"))
        rounds["datatrove"].append(run_datatrove(source, scratch / "datatrove-work"))
    out: dict[str, Any] = {"corpus": info, "rounds": rounds}
    for name, runs in rounds.items():
        seconds = statistics.median(r["seconds"] for r in runs)
        out[name] = {
            "seconds": seconds,
            "docs_per_s": info["documents"] / seconds,
            "mb_per_s": info["bytes"] / seconds / 1e6,
            "kept": runs[-1]["kept"],
        }
    out["ratio"] = out["zslab"]["docs_per_s"] / out["datatrove"]["docs_per_s"]
    return out


def scaling(args: argparse.Namespace, scratch: Path) -> dict[str, Any]:
    from distributed import Client, LocalCluster

    source = scratch / "scaled"
    info = build_corpus(source, articles=args.articles, copies=args.scale)
    out: dict[str, Any] = {"corpus": info}
    for workers in (1, 2):
        times = []
        with (
            LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=40,
            ) as cluster,
            Client(cluster) as client,
        ):
            for _ in range(args.repeats):
                times.append(run_zslab(source, scratch / "scaled-out", client)["seconds"])
        out[f"workers_{workers}"] = {"seconds": statistics.median(times), "runs": times}
    out["speedup"] = out["workers_1"]["seconds"] / out["workers_2"]["seconds"]
    return out


STREAM_PROBE = """
import json, resource, sys
from zslab.corpus.stream import stream
batches = 0
for batch in stream(sys.argv[1], batch_size=16, seed=0, shuffle_buffer=1000):
    batches += 1
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"batches": batches, "peak_rss": peak}))
"""


def stream_memory(args: argparse.Namespace, scratch: Path) -> dict[str, Any]:
    from zslab.corpus.tokenize import save_tokenizer, tokenize_shards, train_tokenizer

    out: dict[str, Any] = {}
    source_one = scratch / "one"
    if not source_one.exists():
        build_corpus(source_one, articles=args.articles)
    texts: list[str] = []
    for path in sorted(source_one.glob("*.jsonl"))[:2]:
        with open(path, encoding="utf-8") as handle:
            texts += [json.loads(line)["text"] for line in handle]
    tokenizer = train_tokenizer(texts, kind="char", vocab_size=4000)
    tok_dir = scratch / "tokenizer"
    save_tokenizer(tokenizer, tok_dir)
    for label, copies in (("1x", 1), ("10x", 10)):
        curated = scratch / f"curated-{label}"
        build_corpus(scratch / f"raw-{label}", articles=args.articles, copies=copies)
        shutil.rmtree(curated, ignore_errors=True)
        from zslab.corpus.pipeline import Pipeline
        from zslab.corpus.readers import read_jsonl

        Pipeline([]).run(read_jsonl(str(scratch / f"raw-{label}")), curated, progress=False)
        tokens = scratch / f"tokens-{label}"
        stats = tokenize_shards(curated, tokens, tok_dir, seq_len=256, progress=False)
        peaks = []
        for _ in range(3):
            done = subprocess.run(
                [sys.executable, "-c", STREAM_PROBE, str(tokens)],
                capture_output=True,
                text=True,
                check=True,
            )
            peaks.append(json.loads(done.stdout.strip().splitlines()[-1]))
        out[label] = {
            "tokens": _tokens_of(stats),
            "batches": peaks[0]["batches"],
            "peak_rss_mb": statistics.median(p["peak_rss"] for p in peaks) / 1e6,
        }
    out["growth"] = out["10x"]["peak_rss_mb"] / out["1x"]["peak_rss_mb"] - 1
    return out


def _tokens_of(stats: Any) -> int:
    for name in ("tokens", "total_tokens"):
        value = getattr(stats, name, None)
        if isinstance(value, int):
            return value
    return -1


def evaluate(result: dict[str, Any]) -> list[Target]:
    targets = [
        Target(
            f"zslab / DataTrove documents per second per core, {label}",
            f"{result[key]['ratio']:.2f}",
            "> 1",
            result[key]["ratio"] > 1,
        )
        for key, label in (("throughput", "mixed"), ("throughput_english", "English"))
    ]
    if "stream" in result:
        growth = result["stream"]["growth"]
        targets.append(
            Target(
                "stream peak RSS, 10× corpus over 1×",
                f"{growth * 100:+.1f} %",
                "≤ +15 %",
                growth <= 0.15,
            )
        )
    return targets


def tables(result: dict[str, Any], targets: list[Target]) -> list[str]:
    lines = [
        "| corpus | pipeline (one process) | seconds | docs/s per core | MB/s per core | kept |",
        "|---|---|---|---|---|---|",
    ]
    for key, label in (("throughput", "mixed zh+en"), ("throughput_english", "English only")):
        through = result[key]
        corpus = through["corpus"]
        described = f"{label}: {corpus['documents']:,} docs, {corpus['bytes'] / 1e6:.1f} MB"
        for name in ("zslab", "datatrove"):
            row = through[name]
            lines.append(
                f"| {described} | {name} | {row['seconds']:.1f} | {row['docs_per_s']:.0f} | "
                f"{row['mb_per_s']:.2f} | {row['kept']:,} |"
            )
    if "scaling" in result:
        scale = result["scaling"]
        lines += [
            "",
            "| Dask workers | seconds | speed-up |",
            "|---|---|---|",
            f"| 1 | {scale['workers_1']['seconds']:.1f} | 1.00 |",
            f"| 2 | {scale['workers_2']['seconds']:.1f} | {scale['speedup']:.2f} |",
        ]
    if "stream" in result:
        stream = result["stream"]
        lines += [
            "",
            "| stream | tokens | batches | peak RSS MB |",
            "|---|---|---|---|",
            *(
                f"| {label} | {stream[label]['tokens']:,} | {stream[label]['batches']:,} | "
                f"{stream[label]['peak_rss_mb']:.0f} |"
                for label in ("1x", "10x")
            ),
        ]
    lines += ["", *target_table(targets)]
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.corpus_pipeline", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--articles", type=int, default=None, help="People's Daily articles")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each (3)")
    parser.add_argument("--scale", type=int, default=2, help="copies for the scaling run (2)")
    parser.add_argument("--parts", default="throughput,scaling,stream")
    parser.add_argument("--quick", action="store_true", help="a small corpus; writes nothing")
    args = parser.parse_args(argv)
    if args.quick:
        args.articles, args.repeats, args.scale = 200, 1, 1
    parts = set(args.parts.split(","))
    result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="zslab-bench-corpus-") as tmp:
        scratch = Path(tmp)
        print("throughput against DataTrove ...", file=sys.stderr, flush=True)
        result["throughput"] = throughput(args, scratch)
        result["throughput_english"] = throughput(args, scratch, english_only=True)
        if "scaling" in parts:
            print("scaling 1 -> 2 workers ...", file=sys.stderr, flush=True)
            result["scaling"] = scaling(args, scratch)
        if "stream" in parts:
            print("stream memory ...", file=sys.stderr, flush=True)
            result["stream"] = stream_memory(args, scratch)
    targets = evaluate(result)
    passed = all(t.passed for t in targets)
    report = tables(result, targets)
    print("\n".join(report))
    if args.quick:
        print("\n--quick: nothing written.")
        return 0 if passed else 1
    payload = {
        **envelope("corpus_pipeline", ("datatrove", "pyarrow", "distributed")),
        "parameters": {k: v for k, v in vars(args).items() if k != "quick"},
        **result,
        "targets": [asdict(t) for t in targets],
        "passed": passed,
    }
    write_results("corpus_pipeline", payload)
    section = "\n".join(
        [
            "## corpus_pipeline",
            "",
            "zslab's pipeline against DataTrove's equivalent steps (Gopher repetition, Gopher "
            f"quality, MinHash dedup at {THRESHOLD}, {BANDS}×{ROWS}, {NGRAM}-grams) on the same "
            f"corpus, one process each, medians of {args.repeats} runs; scaling on a Dask "
            f"LocalCluster; peak RSS of streaming token shards of the corpus and of 10× it.",
            "",
            provenance(payload),
            "",
            *report,
        ]
    )
    update_readme("corpus_pipeline", section)
    print("\nwrote benchmarks/results/corpus_pipeline.json and its README section")
    return 0 if passed else 1


if __name__ == "__main__":
    os.environ.setdefault("TQDM_DISABLE", "1")
    sys.exit(main())
