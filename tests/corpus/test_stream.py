"""The resumable training stream over packed token shards.

The token shards hold one distinct document per sequence, so order, duplicates and coverage can
be checked by value.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from torch.utils.data import DataLoader

from tests.corpus.conftest import token_rows, write_curated
from zslab.corpus.stream import TokenStream, stream
from zslab.corpus.tokenize import (
    save_tokenizer,
    tokenize_shards,
    train_tokenizer,
)

SHARD_SIZES = [9, 14, 11, 10, 13, 12]  # 69 sequences, one document each


@pytest.fixture(scope="module")
def token_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six token shards of 8-token sequences: a 7-digit document ``SSRRRRR`` + <eos> each."""
    root = tmp_path_factory.mktemp("tokens")
    shards = [[f"{s:02d}{r:05d}" for r in range(n)] for s, n in enumerate(SHARD_SIZES)]
    write_curated(root / "curated", shards)
    tok = train_tokenizer([str(d) for d in range(10)], kind="char", vocab_size=20, min_frequency=1)
    save_tokenizer(tok, root / "tok")
    tokenize_shards(root / "curated", root / "tokens", root / "tok", seq_len=8, progress=False)
    return root / "tokens"


def _all_sequences(token_dir: Path) -> list[tuple[int, ...]]:
    return [tuple(r) for p in sorted(token_dir.glob("*.parquet")) for r in token_rows(p)]


def _sequences(batches: Iterator[torch.Tensor] | list[torch.Tensor]) -> list[tuple[int, ...]]:
    return [tuple(row) for batch in batches for row in batch.tolist()]


def _take(data: TokenStream, n: int) -> list[list[list[int]]]:
    it = iter(data)
    return [next(it).tolist() for _ in range(n)]


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
