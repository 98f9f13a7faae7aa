"""The case library through the real hub: publishing from runs, validation, the review
workflow, visibility, leaderboards, reproductions and model cards; SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import HubHandle, member_lab
from zslab.client import Lab
from zslab.errors import Conflict, Forbidden, InvalidInput, NotFound

NOTEBOOK = json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode()
DATA = "d" * 64


def result(value: float, low: float | None = None, high: float | None = None, **kw: Any) -> dict:
    metric: dict[str, Any] = {"type": kw.get("metric", "accuracy"), "value": value}
    if low is not None:
        metric["ci"] = [low, high]
    return {
        "task": {"type": kw.get("task", "text-classification")},
        "dataset": {"name": kw.get("dataset", "reviews"), "sha256": kw.get("sha", DATA)},
        "metrics": [metric],
    }


def completed_run(
    lab: Lab, results: Any, *, project: str = "acme/nlp", status: str = "completed"
) -> str:
    run = lab.runs.create("evaluate", parameters={"seed": 0}, project=project)
    lab.runs.upload(run.id, "executed.ipynb", NOTEBOOK)
    lab.runs.update(run.id, status=status, metrics={"results": results} if results else {})
    return run.id


@pytest.fixture
def world(hub: HubHandle, admin: Lab) -> Iterator[dict[str, Lab]]:
    """acme (project nlp: alice; reviewer rita) and rival (project ml: mallory; reviewer victor)."""
    admin.orgs.add("acme")
    admin.projects.add("acme", "nlp")
    admin.orgs.add("rival")
    admin.projects.add("rival", "ml")
    labs = {
        "alice": member_lab(hub, admin, "alice"),
        "rita": member_lab(hub, admin, "rita", role="reviewer"),
        "mallory": member_lab(hub, admin, "mallory"),
        "victor": member_lab(hub, admin, "victor", role="reviewer"),
    }
    admin.projects.add_member("acme/nlp", "alice")
    admin.orgs.add_member("acme", "rita")
    admin.projects.add_member("rival/ml", "mallory")
    admin.orgs.add_member("rival", "victor")
    labs["admin"] = admin
    yield labs
    for name, lab in labs.items():
        if name != "admin":
            lab.close()


def publish(lab: Lab, runs: Any, **kw: Any) -> Any:
    args: dict[str, Any] = {
        "sector": "finance",
        "title": "信贷风控模型",
        "title_en": "Credit risk scoring",
        "license": "apache-2.0",
        "visibility": "public",
    }
    args.update(kw)
    return lab.cases.publish(runs, **args)


def published_case(world: dict[str, Lab], value: float = 0.9, **kw: Any) -> str:
    run = completed_run(world["alice"], [result(value, value - 0.02, value + 0.02)])
    version = publish(world["alice"], run, **kw)
    world["rita"].cases.approve(version.slug)
    return version.slug


# --- publishing --------------------------------------------------------------------------------


def test_publishing_a_run_makes_a_version_in_review_with_its_results_and_provenance(
    world: dict[str, Lab],
) -> None:
    alice = world["alice"]
    run = completed_run(alice, [result(0.91, 0.89, 0.93)])

    version = publish(alice, run, tags=["风控", "credit"])

    assert version.number == 1 and version.status == "in_review"
    assert version.slug.startswith("credit-risk-scoring-")
    assert version.results[0]["metrics"][0] == {
        "type": "accuracy",
        "value": 0.91,
        "ci": [0.89, 0.93],
        "higher_is_better": True,
    }
    assert version.run_ids == [run]
    assert [n["name"] for n in version.notebooks] == ["executed.ipynb"]
    entry = version.provenance["runs"][0]
    assert entry["template"] == "evaluate" and entry["parameters"] == {"seed": 0}
    assert len(entry["parameters_sha256"]) == 64
    assert version.compute["accelerators"] == ["local CPU"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"sector": "space"}, "sector"),
        ({"license": None}, "license"),
        ({"license": "do-what-you-want"}, "license"),
    ],
)
def test_publishing_with_a_bad_field_is_refused_naming_it(
    world: dict[str, Lab], change: dict[str, Any], field: str
) -> None:
    run = completed_run(world["alice"], [result(0.9)])

    with pytest.raises(InvalidInput) as info:
        publish(world["alice"], run, **change)

    assert info.value.field == field
    assert info.value.fix


def test_metrics_without_a_dataset_are_refused(world: dict[str, Lab]) -> None:
    bad = [{"task": "text-classification", "metrics": [{"type": "accuracy", "value": 0.9}]}]
    run = completed_run(world["alice"], bad)

    with pytest.raises(InvalidInput) as info:
        publish(world["alice"], run)

    assert info.value.field == "results[0].dataset"
    assert "dataset" in str(info.value)


def test_runs_that_recorded_no_results_or_did_not_finish_are_refused(
    world: dict[str, Lab],
) -> None:
    alice = world["alice"]
    empty = completed_run(alice, None)
    failed = completed_run(alice, [result(0.9)], status="failed")

    with pytest.raises(InvalidInput) as no_results:
        publish(alice, empty)
    with pytest.raises(InvalidInput) as not_finished:
        publish(alice, failed)

    assert no_results.value.field == "results"
    assert not_finished.value.field == "runs[0]"


def test_another_projects_run_cannot_be_published(world: dict[str, Lab]) -> None:
    run = completed_run(world["alice"], [result(0.9)])

    with pytest.raises(InvalidInput) as info:
        publish(world["mallory"], run)

    assert info.value.field == "runs[0]"


# --- review ------------------------------------------------------------------------------------


def test_a_reviewer_of_the_organization_approves_and_the_case_is_published(
    world: dict[str, Lab],
) -> None:
    run = completed_run(world["alice"], [result(0.9, 0.88, 0.92)])
    slug = publish(world["alice"], run).slug

    approved = world["rita"].cases.approve(slug, comment="checked the notebook")

    assert approved.status == "published" and approved.published_at is not None
    assert [(r.action, r.to_status) for r in approved.reviews or []] == [
        ("submit", "in_review"),
        ("approve", "published"),
    ]
    case = world["mallory"].cases.get(slug)  # public and published: anyone signed in sees it
    assert case.published_version == 1 and case.status == "published"
    events = world["admin"].audit.list(action="case.review")
    assert any("approve: in_review → published" in (e.detail or "") for e in events)


def test_a_reviewer_cannot_approve_their_own_case(world: dict[str, Lab]) -> None:
    run = completed_run(world["alice"], [result(0.9)])
    world["admin"].projects.add_member("acme/nlp", "rita")
    rita_run = completed_run(world["rita"], [result(0.9)])
    slug = publish(world["rita"], rita_run).slug

    with pytest.raises(Forbidden) as info:
        world["rita"].cases.approve(slug)
    with pytest.raises(Forbidden):
        world["alice"].cases.approve(publish(world["alice"], run).slug)

    assert "own case" in str(info.value)


def test_a_reviewer_of_another_organization_cannot_approve(world: dict[str, Lab]) -> None:
    run = completed_run(world["alice"], [result(0.9)])
    slug = publish(world["alice"], run).slug

    with pytest.raises((Forbidden, NotFound)):
        world["victor"].cases.approve(slug)

    assert world["alice"].cases.get(slug).status == "in_review"


def test_requesting_changes_needs_a_comment_and_sends_the_version_back_to_draft(
    world: dict[str, Lab],
) -> None:
    run = completed_run(world["alice"], [result(0.9)])
    slug = publish(world["alice"], run).slug

    with pytest.raises(InvalidInput) as info:
        world["rita"].cases.request_changes(slug, "")
    back = world["rita"].cases.request_changes(slug, "add the baseline")

    assert info.value.field == "comment"
    assert back.status == "draft"
    edited = world["alice"].cases.update(slug, summary="now with the TF-IDF baseline")
    assert edited.summary == "now with the TF-IDF baseline"
    assert world["alice"].cases.submit(slug).status == "in_review"


def test_a_published_version_is_immutable_and_a_fix_is_a_new_version(
    world: dict[str, Lab],
) -> None:
    slug = published_case(world)

    with pytest.raises(Conflict) as info:
        world["alice"].cases.update(slug, title="changed")
    run = completed_run(world["alice"], [result(0.93, 0.91, 0.95)])
    v2 = world["alice"].cases.add_version(
        slug, run, title="信贷风控模型", license="apache-2.0", changelog="more data"
    )

    assert "never changes" in str(info.value)
    assert v2.number == 2 and v2.status == "in_review"
    assert world["alice"].cases.version(slug, 1).title == "信贷风控模型"
    world["rita"].cases.approve(slug, 2)
    case = world["alice"].cases.get(slug)
    assert case.published_version == 2 and case.current_version == 2


def test_an_invalid_transition_is_a_conflict(world: dict[str, Lab]) -> None:
    slug = published_case(world)

    with pytest.raises(Conflict) as info:
        world["alice"].cases.submit(slug)

    assert "published" in str(info.value)


# --- visibility and editing --------------------------------------------------------------------


def test_a_private_case_is_invisible_to_another_organization(world: dict[str, Lab]) -> None:
    slug = published_case(world, visibility="private")

    with pytest.raises(NotFound):
        world["mallory"].cases.get(slug)
    found = world["mallory"].cases.search("风控")

    assert slug not in [c.slug for c in found.items]
    assert world["alice"].cases.get(slug).slug == slug


def test_an_org_case_is_visible_to_its_organization_only(world: dict[str, Lab]) -> None:
    slug = published_case(world, visibility="org")

    assert world["rita"].cases.get(slug).visibility == "org"
    with pytest.raises(NotFound):
        world["victor"].cases.get(slug)


def test_a_member_of_another_organization_cannot_edit_a_public_case(
    world: dict[str, Lab],
) -> None:
    run = completed_run(world["alice"], [result(0.9)])
    slug = publish(world["alice"], run, submit=False).slug
    world["alice"].cases.update(slug, visibility="public")

    with pytest.raises((Forbidden, NotFound)):
        world["mallory"].cases.update(slug, title="defaced")

    slug2 = published_case(world)
    with pytest.raises(Forbidden):
        world["mallory"].cases.update(slug2, visibility="private")
    assert world["alice"].cases.get(slug2).visibility == "public"


def test_drafts_do_not_appear_in_search_for_others(world: dict[str, Lab]) -> None:
    run = completed_run(world["alice"], [result(0.9)])
    slug = publish(world["alice"], run, submit=False).slug

    others = world["mallory"].cases.search("风控")
    mine = world["alice"].cases.search("风控")

    assert slug not in [c.slug for c in others.items]
    assert slug in [c.slug for c in mine.items]


# --- search through the API ----------------------------------------------------------------------


def test_search_finds_chinese_and_english_and_filters_by_sector(world: dict[str, Lab]) -> None:
    finance = published_case(world)
    health = published_case(
        world, sector="healthcare", title="医学影像分割", title_en="Medical image segmentation"
    )

    assert [c.slug for c in world["mallory"].cases.search("风控").items] == [finance]
    assert [c.slug for c in world["mallory"].cases.search("segmentation").items] == [health]
    assert [c.slug for c in world["mallory"].cases.search(sector="healthcare").items] == [health]


@pytest.mark.parametrize(
    ("query", "finds_it"),
    [
        ('" OR 1=1 --', False),
        ("风控' ; DROP TABLE cases; --", False),  # "drop", "table" are words the case lacks
        ("NEAR(a b)", False),
        ("*", True),  # no words at all: no text filter
    ],
)
def test_search_with_sql_or_fts_syntax_is_harmless(
    world: dict[str, Lab], query: str, finds_it: bool
) -> None:
    slug = published_case(world)

    page = world["mallory"].cases.search(query)

    assert (slug in [c.slug for c in page.items]) is finds_it
    assert world["mallory"].cases.get(slug).slug == slug  # nothing was dropped


def test_an_unknown_sort_is_refused_naming_it(world: dict[str, Lab]) -> None:
    with pytest.raises(InvalidInput) as info:
        world["alice"].cases.search("x", sort="price")

    assert info.value.field == "sort"


# --- leaderboards ------------------------------------------------------------------------------


def test_a_leaderboard_ranks_versions_and_shows_overlapping_intervals_as_ties(
    world: dict[str, Lab],
) -> None:
    a = published_case(world, 0.90)  # [0.88, 0.92]
    b = published_case(world, 0.89)  # [0.87, 0.91]: overlaps a
    c = published_case(world, 0.70)  # clearly behind
    other_data = completed_run(world["alice"], [result(0.99, 0.98, 1.0, sha="e" * 64)])
    d = publish(world["alice"], other_data).slug
    world["rita"].cases.approve(d)

    boards = world["mallory"].cases.leaderboards(task="text-classification", metric="accuracy")

    assert len(boards) == 2  # a different dataset hash is not comparable
    board = next(b for b in boards if b.dataset_hash == DATA)
    assert [(e.slug, e.rank, e.tied) for e in board.entries] == [
        (a, 1, True),
        (b, 1, True),
        (c, 3, False),
    ]


# --- reproduction ------------------------------------------------------------------------------


def test_a_matching_reproduction_grants_the_badge(world: dict[str, Lab]) -> None:
    slug = published_case(world, 0.90)
    again = completed_run(world["alice"], [result(0.895, 0.875, 0.915)])

    record = world["alice"].call(
        "POST", f"/cases/{slug}/reproductions", json={"runs": [again]}, create=True
    )

    assert record["matched"] is True
    assert record["verdict"]["comparisons"][0]["rule"] == "confidence intervals overlap"
    assert world["mallory"].cases.get(slug).reproduced is True


def test_a_mismatch_is_recorded_and_shown_not_hidden(world: dict[str, Lab]) -> None:
    slug = published_case(world, 0.90)
    worse = completed_run(world["alice"], [result(0.60, 0.58, 0.62)])

    record = world["alice"].call(
        "POST", f"/cases/{slug}/reproductions", json={"runs": [worse]}, create=True
    )

    case = world["mallory"].cases.get(slug)
    assert record["matched"] is False
    assert case.reproduced is False
    assert [r.matched for r in case.reproductions or []] == [False]
    comparison = (case.reproductions or [])[0].verdict["comparisons"][0]
    assert comparison["published"] == 0.90 and comparison["reproduced"] == 0.60


def test_a_declared_tolerance_decides_the_match(world: dict[str, Lab]) -> None:
    run = completed_run(world["alice"], [result(0.90)])
    slug = publish(world["alice"], run, tolerance={"accuracy": 0.05}).slug
    world["rita"].cases.approve(slug)
    close = completed_run(world["alice"], [result(0.87)])
    far = completed_run(world["alice"], [result(0.80)])

    ok = world["alice"].call("POST", f"/cases/{slug}/reproductions", json={"runs": [close]})
    bad = world["alice"].call("POST", f"/cases/{slug}/reproductions", json={"runs": [far]})

    assert ok["matched"] is True and bad["matched"] is False


# --- model card --------------------------------------------------------------------------------


def test_the_model_card_export_has_model_index_front_matter(world: dict[str, Lab]) -> None:
    import yaml

    slug = published_case(world, 0.9)

    text = world["mallory"].cases.model_card(slug)

    front = yaml.safe_load(text.split("---")[1])
    assert front["license"] == "apache-2.0"
    metric = front["model-index"][0]["results"][0]["metrics"][0]
    assert metric == {"type": "accuracy", "value": 0.9, "verified": False}
    assert "sector:finance" in front["tags"]
    assert f'lab.cases.reproduce("{slug}")' in text


# --- bad input at the edges ----------------------------------------------------------------------


def test_an_oversized_publish_body_is_refused_with_413(
    hub: HubHandle, world: dict[str, Lab]
) -> None:
    run = completed_run(world["alice"], [result(0.9)])
    body = {"runs": [run], "sector": "finance", "title": "t", "license": "mit"}
    body["results"] = [{"task": "t", "dataset": "d", "padding": "x" * (2 << 20)}]

    with hub.http(world["alice"].token) as http:
        response = http.post("/api/v1/cases", json=body)

    assert response.status_code == 413
    assert world["alice"].cases.search(None).total == 0


@pytest.mark.parametrize("name", ["..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd", "a%2F..%2Fb"])
def test_artifact_names_that_climb_or_are_absolute_are_refused(
    hub: HubHandle, world: dict[str, Lab], name: str
) -> None:
    run = world["alice"].runs.create("evaluate", project="acme/nlp")

    with hub.http(world["alice"].token) as http:
        response = http.put(f"/api/v1/runs/{run.id}/artifacts/{name}", content=b"x")

    assert response.status_code == 422, response.text
    assert response.json()["field"] == "name"
    assert world["alice"].runs.artifacts(run.id) == []
