"""``zslab corpus …``: the errors a user sees (the pipeline itself runs in tests/corpus/)."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import RunCli, assert_one_error


def test_corpus_steps_lists_every_step_with_its_parameters(run_cli: RunCli) -> None:
    from zslab.corpus.core import step_catalog

    lines = run_cli("corpus", "steps").out.splitlines()

    names = [line.split()[0] for line in lines if not line.startswith(" ")]
    assert names == [step["name"] for step in step_catalog()]
    assert "                            normalize=True" in lines


def test_a_missing_pipeline_is_one_error_naming_the_file(tmp_path: Path, run_cli: RunCli) -> None:
    outcome = run_cli("corpus", "run", str(tmp_path / "pipeline.yaml"))

    assert_one_error(outcome, "pipeline.yaml")


def test_a_folder_without_a_card_is_one_error_saying_why(tmp_path: Path, run_cli: RunCli) -> None:
    outcome = run_cli("corpus", "card", str(tmp_path))

    assert_one_error(outcome, "no data card", "zslab corpus run")


def test_a_negative_article_count_is_one_error_naming_it(tmp_path: Path, run_cli: RunCli) -> None:
    outcome = run_cli("corpus", "demo", str(tmp_path / "demo"), "--articles", "-1")

    assert_one_error(outcome, "--articles")
    assert not (tmp_path / "demo").exists()
