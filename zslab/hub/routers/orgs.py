"""``/api/v1/orgs``: organizations and their members."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from zslab.hub import accounts
from zslab.hub.context import HubRoute, ReadContext, WriteContext
from zslab.hub.pagination import Cursor, Limit
from zslab.schemas import OrgCreate, OrgMemberAdd, OrgMemberRead, OrgRead, Page

router = APIRouter(route_class=HubRoute, prefix="/orgs", tags=["organizations"])


@router.post("", status_code=201, name="org.create", response_model=OrgRead)
def create_org(body: OrgCreate, ctx: WriteContext) -> Response:
    return ctx.create(body, lambda: accounts.create_org(ctx, body))


@router.get("", name="org.list")
def list_orgs(ctx: ReadContext, limit: Limit = 50, cursor: Cursor = None) -> Page[OrgRead]:
    return accounts.list_orgs(ctx, limit=limit, cursor=cursor)


@router.get("/{org}", name="org.get")
def get_org(org: str, ctx: ReadContext) -> OrgRead:
    return accounts.get_org(ctx, org)


@router.get("/{org}/members", name="org.member.list")
def list_members(
    org: str, ctx: ReadContext, limit: Limit = 50, cursor: Cursor = None
) -> Page[OrgMemberRead]:
    return accounts.list_org_members(ctx, org, limit=limit, cursor=cursor)


@router.put("/{org}/members", name="org.member.put", summary="Add a member or change a role")
def put_member(org: str, body: OrgMemberAdd, ctx: WriteContext) -> OrgMemberRead:
    result = accounts.add_org_member(ctx, org, body)
    ctx.audit(result.user_id, detail=f"{org}: {result.user_name} as {result.role}")
    ctx.commit()
    return result


@router.delete("/{org}/members/{user}", status_code=204, name="org.member.remove")
def remove_member(org: str, user: str, ctx: WriteContext) -> Response:
    user_id = accounts.remove_org_member(ctx, org, user)
    ctx.audit(user_id, detail=f"removed from {org}", status=204)
    ctx.commit()
    return Response(status_code=204)
