"""`zslab cases …` against a real hub: publish, search, show, review, leaderboard, export,
and the errors a user sees."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import HubHandle, member_lab
from zslab.cli import main
from zslab.client import Lab


def _run(lab: Lab) -> str:
    run = lab.runs.create("evaluate", parameters={"seed": 0})
    results = [
        {
            "task": "text-classification",
            "dataset": {"name": "reviews", "sha256": "ab" * 32},
            "metrics": [{"type": "accuracy", "value": 0.9, "ci": [0.88, 0.92]}],
        }
    ]
    lab.runs.update(run.id, status="completed", metrics={"results": results})
    return run.id


def cli(hub: HubHandle, token: str, *args: str) -> int:
    verb_args = list(args)
    return main([*verb_args[:2], "--url", hub.url, "--token", token, *verb_args[2:]])


def test_publish_review_search_and_export_from_the_command_line(
    sqlite_hub: HubHandle, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with sqlite_hub.lab() as admin:
        admin.orgs.add("acme")
        admin.projects.add("acme", "nlp")
        alice = member_lab(sqlite_hub, admin, "alice")
        reviewer = member_lab(sqlite_hub, admin, "rita", role="reviewer")
        admin.projects.add_member("acme/nlp", "alice")
        admin.orgs.add_member("acme", "rita")
    run_id = _run(alice)
    assert alice.token and reviewer.token
    capsys.readouterr()

    assert (
        cli(
            sqlite_hub,
            alice.token,
            "cases",
            "publish",
            run_id,
            "--sector",
            "finance",
            "--title",
            "信贷风控",
            "--title-en",
            "Credit risk",
            "--license",
            "apache-2.0",
            "--visibility",
            "public",
            "--json",
        )
        == 0
    )
    slug = json.loads(capsys.readouterr().out)["slug"]
    assert cli(sqlite_hub, reviewer.token, "cases", "approve", slug, "--comment", "ok") == 0
    assert "published" in capsys.readouterr().out
    assert cli(sqlite_hub, alice.token, "cases", "search", "风控") == 0
    listing = capsys.readouterr().out
    assert slug in listing and "(1 of 1)" in listing
    assert cli(sqlite_hub, alice.token, "cases", "leaderboard", "--metric", "accuracy") == 0
    assert slug in capsys.readouterr().out
    card = tmp_path / "README.md"
    assert cli(sqlite_hub, alice.token, "cases", "export", slug, "-o", str(card)) == 0
    assert "model-index:" in card.read_text(encoding="utf-8")
    assert cli(sqlite_hub, alice.token, "cases", "show", slug) == 0
    assert f"{sqlite_hub.url}/cases/{slug}" in capsys.readouterr().out
    alice.close()
    reviewer.close()


def test_an_unknown_sector_prints_the_field_and_the_fix(
    sqlite_hub: HubHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    with sqlite_hub.lab() as admin:
        run_id = _run(admin)
    capsys.readouterr()

    code = cli(
        sqlite_hub,
        sqlite_hub.admin_token,
        "cases",
        "publish",
        run_id,
        "--sector",
        "space",
        "--title",
        "t",
        "--license",
        "mit",
    )

    err = capsys.readouterr().err
    assert code == 1
    assert "'space' is not a sector" in err
    assert "fix: Use one of: finance, education" in err
