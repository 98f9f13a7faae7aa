"""``zslab token | user | org | project``: accounts from the command line, against a real hub."""

from __future__ import annotations

import json

from tests.cli.conftest import RunCli, assert_one_error, hub_options, zslab_cli
from tests.conftest import HubHandle


def test_account_nouns_end_to_end(sqlite_hub: HubHandle) -> None:
    hub = sqlite_hub
    admin = hub_options(hub)
    added = zslab_cli("user", "add", "alice", "--email", "alice@example.org", "--json", *admin)
    assert json.loads(added.stdout)["name"] == "alice"
    assert zslab_cli("org", "add", "acme", *admin).returncode == 0
    project = json.loads(zslab_cli("project", "add", "acme/nlp", "--json", *admin).stdout)
    assert project["org_slug"] == "acme" and project["slug"] == "nlp"
    assert zslab_cli("project", "member-add", "acme/nlp", "alice", *admin).returncode == 0

    token = json.loads(zslab_cli("token", "create", "--user", "alice", "--json", *admin).stdout)
    alice = hub_options(hub, token["secret"])
    me = zslab_cli("me", *alice)
    assert me.stdout.startswith("alice (member)")
    projects = json.loads(zslab_cli("project", "list", "--json", *alice).stdout)
    assert [p["slug"] for p in projects] == ["nlp"]

    audit = json.loads(zslab_cli("audit", "list", "--json", *admin).stdout)
    assert {"user.create", "org.create", "project.create", "token.create"} <= {
        e["action"] for e in audit
    }


def test_listings_print_tables(sqlite_hub: HubHandle) -> None:
    table = zslab_cli("user", "list", *hub_options(sqlite_hub)).stdout.splitlines()
    assert table[0].split()[:3] == ["ID", "NAME", "ROLE"]
    assert "admin" in table[1]


def test_bad_input_prints_the_field_and_fix_without_a_traceback(sqlite_hub: HubHandle) -> None:
    result = zslab_cli("user", "add", "Not_Valid", *hub_options(sqlite_hub))
    assert result.returncode == 1
    assert "name" in result.stderr and "lower-case letters" in result.stderr
    assert "Traceback" not in result.stderr


def test_project_add_without_an_org_says_how(sqlite_hub: HubHandle) -> None:
    result = zslab_cli("project", "add", "lonely", *hub_options(sqlite_hub))
    assert result.returncode == 1
    assert "ORG/SLUG" in result.stderr


def test_members_are_added_listed_and_removed(sqlite_hub: HubHandle, run_cli: RunCli) -> None:
    admin = hub_options(sqlite_hub)
    assert run_cli("user", "add", "bob", *admin).code == 0
    assert run_cli("org", "add", "acme", *admin).code == 0

    added = run_cli("org", "member-add", "acme", "bob", "--role", "owner", *admin)
    members = run_cli("org", "members", "acme", *admin)
    removed = run_cli("org", "member-remove", "acme", "bob", *admin)

    assert added.code == 0 and added.out.split()[:2] == ["USER_NAME", "ROLE"]
    assert "bob" in members.out and "owner" in members.out
    assert removed.out == "Removed bob from acme.\n"
    assert "bob" not in run_cli("org", "members", "acme", *admin).out


def test_a_token_is_shown_once_then_listed_and_revoked(
    sqlite_hub: HubHandle, run_cli: RunCli
) -> None:
    admin = hub_options(sqlite_hub)

    created = run_cli("token", "create", "--name", "ci", "--scopes", "read, write,", *admin)
    token_id = created.out.split()[1]
    revoked = run_cli("token", "revoke", token_id, "--json", *admin)

    assert created.out.startswith(f"Created {token_id} (ci, scopes read,write, expires ")
    assert created.out.splitlines()[1].strip().startswith("zsl_")
    assert json.loads(revoked.out)["revoked_at"] is not None
    assert token_id not in run_cli("token", "list", *admin).out
    assert token_id in run_cli("token", "list", "--all", *admin).out


def test_user_set_changes_only_what_is_given(sqlite_hub: HubHandle, run_cli: RunCli) -> None:
    admin = hub_options(sqlite_hub)
    run_cli("user", "add", "carol", "--email", "carol@example.org", *admin)

    changed = run_cli("user", "set", "carol", "--role", "reviewer", "--disable", "--json", *admin)

    user = json.loads(changed.out)
    assert (user["role"], user["email"], user["disabled"]) == (
        "reviewer",
        "carol@example.org",
        True,
    )


def test_a_bad_token_lifetime_is_one_error_naming_it(
    sqlite_hub: HubHandle, run_cli: RunCli
) -> None:
    outcome = run_cli("token", "create", "--expires-days", "-1", *hub_options(sqlite_hub))

    assert_one_error(outcome, "expires_in_days")
