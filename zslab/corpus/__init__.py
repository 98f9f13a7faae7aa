"""Corpus engineering (语料工程) on Dask: read, clean, redact, dedup, decontaminate, tokenize,
pack and stream. See :mod:`zslab.corpus.core` for the step contract."""
