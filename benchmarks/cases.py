"""Case library: search latency over 100,000 generated cases, against a naive LIKE scan.

    .venv/bin/python -m benchmarks.cases                 # full run, 100,000 cases, ~3 minutes
    .venv/bin/python -m benchmarks.cases --quick         # 2,000 cases; writes no results

A fresh SQLite hub database (``open_database``, so every migration runs) is filled with
generated cases across the eight sectors: Chinese titles and summaries assembled from
sector vocabularies and phrases, English titles and summaries, tags, model names
(``Qwen2.5-7B-LoRA``) and dataset names; each row gets ``search_text`` as ``index_case``
computes it, and the FTS5 index follows through its triggers. Then ``search_cases`` is timed
(function call on a read session, visibility ``where`` as the hub would pass it) for ~50
Chinese queries of 1–4 characters, common and rare, and ~50 English ones, ``--repeats`` times
each; the baseline, on the same data in the same run, is a naive ``LIKE '%q%'`` scan over
title, English title and summary (count + newest 20). Target: search p99 ≤ 50 ms for each
language.

Then the real hub (``zslab hub``, a subprocess on the same database) is measured over HTTP:
``GET /api/v1/cases?q=…`` as a signed-in user who belongs to no organization (the visibility
rules apply), ``--publish`` cases published from completed runs through ``POST /api/v1/cases``
(one client, then four at once), and, once a reviewer has approved them, gallery pages
(``GET /cases/{slug}`` and ``GET /cases?q=…``, server-rendered). Results go to
``benchmarks/results/cases.json`` and a section of ``benchmarks/README.md``; the exit status
is 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, or_, select
from sqlalchemy.orm import Session

from benchmarks._report import Target, target_table
from benchmarks._servers import HOST, free_port, running
from zslab.cases.search import search_cases, search_text
from zslab.config import Settings
from zslab.hub.app import open_database
from zslab.hub.db.engine import Database
from zslab.hub.db.orm import CaseRow, Organization, Project, User

NAME = "cases"
P99_LIMIT_MS = 50.0
BATCH = 2000

# Sector → (Chinese vocabulary, English vocabulary, tasks).
VOCAB: dict[str, tuple[list[str], list[str], list[str]]] = {
    "finance": (
        ["信贷", "风控", "反欺诈", "征信", "理财", "保险理赔", "量化交易", "信用评分", "票据识别"],
        ["credit", "risk", "fraud", "scoring", "insurance", "trading", "loan", "invoice"],
        ["tabular-classification", "anomaly-detection", "document-ocr"],
    ),
    "education": (
        ["作文批改", "题库", "知识点", "学情分析", "口语评测", "课堂", "错题", "个性化推荐"],
        ["essay", "grading", "tutoring", "curriculum", "speaking", "classroom", "quiz"],
        ["text-generation", "text-classification", "speech-scoring"],
    ),
    "healthcare": (
        ["医疗", "影像", "病历", "肺结节", "眼底", "病理切片", "分诊", "药物", "心电图"],
        ["medical", "imaging", "radiology", "pathology", "triage", "clinical", "ecg"],
        ["image-segmentation", "ner", "image-classification"],
    ),
    "culture_tourism": (
        ["文旅", "景区", "导览", "文物", "非遗", "客流预测", "古籍", "书法", "游记"],
        ["tourism", "museum", "heritage", "calligraphy", "visitor", "guide", "travel"],
        ["text-generation", "ocr", "time-series-forecasting"],
    ),
    "manufacturing": (
        ["工业", "质检", "缺陷检测", "预测性维护", "工艺", "设备", "焊缝", "排产", "能耗"],
        ["defect", "inspection", "maintenance", "welding", "factory", "scheduling", "sensor"],
        ["object-detection", "time-series-forecasting", "anomaly-detection"],
    ),
    "city_governance": (
        ["城市治理", "交通", "政务", "热线", "工单分类", "违章", "垃圾分类", "应急", "网格"],
        ["traffic", "government", "hotline", "ticket", "emergency", "waste", "urban"],
        ["text-classification", "object-detection", "summarization"],
    ),
    "online_economy": (
        ["电商", "客服", "直播", "推荐", "搜索排序", "评论", "商品标题", "物流", "广告"],
        ["ecommerce", "chatbot", "recommendation", "ranking", "review", "livestream", "ads"],
        ["text-classification", "question-answering", "ranking"],
    ),
    "other": (
        ["农业", "气象", "能源", "法律", "文书", "遥感", "水利", "环保", "体育"],
        ["agriculture", "weather", "energy", "legal", "remote", "sensing", "sports"],
        ["text-classification", "image-segmentation", "summarization"],
    ),
}
ZH_GENERIC = ["模型", "大模型", "智能", "数据集", "微调", "评测", "系统", "平台", "算法", "应用"]
ZH_PHRASES = [
    "基于{a}的{b}方法",
    "{a}场景下的{b}实践",
    "面向{a}的{b}系统",
    "{a}与{b}联合建模",
    "利用{model}完成{a}任务",
]
EN_GENERIC = ["model", "dataset", "finetuning", "benchmark", "pipeline", "transformer", "lora"]
MODELS = [
    "Qwen2.5-7B-LoRA",
    "Qwen2-1.5B",
    "ChatGLM3-6B",
    "Baichuan2-13B",
    "BERT-base-chinese",
    "RoBERTa-wwm-ext",
    "YOLOv8n",
    "ResNet-50",
    "ViT-B-16",
    "Llama-3-8B-Instruct",
    "InternLM2-7B",
    "XGBoost",
]
DATASETS = [
    "CLUE-TNEWS",
    "CMeEE",
    "LIDC-IDRI",
    "LendingClub",
    "ChnSentiCorp",
    "DuReader",
    "COCO",
    "NEU-DET",
    "THUCNews",
    "MedDialog",
    "WikiText-103",
    "CAIL2018",
]
LICENSES = ["apache-2.0", "mit", "cc-by-4.0", "qwen", "proprietary"]
RARE_ZH = ["缂丝", "羌绣", "蜀锦", "甲骨", "傩戏", "铜鼓", "皮影", "榫卯", "藏香", "龙泉窑"]


def _zh_title(rng: random.Random, sector: str) -> str:
    words = VOCAB[sector][0]
    return rng.choice(words) + rng.choice(ZH_GENERIC) + rng.choice(["", "研究", "实践", "方案"])


def _zh_summary(rng: random.Random, sector: str, model: str) -> str:
    words = VOCAB[sector][0] + ZH_GENERIC
    sentences = [
        rng.choice(ZH_PHRASES).format(a=rng.choice(words), b=rng.choice(words), model=model)
        for _ in range(rng.randint(2, 4))
    ]
    if rng.random() < 0.01:
        sentences.append(f"涉及{rng.choice(RARE_ZH)}")
    return "，".join(sentences) + "。"


def _en_text(rng: random.Random, sector: str, words: int) -> str:
    vocab = VOCAB[sector][1] + EN_GENERIC
    return " ".join(rng.choice(vocab) for _ in range(words)).capitalize()


def generate(rng: random.Random, first: int, n: int, start: datetime) -> list[dict[str, Any]]:
    rows = []
    sectors = list(VOCAB)
    for i in range(first, first + n):
        sector = sectors[i % len(sectors)]
        model = rng.choice(MODELS)
        datasets = rng.sample(DATASETS, rng.randint(1, 2))
        tags = rng.sample(VOCAB[sector][0] + ZH_GENERIC, 2) + rng.sample(VOCAB[sector][1], 1)
        row = {
            "id": f"case_{i:07d}",
            "slug": f"case-{i}",
            "org_id": "org_bench",
            "project_id": "prj_bench",
            "owner_id": "usr_bench",
            "sector": sector,
            "visibility": "public" if rng.random() < 0.8 else "org",
            "created_at": start + timedelta(seconds=i),
            "updated_at": start + timedelta(seconds=i),
            "title": _zh_title(rng, sector),
            "title_en": _en_text(rng, sector, 4),
            "summary": _zh_summary(rng, sector, model) + " " + _en_text(rng, sector, 12) + ".",
            "task": rng.choice(VOCAB[sector][2]),
            "license": rng.choice(LICENSES),
            "tags": tags,
            "model": model,
            "datasets": datasets,
            "status": "published",
            "current_version": 1,
            "published_version": 1,
            "reproduced": rng.random() < 0.2,
        }
        # What index_case stores, computed the same way (the FTS5 triggers do the rest).
        row["search_text"] = search_text(
            title=row["title"],
            title_en=row["title_en"],
            summary=row["summary"],
            tags=tags,
            model=model,
            datasets=datasets,
        )
        rows.append(row)
    return rows


def queries(rng: random.Random) -> dict[str, list[str]]:
    zh_words = sorted({w for zh, _en, _t in VOCAB.values() for w in zh} | set(ZH_GENERIC))
    singles = sorted({c for w in zh_words for c in w})
    zh = (
        rng.sample([w for w in zh_words if len(w) == 2], 20)
        + rng.sample([w for w in zh_words if len(w) >= 3], 10)
        + rng.sample(singles, 8)
        + RARE_ZH[:6]
        + ["信贷风控", "医疗影像", "智能客服", "缺陷检测", "文旅导览", "风控 微调"]
    )
    en_words = sorted({w for _zh, en, _t in VOCAB.values() for w in en} | set(EN_GENERIC))
    en = (
        rng.sample(en_words, 30)
        + [w[:4] for w in rng.sample(en_words, 8)]  # prefixes, as typed
        + ["qwen2.5-7b-lora", "chatglm3", "lendingclub", "coco", "yolov8n", "resnet"]
        + ["credit risk", "medical imaging", "defect inspection", "zyzzyva", "transformer lora"]
    )
    return {"zh": zh, "en": en}


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(run: Callable[[str], int], qs: Sequence[str], repeats: int) -> dict[str, Any]:
    """Latency of ``run(q)`` over every query, ``repeats`` rounds after one warm-up round."""
    for q in qs:
        run(q)
    samples: list[float] = []
    matches: dict[str, int] = {}
    for _ in range(repeats):
        for q in qs:
            started = time.perf_counter()
            matches[q] = run(q)
            samples.append((time.perf_counter() - started) * 1000)
    return {
        "queries": len(qs),
        "samples": len(samples),
        "p50_ms": round(statistics.median(samples), 3),
        "p99_ms": round(percentile(samples, 0.99), 3),
        "max_ms": round(max(samples), 3),
        "median_matches": statistics.median(matches.values()),
    }


def fill(db: Database, n: int, seed: int) -> float:
    rng = random.Random(seed)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    with db.write_session() as session, session.begin():
        session.add(User(id="usr_bench", name="bench"))
        session.add(Organization(id="org_bench", slug="bench", name="Bench"))
        session.flush()
        session.add(Project(id="prj_bench", org_id="org_bench", slug="bench", name="Bench"))
    seconds = 0.0
    for first in range(0, n, BATCH):
        rows = generate(rng, first, min(BATCH, n - first), start)
        started = time.perf_counter()
        with db.write_session() as session, session.begin():
            session.execute(insert(CaseRow), rows)
        seconds += time.perf_counter() - started
    return seconds


def search_run(session: Session) -> Callable[[str], int]:
    def run(q: str) -> int:
        _hits, total, _ = search_cases(session, q, where=CaseRow.visibility == "public")
        return total

    return run


def like_run(session: Session) -> Callable[[str], int]:
    """The baseline: what a hub without an index would do."""

    def run(q: str) -> int:
        conditions = [CaseRow.visibility == "public"]
        for term in q.split():
            pattern = f"%{term}%"
            conditions.append(
                or_(
                    CaseRow.title.ilike(pattern),
                    CaseRow.title_en.ilike(pattern),
                    CaseRow.summary.ilike(pattern),
                )
            )
        where = select(CaseRow.id).where(*conditions)
        total = session.scalar(select(func.count()).select_from(where.subquery())) or 0
        session.execute(where.order_by(CaseRow.updated_at.desc()).limit(20)).all()
        return total

    return run


def _latencies(samples: Sequence[float]) -> dict[str, float]:
    return {
        "n": len(samples),
        "p50_ms": round(statistics.median(samples), 2),
        "p99_ms": round(percentile(samples, 0.99), 2),
    }


def _timed(call: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = call()
    return (time.perf_counter() - started) * 1000, value


def hub_over_http(
    home: Path, qs: dict[str, list[str]], publishes: int, repeats: int
) -> dict[str, Any]:
    """Search, publish and gallery pages through a real hub subprocess on the same database."""
    from zslab.cases.model import results_entry
    from zslab.client import Lab

    token = "zsl_" + secrets.token_urlsafe(32)
    port = free_port()
    url = f"http://{HOST}:{port}"
    env = {**os.environ, "ZSLAB_HOME": str(home), "ZSLAB_BOOTSTRAP_TOKEN": token}
    argv = [sys.executable, "-m", "zslab", "hub", "--host", HOST, "--port", str(port)]
    argv += ["--log-level", "warning"]
    out: dict[str, Any] = {}
    with running("hub", argv, env=env, ready_url=f"{url}/api/v1/health", log_dir=home) as _hub:
        admin = Lab(url, token)
        labs = {}
        for name, role in (("reader", "member"), ("reviewer", "reviewer")):
            admin.users.add(name, role=role)
            secret = admin.tokens.create(f"{name}-token", user=name).secret
            labs[name] = Lab(url, secret)
        admin.orgs.add_member("bench", "reviewer")

        # Search as someone in no organization: the visibility rules are in every query.
        reader = labs["reader"]
        for language, language_qs in qs.items():
            samples = []
            for _ in range(repeats):
                for q in language_qs:
                    samples.append(_timed(lambda q=q: reader.cases.search(q))[0])
            out[f"search_{language}"] = _latencies(samples)

        # Publish: completed runs with results, then POST /api/v1/cases.
        def make_run(i: int) -> str:
            run = admin.runs.create("evaluate", parameters={"seed": i}, project="bench/bench")
            value = 0.80 + (i % 40) / 400
            result = results_entry(
                task="text-classification",
                dataset="reviews",
                dataset_sha256="ab" * 32,
                metrics={"accuracy": {"value": value, "low": value - 0.02, "high": value + 0.02}},
            )
            admin.runs.update(run.id, status="completed", metrics={"results": [result]})
            return run.id

        def publish(run_id: str) -> str:
            version = admin.cases.publish(
                run_id,
                sector="finance",
                title="信贷风控模型评测",
                title_en="Credit risk model evaluation",
                summary="基准测试发布的案例 / a case published by the benchmark",
                license="apache-2.0",
                visibility="public",
                tags=["风控", "benchmark"],
            )
            return version.slug

        runs = [make_run(i) for i in range(publishes)]
        half = publishes // 2
        started = time.perf_counter()
        samples, slugs = [], []
        for run_id in runs[:half]:
            ms, slug = _timed(lambda run_id=run_id: publish(run_id))
            samples.append(ms)
            slugs.append(slug)
        one_client_s = time.perf_counter() - started
        started = time.perf_counter()
        with ThreadPoolExecutor(4) as pool:
            slugs += list(pool.map(publish, runs[half:]))
        four_clients_s = time.perf_counter() - started
        out["publish"] = {
            **_latencies(samples),
            "one_client_per_s": round(half / one_client_s, 1),
            "four_clients_per_s": round((publishes - half) / four_clients_s, 1),
        }
        for slug in slugs:
            labs["reviewer"].cases.approve(slug)

        # Gallery pages, server-rendered (no token: what a visitor sees).
        import httpx

        with httpx.Client(base_url=url, timeout=30) as visitor:

            def page(path: str) -> float:
                ms, response = _timed(lambda: visitor.get(path))
                if response.status_code != 200:
                    raise RuntimeError(f"GET {path} answered {response.status_code}")
                return float(ms)

            out["gallery_case"] = _latencies([page(f"/cases/{slug}") for slug in slugs * 2])
            index_qs = qs["zh"][:20] + qs["en"][:20]
            out["gallery_search"] = _latencies(
                [page(f"/cases?q={q}") for q in index_qs for _ in range(2)]
            )
        for lab in (admin, *labs.values()):
            lab.close()
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.cases", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--publish", type=int, default=200, help="cases published over HTTP")
    parser.add_argument("--quick", action="store_true", help="2,000 cases; writes nothing")
    args = parser.parse_args(argv)
    if args.quick:
        args.cases, args.repeats, args.publish = 2000, 2, 20

    qs = queries(random.Random(args.seed))
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="zslab-bench-cases-") as tmp:
        db = open_database(Settings(home=Path(tmp)))
        print(f"generating and indexing {args.cases:,} cases …", file=sys.stderr)
        build_s = fill(db, args.cases, args.seed)
        path = db.sqlite_path
        assert path is not None
        size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
        with db.read_session() as session:
            fts_pages = session.connection().exec_driver_sql(
                "SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'cases_fts%'"
            )
            fts_bytes = fts_pages.scalar() if _has_dbstat(session) else None
        for language, language_qs in qs.items():
            with db.read_session() as session:
                print(f"search {language} …", file=sys.stderr)
                ours = measure(search_run(session), language_qs, args.repeats)
                base = measure(like_run(session), language_qs, max(1, args.repeats // 2))
            results[language] = {"search": ours, "like_baseline": base}
        print("the hub over HTTP: search, publish, gallery …", file=sys.stderr)
        http = hub_over_http(Path(tmp), qs, args.publish, max(1, args.repeats // 2))
        db.dispose()

    index = {
        "cases": args.cases,
        "insert_and_index_s": round(build_s, 2),
        "cases_per_s": round(args.cases / build_s),
        "database_mb": round(size / 2**20, 1),
        "fts_index_mb": round(fts_bytes / 2**20, 1) if fts_bytes else None,
    }
    targets = [
        Target(
            f"search p99, {label} queries, {args.cases:,} cases",
            f"{results[language]['search']['p99_ms']:.1f} ms",
            f"≤ {P99_LIMIT_MS:g} ms",
            results[language]["search"]["p99_ms"] <= P99_LIMIT_MS,
        )
        for language, label in (("zh", "Chinese"), ("en", "English"))
    ]
    targets += [
        Target(
            f"GET /api/v1/cases p99, {label} queries, over HTTP",
            f"{http[f'search_{language}']['p99_ms']:.1f} ms",
            f"≤ {P99_LIMIT_MS:g} ms",
            http[f"search_{language}"]["p99_ms"] <= P99_LIMIT_MS,
        )
        for language, label in (("zh", "Chinese"), ("en", "English"))
    ]
    passed = all(t.passed for t in targets)
    report = tables(index, results, http, targets)
    print("\n".join(report))
    if args.quick:
        print("\n--quick: nothing written.")
        return 0 if passed else 1

    from benchmarks._report import envelope, provenance, update_readme, write_results

    payload = {
        **envelope(NAME, ("sqlalchemy",)),
        "settings": {"cases": args.cases, "repeats": args.repeats, "seed": args.seed},
        "sqlite_version": _sqlite_version(),
        "index": index,
        "queries": qs,
        "search": results,
        "http": http,
        "targets": [asdict(t) for t in targets],
        "passed": passed,
    }
    write_results(NAME, payload)
    section = "\n".join(
        [
            f"## {NAME}",
            "",
            f"{args.cases:,} generated cases (8 sectors; Chinese and English titles, summaries, "
            "tags, model and dataset names) in a fresh SQLite hub database. `search_cases` "
            "(CJK bigrams + words in FTS5, `zslab.cases.search`) called on a read session, "
            f"newest 20 + total, {args.repeats} rounds over {len(qs['zh'])} Chinese queries "
            f"(1–4 characters, common and rare) and {len(qs['en'])} English ones (words, "
            "prefixes, model/dataset names, two-word queries). Baseline in the same run: "
            "`ILIKE '%q%'` over title, English title and summary. Then the same queries, "
            f"{args.publish} publishes and gallery pages through a `zslab hub` subprocess on "
            "the same database, over HTTP (see the module docstring).",
            "",
            provenance(payload),
            "",
            *report,
        ]
    )
    update_readme(NAME, section)
    print(f"\nwrote benchmarks/results/{NAME}.json and its README section")
    return 0 if passed else 1


def _has_dbstat(session: Session) -> bool:
    try:
        session.connection().exec_driver_sql("SELECT 1 FROM dbstat LIMIT 1")
    except Exception:
        return False
    return True


def _sqlite_version() -> str:
    import sqlite3

    return sqlite3.sqlite_version


def tables(
    index: dict[str, Any], results: dict[str, Any], http: dict[str, Any], targets: list[Target]
) -> list[str]:
    lines = [
        "| queries | search p50 | search p99 | LIKE scan p50 | LIKE scan p99 | p50 speed-up |",
        "|---|---|---|---|---|---|",
    ]
    for language, label in (("zh", "Chinese"), ("en", "English")):
        ours, base = results[language]["search"], results[language]["like_baseline"]
        lines.append(
            f"| {label} ({ours['queries']}) | {ours['p50_ms']:.2f} ms | {ours['p99_ms']:.2f} ms "
            f"| {base['p50_ms']:.1f} ms | {base['p99_ms']:.1f} ms "
            f"| {base['p50_ms'] / ours['p50_ms']:.0f}× |"
        )
    fts = f", FTS5 index {index['fts_index_mb']} MB" if index["fts_index_mb"] else ""
    lines += [
        "",
        f"Insert + index: {index['cases']:,} cases in {index['insert_and_index_s']:.1f} s "
        f"({index['cases_per_s']:,} cases/s); database {index['database_mb']} MB{fts}.",
        "",
        "| over HTTP (the hub) | p50 | p99 |",
        "|---|---|---|",
        f"| GET /api/v1/cases?q= Chinese ({http['search_zh']['n']}) | "
        f"{http['search_zh']['p50_ms']:.1f} ms | {http['search_zh']['p99_ms']:.1f} ms |",
        f"| GET /api/v1/cases?q= English ({http['search_en']['n']}) | "
        f"{http['search_en']['p50_ms']:.1f} ms | {http['search_en']['p99_ms']:.1f} ms |",
        f"| POST /api/v1/cases, one client ({http['publish']['n']}) | "
        f"{http['publish']['p50_ms']:.1f} ms | {http['publish']['p99_ms']:.1f} ms |",
        f"| gallery GET /cases/{{slug}} ({http['gallery_case']['n']}) | "
        f"{http['gallery_case']['p50_ms']:.1f} ms | {http['gallery_case']['p99_ms']:.1f} ms |",
        f"| gallery GET /cases?q= ({http['gallery_search']['n']}) | "
        f"{http['gallery_search']['p50_ms']:.1f} ms | {http['gallery_search']['p99_ms']:.1f} ms |",
        "",
        f"Publish throughput: {http['publish']['one_client_per_s']} cases/s with one client, "
        f"{http['publish']['four_clients_per_s']} cases/s with four (each publish reads its "
        "runs, writes the case, its version, metric rows, the review step, the search index "
        "and the audit event in one transaction).",
        "",
        *target_table(targets),
    ]
    return lines


if __name__ == "__main__":
    sys.exit(main())
