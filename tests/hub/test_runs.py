"""Template runs through the real hub: status, metrics, artifacts in the content-addressed store,
access by project, audit; on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

import zslab
from tests.conftest import HubHandle, member_lab, start_hub
from zslab.client import Lab
from zslab.config import Settings
from zslab.hub.artifacts import ArtifactStore

MiB = 1 << 20
NOTEBOOK = json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode()


@pytest.fixture
def runs_hub(tmp_path: Path, db_url: str) -> Iterator[HubHandle]:
    """A hub with the default 1 MiB body limit and a 3 MiB artifact limit."""
    settings = Settings(
        home=tmp_path / "zslab-home",
        db_url=db_url,
        max_body_bytes=MiB,
        max_artifact_bytes=3 * MiB,
        auth_cache_s=1.0,
    )
    handle = start_hub(settings)
    yield handle
    handle.stop()


@pytest.fixture
def admin(runs_hub: HubHandle) -> Iterator[Lab]:
    with runs_hub.lab() as lab:
        lab.orgs.add("acme")
        lab.projects.add("acme", "nlp")
        lab.projects.add("acme", "cv")
        yield lab


@pytest.fixture
def alice(runs_hub: HubHandle, admin: Lab) -> Iterator[Lab]:
    """A member of acme/nlp."""
    lab = member_lab(runs_hub, admin, "alice")
    admin.projects.add_member("acme/nlp", "alice")
    yield lab
    lab.close()


@pytest.fixture
def bob(runs_hub: HubHandle, admin: Lab) -> Iterator[Lab]:
    """A member of acme/cv only."""
    lab = member_lab(runs_hub, admin, "bob")
    admin.projects.add_member("acme/cv", "bob")
    yield lab
    lab.close()


def _blobs(hub: HubHandle) -> list[Path]:
    root = hub.settings.artifacts_dir / "sha256"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


# --- the life of a run ---------------------------------------------------------------------------


def test_a_run_records_its_notebook_metrics_and_completion(alice: Lab) -> None:
    metrics_lines = b'{"step": 1, "loss": 2.5}\n{"step": 2, "loss": 1.9}\n'
    run = alice.runs.create(
        "finetune", parameters={"lr": 0.001}, project="acme/nlp", provenance={"torch": "2.5"}
    )
    assert run.status == "running" and run.started_at is not None and run.ended_at is None

    alice.runs.upload(run.id, "executed.ipynb", NOTEBOOK)
    alice.runs.upload(run.id, "metrics.jsonl", metrics_lines)
    alice.runs.update(run.id, status="completed", metrics={"loss": 1.9, "accuracy": 0.71})

    got = alice.runs.get(run.id)
    assert got.status == "completed" and got.ended_at is not None
    assert got.metrics == {"loss": 1.9, "accuracy": 0.71}
    assert got.parameters == {"lr": 0.001} and got.provenance == {"torch": "2.5"}
    assert got.notebook_sha256 == hashlib.sha256(NOTEBOOK).hexdigest()
    assert got.artifacts is not None
    by_name = {a.name: a for a in got.artifacts}
    assert by_name["metrics.jsonl"].sha256 == hashlib.sha256(metrics_lines).hexdigest()
    assert by_name["metrics.jsonl"].size == len(metrics_lines)
    assert by_name["executed.ipynb"].media_type == "application/x-ipynb+json"


def test_a_download_returns_the_uploaded_bytes_with_their_media_type(
    runs_hub: HubHandle, alice: Lab
) -> None:
    run = alice.runs.create("finetune", project="acme/nlp")
    data = bytes(range(256)) * 100
    alice.runs.upload(run.id, "checkpoint/step-10.pt", data, media_type="application/x-torch")

    assert alice.runs.download(run.id, "checkpoint/step-10.pt") == data
    with runs_hub.http(alice.token) as http:
        response = http.get(f"/api/v1/runs/{run.id}/artifacts/checkpoint/step-10.pt")
    assert response.headers["content-type"] == "application/x-torch"
    assert response.headers["x-content-sha256"] == hashlib.sha256(data).hexdigest()


def test_an_artifact_uploads_from_a_file_path(tmp_path: Path, alice: Lab) -> None:
    source = tmp_path / "log.txt"
    source.write_bytes(b"epoch 1 done\n" * 1000)
    run = alice.runs.create("finetune", project="acme/nlp")

    artifact = alice.runs.upload(run.id, "logs/train.txt", source)

    assert artifact.size == source.stat().st_size
    assert artifact.media_type == "text/plain"
    assert alice.runs.download(run.id, "logs/train.txt") == source.read_bytes()


def test_the_same_bytes_in_two_runs_are_stored_once(runs_hub: HubHandle, alice: Lab) -> None:
    first = alice.runs.create("finetune", project="acme/nlp")
    second = alice.runs.create("evaluate", project="acme/nlp")

    a = alice.runs.upload(first.id, "model.safetensors", b"weights" * 1000)
    b = alice.runs.upload(second.id, "model.safetensors", b"weights" * 1000)

    assert a.sha256 == b.sha256
    assert [p.name for p in _blobs(runs_hub)] == [a.sha256]
    assert not list((runs_hub.settings.artifacts_dir / "tmp").iterdir())


def test_uploading_under_an_existing_name_replaces_the_artifact(alice: Lab) -> None:
    run = alice.runs.create("finetune", project="acme/nlp")
    alice.runs.upload(run.id, "executed.ipynb", b"{}")

    alice.runs.upload(run.id, "executed.ipynb", NOTEBOOK)

    got = alice.runs.get(run.id)
    assert got.artifacts is not None and len(got.artifacts) == 1
    assert got.notebook_sha256 == hashlib.sha256(NOTEBOOK).hexdigest()
    assert alice.runs.download(run.id, "executed.ipynb") == NOTEBOOK


def test_a_run_naming_no_project_goes_to_the_callers_own(alice: Lab) -> None:
    run = alice.runs.create("finetune")
    assert run.project_id == alice.projects.get("acme/nlp").id


def test_metrics_merge_and_a_null_removes_a_key(alice: Lab) -> None:
    run = alice.runs.create("finetune", project="acme/nlp")
    alice.runs.update(run.id, metrics={"loss": 2.0, "tmp": 1})

    updated = alice.runs.update(run.id, metrics={"accuracy": 0.5, "tmp": None})

    assert updated.metrics == {"loss": 2.0, "accuracy": 0.5}


def test_a_failed_run_keeps_its_error(alice: Lab) -> None:
    run = alice.runs.create("finetune", project="acme/nlp")
    failed = alice.runs.update(run.id, status="failed", error="CUDA out of memory (cell 7)")
    assert failed.status == "failed" and failed.error == "CUDA out of memory (cell 7)"
    assert failed.ended_at is not None


# --- refusals ------------------------------------------------------------------------------------


def test_a_member_of_another_project_is_refused_every_call(alice: Lab, bob: Lab) -> None:
    run = alice.runs.create("finetune", project="acme/nlp")
    alice.runs.upload(run.id, "metrics.jsonl", b"{}\n")

    with pytest.raises(zslab.Forbidden):
        bob.runs.get(run.id)
    with pytest.raises(zslab.Forbidden):
        bob.runs.update(run.id, status="cancelled")
    with pytest.raises(zslab.Forbidden):
        bob.runs.upload(run.id, "evil.txt", b"x")
    with pytest.raises(zslab.Forbidden):
        bob.runs.download(run.id, "metrics.jsonl")
    with pytest.raises(zslab.Forbidden):
        bob.runs.artifacts(run.id)
    assert bob.runs.list() == []
    assert alice.runs.get(run.id).status == "running"


def test_creating_a_run_in_a_project_one_is_not_in_is_403(bob: Lab) -> None:
    with pytest.raises(zslab.Forbidden) as info:
        bob.runs.create("finetune", project="acme/nlp")
    assert info.value.field == "project"


def test_an_ended_run_cannot_go_back_to_running(alice: Lab) -> None:
    run = alice.runs.create("finetune", project="acme/nlp")
    alice.runs.update(run.id, status="completed")

    with pytest.raises(zslab.Conflict) as info:
        alice.runs.update(run.id, status="running")

    assert info.value.field == "status"
    assert "completed" in str(info.value) and "running" in str(info.value)
    assert alice.runs.get(run.id).status == "completed"


def test_an_unknown_status_is_422_naming_the_field(alice: Lab) -> None:
    run = alice.runs.create("finetune", project="acme/nlp")
    with pytest.raises(zslab.InvalidInput) as info:
        alice.runs.update(run.id, status="done")
    assert info.value.field == "status"


def test_an_unknown_field_is_422_naming_it(runs_hub: HubHandle, alice: Lab) -> None:
    with runs_hub.http(alice.token) as http:
        response = http.post("/api/v1/runs", json={"template": "finetune", "params": {}})
    assert response.status_code == 422
    assert response.json()["field"] == "params"


def test_a_run_on_an_unknown_lease_is_422(alice: Lab) -> None:
    with pytest.raises(zslab.InvalidInput) as info:
        alice.runs.create("finetune", project="acme/nlp", lease="lse_nope")
    assert info.value.field == "lease_id"


def test_an_artifact_name_with_odd_characters_is_422(alice: Lab) -> None:
    run = alice.runs.create("finetune", project="acme/nlp")
    with pytest.raises(zslab.InvalidInput) as info:
        alice.runs.upload(run.id, "my notes?.txt", b"x")
    assert info.value.field == "name"


def test_a_damaged_upload_is_refused_and_not_stored(runs_hub: HubHandle, alice: Lab) -> None:
    run = alice.runs.create("finetune", project="acme/nlp")
    with runs_hub.http(alice.token) as http:
        response = http.put(
            f"/api/v1/runs/{run.id}/artifacts/model.bin",
            content=b"flipped bits",
            headers={"X-Content-SHA256": hashlib.sha256(b"original").hexdigest()},
        )
    assert response.status_code == 422
    assert response.json()["field"] == "X-Content-SHA256"
    assert _blobs(runs_hub) == []
    assert alice.runs.artifacts(run.id) == []


# --- sizes ---------------------------------------------------------------------------------------


def test_an_artifact_larger_than_the_body_limit_uploads(runs_hub: HubHandle, alice: Lab) -> None:
    run = alice.runs.create("finetune", project="acme/nlp")
    data = b"\x07" * (2 * MiB)

    artifact = alice.runs.upload(run.id, "checkpoint/model.pt", data)

    assert artifact.size == 2 * MiB
    assert alice.runs.download(run.id, "checkpoint/model.pt") == data
    with runs_hub.http(alice.token) as http:  # other routes keep the 1 MiB limit
        too_big = http.patch(f"/api/v1/runs/{run.id}", json={"error": "x" * (2 * MiB)})
    assert too_big.status_code == 413


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_an_artifact_over_the_artifact_limit_is_413(
    runs_hub: HubHandle, alice: Lab, declared: bool
) -> None:
    run = alice.runs.create("finetune", project="acme/nlp")
    data = b"\x00" * (4 * MiB)
    body: bytes | Iterator[bytes] = (
        data if declared else iter([data[i : i + MiB] for i in range(0, len(data), MiB)])
    )
    with runs_hub.http(alice.token) as http:
        response = http.put(f"/api/v1/runs/{run.id}/artifacts/huge.bin", content=body)
    assert response.status_code == 413
    assert alice.runs.artifacts(run.id) == []
    assert _blobs(runs_hub) == []


# --- listing -------------------------------------------------------------------------------------


def test_listing_filters_by_template_status_and_project(admin: Lab, alice: Lab) -> None:
    tune = alice.runs.create("finetune", project="acme/nlp")
    evaluated = alice.runs.create("evaluate", project="acme/nlp")
    alice.runs.update(evaluated.id, status="completed")
    other = admin.runs.create("finetune", project="acme/cv")

    assert [r.id for r in alice.runs.list(template="finetune")] == [tune.id]
    assert [r.id for r in alice.runs.list(status="completed")] == [evaluated.id]
    assert {r.id for r in admin.runs.list(project="acme/cv")} == {other.id}
    assert {r.id for r in admin.runs.list(template="finetune")} == {tune.id, other.id}


def test_listing_pages_newest_first(runs_hub: HubHandle, alice: Lab) -> None:
    made = [alice.runs.create("finetune", project="acme/nlp").id for _ in range(5)]
    with runs_hub.http(alice.token) as http:
        first = http.get("/api/v1/runs", params={"limit": 2}).json()
        second = http.get(
            "/api/v1/runs", params={"limit": 2, "cursor": first["next_cursor"]}
        ).json()
    assert [r["id"] for r in first["items"] + second["items"]] == made[::-1][:4]
    assert first["items"][0]["artifacts"] is None
    assert alice.runs.list(limit=None) == alice.runs.list(limit=5)


# --- audit ---------------------------------------------------------------------------------------


def test_every_mutating_call_is_audited(admin: Lab, alice: Lab, bob: Lab) -> None:
    run = alice.runs.create("finetune", project="acme/nlp")
    alice.runs.upload(run.id, "executed.ipynb", NOTEBOOK)
    alice.runs.update(run.id, status="completed", metrics={"loss": 1.0})
    with pytest.raises(zslab.Forbidden):
        bob.runs.update(run.id, status="cancelled")

    events = admin.audit.list(object_id=run.id)
    seen = {(e.action, e.actor_name, e.status, e.outcome) for e in events}
    assert seen == {
        ("run.create", "alice", 201, "success"),
        ("run.artifact.put", "alice", 200, "success"),
        ("run.update", "alice", 200, "success"),
        ("run.update", "bob", 403, "denied"),
    }
    put = next(e for e in events if e.action == "run.artifact.put")
    assert put.detail is not None and hashlib.sha256(NOTEBOOK).hexdigest() in put.detail
    assert put.object_type == "run"


def test_a_refused_upload_is_audited(runs_hub: HubHandle, admin: Lab, alice: Lab) -> None:
    run = alice.runs.create("finetune", project="acme/nlp")
    with runs_hub.http(alice.token) as http:
        http.put(f"/api/v1/runs/{run.id}/artifacts/huge.bin", content=b"\x00" * (4 * MiB))
    [event] = admin.audit.list(action="run.artifact.put", object_id=run.id)
    assert (event.status, event.outcome) == (413, "invalid")


# --- the store itself ----------------------------------------------------------------------------


def test_the_store_is_content_addressed_and_idempotent(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path / "artifacts")
    digest, size = store.put([b"hello ", b"world"])
    again, _ = store.put(iter([b"hello world"]))

    assert digest == again == hashlib.sha256(b"hello world").hexdigest()
    assert size == 11
    assert (
        store.path(digest) == tmp_path / "artifacts" / "sha256" / digest[:2] / digest[2:4] / digest
    )
    with store.open(digest) as fh:
        assert fh.read() == b"hello world"
    assert store.exists(digest) and not store.exists("0" * 64)
    assert list((tmp_path / "artifacts" / "tmp").iterdir()) == []


def test_the_store_refuses_a_blob_whose_hash_is_not_the_expected_one(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    with pytest.raises(zslab.InvalidInput):
        store.put([b"abc"], expected_sha256="0" * 64)
    assert not store.exists(hashlib.sha256(b"abc").hexdigest())
    assert list((tmp_path / "tmp").iterdir()) == []
