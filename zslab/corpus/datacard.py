"""The data card: what went in, what each step did and why, and what came out.

``datacard.json`` is for programs (the case library links it, evaluation checks contamination
against it); ``datacard.md`` is the same for people. Both are written next to the shards,
along with ``quarantine.jsonl`` (every row that could not be read, with where and why).

Sections: sources (files, sizes, hashes), input (documents read, quarantined by reason), steps
(in order: seen, kept, modified, dropped by reason, and their own counters and details), PII
found by type, deduplication cluster sizes, decontamination matches, language mix, output
(documents, characters, bytes, length histogram, one hash per shard and one over all
content), the pipeline itself, and package versions.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from collections import Counter
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zslab.corpus.core import StepStats

if TYPE_CHECKING:
    from zslab.corpus.pipeline import Pipeline
    from zslab.corpus.readers import Corpus

__all__ = ["build_card", "load_card", "render_markdown", "write_card"]

CARD_VERSION = 1
_HASH_INPUTS_UP_TO = 2 << 30  # inputs larger than this (in all) are identified by size only
_PACKAGES = (
    "zslab",
    "pyarrow",
    "dask",
    "distributed",
    "opencc",
    "langid",
    "xxhash",
    "numpy",
)


def build_card(
    pipeline: Pipeline,
    corpus: Corpus,
    output: Path,
    stage_results: list[dict[str, Any]],
    *,
    name: str,
    seconds: float,
) -> dict[str, Any]:
    """Assemble the card from every shard's and every select's results."""
    step_stats = _merge_steps(pipeline, stage_results)
    first = stage_results[0]["shards"]
    last = stage_results[-1]["shards"]
    quarantine = [q for result in first for q in result["quarantined"]]
    _write_quarantine(output, quarantine)
    histogram: Counter[str] = Counter()
    for result in last:
        histogram.update(result["summary"]["length_histogram"])
    shards = []
    digest = hashlib.sha256()
    for result in sorted(last, key=lambda r: r["shard"]):
        summary = result["summary"]
        path = output / f"{result['shard']}.parquet"
        shards.append(
            {
                "file": path.name,
                "documents": summary["documents"],
                "bytes_on_disk": path.stat().st_size if path.exists() else 0,
                "content_sha256": summary["content_sha256"],
            }
        )
        digest.update(summary["content_sha256"].encode())
    counters: Counter[str] = Counter()
    for stats in step_stats:
        counters.update(stats.counters)
    card: dict[str, Any] = {
        "card_version": CARD_VERSION,
        "name": name,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(seconds, 3),
        "pipeline_hash": pipeline.fingerprint(),
        "pipeline": pipeline.to_config(),
        "sources": _sources(corpus),
        "input": {
            "config": corpus.config(),
            "shards": len(corpus.shards),
            "documents": sum(r["read"] for r in first),
            "quarantined": dict(sorted(Counter(q["reason"] for q in quarantine).items())),
        },
        "steps": [stats.to_json() for stats in step_stats],
        "pii": _prefixed(counters, "pii:"),
        "language_mix": _prefixed(counters, "lang:"),
        "dedup": {
            stats.step: {
                "dropped": sum(stats.dropped.values()),
                "clusters": stats.details.get("clusters", {}),
                **{k: v for k, v in stats.details.items() if k not in {"clusters"}},
            }
            for stats in step_stats
            if stats.step.endswith("dedup")
        },
        "decontamination": {
            stats.step: stats.details.get("matches", {})
            for stats in step_stats
            if stats.step == "decontaminate"
        },
        "output": {
            "documents": sum(r["summary"]["documents"] for r in last),
            "characters": sum(r["summary"]["characters"] for r in last),
            "bytes": sum(r["summary"]["bytes"] for r in last),
            "length_histogram": dict(sorted(histogram.items(), key=lambda kv: int(kv[0]))),
            "shards": shards,
            "content_sha256": digest.hexdigest(),
        },
        "environment": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "packages": _versions(),
        },
    }
    return card


def _merge_steps(pipeline: Pipeline, stage_results: list[dict[str, Any]]) -> list[StepStats]:
    merged: list[StepStats] = []
    for stage_number, (steps, corpus_step) in enumerate(pipeline.stages()):
        stage = stage_results[stage_number]
        for position, step in enumerate(steps):
            total = step.new_stats()
            for result in stage["shards"]:
                total.merge(StepStats.from_json(result["steps"][position]))
            merged.append(total)
        if corpus_step is not None:
            merged.append(StepStats.from_json(stage["select"]["stats"]))
    return merged


def _prefixed(counters: Counter[str], prefix: str) -> dict[str, int]:
    return {k[len(prefix) :]: v for k, v in sorted(counters.items()) if k.startswith(prefix)}


def _sources(corpus: Corpus) -> list[dict[str, Any]]:
    files: dict[str, int] = {}
    for shard in corpus.shards:
        files[shard.path] = shard.size
    hash_them = sum(files.values()) <= _HASH_INPUTS_UP_TO
    out = []
    for path, size in files.items():
        entry: dict[str, Any] = {"path": path, "bytes": size, "format": corpus.format}
        if hash_them:
            entry["sha256"] = _file_sha256(path)
        out.append(entry)
    return out


def _file_sha256(path: str) -> str:
    import fsspec

    digest = hashlib.sha256()
    with fsspec.open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _versions() -> dict[str, str]:
    out = {}
    for package in _PACKAGES:
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return out


def _write_quarantine(output: Path, rows: list[dict[str, Any]]) -> None:
    path = output / "quarantine.jsonl"
    if not rows:
        path.unlink(missing_ok=True)
        return
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    os.replace(tmp, path)


def write_card(output: Path, card: dict[str, Any]) -> None:
    for name, text in (
        ("datacard.json", json.dumps(card, ensure_ascii=False, indent=1)),
        ("datacard.md", render_markdown(card)),
    ):
        path = output / name
        tmp = path.with_name(name + ".tmp")
        tmp.write_text(text + "\n", encoding="utf-8")
        os.replace(tmp, path)


def load_card(output: str | Path) -> dict[str, Any]:
    path = Path(output) / "datacard.json"
    if not path.exists():
        raise FileNotFoundError(f"no data card in {output}: has `zslab corpus run` finished?")
    card: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return card


def render_markdown(card: dict[str, Any]) -> str:
    """The card for people: tables of sources, steps and drop reasons, PII, dedup, output."""
    lines = [
        f"# Data card: {card['name']}",
        "",
        f"Built {card['created_at']} in {card['seconds']:.1f} s by zslab "
        f"{card['environment']['packages'].get('zslab', '?')}; pipeline `{card['pipeline_hash']}`.",
        "",
        "## Input",
        "",
        f"{card['input']['documents']:,} documents read from {len(card['sources'])} file(s) "
        f"in {card['input']['shards']} shard(s).",
        "",
        "| file | bytes | sha256 |",
        "|---|---|---|",
        *(
            f"| {s['path']} | {s['bytes']:,} | {s.get('sha256', '-')[:16]} |"
            for s in card["sources"]
        ),
    ]
    if card["input"]["quarantined"]:
        lines += ["", "Quarantined (see `quarantine.jsonl`):", ""]
        lines += [f"- {reason}: {n:,}" for reason, n in card["input"]["quarantined"].items()]
    lines += [
        "",
        "## Steps",
        "",
        "| # | step | seen | kept | modified | dropped | reasons |",
        "|---|---|---|---|---|---|---|",
    ]
    for number, step in enumerate(card["steps"], start=1):
        reasons = ", ".join(f"{k} {v:,}" for k, v in step["dropped"].items()) or "-"
        dropped = sum(step["dropped"].values())
        lines.append(
            f"| {number} | {step['step']} | {step['seen']:,} | {step['kept']:,} | "
            f"{step['modified']:,} | {dropped:,} | {reasons} |"
        )
    if card["pii"]:
        lines += ["", "## PII redacted", "", "| type | count |", "|---|---|"]
        lines += [f"| {k} | {v:,} |" for k, v in card["pii"].items()]
    if card["language_mix"]:
        lines += ["", "## Languages (kept documents)", "", "| language | documents |", "|---|---|"]
        lines += [f"| {k} | {v:,} |" for k, v in card["language_mix"].items()]
    for step, dedup in card["dedup"].items():
        lines += ["", f"## {step}", "", f"Dropped {dedup['dropped']:,} documents."]
        if dedup.get("clusters"):
            lines += ["", "| cluster size | clusters |", "|---|---|"]
            lines += [
                f"| {size} | {count:,} |"
                for size, count in sorted(dedup["clusters"].items(), key=lambda kv: int(kv[0]))
            ]
    for step, matches in card["decontamination"].items():
        lines += ["", f"## {step}", ""]
        if not matches:
            lines.append("No evaluation item matched any document.")
        for item, docs in sorted(matches.items()):
            lines.append(f"- {item}: {', '.join(docs[:10])}{' …' if len(docs) > 10 else ''}")
    output = card["output"]
    lines += [
        "",
        "## Output",
        "",
        f"{output['documents']:,} documents, {output['characters']:,} characters, "
        f"{output['bytes']:,} bytes of text in {len(output['shards'])} shard(s); content "
        f"sha256 `{output['content_sha256'][:16]}`.",
        "",
        "| length (characters) | documents |",
        "|---|---|",
        *(f"| ≥ {edge} | {count:,} |" for edge, count in output["length_histogram"].items()),
        "",
        "## Pipeline",
        "",
        "```yaml",
        *_yaml(card["pipeline"]),
        "```",
        "",
        "## Environment",
        "",
        f"Python {card['environment']['python']} on {card['environment']['platform']}; "
        + ", ".join(f"{k} {v}" for k, v in card["environment"]["packages"].items())
        + ".",
    ]
    return "\n".join(lines)


def _yaml(steps: list[dict[str, Any]]) -> list[str]:
    import yaml

    return str(yaml.safe_dump({"steps": steps}, allow_unicode=True, sort_keys=False)).splitlines()
