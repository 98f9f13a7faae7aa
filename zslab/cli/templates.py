"""``zslab templates list | show`` and ``zslab run``: papermill templates, and running one.

A template is a notebook with a ``parameters`` cell (:mod:`zslab.templates`). ``zslab run``
executes one with papermill, here or on a lease's worker (``--lease``), and records the run in
the hub when one answers (``--no-record`` to skip); it exits 1 when the notebook failed.
"""

from __future__ import annotations

import argparse
import sys

from zslab.cli._arguments import Parents, Subcommands, add_noun, add_verb, connect
from zslab.cli._errors import config_error
from zslab.cli._output import print_json

__all__ = ["cmd_run", "cmd_templates_list", "cmd_templates_show", "register"]


def register(nouns: Subcommands, parents: Parents) -> None:
    """Add the ``templates`` noun and the ``run`` command."""
    templates = add_noun(nouns, "templates", "papermill templates")
    add_verb(
        templates,
        "list",
        cmd_templates_list,
        "the templates and their parameters",
        [parents.listing],
    )
    p = add_verb(
        templates, "show", cmd_templates_show, "one template's parameters", [parents.listing]
    )
    p.add_argument("template")

    p = add_verb(
        nouns,
        "run",
        cmd_run,
        "run a template (recorded in the hub)",
        [parents.client, parents.listing],
    )
    p.add_argument("template", help="a template name (zslab templates list) or a notebook path")
    p.add_argument(
        "-p",
        "--parameter",
        dest="parameters",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="a parameter (repeat); values are parsed by type",
    )
    p.add_argument("--lease", help="run on this lease's worker")
    p.add_argument("--project", help="the project to record the run in (org/slug or id)")
    p.add_argument("--output", help="the run folder (default under $ZSLAB_HOME/runs)")
    p.add_argument("--no-record", action="store_true", help="do not record in the hub")


def cmd_templates_list(args: argparse.Namespace) -> int:
    """Every template with its parameters, types and defaults."""
    from zslab.templates import list_templates

    templates = list_templates()
    if args.json:
        print_json([t.to_json() for t in templates])
        return 0
    for template in templates:
        print(f"{template.name:<18} {template.title}")
        for parameter in template.parameters:
            print(f"    {parameter.name:<20} {parameter.type:<6} = {parameter.default!r}")
    return 0


def cmd_templates_show(args: argparse.Namespace) -> int:
    """One template: title, description, notebook path, and its parameters with help."""
    from zslab.templates import get_template

    try:
        template = get_template(args.template)
    except ValueError as exc:
        raise config_error(exc) from exc
    if args.json:
        print_json(template.to_json())
        return 0
    print(f"{template.name}: {template.title}\n{template.description}\n{template.path}")
    for parameter in template.parameters:
        note = f"  # {parameter.help}" if parameter.help else ""
        print(f"  {parameter.name}: {parameter.type} = {parameter.default!r}{note}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Run a template with papermill; recorded in the hub when one answers."""
    from zslab.errors import HubUnavailable
    from zslab.templates import run_template

    parameters = {name: value for name, value in args.parameters}
    lab = None
    if not args.no_record or args.lease:
        try:
            lab = connect(args)
        except HubUnavailable:
            if args.lease:
                raise
            print("zslab: no hub answers; running without recording", file=sys.stderr)
    lease = lab.lease(args.lease) if (lab is not None and args.lease) else None
    if lease is not None:
        lease.start_heartbeats()
    try:
        result = run_template(
            args.template,
            parameters,
            output_dir=args.output,
            lease=lease,
            lab=None if args.no_record else lab,
            project=args.project,
            progress=not args.json,
        )
    except ValueError as exc:
        raise config_error(exc) from exc
    finally:
        if lease is not None:
            lease.stop_heartbeats()
        if lab is not None:
            lab.close()
    record = {
        "run_id": result.run_id,
        "template": result.template,
        "status": result.status,
        "metrics": result.metrics,
        "error": result.error,
        "parameters": result.parameters,
        "executed_notebook": str(result.executed_notebook_path)
        if result.executed_notebook_path
        else None,
        "output_dir": str(result.output_dir) if result.output_dir else None,
        "seconds": round(result.seconds, 3),
        "provenance": result.provenance,
    }
    if args.json:
        print_json(record)
    else:
        print(
            f"{result.template}: {result.status} in {result.seconds:.1f} s"
            + (f" (run {result.run_id})" if result.run_id else "")
        )
        for name, value in result.metrics.items():
            print(f"  {name}: {value}")
        if result.error:
            print(f"  error: {result.error}", file=sys.stderr)
        print(f"  executed notebook: {record['executed_notebook']}")
    return 0 if result.completed else 1
