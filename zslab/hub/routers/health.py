"""``/api/v1/health`` (no token needed) and the problem-type descriptions."""

from __future__ import annotations

import time
from typing import Literal

from fastapi import APIRouter, Request
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from zslab._version import __version__
from zslab.errors import NotFound
from zslab.hub.context import HubRoute, HubState
from zslab.hub.db.engine import redact_url
from zslab.hub.db.orm import utcnow
from zslab.hub.problems import PROBLEM_TYPES
from zslab.schemas import Health

router = APIRouter(route_class=HubRoute, tags=["health"])


@router.get("/health", name="health")
def health(request: Request) -> Health:
    hub: HubState = request.app.state.hub
    database: dict[str, object] = {"dialect": hub.db.dialect, "url": redact_url(hub.db.url)}
    status: Literal["ok", "degraded"] = "ok"
    try:
        with hub.db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        database["ok"] = True
    except DBAPIError as exc:
        database["ok"] = False
        database["error"] = str(exc.orig)
        status = "degraded"
    return Health(
        status=status,
        version=__version__,
        database=database,
        uptime_s=round(time.monotonic() - hub.started_monotonic, 3),
        time=utcnow(),
    )


@router.get("/problems/{slug}", name="problem.describe", tags=["problems"])
def describe_problem(slug: str) -> dict[str, object]:
    cls = PROBLEM_TYPES.get(slug)
    if cls is None:
        raise NotFound(f"No problem type {slug!r}.", fix="See /api/v1/problems.")
    return {
        "type": f"/api/v1/problems/{slug}",
        "title": cls.title,
        "status": cls.status,
        "description": (cls.__doc__ or cls.title).strip(),
    }


@router.get("/problems", name="problem.list", tags=["problems"])
def list_problems() -> list[dict[str, object]]:
    return [describe_problem(slug) for slug in PROBLEM_TYPES]
