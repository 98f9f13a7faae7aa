"""Settings from ``ZSLAB_*`` variables and the embedded hub's runtime file."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

import zslab
from zslab.config import RuntimeInfo, Settings, load_settings


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


def test_settings_default_home_follows_xdg(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ZSLAB_HOME", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", "/srv/data")
    assert Settings().home == Path("/srv/data/zslab")
