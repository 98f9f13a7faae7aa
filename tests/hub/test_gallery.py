"""The case gallery (``/cases``): public server-rendered pages over a real hub with real cases
published, reviewed and reproduced through the API; a hostile notebook checked in the served
HTML and in chromium."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import yaml

from tests.conftest import HubHandle, chromium_browser, member_lab, start_hub
from zslab.cases.render import CONTENT_SECURITY_POLICY
from zslab.client import Lab
from zslab.config import Settings
from zslab.hub.artifacts import ArtifactStore

DATA_A = "a" * 64  # the dataset hash most cases share: one board
DATA_B = "b" * 64  # the same dataset name with other data: a board of its own

HOSTILE_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="12" height="12" '
    'onload="window.__pwned=1"><script>window.__pwned=1; alert(1)</script>'
    '<rect width="12" height="12" fill="red"/></svg>'
)
HOSTILE_NOTEBOOK = {
    "nbformat": 4,
    "nbformat_minor": 5,
    "metadata": {"kernelspec": {"name": "python3", "language": "python"}},
    "cells": [
        {
            "cell_type": "markdown",
            "metadata": {},
            "source": (
                "# Hostile cell NOTEBOOK-MARKER\n\n"
                "<script>window.__pwned=1</script>\n\n"
                '<img src=x onerror="window.__pwned=1">\n\n'
                '<a href="javascript:window.__pwned=1">click me</a>\n'
            ),
        },
        {
            "cell_type": "code",
            "execution_count": 1,
            "metadata": {},
            "source": "plot()",
            "outputs": [
                {
                    "output_type": "display_data",
                    "metadata": {},
                    "data": {"image/svg+xml": HOSTILE_SVG, "text/plain": "<Figure>"},
                }
            ],
        },
    ],
}


@dataclass
class Library:
    """A hub with cases in every state the gallery must tell apart."""

    hub: HubHandle
    credit: str  # public, published, reproduced (and one mismatch), hostile notebook
    imaging: str  # public, published, healthcare; ties credit on the board
    tutoring: str  # public, published, education; ranks third; its notebook blob is missing
    other_data: str  # public, published, same task/dataset/metric but other data hash
    secret: str  # private, published
    draft: str  # public, never submitted
    in_review: str  # public, submitted, not approved
    tutoring_notebook_sha: str

    def get(self, path: str) -> httpx.Response:
        return httpx.get(self.hub.url + path, timeout=30)


def _results(value: float, low: float, high: float, data: str = DATA_A) -> dict[str, Any]:
    return {
        "results": [
            {
                "task": {"type": "text-classification"},
                "dataset": {"name": "reviews", "sha256": data},
                "metrics": [{"type": "accuracy", "value": value, "ci": [low, high]}],
            }
        ]
    }


def _run(lab: Lab, results: dict[str, Any], notebook: dict[str, Any] | None = None) -> str:
    run = lab.runs.create(
        "text-classifier",
        parameters={"lr": 0.001, "epochs": 3},
        project="acme/fin",
        template_sha256="c" * 64,
        provenance={"packages": {"torch": "2.5.1", "zslab": "0.1.0"}},
    )
    if notebook is not None:
        lab.runs.upload(run.id, "executed.ipynb", json.dumps(notebook).encode())
    lab.runs.update(run.id, status="completed", metrics=results)
    return run.id


def _case(
    author: Lab,
    reviewer: Lab | None,
    results: dict[str, Any],
    *,
    sector: str,
    title: str,
    title_en: str,
    visibility: str = "public",
    submit: bool = True,
    notebook: dict[str, Any] | None = None,
) -> str:
    version = author.cases.publish(
        _run(author, results, notebook),
        sector=sector,
        title=title,
        title_en=title_en,
        license="apache-2.0",
        visibility=visibility,
        summary=f"{title_en}: a test case.",
        submit=submit,
    )
    if reviewer is not None:
        reviewer.cases.approve(version.slug, 1)
    return version.slug


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Library]:
    tmp = tmp_path_factory.mktemp("gallery")
    settings = Settings(home=tmp / "home", db_url=f"sqlite:///{tmp / 'hub.db'}")
    hub = start_hub(settings)
    try:
        with hub.lab() as admin:
            admin.orgs.add("acme", name="Acme 金融科技")
            admin.projects.add("acme", "fin")
            alice = member_lab(hub, admin, "alice")
            admin.projects.add_member("acme/fin", "alice")
            rita = member_lab(hub, admin, "rita", role="reviewer")
            admin.orgs.add_member("acme", "rita")
            bob = member_lab(hub, admin, "bob")
            admin.projects.add_member("acme/fin", "bob")

            credit = _case(
                alice,
                rita,
                _results(0.90, 0.88, 0.92),
                sector="finance",
                title="信贷风控模型",
                title_en="Credit risk",
                notebook=HOSTILE_NOTEBOOK,
            )
            imaging = _case(
                alice,
                rita,
                _results(0.89, 0.87, 0.91),
                sector="healthcare",
                title="医疗影像分诊",
                title_en="Imaging triage",
            )
            tutoring_notebook = {**HOSTILE_NOTEBOOK, "metadata": {"unique": "tutoring"}}
            tutoring = _case(
                alice,
                rita,
                _results(0.70, 0.68, 0.72),
                sector="education",
                title="作业辅导",
                title_en="Homework tutor",
                notebook=tutoring_notebook,
            )
            other_data = _case(
                alice,
                rita,
                _results(0.95, 0.94, 0.96, data=DATA_B),
                sector="other",
                title="评论分类",
                title_en="Review classifier",
            )
            secret = _case(
                alice,
                rita,
                _results(0.99, 0.98, 1.0),
                sector="finance",
                title="秘密风控项目",
                title_en="Secret risk project",
                visibility="private",
            )
            draft = _case(
                alice,
                None,
                _results(0.5, 0.4, 0.6),
                sector="finance",
                title="风控草稿",
                title_en="Draft risk",
                submit=False,
            )
            in_review = _case(
                alice,
                None,
                _results(0.5, 0.4, 0.6),
                sector="finance",
                title="风控评审中",
                title_en="Risk under review",
            )
            # A second version still in draft: its content must stay off every page.
            alice.cases.add_version(
                credit,
                _run(alice, _results(0.97, 0.96, 0.98)),
                title="信贷风控模型 第二版草稿",
                license="apache-2.0",
                submit=False,
            )
            # One reproduction that matches and one that does not, both shown.
            for results in (_results(0.905, 0.885, 0.925), _results(0.50, 0.48, 0.52)):
                bob.call(
                    "POST",
                    f"/cases/{credit}/reproductions",
                    json={"runs": [_run(bob, results)], "hardware": {"model": "Ascend 910B"}},
                )
            for lab in (alice, rita, bob):
                lab.close()
        yield Library(
            hub,
            credit,
            imaging,
            tutoring,
            other_data,
            secret,
            draft,
            in_review,
            hashlib.sha256(json.dumps(tutoring_notebook).encode()).hexdigest(),
        )
    finally:
        hub.stop()


def _text(html: str) -> str:
    """The page's text, tags removed and whitespace collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _table_rows(html: str, css_class: str) -> list[str]:
    """The text of each body row of the first ``<table class="css_class">``."""
    table = re.search(rf'<table class="{css_class}">(.*?)</table>', html, re.S)
    assert table is not None, f"no table.{css_class}"
    body = table.group(1).split("<tbody>", 1)[1]
    return [_text(row) for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def _case_titles(html: str) -> list[str]:
    return re.findall(r'<a class="title" href="/cases/[^"]+">([^<]+)</a>', html)


# --- the index and sector pages ------------------------------------------------------------------


def test_index_lists_public_published_cases_only(library: Library) -> None:
    response = library.get("/cases")

    assert response.status_code == 200
    titles = _case_titles(response.text)
    assert {"信贷风控模型", "医疗影像分诊", "作业辅导", "评论分类"} == set(titles)
    for hidden in ("秘密风控项目", "风控草稿", "风控评审中"):
        assert hidden not in response.text
    assert "共 4 个案例" in response.text


def test_index_shows_sector_labels_headline_metric_and_reproduced_badge(library: Library) -> None:
    html = library.get("/cases").text

    credit = html[html.index("信贷风控模型") : html.index("</li>", html.index("信贷风控模型"))]
    assert "金融 / Finance" in credit
    assert "accuracy" in credit and "0.9" in credit and "[0.88, 0.92]" in credit
    assert "已复现 reproduced" in credit
    imaging = html[html.index("医疗影像分诊") : html.index("</li>", html.index("医疗影像分诊"))]
    assert "未复现 not reproduced" in imaging


def test_search_form_finds_cases_by_a_chinese_query(library: Library) -> None:
    response = library.get("/cases?q=风控&sector=&sort=relevance")

    assert response.status_code == 200
    assert _case_titles(response.text) == ["信贷风控模型"]
    assert 'value="风控"' in response.text  # the form keeps the query
    assert '<form class="search" method="get"' in response.text


def test_sort_by_metric_puts_the_best_value_first(library: Library) -> None:
    titles = _case_titles(library.get("/cases?sort=metric:accuracy").text)

    assert titles == ["评论分类", "信贷风控模型", "医疗影像分诊", "作业辅导"]


def test_a_bad_sort_shows_the_form_with_a_message(library: Library) -> None:
    response = library.get("/cases?sort=sideways")

    assert response.status_code == 400
    assert "Unknown sort" in response.text and '<form class="search"' in response.text


def test_pagination_links_walk_the_results(library: Library) -> None:
    first = library.get("/cases?sort=recent&limit=3").text
    next_link = re.search(r'<a href="([^"]+)" rel="next">', first)
    assert next_link is not None and 'rel="prev"' not in first
    second = library.get(next_link.group(1).replace("&amp;", "&")).text

    seen = _case_titles(first) + _case_titles(second)
    assert len(_case_titles(first)) == 3 and len(seen) == 4 and len(set(seen)) == 4
    assert 'rel="prev"' in second and 'rel="next"' not in second


def test_sector_page_lists_only_that_sector(library: Library) -> None:
    response = library.get("/cases/sectors/healthcare")

    assert response.status_code == 200
    assert _case_titles(response.text) == ["医疗影像分诊"]
    assert "医疗" in response.text and "Healthcare" in response.text


def test_unknown_sector_is_a_404_page(library: Library) -> None:
    response = library.get("/cases/sectors/space-travel")

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "找不到页面" in response.text


# --- the case page -------------------------------------------------------------------------------


def test_case_page_shows_metrics_with_intervals_in_a_table(library: Library) -> None:
    html = library.get(f"/cases/{library.credit}").text

    assert _table_rows(html, "metrics") == [
        f"text-classification reviews {DATA_A[:12]} accuracy ↑ 0.9 [0.88, 0.92]"
    ]


def test_case_page_draws_an_svg_chart_with_the_interval(library: Library) -> None:
    html = library.get(f"/cases/{library.credit}").text

    svg = re.search(r'<svg [^>]*class="zs-chart".*?</svg>', html, re.S)
    assert svg is not None
    assert "<path d=" in svg.group(0)  # the whisker
    assert "0.9 [0.88, 0.92]" in svg.group(0)
    assert "<script" not in svg.group(0)


def test_case_page_shows_compute_provenance_and_how_to_reproduce(library: Library) -> None:
    html = library.get(f"/cases/{library.credit}").text

    compute = _table_rows(html, "compute")
    assert compute[:2] == ["卡时 Slice-hours 0", "加速器 Accelerators local CPU"]
    assert [row.split(" ")[0] for row in compute[2:7]] == [
        "能耗",
        "费用",
        "补贴",
        "净费用",
        "国产算力占比",
    ]
    assert "c" * 64 in html  # the template hash
    assert "&#34;lr&#34;: 0.001" in html  # the parameters
    assert _table_rows(html, "packages") == ["torch 2.5.1", "zslab 0.1.0"]
    assert f'lab.cases.reproduce("{library.credit}")' in html
    assert f"zslab cases reproduce {library.credit}" in html
    assert f'href="/cases/{library.credit}/README.md"' in html


def test_case_page_labels_are_bilingual(library: Library) -> None:
    text = _text(library.get(f"/cases/{library.credit}").text)

    for zh, en in (
        ("指标", "Metrics"),
        ("算力与成本", "Compute and cost"),
        ("来源", "Provenance"),
        ("复现记录", "Reproductions"),
        ("如何复现", "How to reproduce"),
        ("版本", "Versions"),
    ):
        assert f"{zh} {en}" in text


def test_case_page_shows_a_mismatched_reproduction(library: Library) -> None:
    html = library.get(f"/cases/{library.credit}").text

    section = html[html.index('id="reproductions"') : html.index('id="reproduce"')]
    assert section.count("不一致 mismatch") >= 2  # the badge and the comparison row
    assert "一致 matched" in section
    assert "0.5" in section and "Ascend 910B" in section


def test_private_case_is_a_404_page_that_leaks_nothing(library: Library) -> None:
    for path in (
        f"/cases/{library.secret}",
        f"/cases/{library.secret}/README.md",
        f"/cases/{library.secret}/notebooks/0",
        f"/cases/{library.draft}",
        f"/cases/{library.in_review}",
        "/cases/no-such-case",
    ):
        response = library.get(path)
        assert response.status_code == 404, path
        assert "找不到页面" in response.text
        for secret in ("秘密", "Secret", "草稿", "评审中"):
            assert secret not in response.text, path


def test_a_version_that_was_never_published_is_not_shown(library: Library) -> None:
    current = library.get(f"/cases/{library.credit}")
    draft = library.get(f"/cases/{library.credit}?version=2")
    card = library.get(f"/cases/{library.credit}/README.md?version=2")

    assert current.status_code == 200 and "第二版草稿" not in current.text
    assert "0.97" not in current.text and "v2" not in current.text
    assert draft.status_code == 404 and "第二版草稿" not in draft.text
    assert card.status_code == 404
    assert library.get(f"/cases/{library.credit}?version=1").status_code == 200
    assert library.get(f"/cases/{library.credit}?version=x").status_code == 404


# --- leaderboards and the model card -------------------------------------------------------------


def test_leaderboard_ranks_entries_and_marks_ties(library: Library) -> None:
    html = library.get("/cases/leaderboards").text

    boards = re.findall(r'<section class="board">(.*?)</section>', html, re.S)
    shared = next(b for b in boards if "信贷风控模型" in b)
    rows = [_text(r) for r in re.findall(r"<tr>(.*?)</tr>", shared.split("<tbody>")[1], re.S)]
    assert [row.split(" v1 ")[0] for row in rows] == [
        "=1 信贷风控模型",
        "=1 医疗影像分诊",
        "3 作业辅导",
    ]
    assert "0.9 [0.88, 0.92]" in rows[0]
    assert "秘密风控项目" not in html


def test_leaderboard_keeps_other_data_on_its_own_board_with_a_hash_label(
    library: Library,
) -> None:
    html = library.get("/cases/leaderboards").text

    boards = re.findall(r'<section class="board">(.*?)</section>', html, re.S)
    other = next(b for b in boards if "评论分类" in b)
    assert "信贷风控模型" not in other
    assert DATA_B[:12] in other
    assert any(DATA_A[:12] in b for b in boards if "信贷风控模型" in b)


def test_model_card_export_has_model_index_front_matter(library: Library) -> None:
    response = library.get(f"/cases/{library.credit}/README.md")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/markdown; charset=utf-8"
    _, front, body = response.text.split("---\n", 2)
    card = yaml.safe_load(front)
    result = card["model-index"][0]["results"][0]
    assert result["task"]["type"] == "text-classification"
    assert result["metrics"][0] == {"type": "accuracy", "value": 0.9, "verified": True}
    assert card["license"] == "apache-2.0"
    assert "# 信贷风控模型" in body


def test_every_gallery_response_sends_the_security_headers(library: Library) -> None:
    for path in (
        "/cases",
        "/cases/sectors/finance",
        "/cases/leaderboards",
        f"/cases/{library.credit}",
        f"/cases/{library.credit}/notebooks/0",
        f"/cases/{library.credit}/README.md",
        "/cases/no-such-case",
        "/cases?sort=sideways",
    ):
        headers = library.get(path).headers
        assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY, path
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["referrer-policy"] == "no-referrer", path


# --- notebooks -----------------------------------------------------------------------------------


def test_hostile_notebook_is_served_inert(library: Library) -> None:
    response = library.get(f"/cases/{library.credit}/notebooks/0")

    assert response.status_code == 200
    html = response.text.lower()
    assert "notebook-marker" in html  # the notebook is there…
    assert 'src="data:image/svg+xml;base64,' in html  # …with its figure, as an image
    assert "<script" not in html  # …and nothing active
    assert "onerror" not in html and "onload" not in html
    assert "javascript:" not in html


def test_case_page_links_each_notebook(library: Library) -> None:
    html = library.get(f"/cases/{library.credit}").text

    assert f'href="/cases/{library.credit}/notebooks/0"' in html
    assert "executed.ipynb" in html


def test_missing_notebook_blob_shows_a_note(library: Library) -> None:
    store = ArtifactStore.from_settings(library.hub.settings)
    store.path(library.tutoring_notebook_sha).unlink()

    notebook = library.get(f"/cases/{library.tutoring}/notebooks/0")
    case = library.get(f"/cases/{library.tutoring}")

    assert notebook.status_code == 200
    assert "The notebook file is not in the artifact store." in notebook.text
    assert "文件缺失 file missing" in case.text
    assert library.get(f"/cases/{library.tutoring}/notebooks/1").status_code == 404


# --- a real browser ------------------------------------------------------------------------------

_POKE_EVERYTHING = """() => {
  for (const el of document.querySelectorAll('main *')) {
    for (const type of ['mouseover', 'mouseenter', 'focus', 'click', 'load', 'error']) {
      if (type === 'click' && el.closest('a[href]')) continue;
      el.dispatchEvent(new Event(type, {bubbles: true}));
    }
  }
}"""


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with chromium_browser() as browser:
        yield browser


def test_no_script_runs_in_chromium_on_the_case_and_notebook_pages(
    library: Library, chromium: Any
) -> None:
    pages = [f"/cases/{library.credit}", f"/cases/{library.credit}/notebooks/0"]
    dialogs: list[str] = []
    context = chromium.new_context()
    try:
        page = context.new_page()
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        results = []
        for path in pages:
            page.goto(library.hub.url + path, wait_until="load")
            page.wait_for_function(
                "Array.from(document.images).every(image => image.complete)", timeout=5000
            )
            page.evaluate(_POKE_EVERYTHING)
            page.wait_for_timeout(200)
            results.append((path, page.evaluate("typeof window.__pwned")))
        figure_width = page.evaluate(
            "document.querySelector('img[src^=\"data:image/svg+xml\"]').naturalWidth"
        )
    finally:
        context.close()

    assert results == [(path, "undefined") for path in pages]
    assert dialogs == []
    assert figure_width == 12  # the figure did load, as an inert image


def test_case_page_reads_without_javascript(library: Library, chromium: Any) -> None:
    context = chromium.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(library.hub.url + f"/cases/{library.credit}", wait_until="load")
        table = page.locator("table.metrics")
        visible = table.is_visible()
        text = table.inner_text()
        chart_box = page.locator("svg.zs-chart").bounding_box()
    finally:
        context.close()

    assert visible
    assert "accuracy" in text and "0.9" in text and "[0.88, 0.92]" in text
    assert chart_box is not None and chart_box["width"] > 100
