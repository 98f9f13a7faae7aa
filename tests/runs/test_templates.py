"""Templates: the registry, parameter validation, the runner, record(), the papermill engine."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from zslab.record import MIME_TYPE, read_records, record
from zslab.templates import (
    get_template,
    list_templates,
    run_template,
    template_sha256,
    validate_parameters,
)

TEMPLATES = {"corpus_curation", "pretrain", "finetune", "evaluate", "publish_case"}


def write_notebook(path: Path, parameters: str, *cells: str) -> Path:
    """A tiny template: a title cell, a ``parameters`` cell, then ``cells``."""
    params = new_code_cell(parameters)
    params.metadata["tags"] = ["parameters"]
    nb = new_notebook(
        cells=[new_markdown_cell("# Tiny\n\nA test notebook."), params]
        + [new_code_cell(c) for c in cells]
    )
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)
    return path


@pytest.fixture
def recording_notebook(tmp_path: Path) -> Path:
    return write_notebook(
        tmp_path / "tiny.ipynb",
        "n = 2  # how many\nlabel = 'x'",
        "from zslab.record import record\nrecord(total=n * 21, label=label)",
        "import os\nrecord(run_dir=os.environ.get('ZSLAB_RUN_DIR'), cwd=os.getcwd())",
    )


@pytest.fixture
def failing_notebook(tmp_path: Path) -> Path:
    return write_notebook(
        tmp_path / "broken.ipynb",
        "n = 1",
        "from zslab.record import record\nrecord(before=n)",
        "raise RuntimeError('planted failure')",
        "record(after=True)",
    )


# --- the registry ----------------------------------------------------------------------------


def test_registry_lists_the_five_templates_with_titles_and_hashes() -> None:
    templates = {t.name: t for t in list_templates()}
    assert set(templates) >= TEMPLATES
    for info in templates.values():
        assert info.title and info.description
        assert len(info.sha256) == 64
        assert info.sha256 == template_sha256(info.name)


def test_registry_reads_parameter_types_defaults_and_help() -> None:
    finetune = get_template("finetune")
    max_steps = finetune.parameter("max_steps")
    assert (max_steps.type, max_steps.default) == ("int", 100)
    assert "steps" in max_steps.help
    assert finetune.parameter("lr").type == "float"
    assert (finetune.parameter("model").type, finetune.parameter("model").default) == (
        "str",
        "zslab-tiny",
    )


def test_get_template_unknown_name_lists_the_templates() -> None:
    with pytest.raises(ValueError, match=r"no template named 'nope'.*finetune"):
        get_template("nope")


# --- parameters ------------------------------------------------------------------------------


def test_validation_coerces_strings_to_the_default_types(tmp_path: Path) -> None:
    path = write_notebook(
        tmp_path / "typed.ipynb",
        "steps = 10\nlr = 0.1\nflag = False\nname = 'a'\nsizes = [1]\nopts = {}\nextra = None",
    )
    values = validate_parameters(
        str(path),
        {
            "steps": "3",
            "lr": "1e-3",
            "flag": "true",
            "name": "b",
            "sizes": "[4, 5]",
            "opts": '{"k": 1}',
            "extra": "7",
        },
    )
    assert values == {
        "steps": 3,
        "lr": 0.001,
        "flag": True,
        "name": "b",
        "sizes": [4, 5],
        "opts": {"k": 1},
        "extra": 7,
    }
    assert type(values["lr"]) is float


def test_validation_names_unknown_parameters_and_the_allowed_ones() -> None:
    with pytest.raises(ValueError, match=r"no parameter\(s\) bogus.*max_steps"):
        validate_parameters("finetune", {"bogus": 1, "max_steps": 2})


@pytest.mark.parametrize(
    ("name", "value"), [("max_steps", "many"), ("lr", True), ("model", 3), ("max_steps", 1.5)]
)
def test_validation_names_the_parameter_with_a_bad_value(name: str, value: Any) -> None:
    with pytest.raises(ValueError, match=rf"parameter '{name}' of type \w+ cannot take"):
        validate_parameters("finetune", {name: value})


def test_validation_rejects_a_list_parameter_given_an_object(tmp_path: Path) -> None:
    path = write_notebook(tmp_path / "l.ipynb", "sizes = [1]")
    with pytest.raises(ValueError, match="'sizes' of type list"):
        validate_parameters(str(path), {"sizes": '{"a": 1}'})


# --- record ----------------------------------------------------------------------------------


def test_record_outside_ipython_appends_to_the_record_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "records.jsonl"
    monkeypatch.setenv("ZSLAB_RECORD_FILE", str(target))
    assert record(loss=1.5) == {"loss": 1.5}
    record(loss=1.0, name="中文")
    lines = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert lines == [{"loss": 1.5}, {"loss": 1.0, "name": "中文"}]


def test_record_refuses_values_that_are_not_json() -> None:
    with pytest.raises(TypeError, match=r"record\(bad=\.\.\.\)"):
        record(bad=object())


def test_read_records_merges_outputs_later_keys_winning() -> None:
    def output(values: dict[str, Any]) -> dict[str, Any]:
        return {"output_type": "display_data", "metadata": {}, "data": {MIME_TYPE: values}}

    nb = {
        "cells": [
            {"cell_type": "code", "outputs": [output({"a": 1, "b": 1})]},
            {"cell_type": "markdown", "source": "text"},
            {"cell_type": "code", "outputs": [{"output_type": "stream"}, output({"b": 2})]},
        ]
    }
    assert read_records(nb) == {"a": 1, "b": 2}


# --- the runner ------------------------------------------------------------------------------


def test_run_template_returns_recorded_metrics(recording_notebook: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = run_template(recording_notebook, {"n": "3"}, output_dir=out)
    assert result.completed, result.error
    assert result.metrics["total"] == 63
    assert result.metrics["label"] == "x"
    assert Path(result.metrics["run_dir"]) == out.resolve()
    assert Path(result.metrics["cwd"]) == out.resolve()
    assert result.executed_notebook_path == out.resolve() / "executed.ipynb"
    assert result.executed_notebook_path.is_file()
    assert result.parameters == {"n": 3}
    provenance = result.provenance
    assert provenance["template_sha256"] == template_sha256(recording_notebook)
    assert set(provenance["packages"]) >= {"zslab", "torch", "transformers", "papermill"}


def test_failing_cell_keeps_the_executed_notebook_with_the_error(
    failing_notebook: Path, tmp_path: Path
) -> None:
    result = run_template(failing_notebook, {}, output_dir=tmp_path / "run")
    assert result.status == "failed"
    assert result.error is not None
    assert "RuntimeError: planted failure" in result.error
    assert "cell" in result.error
    assert result.metrics == {"before": 1}
    assert result.executed_notebook_path is not None
    executed = nbformat.read(result.executed_notebook_path, as_version=4)
    errors = [
        (cell.source, output)
        for cell in executed.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "error"
    ]
    assert len(errors) == 1
    assert "planted failure" in errors[0][0]


def test_raise_on_error_reraises_after_saving(failing_notebook: Path, tmp_path: Path) -> None:
    import papermill

    with pytest.raises(papermill.PapermillExecutionError):
        run_template(failing_notebook, {}, output_dir=tmp_path / "run", raise_on_error=True)
    assert (tmp_path / "run" / "executed.ipynb").is_file()


def test_bad_parameters_raise_before_anything_runs(
    recording_notebook: Path, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match="'n' of type int"):
        run_template(recording_notebook, {"n": "two"}, output_dir=tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_papermill_cli_runs_with_the_zslab_engine(recording_notebook: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.ipynb"
    done = subprocess.run(
        [
            *(sys.executable, "-m", "papermill", str(recording_notebook), str(out)),
            *("--engine", "zslab", "-p", "n", "5", "--no-progress-bar"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert read_records(out)["total"] == 105


def test_corpus_curation_template_runs_end_to_end(tmp_path: Path) -> None:
    params = {"articles": 20, "review_count": 40, "english": 5, "shard_docs": 50}
    result = run_template("corpus_curation", params, output_dir=tmp_path / "run")
    assert result.completed, result.error
    metrics = result.metrics
    assert 0 < metrics["documents_out"] < metrics["documents_in"]
    card = Path(metrics["data_card"])
    assert card.is_file()
    assert result.provenance["data_card_sha256"] == metrics["data_card_sha256"]
    assert (
        json.loads(card.read_text(encoding="utf-8"))["output"]["documents"]
        == (metrics["documents_out"])
    )


def test_pretrain_template_trains_a_tiny_model_end_to_end(tmp_path: Path) -> None:
    params = {"max_steps": 30, "hidden_size": 32, "seq_len": 32, "batch_size": 8, "lr": 0.01}

    result = run_template("pretrain", params, output_dir=tmp_path / "run")

    assert result.completed, result.error
    metrics = result.metrics
    assert metrics["steps"] == 30
    assert metrics["loss_final"] < metrics["loss_first"]  # it learnt something
    assert Path(metrics["model_dir"], "config.json").is_file()
    assert len(metrics["model_sha256"]) == 64


# --- the hub's record of a run ---------------------------------------------------------------


def test_run_with_lab_records_status_metrics_and_notebook(
    recording_notebook: Path, tmp_path: Path, admin: Any
) -> None:
    result = run_template(recording_notebook, {"n": 1}, output_dir=tmp_path / "run", lab=admin)
    assert result.run_id is not None
    run = admin.runs.get(result.run_id)
    assert run.status == "completed"
    assert run.metrics["total"] == 21
    assert run.template_sha256 == result.template_sha256
    assert run.provenance["parameters"] == {"n": 1}
    names = [a.name for a in admin.runs.artifacts(result.run_id)]
    assert "executed.ipynb" in names
