"""``zslab audit list``: the audit log from the command line, against a real hub."""

from __future__ import annotations

from tests.cli.conftest import RunCli, assert_one_error, hub_options
from tests.conftest import HubHandle


def test_audit_list_prints_the_newest_events_first(sqlite_hub: HubHandle, run_cli: RunCli) -> None:
    admin = hub_options(sqlite_hub)
    run_cli("org", "add", "acme", *admin)
    run_cli("user", "add", "dora", *admin)

    table = run_cli("audit", "list", "--limit", "2", "--since", "2026-01-01", *admin).out

    lines = table.splitlines()
    assert lines[0].split()[:4] == ["ID", "AT", "ACTOR_NAME", "ACTION"]
    assert [line.split()[3] for line in lines[1:]] == ["user.create", "org.create"]


def test_a_since_that_is_not_a_time_is_one_error_naming_it(run_cli: RunCli) -> None:
    outcome = run_cli("audit", "list", "--since", "last week")

    assert_one_error(outcome, "--since", "'last week' is not an ISO 8601 time")


def test_a_limit_below_one_is_one_error_naming_it(sqlite_hub: HubHandle, run_cli: RunCli) -> None:
    outcome = run_cli("audit", "list", "--limit", "-5", *hub_options(sqlite_hub))

    assert_one_error(outcome, "limit")
