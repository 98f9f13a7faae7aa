"""Case search: Chinese substrings and English words, filters, sorts, re-indexing, hostile input.

Runs on a migrated SQLite file and on a fresh PostgreSQL database (skipped when unreachable).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zslab.cases.search import (
    InvalidSearch,
    index_case,
    search_cases,
    search_text,
    tokens,
    unindex_case,
)
from zslab.hub.db import migrate
from zslab.hub.db.engine import Database
from zslab.hub.db.orm import (
    CaseMetricRow,
    CaseRow,
    CaseVersionRow,
    Organization,
    Project,
    User,
)

_ids = itertools.count(1)
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def session(db_url: str) -> Iterator[Session]:
    """A session on a migrated database holding one user, two organizations and a project."""
    db = Database(db_url)
    migrate.upgrade(db)
    with db.write_session() as s:
        s.add_all(
            [
                User(id="u1", name="alice"),
                Organization(id="o1", slug="acme", name="Acme"),
                Organization(id="o2", slug="beta", name="Beta"),
            ]
        )
        s.flush()
        s.add(Project(id="p1", org_id="o1", slug="lab", name="Lab"))
        s.flush()
        yield s
        s.rollback()
    db.dispose()


def add_case(session: Session, title: str, **fields: Any) -> CaseRow:
    n = next(_ids)
    metrics: list[tuple[str, str, float, bool]] = fields.pop("metrics", [])
    row = CaseRow(
        id=f"c{n}",
        slug=f"case-{n}",
        org_id=fields.pop("org_id", "o1"),
        project_id="p1",
        owner_id="u1",
        sector=fields.pop("sector", "finance"),
        visibility="public",
        updated_at=T0 + timedelta(minutes=n),
        title=title,
        task=fields.pop("task", "text-classification"),
        license=fields.pop("license", "apache-2.0"),
        tags=fields.pop("tags", []),
        datasets=fields.pop("datasets", []),
        status="published",
        current_version=1,
        **fields,
    )
    session.add(row)
    session.flush()
    if metrics:
        version = CaseVersionRow(
            id=f"v{n}",
            case_id=row.id,
            number=1,
            status="published",
            title=title,
            task=row.task,
            license=row.license,
            tags=[],
            results=[],
            tolerance={},
            data_card={},
            run_ids=[],
            notebooks=[],
            compute={},
            provenance={},
            created_by="u1",
        )
        session.add(version)
        session.flush()
        for dataset, metric, value, published in metrics:
            session.add(
                CaseMetricRow(
                    version_id=version.id,
                    case_id=row.id,
                    task=row.task,
                    dataset=dataset,
                    metric=metric,
                    value=value,
                    higher_is_better=metric != "perplexity",
                    published=published,
                )
            )
        session.flush()
    index_case(session, row)
    return row


def ids(session: Session, query: str | None, **options: Any) -> list[str]:
    hits, total, _ = search_cases(session, query, **options)
    assert total >= len(hits)
    return [hit.case_id for hit in hits]


def found(session: Session, query: str | None, **options: Any) -> set[str]:
    return set(ids(session, query, limit=100, **options))


# --- tokens -----------------------------------------------------------------------------------


def test_tokens_are_cjk_bigrams_and_lowercased_words() -> None:
    assert tokens("信贷风控 Qwen2.5-7B") == ["信贷", "贷风", "风控", "控", "qwen2", "5", "7b"]


def test_search_text_covers_every_field() -> None:
    text = search_text(
        title="医疗", title_en="Imaging", summary="CT", tags=["肺"], model="ViT", datasets=["LIDC"]
    )
    assert text.split() == ["医疗", "疗", "imaging", "ct", "肺", "vit", "lidc"]


# --- Chinese --------------------------------------------------------------------------------


def test_two_chinese_characters_match_that_substring_only(session: Session) -> None:
    loan = add_case(session, "信贷风控模型")
    add_case(session, "西湖风景识别")
    assert found(session, "风控") == {loan.id}


def test_four_chinese_characters_match_the_exact_substring(session: Session) -> None:
    loan = add_case(session, "信贷风控模型")
    add_case(session, "风控规则与信贷模型")  # same bigrams, not the same substring
    assert found(session, "信贷风控") == {loan.id}


def test_one_chinese_character_matches_anywhere_in_a_run(session: Session) -> None:
    middle = add_case(session, "医疗影像分割")
    end = add_case(session, "智慧医")
    add_case(session, "城市交通")
    assert found(session, "医") == {middle.id, end.id}
    assert found(session, "割") == {middle.id}


def test_summary_tags_model_and_dataset_names_are_searchable(session: Session) -> None:
    case = add_case(
        session,
        "标题",
        summary="面向客服场景的意图识别",
        tags=["大模型", "RAG"],
        model="Qwen2.5-7B-LoRA",
        datasets=["CLUE-TNEWS"],
    )
    add_case(session, "其他案例")
    for query in ("客服", "大模型", "rag", "qwen2.5-7b-lora", "lora", "tnews", "clue-tnews"):
        assert found(session, query) == {case.id}, query


# --- English and mixed ----------------------------------------------------------------------


def test_english_words_match_case_insensitively(session: Session) -> None:
    case = add_case(session, "标题", title_en="Credit Risk Scoring")
    add_case(session, "别的", title_en="Crop yield forecast")
    assert found(session, "CREDIT risk") == {case.id}


def test_last_english_word_matches_as_a_prefix(session: Session) -> None:
    case = add_case(session, "标题", title_en="Transformer anomaly detection")
    add_case(session, "别的", title_en="Transfer of funds")
    assert found(session, "transf") >= {case.id}
    assert found(session, "transfo") == {case.id}
    assert found(session, "transf anomaly") == set()  # only the last word is a prefix


def test_terms_in_both_languages_must_all_match(session: Session) -> None:
    both = add_case(session, "信贷风控", title_en="with LoRA")
    add_case(session, "信贷风控", title_en="full fine-tuning")
    add_case(session, "客服", title_en="with LoRA")
    assert found(session, "风控 lora") == {both.id}


def test_empty_or_blank_query_means_no_text_filter(session: Session) -> None:
    cases = {add_case(session, "甲").id, add_case(session, "乙").id}
    assert found(session, None) == cases
    assert found(session, "") == cases
    assert found(session, "   \t ") == cases


# --- filters and sorts ---------------------------------------------------------------------


def test_every_filter_narrows_the_results(session: Session) -> None:
    target = add_case(
        session,
        "风控甲",
        sector="finance",
        task="tabular-classification",
        org_id="o2",
        license="mit",
        reproduced=True,
        metrics=[("lendingclub", "auc", 0.8, True)],
    )
    add_case(session, "风控乙", sector="healthcare")
    add_case(session, "风控丙", task="ner")
    add_case(session, "风控丁", org_id="o1")
    add_case(session, "风控戊", license="cc-by-4.0")
    add_case(session, "风控己", metrics=[("other-data", "auc", 0.9, True)])
    everything = found(session, "风控")
    assert len(everything) == 6
    assert found(session, "风控", sector="finance") == everything - {*found(session, "风控乙")}
    assert target.id in found(session, "风控", task="tabular-classification")
    assert found(session, "风控", task="tabular-classification") == {target.id}
    assert found(session, "风控", org_id="o2") == {target.id}
    assert target.id in found(session, "风控", license="mit")
    assert found(session, "风控", license="mit") == {target.id}
    assert found(session, "风控", dataset="lendingclub") == {target.id}
    assert found(session, "风控", reproduced_only=True) == {target.id}
    assert found(session, "风控", where=CaseRow.slug == target.slug) == {target.id}


def test_recent_sort_puts_the_latest_update_first(session: Session) -> None:
    old, new = add_case(session, "模型一"), add_case(session, "模型二")
    assert ids(session, "模型", sort="recent") == [new.id, old.id]
    assert ids(session, None) == [new.id, old.id]  # relevance without a query is recency


def test_metric_sort_ranks_the_best_published_value_and_skips_the_rest(
    session: Session,
) -> None:
    low = add_case(session, "甲", metrics=[("d", "accuracy", 0.7, True)])
    high = add_case(
        session, "乙", metrics=[("d", "accuracy", 0.9, True), ("d", "accuracy", 0.8, True)]
    )
    add_case(session, "丙", metrics=[("d", "accuracy", 0.99, False)])  # unpublished
    add_case(session, "丁", metrics=[("d", "f1", 0.5, True)])  # another metric
    hits, total, _ = search_cases(session, None, sort="metric:accuracy")
    assert [(h.case_id, h.score) for h in hits] == [(high.id, 0.9), (low.id, 0.7)]
    assert total == 2


def test_metric_sort_puts_the_lowest_first_when_lower_is_better(session: Session) -> None:
    worse = add_case(session, "甲", metrics=[("d", "perplexity", 12.0, True)])
    better = add_case(session, "乙", metrics=[("d", "perplexity", 8.5, True)])
    hits, _, _ = search_cases(session, None, sort="metric:perplexity")
    assert [(h.case_id, h.score) for h in hits] == [(better.id, 8.5), (worse.id, 12.0)]


def test_relevance_ranks_the_better_match_first(session: Session) -> None:
    weak = add_case(session, "风控", summary="一篇很长的摘要" * 20)
    strong = add_case(session, "风控", summary="风控 风控 风控")
    hits, _, _ = search_cases(session, "风控")
    assert [h.case_id for h in hits] == [strong.id, weak.id]
    assert hits[0].score is not None and hits[1].score is not None
    assert hits[0].score > hits[1].score


def test_limit_and_offset_page_through_with_the_full_total(session: Session) -> None:
    for n in range(5):
        add_case(session, f"客服{n}")
    hits, total, _ = search_cases(session, "客服", sort="recent", limit=2, offset=2)
    assert total == 5
    assert len(hits) == 2


# --- index maintenance ----------------------------------------------------------------------


def test_reindexing_after_a_title_change_drops_the_old_words(session: Session) -> None:
    case = add_case(session, "信贷风控")
    case.title = "智能客服"
    index_case(session, case)
    assert found(session, "风控") == set()
    assert found(session, "客服") == {case.id}


def test_unindexed_case_is_not_found_by_text(session: Session) -> None:
    case = add_case(session, "信贷风控")
    unindex_case(session, case)
    assert found(session, "风控") == set()
    index_case(session, case)
    assert found(session, "风控") == {case.id}


def test_deleted_case_leaves_no_match(session: Session) -> None:
    case = add_case(session, "信贷风控")
    session.delete(case)
    session.flush()
    assert search_cases(session, "风控") == ([], 0, True)


def test_a_common_word_is_ranked_among_the_newest_candidates_and_counted_as_a_lower_bound(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    import zslab.cases.search as search

    if session.get_bind().dialect.name != "sqlite":
        pytest.skip("the candidate bound is SQLite's (PostgreSQL ranks every match)")
    cases = [add_case(session, f"客服模型 {i}") for i in range(5)]
    monkeypatch.setattr(search, "CANDIDATES", 3)

    hits, total, exact = search_cases(session, "客服")
    few_hits, few_total, few_exact = search_cases(session, "客服", sector="healthcare")

    assert (total, exact) == (3, False)
    assert {h.case_id for h in hits} == {c.id for c in cases[2:]}  # the newest three
    assert (few_hits, few_total, few_exact) == ([], 0, False)
    monkeypatch.setattr(search, "CANDIDATES", 5)
    assert search_cases(session, "客服")[1:] == (5, True)


# --- bad and hostile input -----------------------------------------------------------------

HOSTILE = [
    '" OR * NEAR( ) : ^ - AND',
    "' ; DROP TABLE cases; --",
    '风控" OR "1',
    "NEAR(风控 客服, 2)",
    "title:风控",
    "风控*",
    "^风控",
    "-风控",
    "(",
    '"',
    "'",
    "\\",
    "%_%",
    "a & b | !c <-> d:*",
    "\x00",
    "😀",
    "AND OR NOT",
]


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_queries_return_normally_and_change_nothing(session: Session, query: str) -> None:
    add_case(session, "信贷风控", title_en="and or not near")
    before = session.scalar(select(func.count()).select_from(CaseRow))
    hits, total, _ = search_cases(session, query)
    assert total == len(hits)
    assert session.scalar(select(func.count()).select_from(CaseRow)) == before


def test_query_with_special_characters_still_finds_its_words(session: Session) -> None:
    case = add_case(session, "信贷风控")
    assert found(session, '"风控"') == {case.id}
    assert found(session, "风控*") == {case.id}


def test_too_long_query_is_rejected_naming_q(session: Session) -> None:
    with pytest.raises(InvalidSearch) as error:
        search_cases(session, "风控" * 5000)
    assert error.value.field == "q"
    assert isinstance(error.value, ValueError)


def test_unknown_sort_is_rejected_naming_the_allowed_forms(session: Session) -> None:
    with pytest.raises(ValueError, match="metric:<name>") as error:
        search_cases(session, "风控", sort="popular")
    assert isinstance(error.value, InvalidSearch) and error.value.field == "sort"


def test_unknown_sector_is_rejected_listing_the_sectors(session: Session) -> None:
    with pytest.raises(InvalidSearch, match="healthcare") as error:
        search_cases(session, None, sector="banking")
    assert error.value.field == "sector"
