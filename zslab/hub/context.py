"""What a route handler works with: the hub, a database session, the caller, and the audit trail.

A handler asks for :data:`ReadContext` or :data:`WriteContext`. Both are async dependencies:
they authenticate the caller (from the identity cache, or with one trip to the database on a
miss) and check the token's scope before the request body is even validated, so an anonymous
caller learns nothing but "401". The database session opens lazily where the handler runs and
closes there when it returns or raises (:class:`HubRoute`), so a write transaction's lock is
taken and released in one thread and no thread holding it ever waits for another. A write
handler does its work, calls :meth:`Context.audit`, then
:meth:`Context.commit`: the change and its audit event land in one transaction, before the
client is answered. Creating POSTs go through :meth:`Context.create`, which adds
``Idempotency-Key`` handling in the same transaction.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any, get_origin

import anyio
from fastapi import Depends, Request
from fastapi.routing import APIRoute
from pydantic import BaseModel
from sqlalchemy import delete, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from zslab.config import Settings
from zslab.errors import Conflict, InvalidInput
from zslab.hub.auth import (
    Identity,
    IdentityCache,
    MembershipCache,
    Principal,
    authenticate,
    token_hash_from_header,
)
from zslab.hub.db.engine import Database, storage_error
from zslab.hub.db.orm import AuditEvent, IdempotencyRecord, Token, utcnow
from zslab.ids import prefix_of

if TYPE_CHECKING:
    from zslab.hub.broker_service import BrokerService

__all__ = ["Context", "HubRoute", "HubState", "ReadContext", "WriteContext"]

log = logging.getLogger(__name__)

_IDEMPOTENCY_KEY_MAX = 255


@dataclass
class HubState:
    """Everything the hub keeps for its lifetime; reachable as ``app.state.hub``."""

    settings: Settings
    db: Database
    identities: IdentityCache = field(init=False)
    memberships: MembershipCache = field(init=False)
    broker: BrokerService = field(init=False)
    started_monotonic: float = field(default_factory=time.monotonic)
    last_idempotency_sweep: float = 0.0

    def __post_init__(self) -> None:
        from zslab.hub.broker_service import BrokerService

        self.identities = IdentityCache(self.settings.auth_cache_s)
        self.memberships = MembershipCache(self.settings.auth_cache_s)
        self.broker = BrokerService(self)

    def load_identity(self, token_hash: str) -> Identity:
        """Authenticate against the database and remember the result."""
        with self.db.read_session() as session:
            identity = authenticate(session, token_hash)
        self.identities.put(token_hash, identity)
        return identity

    def record_token_use(self, token_id: str) -> None:
        try:
            with self.db.write_session() as session:
                session.execute(
                    update(Token).where(Token.id == token_id).values(last_used_at=utcnow())
                )
                session.commit()
        except DBAPIError as exc:  # bookkeeping must not fail the request
            log.debug("token last_used_at not updated: %s", exc)

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
    """One authenticated request's view of the hub."""

    def __init__(self, request: Request, hub: HubState, identity: Identity, *, write: bool) -> None:
        self.request = request
        self.hub = hub
        self.identity = identity
        self.principal: Principal = identity.principal
        self.write = write
        self._session: Session | None = None
        self._audit_pending = False
        self._after_commit: list[Callable[[], None]] = []

    @property
    def session(self) -> Session:
        """The request's session, opened on first use (in the handler's thread)."""
        if self._session is None:
            db = self.hub.db
            self._session = db.write_session() if self.write else db.read_session()
        return self._session

    @property
    def inline(self) -> bool:
        """Whether a sync handler with this context may run on the event loop."""
        return not self.write and self.hub.db.dialect == "sqlite"

    @property
    def settings(self) -> Settings:
        return self.hub.settings

    @property
    def _state(self) -> dict[str, Any]:
        return self.request.scope.setdefault("state", {})

    def close(self) -> None:
        if self._session is not None:
            self._session.close()

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the current transaction has committed."""
        self._after_commit.append(callback)

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
        principal = self.principal
        route = self.request.scope.get("route")
        client = self.request.client
        self.session.add(
            AuditEvent(
                at=utcnow(),
                actor_id=principal.user_id,
                actor_name=principal.user_name,
                token_id=principal.token_id,
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
        session = self.session
        try:
            session.commit()
        except IntegrityError as exc:
            session.rollback()
            self._audit_pending = False
            self._after_commit.clear()
            raise Conflict(
                "This change conflicts with another one made at the same time "
                f"({exc.orig.__class__.__name__}).",
                fix="Fetch the current state and retry.",
            ) from exc
        except DBAPIError as exc:
            session.rollback()
            self._audit_pending = False
            self._after_commit.clear()
            raise storage_error(exc, self.hub.db) from exc
        if self._audit_pending:
            self._state["zslab_audited"] = True
            self._audit_pending = False
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            callback()

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
        principal = self.principal
        key = self._idempotency_key()
        fingerprint = _fingerprint(self.request.method, self.request.url.path, body)
        if key and (replay := self._replay(key, fingerprint)):
            return replay
        try:
            created = make()
            payload = created.model_dump(mode="json")
            object_id = payload.get("id")
            location = f"{self.request.url.path.rstrip('/')}/{object_id}" if object_id else None
            self.audit(object_id, status=201)
            if key:
                stored = {k: (None if k in secret_fields else v) for k, v in payload.items()}
                self.session.add(
                    IdempotencyRecord(
                        user_id=principal.user_id,
                        key=key,
                        fingerprint=fingerprint,
                        status=201,
                        location=location,
                        body=stored,
                    )
                )
                self.hub.sweep_idempotency_records(self.session)
            self.commit()
        except (Conflict, IntegrityError) as exc:
            # A concurrent request with the same key may have won the race (its object makes
            # ours a duplicate, or its record collides with ours): answer as it did. An
            # IntegrityError lands here when an autoflush hit the duplicate before commit().
            if key:
                self.session.rollback()
                self._audit_pending = False
                self._after_commit.clear()
                if replay := self._replay(key, fingerprint):
                    return replay
            if isinstance(exc, IntegrityError):
                self.session.rollback()
                raise Conflict(
                    "This change conflicts with another one made at the same time.",
                    fix="Fetch the current state and retry.",
                ) from exc
            raise
        headers = {"Location": location} if location else {}
        return JSONResponse(payload, status_code=201, headers=headers)


def _hub(request: Request) -> HubState:
    hub: HubState = request.app.state.hub
    return hub


async def _identify(hub: HubState, header: str | None) -> Identity:
    token_hash = token_hash_from_header(header)
    identity = hub.identities.get(token_hash)
    if identity is None:
        identity = await anyio.to_thread.run_sync(hub.load_identity, token_hash)
    else:
        identity.check_expiry()
    if hub.identities.touch_due(identity.principal.token_id):
        await anyio.to_thread.run_sync(hub.record_token_use, identity.principal.token_id)
    return identity


async def _context(request: Request, *, write: bool) -> Context:
    # Async, and not a generator: authentication mostly hits the cache, and the session opens
    # and closes in the handler's own thread (see HubRoute), so no other thread touches it.
    hub = _hub(request)
    identity = await _identify(hub, request.headers.get("authorization"))
    request.scope.setdefault("state", {})["zslab_principal"] = identity.principal
    identity.principal.require_scope("write" if write else "read")
    return Context(request, hub, identity, write=write)


async def _read_context(request: Request) -> Context:
    return await _context(request, write=False)


async def _write_context(request: Request) -> Context:
    return await _context(request, write=True)


ReadContext = Annotated[Context, Depends(_read_context)]
WriteContext = Annotated[Context, Depends(_write_context)]


def _bind_context(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a handler that takes a context so that:

    - its session closes when it returns or raises, in the thread that ran it, before any
      error response is built (a write transaction never outlives its handler);
    - a plain ``def`` handler reading SQLite runs right on the event loop: WAL readers never
      wait for a lock, so the thread hand-off would cost more than the query. Writers, and
      every handler on a networked database, run in the thread pool as usual.
    """
    signature = inspect.signature(endpoint, eval_str=True)
    names = [
        name
        for name, param in signature.parameters.items()
        if get_origin(param.annotation) is Annotated and param.annotation.__origin__ is Context
    ]
    if not names:
        return endpoint
    if len(names) > 1:
        raise TypeError(f"{endpoint.__qualname__} takes more than one context")
    name = names[0]
    wrapper: Any
    if inspect.iscoroutinefunction(endpoint):

        async def async_handler(*args: Any, **kwargs: Any) -> Any:
            try:
                return await endpoint(*args, **kwargs)
            finally:
                kwargs[name].close()

        wrapper = async_handler
    else:

        def sync_handler(*args: Any, **kwargs: Any) -> Any:
            try:
                return endpoint(*args, **kwargs)
            finally:
                kwargs[name].close()

        async def dispatch(*args: Any, **kwargs: Any) -> Any:
            if kwargs[name].inline:
                return sync_handler(*args, **kwargs)
            return await run_in_threadpool(sync_handler, *args, **kwargs)

        wrapper = dispatch
    functools.update_wrapper(wrapper, endpoint)
    wrapper.__signature__ = signature  # annotations resolved: FastAPI reads them from here
    return wrapper


class HubRoute(APIRoute):
    """The route class of every hub router: see :func:`_bind_context`."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, _bind_context(endpoint), **kwargs)
