"""The notebook displays, headless (their text, state and button handlers) and in a real kernel
run by papermill (the saved outputs carry readable text beside the widget view)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import nbformat
import pytest

from tests.conftest import HubHandle, start_hub, write_inventory
from tests.corpus.conftest import DropShort, Shout, write_jsonl
from zslab.client import Lab
from zslab.config import Settings
from zslab.corpus.pipeline import Pipeline
from zslab.corpus.readers import read_jsonl
from zslab.jupyter.widgets import (
    WIDGET_VIEW,
    CaseCard,
    LeaseCard,
    PipelineProgress,
    TrainingMonitor,
    countdown,
    in_widget_frontend,
)
from zslab.schemas import CaseRead


@pytest.fixture
def broker_hub(tmp_path: Path) -> Iterator[HubHandle]:
    """A hub on SQLite over the small test inventory."""
    settings = Settings(
        home=tmp_path / "home",
        db_url=f"sqlite:///{tmp_path / 'hub.db'}",
        inventory=write_inventory(tmp_path),
    )
    handle = start_hub(settings)
    yield handle
    handle.stop()


@pytest.fixture
def lab(broker_hub: HubHandle) -> Iterator[Lab]:
    with broker_hub.lab() as connected:
        yield connected


def case_read(**changes: Any) -> CaseRead:
    at = "2025-03-01T08:00:00Z"
    version = {
        "id": "cv_1",
        "case_id": "case_1",
        "slug": "credit-risk",
        "number": 1,
        "status": "published",
        "title": "信贷风险评分",
        "title_en": "Credit risk scoring",
        "summary": "",
        "task": "text-classification",
        "license": "apache-2.0",
        "tags": [],
        "model": "bert-base-chinese",
        "results": [
            {
                "task": {"type": "text-classification"},
                "dataset": {"name": "loans", "sha256": "ab" * 32},
                "metrics": [{"type": "accuracy", "value": 0.912, "ci": [0.89, 0.931]}],
            }
        ],
        "tolerance": {},
        "model_card": "",
        "data_card": {},
        "run_ids": [],
        "notebooks": [],
        "compute": {},
        "provenance": {},
        "changelog": "",
        "created_by": "usr_1",
        "created_at": at,
        "submitted_at": at,
        "published_at": at,
        "archived_at": None,
        "reviewed_by": "usr_2",
    }
    case = {
        "id": "case_1",
        "slug": "credit-risk",
        "sector": "finance",
        "visibility": "public",
        "org_id": "org_1",
        "project_id": "prj_1",
        "owner_id": "usr_1",
        "title": "信贷风险评分",
        "title_en": "Credit risk scoring",
        "summary": "",
        "task": "text-classification",
        "license": "apache-2.0",
        "tags": [],
        "model": "bert-base-chinese",
        "datasets": ["loans"],
        "status": "published",
        "current_version": 1,
        "published_version": 1,
        "reproduced": True,
        "created_at": at,
        "updated_at": at,
        "versions": [version],
        **changes,
    }
    return CaseRead.model_validate(case)


# --- the frontend decision -------------------------------------------------------------------


def test_plain_python_is_not_a_widget_frontend() -> None:
    assert not in_widget_frontend()


def test_headless_bundles_carry_text_and_markdown_but_no_widget_view() -> None:
    bundle = CaseCard(case_read())._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/markdown"}
    assert bundle["text/plain"].startswith("case credit-risk")


# --- lease card ------------------------------------------------------------------------------


def test_countdown_reads_hours_minutes_seconds_and_expired() -> None:
    now = datetime(2025, 1, 1, 12, tzinfo=UTC)
    later = [now + timedelta(seconds=s) for s in (7500, 3599, 60, 59, 0, -5)]
    assert [countdown(t, now) for t in later] == [
        "2 h 05 min left",
        "59 min left",
        "1 min left",
        "59 s left",
        "expired",
        "expired",
    ]
    assert countdown(None, now) == "no expiry"
    assert countdown(datetime(2025, 1, 1, 13), now) == "1 h 00 min left"  # naive means UTC


def test_a_lease_card_reads_spec_state_node_and_time_left_on_a_fixed_clock(lab: Lab) -> None:
    lease = lab.request("h100:3g.40gb", hours=1)
    assert lease.expires_at is not None
    clock = [lease.expires_at - timedelta(minutes=59, seconds=30)]
    card = LeaseCard(lease, now=lambda: clock[0])

    node = lease.placement["node"] if lease.placement else None
    text, cost = str(card).rsplit(" · cost so far ", 1)
    assert text == f"lease {lease.id} h100-80gb:3g.40gb granted on {node} · pool h100 · 59 min left"
    assert cost in {"0.00", "< 0.01"}  # metered up to now: a granted second costs a fraction
    clock[0] += timedelta(minutes=59)
    card.tick()
    assert "· 30 s left ·" in str(card)


def test_the_live_countdown_label_follows_the_clock(lab: Lab) -> None:
    lease = lab.request("t4:0.5", hours=2)
    assert lease.expires_at is not None
    clock = [lease.expires_at - timedelta(hours=1, minutes=30)]
    card = LeaseCard(lease, now=lambda: clock[0])
    card.widget  # noqa: B018  (builds the widgets)
    assert "· 1 h 30 min left ·" in card.countdown_label.value
    clock[0] += timedelta(hours=1)
    card.tick()
    assert "· 30 min left ·" in card.countdown_label.value


def test_the_release_button_releases_the_lease_and_shows_its_cost(lab: Lab) -> None:
    lease = lab.request("t4:0.5", hours=1)
    card = LeaseCard(lease)
    card.widget  # noqa: B018

    card.release_button.click()

    assert lab.lease(lease.id).state == "released"
    assert " released" in str(card) and "cost " in str(card)
    assert card.release_button.disabled and card.renew_button.disabled


def test_the_renew_button_renews_the_lease_for_an_hour_from_now(lab: Lab) -> None:
    lease = lab.request("t4:0.25", hours=0.5)
    before = lease.expires_at
    assert before is not None
    card = LeaseCard(lease)
    card.widget  # noqa: B018

    card.renew_button.click()

    after = lab.lease(lease.id).expires_at
    assert after is not None and after - before >= timedelta(minutes=29)
    assert card.error is None and "· 59 min left ·" in card.countdown_label.value


def test_an_action_the_hub_refuses_shows_its_error_on_the_card(lab: Lab) -> None:
    lease = lab.request("t4:0.25", hours=1)
    card = LeaseCard(lease)
    card.widget  # noqa: B018
    card.release()

    card.renew()

    assert card.error is not None and "released" in card.error
    assert f"error: {card.error}" in str(card)
    assert "released" in card.error_label.value


def test_the_ticker_stops_when_the_lease_ends(lab: Lab) -> None:
    lease = lab.request("t4:0.25", hours=1)
    card = LeaseCard(lease)
    card.widget  # noqa: B018
    card.start(interval=0.02)
    thread = card._thread
    assert thread is not None and thread.is_alive()

    lease.release()

    thread.join(timeout=2)
    assert not thread.is_alive()


# --- pipeline progress -----------------------------------------------------------------------


def test_pipeline_progress_from_a_run_shows_each_steps_counts(tmp_path: Path) -> None:
    source = write_jsonl(
        tmp_path / "raw" / "docs.jsonl",
        [{"id": str(i), "text": text} for i, text in enumerate(["hello world", "hi", "abcdef"])],
    )
    result = Pipeline([Shout(), DropShort()]).run(
        read_jsonl(str(source)), tmp_path / "out", progress=False
    )

    progress = PipelineProgress.from_result(result)

    text = str(progress)
    assert "3 → 2 documents" in text
    assert progress.rows()[0][:5] == ("test_shout", 3, 3, 3, 0)
    assert progress.rows()[1][:5] == ("test_drop_short", 3, 2, 0, 1)
    assert "(test_drop_short:short 1)" in text
    assert "| test_drop_short | 3 | 2 | 0 | 1 |" in progress.markdown()


def test_pipeline_progress_counts_shards_as_they_finish() -> None:
    progress = PipelineProgress(["test_shout"], total=2, name="live")
    progress.widget  # noqa: B018
    shard = {"steps": [{"step": "test_shout", "seen": 5, "kept": 4, "modified": 1, "dropped": {}}]}

    progress.add_shard(shard)
    progress.add_shard(shard)

    assert progress.rows()[0][:5] == ("test_shout", 10, 8, 2, 0)
    assert "2/2 shard tasks" in str(progress)
    assert (progress.bar.value, progress.bar.max, progress.bar.bar_style) == (2, 2, "success")


def test_pipeline_progress_follows_a_run_live_and_ends_as_its_card_says(tmp_path: Path) -> None:
    source = write_jsonl(
        tmp_path / "raw" / "docs.jsonl",
        [{"id": str(i), "text": text} for i, text in enumerate(["hello world", "hi", "abcdef"])],
    )
    pipeline = Pipeline([Shout(), DropShort()])
    live = PipelineProgress(["test_shout", "test_drop_short"], total=1, name="live")
    seen: list[int] = []

    def watch(result: dict[str, Any]) -> None:
        live(result)
        seen.append(live.done)

    result = pipeline.run(
        read_jsonl(str(source)), tmp_path / "out", progress=False, on_result=watch
    )

    assert seen == [1]  # one shard task, reported as it ended
    assert live.rows() == PipelineProgress.from_result(result).rows()


# --- training monitor ------------------------------------------------------------------------


def records() -> list[dict[str, Any]]:
    train = [
        {"step": s, "loss": 3.0 - 0.1 * s, "lr": 1e-4, "tokens": 512 * s, "tokens_per_s": 2048.0}
        for s in range(1, 7)
    ]
    return [*train[:3], {"step": 3, "eval": True, "eval_loss": 2.9}, *train[3:]]


def test_the_training_monitor_prints_a_line_every_n_records_and_each_eval(
    capsys: pytest.CaptureFixture[str],
) -> None:
    monitor = TrainingMonitor(every=3)
    for record in records():
        monitor(record)

    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "step 3 · loss 2.7000 · 2,048 tok/s",
        "step 3 · eval_loss 2.9000",
        "step 5 · loss 2.5000 · 2,048 tok/s",
    ]
    assert str(monitor).startswith("training: step 6 · loss 2.4000 · 2,048 tok/s · best loss")
    assert "eval: step 3 · eval_loss 2.9000" in str(monitor)


def test_the_training_monitor_draws_the_loss_curve_and_labels() -> None:
    monitor = TrainingMonitor(every=100)
    monitor.widget  # noqa: B018
    for record in records():
        monitor(record)

    assert monitor.plot.value == monitor.svg()
    assert monitor.svg().count("<polyline") == 2 and "step 6: loss 2.4000" in monitor.svg()
    assert monitor.step_label.value == "step 6 · loss 2.4000"
    assert "2,048 tok/s" in monitor.speed_label.value


# --- case card -------------------------------------------------------------------------------


def test_a_case_card_shows_titles_sector_badge_metrics_and_link() -> None:
    card = CaseCard(case_read(), hub_url="http://hub.example/")

    assert str(card).splitlines() == [
        "case credit-risk · 信贷风险评分 / Credit risk scoring",
        "  金融 Finance · published · ✓ reproduced",
        "  accuracy 0.9120 [0.8900, 0.9310] (loans)",
        "  http://hub.example/cases/credit-risk",
    ]
    assert "[信贷风险评分 / Credit risk scoring](http://hub.example/cases/credit-risk)" in (
        card.markdown()
    )
    assert 'href="http://hub.example/cases/credit-risk"' in card.widget.value


def test_a_case_read_without_versions_has_no_metrics() -> None:
    card = CaseCard(case_read(versions=None, reproduced=False))
    assert str(card).splitlines() == [
        "case credit-risk · 信贷风险评分 / Credit risk scoring",
        "  金融 Finance · published · not reproduced yet",
    ]


# --- a real kernel under papermill -----------------------------------------------------------


NOTEBOOK = [
    "import zslab\nfrom zslab.jupyter.widgets import *\nfrom zslab.schemas import CaseRead\n"
    "lab = zslab.Lab(URL, TOKEN)",
    "card = LeaseCard(lab.request('t4:0.5', hours=1))\nprint(card)\ncard",
    "case = CaseCard(CaseRead.model_validate(CASE), hub_url=lab.url)\ncase",
    "PipelineProgress.from_card(CARD)",
    "monitor = TrainingMonitor(every=2)\n"
    "for s in range(1, 5):\n"
    "    monitor({'step': s, 'loss': 3.0 - s / 10, 'tokens_per_s': 100.0})",
    "print(in_widget_frontend())\ncard.release()\nprint(card)",
]


def outputs_of(cell: Any, kind: str) -> list[Any]:
    return [o for o in cell.outputs if o.output_type == kind]


def test_in_papermill_every_display_saves_readable_text_and_nothing_errors(
    broker_hub: HubHandle, tmp_path: Path
) -> None:
    import papermill

    nb = nbformat.v4.new_notebook()
    params = (
        f"URL = {broker_hub.url!r}\nTOKEN = {broker_hub.admin_token!r}\n"
        f"CASE = {json.loads(case_read().model_dump_json())!r}\n"
        "CARD = {'name': 'tiny', 'seconds': 1.5, 'input': {'shards': 1, 'documents': 3},"
        " 'output': {'documents': 2}, 'steps': [{'step': 'test_drop_short', 'seen': 3,"
        " 'kept': 2, 'modified': 0, 'dropped': {'test_drop_short:short': 1}}]}"
    )
    nb.cells = [nbformat.v4.new_code_cell(params)] + [
        nbformat.v4.new_code_cell(source) for source in NOTEBOOK
    ]
    nbformat.write(nb, tmp_path / "in.ipynb")

    started = time.monotonic()
    ran = papermill.execute_notebook(
        str(tmp_path / "in.ipynb"),
        str(tmp_path / "out.ipynb"),
        kernel_name="python3",
        progress_bar=False,
        cwd=str(Path(__file__).resolve().parents[2]),
    )
    assert time.monotonic() - started < 60

    cells = ran.cells[1:]
    assert all(not outputs_of(cell, "error") for cell in cells)
    lease_print = outputs_of(cells[1], "stream")[0].text
    assert lease_print.startswith("lease lse_") and " granted on t-" in lease_print
    lease_display = outputs_of(cells[1], "execute_result")[0].data
    assert lease_display["text/plain"].startswith("lease lse_")
    assert WIDGET_VIEW in lease_display  # the kernel has ipywidgets: JupyterLab gets the card
    case_display = outputs_of(cells[2], "execute_result")[0].data["text/plain"]
    assert "✓ reproduced" in case_display and "/cases/credit-risk" in case_display
    table = outputs_of(cells[3], "execute_result")[0].data["text/plain"]
    assert "pipeline tiny · 3 → 2 documents" in table and "test_drop_short:short 1" in table
    monitor = outputs_of(cells[4], "display_data")[0].data["text/plain"]
    assert monitor.startswith("training: step 4 · loss 2.6000")  # updated, not the empty card
    last = outputs_of(cells[5], "stream")[0].text
    assert last.startswith("True\n") and " released" in last
