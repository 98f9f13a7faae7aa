"""``zslab <noun> <verb>``: the command line.

Every listing takes ``--json``. Client commands find the hub like :func:`zslab.connect` does
(``--url``/``--token``, ``ZSLAB_URL``/``ZSLAB_TOKEN``, or the embedded hub's runtime file).
Imports are lazy so ``zslab --help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zslab._version import __version__
from zslab.errors import ZslabError

if TYPE_CHECKING:
    from pydantic import BaseModel

    from zslab.client import Lab
    from zslab.config import Settings

__all__ = ["main"]

Handler = Callable[[argparse.Namespace], int]


# --- output ---------------------------------------------------------------------------------


def _dump(value: Any) -> Any:
    if isinstance(value, list):
        return [_dump(v) for v in value]
    dump = getattr(value, "model_dump", None)
    return dump(mode="json") if dump else value


def _print_json(value: Any) -> None:
    print(json.dumps(_dump(value), ensure_ascii=False, indent=2))


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return ",".join(str(v) for v in value) or "-"
    text = str(value)
    if hasattr(value, "isoformat"):
        text = value.isoformat(timespec="seconds").replace("+00:00", "Z")
    return text


def _print_table(rows: Sequence[BaseModel], columns: Sequence[str]) -> None:
    if not rows:
        print("(none)")
        return
    table = [[_cell(getattr(row, c, None)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in table)) for i, c in enumerate(columns)]
    print("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for r in table:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())


def _show(args: argparse.Namespace, value: Any, columns: Sequence[str]) -> int:
    if args.json:
        _print_json(value)
    elif isinstance(value, list):
        _print_table(value, columns)
    else:
        _print_table([value], columns)
    return 0


# --- helpers ----------------------------------------------------------------------------------


def _settings(args: argparse.Namespace) -> Settings:
    from zslab.config import load_settings

    overrides: dict[str, Any] = {}
    if getattr(args, "home", None):
        overrides["home"] = args.home
    return load_settings(**overrides)


def _lab(args: argparse.Namespace) -> Lab:
    from zslab.client import connect

    return connect(args.url, args.token, start=False, home=getattr(args, "home", None))


def _csv(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


# --- runtime: up / down / status / hub ----------------------------------------------------


def cmd_up(args: argparse.Namespace) -> int:
    from zslab import embedded

    settings = _settings(args)
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
    from zslab import embedded

    print(embedded.stop(_settings(args), timeout=args.timeout))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from zslab import embedded

    settings = _settings(args)
    state = embedded.probe(settings)
    if args.json:
        _print_json({"status": state.status, **(asdict(state.info) if state.info else {})})
    else:
        print(state.describe(settings))
    return 0 if state.status == "running" else 1


def cmd_hub(args: argparse.Namespace) -> int:
    """Run only the hub, for a shared deployment (no Dask, no runtime file)."""
    from zslab.hub.app import create_app, open_database
    from zslab.hub.bootstrap import ensure_admin
    from zslab.hub.db.engine import redact_url
    from zslab.hub.server import bind_socket, make_server

    overrides: dict[str, Any] = {}
    if args.db:
        overrides["db_url"] = args.db
    if args.home:
        overrides["home"] = args.home
    from zslab.config import load_settings

    settings = load_settings(**overrides)
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


# --- accounts ------------------------------------------------------------------------------

USER_COLUMNS = ("id", "name", "role", "email", "disabled", "created_at")
TOKEN_COLUMNS = ("id", "name", "prefix", "scopes", "kind", "expires_at", "revoked_at")
ORG_COLUMNS = ("id", "slug", "name", "created_at")
PROJECT_COLUMNS = ("id", "org_slug", "slug", "name", "created_at")
MEMBER_COLUMNS = ("user_name", "role", "user_id", "created_at")
AUDIT_COLUMNS = ("id", "at", "actor_name", "action", "object_id", "status", "outcome")


def cmd_health(args: argparse.Namespace) -> int:
    with _lab(args) as lab:
        health = lab.health()
    if args.json:
        _print_json(health)
    else:
        db = health.database
        print(
            f"{health.status}: zslab {health.version}, up {health.uptime_s:.0f} s, "
            f"database {db.get('url')} ({'ok' if db.get('ok') else 'failing'})"
        )
    return 0 if health.status == "ok" else 1


def cmd_me(args: argparse.Namespace) -> int:
    with _lab(args) as lab:
        me = lab.me()
    if args.json:
        _print_json(me)
    else:
        print(f"{me.user.name} ({me.user.role}) via token {me.token.id} {me.token.scopes}")
    return 0


def cmd_token_create(args: argparse.Namespace) -> int:
    with _lab(args) as lab:
        token = lab.tokens.create(
            args.name, scopes=_csv(args.scopes), expires_in_days=args.expires_days, user=args.user
        )
    if args.json:
        _print_json(token)
    else:
        print(
            f"Created {token.id} ({token.name}, scopes {','.join(token.scopes)}, expires "
            f"{_cell(token.expires_at)}). The token, shown only now:"
        )
        print(f"  {token.secret}")
    return 0


def cmd_token_list(args: argparse.Namespace) -> int:
    with _lab(args) as lab:
        tokens = lab.tokens.list(user=args.user, include_revoked=args.all)
    return _show(args, tokens, TOKEN_COLUMNS)


def cmd_token_revoke(args: argparse.Namespace) -> int:
    with _lab(args) as lab:
        token = lab.tokens.revoke(args.token_id)
    return _show(args, token, TOKEN_COLUMNS)


def cmd_user_add(args: argparse.Namespace) -> int:
    with _lab(args) as lab:
        user = lab.users.add(
            args.name, email=args.email, role=args.role, display_name=args.display_name
        )
    return _show(args, user, USER_COLUMNS)


def cmd_user_list(args: argparse.Namespace) -> int:
    with _lab(args) as lab:
        return _show(args, lab.users.list(), USER_COLUMNS)


def cmd_user_show(args: argparse.Namespace) -> int:
    with _lab(args) as lab:
        return _show(args, lab.users.get(args.name), USER_COLUMNS)


def cmd_user_set(args: argparse.Namespace) -> int:
    fields = {
        k: v
        for k, v in {
            "role": args.role,
            "email": args.email,
            "display_name": args.display_name,
            "disabled": args.disabled,
        }.items()
        if v is not None
    }
    with _lab(args) as lab:
        return _show(args, lab.users.update(args.name, **fields), USER_COLUMNS)


def cmd_org_add(args: argparse.Namespace) -> int:
    with _lab(args) as lab:
        return _show(args, lab.orgs.add(args.slug, name=args.name), ORG_COLUMNS)


def cmd_org_list(args: argparse.Namespace) -> int:
    with _lab(args) as lab:
        return _show(args, lab.orgs.list(), ORG_COLUMNS)


def cmd_org_show(args: argparse.Namespace) -> int:
    with _lab(args) as lab:
        return _show(args, lab.orgs.get(args.org), ORG_COLUMNS)


def cmd_org_members(args: argparse.Namespace) -> int:
    with _lab(args) as lab:
        return _show(args, lab.orgs.members(args.org), MEMBER_COLUMNS)


def cmd_org_member_add(args: argparse.Namespace) -> int:
    with _lab(args) as lab:
        return _show(args, lab.orgs.add_member(args.org, args.user, role=args.role), MEMBER_COLUMNS)


def cmd_org_member_remove(args: argparse.Namespace) -> int:
    with _lab(args) as lab:
        lab.orgs.remove_member(args.org, args.user)
    print(f"Removed {args.user} from {args.org}.")
    return 0


def cmd_project_add(args: argparse.Namespace) -> int:
    org, sep, slug = args.project.partition("/")
    if not sep:
        org, slug = args.org, args.project
    if not org:
        raise ZslabError(
            f"Which organization should own {args.project!r}?",
            field="org",
            fix="Name it as ORG/SLUG (e.g. `zslab project add acme/nlp`) or pass --org.",
        )
    with _lab(args) as lab:
        project = lab.projects.add(org, slug, name=args.name, description=args.description)
    return _show(args, project, PROJECT_COLUMNS)


def cmd_project_list(args: argparse.Namespace) -> int:
    with _lab(args) as lab:
        return _show(args, lab.projects.list(org=args.org), PROJECT_COLUMNS)


def cmd_project_show(args: argparse.Namespace) -> int:
    with _lab(args) as lab:
        return _show(args, lab.projects.get(args.project), PROJECT_COLUMNS)


def cmd_project_members(args: argparse.Namespace) -> int:
    with _lab(args) as lab:
        return _show(args, lab.projects.members(args.project), MEMBER_COLUMNS)


def cmd_project_member_add(args: argparse.Namespace) -> int:
    with _lab(args) as lab:
        member = lab.projects.add_member(args.project, args.user, role=args.role)
    return _show(args, member, MEMBER_COLUMNS)


def cmd_project_member_remove(args: argparse.Namespace) -> int:
    with _lab(args) as lab:
        lab.projects.remove_member(args.project, args.user)
    print(f"Removed {args.user} from {args.project}.")
    return 0


def cmd_audit_list(args: argparse.Namespace) -> int:
    from datetime import datetime

    since = datetime.fromisoformat(args.since) if args.since else None
    with _lab(args) as lab:
        events = lab.audit.list(
            actor=args.actor,
            action=args.action,
            outcome=args.outcome,
            since=since,
            limit=args.limit,
        )
    return _show(args, events, AUDIT_COLUMNS)


def cmd_sim(args: argparse.Namespace) -> int:
    """Replay a trace through a placement policy (see zslab.compute.sim)."""
    from zslab.compute import sim
    from zslab.compute.placement import POLICIES
    from zslab.errors import InvalidInput

    if not (args.pods or args.trace):
        raise InvalidInput(
            "Which trace should be replayed?",
            field="pods",
            fix="Pass --pods (or --trace) with a task list CSV, and --nodes with a node list.",
        )
    pods = Path(args.pods or args.trace)
    nodes = Path(args.nodes) if args.nodes else pods.parent / "openb_node_list_gpu_node.csv"
    for path, field in ((pods, "pods"), (nodes, "nodes")):
        if not path.is_file():
            raise InvalidInput(
                f"{path} is not a file.",
                field=field,
                fix="Point --nodes and --pods at the trace's CSV files.",
            )
    if args.policy not in POLICIES:
        raise InvalidInput(
            f"Unknown policy {args.policy!r}.",
            field="policy",
            fix=f"Choose one of {', '.join(POLICIES)}.",
        )
    try:
        seeds = sim.parse_seeds(args.seeds)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="seeds") from exc
    if args.mode == "timed":
        summaries = [
            sim.replay_timed(nodes, pods, args.policy, seed=seed, compress=args.compress).summary()
            for seed in seeds
        ]
        result: dict[str, Any] = {"mode": "timed", "seeds": seeds, "runs": summaries}
        _print_json(result) if args.json else _print_timed(summaries)
        return 0
    runs = sim.run_seeds(
        nodes,
        pods,
        args.policy,
        seeds,
        tune=args.tune,
        workers=args.workers,
        progress=not args.json,
    )
    summary = sim.summarize(runs)
    if args.out:
        curve = {
            "summary": summary,
            "curve": {
                str(p): [r.alloc_ratio(p) for r in runs] for p in range(0, int(args.tune * 100) + 1)
            },
            "frag_rate": {
                str(p): [r.frag_rate(p) for r in runs] for p in range(0, int(args.tune * 100) + 1)
            },
        }
        Path(args.out).write_text(json.dumps(curve, indent=1) + "\n", encoding="utf-8")
    if args.json:
        _print_json(summary)
    else:
        _print_fill(summary, runs)
    return 0


def _print_fill(summary: dict[str, Any], runs: list[Any]) -> None:
    import statistics

    print(
        f"{summary['policy']} on {summary['trace']}, seeds {summary['seeds'][0]}"
        f"-{summary['seeds'][-1]} ({len(runs)} runs)"
    )
    print("arrived %   allocated % (mean over seeds)")
    for percent in range(50, 131, 10):
        values = [v for v in (r.alloc_ratio(percent) for r in runs) if v is not None]
        if values:
            print(f"{percent:>9}   {statistics.fmean(values):6.2f}")
    print(
        f"fragmentation rate at 80/90 %: {summary['frag_rate']['80']} / "
        f"{summary['frag_rate']['90']} %"
    )
    latency = summary["decision_latency_ms"]
    print(
        f"decision latency p50 {latency['p50']} ms, p99 {latency['p99']} ms; "
        f"{summary['decisions_per_s']} decisions/s"
    )


def _print_timed(summaries: list[dict[str, Any]]) -> None:
    for s in summaries:
        delay = s["queue_delay_s"]
        print(
            f"{s['policy']} on {s['trace']}: placed {s['placed']}, never placed "
            f"{s['never_placed']}; queue delay mean {delay['mean']:.0f} s, p99 "
            f"{delay['p99']:.0f} s; GPU allocated mean {s['utilization_pct']['mean']:.1f} %"
        )


def cmd_slice_parse(args: argparse.Namespace) -> int:
    """Check a slice request against the grammar and show how it reads."""
    from zslab.compute.request import parse_request

    request = parse_request(args.spec)
    if args.json:
        _print_json(
            {
                "spec": str(request),
                "size": {"kind": type(request.size).__name__, **_fields(request.size)},
                "models": sorted(request.models) if request.models else None,
                "family": request.family,
                "count": request.count,
                "sites": sorted(request.sites) if request.sites else None,
                "pools": sorted(request.pools) if request.pools else None,
                "domestic_only": request.domestic_only,
                "cpu_milli": request.cpu_milli,
                "memory_mib": request.memory_mib,
            }
        )
    else:
        print(f"{request}  ({type(request.size).__name__}: {request.size})")
    return 0


def _fields(value: Any) -> dict[str, Any]:
    return {name: getattr(value, name) for name in value.__slots__}


def cmd_inventory_show(args: argparse.Namespace) -> int:
    """Devices per site, pool and model of an inventory (the example one by default)."""
    from zslab.compute.inventory import Inventory

    if args.file:
        inventory = Inventory.from_yaml(Path(args.file))
    elif args.trace_nodes:
        inventory = Inventory.from_alibaba_trace(args.trace_nodes)
    elif args.nvml:
        inventory = Inventory.discover_nvml()
    else:
        inventory = Inventory.demo()
    rows = inventory.summary()
    if args.json:
        _print_json({"name": inventory.name, "example": inventory.example, "pools": rows})
        return 0
    label = " (EXAMPLE: made-up hardware)" if inventory.example else ""
    print(
        f"{inventory.name}{label}: {len(inventory.nodes)} nodes, {inventory.device_count} "
        "accelerators"
    )
    widths = (12, 16, 12, 6, 8)
    header = ("SITE", "POOL", "MODEL", "NODES", "DEVICES")
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    for row in rows:
        values = (row["site"], row["pool"], row["model"] or "-", row["nodes"], row["devices"])
        print("  ".join(str(v).ljust(w) for v, w in zip(values, widths, strict=True)).rstrip())
    return 0


LEASE_COLUMNS = ("id", "spec", "state", "priority", "expires_at", "reason")
POOL_COLUMNS = ("site", "pool", "model", "free_devices", "devices", "free_units")


def _lease_row(lease: Any) -> Any:
    return lease.data if hasattr(lease, "data") else lease


def cmd_pools(args: argparse.Namespace) -> int:
    with _lab(args) as lab:
        pools = lab.pools()
    if args.json:
        _print_json(pools)
        return 0
    _print_table(pools, POOL_COLUMNS)
    for pool in pools:
        detail = pool.profiles or pool.shares
        if detail:
            offer = ", ".join(f"{k}×{v}" for k, v in detail.items() if v)
            print(f"  {pool.pool}: {offer or 'nothing free'}")
    return 0


def cmd_slices_request(args: argparse.Namespace) -> int:
    from datetime import datetime

    deadline = datetime.fromisoformat(args.deadline) if args.deadline else None
    with _lab(args) as lab:
        lease = lab.request(
            args.spec,
            hours=args.hours,
            priority=args.priority,
            project=args.project,
            max_wait=args.max_wait,
            flexible=args.flexible,
            deadline=deadline,
            wait=args.wait if args.wait else False,
        )
    if args.json:
        _print_json(lease.data)
        return 0
    data = lease.data
    if data.state in {"granted", "active"} and data.placement:
        where = data.placement
        print(
            f"{data.id}: {data.spec} granted on {where['node']} ({where['site']}/"
            f"{where['pool']}) until {_cell(data.expires_at)}"
        )
    elif data.queue is not None:
        eta = _cell(data.queue.expected_start) if data.queue.expected_start else "unknown"
        print(
            f"{data.id}: queued at position {data.queue.position}, expected start {eta} "
            f"({data.queue.reason})"
        )
    else:
        print(f"{data.id}: {data.state} ({data.reason})")
    return 0


def cmd_slices_ls(args: argparse.Namespace) -> int:
    with _lab(args) as lab:
        leases = [
            _lease_row(x)
            for x in lab.leases(
                state=args.state or (None if args.all else "live"),
                project=args.project,
                mine=args.mine,
                limit=args.limit,
            )
        ]
    return _show(args, leases, LEASE_COLUMNS)


def cmd_slices_show(args: argparse.Namespace) -> int:
    with _lab(args) as lab:
        lease = lab.lease(args.lease_id)
        if args.json:
            _print_json(lease.data)
            return 0
        _print_table([lease.data], LEASE_COLUMNS)
        for event in lease.events():
            print(f"  {_cell(event.at)}  {event.type:<18} {event.reason}")
    return 0


def cmd_slices_release(args: argparse.Namespace) -> int:
    with _lab(args) as lab:
        lease = lab.lease(args.lease_id).release()
    return _show(args, lease.data, LEASE_COLUMNS)


def cmd_slices_renew(args: argparse.Namespace) -> int:
    with _lab(args) as lab:
        lease = lab.lease(args.lease_id).renew(args.hours)
    return _show(args, lease.data, LEASE_COLUMNS)


def cmd_slices_estimate(args: argparse.Namespace) -> int:
    with _lab(args) as lab:
        estimate = lab.estimate(args.spec, hours=args.hours, priority=args.priority)
    if args.json:
        _print_json(estimate)
        return 0
    label = " (example tariff)" if estimate.tariff_is_example else ""
    print(
        f"{estimate.spec} for {estimate.hours:g} h: {estimate.energy_kwh:.2f} kWh, "
        f"{estimate.cost:.2f} {estimate.currency}, subsidy {estimate.subsidy:.2f}, net "
        f"{estimate.net_cost:.2f}{label}; "
        f"{'fits now' if estimate.grantable_now else 'would queue'}"
    )
    if estimate.cheapest_start:
        print(
            f"  starting at {_cell(estimate.cheapest_start)} would save "
            f"{estimate.cheapest_saving:.2f} {estimate.currency}"
        )
    return 0


USAGE_COLUMNS = (
    "key",
    "leases",
    "slice_hours",
    "energy_kwh",
    "cost",
    "net_cost",
    "co2_kg",
    "domestic_share",
)


def cmd_usage(args: argparse.Namespace) -> int:
    from datetime import datetime

    since = datetime.fromisoformat(args.since) if args.since else None
    until = datetime.fromisoformat(args.until) if args.until else None
    with _lab(args) as lab:
        if args.csv:
            print(lab.usage_csv(group_by=args.by, since=since, until=until), end="")
            return 0
        rows = lab.usage(group_by=args.by, since=since, until=until)
    return _show(args, rows, USAGE_COLUMNS)


RESERVATION_COLUMNS = (
    "id",
    "project_id",
    "spec",
    "count",
    "start_at",
    "end_at",
    "state",
    "held",
    "in_use",
)


def cmd_reservations_add(args: argparse.Namespace) -> int:
    from datetime import datetime

    with _lab(args) as lab:
        reservation = lab.reservations.add(
            args.project,
            args.spec,
            args.count,
            start=datetime.fromisoformat(args.start),
            end=datetime.fromisoformat(args.end),
            note=args.note,
        )
    return _show(args, reservation, RESERVATION_COLUMNS)


def cmd_reservations_ls(args: argparse.Namespace) -> int:
    with _lab(args) as lab:
        return _show(args, lab.reservations.list(), RESERVATION_COLUMNS)


def cmd_reservations_cancel(args: argparse.Namespace) -> int:
    with _lab(args) as lab:
        return _show(args, lab.reservations.cancel(args.reservation_id), RESERVATION_COLUMNS)


def cmd_quota_show(args: argparse.Namespace) -> int:
    with _lab(args) as lab:
        policy = lab.policies.get(args.project)
    return _show(
        args,
        policy,
        (
            "project_id",
            "quota_units",
            "used_units",
            "ttl_default_h",
            "ttl_max_h",
            "idle_limit_min",
            "weight",
            "cohort",
        ),
    )


def cmd_quota_set(args: argparse.Namespace) -> int:
    fields = {
        k: v
        for k, v in {
            "quota_units": args.units,
            "ttl_default_h": args.ttl_default,
            "ttl_max_h": args.ttl_max,
            "idle_limit_min": args.idle_limit,
            "weight": args.weight,
            "cohort": args.cohort,
        }.items()
        if v is not None
    }
    with _lab(args) as lab:
        policy = lab.policies.set(args.project, **fields)
    return _show(
        args,
        policy,
        (
            "project_id",
            "quota_units",
            "used_units",
            "ttl_default_h",
            "ttl_max_h",
            "idle_limit_min",
            "weight",
            "cohort",
        ),
    )


def cmd_inventory_load(args: argparse.Namespace) -> int:
    with _lab(args) as lab:
        result = lab.load_inventory(Path(args.file).read_text(encoding="utf-8"))
    print(f"Loaded {result.name}: {result.nodes} nodes, {result.devices} accelerators.")
    return 0


def cmd_node_drain(args: argparse.Namespace) -> int:
    with _lab(args) as lab:
        result = lab.drain(args.node, drained=not args.undo, reason=args.reason)
    state = "drained" if result["drained"] else "accepting placements again"
    print(f"{result['node']} {state}; {result['live_leases']} lease(s) still running there.")
    return 0


def cmd_version(args: argparse.Namespace) -> int:
    print(f"zslab {__version__}")
    return 0


# --- parser ----------------------------------------------------------------------------------


def _config_error(exc: Exception) -> ZslabError:
    from zslab.errors import ConfigError

    return ConfigError(str(exc))


def _corpus_client(args: argparse.Namespace) -> Any:
    """Where corpus tasks run: a given scheduler, a new LocalCluster, or this process."""
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
        silence_logs=40,
    )
    return Client(cluster), cluster


def cmd_corpus_run(args: argparse.Namespace) -> int:
    from zslab.corpus.pipeline import load_pipeline

    try:
        config = load_pipeline(args.pipeline)
        corpus = config.corpus()
    except (ValueError, FileNotFoundError, OSError) as exc:
        raise _config_error(exc) from exc
    output = args.output or config.output
    client, cluster = _corpus_client(args)
    try:
        if client is not None:
            print(f"dask: {client.dashboard_link}", file=sys.stderr)
        try:
            result = config.pipeline.run(
                corpus, output, client=client, progress=not args.quiet, overwrite=args.overwrite
            )
        except ValueError as exc:
            raise _config_error(exc) from exc
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    card = result.card
    if args.json:
        _print_json({"output": str(result.output), "documents": result.documents, "card": card})
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
    from zslab.corpus.datacard import load_card, render_markdown

    try:
        card = load_card(args.output)
    except FileNotFoundError as exc:
        raise _config_error(exc) from exc
    if args.json:
        _print_json(card)
    else:
        print(render_markdown(card))
    return 0


def cmd_corpus_steps(args: argparse.Namespace) -> int:
    from zslab.corpus.core import step_catalog

    steps = step_catalog()
    if args.json:
        _print_json(steps)
        return 0
    for step in steps:
        params = ", ".join(f"{p['name']}={p['default']!r}" for p in step["params"])
        print(f"{step['name']:<18} {step['kind']:<9} {step['description']}")
        if params:
            print(f"{'':<28}{params}")
    return 0


def cmd_corpus_demo(args: argparse.Namespace) -> int:
    from zslab.corpus.demo import write_demo_corpus

    pipeline = write_demo_corpus(args.folder, articles=args.articles)
    print(f"wrote {Path(args.folder) / 'raw'} and {pipeline}; run: zslab corpus run {pipeline}")
    return 0


def cmd_templates_list(args: argparse.Namespace) -> int:
    from zslab.templates import list_templates

    templates = list_templates()
    if args.json:
        _print_json([t.to_json() for t in templates])
        return 0
    for template in templates:
        print(f"{template.name:<18} {template.title}")
        for parameter in template.parameters:
            print(f"    {parameter.name:<20} {parameter.type:<6} = {parameter.default!r}")
    return 0


def cmd_templates_show(args: argparse.Namespace) -> int:
    from zslab.templates import get_template

    try:
        template = get_template(args.template)
    except ValueError as exc:
        raise _config_error(exc) from exc
    if args.json:
        _print_json(template.to_json())
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
            lab = _lab(args)
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
        raise _config_error(exc) from exc
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
        _print_json(record)
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


# --- the case library -------------------------------------------------------------------------

_CASE_COLUMNS = ("slug", "sector", "status", "published_version", "reproduced", "title")


def cmd_cases_publish(args: argparse.Namespace) -> int:
    with _lab(args) as lab:
        version = lab.cases.publish(
            args.runs,
            sector=args.sector,
            title=args.title,
            title_en=args.title_en,
            summary=args.summary,
            license=args.license,
            tags=_csv(args.tags),
            model=args.model,
            visibility=args.visibility,
            project=args.project,
            slug=args.slug,
            submit=not args.draft,
        )
        if not args.json:
            print(f"{version.slug} v{version.number}: {version.status}")
            print(f"  gallery: {lab.url}/cases/{version.slug}")
            return 0
        return _show(args, version, ())


def cmd_cases_search(args: argparse.Namespace) -> int:
    with _lab(args) as lab:
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
            _print_json(page)
            return 0
        _print_table(page.items, _CASE_COLUMNS)
        print(f"({len(page.items)} of {page.total})")
        return 0


def cmd_cases_show(args: argparse.Namespace) -> int:
    with _lab(args) as lab:
        case = lab.cases.get(args.case)
        if args.json:
            _print_json(case)
            return 0
        _print_table([case], _CASE_COLUMNS)
        print()
        _print_table(case.versions or [], ("number", "status", "title", "published_at"))
        for reproduction in case.reproductions or []:
            verdict = "matched" if reproduction.matched else "DID NOT MATCH"
            print(f"reproduction {reproduction.id} of v{reproduction.version}: {verdict}")
        print(f"gallery: {lab.url}/cases/{case.slug}")
        return 0


def cmd_cases_review(args: argparse.Namespace) -> int:
    with _lab(args) as lab:
        version = lab.cases._review(args.case, args.version, args.action, args.comment or "")
        return _show(args, version, ("slug", "number", "status", "title"))


def cmd_cases_reproduce(args: argparse.Namespace) -> int:
    with _lab(args) as lab:
        lease = lab.lease(args.lease) if args.lease else None
        result = lab.cases.reproduce(args.case, lease, version=args.version)
        if args.json:
            _print_json(result)
        else:
            print(
                f"{args.case} v{result.version}: " + ("matched" if result.matched else "MISMATCH")
            )
            for comparison in result.verdict.get("comparisons", []):
                mark = "ok" if comparison["matched"] else "!!"
                print(
                    f"  {mark} {comparison['metric']}: published {comparison['published']:.4g}, "
                    f"reproduced {comparison['reproduced']}, {comparison['rule']}"
                )
        return 0 if result.matched else 1


def cmd_cases_leaderboard(args: argparse.Namespace) -> int:
    with _lab(args) as lab:
        boards = lab.cases.leaderboards(task=args.task, dataset=args.dataset, metric=args.metric)
        if args.json:
            _print_json(boards)
            return 0
        for board in boards:
            print(f"{board.task} · {board.dataset} · {board.metric}")
            _print_table(board.entries, ("rank", "tied", "slug", "version", "value", "low", "high"))
            print()
        if not boards:
            print("(no published results)")
        return 0


def cmd_cases_export(args: argparse.Namespace) -> int:
    with _lab(args) as lab:
        text = lab.cases.model_card(args.case, args.version)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
    else:
        print(text, end="")
    return 0


def build_parser() -> argparse.ArgumentParser:
    client = argparse.ArgumentParser(add_help=False)
    client.add_argument("--url", help="hub URL (default: ZSLAB_URL or the embedded hub)")
    client.add_argument("--token", help="API token (default: ZSLAB_TOKEN or the runtime file)")
    listing = argparse.ArgumentParser(add_help=False)
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")

    parser = argparse.ArgumentParser(
        prog="zslab",
        description="智算 Lab: accelerator slices, corpus pipelines, templates and cases.",
    )
    parser.add_argument("--home", help="state directory (default: ZSLAB_HOME)")
    parser.add_argument("--version", action="version", version=f"zslab {__version__}")
    nouns = parser.add_subparsers(dest="noun", metavar="<noun>")

    def verb(
        sub: Any, name: str, handler: Handler, help: str, parents: Sequence[Any] = ()
    ) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = sub.add_parser(
            name, help=help, description=help, parents=list(parents)
        )
        p.set_defaults(handler=handler)
        return p

    p = verb(nouns, "up", cmd_up, "start the embedded hub and Dask cluster")
    p.add_argument("-d", "--detach", action="store_true", help="run in the background")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    p.add_argument("--no-dask", action="store_true", help="start the hub without Dask")
    p = verb(nouns, "down", cmd_down, "stop the embedded hub")
    p.add_argument("--timeout", type=float, default=30.0)
    verb(nouns, "status", cmd_status, "is the embedded hub running?", [listing])
    p = verb(nouns, "hub", cmd_hub, "run only the hub (shared deployment)")
    p.add_argument("--db", help="SQLAlchemy URL, e.g. postgresql+psycopg://zslab@db/zslab")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--log-level", default="info")
    p.add_argument("--access-log", action="store_true")
    verb(nouns, "health", cmd_health, "check the hub", [client, listing])
    verb(nouns, "me", cmd_me, "who am I on the hub?", [client, listing])
    verb(nouns, "version", cmd_version, "print the version")

    token = nouns.add_parser("token", help="API tokens").add_subparsers(
        dest="verb", metavar="<verb>", required=True
    )
    p = verb(token, "create", cmd_token_create, "create a token (shown once)", [client, listing])
    p.add_argument("--name", default="api")
    p.add_argument("--scopes", default="read,write", help="comma list of read,write,admin")
    p.add_argument("--expires-days", type=int, default=None)
    p.add_argument("--user", help="for another user (admins)")
    p = verb(token, "list", cmd_token_list, "list tokens", [client, listing])
    p.add_argument("--user", help="name or id; * for everyone's (admins)")
    p.add_argument("--all", action="store_true", help="include revoked tokens")
    p = verb(token, "revoke", cmd_token_revoke, "revoke a token", [client, listing])
    p.add_argument("token_id")

    user = nouns.add_parser("user", help="users").add_subparsers(
        dest="verb", metavar="<verb>", required=True
    )
    p = verb(user, "add", cmd_user_add, "add a user (admins)", [client, listing])
    p.add_argument("name")
    p.add_argument("--email")
    p.add_argument("--role", default="member", choices=["admin", "reviewer", "member"])
    p.add_argument("--display-name", default="")
    verb(user, "list", cmd_user_list, "list users (admins)", [client, listing])
    p = verb(user, "show", cmd_user_show, "show a user", [client, listing])
    p.add_argument("name")
    p = verb(user, "set", cmd_user_set, "change a user", [client, listing])
    p.add_argument("name")
    p.add_argument("--role", choices=["admin", "reviewer", "member"])
    p.add_argument("--email")
    p.add_argument("--display-name")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--disable", dest="disabled", action="store_true", default=None)
    group.add_argument("--enable", dest="disabled", action="store_false")

    org = nouns.add_parser("org", help="organizations").add_subparsers(
        dest="verb", metavar="<verb>", required=True
    )
    p = verb(org, "add", cmd_org_add, "add an organization (admins)", [client, listing])
    p.add_argument("slug")
    p.add_argument("--name", default="")
    verb(org, "list", cmd_org_list, "list organizations", [client, listing])
    p = verb(org, "show", cmd_org_show, "show an organization", [client, listing])
    p.add_argument("org")
    p = verb(org, "members", cmd_org_members, "list members", [client, listing])
    p.add_argument("org")
    p = verb(org, "member-add", cmd_org_member_add, "add a member / set a role", [client, listing])
    p.add_argument("org")
    p.add_argument("user")
    p.add_argument("--role", default="member", choices=["owner", "member"])
    p = verb(org, "member-remove", cmd_org_member_remove, "remove a member", [client])
    p.add_argument("org")
    p.add_argument("user")

    project = nouns.add_parser("project", help="projects").add_subparsers(
        dest="verb", metavar="<verb>", required=True
    )
    p = verb(project, "add", cmd_project_add, "add a project", [client, listing])
    p.add_argument("project", help="ORG/SLUG, or SLUG with --org")
    p.add_argument("--org")
    p.add_argument("--name", default="")
    p.add_argument("--description", default="")
    p = verb(project, "list", cmd_project_list, "list projects", [client, listing])
    p.add_argument("--org")
    p = verb(project, "show", cmd_project_show, "show a project", [client, listing])
    p.add_argument("project", help="id or ORG/SLUG")
    p = verb(project, "members", cmd_project_members, "list members", [client, listing])
    p.add_argument("project")
    p = verb(project, "member-add", cmd_project_member_add, "add a member", [client, listing])
    p.add_argument("project")
    p.add_argument("user")
    p.add_argument("--role", default="member", choices=["maintainer", "member"])
    p = verb(project, "member-remove", cmd_project_member_remove, "remove a member", [client])
    p.add_argument("project")
    p.add_argument("user")

    slice_ = nouns.add_parser("slice", help="accelerator slice requests").add_subparsers(
        dest="verb", metavar="<verb>", required=True
    )
    p = verb(slice_, "parse", cmd_slice_parse, "check a request such as h100:3g.40gb", [listing])
    p.add_argument("spec", help="e.g. 'a100-80gb:1g.10gb x4 site=pudong'")

    verb(nouns, "pools", cmd_pools, "free capacity per pool, profile and share", [client, listing])
    slices = nouns.add_parser("slices", help="your leases of accelerator slices").add_subparsers(
        dest="verb", metavar="<verb>", required=True
    )
    p = verb(slices, "request", cmd_slices_request, "ask for a slice", [client, listing])
    p.add_argument("spec", help="e.g. h100:3g.40gb, gpu:0.5, 'a100-80gb:1g.10gb x4'")
    p.add_argument("--hours", type=float, default=None)
    p.add_argument("--priority", choices=["interactive", "batch"], default="interactive")
    p.add_argument("--project", help="org/slug or id (default: your project)")
    p.add_argument("--max-wait", type=float, default=None, help="seconds to wait in the queue")
    p.add_argument("--flexible", action="store_true", help="batch: start when cheapest")
    p.add_argument("--deadline", help="flexible batch: ISO time to finish by")
    p.add_argument(
        "--wait",
        type=float,
        nargs="?",
        const=3600.0,
        default=None,
        help="block until granted (seconds)",
    )
    p = verb(slices, "ls", cmd_slices_ls, "live leases (--all for every state)", [client, listing])
    p.add_argument("--all", action="store_true")
    p.add_argument("--state")
    p.add_argument("--project")
    p.add_argument("--mine", action="store_true")
    p.add_argument("--limit", type=int, default=100)
    p = verb(slices, "show", cmd_slices_show, "a lease and its events", [client, listing])
    p.add_argument("lease_id")
    p = verb(slices, "release", cmd_slices_release, "give a slice back", [client, listing])
    p.add_argument("lease_id")
    p = verb(slices, "renew", cmd_slices_renew, "extend a lease", [client, listing])
    p.add_argument("lease_id")
    p.add_argument("--hours", type=float, required=True)
    p = verb(
        slices,
        "estimate",
        cmd_slices_estimate,
        "cost and availability before asking",
        [client, listing],
    )
    p.add_argument("spec")
    p.add_argument("--hours", type=float, default=1.0)
    p.add_argument("--priority", choices=["interactive", "batch"], default="interactive")

    p = verb(nouns, "usage", cmd_usage, "slice-hours, energy, cost and CO2", [client, listing])
    p.add_argument("--by", choices=["project", "user", "org", "model", "pool"], default="project")
    p.add_argument("--since", help="ISO time")
    p.add_argument("--until", help="ISO time")
    p.add_argument("--csv", action="store_true", help="print CSV")

    reservations = nouns.add_parser("reservations", help="slices held for a class").add_subparsers(
        dest="verb", metavar="<verb>", required=True
    )
    p = verb(
        reservations,
        "add",
        cmd_reservations_add,
        "reserve slices for a project's window",
        [client, listing],
    )
    p.add_argument("project")
    p.add_argument("spec")
    p.add_argument("count", type=int)
    p.add_argument("--start", required=True, help="ISO time")
    p.add_argument("--end", required=True, help="ISO time")
    p.add_argument("--note", default="")
    verb(reservations, "ls", cmd_reservations_ls, "reservations you can see", [client, listing])
    p = verb(reservations, "cancel", cmd_reservations_cancel, "cancel one", [client, listing])
    p.add_argument("reservation_id")

    quota = nouns.add_parser("quota", help="project quotas and lease limits").add_subparsers(
        dest="verb", metavar="<verb>", required=True
    )
    p = verb(quota, "show", cmd_quota_show, "a project's quota and use", [client, listing])
    p.add_argument("project")
    p = verb(quota, "set", cmd_quota_set, "change a project's quota or limits", [client, listing])
    p.add_argument("project")
    p.add_argument("--units", type=float, help="quota in GPU units")
    p.add_argument("--ttl-default", type=float)
    p.add_argument("--ttl-max", type=float)
    p.add_argument("--idle-limit", type=float, help="minutes")
    p.add_argument("--weight", type=float)
    p.add_argument("--cohort")

    node = nouns.add_parser("node", help="inventory nodes (admins)").add_subparsers(
        dest="verb", metavar="<verb>", required=True
    )
    p = verb(node, "drain", cmd_node_drain, "stop new placements on a node", [client])
    p.add_argument("node")
    p.add_argument("--undo", action="store_true", help="accept placements again")
    p.add_argument("--reason", default="")
    inventory = nouns.add_parser("inventory", help="hardware inventories").add_subparsers(
        dest="verb", metavar="<verb>", required=True
    )
    p = verb(
        inventory, "load", cmd_inventory_load, "replace the hub's inventory (admins)", [client]
    )
    p.add_argument("file", help="inventory YAML")
    p = verb(inventory, "show", cmd_inventory_show, "devices per site, pool and model", [listing])
    source = p.add_mutually_exclusive_group()
    source.add_argument("--file", help="a YAML inventory (default: the Shanghai example)")
    source.add_argument("--trace-nodes", help="an Alibaba trace node list CSV")
    source.add_argument("--nvml", action="store_true", help="this machine's NVIDIA GPUs")
    p = verb(nouns, "sim", cmd_sim, "replay a cluster trace through a placement policy", [listing])
    p.add_argument("--nodes", help="node list CSV (default: beside the pods file)")
    p.add_argument("--pods", help="task list CSV")
    p.add_argument("--trace", help="task list CSV (same as --pods)")
    p.add_argument(
        "--policy",
        default="zslab",
        help="random, firstfit, bestfit, dotprod, packing, clustering, fgd or zslab (default)",
    )
    p.add_argument("--seeds", default="42-51", help="e.g. 42-51 or 1,5,9")
    p.add_argument("--tune", type=float, default=1.3, help="inflate demand to this x capacity")
    p.add_argument(
        "--mode",
        choices=["fill", "timed"],
        default="fill",
        help="fill: the FGD paper's replay; timed: arrivals and departures",
    )
    p.add_argument(
        "--compress",
        type=float,
        default=1.0,
        help="timed mode: divide inter-arrival times by this factor",
    )
    p.add_argument("--workers", type=int, default=None, help="processes (default: cores)")
    p.add_argument("--out", help="also write the per-seed allocation curve as JSON here")

    corpus = nouns.add_parser("corpus", help="corpus curation pipelines").add_subparsers(
        dest="verb", metavar="<verb>", required=True
    )
    p = verb(
        corpus, "run", cmd_corpus_run, "run a pipeline YAML (resumes where it stopped)", [listing]
    )
    p.add_argument("pipeline", help="YAML with input:, steps: and output:")
    p.add_argument("--output", help="override the YAML's output folder")
    p.add_argument("--workers", type=int, default=None, help="Dask worker processes (0: none)")
    p.add_argument("--scheduler", help="an existing Dask scheduler instead of a new cluster")
    p.add_argument("--overwrite", action="store_true", help="discard an earlier run's output")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p = verb(corpus, "card", cmd_corpus_card, "show the data card of a run's output", [listing])
    p.add_argument("output")
    verb(corpus, "steps", cmd_corpus_steps, "the steps and their parameters", [listing])
    p = verb(corpus, "demo", cmd_corpus_demo, "write the demo corpus and its pipeline")
    p.add_argument("folder")
    p.add_argument("--articles", type=int, default=None, help="People's Daily articles (all)")

    templates = nouns.add_parser("templates", help="papermill templates").add_subparsers(
        dest="verb", metavar="<verb>", required=True
    )
    verb(templates, "list", cmd_templates_list, "the templates and their parameters", [listing])
    p = verb(templates, "show", cmd_templates_show, "one template's parameters", [listing])
    p.add_argument("template")
    p = verb(nouns, "run", cmd_run, "run a template (recorded in the hub)", [client, listing])
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

    cases = nouns.add_parser("cases", help="the industry case library").add_subparsers(
        dest="verb", metavar="<verb>", required=True
    )
    p = verb(cases, "publish", cmd_cases_publish, "publish runs as a case", [client, listing])
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
    p = verb(cases, "search", cmd_cases_search, "search the library", [client, listing])
    p.add_argument("query", nargs="?")
    p.add_argument("--sector")
    p.add_argument("--task")
    p.add_argument("--dataset")
    p.add_argument("--org")
    p.add_argument("--license")
    p.add_argument("--reproduced", action="store_true", help="only reproduced cases")
    p.add_argument("--sort", default="relevance", help="relevance, recent or metric:<name>")
    p.add_argument("--limit", type=int, default=20)
    p = verb(
        cases, "show", cmd_cases_show, "a case, its versions and reproductions", [client, listing]
    )
    p.add_argument("case")
    for action in ("submit", "withdraw", "approve", "request-changes", "archive", "comment"):
        p = verb(cases, action, cmd_cases_review, f"{action} a case version", [client, listing])
        p.add_argument("case")
        p.add_argument("--version", type=int, help="default: the newest")
        p.add_argument("--comment", required=action in ("request-changes", "comment"), default="")
        p.set_defaults(action=action.replace("-", "_"))
    p = verb(
        cases, "reproduce", cmd_cases_reproduce, "re-run a case and check it", [client, listing]
    )
    p.add_argument("case")
    p.add_argument("--version", type=int)
    p.add_argument("--lease", help="re-run on this lease's worker")
    p = verb(cases, "leaderboard", cmd_cases_leaderboard, "ranked results", [client, listing])
    p.add_argument("--task")
    p.add_argument("--dataset")
    p.add_argument("--metric")
    p = verb(cases, "export", cmd_cases_export, "a case as a model card README.md", [client])
    p.add_argument("case")
    p.add_argument("--version", type=int)
    p.add_argument("-o", "--output", help="file to write (default: stdout)")

    audit = nouns.add_parser("audit", help="the audit log (admins)").add_subparsers(
        dest="verb", metavar="<verb>", required=True
    )
    p = verb(audit, "list", cmd_audit_list, "newest audit events first", [client, listing])
    p.add_argument("--actor")
    p.add_argument("--action")
    p.add_argument("--outcome", choices=["success", "denied", "invalid", "error"])
    p.add_argument("--since", help="ISO time, e.g. 2026-11-26T00:00:00+00:00")
    p.add_argument("--limit", type=int, default=50)
    return parser


def _report(exc: ZslabError) -> None:
    print(f"zslab: error: {exc.detail}", file=sys.stderr)
    for item in exc.errors:
        print(f"  - {item.get('field')}: {item.get('message')}", file=sys.stderr)
    if exc.fix:
        print(f"  fix: {exc.fix}", file=sys.stderr)
    request_id = getattr(exc, "request_id", None)
    if request_id:
        print(f"  request id: {request_id}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.home:
        os.environ["ZSLAB_HOME"] = args.home
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return handler(args)
    except ZslabError as exc:
        _report(exc)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. `zslab pools | head`: the reader left; that is fine
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
