"""ASGI middleware of the hub, outermost first:

- :class:`RequestIdMiddleware` gives every request an id (``X-Request-ID``) and turns any
  exception that escaped the handlers into a 500 problem naming that id (never a traceback);
- :class:`AuditMiddleware` writes an audit event for every mutating call whose handler did not
  audit it inside its own transaction (failures: 401, 403, 404, 409, 413, 422, 5xx), *before* the
  response goes out, so an acknowledged call is always in the audit log;
- :class:`BodyLimitMiddleware` answers 413 for bodies over the limit without reading them whole.

Pure ASGI (no ``BaseHTTPMiddleware``) keeps the per-request cost small.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable
from typing import Any

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from zslab.errors import PayloadTooLarge, ServerError
from zslab.hub.problems import problem_response

__all__ = ["AuditMiddleware", "BodyLimitMiddleware", "RequestIdMiddleware"]

log = logging.getLogger(__name__)


MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")


def _state(scope: Scope) -> dict[str, Any]:
    return scope.setdefault("state", {})


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = ""
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        request_id = incoming if _REQUEST_ID.match(incoming) else "req_" + secrets.token_hex(8)
        _state(scope)["zslab_request_id"] = request_id
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", ()))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception(
                "unhandled error in %s %s [%s]", scope["method"], scope["path"], request_id
            )
            if started:
                raise
            problem = ServerError(
                f"The hub failed on this request (request id {request_id}); nothing you sent "
                "was at fault.",
                fix="Retry; if it fails again, report the request id to the hub's operator.",
            )
            response = problem_response(problem, request_id=request_id, instance=scope["path"])
            await response(scope, receive, send_with_id)


class BodyLimitMiddleware:
    """Reject request bodies over ``max_bytes`` with 413, by Content-Length or by counting."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _too_large(self, scope: Scope, size: str) -> Any:
        problem = PayloadTooLarge(
            f"The request body is {size}; this hub accepts at most {self.max_bytes} bytes.",
            field="body",
            fix="Send less data per call, or raise ZSLAB_MAX_BODY_BYTES on the hub.",
            max_bytes=self.max_bytes,
        )
        state = _state(scope)
        state["zslab_detail"] = problem.detail
        return problem_response(
            problem, request_id=state.get("zslab_request_id"), instance=scope["path"]
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in MUTATING:
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.max_bytes:
                    response = self._too_large(scope, f"{declared} bytes")
                    await response(scope, receive, send)
                    return
                break

        # Buffer the (bounded) body so a chunked upload over the limit is refused before the
        # handler sees any of it.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                response = self._too_large(scope, f"over {self.max_bytes} bytes")
                await response(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _outcome(status: int) -> str:
    if status < 400:
        return "success"
    if status in (401, 403):
        return "denied"
    if status < 500:
        return "invalid"
    return "error"


class AuditMiddleware:
    """Audit mutating calls that their handler did not audit in its own transaction."""

    def __init__(self, app: ASGIApp, write_event: Callable[[dict[str, Any]], None]) -> None:
        self.app = app
        self.write_event = write_event

    def _event(self, scope: Scope, status: int) -> dict[str, Any]:
        state = _state(scope)
        principal = state.get("zslab_principal")
        route = scope.get("route")
        path_params = scope.get("path_params") or {}
        object_id = next(iter(path_params.values()), None) if path_params else None
        client = scope.get("client")
        return {
            "actor_id": getattr(principal, "user_id", None),
            "actor_name": getattr(principal, "user_name", None),
            "token_id": getattr(principal, "token_id", None),
            "action": getattr(route, "name", None) or f"{scope['method']} {scope['path']}"[:64],
            "object_id": str(object_id) if object_id is not None else None,
            "method": scope["method"],
            "path": scope["path"][:500],
            "client_addr": client[0] if client else None,
            "status": status,
            "outcome": _outcome(status),
            "request_id": state.get("zslab_request_id", "?"),
            "detail": state.get("zslab_detail"),
        }

    async def _record(self, scope: Scope, status: int) -> None:
        if _state(scope).get("zslab_audited"):
            return
        event = self._event(scope, status)
        try:
            await anyio.to_thread.run_sync(self.write_event, event)
        except Exception as exc:
            # Without storage there is nowhere to audit; the log keeps the trail instead.
            log.error("audit event not stored (%s): %s", exc, event)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in MUTATING:
            await self.app(scope, receive, send)
            return

        recorded = False

        async def send_after_audit(message: Message) -> None:
            nonlocal recorded
            if message["type"] == "http.response.start" and not recorded:
                recorded = True
                await self._record(scope, int(message["status"]))
            await send(message)

        try:
            await self.app(scope, receive, send_after_audit)
        except Exception:
            if not recorded:
                recorded = True
                _state(scope).setdefault("zslab_detail", "unhandled server error")
                await self._record(scope, 500)
            raise
