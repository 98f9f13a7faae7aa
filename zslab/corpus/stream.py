"""Feed token shards to training: sharded by rank and worker, shuffled, resumable.

:func:`stream` reads the token shards that :func:`zslab.corpus.tokenize.tokenize_shards` wrote
and yields ``LongTensor`` batches of shape ``[batch_size, seq_len]``::

    from zslab.corpus.stream import stream

    data = stream("tokens/", batch_size=8, seed=0, loop=True)
    for step, batch in zip(range(1000), data):
        train_step(batch)
        if step % 100 == 0:
            torch.save({"model": model.state_dict(), "data": data.state_dict()}, "ckpt.pt")

    # After a restart the next batch is the one the lost run would have seen next:
    data = stream("tokens/", batch_size=8, seed=0, loop=True)
    data.load_state_dict(torch.load("ckpt.pt")["data"])

It is a ``torch.utils.data.IterableDataset`` that yields whole batches, so use it directly or
with ``DataLoader(data, batch_size=None, num_workers=k)``. Only token shards are read (a
``tokens`` column of ``fixed_size_list<int32>``); tokenize text shards first.

**Splitting.** Each epoch the shard list is permuted (by ``seed`` and the epoch; not when
``shuffle=False``) and dealt round-robin to the *splits*: every rank (``rank``/``world_size``,
taken from ``torch.distributed`` when it is initialized and they are not given) times every
DataLoader worker. Splits get disjoint shards that together cover the corpus; a split may get a
few more sequences than another, so with DDP prefer ``loop=True`` and a fixed number of steps.
There must be at least as many shards as splits.

**Shuffling** is a block shuffle: a split's sequences, in shard order, are cut into blocks of
``shuffle_buffer`` sequences; each block is permuted by a generator seeded with ``(seed, epoch,
split, block)`` and emitted. Memory is one block plus the shards being read, whatever the
corpus size, and the order is a pure function of the seed and the position.

**Resuming.** Because of that, the whole state is a position per split: the epoch and the
number of sequences emitted in it (``state_dict()`` shows the format). Restoring reads the
block around that position again, permutes it the same way and skips what was emitted, so
the next batch is the one an uninterrupted stream would have produced. There is no RNG state
to save: every generator is derived from the seed. The position advances as batches are
yielded from this object; iterating again continues from there (a finished ``loop=False``
stream starts its next epoch; ``set_epoch`` jumps). DataLoader worker processes hold copies,
so exact resume needs ``num_workers=0`` (the work per batch is a slice and a copy).

**Reading.** Without a Dask ``client`` shards are read from disk one at a time, only the row
groups needed. With a client every shard read is a task (:func:`read_shard`); at most
``max_in_flight`` shards are held at once, the one being consumed included, so the next ones
load while this one is used.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
import types
import uuid
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import torch
from torch.utils.data import IterableDataset, get_worker_info

from zslab.corpus.tokenize import METADATA_KEY

__all__ = ["STATE_FORMAT", "TokenStream", "read_shard", "stream"]

STATE_FORMAT = "zslab.stream/1"
_READ_KEY = "read_shard"
# A split that finds nothing in this many epochs in a row has only empty shards.
_MAX_EMPTY_EPOCHS = 1000


def stream(
    path_or_dir: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    batch_size: int,
    seed: int = 0,
    shuffle: bool = True,
    shuffle_buffer: int = 10_000,
    rank: int | None = None,
    world_size: int | None = None,
    client: Any = None,
    max_in_flight: int = 2,
    loop: bool = False,
    drop_last: bool = False,
) -> TokenStream:
    """A :class:`TokenStream` over a folder of token shards (``*.parquet``), one shard, or a list.

    ``shuffle_buffer`` is the block size in sequences (memory: ``shuffle_buffer * seq_len * 4``
    bytes); ``loop=True`` runs epoch after epoch for ever, batches running across the boundary;
    with ``loop=False`` the last batch of an epoch may be short unless ``drop_last``.

    Example::

        data = stream("tokens/", batch_size=4, seed=1)
        batch = next(iter(data))  # LongTensor [4, seq_len]
    """
    return TokenStream(
        _shard_paths(path_or_dir),
        batch_size=batch_size,
        seed=seed,
        shuffle=shuffle,
        shuffle_buffer=shuffle_buffer,
        rank=rank,
        world_size=world_size,
        client=client,
        max_in_flight=max_in_flight,
        loop=loop,
        drop_last=drop_last,
    )


def read_shard(path: str, start: int = 0) -> np.ndarray:
    """Rows ``start:`` of a token shard as an ``int32`` array ``[rows, seq_len]``.

    Only the row groups holding those rows are read. This is the Dask task of a stream with a
    client.
    """
    parquet = pq.ParquetFile(path)
    seq_len = parquet.schema_arrow.field("tokens").type.list_size
    groups: list[int] = []
    skip = start
    for index in range(parquet.metadata.num_row_groups):
        rows = parquet.metadata.row_group(index).num_rows
        if not groups and skip >= rows:
            skip -= rows
            continue
        groups.append(index)
    if not groups:
        return np.empty((0, seq_len), dtype=np.int32)
    column = parquet.read_row_groups(groups, columns=["tokens"]).column("tokens")
    values = column.combine_chunks().flatten().to_numpy()
    return values.reshape(-1, seq_len)[skip:]


@dataclass(frozen=True)
class _Shard:
    path: str
    name: str
    rows: int


class TokenStream(IterableDataset[torch.Tensor]):
    """Batches of token sequences (``LongTensor [batch_size, seq_len]``); see the module doc.

    Build it with :func:`stream`. ``describe()`` gives sizes and settings, ``state_dict()`` /
    ``load_state_dict()`` save and restore the position, ``set_epoch(n)`` starts epoch ``n``.
    """

    def __init__(
        self,
        paths: Sequence[str | os.PathLike[str]],
        *,
        batch_size: int,
        seed: int = 0,
        shuffle: bool = True,
        shuffle_buffer: int = 10_000,
        rank: int | None = None,
        world_size: int | None = None,
        client: Any = None,
        max_in_flight: int = 2,
        loop: bool = False,
        drop_last: bool = False,
    ) -> None:
        _check(batch_size >= 1, "batch_size", batch_size, "at least 1")
        _check(seed >= 0, "seed", seed, "0 or more")
        _check(shuffle_buffer >= 0, "shuffle_buffer", shuffle_buffer, "0 or more")
        _check(max_in_flight >= 1, "max_in_flight", max_in_flight, "at least 1")
        if (rank is None) != (world_size is None):
            raise ValueError("give both rank and world_size, or neither (to ask torch.distributed)")
        if world_size is not None and rank is not None and not 0 <= rank < world_size:
            raise ValueError(f"rank must be in [0, world_size={world_size}), got {rank}")
        self.batch_size = batch_size
        self.seed = seed
        self.shuffle = shuffle
        self.shuffle_buffer = shuffle_buffer
        self.rank = rank
        self.world_size = world_size
        self.client = client
        self.max_in_flight = max_in_flight
        self.loop = loop
        self.drop_last = drop_last
        self._shards, self.seq_len, self._meta = _read_shard_infos([str(p) for p in paths])
        if not any(s.rows for s in self._shards):
            raise ValueError("the token shards hold no sequences")
        # Sequences per block: a shuffle block, or a reading chunk when not permuting.
        self._permute = shuffle and shuffle_buffer > 1
        self._block = shuffle_buffer if self._permute else max(batch_size, 1024)
        self._base_epoch = 0
        self._positions: dict[int, tuple[int, int]] = {}
        self._num_splits: int | None = None

    # --- public ------------------------------------------------------------------------------

    def __iter__(self) -> Iterator[torch.Tensor]:
        index, count = self._split()
        if count > len(self._shards):
            raise ValueError(
                f"{len(self._shards)} token shard(s) cannot be split over {count} "
                "ranks x DataLoader workers; write more shards or use fewer workers"
            )
        if self._num_splits not in (None, count) and self._positions:
            raise ValueError(
                f"the position was saved with {self._num_splits} split(s) (ranks x workers) "
                f"and this stream runs {count}; resume with the same world_size and workers"
            )
        if self._num_splits != count:
            self._positions = {}
        self._num_splits = count
        epoch, offset = self._positions.get(index, (self._base_epoch, 0))
        if offset >= self._epoch_total(epoch, index, count):
            epoch, offset = epoch + 1, 0
        return self._batches(index, count, epoch, offset)

    def set_epoch(self, epoch: int) -> None:
        """Start every split at the beginning of ``epoch`` (as ``DistributedSampler.set_epoch``;
        useful with DataLoader workers, which iterate copies)."""
        _check(epoch >= 0, "epoch", epoch, "0 or more")
        self._base_epoch = epoch
        self._positions = {}

    def state_dict(self) -> dict[str, Any]:
        """The position as plain data (JSON-able)::

            {"format": "zslab.stream/1", "dataset": "<hash of shard names, sizes, tokenizer>",
             "seed": 0, "shuffle": True, "shuffle_buffer": 10000, "epoch": 0,
             "num_splits": 1, "positions": {"0": {"epoch": 0, "offset": 1234}}}

        ``positions`` maps a split (``rank * num_workers + worker``) to its epoch and the number
        of sequences it has emitted in that epoch; a split not listed starts ``epoch``.
        """
        count = self._num_splits if self._num_splits is not None else self._split()[1]
        return {
            "format": STATE_FORMAT,
            "dataset": self._fingerprint(),
            "seed": self.seed,
            "shuffle": self.shuffle,
            "shuffle_buffer": self.shuffle_buffer,
            "epoch": self._base_epoch,
            "num_splits": count,
            "positions": {
                str(i): {"epoch": e, "offset": o} for i, (e, o) in sorted(self._positions.items())
            },
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from a :meth:`state_dict` of a stream over the same shards and settings."""
        if state.get("format") != STATE_FORMAT:
            raise ValueError(f"not a stream state (format {state.get('format')!r})")
        mine = self.state_dict()
        differ = [
            k for k in ("dataset", "seed", "shuffle", "shuffle_buffer") if state[k] != mine[k]
        ]
        if differ:
            detail = ", ".join(f"{k}: saved {state[k]!r}, here {mine[k]!r}" for k in differ)
            raise ValueError(
                f"the state belongs to another stream ({detail}); build the stream with the "
                "same shards, seed, shuffle and shuffle_buffer"
            )
        self._base_epoch = int(state["epoch"])
        self._num_splits = int(state["num_splits"])
        self._positions = {
            int(i): (int(p["epoch"]), int(p["offset"])) for i, p in state["positions"].items()
        }

    def describe(self) -> dict[str, Any]:
        """Sizes and settings: shards, sequences, tokens, padding, seq_len, special ids, memory."""
        rank, world = self._ranks()
        return {
            "shards": len(self._shards),
            "sequences": sum(s.rows for s in self._shards),
            "seq_len": self.seq_len,
            "tokens": sum(s.rows for s in self._shards) * self.seq_len,
            "padding": sum(int(m.get("padding", 0)) for m in self._meta),
            "pad_id": _same(self._meta, "pad_id"),
            "eos_id": _same(self._meta, "eos_id"),
            "tokenizer_sha256": _same(self._meta, "tokenizer_sha256"),
            "batch_size": self.batch_size,
            "seed": self.seed,
            "shuffle": self.shuffle,
            "shuffle_buffer": self.shuffle_buffer,
            "loop": self.loop,
            "drop_last": self.drop_last,
            "rank": rank,
            "world_size": world,
            "dask": self.client is not None,
            "max_in_flight": self.max_in_flight if self.client is not None else 1,
            "block_bytes": self._block * self.seq_len * 4,
            "state": self.state_dict(),
        }

    # --- where this process reads ------------------------------------------------------------

    def _ranks(self) -> tuple[int, int]:
        if self.rank is not None and self.world_size is not None:
            return self.rank, self.world_size
        dist = torch.distributed
        if dist.is_available() and dist.is_initialized():
            return dist.get_rank(), dist.get_world_size()
        return 0, 1

    def _split(self) -> tuple[int, int]:
        """(this split's index, the number of splits)."""
        rank, world = self._ranks()
        worker = get_worker_info()
        if worker is None:
            return rank, world
        if self.client is not None:
            raise ValueError(
                "a stream with a Dask client reads through the client; use DataLoader "
                "num_workers=0 (the Dask workers do the reading)"
            )
        return rank * worker.num_workers + worker.id, world * worker.num_workers

    def _epoch_shards(self, epoch: int, index: int, count: int) -> list[_Shard]:
        if self.shuffle:
            order = np.random.default_rng([self.seed, epoch]).permutation(len(self._shards))
        else:
            order = np.arange(len(self._shards))
        return [self._shards[i] for i in order[index::count]]

    def _epoch_total(self, epoch: int, index: int, count: int) -> int:
        return sum(s.rows for s in self._epoch_shards(epoch, index, count))

    def _epochs(
        self, index: int, count: int, epoch: int, start: int
    ) -> Iterator[tuple[int, list[_Shard], int, int]]:
        """(epoch, shards, total rows, first row) from ``epoch`` at row ``start`` onwards."""
        empty = 0
        while True:
            shards = self._epoch_shards(epoch, index, count)
            total = sum(s.rows for s in shards)
            if total > start:
                empty = 0
                yield epoch, shards, total, start
            else:
                empty += 1
                if empty >= _MAX_EMPTY_EPOCHS:
                    raise ValueError(
                        f"split {index} of {count} found no sequences in {empty} epochs: its "
                        "shards are empty; use fewer ranks or workers"
                    )
            if not self.loop:
                return
            epoch, start = epoch + 1, 0

    # --- reading -----------------------------------------------------------------------------

    def _batches(self, index: int, count: int, epoch: int, offset: int) -> Iterator[torch.Tensor]:
        skip = offset % self._block
        pending: list[np.ndarray] = []
        filled = 0
        end: tuple[int, int] | None = None
        for block_epoch, first, block in self._blocks(index, count, epoch, offset - skip):
            used, skip = skip, 0
            while used < len(block):
                take = min(self.batch_size - filled, len(block) - used)
                pending.append(block[used : used + take])
                filled += take
                used += take
                if filled == self.batch_size:
                    self._positions[index] = (block_epoch, first + used)
                    yield _tensor(pending)
                    pending, filled = [], 0
            end = (block_epoch, first + len(block))
        self._positions[index] = end if end is not None else (epoch, offset)
        if pending and not self.drop_last:
            yield _tensor(pending)

    def _blocks(
        self, index: int, count: int, epoch: int, start: int
    ) -> Iterator[tuple[int, int, np.ndarray]]:
        """(epoch, first row, rows) per block, from ``start`` (a block boundary) onwards."""
        reads = (
            (shard.path, max(0, first - before))
            for _, shards, _, first in self._epochs(index, count, epoch, start)
            for shard, before in zip(shards, _cumulative(shards), strict=True)
            if before + shard.rows > first
        )
        rows = _RowCursor(self._read(reads))
        try:
            for block_epoch, _, total, first in self._epochs(index, count, epoch, start):
                for number in range(first // self._block, math.ceil(total / self._block)):
                    lo = number * self._block
                    block = rows.take(min(lo + self._block, total) - lo)
                    if self._permute:
                        rng = np.random.default_rng([self.seed, block_epoch, index, count, number])
                        block = block[rng.permutation(len(block))]
                    yield block_epoch, lo, block
        finally:
            rows.close()

    def _read(self, reads: Iterator[tuple[str, int]]) -> Iterator[np.ndarray]:
        if self.client is None:
            for path, start in reads:
                yield read_shard(path, start)
            return
        client, token = self.client, uuid.uuid4().hex[:8]
        window: deque[Any] = deque()
        counter = 0

        def fill() -> None:
            nonlocal counter
            while len(window) < self.max_in_flight:
                item = next(reads, None)
                if item is None:
                    return
                key = f"{_READ_KEY}-{token}-{counter}"
                counter += 1
                window.append(client.submit(read_shard, *item, key=key, pure=False))

        try:
            fill()
            while window:
                array = window[0].result()
                yield array
                del array
                window.popleft().release()
                fill()
        finally:
            while window:
                window.popleft().release()

    def _fingerprint(self) -> str:
        described = [
            [s.name, s.rows, m.get("tokenizer_sha256")]
            for s, m in zip(self._shards, self._meta, strict=True)
        ]
        return hashlib.sha256(json.dumps(described).encode()).hexdigest()[:16]


class _RowCursor:
    """Takes rows across the arrays of consecutive shard reads."""

    def __init__(self, arrays: Iterator[np.ndarray]) -> None:
        self._arrays = arrays
        self._current: np.ndarray | None = None
        self._used = 0

    def take(self, n: int) -> np.ndarray:
        parts = []
        while n:
            if self._current is None or self._used == len(self._current):
                self._current = None  # let go of the shard before the next one arrives
                current = next(self._arrays, None)
                if current is None:
                    raise ValueError("a token shard has fewer rows than its footer says")
                self._current, self._used = current, 0
                continue
            k = min(n, len(self._current) - self._used)
            parts.append(self._current[self._used : self._used + k])
            self._used += k
            n -= k
        return np.concatenate(parts) if parts else np.empty((0, 0), np.int32)

    def close(self) -> None:
        self._current = None
        close = getattr(self._arrays, "close", None)
        if close is not None:
            close()


def _cumulative(shards: Sequence[_Shard]) -> list[int]:
    out, total = [], 0
    for shard in shards:
        out.append(total)
        total += shard.rows
    return out


def _tensor(parts: list[np.ndarray]) -> torch.Tensor:
    return torch.from_numpy(np.concatenate(parts).astype(np.int64))


def _shard_paths(source: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> list[str]:
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if path.is_dir():
            files = sorted(path.glob("*.parquet"))
            if not files:
                raise FileNotFoundError(f"no *.parquet token shards in {path}")
            return [str(f) for f in files]
        return [str(path)]
    return [str(p) for p in source]


def _read_shard_infos(paths: Sequence[str]) -> tuple[list[_Shard], int, list[dict[str, Any]]]:
    if not paths:
        raise ValueError("no token shards given")
    shards, metas, lengths = [], [], set()
    for path in paths:
        if not Path(path).is_file():
            raise FileNotFoundError(f"no such token shard: {path}")
        parquet = pq.ParquetFile(path)
        schema = parquet.schema_arrow
        index = schema.get_field_index("tokens")
        list_size = getattr(schema.field(index).type, "list_size", None) if index >= 0 else None
        if list_size is None:
            raise ValueError(
                f"{path} has no fixed-size 'tokens' column; make token shards with "
                "zslab.corpus.tokenize.tokenize_shards"
            )
        lengths.add(list_size)
        raw = (parquet.metadata.metadata or {}).get(METADATA_KEY.encode())
        metas.append(json.loads(raw) if raw else {})
        shards.append(_Shard(path=path, name=Path(path).name, rows=parquet.metadata.num_rows))
    if len(lengths) != 1:
        raise ValueError(f"the token shards have different seq_len: {sorted(lengths)}")
    return shards, lengths.pop(), metas


def _same(metas: list[dict[str, Any]], key: str) -> Any:
    values = {json.dumps(m.get(key)) for m in metas}
    return metas[0].get(key) if len(values) == 1 else None


def _check(ok: bool, name: str, value: object, want: str) -> None:
    if not ok:
        raise ValueError(f"{name} must be {want}, got {value!r}")


class _CallableModule(types.ModuleType):
    """``zslab.corpus.stream`` is both this module and, as a package attribute, the function
    :func:`stream`: importing a submodule binds the module to the package's name, so the module
    answers calls by running the function."""

    def __call__(self, *args: Any, **kwargs: Any) -> TokenStream:
        return stream(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
