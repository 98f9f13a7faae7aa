"""``/api/v1/runs``: executions of templates, their metrics and provenance, and their artifacts.

A run belongs to a project (the one named, or the caller's own); members of that project may
see and change it, no one else. Artifact bytes go to the content-addressed
:class:`~zslab.hub.artifacts.ArtifactStore`; the database keeps name → sha256. Uploads stream
past ``ZSLAB_MAX_BODY_BYTES`` (the app exempts this route) up to ``ZSLAB_MAX_ARTIFACT_BYTES``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated, Any, BinaryIO

import anyio
from fastapi import APIRouter, Header, Query, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import FileResponse, Response, StreamingResponse

from zslab.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    StorageUnavailable,
)
from zslab.hub import accounts
from zslab.hub.artifacts import ArtifactStore, BlobWriter
from zslab.hub.context import Context, HubRoute, ReadContext, WriteContext
from zslab.hub.db.orm import ArtifactRow, LeaseRow, RunRow, utcnow
from zslab.hub.pagination import Cursor, Limit, paginate
from zslab.hub.slices import _visible as visible_project_ids
from zslab.hub.slices import in_thread, resolve_project
from zslab.ids import new_id
from zslab.schemas import ArtifactRead, Page, RunCreate, RunRead, RunStatus, RunUpdate

__all__ = ["ENDED", "check_transition", "router"]

router = APIRouter(route_class=HubRoute, prefix="/runs", tags=["runs"])

ENDED = frozenset({"completed", "failed", "cancelled"})
NOTEBOOK = "executed.ipynb"
_CHUNK = 1 << 20
_ARTIFACT_NAME = re.compile(r"^[A-Za-z0-9._+=@-]+(/[A-Za-z0-9._+=@-]+)*$")


def check_transition(current: str, new: str) -> None:
    """Raise 409 unless a run may go from ``current`` to ``new`` status.

    queued → running → completed | failed | cancelled; a queued run may also end directly.
    Setting the status a run already has is allowed (a retried PATCH).
    """
    if new == current:
        return
    if current in ENDED:
        raise Conflict(
            f"The run has {current}; an ended run cannot become {new}.",
            field="status",
            fix="Start a new run to run the template again.",
        )
    if new == "queued":
        raise Conflict(
            f"The run is {current}; it cannot go back to queued.",
            field="status",
            fix="Leave the status out, or end the run.",
        )


def _store(ctx: Context) -> ArtifactStore:
    return ArtifactStore.from_settings(ctx.settings)


def _run_read(row: RunRow, artifacts: list[ArtifactRow] | None = None) -> RunRead:
    read = RunRead.model_validate(row)
    if artifacts is not None:
        read.artifacts = [ArtifactRead.model_validate(a) for a in artifacts]
    return read


def _artifacts(session: Session, run_id: str) -> list[ArtifactRow]:
    statement = select(ArtifactRow).where(ArtifactRow.run_id == run_id).order_by(ArtifactRow.name)
    return list(session.scalars(statement))


def _find_run(ctx: Context, session: Session, run_id: str, *, act: bool) -> RunRow:
    """The run, if the caller may see (``act``: change) it: 404 when absent, 403 when it is
    another project's."""
    row = session.get(RunRow, run_id)
    if row is None:
        raise NotFound(
            f"No run {run_id!r}.", field="run", fix="List your runs with GET /api/v1/runs."
        )
    principal = ctx.principal
    if not principal.is_admin and row.project_id not in visible_project_ids(
        session, principal.user_id
    ):
        what = "change" if act else "see"
        raise Forbidden(
            f"Run {run_id} belongs to a project you are not a member of, so you may not {what} it.",
            fix="Ask a maintainer of that project to add you.",
        )
    return row


def _check_artifact_name(name: str) -> None:
    if len(name) > 500 or not _ARTIFACT_NAME.match(name) or ".." in name.split("/"):
        raise InvalidInput(
            f"{name!r} is not a valid artifact name.",
            field="name",
            fix="Use letters, digits and . _ - + = @, with '/' between parts, e.g. "
            "'checkpoint/step-100.pt' (at most 500 characters, no '..').",
        )


# --- runs ----------------------------------------------------------------------------------------


@router.post("", status_code=201, name="run.create", response_model=RunRead)
async def create_run(body: RunCreate, ctx: WriteContext) -> Response:
    """Record a run of a template (usually as it starts: status ``running``)."""
    project_id, _ = await resolve_project(ctx, body.project)

    def make() -> RunRead:
        if body.lease_id is not None and ctx.session.get(LeaseRow, body.lease_id) is None:
            raise InvalidInput(
                f"No lease {body.lease_id!r}.",
                field="lease_id",
                fix="Pass the id of the lease the run uses, or leave lease_id out.",
            )
        now = utcnow()
        row = RunRow(
            id=new_id("run"),
            project_id=project_id,
            user_id=ctx.principal.user_id,
            template=body.template,
            template_sha256=body.template_sha256,
            parameters=body.parameters,
            lease_id=body.lease_id,
            status=body.status,
            created_at=now,
            started_at=now if body.status != "queued" else None,
            ended_at=now if body.status in ENDED else None,
            metrics={},
            provenance=body.provenance,
        )
        ctx.session.add(row)
        ctx.session.flush()
        return _run_read(row, [])

    def create() -> Response:
        try:
            return ctx.create(body, make)
        finally:
            ctx.close()

    return await run_in_threadpool(create)


@router.get("", name="run.list")
def list_runs(
    ctx: ReadContext,
    template: Annotated[str | None, Query(description="Only runs of this template.")] = None,
    status: Annotated[RunStatus | None, Query(description="Only runs in this status.")] = None,
    project: Annotated[str | None, Query(description="Project id or org/slug.")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[RunRead]:
    """Runs of the projects you belong to (all for admins), newest first."""
    session = ctx.session
    statement = select(RunRow)
    if not ctx.principal.is_admin:
        visible = visible_project_ids(session, ctx.principal.user_id)
        statement = statement.where(RunRow.project_id.in_(visible))
    if project:
        try:
            project_id = accounts.find_project(session, project).id
        except (NotFound, InvalidInput) as exc:
            exc.field = "project"
            raise
        statement = statement.where(RunRow.project_id == project_id)
    if template:
        statement = statement.where(RunRow.template == template)
    if status:
        statement = statement.where(RunRow.status == status)
    return paginate(
        session,
        statement,
        RunRow.id,
        limit=limit,
        cursor=cursor,
        to_item=_run_read,
        descending=True,
    )


@router.get("/{run_id}", name="run.get")
def get_run(run_id: str, ctx: ReadContext) -> RunRead:
    """A run with its artifacts."""
    row = _find_run(ctx, ctx.session, run_id, act=False)
    return _run_read(row, _artifacts(ctx.session, run_id))


def _merge(current: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """JSON merge patch at the top level: keys set to null are removed."""
    merged = dict(current)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


@router.patch("/{run_id}", name="run.update")
def update_run(run_id: str, body: RunUpdate, ctx: WriteContext) -> RunRead:
    """Move a run along (running → completed …), record its metrics, provenance or error."""
    row = _find_run(ctx, ctx.session, run_id, act=True)
    changed = body.model_dump(exclude_unset=True)
    if body.status is not None:
        check_transition(row.status, body.status)
        if body.status != row.status:
            now = utcnow()
            if body.status == "running" and row.started_at is None:
                row.started_at = now
            if body.status in ENDED:
                row.ended_at = body.ended_at or now
            row.status = body.status
    if body.ended_at is not None:
        if row.status not in ENDED:
            raise InvalidInput(
                f"The run is {row.status}; only an ended run has an end time.",
                field="ended_at",
                fix="Send ended_at together with status completed, failed or cancelled.",
            )
        row.ended_at = body.ended_at
    if body.metrics is not None:
        row.metrics = _merge(row.metrics, body.metrics)
    if body.provenance is not None:
        row.provenance = _merge(row.provenance, body.provenance)
    if "error" in changed:
        row.error = body.error
    ctx.session.flush()
    ctx.audit(run_id, object_type="run", detail=", ".join(sorted(changed)) or None)
    ctx.commit()
    return _run_read(row, _artifacts(ctx.session, run_id))


# --- artifacts -------------------------------------------------------------------------------


@router.put("/{run_id}/artifacts/{name:path}", name="run.artifact.put")
async def put_artifact(
    run_id: str,
    name: str,
    request: Request,
    ctx: WriteContext,
    content_type: Annotated[str | None, Header()] = None,
    content_length: Annotated[int | None, Header()] = None,
    x_content_sha256: Annotated[
        str | None, Header(description="sha256 of the body; a damaged upload is refused.")
    ] = None,
) -> ArtifactRead:
    """Store the request body as the run's artifact ``name`` (replacing one of that name).

    The body streams to the store as it arrives; ``executed.ipynb`` also becomes the run's
    ``notebook_sha256``.
    """
    _check_artifact_name(name)
    await in_thread(ctx, lambda s: _find_run(ctx, s, run_id, act=True))
    limit = ctx.settings.max_artifact_bytes
    if content_length is not None and content_length > limit:
        raise PayloadTooLarge(
            f"The artifact is {content_length} bytes; this hub stores at most {limit}.",
            field="body",
            fix="Store a smaller file, or raise ZSLAB_MAX_ARTIFACT_BYTES on the hub.",
            max_bytes=limit,
        )
    media_type = (content_type or "application/octet-stream").strip()[:200]
    sha256, size = await _receive(request, _store(ctx), limit, x_content_sha256)

    def record() -> ArtifactRead:
        try:
            session = ctx.session
            row = _find_run(ctx, session, run_id, act=True)
            artifact = session.scalars(
                select(ArtifactRow).where(ArtifactRow.run_id == run_id, ArtifactRow.name == name)
            ).one_or_none()
            if artifact is None:
                artifact = ArtifactRow(run_id=run_id, name=name)
                session.add(artifact)
            artifact.sha256 = sha256
            artifact.size = size
            artifact.media_type = media_type
            artifact.created_at = utcnow()
            if name == NOTEBOOK:
                row.notebook_sha256 = sha256
            session.flush()
            read = ArtifactRead.model_validate(artifact)
            ctx.audit(run_id, object_type="run", detail=f"{name} {sha256} ({size} bytes)")
            ctx.commit()
            return read
        finally:
            ctx.close()

    return await run_in_threadpool(record)


async def _receive(
    request: Request, store: ArtifactStore, limit: int, expected_sha256: str | None
) -> tuple[str, int]:
    """Stream the request body into a new blob, a megabyte at a time off the event loop."""
    writer: BlobWriter = await anyio.to_thread.run_sync(lambda: store.writer(max_bytes=limit))
    try:
        buffer = bytearray()
        async for chunk in request.stream():
            buffer += chunk
            if len(buffer) >= _CHUNK:
                await anyio.to_thread.run_sync(writer.write, bytes(buffer))
                buffer.clear()
        if buffer:
            await anyio.to_thread.run_sync(writer.write, bytes(buffer))
        return await anyio.to_thread.run_sync(
            lambda: writer.commit(expected_sha256=expected_sha256)
        )
    except BaseException:
        writer.abort()
        raise


@router.get("/{run_id}/artifacts", name="run.artifact.list")
def list_artifacts(run_id: str, ctx: ReadContext) -> list[ArtifactRead]:
    _find_run(ctx, ctx.session, run_id, act=False)
    return [ArtifactRead.model_validate(a) for a in _artifacts(ctx.session, run_id)]


@router.get(
    "/{run_id}/artifacts/{name:path}",
    name="run.artifact.get",
    response_class=FileResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def get_artifact(run_id: str, name: str, ctx: ReadContext) -> Response:
    """The artifact's bytes, with the media type it was stored with."""
    session = ctx.session
    _find_run(ctx, session, run_id, act=False)
    artifact = session.scalars(
        select(ArtifactRow).where(ArtifactRow.run_id == run_id, ArtifactRow.name == name)
    ).one_or_none()
    if artifact is None:
        raise NotFound(
            f"Run {run_id} has no artifact {name!r}.",
            field="name",
            fix=f"List them with GET /api/v1/runs/{run_id}/artifacts.",
        )
    missing = StorageUnavailable(
        f"The bytes of artifact {name!r} ({artifact.sha256}) are missing from the artifact store.",
        fix="Ask the hub's operator to restore the artifact directory.",
    )
    headers = {"ETag": f'"{artifact.sha256}"', "X-Content-SHA256": artifact.sha256}
    store = _store(ctx)
    path = store.local_path(artifact.sha256)
    if path is not None:
        if not path.is_file():
            raise missing
        return FileResponse(path, media_type=artifact.media_type, headers=headers)
    try:
        size = store.size(artifact.sha256)
        blob = store.open(artifact.sha256)
    except FileNotFoundError as exc:
        raise missing from exc
    return StreamingResponse(
        _chunks(blob),
        media_type=artifact.media_type,
        headers={**headers, "Content-Length": str(size)},
    )


def _chunks(blob: BinaryIO) -> Iterator[bytes]:
    """A remote blob a megabyte at a time (Starlette reads it off the event loop), then closed."""
    with blob:
        while chunk := blob.read(_CHUNK):
            yield chunk
