"""``zslab corpus run | card | steps | demo``: corpus curation pipelines on Dask.

``run`` executes a pipeline YAML (:mod:`zslab.corpus.pipeline`) on a new ``LocalCluster``, an
existing scheduler (``--scheduler``) or in this process (``--workers 0``), resuming where an
earlier run stopped; ``card`` prints the data card it wrote. None of these needs a hub.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Any

from zslab.cli._arguments import Parents, Subcommands, add_noun, add_verb
from zslab.cli._errors import config_error
from zslab.cli._output import print_json

__all__ = ["cmd_corpus_card", "cmd_corpus_demo", "cmd_corpus_run", "cmd_corpus_steps", "register"]


def register(nouns: Subcommands, parents: Parents) -> None:
    """Add the ``corpus`` noun."""
    listing = [parents.listing]
    corpus = add_noun(nouns, "corpus", "corpus curation pipelines")
    p = add_verb(
        corpus, "run", cmd_corpus_run, "run a pipeline YAML (resumes where it stopped)", listing
    )
    p.add_argument("pipeline", help="YAML with input:, steps: and output:")
    p.add_argument("--output", help="override the YAML's output folder")
    p.add_argument("--workers", type=int, default=None, help="Dask worker processes (0: none)")
    p.add_argument("--scheduler", help="an existing Dask scheduler instead of a new cluster")
    p.add_argument("--overwrite", action="store_true", help="discard an earlier run's output")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p = add_verb(corpus, "card", cmd_corpus_card, "show the data card of a run's output", listing)
    p.add_argument("output")
    add_verb(corpus, "steps", cmd_corpus_steps, "the steps and their parameters", listing)
    p = add_verb(corpus, "demo", cmd_corpus_demo, "write the demo corpus and its pipeline")
    p.add_argument("folder")
    p.add_argument("--articles", type=int, default=None, help="People's Daily articles (all)")


def _dask_client(args: argparse.Namespace) -> tuple[Any, Any]:
    """Where corpus tasks run: ``(client, cluster)`` for a given scheduler (no cluster of ours),
    a new LocalCluster, or ``(None, None)`` for this process (``--workers 0``)."""
    if args.workers == 0:
        return None, None
    from distributed import Client, LocalCluster

    if args.scheduler:
        return Client(args.scheduler, timeout=30), None
    cluster = LocalCluster(
        n_workers=args.workers or os.cpu_count() or 1,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
        silence_logs=logging.ERROR,
    )
    return Client(cluster), cluster


def cmd_corpus_run(args: argparse.Namespace) -> int:
    """Run a pipeline YAML and summarize what each step kept, dropped and modified."""
    from zslab.corpus.pipeline import load_pipeline

    try:
        config = load_pipeline(args.pipeline)
        corpus = config.corpus()
    except (ValueError, FileNotFoundError, OSError) as exc:
        raise config_error(exc) from exc
    output = args.output or config.output
    client, cluster = _dask_client(args)
    try:
        if client is not None:
            print(f"dask: {client.dashboard_link}", file=sys.stderr)
        try:
            result = config.pipeline.run(
                corpus, output, client=client, progress=not args.quiet, overwrite=args.overwrite
            )
        except ValueError as exc:
            raise config_error(exc) from exc
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    card = result.card
    if args.json:
        print_json({"output": str(result.output), "documents": result.documents, "card": card})
        return 0
    print(
        f"{card['input']['documents']:,} documents in, {result.documents:,} out "
        f"({len(card['output']['shards'])} shards) in {result.seconds:.1f} s"
        + (f"; {result.resumed_tasks} task(s) resumed" if result.resumed_tasks else "")
    )
    for step in card["steps"]:
        dropped = sum(step["dropped"].values())
        print(
            f"  {step['step']:<18} kept {step['kept']:>9,}  dropped {dropped:>8,}  "
            f"modified {step['modified']:>8,}"
        )
    print(f"data card: {Path(output) / 'datacard.md'}")
    return 0


def cmd_corpus_card(args: argparse.Namespace) -> int:
    """The data card of a run's output folder, as Markdown or ``--json``."""
    from zslab.corpus.datacard import load_card, render_markdown

    try:
        card = load_card(args.output)
    except FileNotFoundError as exc:
        raise config_error(exc) from exc
    if args.json:
        print_json(card)
    else:
        print(render_markdown(card))
    return 0


def cmd_corpus_steps(args: argparse.Namespace) -> int:
    """The pipeline steps, their kinds, and their parameters with defaults."""
    from zslab.corpus.core import step_catalog

    steps = step_catalog()
    if args.json:
        print_json(steps)
        return 0
    for step in steps:
        params = ", ".join(f"{p['name']}={p['default']!r}" for p in step["params"])
        print(f"{step['name']:<18} {step['kind']:<9} {step['description']}")
        if params:
            print(f"{'':<28}{params}")
    return 0


def cmd_corpus_demo(args: argparse.Namespace) -> int:
    """Write the demo corpus (People's Daily articles) and a pipeline that curates it."""
    from zslab.corpus.demo import write_demo_corpus
    from zslab.errors import InvalidInput

    if args.articles is not None and args.articles < 1:
        raise InvalidInput(
            f"--articles: {args.articles} is not a number of articles.",
            field="articles",
            fix="Pass a positive number, or leave --articles out for all of them.",
        )
    pipeline = write_demo_corpus(args.folder, articles=args.articles)
    print(f"wrote {Path(args.folder) / 'raw'} and {pipeline}; run: zslab corpus run {pipeline}")
    return 0
