"""Small pure pieces: ids, the error tree, settings and the runtime file, import cost."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import zslab
from zslab.config import RuntimeInfo, Settings, load_settings
from zslab.errors import Conflict, InvalidInput, NotFound, ServerError, error_class_for
from zslab.ids import new_id, prefix_of


def test_ids_carry_their_type_and_sort_by_time() -> None:
    early = new_id("prj", now_ms=1_700_000_000_000)
    late = new_id("prj", now_ms=1_700_000_000_001)
    assert early.startswith("prj_") and len(early) == 4 + 26
    assert early < late
    assert prefix_of(early) == "project"
    assert prefix_of("nonsense") is None


def test_ids_do_not_collide_within_a_millisecond() -> None:
    ids = {new_id("usr", now_ms=42) for _ in range(10_000)}
    assert len(ids) == 10_000


@pytest.mark.parametrize(
    ("status", "problem_type", "expected"),
    [
        (404, None, NotFound),
        (409, "/api/v1/problems/conflict", Conflict),
        (400, "/api/v1/problems/invalid-input", InvalidInput),  # type wins over status
        (599, None, ServerError),
    ],
)
def test_error_class_for_problem(status: int, problem_type: str | None, expected: type) -> None:
    assert error_class_for(status, problem_type) is expected


def test_error_text_includes_the_fix_once() -> None:
    err = NotFound("No user 'x'.", fix="Add it.")
    assert str(err) == "No user 'x'. Fix: Add it."


def test_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ZSLAB_HOME", str(tmp_path))
    monkeypatch.setenv("ZSLAB_MAX_BODY_BYTES", "4096")
    settings = load_settings()
    assert settings.max_body_bytes == 4096
    assert settings.database_url == f"sqlite:///{tmp_path / 'zslab.db'}"


def test_a_bad_setting_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZSLAB_MAX_BODY_BYTES", "lots")
    with pytest.raises(zslab.ConfigError) as caught:
        load_settings()
    assert caught.value.field == "max_body_bytes"
    assert "ZSLAB_MAX_BODY_BYTES" in (caught.value.fix or "")


def test_runtime_file_is_private_and_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "runtime.json"
    info = RuntimeInfo("http://127.0.0.1:1", "zsl_t", 1, "now", "0", "sqlite://")
    info.write(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert RuntimeInfo.read(path) == info


def test_damaged_runtime_file_says_how_to_recover(tmp_path: Path) -> None:
    path = tmp_path / "runtime.json"
    path.write_text("{not json")
    with pytest.raises(zslab.ConfigError) as caught:
        RuntimeInfo.read(path)
    assert "zslab down" in (caught.value.fix or "")


def test_importing_zslab_loads_no_heavy_library() -> None:
    heavy = [
        "torch",
        "dask",
        "distributed",
        "fastapi",
        "sqlalchemy",
        "httpx",
        "pydantic",
        "polars",
        "pyarrow",
        "numpy",
    ]
    code = f"import sys, json, zslab; print(json.dumps([m for m in {heavy!r} if m in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_connect_is_available_lazily() -> None:
    assert callable(zslab.connect)
    assert zslab.connect.__module__ == "zslab.client"


def test_settings_default_home_follows_xdg(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ZSLAB_HOME", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", "/srv/data")
    assert Settings().home == Path("/srv/data/zslab")
