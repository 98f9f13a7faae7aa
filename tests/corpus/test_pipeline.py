"""Readers, the staged pipeline, resuming, and the data card (steps here are tiny test steps;
each real step has its own tests)."""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from tests.corpus.conftest import DropShort, SameText, Shout, output_rows, write_jsonl
from zslab.corpus.core import DocumentStep, Drop, StepStats, make_step
from zslab.corpus.pipeline import Pipeline, load_pipeline
from zslab.corpus.readers import read_corpus, read_jsonl, read_shard

# --- readers ---------------------------------------------------------------------------------


def test_a_large_jsonl_file_splits_into_line_aligned_shards_without_losing_a_line(
    tmp_path: Path,
) -> None:
    rows = [{"text": f"第{i}行，内容 {'字' * (i % 17)}"} for i in range(500)]
    write_jsonl(tmp_path / "in" / "a.jsonl", rows)

    whole = read_jsonl(str(tmp_path / "in"))
    split = read_jsonl(str(tmp_path / "in"), partition_bytes=1000)

    assert len(whole.shards) == 1 and len(split.shards) > 10
    texts = [t for s in split.shards for t in read_shard(split, s)[0].column("text").to_pylist()]
    ids = [i for s in split.shards for i in read_shard(split, s)[0].column("id").to_pylist()]
    assert texts == [r["text"] for r in rows]
    assert ids == read_shard(whole, whole.shards[0])[0].column("id").to_pylist()


def test_bad_rows_are_quarantined_with_their_reason_and_never_stop_reading(
    tmp_path: Path,
) -> None:
    path = tmp_path / "in" / "mixed.jsonl"
    path.parent.mkdir()
    good = json.dumps({"text": "好的文档"}, ensure_ascii=False).encode()
    path.write_bytes(
        b"\n".join(
            [
                good,
                b"{not json",
                json.dumps({"text": ""}).encode(),
                json.dumps({"body": "no text field"}).encode(),
                json.dumps({"text": 42}).encode(),
                b'{"text": "\xff\xfe broken bytes"}',
                b"[1, 2]",
                good,
            ]
        )
        + b"\n"
    )
    corpus = read_jsonl(str(path))

    table, bad = read_shard(corpus, corpus.shards[0])

    assert table.num_rows == 2
    assert sorted(q.reason for q in bad) == [
        "empty_text",
        "invalid_utf8",
        "malformed_json",
        "malformed_json",
        "missing_text",
        "not_text",
    ]
    assert all(q.source == str(path) and q.where.startswith("byte ") for q in bad)


def test_compressed_jsonl_reads_like_plain(tmp_path: Path) -> None:
    rows = [{"text": f"压缩文档 {i}", "doc_id": f"d{i}"} for i in range(20)]
    payload = ("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n").encode()
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.jsonl.gz").write_bytes(gzip.compress(payload))
    (tmp_path / "in" / "b.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(payload))

    corpus = read_jsonl(str(tmp_path / "in"), id_column="doc_id")

    tables = [read_shard(corpus, s)[0] for s in corpus.shards]
    assert [t.column("id").to_pylist() for t in tables] == [[r["doc_id"] for r in rows]] * 2
    assert tables[0].column("text").to_pylist() == [r["text"] for r in rows]


def test_parquet_splits_by_row_groups_and_keeps_named_metadata(tmp_path: Path) -> None:
    table = pa.table(
        {
            "content": [f"文本{i}" for i in range(100)],
            "source": ["web"] * 100,
            "score": list(range(100)),
        }
    )
    path = tmp_path / "a.parquet"
    pq.write_table(table, path, row_group_size=10)

    corpus = read_corpus(
        str(path), text_column="content", metadata_columns=["source"], partition_bytes=500
    )

    assert len(corpus.shards) > 1
    batches = [read_shard(corpus, s)[0] for s in corpus.shards]
    assert sum(b.num_rows for b in batches) == 100
    assert batches[0].column_names == ["id", "text", "source"]
    assert batches[-1].column("id").to_pylist()[-1] == "a.parquet:99"


def test_text_files_read_as_files_lines_or_paragraphs(tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "a.txt").write_text("第一段第一行\n第一段第二行\n\n第二段\n", encoding="utf-8")
    (folder / "b.txt").write_text("只有一行\n", encoding="utf-8")

    def docs(mode: str) -> list[str]:
        corpus = read_corpus(str(folder), mode=mode)
        return [
            t for s in corpus.shards for t in read_shard(corpus, s)[0].column("text").to_pylist()
        ]

    assert docs("file") == ["第一段第一行\n第一段第二行\n\n第二段\n", "只有一行\n"]
    assert docs("line") == ["第一段第一行", "第一段第二行", "第二段", "只有一行"]
    assert docs("paragraph") == ["第一段第一行\n第一段第二行", "第二段", "只有一行"]


def test_csv_reads_its_text_column_and_names_a_missing_one(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text('title,body\n标题,"正文，含逗号"\n空,\n', encoding="utf-8")

    corpus = read_corpus(str(path), text_column="body")
    table, bad = read_shard(corpus, corpus.shards[0])
    assert table.column("text").to_pylist() == ["正文，含逗号"]
    assert [q.reason for q in bad] == ["empty_text"]

    wrong = read_corpus(str(path), text_column="content")
    with pytest.raises(ValueError, match=r"'content' is not a column.*title, body"):
        read_shard(wrong, wrong.shards[0])


def test_inputs_that_match_nothing_or_mix_kinds_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no files match"):
        read_corpus(str(tmp_path / "nothing-*.jsonl"))
    (tmp_path / "a.jsonl").write_text("{}\n")
    (tmp_path / "b.csv").write_text("text\nx\n")
    with pytest.raises(ValueError, match=r"mixed file kinds.*set input\.format"):
        read_corpus(str(tmp_path))


# --- the pipeline ----------------------------------------------------------------------------


def corpus_with_duplicates(tmp_path: Path) -> Path:
    """Three files (so three shards) sharing some texts, plus short ones and a bad line."""
    base = ["alpha beta", "gamma delta", "epsilon", "zeta eta theta", "iota"]
    for number in range(3):
        rows: list[dict[str, object] | str] = [
            {"text": text, "n": number} for text in base[number:] + base[:number]
        ]
        rows.append({"text": f"unique {number} text"})
        rows.append("{broken")
        write_jsonl(tmp_path / "in" / f"part-{number}.jsonl", rows)  # type: ignore[arg-type]
    return tmp_path / "in"


PIPELINE = Pipeline([DropShort(min_chars=6), SameText(), Shout()])


def test_a_run_applies_steps_in_order_and_dedups_across_shards(tmp_path: Path) -> None:
    corpus = read_jsonl(str(corpus_with_duplicates(tmp_path)))

    result = PIPELINE.run(corpus, tmp_path / "out", progress=False)

    texts = sorted(r["text"] for r in output_rows(tmp_path / "out"))
    assert texts == [
        "ALPHA BETA",
        "EPSILON",
        "GAMMA DELTA",
        "UNIQUE 0 TEXT",
        "UNIQUE 1 TEXT",
        "UNIQUE 2 TEXT",
        "ZETA ETA THETA",
    ]
    card = result.card
    steps = {s["step"]: s for s in card["steps"]}
    assert steps["test_drop_short"]["dropped"] == {"test_drop_short:short": 3}
    assert steps["test_same_text"]["dropped"] == {"test_same_text:duplicate": 8}
    assert steps["test_shout"]["modified"] == 7
    assert card["input"]["documents"] == 18
    assert card["input"]["quarantined"] == {"malformed_json": 3}
    assert card["output"]["documents"] == 7 == result.documents
    assert not (tmp_path / "out" / "_work").exists()
    assert (tmp_path / "out" / "quarantine.jsonl").read_text().count("\n") == 3
    assert "| 2 | test_same_text |" in (tmp_path / "out" / "datacard.md").read_text()


def test_the_survivor_of_a_duplicate_is_the_smallest_id_whichever_shard_holds_it(
    tmp_path: Path,
) -> None:
    corpus = read_jsonl(str(corpus_with_duplicates(tmp_path)))

    PIPELINE.run(corpus, tmp_path / "out", progress=False)

    ids = {r["text"]: r["id"] for r in output_rows(tmp_path / "out")}
    assert ids["ALPHA BETA"].startswith("part-0.jsonl@")
    assert ids["ZETA ETA THETA"].startswith("part-0.jsonl@")


def test_a_dask_run_writes_the_same_output_as_an_in_process_run(tmp_path: Path) -> None:
    from distributed import Client, LocalCluster

    corpus = read_jsonl(str(corpus_with_duplicates(tmp_path)))
    local = PIPELINE.run(corpus, tmp_path / "local", progress=False)
    with (
        LocalCluster(n_workers=2, processes=False, dashboard_address=None) as cluster,
        # Not the default client, as lab.dask_client(...) makes it.
        Client(cluster, set_as_default=False) as client,
    ):
        on_dask = PIPELINE.run(corpus, tmp_path / "dask", client=client, progress=False)

    assert on_dask.card["output"]["content_sha256"] == local.card["output"]["content_sha256"]
    assert output_rows(tmp_path / "dask") == output_rows(tmp_path / "local")


CRASH_ON: set[str] = set()  # shard id prefixes where test_flaky fails, as a killed worker


@dataclass
class Flaky(DocumentStep):
    """Passes documents through, but fails on those whose id starts with one in CRASH_ON."""

    name: ClassVar[str] = "test_flaky"

    def apply_doc(self, doc_id: str, text: str, stats: StepStats) -> str | Drop:
        if any(doc_id.startswith(prefix) for prefix in CRASH_ON):
            raise RuntimeError("killed")
        return text


def test_a_rerun_resumes_from_completion_markers_and_matches_an_uninterrupted_run(
    tmp_path: Path,
) -> None:
    corpus = read_jsonl(str(corpus_with_duplicates(tmp_path)))
    flaky = Pipeline([DropShort(min_chars=6), Flaky(), SameText(), Shout()])
    clean = flaky.run(corpus, tmp_path / "clean", progress=False)
    CRASH_ON.add("part-2")
    try:
        with pytest.raises(RuntimeError, match="killed"):
            flaky.run(corpus, tmp_path / "out", progress=False)
    finally:
        CRASH_ON.clear()
    stage0 = tmp_path / "out" / "_work" / "stage0"
    done = sorted(p.name for p in stage0.glob("*.stats.json"))
    assert done == ["shard-00000.stats.json", "shard-00001.stats.json"]
    before = {p.name: p.stat().st_mtime_ns for p in stage0.glob("*.parquet")}

    resumed = flaky.run(corpus, tmp_path / "out", progress=False)

    assert resumed.resumed_tasks == 2
    assert output_rows(tmp_path / "out") == output_rows(tmp_path / "clean")
    assert resumed.card["output"]["content_sha256"] == clean.card["output"]["content_sha256"]
    assert before  # the finished shards' tables were reused, not rewritten
    assert resumed.card["steps"][0]["seen"] == clean.card["steps"][0]["seen"]


def test_an_unfinished_run_of_another_pipeline_is_not_mixed_in(tmp_path: Path) -> None:
    corpus = read_jsonl(str(corpus_with_duplicates(tmp_path)))
    (tmp_path / "out" / "_work").mkdir(parents=True)
    (tmp_path / "out" / "_work" / "run.json").write_text('{"pipeline": "other", "input": []}')

    with pytest.raises(ValueError, match="unfinished run of a different pipeline"):
        PIPELINE.run(corpus, tmp_path / "out", progress=False)

    result = PIPELINE.run(corpus, tmp_path / "out", progress=False, overwrite=True)
    assert result.documents == 7


# --- configuration ---------------------------------------------------------------------------


def test_a_pipeline_round_trips_through_yaml() -> None:
    text = PIPELINE.to_yaml()

    again = Pipeline.from_yaml(text)

    assert again.to_config() == PIPELINE.to_config()
    assert again.fingerprint() == PIPELINE.fingerprint()
    assert "test_drop_short:\n    min_chars: 6" in text


def test_a_pipeline_yaml_resolves_paths_next_to_itself(tmp_path: Path) -> None:
    corpus_with_duplicates(tmp_path)
    yaml_path = tmp_path / "pipeline.yaml"
    yaml_path.write_text(
        "input: {paths: [in/], format: jsonl}\n"
        "steps:\n  - test_drop_short: {min_chars: 6}\n  - test_same_text: {}\n"
        "output: out/\n",
        encoding="utf-8",
    )

    config = load_pipeline(yaml_path)
    result = config.pipeline.run(config.corpus(), config.output, progress=False)

    assert Path(config.output) == tmp_path / "out"
    assert result.documents == 7


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ("[{no_such_step: {}}]", "steps\\[1\\]: unknown step 'no_such_step'"),
        ("[{test_drop_short: {min_char: 3}}]", "has no parameter\\(s\\) min_char.*min_chars"),
        ("[{test_drop_short: {}, test_shout: {}}]", "one name with its parameters"),
        ("{test_shout: {}}", "steps: a list"),
    ],
)
def test_bad_pipeline_yaml_names_the_problem(tmp_path: Path, steps: str, message: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(f"input: [in/]\nsteps: {steps}\noutput: out/\n", encoding="utf-8")

    with pytest.raises(ValueError, match=message):
        load_pipeline(path)


def test_a_yaml_without_output_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("input: [in/]\nsteps: []\n", encoding="utf-8")

    with pytest.raises(ValueError, match="missing output"):
        load_pipeline(path)


def test_make_step_builds_a_step_from_its_yaml_form() -> None:
    step = make_step({"test_drop_short": {"min_chars": 3}})

    assert isinstance(step, DropShort) and step.min_chars == 3
    assert step.to_config() == {"test_drop_short": {"min_chars": 3}}


def test_fsspec_urls_read_like_local_files() -> None:
    import fsspec

    fs = fsspec.filesystem("memory")
    with fs.open("/zslab-test-corpus/a.jsonl", "w") as handle:
        handle.write(
            "\n".join(json.dumps({"text": f"远程{i}"}, ensure_ascii=False) for i in range(5))
        )
    try:
        corpus = read_jsonl("memory://zslab-test-corpus/")
        table, bad = read_shard(corpus, corpus.shards[0])
    finally:
        fs.rm("/zslab-test-corpus", recursive=True)

    assert corpus.shards[0].path == "memory:///zslab-test-corpus/a.jsonl"
    assert table.column("text").to_pylist() == [f"远程{i}" for i in range(5)] and not bad
