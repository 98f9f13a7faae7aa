"""``zslab quota show | set``: a project's quota and lease limits, against a real hub."""

from __future__ import annotations

import json

from tests.cli.conftest import RunCli, assert_one_error, hub_options
from tests.conftest import HubHandle


def test_quota_set_changes_only_what_is_given(inventory_hub: HubHandle, run_cli: RunCli) -> None:
    admin = hub_options(inventory_hub)
    before = json.loads(run_cli("quota", "show", "acme/nlp", "--json", *admin).out)

    changed = run_cli("quota", "set", "acme/nlp", "--units", "4", "--ttl-max", "12", *admin)
    after = json.loads(run_cli("quota", "show", "acme/nlp", "--json", *admin).out)

    assert changed.out.split()[:2] == ["PROJECT_ID", "QUOTA_UNITS"]
    assert (after["quota_units"], after["ttl_max_h"]) == (4, 12)
    assert after["weight"] == before["weight"] and after["cohort"] == before["cohort"]


def test_a_negative_quota_is_one_error_naming_the_field(
    inventory_hub: HubHandle, run_cli: RunCli
) -> None:
    outcome = run_cli("quota", "set", "acme/nlp", "--units", "-1", *hub_options(inventory_hub))

    assert_one_error(outcome, "quota_units")


def test_an_unknown_project_is_one_error_saying_where_to_look(
    inventory_hub: HubHandle, run_cli: RunCli
) -> None:
    outcome = run_cli("quota", "show", "acme/none", *hub_options(inventory_hub))

    assert_one_error(outcome, "acme/none", "zslab project list")
