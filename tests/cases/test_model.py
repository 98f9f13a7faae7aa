"""The case library's pure rules: results (model-index), the review workflow, leaderboard
ranking with ties, reproduction verdicts, slugs and model cards."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from zslab.cases.model import (
    BoardEntry,
    MetricRow,
    ResultsError,
    compare_reproduction,
    higher_is_better,
    metric_rows,
    model_card,
    normalize_results,
    rank_board,
    results_entry,
    results_from_runs,
    slugify,
    transition,
)


def _result(**metric: Any) -> dict[str, Any]:
    return {
        "task": "text-classification",
        "dataset": {"name": "reviews"},
        "metrics": [{"type": "accuracy", "value": 0.9, **metric}],
    }


# --- results -----------------------------------------------------------------------------------


def test_results_accept_strings_for_task_and_dataset_and_low_high_for_the_interval() -> None:
    results = normalize_results(
        [
            {
                "task": "text-classification",
                "dataset": "reviews",
                "metrics": [{"type": "accuracy", "value": 0.9, "low": 0.85, "high": 0.95}],
            }
        ]
    )

    assert results == [
        {
            "task": {"type": "text-classification"},
            "dataset": {"name": "reviews"},
            "metrics": [
                {"type": "accuracy", "value": 0.9, "ci": [0.85, 0.95], "higher_is_better": True}
            ],
        }
    ]


@pytest.mark.parametrize(
    ("result", "field"),
    [
        ({"task": "t", "metrics": [{"type": "accuracy", "value": 1}]}, "results[0].dataset"),
        ({"dataset": "d", "metrics": [{"type": "accuracy", "value": 1}]}, "results[0].task"),
        ({"task": "t", "dataset": "d", "metrics": []}, "results[0].metrics"),
        ({"task": "t", "dataset": "d", "metrics": [{"value": 1}]}, "results[0].metrics[0]"),
        (_result(value="high"), "results[0].metrics[0].value"),
        (_result(value=float("nan")), "results[0].metrics[0].value"),
        (_result(value=True), "results[0].metrics[0].value"),
        (_result(ci=[0.95, 0.99]), "results[0].metrics[0].ci"),
        (_result(low=0.8), "results[0].metrics[0].ci"),
        ({**_result(), "dataset": {"name": "d", "sha256": "XYZ"}}, "results[0].dataset.sha256"),
    ],
)
def test_bad_results_name_the_field(result: dict[str, Any], field: str) -> None:
    with pytest.raises(ResultsError) as info:
        normalize_results([result])

    assert field in [e["field"] for e in info.value.errors]


def test_no_results_at_all_is_an_error_with_an_example() -> None:
    with pytest.raises(ResultsError) as info:
        normalize_results([])

    assert info.value.errors[0]["field"] == "results"
    assert "accuracy" in info.value.errors[0]["message"]


def test_lower_is_better_metrics_are_recognized() -> None:
    assert [higher_is_better(m) for m in ("accuracy", "perplexity", "eval_loss", "ECE")] == [
        True,
        False,
        False,
        False,
    ]


def test_results_entry_round_trips_through_normalize_and_metric_rows() -> None:
    entry = results_entry(
        task="text-classification",
        dataset="reviews",
        metrics={"accuracy": {"value": 0.9, "low": 0.8, "high": 0.95}, "n": 100},
        dataset_sha256="ab" * 32,
        config_hash="cfg",
    )

    rows = metric_rows(normalize_results([entry]))

    assert rows == [
        MetricRow("text-classification", "reviews", "ab" * 32, "cfg", "accuracy", 0.9, 0.8, 0.95),
        MetricRow("text-classification", "reviews", "ab" * 32, "cfg", "n", 100.0),
    ]


def test_results_from_runs_collects_lists_and_single_results_in_order() -> None:
    first, second = _result(), _result(value=0.5)

    found = results_from_runs([{"results": [first]}, {"loss": 1.0}, {"results": second}])

    assert found == [first, second]


# --- review workflow ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "action", "after"),
    [
        ("draft", "submit", "in_review"),
        ("in_review", "approve", "published"),
        ("in_review", "request_changes", "draft"),
        ("in_review", "withdraw", "draft"),
        ("published", "archive", "archived"),
        ("published", "comment", "published"),
    ],
)
def test_allowed_transitions(status: str, action: str, after: str) -> None:
    assert transition(status, action) == after


@pytest.mark.parametrize(
    ("status", "action"),
    [("draft", "approve"), ("published", "submit"), ("archived", "approve"), ("published", "x")],
)
def test_other_transitions_are_refused_saying_what_is_possible(status: str, action: str) -> None:
    with pytest.raises(ValueError) as info:
        transition(status, action)

    assert "comment" in str(info.value) or "unknown action" in str(info.value)


# --- leaderboards ------------------------------------------------------------------------------


def test_lower_is_better_boards_rank_the_smallest_first() -> None:
    low = BoardEntry("low", 1, "L", 10.0, 9.5, 10.5)
    high = BoardEntry("high", 1, "H", 20.0, 19.0, 21.0)

    ranked = rank_board([high, low], higher_better=False)

    assert [(e.slug, e.rank, e.tied) for e in ranked] == [("low", 1, False), ("high", 2, False)]


def test_point_values_without_intervals_tie_only_when_equal() -> None:
    a, b, c = (BoardEntry(s, 1, s, v, None, None) for s, v in (("a", 0.9), ("b", 0.9), ("c", 0.8)))

    ranked = rank_board([c, b, a])

    assert [(e.slug, e.rank, e.tied) for e in ranked] == [
        ("a", 1, True),
        ("b", 1, True),
        ("c", 3, False),
    ]


intervals = st.tuples(st.floats(0, 1, allow_nan=False), st.floats(0, 0.2, allow_nan=False)).map(
    lambda t: (t[0], max(0.0, t[0] - t[1]), t[0] + t[1])
)


@given(st.lists(intervals, min_size=1, max_size=12))
def test_a_clearly_better_entry_always_ranks_above(entries: list[tuple[float, ...]]) -> None:
    board = [BoardEntry(f"c{i}", 1, "", v, lo, hi) for i, (v, lo, hi) in enumerate(entries)]

    ranked = rank_board(board)

    assert min(e.rank for e in ranked) == 1
    for x in ranked:
        for y in ranked:
            if x.interval()[0] > y.interval()[1]:  # x's interval lies wholly above y's
                assert x.rank < y.rank
    assert [e.value for e in ranked] == sorted((e.value for e in ranked), reverse=True)


# --- reproduction ------------------------------------------------------------------------------


def test_a_missing_metric_is_a_mismatch() -> None:
    published = [
        MetricRow("t", "d", None, None, "accuracy", 0.9),
        MetricRow("t", "d", None, None, "f1", 0.8),
    ]
    again = [MetricRow("t", "d", None, None, "accuracy", 0.9)]

    verdict = compare_reproduction(published, again)

    assert not verdict.matched
    assert [(c.metric, c.rule, c.matched) for c in verdict.comparisons] == [
        ("accuracy", "|Δ| ≤ 1e-06", True),
        ("f1", "missing", False),
    ]


def test_disjoint_intervals_do_not_match_and_a_tolerance_overrides_them() -> None:
    published = [MetricRow("t", "d", None, None, "accuracy", 0.90, 0.88, 0.92)]
    again = [MetricRow("t", "d", None, None, "accuracy", 0.85, 0.83, 0.87)]

    assert not compare_reproduction(published, again).matched
    assert compare_reproduction(published, again, {"accuracy": 0.06}).matched


# --- slugs and cards ---------------------------------------------------------------------------


def test_slugs_come_from_the_first_title_with_ascii_words_and_never_collide() -> None:
    first = slugify(None, "信贷风控模型", "Credit Risk: v2!")
    second = slugify("信贷风控模型", "Credit Risk: v2!")

    assert first.startswith("credit-risk-v2-") and second.startswith("credit-risk-v2-")
    assert first != second
    assert slugify("只有中文", suffix=False) == "case"
    assert slugify("2024 report", suffix=False) == "case-2024-report"


def test_model_card_front_matter_is_valid_model_index_yaml_with_quotes_escaped() -> None:
    results = normalize_results(
        [results_entry(task="text-classification", dataset='re"views', metrics={"acc": 0.9})]
    )
    case = {"slug": "s", "sector": "finance", "reproduced": True}
    version = {"title": "标题: 含冒号", "license": "mit", "tags": ["a: b"], "results": results}

    text = model_card(case, version)

    front = yaml.safe_load(text.split("---")[1])
    assert front["license"] == "mit"
    assert front["tags"] == ["zslab", "sector:finance", "a: b"]
    result = front["model-index"][0]["results"][0]
    assert result["dataset"]["name"] == 're"views'
    assert result["metrics"] == [{"type": "acc", "value": 0.9, "verified": True}]
