"""Hub latency and throughput against a bare FastAPI baseline, and the import time of zslab.

    .venv/bin/python -m benchmarks.hub_latency            # full run, about 3 minutes
    .venv/bin/python -m benchmarks.hub_latency --quick    # smoke run; writes no results

The hub runs as ``zslab hub`` (SQLite in a fresh ``ZSLAB_HOME``, admin token from
``ZSLAB_BOOTSTRAP_TOKEN``) and the baseline as :mod:`benchmarks._baseline_app`, each in its own
process under the same uvicorn settings; the load comes from a third process
(:mod:`benchmarks._loadgen`). Scenarios:

- closed loop (saturation), ``--clients`` keep-alive connections: baseline ``GET /hello``,
  hub ``GET /api/v1/me``, baseline ``POST /echo``, hub ``POST /api/v1/projects``;
- open loop, ``--rate`` requests/s from all clients together: the two hub scenarios, for the
  latency under a steady load rather than at saturation.

Each scenario has a warm-up, then ``--repeats`` windows of ``--duration`` seconds; reported
figures are medians over the windows. Targets: hub p99 under 25 ms (open loop), hub throughput
at least half the baseline's for GET and for POST (closed loop), ``import zslab`` under 0.3 s
(whole ``python -c`` process), and no failed request. Results go to
``benchmarks/results/hub_latency.json`` and a section of ``benchmarks/README.md``; the exit
status is 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Literal

from benchmarks._loadgen import LoadResult, LoadSpec, RequestSpec, WindowResult, run_load
from benchmarks._report import (
    README_FILE,
    envelope,
    provenance,
    results_file,
    update_readme,
    write_results,
)
from benchmarks._servers import HOST, REPO, free_port, http_status, running

RESULTS_FILE = results_file("hub_latency")
_VERSIONED = ("fastapi", "starlette", "uvicorn", "uvloop", "httptools", "sqlalchemy", "pydantic")

ORG = "bench"

P99_LIMIT_MS = 25.0
THROUGHPUT_RATIO_MIN = 0.5
IMPORT_LIMIT_S = 0.3

# About 100 bytes of JSON once serialized compactly.
ECHO_BODY = {
    "name": "benchmark item",
    "slug": "bench-item",
    "tags": ["alpha", "beta", "gamma"],
    "description": "a small JSON body of about 100 bytes",
}
# Interpreter arguments whose wall time is measured, by name.
IMPORT_COMMANDS = {
    "python -c pass": ["-c", "pass"],
    "python -c 'import zslab'": ["-c", "import zslab"],
    "python -m zslab --help": ["-m", "zslab", "--help"],
}


@dataclass(frozen=True)
class Scenario:
    """One load: which server, which request, closed or open loop."""

    key: str
    label: str
    server: Literal["hub", "baseline"]
    request: RequestSpec
    open_loop: bool = False


@dataclass(frozen=True)
class ScenarioResult:
    """A scenario's measured windows and their medians."""

    scenario: Scenario
    load: LoadSpec
    outcome: LoadResult

    @property
    def windows(self) -> list[WindowResult]:
        return self.outcome.windows

    @property
    def throughput_rps(self) -> float:
        return statistics.median(w.throughput_rps for w in self.windows)

    @property
    def p50_ms(self) -> float | None:
        return _median([w.p50_ms for w in self.windows])

    @property
    def p99_ms(self) -> float | None:
        return _median([w.p99_ms for w in self.windows])

    @property
    def errors(self) -> dict[str, int]:
        """All errors, the warm-up's included."""
        total: Counter[str] = Counter(self.outcome.warmup_errors)
        for window in self.windows:
            total.update(window.errors)
        return dict(total)

    @property
    def load_label(self) -> str:
        if self.load.rate is None:
            return f"closed, {self.load.clients} conns"
        return f"open, {self.load.rate:g} req/s"

    def to_json(self) -> dict[str, Any]:
        request = self.scenario.request
        return {
            "label": self.scenario.label,
            "server": self.scenario.server,
            "method": request.method,
            "path": request.path,
            "mode": "open" if self.scenario.open_loop else "closed",
            "rate_rps": self.load.rate,
            "windows": [asdict(w) for w in self.windows],
            "warmup_errors": self.outcome.warmup_errors,
            "median": {
                "throughput_rps": self.throughput_rps,
                "p50_ms": self.p50_ms,
                "p99_ms": self.p99_ms,
            },
            "errors": self.errors,
        }


def _median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


# --- servers ---------------------------------------------------------------------------------


def _scenarios(token: str) -> list[Scenario]:
    me = RequestSpec("GET", "/api/v1/me", token=token)
    org = RequestSpec("GET", f"/api/v1/orgs/{ORG}", token=token)

    def create_project(tag: str) -> RequestSpec:
        body = {"org": ORG, "slug": ""}
        return RequestSpec("POST", "/api/v1/projects", token, body, "slug", tag)

    echo = RequestSpec("POST", "/echo", json_body=ECHO_BODY)
    return [
        Scenario("baseline_get", "baseline GET /hello", "baseline", RequestSpec("GET", "/hello")),
        Scenario("hub_get", "hub GET /api/v1/me", "hub", me),
        Scenario("hub_get_db", f"hub GET /api/v1/orgs/{ORG}", "hub", org),
        Scenario("baseline_post", "baseline POST /echo", "baseline", echo),
        Scenario("hub_post", "hub POST /api/v1/projects", "hub", create_project("pc")),
        Scenario("hub_get_open", "hub GET /api/v1/me", "hub", me, open_loop=True),
        Scenario("hub_get_db_open", f"hub GET /api/v1/orgs/{ORG}", "hub", org, open_loop=True),
        Scenario("hub_post_open", "hub POST /api/v1/projects", "hub", create_project("po"), True),
    ]


def run_loads(args: argparse.Namespace, workdir: Path) -> list[ScenarioResult]:
    """Start the hub and the baseline, run every scenario against them, stop them."""
    token = "zsl_" + secrets.token_urlsafe(32)
    ports = {"hub": free_port(), "baseline": free_port()}
    python = sys.executable
    hub_env = {**os.environ, "ZSLAB_HOME": str(workdir / "home"), "ZSLAB_BOOTSTRAP_TOKEN": token}
    hub_url = f"http://{HOST}:{ports['hub']}"
    hub_argv = [python, "-m", "zslab", "hub", "--host", HOST, "--port", str(ports["hub"])]
    hub_argv += ["--log-level", "warning"]
    baseline_argv = [python, "-m", "benchmarks._baseline_app", "--port", str(ports["baseline"])]
    results = []
    with ExitStack() as stack:
        servers = {
            "hub": stack.enter_context(
                running(
                    "hub",
                    hub_argv,
                    env=hub_env,
                    ready_url=f"{hub_url}/api/v1/health",
                    log_dir=workdir,
                )
            ),
            "baseline": stack.enter_context(
                running(
                    "baseline",
                    baseline_argv,
                    env=dict(os.environ),
                    ready_url=f"http://{HOST}:{ports['baseline']}/hello",
                    log_dir=workdir,
                )
            ),
        }
        status = http_status(f"{hub_url}/api/v1/orgs", token=token, body={"slug": ORG})
        if status != 201:
            raise RuntimeError(f"creating the organization {ORG!r} answered {status}")
        pool = stack.enter_context(ProcessPoolExecutor(1, mp_context=get_context("spawn")))
        for scenario in _scenarios(token):
            servers[scenario.server].wait_ready()  # a stalled hub first finishes what it has
            load = LoadSpec(
                host=HOST,
                port=ports[scenario.server],
                request=scenario.request,
                clients=args.clients,
                warmup_s=args.warmup,
                duration_s=args.duration,
                repeats=args.repeats,
                rate=args.rate if scenario.open_loop else None,
            )
            result = ScenarioResult(scenario, load, pool.submit(run_load, load).result())
            print(
                f"  {scenario.label:<26} {result.load_label:<17} "
                f"{result.throughput_rps:8.1f} req/s  p99 {_fmt(result.p99_ms)} ms  "
                f"errors {sum(result.errors.values())}",
                file=sys.stderr,
                flush=True,
            )
            results.append(result)
    return results


# --- import times ----------------------------------------------------------------------------


def time_imports(runs: int) -> dict[str, list[float]]:
    """Wall-clock seconds of each command, ``runs`` interleaved rounds after a discarded one."""
    times: dict[str, list[float]] = {name: [] for name in IMPORT_COMMANDS}
    for round_ in range(runs + 1):
        for name, argv in IMPORT_COMMANDS.items():
            started = time.perf_counter()
            subprocess.run([sys.executable, *argv], cwd=REPO, stdout=subprocess.DEVNULL, check=True)
            if round_:
                times[name].append(time.perf_counter() - started)
    return times


# --- report ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A goal from the issue, with what was measured against it."""

    name: str
    measured: float | None
    requirement: str
    shown: str
    passed: bool


def _below(name: str, measured: float | None, limit: float, unit: str, digits: int) -> Target:
    passed = measured is not None and measured < limit
    return Target(name, measured, f"< {limit:g} {unit}", f"{_fmt(measured, digits)} {unit}", passed)


def throughput_ratios(results: dict[str, ScenarioResult]) -> dict[str, float]:
    """Hub over baseline median throughput, closed loop."""
    baseline = {"get": "baseline_get", "get_db": "baseline_get", "post": "baseline_post"}
    return {
        kind: results[f"hub_{kind}"].throughput_rps / results[base].throughput_rps
        for kind, base in baseline.items()
    }


def evaluate(results: dict[str, ScenarioResult], import_s: dict[str, float]) -> list[Target]:
    """The issue's targets against the medians."""
    targets = [
        _below(
            f"hub {method} p99, open loop {results[key].load.rate:g} req/s",
            results[key].p99_ms,
            P99_LIMIT_MS,
            "ms",
            1,
        )
        for method, key in (
            ("GET /me", "hub_get_open"),
            ("GET /orgs", "hub_get_db_open"),
            ("POST", "hub_post_open"),
        )
    ]
    names = {"get": "GET /me", "get_db": "GET /orgs", "post": "POST"}
    for kind, ratio in throughput_ratios(results).items():
        targets.append(
            Target(
                f"hub/baseline {names[kind]} throughput",
                ratio,
                f">= {THROUGHPUT_RATIO_MIN:g}",
                f"{ratio:.2f}",
                ratio >= THROUGHPUT_RATIO_MIN,
            )
        )
    measured = import_s["python -c 'import zslab'"]
    targets.append(_below("import zslab (whole process)", measured, IMPORT_LIMIT_S, "s", 3))
    failed = sum(sum(r.errors.values()) for r in results.values())
    targets.append(Target("failed requests", failed, "= 0", str(failed), failed == 0))
    return targets


def _table(rows: Sequence[Sequence[str]], *, markdown: bool) -> list[str]:
    if markdown:
        lines = ["| " + " | ".join(row) + " |" for row in rows]
        lines.insert(1, "|" + "---|" * len(rows[0]))
        return lines
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]


def report_tables(
    results: dict[str, ScenarioResult],
    import_s: dict[str, float],
    targets: list[Target],
    *,
    markdown: bool,
) -> list[str]:
    """Scenarios, import times and targets, as plain or Markdown tables."""
    scenario_rows = [("scenario", "load", "req/s", "p50 ms", "p99 ms", "errors")]
    for r in results.values():
        errors = ", ".join(f"{k}: {v}" for k, v in sorted(r.errors.items())) or "0"
        scenario_rows.append(
            (
                r.scenario.label,
                r.load_label,
                f"{r.throughput_rps:.1f}",
                _fmt(r.p50_ms, 2),
                _fmt(r.p99_ms, 2),
                errors,
            )
        )
    import_rows = [("command", "median s")]
    import_rows += [(name, f"{seconds:.3f}") for name, seconds in import_s.items()]
    cost = import_s["python -c 'import zslab'"] - import_s["python -c pass"]
    import_rows.append(("import zslab minus bare interpreter", f"{cost:.3f}"))
    target_rows = [("target", "measured", "required", "result")]
    target_rows += [
        (t.name, t.shown, t.requirement, "PASS" if t.passed else "FAIL") for t in targets
    ]
    lines: list[str] = []
    for rows in (scenario_rows, import_rows, target_rows):
        lines += [*_table(rows, markdown=markdown), ""]
    return lines[:-1]


def readme_section(args: argparse.Namespace, payload: dict[str, Any], tables: list[str]) -> str:
    return "\n".join(
        [
            "## hub_latency",
            "",
            "`zslab hub` (SQLite) against a bare FastAPI app served by the same uvicorn "
            f"settings; the load comes from another process over {args.clients} keep-alive "
            "connections: closed loop (saturation) for throughput, open loop at "
            f"{args.rate:g} req/s (latency from the scheduled send) for latency under a "
            "steady load. The baseline's handlers are `async def`. `GET /api/v1/me` is "
            "answered from the hub's identity cache without database work; "
            f"`GET /api/v1/orgs/{ORG}` reads SQLite (on the event loop: WAL readers never "
            "wait); `POST /api/v1/projects` runs in the thread pool and commits the project, "
            "its first member and the audit event in one transaction. "
            f"Medians of {args.repeats} windows of {args.duration:g} s after a "
            f"{args.warmup:g} s warm-up; import times are medians of {args.import_runs} runs.",
            "",
            provenance(payload),
            "",
            *tables,
        ]
    )


# --- main ------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.hub_latency", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--clients", type=int, default=50, help="connections (default 50)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds discarded (2)")
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per window (8)")
    parser.add_argument("--repeats", type=int, default=3, help="measured windows (3)")
    parser.add_argument(
        "--rate", type=float, default=200.0, help="open-loop requests/s, all clients (200)"
    )
    parser.add_argument("--import-runs", type=int, default=15, help="runs per command (15)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run (0.5 s warm-up, one 1 s window, 3 import runs); writes no results",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.warmup, args.duration, args.repeats, args.import_runs = 0.5, 1.0, 1, 3
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    print(f"import times, {args.import_runs} runs each ...", file=sys.stderr, flush=True)
    import_runs = time_imports(args.import_runs)
    import_s = {name: statistics.median(runs) for name, runs in import_runs.items()}
    print("loads ...", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory(prefix="zslab-bench-") as tmp:
        results = {r.scenario.key: r for r in run_loads(args, Path(tmp))}
    targets = evaluate(results, import_s)
    print()
    print("\n".join(report_tables(results, import_s, targets, markdown=False)))
    passed = all(t.passed for t in targets)
    if args.quick:
        print("\n--quick: nothing written.")
        return 0 if passed else 1
    payload = {
        **envelope("hub_latency", _VERSIONED),
        "parameters": {
            "clients": args.clients,
            "warmup_s": args.warmup,
            "duration_s": args.duration,
            "repeats": args.repeats,
            "open_loop_rate_rps": args.rate,
            "import_runs": args.import_runs,
        },
        "scenarios": {key: r.to_json() for key, r in results.items()},
        "throughput_ratios_hub_over_baseline": throughput_ratios(results),
        "imports": {
            "runs_s": import_runs,
            "median_s": import_s,
            "import_zslab_minus_python_s": import_s["python -c 'import zslab'"]
            - import_s["python -c pass"],
        },
        "targets": [asdict(t) for t in targets],
        "all_passed": passed,
    }
    write_results("hub_latency", payload)
    tables = report_tables(results, import_s, targets, markdown=True)
    update_readme("hub_latency", readme_section(args, payload, tables))
    print(f"\nWrote {RESULTS_FILE.relative_to(REPO)} and {README_FILE.relative_to(REPO)}.")
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
