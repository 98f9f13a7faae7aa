"""What a route handler works with: the hub, a database session, the caller, and the audit trail.

A handler asks for :data:`ReadContext` or :data:`WriteContext`; both authenticate the caller and
check the token's scope. A write handler does its work, calls :meth:`Context.audit`, then
:meth:`Context.commit`: the change and its audit event land in one transaction, before the
client is answered. Creating POSTs go through :meth:`Context.create`, which adds
``Idempotency-Key`` handling in the same transaction.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, Request
from pydantic import BaseModel
from sqlalchemy import delete, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session
from starlette.responses import JSONResponse, Response

from zslab.config import Settings
from zslab.errors import Conflict, InvalidInput
from zslab.hub.auth import Principal, authenticate
from zslab.hub.db.engine import Database, storage_error
from zslab.hub.db.orm import AuditEvent, IdempotencyRecord, Token, utcnow
from zslab.ids import prefix_of

__all__ = ["Context", "HubState", "ReadContext", "WriteContext"]

log = logging.getLogger(__name__)

_LAST_USED_RESOLUTION = timedelta(minutes=1)
_IDEMPOTENCY_KEY_MAX = 255


@dataclass
class HubState:
    """Everything the hub keeps for its lifetime; reachable as ``app.state.hub``."""

    settings: Settings
    db: Database
    started_monotonic: float = field(default_factory=time.monotonic)
    last_idempotency_sweep: float = 0.0

    def write_audit_event(self, event: dict[str, Any]) -> None:
        """Store one audit event in its own transaction (used for failed calls)."""
        with self.db.write_session() as session:
            session.add(AuditEvent(**event))
            session.commit()

    def sweep_idempotency_records(self, session: Session) -> None:
        """Forget replayable responses older than the TTL, at most once an hour."""
        now = time.monotonic()
        if now - self.last_idempotency_sweep < 3600:
            return
        self.last_idempotency_sweep = now
        cutoff = utcnow() - timedelta(hours=self.settings.idempotency_ttl_hours)
        session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < cutoff))


def _fingerprint(method: str, path: str, body: BaseModel | None) -> str:
    payload = [method, path, body.model_dump(mode="json") if body is not None else None]
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


class Context:
    """One authenticated request."""

    def __init__(
        self, request: Request, session: Session, principal: Principal, hub: HubState
    ) -> None:
        self.request = request
        self.session = session
        self.principal = principal
        self.hub = hub
        self._audit_pending = False

    @property
    def settings(self) -> Settings:
        return self.hub.settings

    @property
    def _state(self) -> dict[str, Any]:
        return self.request.scope.setdefault("state", {})

    # --- audit and commit ---------------------------------------------------------------

    def audit(
        self,
        object_id: str | None = None,
        *,
        object_type: str | None = None,
        detail: str | None = None,
        status: int | None = None,
    ) -> None:
        """Add this call's audit event to the current transaction."""
        route = self.request.scope.get("route")
        client = self.request.client
        self.session.add(
            AuditEvent(
                at=utcnow(),
                actor_id=self.principal.user_id,
                actor_name=self.principal.user_name,
                token_id=self.principal.token_id,
                action=getattr(route, "name", None) or self.request.method,
                object_type=object_type or (prefix_of(object_id) if object_id else None),
                object_id=object_id,
                method=self.request.method,
                path=self.request.url.path[:500],
                client_addr=client.host if client else None,
                status=status or getattr(route, "status_code", None) or 200,
                outcome="success",
                request_id=self._state.get("zslab_request_id", "?"),
                detail=detail,
            )
        )
        self._audit_pending = True

    def commit(self) -> None:
        """Commit the transaction; a unique-constraint race becomes 409, storage trouble 503."""
        try:
            self.session.commit()
        except IntegrityError as exc:
            self.session.rollback()
            self._audit_pending = False
            raise Conflict(
                "This change conflicts with another one made at the same time "
                f"({exc.orig.__class__.__name__}).",
                fix="Fetch the current state and retry.",
            ) from exc
        except DBAPIError as exc:
            self.session.rollback()
            self._audit_pending = False
            raise storage_error(exc, self.hub.db) from exc
        if self._audit_pending:
            self._state["zslab_audited"] = True
            self._audit_pending = False

    # --- creating POSTs with Idempotency-Key --------------------------------------------

    def _idempotency_key(self) -> str | None:
        key = self.request.headers.get("idempotency-key")
        if key is None:
            return None
        key = key.strip().strip('"')
        if not key or len(key) > _IDEMPOTENCY_KEY_MAX or not key.isprintable():
            raise InvalidInput(
                "The Idempotency-Key header must be 1-255 printable characters.",
                field="Idempotency-Key",
                fix="Send a fresh random value such as a UUID for each new request.",
            )
        return key

    def _replay(self, key: str, fingerprint: str) -> Response | None:
        record = self.session.get(IdempotencyRecord, (self.principal.user_id, key))
        if record is None:
            return None
        if record.fingerprint != fingerprint:
            raise Conflict(
                f"The Idempotency-Key {key!r} was already used for a different request.",
                field="Idempotency-Key",
                fix="Use a new key for a new request; reuse a key only to retry the same one.",
            )
        object_id = record.body.get("id") if isinstance(record.body, dict) else None
        self.audit(
            object_id,
            status=record.status,
            detail=f"replayed the response stored for Idempotency-Key {key!r}",
        )
        self.commit()
        headers = {"Idempotent-Replayed": "true"}
        if record.location:
            headers["Location"] = record.location
        return JSONResponse(record.body, status_code=record.status, headers=headers)

    def create(
        self,
        body: BaseModel | None,
        make: Callable[[], BaseModel],
        *,
        secret_fields: tuple[str, ...] = ("secret",),
    ) -> Response:
        """Run ``make`` (which adds rows and returns the Read model) once per Idempotency-Key.

        The new object, its audit event and the replayable response commit together. Fields
        named in ``secret_fields`` are answered once and stored as null.
        """
        key = self._idempotency_key()
        fingerprint = _fingerprint(self.request.method, self.request.url.path, body)
        if key and (replay := self._replay(key, fingerprint)):
            return replay
        created = make()
        payload = created.model_dump(mode="json")
        object_id = payload.get("id")
        location = f"{self.request.url.path.rstrip('/')}/{object_id}" if object_id else None
        status = 201
        self.audit(object_id, status=status)
        if key:
            stored = {k: (None if k in secret_fields else v) for k, v in payload.items()}
            self.session.add(
                IdempotencyRecord(
                    user_id=self.principal.user_id,
                    key=key,
                    fingerprint=fingerprint,
                    status=status,
                    location=location,
                    body=stored,
                )
            )
            self.hub.sweep_idempotency_records(self.session)
        try:
            self.commit()
        except Conflict:
            # A concurrent request with the same key may have won the race: answer as it did.
            if key and (replay := self._replay(key, fingerprint)):
                return replay
            raise
        headers = {"Location": location} if location else {}
        return JSONResponse(payload, status_code=status, headers=headers)

    def touch_token(self) -> None:
        """Record when the token was last used, at most once a minute (reads stay reads)."""
        last = self.principal.token_last_used
        now = utcnow()
        if last is not None and now - last < _LAST_USED_RESOLUTION:
            return
        statement = (
            update(Token).where(Token.id == self.principal.token_id).values(last_used_at=now)
        )
        if self.request.method in {"GET", "HEAD", "OPTIONS"}:
            try:
                with self.hub.db.write_session() as session:
                    session.execute(statement)
                    session.commit()
            except DBAPIError as exc:  # a read must not fail because bookkeeping could not
                log.debug("token last_used_at not updated: %s", exc)
        else:
            self.session.execute(statement)


def _hub(request: Request) -> HubState:
    hub: HubState = request.app.state.hub
    return hub


def _context(request: Request, *, write: bool) -> Iterator[Context]:
    hub = _hub(request)
    session = hub.db.write_session() if write else hub.db.read_session()
    try:
        principal = authenticate(session, request.headers.get("authorization"))
        request.scope.setdefault("state", {})["zslab_principal"] = principal
        principal.require_scope("write" if write else "read")
        ctx = Context(request, session, principal, hub)
        ctx.touch_token()
        yield ctx
    finally:
        session.close()


def _read_context(request: Request) -> Iterator[Context]:
    yield from _context(request, write=False)


def _write_context(request: Request) -> Iterator[Context]:
    yield from _context(request, write=True)


ReadContext = Annotated[Context, Depends(_read_context)]
WriteContext = Annotated[Context, Depends(_write_context)]
