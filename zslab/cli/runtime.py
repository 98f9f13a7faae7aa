"""``zslab up | down | status | hub | health | me | version``: running and reaching a hub.

``up``/``down``/``status`` manage the embedded hub of this machine (:mod:`zslab.embedded`);
``hub`` runs only the hub, for a shared deployment; ``health`` and ``me`` ask whichever hub the
client options name.
"""

from __future__ import annotations

import argparse
import sys

from zslab._version import __version__
from zslab.cli._arguments import Parents, Subcommands, add_verb, connect, local_settings
from zslab.cli._output import print_json

__all__ = [
    "cmd_down",
    "cmd_health",
    "cmd_hub",
    "cmd_me",
    "cmd_status",
    "cmd_up",
    "cmd_version",
    "register",
]


def register(nouns: Subcommands, parents: Parents) -> None:
    """Add ``up``, ``down``, ``status``, ``hub``, ``health``, ``me`` and ``version``."""
    client, listing = parents.client, parents.listing
    p = add_verb(nouns, "up", cmd_up, "start the embedded hub and Dask cluster")
    p.add_argument("-d", "--detach", action="store_true", help="run in the background")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    p.add_argument("--no-dask", action="store_true", help="start the hub without Dask")
    p = add_verb(nouns, "down", cmd_down, "stop the embedded hub")
    p.add_argument("--timeout", type=float, default=30.0)
    add_verb(nouns, "status", cmd_status, "is the embedded hub running?", [listing])
    p = add_verb(nouns, "hub", cmd_hub, "run only the hub (shared deployment)")
    p.add_argument("--db", help="SQLAlchemy URL, e.g. postgresql+psycopg://zslab@db/zslab")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--log-level", default="info")
    p.add_argument("--access-log", action="store_true")
    add_verb(nouns, "health", cmd_health, "check the hub", [client, listing])
    add_verb(nouns, "me", cmd_me, "who am I on the hub?", [client, listing])
    add_verb(nouns, "version", cmd_version, "print the version")


def cmd_up(args: argparse.Namespace) -> int:
    """Start the embedded hub: in the foreground until Ctrl-C, or detached with ``-d``."""
    from zslab import embedded

    settings = local_settings(args)
    if args.detach:
        info = embedded.start_detached(settings, port=args.port, dask=not args.no_dask)
        print(embedded.banner(info, settings, headline=f"zslab {info.version} is up (detached)"))
        print("Stop it with `zslab down`.")
        return 0
    return embedded.run_foreground(
        settings,
        host=args.host,
        port=args.port,
        dask=not args.no_dask,
        echo=lambda line: print(line, flush=True),
    )


def cmd_down(args: argparse.Namespace) -> int:
    """Stop the embedded hub (and its Dask cluster) and remove its runtime file."""
    from zslab import embedded

    print(embedded.stop(local_settings(args), timeout=args.timeout))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    """Say whether the embedded hub runs; exit 1 when it does not (scripts test this)."""
    from dataclasses import asdict

    from zslab import embedded

    settings = local_settings(args)
    state = embedded.probe(settings)
    if args.json:
        print_json({"status": state.status, **(asdict(state.info) if state.info else {})})
    else:
        print(state.describe(settings))
    return 0 if state.status == "running" else 1


def cmd_hub(args: argparse.Namespace) -> int:
    """Run only the hub, for a shared deployment (no Dask, no runtime file)."""
    from zslab.hub.app import create_app, open_database
    from zslab.hub.bootstrap import ensure_admin
    from zslab.hub.db.engine import redact_url
    from zslab.hub.server import bind_socket, make_server

    settings = local_settings(args, **({"db_url": args.db} if args.db else {}))
    db = open_database(settings)
    boot = ensure_admin(db, secret=settings.bootstrap_token)
    if boot.created and boot.secret and not settings.bootstrap_token:
        print(f"Created the first admin, {boot.admin_name!r}. Its token, shown only now:")
        print(f"  {boot.secret}")
    app = create_app(settings, db=db)
    sock = bind_socket(args.host, args.port)
    host, port = sock.getsockname()[:2]
    print(f"zslab hub {__version__} on http://{host}:{port} (database {redact_url(db.url)})")
    sys.stdout.flush()
    server = make_server(app, log_level=args.log_level, access_log=args.access_log)
    server.run(sockets=[sock])
    return 0


def cmd_health(args: argparse.Namespace) -> int:
    """The hub's health; exit 1 unless it says ok."""
    with connect(args) as lab:
        health = lab.health()
    if args.json:
        print_json(health)
    else:
        db = health.database
        print(
            f"{health.status}: zslab {health.version}, up {health.uptime_s:.0f} s, "
            f"database {db.get('url')} ({'ok' if db.get('ok') else 'failing'})"
        )
    return 0 if health.status == "ok" else 1


def cmd_me(args: argparse.Namespace) -> int:
    """Who the token belongs to, and its scopes."""
    with connect(args) as lab:
        me = lab.me()
    if args.json:
        print_json(me)
    else:
        print(f"{me.user.name} ({me.user.role}) via token {me.token.id} {me.token.scopes}")
    return 0


def cmd_version(args: argparse.Namespace) -> int:
    """Print ``zslab <version>``."""
    print(f"zslab {__version__}")
    return 0
