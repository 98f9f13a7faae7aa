"""``zslab reservations add | ls | cancel``: slices held for a class, against a real hub."""

from __future__ import annotations

import json

from tests.cli.conftest import RunCli, assert_one_error, hub_options
from tests.conftest import HubHandle

WINDOW = ("--start", "2030-03-02T09:00:00+08:00", "--end", "2030-03-02T11:00:00+08:00")


def test_a_reservation_is_added_listed_and_cancelled(
    inventory_hub: HubHandle, run_cli: RunCli
) -> None:
    admin = hub_options(inventory_hub)

    added = json.loads(
        run_cli("reservations", "add", "acme/nlp", "t4:0.5", "2", *WINDOW, "--json", *admin).out
    )
    listed = run_cli("reservations", "ls", *admin).out
    cancelled = json.loads(run_cli("reservations", "cancel", added["id"], "--json", *admin).out)

    assert added["count"] == 2 and added["spec"] == "t4:0.5"
    assert listed.split()[:3] == ["ID", "PROJECT_ID", "SPEC"] and added["id"] in listed
    assert cancelled["state"] == "cancelled"


def test_a_start_that_is_not_a_time_is_one_error_naming_it(run_cli: RunCli) -> None:
    outcome = run_cli(
        "reservations", "add", "acme/nlp", "t4:0.5", "2", "--start", "monday", "--end", "tuesday"
    )

    assert_one_error(outcome, "--start", "'monday' is not an ISO 8601 time")


def test_a_count_below_one_is_one_error_naming_it(
    inventory_hub: HubHandle, run_cli: RunCli
) -> None:
    outcome = run_cli(
        "reservations", "add", "acme/nlp", "t4:0.5", "-3", *WINDOW, *hub_options(inventory_hub)
    )

    assert_one_error(outcome, "count")
