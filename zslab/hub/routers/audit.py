"""``/api/v1/audit``: the audit log of every mutating call, newest first (admins)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from sqlalchemy import or_, select

from zslab.hub.context import HubRoute, ReadContext
from zslab.hub.db.orm import AuditEvent
from zslab.hub.pagination import Cursor, Limit, paginate
from zslab.schemas import AuditEventRead, Page

router = APIRouter(route_class=HubRoute, prefix="/audit", tags=["audit"])


@router.get("", name="audit.list")
def list_audit(
    ctx: ReadContext,
    actor: Annotated[str | None, Query(description="User name or id.")] = None,
    action: Annotated[str | None, Query(description="e.g. project.create")] = None,
    object_id: str | None = None,
    outcome: Literal["success", "denied", "invalid", "error"] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Page[AuditEventRead]:
    ctx.principal.require_admin("read the audit log")
    statement = select(AuditEvent)
    if actor:
        statement = statement.where(
            or_(AuditEvent.actor_id == actor, AuditEvent.actor_name == actor)
        )
    if action:
        statement = statement.where(AuditEvent.action == action)
    if object_id:
        statement = statement.where(AuditEvent.object_id == object_id)
    if outcome:
        statement = statement.where(AuditEvent.outcome == outcome)
    if since:
        statement = statement.where(AuditEvent.at >= since)
    if until:
        statement = statement.where(AuditEvent.at < until)
    return paginate(
        ctx.session,
        statement,
        AuditEvent.id,
        limit=limit,
        cursor=cursor,
        to_item=AuditEventRead.model_validate,
        descending=True,
    )
