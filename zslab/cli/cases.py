"""``zslab cases …``: the vertical-industry case library.

Publish runs as a case, search and show cases, move a version through review (submit,
withdraw, approve, request-changes, archive, comment), reproduce a case on a lease, read the
leaderboards, and export a case as a Hugging Face model card.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from zslab.cli._arguments import Parents, Subcommands, add_noun, add_verb, connect, csv_list
from zslab.cli._output import print_json, print_table, show

__all__ = [
    "CASE_COLUMNS",
    "LEADERBOARD_COLUMNS",
    "REVIEWED_COLUMNS",
    "REVIEW_ACTIONS",
    "VERSION_COLUMNS",
    "cmd_cases_export",
    "cmd_cases_leaderboard",
    "cmd_cases_publish",
    "cmd_cases_reproduce",
    "cmd_cases_review",
    "cmd_cases_search",
    "cmd_cases_show",
    "register",
]

CASE_COLUMNS = ("slug", "sector", "status", "published_version", "reproduced", "title")
VERSION_COLUMNS = ("number", "status", "title", "published_at")
REVIEWED_COLUMNS = ("slug", "number", "status", "title")
LEADERBOARD_COLUMNS = ("rank", "tied", "slug", "version", "value", "low", "high")

REVIEW_ACTIONS = ("submit", "withdraw", "approve", "request-changes", "archive", "comment")
"""The review verbs; each is ``zslab cases <action> CASE``, one handler for all of them."""


def register(nouns: Subcommands, parents: Parents) -> None:
    """Add the ``cases`` noun."""
    both = [parents.client, parents.listing]
    cases = add_noun(nouns, "cases", "the industry case library")
    p = add_verb(cases, "publish", cmd_cases_publish, "publish runs as a case", both)
    p.add_argument("runs", nargs="+", help="run ids")
    p.add_argument("--sector", required=True, help="finance, education, healthcare, …")
    p.add_argument("--title", required=True)
    p.add_argument("--title-en", default="")
    p.add_argument("--summary", default="")
    p.add_argument("--license", help="SPDX id, e.g. apache-2.0")
    p.add_argument("--tags", default="", help="comma-separated")
    p.add_argument("--model", default="")
    p.add_argument("--visibility", choices=["public", "org", "private"], default="org")
    p.add_argument("--project")
    p.add_argument("--slug")
    p.add_argument("--draft", action="store_true", help="keep it a draft (do not submit)")
    p = add_verb(cases, "search", cmd_cases_search, "search the library", both)
    p.add_argument("query", nargs="?")
    p.add_argument("--sector")
    p.add_argument("--task")
    p.add_argument("--dataset")
    p.add_argument("--org")
    p.add_argument("--license")
    p.add_argument("--reproduced", action="store_true", help="only reproduced cases")
    p.add_argument("--sort", default="relevance", help="relevance, recent or metric:<name>")
    p.add_argument("--limit", type=int, default=20)
    p = add_verb(cases, "show", cmd_cases_show, "a case, its versions and reproductions", both)
    p.add_argument("case")
    for action in REVIEW_ACTIONS:
        p = add_verb(cases, action, cmd_cases_review, f"{action} a case version", both)
        p.add_argument("case")
        p.add_argument("--version", type=int, help="default: the newest")
        p.add_argument("--comment", required=action in ("request-changes", "comment"), default="")
        p.set_defaults(action=action.replace("-", "_"))
    p = add_verb(cases, "reproduce", cmd_cases_reproduce, "re-run a case and check it", both)
    p.add_argument("case")
    p.add_argument("--version", type=int)
    p.add_argument("--lease", help="re-run on this lease's worker")
    p = add_verb(cases, "leaderboard", cmd_cases_leaderboard, "ranked results", both)
    p.add_argument("--task")
    p.add_argument("--dataset")
    p.add_argument("--metric")
    p = add_verb(
        cases, "export", cmd_cases_export, "a case as a model card README.md", [parents.client]
    )
    p.add_argument("case")
    p.add_argument("--version", type=int)
    p.add_argument("-o", "--output", help="file to write (default: stdout)")


def cmd_cases_publish(args: argparse.Namespace) -> int:
    """Publish runs as a new case (or version), submitted for review unless ``--draft``."""
    with connect(args) as lab:
        version = lab.cases.publish(
            args.runs,
            sector=args.sector,
            title=args.title,
            title_en=args.title_en,
            summary=args.summary,
            license=args.license,
            tags=csv_list(args.tags),
            model=args.model,
            visibility=args.visibility,
            project=args.project,
            slug=args.slug,
            submit=not args.draft,
        )
        if args.json:
            print_json(version)
            return 0
        print(f"{version.slug} v{version.number}: {version.status}")
        print(f"  gallery: {lab.url}/cases/{version.slug}")
        return 0


def cmd_cases_search(args: argparse.Namespace) -> int:
    """Search the library (Chinese or English); the table says how many matched in all."""
    with connect(args) as lab:
        page = lab.cases.search(
            args.query,
            args.sector,
            task=args.task,
            dataset=args.dataset,
            org=args.org,
            license=args.license,
            reproduced=args.reproduced,
            sort=args.sort,
            limit=args.limit,
        )
    if args.json:
        print_json(page)
        return 0
    print_table(page.items, CASE_COLUMNS)
    print(f"({len(page.items)} of {page.total})")
    return 0


def cmd_cases_show(args: argparse.Namespace) -> int:
    """A case, its versions, its reproductions, and where the gallery shows it."""
    with connect(args) as lab:
        case = lab.cases.get(args.case)
        gallery = f"{lab.url}/cases/{case.slug}"
    if args.json:
        print_json(case)
        return 0
    print_table([case], CASE_COLUMNS)
    print()
    print_table(case.versions or [], VERSION_COLUMNS)
    for reproduction in case.reproductions or []:
        verdict = "matched" if reproduction.matched else "DID NOT MATCH"
        print(f"reproduction {reproduction.id} of v{reproduction.version}: {verdict}")
    print(f"gallery: {gallery}")
    return 0


def cmd_cases_review(args: argparse.Namespace) -> int:
    """Move a case version through review (the verb is ``args.action``)."""
    with connect(args) as lab:
        version = lab.cases._review(args.case, args.version, args.action, args.comment or "")
    return show(args, version, REVIEWED_COLUMNS)


def cmd_cases_reproduce(args: argparse.Namespace) -> int:
    """Re-run a case (on ``--lease`` if given) and compare; exit 1 when it did not match."""
    with connect(args) as lab:
        lease = lab.lease(args.lease) if args.lease else None
        result = lab.cases.reproduce(args.case, lease, version=args.version)
    if args.json:
        print_json(result)
    else:
        print(f"{args.case} v{result.version}: " + ("matched" if result.matched else "MISMATCH"))
        for comparison in result.verdict.get("comparisons", []):
            mark = "ok" if comparison["matched"] else "!!"
            print(
                f"  {mark} {comparison['metric']}: published {comparison['published']:.4g}, "
                f"reproduced {comparison['reproduced']}, {comparison['rule']}"
            )
    return 0 if result.matched else 1


def cmd_cases_leaderboard(args: argparse.Namespace) -> int:
    """Ranked published results per task, dataset and metric."""
    with connect(args) as lab:
        boards = lab.cases.leaderboards(task=args.task, dataset=args.dataset, metric=args.metric)
    if args.json:
        print_json(boards)
        return 0
    for board in boards:
        print(f"{board.task} · {board.dataset} · {board.metric}")
        print_table(board.entries, LEADERBOARD_COLUMNS)
        print()
    if not boards:
        print("(no published results)")
    return 0


def cmd_cases_export(args: argparse.Namespace) -> int:
    """A case version as a model card README.md, to ``--output`` or stdout."""
    with connect(args) as lab:
        text = lab.cases.model_card(args.case, args.version)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
    else:
        print(text, end="")
    return 0
