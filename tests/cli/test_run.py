"""`zslab templates` and `zslab run` from the command line, against a real hub."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from tests.cli.conftest import RunCli, assert_one_error, zslab_cli
from tests.conftest import HubHandle


def notebook(path: Path, body: str) -> Path:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("factor = 2\nlabel = 'x'")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        nbformat.v4.new_markdown_cell("# A test template\nMultiplies."),
        params,
        nbformat.v4.new_code_cell(body),
    ]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)
    return path


def test_templates_list_names_the_five_templates_with_parameters() -> None:
    done = zslab_cli("templates", "list", "--json")

    assert done.returncode == 0, done.stderr
    templates = {t["name"]: t for t in json.loads(done.stdout)}
    assert set(templates) == {"corpus_curation", "pretrain", "finetune", "evaluate", "publish_case"}
    finetune = {p["name"]: p for p in templates["finetune"]["parameters"]}
    assert finetune["max_steps"]["type"] == "int" and finetune["max_steps"]["default"] == 100


def test_run_records_the_run_in_the_hub_and_prints_it(hub: HubHandle, tmp_path: Path) -> None:
    source = notebook(
        tmp_path / "t.ipynb",
        "from zslab import record\nrecord(product=factor * 21, label=label)",
    )
    env = {"ZSLAB_URL": hub.url, "ZSLAB_TOKEN": hub.admin_token}

    done = zslab_cli(
        "run",
        str(source),
        "-p",
        "factor",
        "2",
        "-p",
        "label",
        "答案",
        "--output",
        str(tmp_path / "run"),
        "--json",
        env=env,
    )

    assert done.returncode == 0, done.stderr
    run = json.loads(done.stdout)
    assert run["status"] == "completed"
    assert run["metrics"] == {"product": 42, "label": "答案"}
    assert Path(run["executed_notebook"]).exists()
    with hub.lab() as lab:
        recorded = lab.runs.get(run["run_id"])
        assert recorded.status == "completed" and recorded.metrics["product"] == 42
        assert "executed.ipynb" in {a.name for a in lab.runs.artifacts(run["run_id"])}


def test_a_failing_run_exits_1_and_keeps_the_notebook(tmp_path: Path) -> None:
    source = notebook(tmp_path / "bad.ipynb", "raise ValueError('no data')")

    done = zslab_cli("run", str(source), "--no-record", "--json", "--output", str(tmp_path / "run"))

    assert done.returncode == 1
    run = json.loads(done.stdout)
    assert run["status"] == "failed" and "ValueError: no data" in run["error"]
    assert "no data" in Path(run["executed_notebook"]).read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-p", "factr", "3"], "factr"),
        (["-p", "factor", "many"], "factor"),
    ],
)
def test_bad_parameters_are_refused_before_anything_runs(
    tmp_path: Path, args: list[str], message: str
) -> None:
    source = notebook(tmp_path / "t.ipynb", "print(factor)")

    done = zslab_cli("run", str(source), *args, "--no-record", "--output", str(tmp_path / "run"))

    assert done.returncode == 1
    assert message in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "run").exists()


def test_templates_show_prints_one_templates_parameters(run_cli: RunCli) -> None:
    outcome = run_cli("templates", "show", "finetune")

    assert outcome.code == 0
    assert outcome.out.startswith("finetune: ")
    assert "  max_steps: int = 100" in outcome.out


def test_an_unknown_template_is_one_error_naming_the_known_ones(run_cli: RunCli) -> None:
    outcome = run_cli("templates", "show", "nope")

    assert_one_error(outcome, "no template named 'nope'", "finetune")
