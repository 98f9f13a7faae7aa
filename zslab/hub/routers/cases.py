"""``/api/v1/cases``: the vertical-industry case library (publish, review, search, boards,
reproductions, model cards). The rules of who may do what are in :mod:`zslab.hub.cases`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool
from starlette.responses import PlainTextResponse, Response

from zslab.errors import InvalidInput, NotFound
from zslab.hub import accounts
from zslab.hub import cases as service
from zslab.hub.context import HubRoute, ReadContext, WriteContext
from zslab.hub.db.orm import CaseRow
from zslab.schemas import (
    CaseCreate,
    CaseRead,
    CaseSearchPage,
    CaseUpdate,
    CaseVersionCreate,
    CaseVersionRead,
    LeaderboardRead,
    ReproductionCreate,
    ReproductionRead,
    ReviewCreate,
)

__all__ = ["router"]

router = APIRouter(route_class=HubRoute, prefix="/cases", tags=["cases"])


@router.post("", status_code=201, name="case.publish", response_model=CaseVersionRead)
async def publish_case(body: CaseCreate, ctx: WriteContext) -> Response:
    """Publish runs as a new case: version 1, submitted for review unless ``submit`` is false."""

    def create() -> Response:
        try:
            return ctx.create(body, lambda: service.publish(ctx, body))
        finally:
            ctx.close()

    return await run_in_threadpool(create)


@router.get("", name="case.search")
def search_cases(
    ctx: ReadContext,
    q: Annotated[str | None, Query(description="Words in titles, summaries, tags…")] = None,
    sector: Annotated[str | None, Query()] = None,
    task: Annotated[str | None, Query()] = None,
    dataset: Annotated[str | None, Query()] = None,
    org: Annotated[str | None, Query(description="Organization id or slug.")] = None,
    license: Annotated[str | None, Query()] = None,
    reproduced: Annotated[bool, Query(description="Only reproduced cases.")] = False,
    sort: Annotated[str, Query(description="relevance, recent or metric:<name>.")] = "relevance",
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=10_000)] = 0,
) -> CaseSearchPage:
    """Cases you may see that match the query and filters."""
    from zslab.cases.search import search_cases as search

    session = ctx.session
    org_id = None
    if org:
        try:
            org_id = accounts.find_org(session, org).id
        except (NotFound, InvalidInput) as exc:
            exc.field = "org"
            raise
    # A bad query, sort or sector raises InvalidSearch: a 422 naming the field.
    hits, total, exact = search(
        session,
        q,
        where=service.visibility_clause(session, ctx.principal),
        sector=sector,
        task=task,
        dataset=dataset,
        org_id=org_id,
        license=license,
        reproduced_only=reproduced,
        sort=sort,
        limit=limit,
        offset=offset,
    )
    rows = {
        r.id: r for r in session.query(CaseRow).filter(CaseRow.id.in_([h.case_id for h in hits]))
    }
    items = [service.case_read(session, rows[h.case_id]) for h in hits if h.case_id in rows]
    return CaseSearchPage(items=items, total=total, total_exact=exact, offset=offset, limit=limit)


@router.get("/leaderboards", name="case.leaderboards")
def get_leaderboards(
    ctx: ReadContext,
    task: Annotated[str | None, Query()] = None,
    dataset: Annotated[str | None, Query()] = None,
    metric: Annotated[str | None, Query()] = None,
) -> list[LeaderboardRead]:
    """Ranked published versions per task, dataset and metric (comparable results only)."""
    return service.leaderboards(
        ctx.session, ctx.principal, task=task, dataset=dataset, metric=metric
    )


@router.get("/{slug}", name="case.get")
def get_case(slug: str, ctx: ReadContext) -> CaseRead:
    """A case with its versions (drafts only for its editors) and reproductions."""
    row = service.find_case(ctx.session, ctx.principal, slug)
    return service.case_read(ctx.session, row, principal=ctx.principal, full=True)


@router.patch("/{slug}", name="case.update")
def update_case(slug: str, body: CaseUpdate, ctx: WriteContext) -> CaseRead:
    """Change visibility, or the newest version's content while it is a draft."""
    return service.update_case(ctx, slug, body)


@router.post(
    "/{slug}/versions", status_code=201, name="case.version.create", response_model=CaseVersionRead
)
async def add_version(slug: str, body: CaseVersionCreate, ctx: WriteContext) -> Response:
    """A new version from runs: how a published case gets a fix."""

    def create() -> Response:
        try:
            return ctx.create(body, lambda: service.add_version(ctx, slug, body))
        finally:
            ctx.close()

    return await run_in_threadpool(create)


@router.get("/{slug}/versions/{number}", name="case.version.get")
def get_version(slug: str, number: int, ctx: ReadContext) -> CaseVersionRead:
    """One version with its review history."""
    session = ctx.session
    row = service.find_case(session, ctx.principal, slug)
    version = service._version(session, row, number)
    if version.status in ("draft", "in_review") and not (
        service.may_edit(session, ctx.principal, row)
        or service._review_refusal(session, ctx.principal, row, version) is None
    ):
        raise NotFound(
            f"Case {row.slug!r} has no published version {number}.",
            field="version",
            fix=f"GET /api/v1/cases/{row.slug} lists its versions.",
        )
    return service.version_read(session, version, slug=row.slug, reviews=True)


@router.post("/{slug}/versions/{number}/review", name="case.review")
def review_version(
    slug: str, number: int, body: ReviewCreate, ctx: WriteContext
) -> CaseVersionRead:
    """Submit, withdraw, approve, request changes, archive, or comment."""
    return service.review(ctx, slug, number, body)


@router.post(
    "/{slug}/reproductions",
    status_code=201,
    name="case.reproduce",
    response_model=ReproductionRead,
)
async def record_reproduction(slug: str, body: ReproductionCreate, ctx: WriteContext) -> Response:
    """Record a re-run: the hub compares the runs' results with the version's."""

    def create() -> Response:
        try:
            return ctx.create(body, lambda: service.reproduce(ctx, slug, body))
        finally:
            ctx.close()

    return await run_in_threadpool(create)


@router.get("/{slug}/reproductions", name="case.reproductions")
def list_reproductions(slug: str, ctx: ReadContext) -> list[ReproductionRead]:
    row = service.find_case(ctx.session, ctx.principal, slug)
    return service.reproductions_of(ctx.session, row)


@router.get(
    "/{slug}/model-card",
    name="case.model_card",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/markdown": {}}}},
)
def get_model_card(
    slug: str, ctx: ReadContext, version: Annotated[int | None, Query(ge=1)] = None
) -> PlainTextResponse:
    """The case as a Hugging Face model card ``README.md`` with ``model-index``."""
    row = service.find_case(ctx.session, ctx.principal, slug)
    text = service.model_card(ctx.session, row, version)
    return PlainTextResponse(
        text,
        media_type="text/markdown; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="README.md"'},
    )
