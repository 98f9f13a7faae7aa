"""``zslab usage``: metered use from the command line, against a real hub."""

from __future__ import annotations

from tests.cli.conftest import RunCli, assert_one_error, hub_options
from tests.conftest import HubHandle


def test_usage_groups_leases_by_project(inventory_hub: HubHandle, run_cli: RunCli) -> None:
    admin = hub_options(inventory_hub)
    run_cli("slices", "request", "t4:0.5", "--hours", "1", *admin)

    table = run_cli("usage", "--by", "project", *admin).out.splitlines()
    csv = run_cli("usage", "--by", "model", "--csv", "--since", "2026-01-01", *admin).out

    assert table[0].split()[:3] == ["KEY", "LEASES", "SLICE_HOURS"]
    assert len(table) == 2
    assert csv.splitlines()[0].startswith("key,")
    assert "t4" in csv


def test_a_since_that_is_not_a_time_is_one_error_naming_it(run_cli: RunCli) -> None:
    outcome = run_cli("usage", "--since", "yesterday")

    assert_one_error(outcome, "--since", "'yesterday' is not an ISO 8601 time", "fix:")
