"""Benchmarks of zslab: run one with ``python -m benchmarks.<name>``; see README.md."""
