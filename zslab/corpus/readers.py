"""Readers: Parquet, JSONL (plain, .gz, .zst), text and CSV, local paths or fsspec URLs.

A reader returns a :class:`Corpus`: a list of :class:`Shard` s (a file, or a byte range or row
groups of one) plus the column mapping. Nothing is read until a shard is: :func:`read_shard`
turns one into a batch (``id``, ``text`` and the metadata columns) and a list of quarantined
rows. Bad input never stops a run: an invalid UTF-8 line, a malformed JSON line, a row whose
text is missing, empty or not a string is counted by reason and kept in the quarantine, with
where it came from.

    corpus = read_jsonl("data/*.jsonl.zst", text_column="content", id_column="doc_id")
    corpus = read_text("notes/", mode="paragraph")
    batch, bad = read_shard(corpus, corpus.shards[0])

Ids: the ``id_column`` when given (as a string), else the file's path relative to the common
root of the inputs with ``@<byte offset>`` of the line (JSONL, text lines), ``:<row>`` (Parquet,
CSV) or ``:p<n>`` (paragraphs), so ids are unique and stable across runs and partitionings.
Large uncompressed JSONL/text files split into line-aligned byte ranges of about
``partition_bytes``; Parquet files into groups of row groups of about that size; compressed
and CSV files are one shard each.
"""

from __future__ import annotations

import csv
import io
import json
import os
import posixpath
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pyarrow as pa

__all__ = [
    "Corpus",
    "Quarantined",
    "Shard",
    "read_corpus",
    "read_csv",
    "read_jsonl",
    "read_parquet",
    "read_shard",
    "read_text",
]

Format = Literal["parquet", "jsonl", "text", "csv"]
FORMATS: tuple[str, ...] = ("parquet", "jsonl", "text", "csv")
DEFAULT_PARTITION_BYTES = 64 << 20
_COMPRESSED = (".gz", ".zst", ".bz2", ".xz")
_RAW_LIMIT = 500  # characters of a bad row kept in the quarantine


@dataclass(frozen=True)
class Shard:
    """A unit of work: a file, or part of one (a byte range, or Parquet row groups)."""

    index: int
    path: str  # a local path or an fsspec URL
    format: str
    start: int = 0  # byte offset (jsonl/text) or first row group (parquet)
    end: int | None = None  # exclusive; None: to the end
    size: int = 0  # bytes, for progress and the data card

    @property
    def name(self) -> str:
        return f"shard-{self.index:05d}"


@dataclass(frozen=True)
class Quarantined:
    """A row that could not become a document."""

    source: str
    where: str  # "line 12", "row 7"
    reason: str  # invalid_utf8 | malformed_json | missing_text | empty_text | not_text
    raw: str = ""

    def to_json(self) -> dict[str, str]:
        return {"source": self.source, "where": self.where, "reason": self.reason, "raw": self.raw}


@dataclass
class Corpus:
    """Shards to read and how to read them (see the module docstring)."""

    shards: list[Shard]
    format: str
    text_column: str = "text"
    id_column: str | None = None
    metadata_columns: list[str] | None = None  # None: keep all others (JSON-encoded for jsonl)
    text_mode: str = "file"  # text files: file | line | paragraph
    root: str = ""
    inputs: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.shards)

    @property
    def total_bytes(self) -> int:
        return sum(shard.size for shard in self.shards)

    def config(self) -> dict[str, Any]:
        """The ``input:`` section of a pipeline YAML that reads this corpus again."""
        out: dict[str, Any] = {"paths": list(self.inputs), "format": self.format}
        if self.text_column != "text":
            out["text_column"] = self.text_column
        if self.id_column:
            out["id_column"] = self.id_column
        if self.metadata_columns is not None:
            out["metadata_columns"] = list(self.metadata_columns)
        if self.format == "text":
            out["mode"] = self.text_mode
        return out


# --- opening corpora -------------------------------------------------------------------------


def read_corpus(
    paths: str | Sequence[str],
    *,
    format: str | None = None,
    text_column: str = "text",
    id_column: str | None = None,
    metadata_columns: Sequence[str] | None = None,
    mode: str = "file",
    partition_bytes: int = DEFAULT_PARTITION_BYTES,
) -> Corpus:
    """Open ``paths`` (files, folders, globs or URLs) as a corpus of ``format`` (inferred from
    the file names when omitted)."""
    files = _expand(paths)
    if not files:
        raise ValueError(f"input: no files match {list(_as_list(paths))}")
    fmt = format or _infer_format(files)
    if fmt not in FORMATS:
        raise ValueError(f"input.format {fmt!r}: use one of {', '.join(FORMATS)}")
    if mode not in {"file", "line", "paragraph"}:
        raise ValueError(f"input.mode {mode!r}: use file, line or paragraph")
    shards: list[Shard] = []
    for path, size in files:
        shards.extend(_split(path, size, fmt, partition_bytes, start_index=len(shards)))
    return Corpus(
        shards=shards,
        format=fmt,
        text_column=text_column,
        id_column=id_column,
        metadata_columns=list(metadata_columns) if metadata_columns is not None else None,
        text_mode=mode,
        root=_common_root([path for path, _ in files]),
        inputs=list(_as_list(paths)),
    )


def read_parquet(paths: str | Sequence[str], **options: Any) -> Corpus:
    return read_corpus(paths, format="parquet", **options)


def read_jsonl(paths: str | Sequence[str], **options: Any) -> Corpus:
    return read_corpus(paths, format="jsonl", **options)


def read_text(paths: str | Sequence[str], *, mode: str = "file", **options: Any) -> Corpus:
    """Text files: one document per file (``mode="file"``), per line, or per paragraph."""
    return read_corpus(paths, format="text", mode=mode, **options)


def read_csv(paths: str | Sequence[str], **options: Any) -> Corpus:
    return read_corpus(paths, format="csv", **options)


def _as_list(paths: str | Sequence[str]) -> list[str]:
    return [paths] if isinstance(paths, str | os.PathLike) else [str(p) for p in paths]


def _expand(paths: str | Sequence[str]) -> list[tuple[str, int]]:
    """Files (with sizes) under ``paths``: folders are walked, globs expanded, sorted."""
    import fsspec

    found: dict[str, int] = {}
    for raw in _as_list(paths):
        raw = str(raw)
        fs, _, roots = fsspec.get_fs_token_paths(raw)
        protocol = raw.split("://", 1)[0] + "://" if "://" in raw else ""
        for root in roots:
            if fs.isdir(root):
                entries = fs.find(root, detail=True)
                for name, info in entries.items():
                    base = posixpath.basename(name)
                    if info.get("type") == "file" and not base.startswith((".", "_")):
                        found[protocol + name] = int(info.get("size") or 0)
            elif fs.exists(root):
                found[protocol + root] = int(fs.size(root) or 0)
    return sorted(found.items())


def _infer_format(files: list[tuple[str, int]]) -> str:
    kinds = set()
    for path, _ in files:
        name = path.lower()
        for suffix in _COMPRESSED:
            name = name.removesuffix(suffix)
        if name.endswith(".parquet"):
            kinds.add("parquet")
        elif name.endswith((".jsonl", ".json", ".ndjson")):
            kinds.add("jsonl")
        elif name.endswith(".csv"):
            kinds.add("csv")
        else:
            kinds.add("text")
    if len(kinds) != 1:
        raise ValueError(f"input: mixed file kinds ({', '.join(sorted(kinds))}); set input.format")
    return kinds.pop()


def _common_root(paths: list[str]) -> str:
    if len(paths) == 1:
        return posixpath.dirname(paths[0])
    return posixpath.commonpath(paths) if all("://" not in p for p in paths) else ""


def _split(path: str, size: int, fmt: str, partition_bytes: int, start_index: int) -> list[Shard]:
    compressed = path.lower().endswith(_COMPRESSED)
    if fmt in {"jsonl", "text"} and not compressed and size > partition_bytes:
        ranges = range(0, size, partition_bytes)
        return [
            Shard(start_index + i, path, fmt, start, min(start + partition_bytes, size), size)
            for i, start in enumerate(ranges)
        ]
    if fmt == "parquet" and size > partition_bytes:
        import pyarrow.parquet as pq

        with _open(path, "rb") as handle:
            meta = pq.ParquetFile(handle).metadata
        shards: list[Shard] = []
        first, acc = 0, 0
        for group in range(meta.num_row_groups):
            acc += meta.row_group(group).total_byte_size
            if acc >= partition_bytes:
                shards.append(Shard(start_index + len(shards), path, fmt, first, group + 1, acc))
                first, acc = group + 1, 0
        if first < meta.num_row_groups:
            shards.append(Shard(start_index + len(shards), path, fmt, first, None, acc))
        return shards
    return [Shard(start_index, path, fmt, 0, None, size)]


def _open(path: str, mode: str = "rb", compression: str | None = None) -> Any:
    import fsspec

    return fsspec.open(path, mode, compression=compression).open()


# --- reading one shard -----------------------------------------------------------------------


def read_shard(corpus: Corpus, shard: Shard) -> tuple[pa.Table, list[Quarantined]]:
    """The documents of ``shard`` as a batch, and the rows that could not be read."""
    rel = _relative(shard.path, corpus.root)
    if shard.format == "parquet":
        rows, bad = _parquet_rows(corpus, shard, rel)
    elif shard.format == "csv":
        rows, bad = _csv_rows(corpus, shard, rel)
    elif shard.format == "jsonl":
        rows, bad = _jsonl_rows(corpus, shard, rel)
    else:
        rows, bad = _text_rows(corpus, shard, rel)
    return _table(rows, corpus), bad


def _relative(path: str, root: str) -> str:
    if root and path.startswith(root):
        return path[len(root) :].lstrip("/") or posixpath.basename(path)
    return posixpath.basename(path)


def _lines(shard: Shard) -> Iterator[tuple[int, bytes]]:
    """(byte offset, raw bytes) of the lines that *start* in the shard's byte range.

    Offsets, not line numbers, identify lines: they are known without reading what comes
    before the range, and do not change when a file is split differently.
    """
    compression = "infer" if shard.path.lower().endswith(_COMPRESSED) else None
    with _open(shard.path, "rb", compression=compression) as opened:
        # Some decompressors (zstd) read but do not split lines: buffer them.
        handle = io.BufferedReader(opened) if compression else opened
        position = shard.start
        if shard.start:
            handle.seek(shard.start - 1)
            if handle.read(1) != b"\n":
                position += len(handle.readline())  # that line started in the previous shard
        for raw in handle:
            if shard.end is not None and position >= shard.end:
                break
            yield position, raw.rstrip(b"\r\n")
            position += len(raw)


def _decode(raw: bytes) -> str | None:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _text_value(
    value: Any, source: str, where: str, raw: str, bad: list[Quarantined]
) -> str | None:
    if value is None:
        bad.append(Quarantined(source, where, "missing_text", raw[:_RAW_LIMIT]))
        return None
    if not isinstance(value, str):
        bad.append(Quarantined(source, where, "not_text", raw[:_RAW_LIMIT]))
        return None
    if not value.strip():
        bad.append(Quarantined(source, where, "empty_text", raw[:_RAW_LIMIT]))
        return None
    return value


def _jsonl_rows(
    corpus: Corpus, shard: Shard, rel: str
) -> tuple[list[dict[str, Any]], list[Quarantined]]:
    rows: list[dict[str, Any]] = []
    bad: list[Quarantined] = []
    for offset, raw in _lines(shard):
        where = f"byte {offset}"
        line = _decode(raw)
        if line is None:
            bad.append(Quarantined(shard.path, where, "invalid_utf8", repr(raw[:_RAW_LIMIT])))
            continue
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            bad.append(Quarantined(shard.path, where, "malformed_json", line[:_RAW_LIMIT]))
            continue
        if not isinstance(record, dict):
            bad.append(Quarantined(shard.path, where, "malformed_json", line[:_RAW_LIMIT]))
            continue
        text = _text_value(record.get(corpus.text_column), shard.path, where, line, bad)
        if text is None:
            continue
        rows.append(_row(corpus, record, text, f"{rel}@{offset}"))
    return rows, bad


def _text_rows(
    corpus: Corpus, shard: Shard, rel: str
) -> tuple[list[dict[str, Any]], list[Quarantined]]:
    rows: list[dict[str, Any]] = []
    bad: list[Quarantined] = []
    if corpus.text_mode == "line":
        for offset, raw in _lines(shard):
            line = _decode(raw)
            if line is None:
                where = f"byte {offset}"
                bad.append(Quarantined(shard.path, where, "invalid_utf8", repr(raw[:_RAW_LIMIT])))
            elif line.strip():
                rows.append({"id": f"{rel}@{offset}", "text": line})
        return rows, bad
    compression = "infer" if shard.path.lower().endswith(_COMPRESSED) else None
    with _open(shard.path, "rb", compression=compression) as handle:
        data = handle.read()
    text = _decode(data)
    if text is None:
        bad.append(Quarantined(shard.path, "file", "invalid_utf8", repr(data[:_RAW_LIMIT])))
        return rows, bad
    if corpus.text_mode == "file":
        if text.strip():
            rows.append({"id": rel, "text": text})
        else:
            bad.append(Quarantined(shard.path, "file", "empty_text", ""))
        return rows, bad
    for number, paragraph in enumerate(_paragraphs(text), start=1):
        rows.append({"id": f"{rel}:p{number}", "text": paragraph})
    return rows, bad


def _paragraphs(text: str) -> Iterator[str]:
    block: list[str] = []
    for line in text.splitlines():
        if line.strip():
            block.append(line)
        elif block:
            yield "\n".join(block)
            block = []
    if block:
        yield "\n".join(block)


def _parquet_rows(
    corpus: Corpus, shard: Shard, rel: str
) -> tuple[list[dict[str, Any]], list[Quarantined]]:
    import pyarrow.parquet as pq

    with _open(shard.path, "rb") as handle:
        reader = pq.ParquetFile(handle)
        end = shard.end if shard.end is not None else reader.metadata.num_row_groups
        groups = list(range(shard.start, end))
        table = reader.read_row_groups(groups) if groups else reader.schema_arrow.empty_table()
        first_row = sum(reader.metadata.row_group(g).num_rows for g in range(shard.start))
    if corpus.text_column not in table.column_names:
        raise ValueError(
            f"input.text_column {corpus.text_column!r} is not a column of {shard.path} "
            f"(it has: {', '.join(table.column_names)})"
        )
    return _records_rows(corpus, shard, rel, table.to_pylist(), first_row, "row")


def _csv_rows(
    corpus: Corpus, shard: Shard, rel: str
) -> tuple[list[dict[str, Any]], list[Quarantined]]:
    compression = "infer" if shard.path.lower().endswith(_COMPRESSED) else None
    with _open(shard.path, "rb", compression=compression) as handle:
        data = handle.read()
    text = data.decode("utf-8", errors="replace")
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or corpus.text_column not in reader.fieldnames:
        raise ValueError(
            f"input.text_column {corpus.text_column!r} is not a column of {shard.path} "
            f"(it has: {', '.join(reader.fieldnames or [])})"
        )
    rows, bad = _records_rows(corpus, shard, rel, list(reader), 2, "line")
    for quarantined in list(bad):
        if "\ufffd" in quarantined.raw:
            bad.remove(quarantined)
            bad.append(Quarantined(quarantined.source, quarantined.where, "invalid_utf8"))
    invalid = [r for r in rows if "\ufffd" in r["text"]]
    for row in invalid:
        rows.remove(row)
        bad.append(Quarantined(shard.path, row["id"].rsplit(":", 1)[-1], "invalid_utf8"))
    return rows, bad


def _records_rows(
    corpus: Corpus,
    shard: Shard,
    rel: str,
    records: list[dict[str, Any]],
    first: int,
    unit: str,
) -> tuple[list[dict[str, Any]], list[Quarantined]]:
    rows: list[dict[str, Any]] = []
    bad: list[Quarantined] = []
    for offset, record in enumerate(records):
        number = first + offset
        where = f"{unit} {number}"
        text = _text_value(
            record.get(corpus.text_column), shard.path, where, json.dumps(record, default=str), bad
        )
        if text is None:
            continue
        rows.append(_row(corpus, record, text, f"{rel}:{number}"))
    return rows, bad


def _row(corpus: Corpus, record: dict[str, Any], text: str, fallback_id: str) -> dict[str, Any]:
    row: dict[str, Any] = {"text": text}
    if corpus.id_column and record.get(corpus.id_column) is not None:
        row["id"] = str(record[corpus.id_column])
    else:
        row["id"] = fallback_id
    skip = {corpus.text_column, corpus.id_column}
    if corpus.metadata_columns is None:
        extra = {k: v for k, v in record.items() if k not in skip}
        if extra:
            row["meta"] = json.dumps(extra, ensure_ascii=False, default=str, sort_keys=True)
    else:
        for name in corpus.metadata_columns:
            value = record.get(name)
            row[name] = value if value is None or isinstance(value, str) else json.dumps(value)
    return row


def _table(rows: list[dict[str, Any]], corpus: Corpus) -> pa.Table:
    columns: dict[str, pa.Array] = {
        "id": pa.array([r["id"] for r in rows], pa.string()),
        "text": pa.array([r["text"] for r in rows], pa.string()),
    }
    extra = ["meta"] if corpus.metadata_columns is None else list(corpus.metadata_columns)
    for name in extra:
        if name == "meta" and not any("meta" in r for r in rows):
            continue
        columns[name] = pa.array([r.get(name) for r in rows], pa.string())
    return pa.table(columns)


def quarantine_counts(bad: Sequence[Quarantined]) -> Counter[str]:
    return Counter(q.reason for q in bad)
