"""``/api/v1/projects``: projects (owned by an organization) and their members."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from zslab.hub import accounts
from zslab.hub.context import HubRoute, ReadContext, WriteContext
from zslab.hub.pagination import Cursor, Limit
from zslab.schemas import (
    Page,
    ProjectCreate,
    ProjectMemberAdd,
    ProjectMemberRead,
    ProjectRead,
    ProjectUpdate,
)

router = APIRouter(route_class=HubRoute, prefix="/projects", tags=["projects"])


@router.post("", status_code=201, name="project.create", response_model=ProjectRead)
def create_project(body: ProjectCreate, ctx: WriteContext) -> Response:
    return ctx.create(body, lambda: accounts.create_project(ctx, body))


@router.get("", name="project.list")
def list_projects(
    ctx: ReadContext,
    org: Annotated[str | None, Query(description="Only this organization's projects.")] = None,
    slug: Annotated[str | None, Query(description="Only the project with this slug.")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[ProjectRead]:
    return accounts.list_projects(ctx, org_ref=org, slug=slug, limit=limit, cursor=cursor)


@router.get("/{project}", name="project.get", summary="A project by id or org/slug")
def get_project(project: str, ctx: ReadContext) -> ProjectRead:
    return accounts.get_project(ctx, project)


@router.patch("/{project}", name="project.update")
def update_project(project: str, body: ProjectUpdate, ctx: WriteContext) -> ProjectRead:
    result = accounts.update_project(ctx, project, body)
    ctx.audit(result.id, detail=", ".join(sorted(body.model_dump(exclude_unset=True))))
    ctx.commit()
    return result


@router.get("/{project}/members", name="project.member.list")
def list_members(
    project: str, ctx: ReadContext, limit: Limit = 50, cursor: Cursor = None
) -> Page[ProjectMemberRead]:
    return accounts.list_project_members(ctx, project, limit=limit, cursor=cursor)


@router.put("/{project}/members", name="project.member.put")
def put_member(project: str, body: ProjectMemberAdd, ctx: WriteContext) -> ProjectMemberRead:
    result = accounts.add_project_member(ctx, project, body)
    ctx.audit(result.user_id, detail=f"{project}: {result.user_name} as {result.role}")
    ctx.commit()
    return result


@router.delete("/{project}/members/{user}", status_code=204, name="project.member.remove")
def remove_member(project: str, user: str, ctx: WriteContext) -> Response:
    user_id = accounts.remove_project_member(ctx, project, user)
    ctx.audit(user_id, detail=f"removed from {project}", status=204)
    ctx.commit()
    return Response(status_code=204)
