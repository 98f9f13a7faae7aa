"""Reproducing a case for real: the SDK re-runs the version's template with papermill on this
machine, the hub compares the results and grants (or withholds) the badge."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import HubHandle, code_cell, member_lab, notebook
from zslab.client import Lab

# A template whose result is its parameter: reproducible unless the notebook changes.
TEMPLATE = notebook(
    code_cell(
        "accuracy = 0.9  # the score to report\n", cell_id="parameters", tags=("parameters",)
    ),
    code_cell(
        "import os\n"
        "from zslab import record\n"
        "from zslab.cases.model import results_entry\n"
        "shift = float(os.environ.get('ZSLAB_TEST_SHIFT', '0'))\n"
        "record(results=[results_entry(task='text-classification', dataset='reviews',\n"
        "    dataset_sha256='ab' * 32, metrics={'accuracy': {'value': accuracy + shift,\n"
        "    'low': accuracy + shift - 0.01, 'high': accuracy + shift + 0.01}})])\n",
        cell_id="score",
    ),
)


@pytest.fixture
def templates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "team-templates"
    folder.mkdir()
    (folder / "score_echo.ipynb").write_text(json.dumps(TEMPLATE))
    monkeypatch.setenv("ZSLAB_TEMPLATES", str(folder))
    return folder


@pytest.fixture
def people(sqlite_hub: HubHandle) -> Iterator[dict[str, Lab]]:
    with sqlite_hub.lab() as admin:
        admin.orgs.add("acme")
        admin.projects.add("acme", "nlp")
        admin.orgs.add("rival")
        admin.projects.add("rival", "ml")
        labs = {
            "alice": member_lab(sqlite_hub, admin, "alice"),
            "rita": member_lab(sqlite_hub, admin, "rita", role="reviewer"),
            "mallory": member_lab(sqlite_hub, admin, "mallory"),
        }
        admin.projects.add_member("acme/nlp", "alice")
        admin.orgs.add_member("acme", "rita")
        admin.projects.add_member("rival/ml", "mallory")
        yield labs
        for lab in labs.values():
            lab.close()


def _published(people: dict[str, Lab], tmp_path: Path) -> str:
    run = people["alice"].run("score_echo", {"accuracy": 0.8}, output_dir=tmp_path / "first")
    assert run.completed, run.error
    version = people["alice"].cases.publish(
        run,
        sector="online_economy",
        title="评论情感",
        title_en="Review sentiment",
        license="mit",
        visibility="public",
    )
    people["rita"].cases.approve(version.slug)
    return version.slug


def test_someone_else_reproduces_a_case_and_it_gets_the_badge(
    people: dict[str, Lab], templates: Path, tmp_path: Path
) -> None:
    slug = _published(people, tmp_path)

    record = people["mallory"].cases.reproduce(slug, output_dir=tmp_path / "again")

    assert record.matched is True
    assert record.user_name == "mallory" and record.hardware["cpus"]
    assert people["mallory"].cases.get(slug).reproduced is True
    rerun = people["mallory"].runs.get(record.run_ids[0])
    assert rerun.template == "score_echo" and rerun.parameters == {"accuracy": 0.8}


def test_a_reproduction_that_comes_out_different_is_recorded_as_a_mismatch(
    people: dict[str, Lab], templates: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    slug = _published(people, tmp_path)
    monkeypatch.setenv("ZSLAB_TEST_SHIFT", "-0.2")  # the environment changed the result

    record = people["mallory"].cases.reproduce(slug, output_dir=tmp_path / "again")

    assert record.matched is False
    comparison = record.verdict["comparisons"][0]
    assert comparison["published"] == pytest.approx(0.8)
    assert comparison["reproduced"] == pytest.approx(0.6)
    assert people["mallory"].cases.get(slug).reproduced is False
