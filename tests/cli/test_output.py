"""``zslab.cli._output``: the one way the command line prints a listing (a table or JSON)."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import BaseModel

from zslab.cli._output import cell, print_table, show


class Row(BaseModel):
    name: str
    tags: list[str]
    at: datetime | None


ROWS = [
    Row(name="alice", tags=["a", "b"], at=datetime(2026, 11, 26, 9, 0, 0, 123, tzinfo=UTC)),
    Row(name="bo", tags=[], at=None),
]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "-"),
        ([], "-"),
        (["read", "write"], "read,write"),
        (datetime(2026, 11, 26, 1, 2, 3, 456, tzinfo=UTC), "2026-11-26T01:02:03Z"),
        (
            datetime(2026, 11, 26, 9, 2, 3, tzinfo=timezone(timedelta(hours=8))),
            "2026-11-26T09:02:03+08:00",
        ),
        (0.5, "0.5"),
        (False, "False"),
    ],
)
def test_a_cell_reads_as_the_tables_always_have(value: object, text: str) -> None:
    assert cell(value) == text


def test_a_table_pads_columns_to_their_widest_cell(capsys: pytest.CaptureFixture[str]) -> None:
    print_table(ROWS, ("name", "tags", "at"))

    assert capsys.readouterr().out.splitlines() == [
        "NAME   TAGS  AT",
        "alice  a,b   2026-11-26T09:00:00Z",
        "bo     -     -",
    ]


def test_mappings_print_like_models(capsys: pytest.CaptureFixture[str]) -> None:
    print_table([{"name": "alice", "tags": ["a", "b"]}], ("name", "tags", "missing"))

    assert capsys.readouterr().out.splitlines() == ["NAME   TAGS  MISSING", "alice  a,b   -"]


def test_an_empty_listing_says_none(capsys: pytest.CaptureFixture[str]) -> None:
    print_table([], ("name",))

    assert capsys.readouterr().out == "(none)\n"


def test_show_prints_json_with_the_flag_and_a_table_without(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert show(argparse.Namespace(json=True), ROWS, ("name",)) == 0
    as_json = json.loads(capsys.readouterr().out)
    assert show(argparse.Namespace(json=False), ROWS[0], ("name",)) == 0
    as_table = capsys.readouterr().out

    assert as_json[0] == {"name": "alice", "tags": ["a", "b"], "at": "2026-11-26T09:00:00.000123Z"}
    assert as_table == "NAME\nalice\n"


def test_json_keeps_chinese_readable(capsys: pytest.CaptureFixture[str]) -> None:
    show(argparse.Namespace(json=True), {"title": "信贷风控"}, ())

    assert "信贷风控" in capsys.readouterr().out
