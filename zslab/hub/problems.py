"""Errors as RFC 9457 problem documents (``application/problem+json``).

One place maps every error class to a status and a document; handlers never build error
responses themselves. The ``type`` of each problem is a URI under ``/api/v1/problems/`` that the
hub itself describes.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from zslab import errors
from zslab.errors import ApiError, ZslabError

__all__ = ["PROBLEM_TYPES", "install_handlers", "problem_document", "problem_response"]

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "/api/v1/problems/"

PROBLEM_TYPES: dict[str, type[ZslabError]] = {
    cls.slug: cls
    for cls in (
        errors.BadRequest,
        errors.Unauthenticated,
        errors.Forbidden,
        errors.NotFound,
        errors.Conflict,
        errors.PayloadTooLarge,
        errors.InvalidInput,
        errors.StorageUnavailable,
        errors.ServerError,
        errors.ApiError,
    )
}

_GENERIC_TITLES = {405: "Method not allowed", 406: "Not acceptable", 415: "Unsupported media type"}


def status_of(exc: ZslabError) -> int:
    return exc.status_code if isinstance(exc, ApiError) else 500


def problem_document(exc: ZslabError, *, request_id: str | None, instance: str | None) -> dict:
    status = status_of(exc)
    doc: dict[str, Any] = {
        "type": TYPE_BASE + exc.slug,
        "title": exc.title if exc.slug != "api-error" else _GENERIC_TITLES.get(status, exc.title),
        "status": status,
        "detail": exc.detail,
    }
    if instance:
        doc["instance"] = instance
    if exc.field:
        doc["field"] = exc.field
    if exc.fix:
        doc["fix"] = exc.fix
    if exc.errors:
        doc["errors"] = exc.errors
    if request_id:
        doc["request_id"] = request_id
    for key, value in exc.extra.items():
        doc.setdefault(key, value)
    return doc


def problem_response(
    exc: ZslabError, *, request_id: str | None = None, instance: str | None = None
) -> Response:
    doc = problem_document(exc, request_id=request_id, instance=instance)
    headers = {}
    if "retry_after" in exc.extra:
        headers["Retry-After"] = str(exc.extra["retry_after"])
    if isinstance(exc, errors.Unauthenticated):
        headers["WWW-Authenticate"] = 'Bearer realm="zslab"'
    if "allow" in exc.extra:
        headers["Allow"] = str(exc.extra["allow"])
    body = json.dumps(doc, ensure_ascii=False).encode()
    return Response(body, status_code=doc["status"], media_type=MEDIA_TYPE, headers=headers)


def _respond(request: Request, exc: ZslabError) -> Response:
    state = request.scope.setdefault("state", {})
    state["zslab_detail"] = exc.detail
    return problem_response(
        exc, request_id=state.get("zslab_request_id"), instance=request.url.path
    )


# --- validation errors --------------------------------------------------------------------


def _known_fields(request: Request) -> list[str]:
    """Field names of the route's body model, to tell the user what is allowed."""
    route = request.scope.get("route")
    body_field = getattr(route, "body_field", None)
    annotation = getattr(getattr(body_field, "field_info", None), "annotation", None)
    fields = getattr(annotation, "model_fields", None)
    return sorted(fields) if fields else []


def _field_error(err: dict[str, Any], request: Request) -> dict[str, Any]:
    loc = [str(part) for part in err.get("loc", ())]
    where = loc[0] if loc else "body"
    path = loc[1:] if where in {"body", "query", "path", "header", "cookie"} else loc
    field = ".".join(path) or where
    kind = err.get("type", "")
    message = str(err.get("msg", "is invalid"))
    if kind == "missing":
        message = "is required"
    elif kind == "extra_forbidden":
        known = _known_fields(request)
        message = "is not a known field; remove it"
        if known:
            message += f" (known fields: {', '.join(known)})"
    elif message.startswith("Value error, "):
        message = message.removeprefix("Value error, ")
    return {"field": field, "location": where, "message": message, "type": kind}


def validation_problem(request: Request, exc: RequestValidationError) -> ZslabError:
    raw = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in raw):
        err = next(e for e in raw if e.get("type") == "json_invalid")
        ctx = err.get("ctx") or {}
        reason = ctx.get("error", "invalid JSON")
        where = err.get("loc", ("body", "?"))
        position = where[1] if len(where) > 1 else "?"
        return errors.BadRequest(
            f"The request body is not valid JSON ({reason} at character {position}).",
            field="body",
            fix="Send a JSON object with Content-Type: application/json.",
        )
    items = [_field_error(e, request) for e in raw]
    if len(items) == 1 and items[0]["field"] == "body" and items[0]["type"] == "missing":
        return errors.InvalidInput(
            "The request needs a JSON body.",
            field="body",
            errors=items,
            fix="Send a JSON object with Content-Type: application/json.",
        )
    detail = "; ".join(f"{i['field']}: {i['message']}" for i in items)
    first = items[0] if items else {"field": None}
    return errors.InvalidInput(
        f"Invalid input: {detail}.",
        field=first["field"],
        errors=items,
        fix="Correct the named field(s); the OpenAPI schema at /api/v1/openapi.json lists them.",
    )


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route accepts on this path, from the OpenAPI table (Starlette's own
    Allow header names only the first route that matched the path)."""
    table = getattr(request.app.state, "zslab_method_table", None)
    if table is None:
        table = [
            (re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"), sorted(ops))
            for path, ops in request.app.openapi().get("paths", {}).items()
        ]
        request.app.state.zslab_method_table = table
    methods = {m.upper() for pattern, ops in table if pattern.match(request.url.path) for m in ops}
    return sorted(methods)


# --- installation ----------------------------------------------------------------------------


def install_handlers(app: FastAPI) -> None:
    """Register the handlers that turn every error into a problem document."""

    async def on_zslab_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ZslabError)
        if status_of(exc) >= 500:
            log.warning("%s %s: %s", request.method, request.url.path, exc.detail)
        return _respond(request, exc)

    async def on_validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return _respond(request, validation_problem(request, exc))

    async def on_http_exception(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        status = exc.status_code
        if status == 404:
            problem: ZslabError = errors.NotFound(
                f"No API route matches {request.method} {request.url.path}.",
                fix="See the routes at /api/v1/docs.",
            )
        elif status == 405:
            allow = ", ".join(_allowed_methods(request))
            extra: dict[str, Any] = {"allow": allow} if allow else {}
            problem = errors.ApiError(
                f"{request.method} is not allowed on {request.url.path}.",
                status=405,
                fix=f"Use one of: {allow}." if allow else None,
                **extra,
            )
        else:
            problem = errors.error_class_for(status)(str(exc.detail), status=status)
        return _respond(request, problem)

    app.add_exception_handler(ZslabError, on_zslab_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_exception)
