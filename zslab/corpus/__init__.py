"""Corpus engineering (语料工程) on Dask: read, clean, redact, dedup, decontaminate, tokenize,
pack and stream into training with bounded memory.

    from zslab import corpus
    raw = corpus.read_jsonl("raw/*.jsonl.zst", text_column="content")
    pipeline = corpus.Pipeline.from_config(
        [{"normalize": {}}, {"gopher_quality": {}}, {"pii_redact": {}},
         {"minhash_dedup": {"threshold": 0.8}}]
    )
    result = pipeline.run(raw, "curated/", client=client)   # Parquet shards + datacard.json

    tok = corpus.train_tokenizer(corpus.iter_texts("curated/"), kind="bpe", vocab_size=8000)
    corpus.tokenize_shards("curated/", "tokens/", tok_path, seq_len=512, client=client)
    data = corpus.stream("tokens/", batch_size=8, seed=0)   # torch IterableDataset

See :mod:`zslab.corpus.core` for the step contract and ``zslab corpus steps`` for the steps.
It needs ``pip install 'zslab[corpus]'`` (``stream`` also needs torch: ``zslab[train]``); a bare
install says so on import.
"""

from __future__ import annotations

import importlib
from typing import Any

from zslab.extras import require

require("corpus", "zslab.corpus")

__all__ = [
    "Pipeline",
    "iter_texts",
    "load_pipeline",
    "make_step",
    "read_corpus",
    "read_csv",
    "read_jsonl",
    "read_parquet",
    "read_text",
    "step_catalog",
    "stream",
    "tokenize_shards",
    "train_tokenizer",
]

_LAZY = {
    "Pipeline": "zslab.corpus.pipeline",
    "load_pipeline": "zslab.corpus.pipeline",
    "make_step": "zslab.corpus.core",
    "step_catalog": "zslab.corpus.core",
    "read_corpus": "zslab.corpus.readers",
    "read_csv": "zslab.corpus.readers",
    "read_jsonl": "zslab.corpus.readers",
    "read_parquet": "zslab.corpus.readers",
    "read_text": "zslab.corpus.readers",
    "stream": "zslab.corpus.stream",
    "tokenize_shards": "zslab.corpus.tokenize",
    "train_tokenizer": "zslab.corpus.tokenize",
}


def __getattr__(name: str) -> Any:
    if name == "iter_texts":
        return iter_texts
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'zslab.corpus' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    # Importing zslab.corpus.stream binds the *module* to this package's `stream`; bind the
    # function instead, so `zslab.corpus.stream(...)` keeps working after the first call.
    globals()[name] = value
    return value


def iter_texts(output: str) -> Any:
    """The ``text`` of every document in a pipeline's output folder, shard by shard."""
    from pathlib import Path

    import pyarrow.parquet as pq

    for shard in sorted(Path(output).glob("shard-*.parquet")):
        table = pq.read_table(shard, columns=["text"])
        yield from table.column("text").to_pylist()
