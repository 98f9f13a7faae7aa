"""``/api/v1/tokens``: create (secret shown once), list, revoke."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from zslab.hub import accounts
from zslab.hub.context import HubRoute, ReadContext, WriteContext
from zslab.hub.pagination import Cursor, Limit
from zslab.schemas import Page, TokenCreate, TokenCreated, TokenRead

router = APIRouter(route_class=HubRoute, prefix="/tokens", tags=["tokens"])


@router.post("", status_code=201, name="token.create", response_model=TokenCreated)
def create_token(body: TokenCreate, ctx: WriteContext) -> Response:
    return ctx.create(body, lambda: accounts.create_token(ctx, body))


@router.get("", name="token.list")
def list_tokens(
    ctx: ReadContext,
    user: Annotated[str | None, Query(description="Name/id, or * for all (admins).")] = None,
    include_revoked: bool = False,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[TokenRead]:
    return accounts.list_tokens(
        ctx, user_ref=user, include_revoked=include_revoked, limit=limit, cursor=cursor
    )


@router.delete("/{token_id}", name="token.revoke")
def revoke_token(token_id: str, ctx: WriteContext) -> TokenRead:
    result = accounts.revoke_token(ctx, token_id)
    ctx.audit(result.id)
    ctx.commit()
    return result
