"""``zslab pools`` and ``zslab slices …``: the request grammar, and leases against a real hub."""

from __future__ import annotations

import json

from tests.cli.conftest import RunCli, assert_one_error, hub_options, zslab_cli
from tests.conftest import HubHandle

# --- the grammar: slices parse, and the old spelling slice parse --------------------------------


def test_slice_parse_shows_the_typed_request() -> None:
    result = zslab_cli("slice", "parse", "a100-80gb:1g.10gb x4 site=pudong", "--json")
    assert result.returncode == 0
    parsed = json.loads(result.stdout)
    assert parsed["size"] == {"kind": "MigSize", "profile": "1g.10gb"}
    assert parsed["count"] == 4 and parsed["sites"] == ["pudong"]


def test_slice_parse_of_a_bad_request_prints_the_grammar() -> None:
    result = zslab_cli("slice", "parse", "h100:9g")
    assert result.returncode == 1
    assert "REQUEST    := TARGET" in result.stderr


def test_slices_parse_shows_the_typed_request(run_cli: RunCli) -> None:
    outcome = run_cli("slices", "parse", "a100-80gb:1g.10gb x4 site=pudong", "--json")

    assert outcome.code == 0 and outcome.err == ""
    parsed = json.loads(outcome.out)
    assert parsed["size"] == {"kind": "MigSize", "profile": "1g.10gb"}
    assert parsed["count"] == 4 and parsed["sites"] == ["pudong"]


def test_slices_parse_prints_how_the_request_reads(run_cli: RunCli) -> None:
    outcome = run_cli("slices", "parse", "gpu:0.5")

    assert outcome.code == 0
    assert outcome.out.startswith("gpu:0.5  (ShareSize: ")


def test_the_old_spelling_gives_the_same_answer_and_a_one_line_notice(run_cli: RunCli) -> None:
    new = run_cli("slices", "parse", "h100:3g.40gb", "--json")
    old = run_cli("slice", "parse", "h100:3g.40gb", "--json")

    assert old.code == 0 and old.out == new.out
    assert old.err.count("\n") == 1
    assert "deprecated" in old.err and "zslab slices parse" in old.err


def test_help_lists_slices_parse_and_hides_the_old_spelling() -> None:
    top = zslab_cli("--help").stdout
    slices = zslab_cli("slices", "--help").stdout

    assert "    slices " in top and "    slice " not in top
    assert "parse" in slices and "request" in slices


def test_an_unknown_spec_is_one_error_with_the_grammar(run_cli: RunCli) -> None:
    outcome = run_cli("slices", "parse", "nope:9")

    assert_one_error(outcome, "unknown accelerator model 'nope'", "REQUEST    := TARGET")


# --- leases on a hub ---------------------------------------------------------------------------


def test_a_request_is_granted_listed_shown_renewed_and_released(
    inventory_hub: HubHandle, run_cli: RunCli
) -> None:
    admin = hub_options(inventory_hub)

    granted = run_cli("slices", "request", "t4:0.5", "--hours", "1", *admin)
    lease_id = granted.out.split(":")[0]
    listed = run_cli("slices", "ls", *admin)
    shown = run_cli("slices", "show", lease_id, *admin)
    renewed = run_cli("slices", "renew", lease_id, "--hours", "1", "--json", *admin)
    released = run_cli("slices", "release", lease_id, "--json", *admin)

    assert granted.code == 0
    assert lease_id.startswith("lse_") and " granted on t-" in granted.out
    assert "(pudong/t4) until " in granted.out
    assert listed.out.split()[:3] == ["ID", "SPEC", "STATE"] and lease_id in listed.out
    assert lease_id in shown.out and "granted" in shown.out.splitlines()[-1]
    assert json.loads(renewed.out)["id"] == lease_id
    assert json.loads(released.out)["state"] == "released"
    assert lease_id not in run_cli("slices", "ls", *admin).out
    assert lease_id in run_cli("slices", "ls", "--all", *admin).out


def test_pools_print_free_capacity_and_what_each_pool_offers(
    inventory_hub: HubHandle, run_cli: RunCli
) -> None:
    admin = hub_options(inventory_hub)

    table = run_cli("pools", *admin).out.splitlines()
    rows = json.loads(run_cli("pools", "--json", *admin).out)

    assert table[0].split() == ["SITE", "POOL", "MODEL", "FREE_DEVICES", "DEVICES", "FREE_UNITS"]
    assert any(line.startswith("  h100: ") for line in table)
    assert {row["pool"] for row in rows} == {"h100", "t4", "npu"}


def test_an_estimate_says_the_cost_and_whether_it_fits(
    inventory_hub: HubHandle, run_cli: RunCli
) -> None:
    outcome = run_cli("slices", "estimate", "t4:0.5", "--hours", "2", *hub_options(inventory_hub))

    assert outcome.code == 0
    assert outcome.out.startswith("t4:0.5 for 2 h: ")
    assert "kWh" in outcome.out and "fits now" in outcome.out


def test_negative_hours_are_one_error_naming_hours(
    inventory_hub: HubHandle, run_cli: RunCli
) -> None:
    outcome = run_cli("slices", "request", "t4:0.5", "--hours", "-1", *hub_options(inventory_hub))

    assert_one_error(outcome, "hours")


def test_a_request_for_an_unknown_model_is_one_error_with_the_grammar(
    inventory_hub: HubHandle, run_cli: RunCli
) -> None:
    outcome = run_cli("slices", "request", "nope:9", *hub_options(inventory_hub))

    assert_one_error(outcome, "unknown accelerator model 'nope'", "REQUEST    := TARGET")


def test_a_deadline_that_is_not_a_time_is_one_error_naming_it(run_cli: RunCli) -> None:
    outcome = run_cli(
        "slices",
        "request",
        "t4:0.5",
        "--priority",
        "batch",
        "--flexible",
        "--deadline",
        "tomorrow",
    )

    assert_one_error(outcome, "--deadline", "'tomorrow' is not an ISO 8601 time")
