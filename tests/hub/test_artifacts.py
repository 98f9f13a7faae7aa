"""The content-addressed artifact store on a local directory and on an fsspec URL (fsspec's
in-memory filesystem), and a hub that keeps its run artifacts at ``ZSLAB_ARTIFACTS_URL``."""

from __future__ import annotations

import hashlib
import os
import posixpath
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fsspec.core import url_to_fs

import zslab
from tests.conftest import HubHandle, member_lab, start_hub
from zslab.config import Settings
from zslab.hub.artifacts import ArtifactStore

MiB = 1 << 20


@pytest.fixture
def memory_url() -> Iterator[str]:
    """A fresh root on fsspec's in-memory filesystem, removed afterwards."""
    url = f"memory://zslab-test-{uuid.uuid4().hex}"
    yield url
    fs, root = url_to_fs(url)
    if fs.exists(root):
        fs.rm(root, recursive=True)


@pytest.fixture
def staging(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The system temporary directory, where a remote store stages blobs, made observable."""
    path = tmp_path / "system-tmp"
    path.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(path))
    return path


@pytest.fixture(params=["local", "memory"])
def store(
    request: pytest.FixtureRequest, tmp_path: Path, memory_url: str, staging: Path
) -> ArtifactStore:
    if request.param == "local":
        return ArtifactStore(tmp_path / "artifacts")
    return ArtifactStore(memory_url)


def _blobs(store: ArtifactStore) -> list[str]:
    """Names of the blobs stored, wherever the store keeps them."""
    if store.is_local:
        root = store.root / "sha256"
        return sorted(p.name for p in root.rglob("*") if p.is_file()) if root.exists() else []
    fs, root = url_to_fs(store.url)
    return sorted(posixpath.basename(key) for key in fs.find(root))


def _leftovers(store: ArtifactStore) -> list[str]:
    """Temporary files left behind by writers."""
    return os.listdir(store.tmp_dir) if store.tmp_dir.exists() else []


# --- round trips -------------------------------------------------------------------------------


def test_put_then_open_exists_and_size_give_the_bytes_back(store: ArtifactStore) -> None:
    digest, size = store.put([b"hello ", b"world"])

    assert digest == hashlib.sha256(b"hello world").hexdigest()
    assert size == 11
    with store.open(digest) as fh:
        assert fh.read() == b"hello world"
    assert store.exists(digest) and not store.exists("0" * 64)
    assert store.size(digest) == 11
    assert _blobs(store) == [digest]
    assert _leftovers(store) == []


def test_a_blob_lives_under_its_hash(store: ArtifactStore) -> None:
    digest, _ = store.put([b"abc"])

    relative = f"sha256/{digest[:2]}/{digest[2:4]}/{digest}"
    if store.is_local:
        assert store.local_path(digest) == store.root / relative
    else:
        fs, root = url_to_fs(store.url)
        assert fs.cat_file(f"{root}/{relative}") == b"abc"


def test_a_file_object_streams_in(store: ArtifactStore, tmp_path: Path) -> None:
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(MiB) * 2 + b"tail")

    with source.open("rb") as fh:
        digest, size = store.put(fh)

    assert size == 2 * MiB + 4
    with store.open(digest) as blob:
        assert blob.read() == source.read_bytes()


def test_the_same_bytes_twice_are_stored_once(store: ArtifactStore) -> None:
    first, _ = store.put([b"weights" * 1000])
    second, _ = store.put(iter([b"weights" * 500, b"weights" * 500]))

    assert first == second
    assert _blobs(store) == [first]
    assert _leftovers(store) == []


def test_a_missing_blob_cannot_be_opened_or_sized(store: ArtifactStore) -> None:
    with pytest.raises(FileNotFoundError):
        store.open("0" * 64)
    with pytest.raises(FileNotFoundError):
        store.size("0" * 64)


# --- refusals ----------------------------------------------------------------------------------


def test_a_blob_over_max_bytes_is_refused_and_nothing_stored(store: ArtifactStore) -> None:
    with pytest.raises(zslab.PayloadTooLarge):
        store.put([b"x" * 600, b"x" * 600], max_bytes=1000)

    assert _blobs(store) == []
    assert _leftovers(store) == []


def test_a_blob_with_the_wrong_hash_is_refused_and_nothing_stored(store: ArtifactStore) -> None:
    with pytest.raises(zslab.InvalidInput):
        store.put([b"abc"], expected_sha256="0" * 64)

    assert not store.exists(hashlib.sha256(b"abc").hexdigest())
    assert _blobs(store) == []
    assert _leftovers(store) == []


def test_an_aborted_writer_leaves_nothing(store: ArtifactStore) -> None:
    writer = store.writer()
    writer.write(b"half a checkpoint")

    writer.abort()

    assert _blobs(store) == []
    assert _leftovers(store) == []


# --- local or remote -----------------------------------------------------------------------------


def test_a_file_url_is_a_local_directory(tmp_path: Path) -> None:
    store = ArtifactStore(f"file://{tmp_path / 'artifacts'}")
    digest, _ = store.put([b"abc"])

    assert store.is_local
    assert store.local_path(digest) == store.path(digest)
    assert store.path(digest).read_bytes() == b"abc"


def test_a_remote_store_has_no_local_path(memory_url: str) -> None:
    store = ArtifactStore(memory_url)
    digest, _ = store.put([b"abc"])

    assert store.local_path(digest) is None
    with pytest.raises(ValueError, match="remote"):
        store.path(digest)


def test_from_settings_uses_the_artifacts_url_when_set(tmp_path: Path, memory_url: str) -> None:
    store = ArtifactStore.from_settings(Settings(home=tmp_path, artifacts_url=memory_url))

    assert store.url == memory_url and not store.is_local


def test_from_settings_defaults_to_the_home_directory(tmp_path: Path) -> None:
    store = ArtifactStore.from_settings(Settings(home=tmp_path))

    assert store.is_local and store.root == tmp_path / "artifacts"


def test_the_artifacts_url_is_read_from_the_environment(
    tmp_path: Path, memory_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZSLAB_ARTIFACTS_URL", memory_url)

    assert Settings(home=tmp_path).artifacts_url == memory_url


def test_an_unknown_protocol_names_the_setting_and_the_fix() -> None:
    with pytest.raises(zslab.InvalidInput) as caught:
        ArtifactStore("nosuchfs://bucket/zslab")

    assert caught.value.field == "ZSLAB_ARTIFACTS_URL"
    assert "nosuchfs" in str(caught.value)
    assert caught.value.fix and "ZSLAB_ARTIFACTS_URL" in caught.value.fix


# --- a hub with a remote store -------------------------------------------------------------------


@pytest.fixture
def remote_hub(
    tmp_path: Path, memory_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[HubHandle]:
    """A hub (served from a thread, so it shares this process's memory filesystem) whose
    artifacts go to ``memory://…``."""
    monkeypatch.setenv("ZSLAB_ARTIFACTS_URL", memory_url)
    handle = start_hub(
        Settings(home=tmp_path / "zslab-home", db_url=f"sqlite:///{tmp_path / 'hub.db'}")
    )
    yield handle
    handle.stop()


def test_a_hub_stores_and_serves_artifacts_at_its_artifacts_url(
    remote_hub: HubHandle, memory_url: str
) -> None:
    data = os.urandom(MiB) * 2 + b"tail"  # more than one streamed chunk
    digest = hashlib.sha256(data).hexdigest()
    with remote_hub.lab() as admin:
        admin.orgs.add("acme")
        admin.projects.add("acme", "nlp")
        alice = member_lab(remote_hub, admin, "alice")
        admin.projects.add_member("acme/nlp", "alice")
        run = alice.runs.create("finetune", project="acme/nlp")

        artifact = alice.runs.upload(run.id, "model.bin", data, media_type="application/x-torch")
        with remote_hub.http(alice.token) as http:
            response = http.get(f"/api/v1/runs/{run.id}/artifacts/model.bin")
        alice.close()

    assert artifact.sha256 == digest
    assert ArtifactStore(memory_url).exists(digest)
    assert not (remote_hub.settings.artifacts_dir / "sha256").exists()
    assert response.status_code == 200
    assert response.content == data
    assert response.headers["content-type"] == "application/x-torch"
    assert response.headers["content-length"] == str(len(data))
    assert response.headers["etag"] == f'"{digest}"'
    assert response.headers["x-content-sha256"] == digest


def test_a_hub_reports_remote_bytes_gone_missing_as_storage_unavailable(
    remote_hub: HubHandle, memory_url: str
) -> None:
    with remote_hub.lab() as admin:
        admin.orgs.add("acme")
        admin.projects.add("acme", "nlp")
        run = admin.runs.create("finetune", project="acme/nlp")
        artifact = admin.runs.upload(run.id, "notes.txt", b"lost")
        fs, root = url_to_fs(memory_url)
        fs.rm(root, recursive=True)

        with pytest.raises(zslab.StorageUnavailable):
            admin.runs.download(run.id, "notes.txt")

    assert artifact.sha256 == hashlib.sha256(b"lost").hexdigest()
