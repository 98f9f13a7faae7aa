"""``/api/v1/users`` and ``/api/v1/me``."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from zslab.hub import accounts
from zslab.hub.context import HubRoute, ReadContext, WriteContext
from zslab.hub.pagination import Cursor, Limit
from zslab.schemas import Me, Page, UserCreate, UserRead, UserUpdate

router = APIRouter(route_class=HubRoute, tags=["users"])


@router.get("/me", name="me.get")
async def get_me(ctx: ReadContext) -> Me:
    """The caller as authenticated: served from the identity cache, no database work."""
    return Me(user=ctx.identity.user, token=ctx.identity.token)


@router.post(
    "/users",
    status_code=201,
    name="user.create",
    response_model=UserRead,
    summary="Add a user (admins)",
)
def create_user(body: UserCreate, ctx: WriteContext) -> Response:
    return ctx.create(body, lambda: accounts.create_user(ctx, body))


@router.get("/users", name="user.list", summary="List users (admins)")
def list_users(ctx: ReadContext, limit: Limit = 50, cursor: Cursor = None) -> Page[UserRead]:
    return accounts.list_users(ctx, limit=limit, cursor=cursor)


@router.get("/users/{user}", name="user.get", summary="A user by id or name")
def get_user(user: str, ctx: ReadContext) -> UserRead:
    return accounts.get_user(ctx, user)


@router.patch("/users/{user}", name="user.update")
def update_user(user: str, body: UserUpdate, ctx: WriteContext) -> UserRead:
    result = accounts.update_user(ctx, user, body)
    ctx.audit(result.id, detail=", ".join(sorted(body.model_dump(exclude_unset=True))))
    ctx.commit()
    return result
