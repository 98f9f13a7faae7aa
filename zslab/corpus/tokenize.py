"""Tokenizers for curated corpora, and tokenizing + packing shards on Dask.

Train a tokenizer on curated shards (or any texts), save it, then turn every curated shard into
a shard of fixed-length token sequences that :func:`zslab.corpus.stream.stream` feeds to
training::

    from pathlib import Path
    from zslab.corpus.tokenize import train_tokenizer, save_tokenizer, tokenize_shards

    tok = train_tokenizer(Path("curated/"), kind="bpe", vocab_size=32_000)
    save_tokenizer(tok, "tok/")
    stats = tokenize_shards("curated/", "tokens/", "tok/", seq_len=2048, client=client)
    stats.sequences, stats.padding

**Tokenizer kinds** (all built with HF ``tokenizers``; the special tokens come first, so with
the defaults ``<pad>`` is 0, ``<bos>`` 1, ``<eos>`` 2 and ``<unk>`` 3):

- ``"bpe"``: byte-level BPE (the GPT-2 recipe). The ``ByteLevel`` pre-tokenizer maps text to
  bytes, so Chinese needs no spaces (a run of Han characters is one pre-token and BPE learns
  its words as merges), no character is ever unknown, and decoding gives back the exact text.
  No normalizer: normalizing is the curation pipeline's job, and the text is what it wrote.
- ``"unigram"``: a SentencePiece-style Unigram model: NFKC normalization (full-width digits and
  Latin letters become half-width), ``Metaspace`` pre-tokenization (spaces become ``▁``).
  Decoding gives back the NFKC form of the text; characters outside the vocabulary become
  ``<unk>``. ``min_frequency`` does not apply.
- ``"char"``: one token per Unicode code point (``WordLevel`` over single characters): the
  ``vocab_size - len(special_tokens)`` most frequent characters seen at least ``min_frequency``
  times, ties broken by code point, everything else ``<unk>``. For tiny models and courses.

``vocab_size`` counts the special tokens, as in HF trainers.

**Token shard format.** One Parquet file per input shard, with the input's name, holding one
column ``tokens`` of type ``fixed_size_list<int32>[seq_len]`` (one row per training sequence)
and, in the file's key-value metadata under ``zslab.tokens``, a JSON object: ``format``,
``seq_len``, ``tokenizer_sha256``, ``eos_id``, ``pad_id``, ``source`` (the input file name)
and that shard's counts (``docs``, ``null_texts``, ``tokens``, ``sequences``, ``padding``).

**Packing.** Per input shard, every document is encoded (without the tokenizer's own
post-processing), followed by the ``eos_token`` id as document separator; the documents are
concatenated in order and cut into rows of ``seq_len``. The final partial row of each shard is
filled with ``pad_token`` ids and counted as ``padding`` (at most ``seq_len - 1`` per shard),
so every shard is independent (one Dask task each) and the output is deterministic. Mask the
pad id in the loss. Special-token strings inside a document (a literal ``"<eos>"``) are
encoded as ordinary text, so documents cannot inject separators. Null texts are skipped and
counted as ``null_texts``.

**Resuming.** Each shard is written to a temporary name and renamed when complete, so an
existing output file is the completion marker: a rerun skips it (after checking it was made
with the same tokenizer and ``seq_len``) and computes only the missing shards. ``tokens.json``
in the output folder sums every shard and is rewritten at the end of each run.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import os
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

from zslab.corpus.tasks import map_tasks

__all__ = [
    "DEFAULT_SPECIAL_TOKENS",
    "METADATA_KEY",
    "STATS_FILE",
    "TOKENIZER_FILE",
    "ShardTokens",
    "TokenizeStats",
    "TokenizerKind",
    "load_tokenizer",
    "read_token_metadata",
    "save_tokenizer",
    "token_schema",
    "tokenize_shard",
    "tokenize_shards",
    "tokenizer_sha256",
    "train_tokenizer",
]

log = logging.getLogger(__name__)

TokenizerKind = Literal["bpe", "unigram", "char"]
DEFAULT_SPECIAL_TOKENS: tuple[str, ...] = ("<pad>", "<bos>", "<eos>", "<unk>")
TOKENIZER_FILE = "tokenizer.json"
STATS_FILE = "tokens.json"
METADATA_KEY = "zslab.tokens"
FORMAT = "zslab.tokens/1"

# Documents encoded per call (encode_batch runs them on the tokenizers thread pool) and the
# tokens gathered before a Parquet row group is written.
_DOCS_PER_BATCH = 1024
_TOKENS_PER_ROW_GROUP = 1 << 23


# --- training --------------------------------------------------------------------------------


def train_tokenizer(
    source: Iterable[str] | str | os.PathLike[str] | Sequence[os.PathLike[str]],
    *,
    kind: TokenizerKind = "bpe",
    vocab_size: int = 8000,
    special_tokens: Sequence[str] = DEFAULT_SPECIAL_TOKENS,
    min_frequency: int = 2,
) -> Tokenizer:
    """Train a tokenizer of ``kind`` on texts or on curated Parquet shards.

    ``source`` is a folder of ``*.parquet`` shards or one shard (a ``str`` or path), a list of
    shard paths (``pathlib.Path`` objects), or any iterable of texts (read once, lazily). Shards
    are read through their ``text`` column, a batch at a time. The special tokens get the first
    ids, in the order given; the last one containing ``unk`` (``"<unk>"``) is the unknown token
    of the unigram and char kinds.

    Example::

        tok = train_tokenizer(["人民日报", "中文没有空格"], kind="char", vocab_size=100)
        tok.decode(tok.encode("人民").ids)  # '人民'
    """
    specials = list(special_tokens)
    if len(set(specials)) != len(specials):
        raise ValueError(f"special_tokens has duplicates: {specials}")
    if vocab_size <= len(specials):
        raise ValueError(
            f"vocab_size={vocab_size} leaves no room beside {len(specials)} special tokens; "
            "give a larger vocab_size"
        )
    if min_frequency < 1:
        raise ValueError(f"min_frequency must be at least 1, got {min_frequency}")
    texts = _texts(source)
    unk = _unk_token(specials)
    if kind == "bpe":
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
        tok.decoder = decoders.ByteLevel()
        bpe_trainer = trainers.BpeTrainer(
            vocab_size=vocab_size,
            min_frequency=min_frequency,
            special_tokens=specials,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        )
        tok.train_from_iterator(texts, bpe_trainer)
    elif kind == "unigram":
        tok = Tokenizer(models.Unigram())
        tok.normalizer = normalizers.NFKC()
        tok.pre_tokenizer = pre_tokenizers.Metaspace()
        tok.decoder = decoders.Metaspace()
        unigram_trainer = trainers.UnigramTrainer(
            vocab_size=vocab_size, special_tokens=specials, unk_token=unk, show_progress=False
        )
        try:
            tok.train_from_iterator(texts, unigram_trainer)
        except Exception as exc:  # tokenizers raises a bare Exception
            if "not large enough to contain all chars" not in str(exc):
                raise
            raise ValueError(
                f"vocab_size={vocab_size} is smaller than the number of distinct characters in "
                "the training text, and a unigram vocabulary holds every one of them; raise "
                "vocab_size or use kind='bpe' (byte-level, no such limit)"
            ) from exc
    elif kind == "char":
        tok = _train_char(texts, vocab_size, specials, unk, min_frequency)
    else:
        raise ValueError(f"unknown tokenizer kind {kind!r}; the kinds are: bpe, unigram, char")
    return tok


def _train_char(
    texts: Iterable[str], vocab_size: int, specials: list[str], unk: str | None, min_frequency: int
) -> Tokenizer:
    if unk is None:
        raise ValueError("a char tokenizer needs an unknown token among special_tokens, e.g. <unk>")
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(text)
    vocab = {token: i for i, token in enumerate(specials)}
    for char, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        if len(vocab) >= vocab_size or count < min_frequency:
            break
        vocab.setdefault(char, len(vocab))
    tok = Tokenizer(models.WordLevel(vocab, unk_token=unk))
    # One pre-token per code point, newlines included; Fuse joins the pieces back unspaced.
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
    tok.decoder = decoders.Fuse()
    tok.add_special_tokens(specials)
    return tok


def _unk_token(specials: Sequence[str]) -> str | None:
    unks = [t for t in specials if "unk" in t.lower()]
    return unks[-1] if unks else None


def _texts(
    source: Iterable[str] | str | os.PathLike[str] | Sequence[os.PathLike[str]],
) -> Iterator[str]:
    if isinstance(source, str | os.PathLike):
        return _shard_texts(_parquet_files(Path(source)))
    items = iter(source)
    first = next(items, None)
    if first is None:
        return iter(())
    rest = itertools.chain([first], items)
    if isinstance(first, os.PathLike):
        return _shard_texts([Path(p) for p in rest])  # type: ignore[arg-type]
    return (t for t in rest if t is not None)  # type: ignore[misc]


def _shard_texts(paths: Sequence[Path]) -> Iterator[str]:
    for path in paths:
        for texts in _text_batches(path):
            yield from (t for t in texts if t is not None)


def _text_batches(path: Path) -> Iterator[list[str | None]]:
    """The ``text`` column of a curated shard, a batch of documents at a time."""
    parquet = pq.ParquetFile(path)
    if parquet.schema_arrow.get_field_index("text") < 0:
        raise ValueError(f"{path} has no 'text' column; curated shards have id and text")
    for batch in parquet.iter_batches(batch_size=_DOCS_PER_BATCH, columns=["text"]):
        yield batch.column(0).to_pylist()


def _parquet_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(path.glob("*.parquet"))
        if not files:
            raise FileNotFoundError(f"no *.parquet shards in {path}")
        return files
    if not path.exists():
        raise FileNotFoundError(f"no such shard or folder: {path}")
    return [path]


# --- files -----------------------------------------------------------------------------------


def save_tokenizer(tokenizer: Tokenizer, directory: str | os.PathLike[str]) -> Path:
    """Write ``directory/tokenizer.json`` (created if needed) and return its path.

    Example::

        path = save_tokenizer(tok, "tok/")  # tok/tokenizer.json
        tok = load_tokenizer("tok/")
    """
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / TOKENIZER_FILE
    tmp = path.with_name(f"{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(tokenizer.to_str(), encoding="utf-8")
    os.replace(tmp, path)
    return path


def load_tokenizer(path: str | os.PathLike[str]) -> Tokenizer:
    """A tokenizer from a ``tokenizer.json`` file or a folder holding one."""
    return Tokenizer.from_str(_tokenizer_file(Path(path)).read_text(encoding="utf-8"))


def tokenizer_sha256(path: str | os.PathLike[str]) -> str:
    """The SHA-256 of a saved tokenizer's ``tokenizer.json`` (file or folder)."""
    return hashlib.sha256(_tokenizer_file(Path(path)).read_bytes()).hexdigest()


def _tokenizer_file(path: Path) -> Path:
    file = path / TOKENIZER_FILE if path.is_dir() else path
    if not file.is_file():
        raise FileNotFoundError(
            f"no tokenizer at {path}; save one with save_tokenizer(tok, {str(path)!r})"
        )
    return file


def token_schema(seq_len: int) -> pa.Schema:
    """The schema of a token shard: ``tokens: fixed_size_list<int32>[seq_len]``."""
    return pa.schema([pa.field("tokens", pa.list_(pa.int32(), seq_len), nullable=False)])


def read_token_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A token shard's ``zslab.tokens`` metadata plus ``num_rows`` (reads the footer only)."""
    metadata = pq.read_metadata(path)
    raw = (metadata.metadata or {}).get(METADATA_KEY.encode())
    if raw is None:
        raise ValueError(f"{path} is not a zslab token shard (no {METADATA_KEY} metadata)")
    info: dict[str, Any] = json.loads(raw)
    info["num_rows"] = metadata.num_rows
    return info


# --- tokenizing and packing ------------------------------------------------------------------


@dataclass
class ShardTokens:
    """What tokenizing one shard produced. ``tokens`` counts document tokens and separators;
    ``sequences * seq_len == tokens + padding``."""

    name: str
    docs: int = 0
    null_texts: int = 0
    tokens: int = 0
    sequences: int = 0
    padding: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TokenizeStats:
    """The token shards of an output folder (what ``tokens.json`` holds) and what this run did:
    ``computed`` lists the shards tokenized now, ``skipped`` those already complete."""

    seq_len: int
    tokenizer_sha256: str
    eos_id: int
    pad_id: int
    shards: list[ShardTokens]
    computed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def docs(self) -> int:
        return sum(s.docs for s in self.shards)

    @property
    def tokens(self) -> int:
        return sum(s.tokens for s in self.shards)

    @property
    def sequences(self) -> int:
        return sum(s.sequences for s in self.shards)

    @property
    def padding(self) -> int:
        return sum(s.padding for s in self.shards)

    def to_json(self) -> dict[str, Any]:
        """The content of ``tokens.json`` (describes the folder, not the run)."""
        return {
            "format": FORMAT,
            "seq_len": self.seq_len,
            "tokenizer_sha256": self.tokenizer_sha256,
            "eos_id": self.eos_id,
            "pad_id": self.pad_id,
            "docs": self.docs,
            "null_texts": sum(s.null_texts for s in self.shards),
            "tokens": self.tokens,
            "sequences": self.sequences,
            "padding": self.padding,
            "shards": [s.to_json() for s in self.shards],
        }


def tokenize_shards(
    input_dir: str | os.PathLike[str],
    output_dir: str | os.PathLike[str],
    tokenizer_path: str | os.PathLike[str],
    *,
    seq_len: int,
    client: Any = None,
    eos_token: str = "<eos>",
    pad_token: str = "<pad>",
    progress: bool = True,
) -> TokenizeStats:
    """Tokenize and pack every ``input_dir/*.parquet`` into ``output_dir``; one task per shard.

    Tasks run on the Dask ``client`` when given (its workers must see both folders), else one
    after another in this process. Shards already in ``output_dir`` are skipped, so a rerun
    resumes; ``output_dir/tokens.json`` gets the totals. See the module docstring for the format.

    Example::

        stats = tokenize_shards("curated/", "tokens/", "tok/", seq_len=1024, client=client)
        print(stats.sequences, "sequences,", stats.padding, "pad tokens")
    """
    if seq_len < 1:
        raise ValueError(f"seq_len must be at least 1, got {seq_len}")
    inputs = _parquet_files(Path(input_dir))
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    tok_file = _tokenizer_file(Path(tokenizer_path))
    tok_hash = tokenizer_sha256(tok_file)
    eos_id, pad_id = _special_ids(load_tokenizer(tok_file), eos_token, pad_token)
    expected = {
        "seq_len": seq_len,
        "tokenizer_sha256": tok_hash,
        "eos_id": eos_id,
        "pad_id": pad_id,
    }

    done: dict[str, ShardTokens] = {}
    todo: list[Path] = []
    for path in inputs:
        target = out / path.name
        if target.exists():
            done[path.name] = _existing_shard(target, expected)
        else:
            todo.append(path)

    task_args = {"seq_len": seq_len, "eos_token": eos_token, "pad_token": pad_token}
    computed = map_tasks(
        _tokenize_task,
        [((str(p), str(out / p.name), str(tok_file)), task_args) for p in todo],
        client=client,
        label="tokenize",
        progress=progress,
        initial=len(done),
    )
    done.update({s.name: s for s in computed})
    stats = TokenizeStats(
        seq_len=seq_len,
        tokenizer_sha256=tok_hash,
        eos_id=eos_id,
        pad_id=pad_id,
        shards=[done[p.name] for p in inputs],
        computed=[p.name for p in todo],
        skipped=[p.name for p in inputs if p not in todo],
    )
    _write_json(out / STATS_FILE, stats.to_json())
    log.info(
        "tokenized %d shard(s), skipped %d: %d docs, %d sequences of %d",
        len(todo),
        len(stats.skipped),
        stats.docs,
        stats.sequences,
        seq_len,
    )
    return stats


def _existing_shard(target: Path, expected: dict[str, Any]) -> ShardTokens:
    try:
        meta = read_token_metadata(target)
    except (ValueError, OSError, pa.ArrowException) as exc:
        raise ValueError(
            f"{target} exists but is not a complete token shard ({exc}); delete it to redo it"
        ) from exc
    differ = [k for k, v in expected.items() if meta.get(k) != v]
    if differ:
        raise ValueError(
            f"{target} was made with other settings ({', '.join(differ)} differ); "
            "use a new output_dir, or delete the old token shards to redo them"
        )
    return ShardTokens(
        name=target.name,
        **{k: int(meta[k]) for k in ("docs", "null_texts", "tokens", "sequences", "padding")},
    )


def _tokenize_task(call: tuple[tuple[str, str, str], dict[str, Any]]) -> ShardTokens:
    args, kwargs = call
    return tokenize_shard(*args, **kwargs)


def _special_ids(tok: Tokenizer, eos_token: str, pad_token: str) -> tuple[int, int]:
    ids = []
    for name, token in (("eos_token", eos_token), ("pad_token", pad_token)):
        token_id = tok.token_to_id(token)
        if token_id is None:
            raise ValueError(
                f"the tokenizer has no {token!r} ({name}); train it with that special token "
                f"or pass {name}= one it has"
            )
        ids.append(token_id)
    return ids[0], ids[1]


def tokenize_shard(
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    tokenizer_path: str | os.PathLike[str],
    *,
    seq_len: int,
    eos_token: str = "<eos>",
    pad_token: str = "<pad>",
) -> ShardTokens:
    """Tokenize and pack one curated shard into one token shard (the task of
    :func:`tokenize_shards`). Writes to a temporary name, then renames."""
    tok_file = _tokenizer_file(Path(tokenizer_path))
    raw = tok_file.read_bytes()
    tok = Tokenizer.from_str(raw.decode("utf-8"))
    tok.encode_special_tokens = True  # "<eos>" inside a document is text, not a separator
    eos_id, pad_id = _special_ids(tok, eos_token, pad_token)
    source, target = Path(input_path), Path(output_path)
    stats = ShardTokens(name=target.name)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    writer = pq.ParquetWriter(tmp, token_schema(seq_len), compression="zstd")
    try:
        packer = _Packer(seq_len)
        for texts in _text_batches(source):
            docs = [t for t in texts if t is not None]
            stats.null_texts += len(texts) - len(docs)
            stats.docs += len(docs)
            encodings = tok.encode_batch(docs, add_special_tokens=False)
            ids = list(itertools.chain.from_iterable([*e.ids, eos_id] for e in encodings))
            stats.tokens += len(ids)
            packer.add(np.asarray(ids, dtype=np.int32))
            if packer.full_tokens >= _TOKENS_PER_ROW_GROUP:
                _write_rows(writer, packer.take_rows(), seq_len)
        stats.padding = packer.pad(pad_id)
        rows = packer.take_rows()
        if len(rows):
            _write_rows(writer, rows, seq_len)
        stats.sequences = (stats.tokens + stats.padding) // seq_len
        meta = {
            "format": FORMAT,
            "seq_len": seq_len,
            "tokenizer_sha256": hashlib.sha256(raw).hexdigest(),
            "eos_id": eos_id,
            "pad_id": pad_id,
            "source": source.name,
            **{k: v for k, v in stats.to_json().items() if k != "name"},
        }
        writer.add_key_value_metadata({METADATA_KEY: json.dumps(meta)})
        writer.close()
        os.replace(tmp, target)
    except BaseException:
        writer.close()
        tmp.unlink(missing_ok=True)
        raise
    return stats


class _Packer:
    """Concatenates token arrays and hands out full rows of ``seq_len``."""

    def __init__(self, seq_len: int) -> None:
        self.seq_len = seq_len
        self._parts: list[np.ndarray] = []
        self._size = 0

    @property
    def full_tokens(self) -> int:
        return self._size - self._size % self.seq_len

    def add(self, ids: np.ndarray) -> None:
        self._parts.append(ids)
        self._size += len(ids)

    def take_rows(self) -> np.ndarray:
        flat = np.concatenate(self._parts) if self._parts else np.empty(0, np.int32)
        cut = self.full_tokens
        rest = flat[cut:]
        self._parts, self._size = ([rest], len(rest)) if len(rest) else ([], 0)
        return flat[:cut].reshape(-1, self.seq_len)

    def pad(self, pad_id: int) -> int:
        """Fill the last partial row with ``pad_id``; the number of pad tokens added."""
        missing = (-self._size) % self.seq_len
        if missing:
            self.add(np.full(missing, pad_id, dtype=np.int32))
        return missing


def _write_rows(writer: pq.ParquetWriter, rows: np.ndarray, seq_len: int) -> None:
    values = pa.array(rows.reshape(-1), type=pa.int32())
    column = pa.FixedSizeListArray.from_arrays(values, seq_len)
    writer.write_table(pa.Table.from_arrays([column], schema=token_schema(seq_len)))


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_name(f"{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, path)
