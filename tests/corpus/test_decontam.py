"""Decontamination (zslab.corpus.decontam): evaluation items found in training documents by
13-word or 23-character spans, recorded with what matched what."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.corpus.conftest import EN_HARBOUR, EN_MUSIC, QUESTION, ZH_PARKS, ZH_SCHOOLS
from zslab.corpus.core import Drop, StepStats, texts
from zslab.corpus.decontam import Decontaminate
from zslab.corpus.dedup import is_cjk_dominant

_CJK = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")


def _words(text: str, start: int, count: int) -> str:
    return " ".join(text.split()[start : start + count])


def test_a_document_with_a_13_word_span_of_an_item_is_dropped_and_recorded(
    eval_set: Path,
) -> None:
    step = Decontaminate(eval_sets=[str(eval_set)])
    stats = StepStats(step.name)
    doc = f"Forum post: here is a fun one. {_words(QUESTION, 5, 13)}? Answer below."
    assert step.apply_doc("web-42", doc, stats) == Drop("decontaminate:riddles_test")
    assert stats.details["matches"] == {"riddles_test/q1": ["web-42"]}


def test_twelve_overlapping_words_are_not_contamination(eval_set: Path) -> None:
    step = Decontaminate(eval_sets=[str(eval_set)])
    stats = StepStats(step.name)
    doc = f"Forum post: here is a fun one. {_words(QUESTION, 5, 12)}? Answer below."
    assert step.apply_doc("web-43", doc, stats) == doc
    assert "matches" not in stats.details


def test_flag_mode_keeps_the_document_and_counts_it(eval_set: Path) -> None:
    step = Decontaminate(eval_sets=[str(eval_set)], action="flag")
    table = texts(
        [
            {"id": "a", "text": "nothing to see here"},
            {"id": "b", "text": QUESTION.upper()},
        ]
    )
    stats = StepStats(step.name)
    out = step.process(table, stats)
    assert out.num_rows == 2
    assert stats.counters["decontaminate:riddles_test"] == 1
    assert stats.details["matches"] == {"riddles_test/q1": ["b"]}


def test_chinese_items_match_by_cjk_characters(eval_set: Path) -> None:
    step = Decontaminate(eval_sets=[str(eval_set)])
    span = "".join(c for c in ZH_SCHOOLS if _CJK.match(c))[10:33]  # 23 CJK characters
    doc = f"转载：{span[:5]}，{span[5:]}……（完）"
    short = f"转载：{span[:22]}……（完）"
    stats = StepStats(step.name)
    assert step.apply_doc("zh-1", doc, stats) == Drop("decontaminate:riddles_test")
    assert step.apply_doc("zh-2", short, stats) == short
    assert stats.details["matches"] == {"riddles_test/q2": ["zh-1"]}


def test_an_english_item_quoted_in_a_chinese_page_is_found(eval_set: Path) -> None:
    step = Decontaminate(eval_sets=[str(eval_set)])
    doc = f"{ZH_PARKS}网友出了一道英文题：“{QUESTION}”，你知道答案吗？"
    assert is_cjk_dominant(doc)
    assert step.apply_doc("zh-3", doc, StepStats(step.name)) == Drop("decontaminate:riddles_test")


def test_min_matches_requires_that_many_distinct_spans(eval_set: Path) -> None:
    step = Decontaminate(eval_sets=[str(eval_set)], min_matches=3)
    two_spans = _words(QUESTION, 0, 14)
    three_spans = _words(QUESTION, 0, 15)
    stats = StepStats(step.name)
    assert step.apply_doc("x", two_spans, stats) == two_spans
    assert step.apply_doc("y", three_spans, stats) == Drop("decontaminate:riddles_test")


def test_plain_text_eval_sets_number_items_by_line(tmp_path: Path) -> None:
    path = tmp_path / "lines.txt"
    path.write_text(f"first item is short\n\n{QUESTION}\n")
    step = Decontaminate(eval_sets=[str(path)])
    stats = StepStats(step.name)
    assert step.apply_doc("d", QUESTION, stats) == Drop("decontaminate:lines")
    assert stats.details["matches"] == {"lines/3": ["d"]}
    assert stats.details["eval_items_too_short"] == 1


def test_the_index_is_rebuilt_when_an_eval_file_changes(tmp_path: Path) -> None:
    path = tmp_path / "moving.txt"
    path.write_text(EN_HARBOUR + "\n")
    step = Decontaminate(eval_sets=[str(path)])
    assert step.apply_doc("d", EN_MUSIC, StepStats(step.name)) == EN_MUSIC
    path.write_text(EN_MUSIC + "\n")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert step.apply_doc("d", EN_MUSIC, StepStats(step.name)) == Drop("decontaminate:moving")


def test_a_missing_eval_file_is_named_in_the_error(tmp_path: Path) -> None:
    step = Decontaminate(eval_sets=[str(tmp_path / "nope.jsonl")])
    with pytest.raises(FileNotFoundError, match=r"nope\.jsonl"):
        step.apply_doc("d", "text", StepStats(step.name))
