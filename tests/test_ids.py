"""Ids with a type prefix (``prj_…``) that sort by time and never collide."""

from __future__ import annotations

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
