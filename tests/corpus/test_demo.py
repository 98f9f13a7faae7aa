"""The demo corpus end to end through the real steps and `zslab corpus run`: planted PII and
duplicates are found, a killed run resumes to the same output, the CLI says what it did."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from zslab.corpus.demo import write_demo_corpus


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    write_demo_corpus(folder, articles=300, review_count=400, english=60, shard_docs=150)
    return folder


def zslab(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "zslab", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "TQDM_DISABLE": "1"},
    )


def rows(folder: Path) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for shard in sorted(folder.glob("shard-*.parquet")):
        out += pq.read_table(shard).to_pylist()
    return out


@pytest.fixture(scope="module")
def curated(demo: Path) -> Path:
    done = zslab("corpus", "run", str(demo / "pipeline.yaml"), "--workers", "0", "--quiet")
    assert done.returncode == 0, done.stderr
    return demo / "curated"


def test_the_demo_run_reports_every_step_and_writes_its_card(demo: Path, curated: Path) -> None:
    card = json.loads((curated / "datacard.json").read_text(encoding="utf-8"))

    assert [s["step"] for s in card["steps"]] == [
        "normalize",
        "t2s",
        "length",
        "language",
        "zh_quality",
        "pii_redact",
        "exact_dedup",
        "minhash_dedup",
    ]
    assert card["output"]["documents"] == len(rows(curated))
    assert set(card["language_mix"]) <= {"zh", "en"} and card["language_mix"]["zh"] > 500
    assert set(card["pii"]) >= {"id_card", "mobile", "bank_card", "email"}
    assert "## PII redacted" in (curated / "datacard.md").read_text(encoding="utf-8")


def test_no_planted_pii_survives(demo: Path, curated: Path) -> None:
    truth = json.loads((demo / "truth.json").read_text(encoding="utf-8"))
    text = "\n".join(r["text"] for r in rows(curated))

    planted = [value for pairs in truth["pii"].values() for _, value in pairs]
    assert len(planted) == 50
    assert [value for value in planted if value in text] == []


def test_planted_duplicates_keep_one_copy(demo: Path, curated: Path) -> None:
    truth = json.loads((demo / "truth.json").read_text(encoding="utf-8"))
    kept = {r["id"] for r in rows(curated)}

    for original, copy in truth["exact_duplicates"]:
        assert not (original in kept and copy in kept), (original, copy)
    close = [(a, b) for a, b, jaccard in truth["near_duplicates"] if jaccard >= 0.85]
    assert close
    assert [(a, b) for a, b in close if a in kept and b in kept] == []


def test_a_killed_run_resumes_to_the_same_output(demo: Path, curated: Path, tmp_path: Path) -> None:
    output = tmp_path / "killed"
    command = [
        sys.executable,
        "-m",
        "zslab",
        "corpus",
        "run",
        str(demo / "pipeline.yaml"),
        "--output",
        str(output),
        "--workers",
        "0",
        "--quiet",
    ]
    run = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    markers = output / "_work" / "stage0"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(markers.glob("*.stats.json"))) < 2:
        time.sleep(0.02)
    run.send_signal(signal.SIGKILL)
    run.wait(30)
    finished_before = len(list(markers.glob("*.stats.json")))
    assert 2 <= finished_before < 6, "the run must be killed part-way through stage 1"

    done = zslab("corpus", "run", *command[5:])

    assert done.returncode == 0, done.stderr
    assert f"{finished_before} task(s) resumed" in done.stdout
    assert rows(output) == rows(curated)


def test_corpus_card_and_steps_from_the_command_line(curated: Path) -> None:
    card = zslab("corpus", "card", str(curated))
    steps = zslab("corpus", "steps", "--json")

    assert card.returncode == 0 and card.stdout.startswith("# Data card")
    catalog = {s["name"]: s for s in json.loads(steps.stdout)}
    assert {"normalize", "pii_redact", "minhash_dedup", "decontaminate"} <= set(catalog)
    params = {p["name"]: p["default"] for p in catalog["minhash_dedup"]["params"]}
    assert params["threshold"] == 0.8


def test_a_bad_pipeline_file_is_an_error_message_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("input: [nowhere/]\nsteps: [{pii_redact: {typez: [email]}}]\noutput: o/\n")

    done = zslab("corpus", "run", str(path), "--workers", "0")

    assert done.returncode == 1
    assert "typez" in done.stderr and "Traceback" not in done.stderr
