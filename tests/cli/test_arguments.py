"""``zslab.cli._arguments``: option values read before any hub is asked."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from zslab.cli._arguments import csv_list, existing_file, iso_time
from zslab.errors import InvalidInput


def test_an_iso_time_keeps_its_zone() -> None:
    parsed = iso_time("2026-11-26T09:00:00+08:00", "--since")

    assert parsed.utcoffset() == timedelta(hours=8) and parsed.hour == 9


def test_a_time_without_a_zone_is_read_in_this_machines_zone() -> None:
    parsed = iso_time("2026-11-26T09:00", "--since")

    assert parsed.tzinfo is not None
    assert parsed == datetime(2026, 11, 26, 9, 0).astimezone()


def test_a_date_is_midnight_here() -> None:
    assert iso_time("2026-11-26", "--until") == datetime(2026, 11, 26).astimezone()


def test_a_time_that_is_not_iso_names_the_option_and_the_fix() -> None:
    with pytest.raises(InvalidInput) as caught:
        iso_time("next week", "--max-age")

    assert caught.value.field == "max_age"
    assert caught.value.detail == "--max-age: 'next week' is not an ISO 8601 time."
    assert (
        caught.value.fix is not None and "--max-age 2026-11-26T09:00:00+08:00" in caught.value.fix
    )


def test_an_existing_file_is_its_path(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text("name: x\n", encoding="utf-8")

    assert existing_file(str(path), "--file") == path


@pytest.mark.parametrize("make_dir", [False, True])
def test_a_missing_file_or_a_folder_names_the_option(tmp_path: Path, make_dir: bool) -> None:
    path = tmp_path / "site.yaml"
    if make_dir:
        path.mkdir()

    with pytest.raises(InvalidInput) as caught:
        existing_file(str(path), "--trace-nodes")

    assert caught.value.field == "trace_nodes"
    assert caught.value.detail == f"{path} is not a file."
    assert caught.value.fix == "Point --trace-nodes at an existing file."


def test_a_comma_list_drops_blanks_and_spaces() -> None:
    assert csv_list(" read, write,,admin ,") == ["read", "write", "admin"]
    assert csv_list("") == []
