"""The case gallery: public, server-rendered pages at ``/cases``, readable without JavaScript.

Pages (no ``/api/v1`` prefix; anonymous; Jinja2 templates in ``gallery_templates/``)::

    GET /cases                                  search form, sector links, matching cases
    GET /cases/sectors/{sector}                 the same list for one sector
    GET /cases/leaderboards                     every board, ranked, ties marked "="
    GET /cases/{slug}[?version=N]               a case: metrics, chart, compute, provenance…
    GET /cases/{slug}/notebooks/{index}[?version=N]   one executed notebook, sanitized
    GET /cases/{slug}/README.md[?version=N]     the Hugging Face model card

An anonymous visitor sees a case only when it is ``public`` and has a published version, and
only the content of versions that were published (the current one, or an archived one that
was published before). Anything else answers the same 404 page as a slug that does not exist.

User text is escaped by the templates (``autoescape``); only two fragments are marked safe: the
notebook HTML from :func:`zslab.cases.render.render_notebook` and the chart this module draws
(:func:`metrics_chart_svg`, which escapes every text it places). Every response carries
:data:`~zslab.cases.render.CONTENT_SECURITY_POLICY`, which allows no script at all, so a
mistake in either is not enough on its own.

The ``render_*`` functions take a session and return HTML; the routes only parse and wrap::

    with hub.db.read_session() as session:
        html = render_case_page(session, settings, "credit-risk-4kq2")
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape
from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session
from starlette.responses import HTMLResponse, Response

from zslab.cases.model import SECTORS, MetricRow, metric_rows
from zslab.cases.render import CONTENT_SECURITY_POLICY, render_notebook
from zslab.config import Settings
from zslab.errors import NotFound
from zslab.hub import cases as service
from zslab.hub.artifacts import ArtifactStore
from zslab.hub.db.orm import CaseMetricRow, CaseRow, CaseVersionRow, Organization

__all__ = [
    "PAGE_SIZE",
    "SECURITY_HEADERS",
    "metrics_chart_svg",
    "public_case",
    "render_case_page",
    "render_index",
    "render_leaderboards",
    "render_not_found",
    "render_notebook_page",
    "router",
]

PAGE_SIZE = 20

SECURITY_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

# (value, 中文, English) of the sort select; search_cases accepts any metric:<name> too.
SORTS: tuple[tuple[str, str, str], ...] = (
    ("relevance", "相关度", "Relevance"),
    ("recent", "最近更新", "Recent"),
    ("metric:accuracy", "准确率", "Accuracy"),
)

router = APIRouter(prefix="/cases", tags=["gallery"], include_in_schema=False)


class GalleryNotFound(NotFound):
    """Nothing public to show at this address (absent, private, unpublished: all alike)."""


# --- who may see what ------------------------------------------------------------------------


def _public_clause() -> ColumnElement[bool]:
    return and_(CaseRow.visibility == "public", CaseRow.published_version.is_not(None))


def public_case(session: Session, slug: str) -> CaseRow | None:
    """The case named ``slug`` if an anonymous visitor may see it, else None."""
    return session.scalar(select(CaseRow).where(CaseRow.slug == slug, _public_clause()))


def _was_published(version: CaseVersionRow) -> bool:
    # An archived draft was never reviewed: its content is not public.
    return version.status == "published" or (
        version.status == "archived" and version.published_at is not None
    )


def _public_versions(session: Session, case: CaseRow) -> list[CaseVersionRow]:
    rows = session.scalars(
        select(CaseVersionRow)
        .where(
            CaseVersionRow.case_id == case.id,
            or_(
                CaseVersionRow.status == "published",
                and_(
                    CaseVersionRow.status == "archived",
                    CaseVersionRow.published_at.is_not(None),
                ),
            ),
        )
        .order_by(CaseVersionRow.number)
    )
    return list(rows)


def _public_version(
    session: Session, slug: str, number: int | None
) -> tuple[CaseRow, CaseVersionRow, list[CaseVersionRow]]:
    """The case, the version to show (default: the published one) and all public versions."""
    case = public_case(session, slug)
    if case is None:
        raise GalleryNotFound(f"No public case {slug!r}.")
    versions = _public_versions(session, case)
    wanted = number if number is not None else case.published_version
    for version in versions:
        if version.number == wanted and _was_published(version):
            return case, version, versions
    raise GalleryNotFound(f"Case {slug!r} has no public version {wanted}.")


# --- formatting --------------------------------------------------------------------------------


def _number(value: Any) -> str:
    """A metric or cost for reading: 0.9 → 0.9, 0.876543 → 0.8765, 12345.6 → 12,346."""
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return "—"
    number = float(value)
    if not math.isfinite(number):
        return str(number)
    if abs(number) >= 10_000:
        return f"{number:,.0f}"
    if number == int(number):
        return str(int(number))
    return f"{number:.4g}"


def _interval(low: Any, high: Any) -> str:
    if low is None or high is None:
        return "—"
    return f"[{_number(low)}, {_number(high)}]"


def _percent(value: Any) -> str:
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return "—"
    return f"{float(value) * 100:.1f}%"


def _pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


def _sector_label(sector: str) -> str:
    zh, en = SECTORS.get(sector, (sector, sector))
    return f"{zh} / {en}"


def _short(digest: Any, length: int = 12) -> str:
    return str(digest)[:length] if digest else "—"


# --- the chart ---------------------------------------------------------------------------------

_CHART_WIDTH = 720
_LABEL_WIDTH = 300
_PLOT_LEFT = _LABEL_WIDTH + 10
_PLOT_RIGHT = _CHART_WIDTH - 110
_ROW_HEIGHT = 44


def _axis(row: MetricRow) -> tuple[float, float]:
    """The row's own scale: [0, 1] for values in it (accuracies, F1…), else from 0 (or the
    lowest point) to a little past the highest."""
    points = [row.value, *(p for p in (row.low, row.high) if p is not None)]
    low, high = min(points), max(points)
    if low >= 0.0 and high <= 1.0:
        return 0.0, 1.0
    start = min(0.0, low * 1.05)
    end = max(0.0, high * 1.05)
    if end <= start:
        end = start + 1.0
    return start, end


def _clip(text: str, size: int) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def metrics_chart_svg(rows: Sequence[MetricRow]) -> Markup:
    """An inline SVG: one row per metric, a bar to its value and the 95% interval as a whisker.

    Each row has its own axis (its ends are labelled), since accuracies and perplexities do not
    share a scale. Every text is escaped; the SVG holds no script, link or event handler.

    >>> svg = metrics_chart_svg([MetricRow("t", "d<x>", None, None, "acc", 0.9, 0.88, 0.92)])
    >>> "<script" in svg, "d&lt;x&gt;" in svg
    (False, True)
    """
    height = _ROW_HEIGHT * len(rows) + 12
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="zs-chart" role="img" '
        f'width="{_CHART_WIDTH}" height="{height}" viewBox="0 0 {_CHART_WIDTH} {height}" '
        f'font-family="system-ui, sans-serif" font-size="12">',
        "<title>指标与 95% 置信区间 Metrics with 95% confidence intervals</title>",
    ]

    def x_of(value: float, start: float, end: float) -> float:
        return _PLOT_LEFT + (value - start) / (end - start) * (_PLOT_RIGHT - _PLOT_LEFT)

    for i, row in enumerate(rows):
        top = 6 + i * _ROW_HEIGHT
        mid = top + 16
        start, end = _axis(row)
        label = escape(_clip(f"{row.metric} · {row.dataset} · {row.task}", 46))
        parts.append(f'<text x="4" y="{mid + 4}" fill="#222">{label}</text>')
        parts.append(
            f'<line x1="{_PLOT_LEFT}" y1="{mid + 12}" x2="{_PLOT_RIGHT}" y2="{mid + 12}" '
            'stroke="#bbb" stroke-width="1"/>'
        )
        for tick, anchor in ((start, "start"), (end, "end")):
            parts.append(
                f'<text x="{x_of(tick, start, end):.1f}" y="{mid + 24}" fill="#777" '
                f'font-size="10" text-anchor="{anchor}">{escape(_number(tick))}</text>'
            )
        base = x_of(max(start, 0.0), start, end)
        at = x_of(row.value, start, end)
        parts.append(
            f'<rect x="{min(base, at):.1f}" y="{mid - 7}" width="{abs(at - base):.1f}" '
            'height="14" fill="#9ec5e8"/>'
        )
        if row.low is not None and row.high is not None:
            lo, hi = x_of(row.low, start, end), x_of(row.high, start, end)
            parts.append(
                f'<path d="M{lo:.1f} {mid}H{hi:.1f}M{lo:.1f} {mid - 6}V{mid + 6}'
                f'M{hi:.1f} {mid - 6}V{mid + 6}" stroke="#1f3f66" stroke-width="1.5" '
                'fill="none"/>'
            )
        parts.append(f'<circle cx="{at:.1f}" cy="{mid}" r="4" fill="#1f3f66"/>')
        value = escape(_number(row.value) + " " + _interval(row.low, row.high))
        parts.append(f'<text x="{_PLOT_RIGHT + 8}" y="{mid + 4}" fill="#222">{value}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # every interpolated text above is escaped


# --- templates ---------------------------------------------------------------------------------


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("zslab.hub", "gallery_templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["number"] = _number
    env.filters["interval"] = _interval
    env.filters["percent"] = _percent
    env.filters["pretty_json"] = _pretty_json
    env.filters["short"] = _short
    env.globals["SECTORS"] = SECTORS
    env.globals["SORTS"] = SORTS
    env.globals["sector_label"] = _sector_label
    return env


@cache
def _pygments_css() -> str:
    from pygments.formatters import HtmlFormatter  # type: ignore[import-untyped]

    return str(HtmlFormatter().get_style_defs(".zs-source"))


def _render(template: str, **context: Any) -> str:
    context.setdefault("root", "")
    return _environment().get_template(template).render(**context)


# --- pages -------------------------------------------------------------------------------------


@dataclass
class _Listed:
    """One case in a list: the case row, its headline metric, and the sector label."""

    case: CaseRow
    headline: CaseMetricRow | None


def _headlines(session: Session, case_ids: Sequence[str]) -> dict[str, CaseMetricRow]:
    """The first metric of each case's live published version."""
    found: dict[str, CaseMetricRow] = {}
    if not case_ids:
        return found
    rows = session.scalars(
        select(CaseMetricRow)
        .where(CaseMetricRow.case_id.in_(list(case_ids)), CaseMetricRow.published.is_(True))
        .order_by(CaseMetricRow.id)
    )
    for row in rows:
        found.setdefault(row.case_id, row)
    return found


def render_index(
    session: Session,
    *,
    q: str | None = None,
    sector: str | None = None,
    sort: str = "relevance",
    offset: int = 0,
    limit: int = PAGE_SIZE,
    sector_page: bool = False,
    root: str = "",
) -> tuple[int, str]:
    """The case list (``/cases``, or the sector page when ``sector_page``): status and HTML.

    A bad query or sort shows the form with the message and answers 400."""
    from zslab.cases.search import search_cases

    query = (q or "").strip() or None
    error = None
    items: list[_Listed] = []
    total, total_exact = 0, True
    try:
        hits, total, total_exact = search_cases(
            session,
            query,
            where=_public_clause(),
            sector=sector,
            sort=sort,
            limit=limit,
            offset=offset,
        )
    except ValueError as exc:
        error = str(exc)
        fix = getattr(exc, "fix", None)
        if fix:
            error += " " + str(fix)
    else:
        ids = [hit.case_id for hit in hits]
        rows = {r.id: r for r in session.scalars(select(CaseRow).where(CaseRow.id.in_(ids)))}
        headlines = _headlines(session, ids)
        items = [_Listed(rows[i], headlines.get(i)) for i in ids if i in rows]

    def page_link(at: int) -> str:
        params: dict[str, Any] = {"q": query, "sort": sort, "offset": at or None}
        if sector and not sector_page:
            params["sector"] = sector
        if limit != PAGE_SIZE:
            params["limit"] = limit
        base = f"{root}/cases/sectors/{sector}" if sector_page else f"{root}/cases"
        return base + "?" + urlencode({k: v for k, v in params.items() if v not in ("", None)})

    previous = page_link(max(0, offset - limit)) if offset > 0 else None
    following = page_link(offset + limit) if offset + limit < total else None
    html = _render(
        "index.html",
        root=root,
        q=query or "",
        sector=sector,
        sector_page=sector_page,
        sort=sort,
        offset=offset,
        items=items,
        total=total,
        total_exact=total_exact,
        error=error,
        previous=previous,
        following=following,
    )
    return (400 if error else 200), html


def render_leaderboards(session: Session, *, root: str = "") -> str:
    """Every board of public published results, ranked (ties share a rank, marked "=")."""
    boards = service.leaderboards(session, None)
    shared: dict[tuple[str, str, str], int] = {}
    for board in boards:
        key = (board.task, board.dataset, board.metric)
        shared[key] = shared.get(key, 0) + 1
    return _render(
        "leaderboards.html",
        root=root,
        boards=[(b, shared[(b.task, b.dataset, b.metric)] > 1) for b in boards],
    )


def _reproductions(
    session: Session, case: CaseRow, versions: Sequence[CaseVersionRow]
) -> list[Any]:
    public_numbers = {v.number for v in versions}
    return [r for r in service.reproductions_of(session, case) if r.version in public_numbers]


def _notebook_entries(version: CaseVersionRow, store: ArtifactStore | None) -> list[dict[str, Any]]:
    entries = []
    for index, notebook in enumerate(version.notebooks or []):
        sha = str(notebook.get("sha256") or "")
        try:
            stored = store is not None and bool(sha) and store.exists(sha)
        except (OSError, ValueError):
            stored = False
        entries.append({**notebook, "index": index, "stored": stored})
    return entries


def _packages(provenance: Mapping[str, Any]) -> list[tuple[str, str]]:
    packages = provenance.get("packages")
    if isinstance(packages, Mapping):
        return [(str(k), "—" if v is None else str(v)) for k, v in sorted(packages.items())]
    if isinstance(packages, list):
        return [(str(p), "") for p in packages]
    return []


def render_case_page(
    session: Session,
    settings: Settings | None,
    slug: str,
    *,
    version: int | None = None,
    root: str = "",
) -> str:
    """The case page of ``slug`` (its published version, or public version ``version``).

    ``settings`` locates the artifact store, to mark notebooks whose blob is missing (None:
    do not look). Raises :class:`GalleryNotFound` when there is no such public case/version.
    """
    case, shown, versions = _public_version(session, slug, version)
    rows = metric_rows(shown.results or [])
    store = ArtifactStore.from_settings(settings) if settings is not None else None
    provenance = shown.provenance or {}
    return _render(
        "case.html",
        root=root,
        case=case,
        organization=session.get(Organization, case.org_id),
        version=shown,
        is_current=shown.number == case.published_version,
        metric_rows=rows,
        chart=metrics_chart_svg(rows) if rows else None,
        compute=shown.compute or {},
        provenance=provenance,
        provenance_runs=[r for r in provenance.get("runs") or [] if isinstance(r, Mapping)],
        packages=_packages(provenance),
        reproductions=_reproductions(session, case, versions),
        versions=versions,
        notebooks=_notebook_entries(shown, store),
    )


def render_notebook_page(
    session: Session,
    settings: Settings,
    slug: str,
    index: int,
    *,
    version: int | None = None,
    root: str = "",
) -> str:
    """Notebook ``index`` of a public version, sanitized; a note when its blob is missing or
    is not a notebook. Raises :class:`GalleryNotFound` for no such case, version or index."""
    case, shown, _ = _public_version(session, slug, version)
    notebooks = shown.notebooks or []
    if not 0 <= index < len(notebooks):
        raise GalleryNotFound(f"Case {slug!r} v{shown.number} has no notebook {index}.")
    entry = notebooks[index]
    body: Markup | None = None
    problem: str | None = None
    try:
        with ArtifactStore.from_settings(settings).open(str(entry.get("sha256") or "")) as blob:
            data = blob.read()
    except (OSError, ValueError):
        problem = "missing"
    else:
        try:
            # render_notebook's output is sanitized: the one fragment of user content let through.
            body = Markup(render_notebook(data))
        except ValueError:
            problem = "invalid"
    return _render(
        "notebook.html",
        root=root,
        case=case,
        version=shown,
        is_current=shown.number == case.published_version,
        entry=entry,
        index=index,
        body=body,
        problem=problem,
        pygments_css=Markup(_pygments_css()),
    )


def render_not_found(*, root: str = "") -> str:
    return _render("not_found.html", root=root)


# --- routes --------------------------------------------------------------------------------------


def _html(content: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(content, status_code=status, headers=dict(SECURITY_HEADERS))


def _not_found(request: Request) -> HTMLResponse:
    return _html(render_not_found(root=_root(request)), 404)


_PREFIX = re.compile(r"^(/[A-Za-z0-9._~%@+-]+)*$")


def _root(request: Request) -> str:
    """Where the gallery's links start: the ASGI root path, or the path prefix a proxy in
    front of the hub serves it under (``X-Forwarded-Prefix``; the lab's server extension sends
    one). Only plain path segments are taken, and only links change."""
    forwarded = request.headers.get("x-forwarded-prefix", "").rstrip("/")
    if forwarded and _PREFIX.match(forwarded) and len(forwarded) <= 200:
        return forwarded
    return str(request.scope.get("root_path") or "").rstrip("/")


def _int(text: str | None, *, default: int | None = None, minimum: int = 0) -> int | None:
    """A query or path number; anything not a number in range counts as absent."""
    try:
        value = int(text) if text is not None and text.strip() else default
    except ValueError:
        return default
    if value is not None and not minimum <= value <= 1_000_000:
        return default
    return value


def _session(request: Request) -> Session:
    session: Session = request.app.state.hub.db.read_session()
    return session


@router.get("", name="gallery.index")
def index_page(
    request: Request,
    q: str | None = None,
    sector: str | None = None,
    sort: str = "relevance",
    offset: str | None = None,
    limit: str | None = None,
) -> Response:
    """Search form, sector links, and the matching public cases (recent first when no query)."""
    with _session(request) as session:
        status, html = render_index(
            session,
            q=q,
            sector=sector or None,
            sort=sort or "relevance",
            offset=_int(offset, default=0) or 0,
            limit=min(_int(limit, default=PAGE_SIZE, minimum=1) or PAGE_SIZE, 100),
            root=_root(request),
        )
    return _html(html, status)


@router.get("/sectors/{sector}", name="gallery.sector")
def sector_page(
    request: Request,
    sector: str,
    q: str | None = None,
    sort: str = "recent",
    offset: str | None = None,
    limit: str | None = None,
) -> Response:
    """The cases of one sector."""
    if sector not in SECTORS:
        return _not_found(request)
    with _session(request) as session:
        status, html = render_index(
            session,
            q=q,
            sector=sector,
            sort=sort or "recent",
            offset=_int(offset, default=0) or 0,
            limit=min(_int(limit, default=PAGE_SIZE, minimum=1) or PAGE_SIZE, 100),
            sector_page=True,
            root=_root(request),
        )
    return _html(html, status)


@router.get("/leaderboards", name="gallery.leaderboards")
def leaderboards_page(request: Request) -> Response:
    """Every board: comparable public results ranked, ties marked."""
    with _session(request) as session:
        return _html(render_leaderboards(session, root=_root(request)))


@router.get("/{slug}", name="gallery.case")
def case_page(request: Request, slug: str, version: str | None = None) -> Response:
    """A case: metrics with intervals, chart, compute, provenance, reproductions, notebooks."""
    number = _int(version, minimum=1)
    if version is not None and number is None:
        return _not_found(request)
    settings: Settings = request.app.state.hub.settings
    try:
        with _session(request) as session:
            html = render_case_page(session, settings, slug, version=number, root=_root(request))
    except GalleryNotFound:
        return _not_found(request)
    return _html(html)


@router.get("/{slug}/notebooks/{index}", name="gallery.notebook")
def notebook_page(request: Request, slug: str, index: str, version: str | None = None) -> Response:
    """One executed notebook of a case, rendered inert."""
    number = _int(version, minimum=1)
    position = _int(index)
    if position is None or (version is not None and number is None):
        return _not_found(request)
    settings: Settings = request.app.state.hub.settings
    try:
        with _session(request) as session:
            html = render_notebook_page(
                session, settings, slug, position, version=number, root=_root(request)
            )
    except GalleryNotFound:
        return _not_found(request)
    return _html(html)


@router.get("/{slug}/README.md", name="gallery.model_card")
def model_card(request: Request, slug: str, version: str | None = None) -> Response:
    """The case as a Hugging Face model card with ``model-index`` front matter."""
    number = _int(version, minimum=1)
    if version is not None and number is None:
        return _not_found(request)
    try:
        with _session(request) as session:
            case, shown, _ = _public_version(session, slug, number)
            text = service.model_card(session, case, shown.number)
    except GalleryNotFound:
        return _not_found(request)
    return Response(
        text,
        media_type="text/markdown; charset=utf-8",
        headers={**SECURITY_HEADERS, "Content-Disposition": 'attachment; filename="README.md"'},
    )
