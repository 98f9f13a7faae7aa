"""The zslab SDK: a typed client of the hub's HTTP API.

>>> import zslab
>>> lab = zslab.connect()                      # ZSLAB_URL/ZSLAB_TOKEN, or the embedded hub
>>> lab.projects.add("acme", "nlp-course")     # doctest: +SKIP
ProjectRead(id='prj_…', org_slug='acme', slug='nlp-course', …)

Every call returns pydantic models from :mod:`zslab.schemas`; every failure raises a
:class:`zslab.ZslabError` subclass carrying the hub's message and fix. Safe calls (GET, PUT,
DELETE) and creating POSTs are retried on connection errors and 502/503/504; a creating POST
carries an ``Idempotency-Key`` that stays the same across its retries, so a retry after a lost
response never creates a second object.
"""

from __future__ import annotations

import contextlib
import json
import logging
import mimetypes
import random
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel

from zslab._version import __version__
from zslab.config import RuntimeInfo, Settings, load_settings
from zslab.errors import (
    ApiError,
    ConfigError,
    HubUnavailable,
    InvalidInput,
    NotFound,
    ZslabError,
    error_class_for,
)
from zslab.schemas import (
    ArtifactRead,
    AuditEventRead,
    CaseRead,
    CaseSearchPage,
    CaseVersionRead,
    Estimate,
    Health,
    HeartbeatRead,
    InventoryRead,
    LeaderboardRead,
    LeaseEventRead,
    LeaseRead,
    Me,
    OrgMemberRead,
    OrgRead,
    Page,
    PoolRead,
    ProjectMemberRead,
    ProjectPolicyRead,
    ProjectRead,
    ReproductionRead,
    ReservationRead,
    RunRead,
    TokenCreated,
    TokenRead,
    UsageRow,
    UserRead,
)

__all__ = ["Lab", "connect"]

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)

_SAFE = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_RETRY_STATUS = frozenset({502, 503, 504})
_API = "/api/v1"


class Lab:
    """A connection to one zslab hub. Use :func:`connect` to make one.

    Resource namespaces: :attr:`users`, :attr:`tokens`, :attr:`orgs`, :attr:`projects`,
    :attr:`audit`, :attr:`reservations`, :attr:`policies`, :attr:`runs`, :attr:`cases`.
    Close it (or use ``with``) to release its HTTP connections.
    """

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        retries: int = 3,
        backoff: float = 0.25,
        transport: httpx.BaseTransport | None = None,
        runtime: RuntimeInfo | None = None,
        source: str = "argument",
    ) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.retries = retries
        self.backoff = backoff
        self.runtime = runtime
        self.source = source
        headers = {"User-Agent": f"zslab-sdk/{__version__}", "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.Client(
            base_url=self.url, headers=headers, timeout=timeout, transport=transport
        )
        self.users = Users(self)
        self.tokens = Tokens(self)
        self.orgs = Orgs(self)
        self.projects = Projects(self)
        self.audit = Audit(self)
        self.reservations = Reservations(self)
        self.runs = Runs(self)
        self.cases = Cases(self)
        self.policies = Policies(self)
        self._dask_clients: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"Lab(url={self.url!r}, source={self.source!r})"

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for client in self._dask_clients.values():
            with contextlib.suppress(Exception):  # a scheduler already gone: nothing to close
                client.close()
        self._dask_clients.clear()
        self._http.close()

    def dask_client(self, scheduler: str) -> Any:
        """A ``distributed.Client`` to ``scheduler``, shared by this Lab's leases."""
        client = self._dask_clients.get(scheduler)
        if client is None or client.status not in {"running", "connecting"}:
            from distributed import Client

            client = Client(scheduler, timeout=30, set_as_default=False)
            self._dask_clients[scheduler] = client
        return client

    # --- the one place HTTP happens -----------------------------------------------------

    def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        create: bool = False,
    ) -> Any:
        """Send one API call (with retries) and return its decoded JSON (None for 204).

        ``create=True`` marks a creating POST: it gets an Idempotency-Key and may be retried.
        """
        return self._decode(self.send(method, path, json=json, params=params, create=create))

    def send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        content: bytes | Path | None = None,
        headers: dict[str, str] | None = None,
        create: bool = False,
    ) -> httpx.Response:
        """Send one API call (with retries) and return the response, errors included.

        ``content`` is a raw body: bytes, or a file streamed from disk (again on each retry).
        """
        method = method.upper()
        headers = dict(headers or {})
        if create:
            headers["Idempotency-Key"] = str(uuid.uuid4())
        if isinstance(content, Path):
            headers["Content-Length"] = str(content.stat().st_size)
        retriable = method in _SAFE or create
        params = {k: _param(v) for k, v in (params or {}).items() if v is not None}
        attempt = 0
        while True:
            body = _file_chunks(content) if isinstance(content, Path) else content
            try:
                response = self._http.request(
                    method, _API + path, json=json, params=params, content=body, headers=headers
                )
            except httpx.TransportError as exc:
                if retriable and attempt < self.retries:
                    attempt += 1
                    self._sleep(attempt, None)
                    continue
                raise self._unreachable(exc) from exc
            if response.status_code in _RETRY_STATUS and retriable and attempt < self.retries:
                attempt += 1
                self._sleep(attempt, response.headers.get("Retry-After"))
                continue
            return response

    def _sleep(self, attempt: int, retry_after: str | None) -> None:
        delay = self.backoff * (2 ** (attempt - 1)) * (0.5 + random.random())
        if retry_after and retry_after.replace(".", "", 1).isdigit():
            delay = max(delay, min(float(retry_after), 30.0))
        log.debug("retrying in %.2f s (attempt %d)", delay, attempt)
        time.sleep(delay)

    def _unreachable(self, exc: Exception) -> HubUnavailable:
        reason = type(exc).__name__
        if self.source == "runtime file" and self.runtime is not None:
            return HubUnavailable(
                f"The runtime file points at a hub at {self.url} (pid {self.runtime.pid}, "
                f"started {self.runtime.started_at}), but nothing answers there ({reason}): "
                "that hub has stopped and left a stale runtime file.",
                fix="Run `zslab up` to start a new hub (it replaces the stale file), or "
                "`zslab down` to remove the file.",
            )
        origin = {"env": " (from ZSLAB_URL)", "argument": ""}.get(self.source, "")
        return HubUnavailable(
            f"No zslab hub answers at {self.url}{origin} ({reason}: {exc}).",
            fix="Start it (`zslab up` for the embedded hub, `zslab hub` for a shared one) or "
            "correct the URL.",
        )

    @staticmethod
    def _decode(response: httpx.Response) -> Any:
        if response.status_code < 400:
            if response.status_code == 204 or not response.content:
                return None
            return response.json()
        try:
            doc = response.json()
        except ValueError:
            doc = None
        if not isinstance(doc, dict) or "detail" not in doc:
            cls = error_class_for(response.status_code)
            text = response.text.strip()[:300] or response.reason_phrase
            raise cls(f"HTTP {response.status_code}: {text}", status=response.status_code)
        cls = error_class_for(response.status_code, doc.get("type"))
        extra = {
            k: v
            for k, v in doc.items()
            if k
            not in {
                "type",
                "title",
                "status",
                "detail",
                "field",
                "fix",
                "errors",
                "request_id",
                "instance",
            }
        }
        raise cls(
            str(doc["detail"]),
            field=doc.get("field"),
            fix=doc.get("fix"),
            errors=doc.get("errors"),
            request_id=doc.get("request_id"),
            status=response.status_code,
            **extra,
        )

    def get_model(self, model: type[M], path: str, **params: Any) -> M:
        return model.model_validate(self.call("GET", path, params=params))

    def iter_pages(
        self, model: type[M], path: str, *, limit: int | None = None, **params: Any
    ) -> Iterator[M]:
        """Every item of a cursor-paginated listing (at most ``limit``), page by page."""
        cursor: str | None = None
        seen = 0
        page_size = min(limit, 500) if limit else 200
        while True:
            data = self.call("GET", path, params={**params, "limit": page_size, "cursor": cursor})
            page = Page[model].model_validate(data)  # type: ignore[valid-type]
            for item in page.items:
                yield item
                seen += 1
                if limit is not None and seen >= limit:
                    return
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    # --- hub-wide calls -----------------------------------------------------------------

    def health(self) -> Health:
        """The hub's health; needs no token."""
        return self.get_model(Health, "/health")

    def me(self) -> Me:
        """The user and token this connection acts as."""
        return self.get_model(Me, "/me")

    # --- slices ----------------------------------------------------------------------------

    def pools(self) -> list[PoolRead]:
        """Free capacity per site, pool and model (by MIG profile or share size)."""
        return [PoolRead.model_validate(row) for row in self.call("GET", "/pools")]

    def request(
        self,
        spec: str,
        *,
        hours: float | None = None,
        priority: str = "interactive",
        project: str | None = None,
        max_wait: float | None = None,
        flexible: bool = False,
        deadline: datetime | None = None,
        wait: bool | float = False,
    ) -> Lease:
        """Ask for a slice, e.g. ``"h100:3g.40gb"``: granted now or queued.

        ``wait=True`` (or a number of seconds) blocks until it is granted. Use the returned
        :class:`Lease` as a context manager to heartbeat and release it.
        """
        body = {
            "spec": spec,
            "hours": hours,
            "priority": priority,
            "project": project,
            "max_wait_s": max_wait,
            "flexible": flexible,
            "deadline": deadline.isoformat() if deadline else None,
        }
        lease = Lease(
            self, LeaseRead.model_validate(self.call("POST", "/leases", json=body, create=True))
        )
        if wait:
            lease.wait(None if wait is True else float(wait))
        return lease

    def leases(
        self,
        *,
        state: str | None = None,
        project: str | None = None,
        mine: bool = False,
        limit: int | None = 100,
    ) -> list[Lease]:
        """Leases of your projects, newest first (``state="live"`` for granted ones)."""
        return [
            Lease(self, item)
            for item in self.iter_pages(
                LeaseRead,
                "/leases",
                limit=limit,
                state=state,
                project=self.projects._id(project) if project else None,
                mine=mine,
            )
        ]

    def lease(self, lease_id: str) -> Lease:
        return Lease(self, self.get_model(LeaseRead, f"/leases/{lease_id}"))

    def usage(
        self,
        *,
        group_by: str = "project",
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[UsageRow]:
        """Slice-hours, energy, cost, subsidy, CO2 and domestic share per group."""
        data = self.call(
            "GET", "/usage", params={"group_by": group_by, "since": since, "until": until}
        )
        return [UsageRow.model_validate(row) for row in data]

    def usage_csv(
        self,
        *,
        group_by: str = "project",
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> str:
        response = self._http.get(
            _API + "/usage",
            params={
                k: _param(v)
                for k, v in {
                    "group_by": group_by,
                    "since": since,
                    "until": until,
                    "format": "csv",
                }.items()
                if v is not None
            },
        )
        if response.status_code >= 400:
            self._decode(response)
        return response.text

    def run(
        self,
        template: str,
        parameters: dict[str, Any] | None = None,
        *,
        lease: Lease | None = None,
        project: str | None = None,
        output_dir: str | Path | None = None,
    ) -> Any:
        """Run a template notebook with papermill (on ``lease``'s worker when given) and
        record the run in this hub; returns a :class:`zslab.templates.RunResult`."""
        from zslab.templates import run_template

        return run_template(
            template, parameters, lease=lease, lab=self, project=project, output_dir=output_dir
        )

    def estimate(self, spec: str, *, hours: float = 1.0, priority: str = "interactive") -> Estimate:
        """Cost of a request under the tariff, whether it fits now, and a cheaper start."""
        return self.get_model(Estimate, "/estimate", spec=spec, hours=hours, priority=priority)

    def events(
        self, *, lease: str | None = None, timeout: float | None = None
    ) -> Iterator[dict[str, Any]]:
        """Lease events as they happen (server-sent events), until ``timeout`` seconds of
        silence or the caller stops iterating."""
        params = {"lease": lease} if lease else {}
        with self._http.stream(
            "GET",
            _API + "/events",
            params=params,
            timeout=httpx.Timeout(timeout or 60.0, connect=10.0),
        ) as response:
            if response.status_code >= 400:
                response.read()
                self._decode(response)
            data: list[str] = []
            try:
                for line in response.iter_lines():
                    if line.startswith("data:"):
                        data.append(line[5:].strip())
                    elif not line and data:
                        yield json.loads("\n".join(data))
                        data = []
            except httpx.ReadTimeout:
                return

    def inventory(self) -> InventoryRead:
        return self.get_model(InventoryRead, "/inventory")

    def load_inventory(self, document: str) -> InventoryRead:
        """Replace the hub's inventory with a YAML document (admins)."""
        data = self.call("PUT", "/inventory", json={"document": document})
        return InventoryRead.model_validate(data)

    def drain(self, node: str, *, drained: bool = True, reason: str = "") -> dict[str, Any]:
        """Stop (or with ``drained=False`` resume) new placements on a node (admins)."""
        result: dict[str, Any] = self.call(
            "POST", f"/nodes/{node}/drain", json={"drained": drained, "reason": reason}
        )
        return result


def _file_chunks(path: Path, size: int = 1 << 20) -> Iterator[bytes]:
    with path.open("rb") as fh:
        while chunk := fh.read(size):
            yield chunk


def _param(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


class _Resource:
    def __init__(self, lab: Lab) -> None:
        self._lab = lab


class Users(_Resource):
    """Users of the hub (adding and listing them needs an admin token)."""

    def add(
        self, name: str, *, email: str | None = None, role: str = "member", display_name: str = ""
    ) -> UserRead:
        body = {"name": name, "email": email, "role": role, "display_name": display_name}
        return UserRead.model_validate(self._lab.call("POST", "/users", json=body, create=True))

    def get(self, user: str) -> UserRead:
        return self._lab.get_model(UserRead, f"/users/{user}")

    def list(self, *, limit: int | None = None) -> list[UserRead]:
        return list(self._lab.iter_pages(UserRead, "/users", limit=limit))

    def update(self, user: str, **fields: Any) -> UserRead:
        """Change ``display_name``, ``email``, ``role`` or ``disabled``."""
        return UserRead.model_validate(self._lab.call("PATCH", f"/users/{user}", json=fields))


class Tokens(_Resource):
    """API tokens. A new token's secret is returned once, by :meth:`create`."""

    def create(
        self,
        name: str = "api",
        *,
        scopes: tuple[str, ...] | list[str] = ("read", "write"),
        expires_in_days: int | None = None,
        user: str | None = None,
    ) -> TokenCreated:
        body = {
            "name": name,
            "scopes": list(scopes),
            "expires_in_days": expires_in_days,
            "user": user,
        }
        created = TokenCreated.model_validate(
            self._lab.call("POST", "/tokens", json=body, create=True)
        )
        if created.secret is None:
            raise ZslabError(
                f"Token {created.id} was created, but the response carrying its secret was "
                "lost and a secret is never shown twice.",
                fix=f"Revoke it (`zslab token revoke {created.id}`) and create another.",
            )
        return created

    def list(
        self, *, user: str | None = None, include_revoked: bool = False, limit: int | None = None
    ) -> list[TokenRead]:
        return list(
            self._lab.iter_pages(
                TokenRead, "/tokens", limit=limit, user=user, include_revoked=include_revoked
            )
        )

    def revoke(self, token_id: str) -> TokenRead:
        return TokenRead.model_validate(self._lab.call("DELETE", f"/tokens/{token_id}"))


class Orgs(_Resource):
    """Organizations: they own projects (and, later, cases)."""

    def add(self, slug: str, *, name: str = "") -> OrgRead:
        return OrgRead.model_validate(
            self._lab.call("POST", "/orgs", json={"slug": slug, "name": name}, create=True)
        )

    def get(self, org: str) -> OrgRead:
        return self._lab.get_model(OrgRead, f"/orgs/{org}")

    def members(self, org: str) -> list[OrgMemberRead]:
        return list(self._lab.iter_pages(OrgMemberRead, f"/orgs/{org}/members"))

    def add_member(self, org: str, user: str, *, role: str = "member") -> OrgMemberRead:
        data = self._lab.call("PUT", f"/orgs/{org}/members", json={"user": user, "role": role})
        return OrgMemberRead.model_validate(data)

    def remove_member(self, org: str, user: str) -> None:
        self._lab.call("DELETE", f"/orgs/{org}/members/{user}")

    def list(self, *, limit: int | None = None) -> list[OrgRead]:
        return list(self._lab.iter_pages(OrgRead, "/orgs", limit=limit))


class Projects(_Resource):
    """Projects of an organization; they will hold quotas, leases and runs."""

    def add(self, org: str, slug: str, *, name: str = "", description: str = "") -> ProjectRead:
        body = {"org": org, "slug": slug, "name": name, "description": description}
        return ProjectRead.model_validate(
            self._lab.call("POST", "/projects", json=body, create=True)
        )

    def _id(self, project: str) -> str:
        if "/" not in project:
            return project
        org, _, slug = project.partition("/")
        found = self._lab.call("GET", "/projects", params={"org": org, "slug": slug})
        items = found.get("items", []) if isinstance(found, dict) else []
        if not items:
            raise NotFound(
                f"No project {project!r}.", field="project", fix="Check `zslab project list`."
            )
        return str(items[0]["id"])

    def get(self, project: str) -> ProjectRead:
        """A project by id or ``org/slug``."""
        return self._lab.get_model(ProjectRead, f"/projects/{self._id(project)}")

    def update(self, project: str, **fields: Any) -> ProjectRead:
        data = self._lab.call("PATCH", f"/projects/{self._id(project)}", json=fields)
        return ProjectRead.model_validate(data)

    def members(self, project: str) -> list[ProjectMemberRead]:
        return list(
            self._lab.iter_pages(ProjectMemberRead, f"/projects/{self._id(project)}/members")
        )

    def add_member(self, project: str, user: str, *, role: str = "member") -> ProjectMemberRead:
        data = self._lab.call(
            "PUT", f"/projects/{self._id(project)}/members", json={"user": user, "role": role}
        )
        return ProjectMemberRead.model_validate(data)

    def remove_member(self, project: str, user: str) -> None:
        self._lab.call("DELETE", f"/projects/{self._id(project)}/members/{user}")

    def list(self, *, org: str | None = None, limit: int | None = None) -> list[ProjectRead]:
        return list(self._lab.iter_pages(ProjectRead, "/projects", limit=limit, org=org))


class Audit(_Resource):
    """The hub's audit log, newest first (admins)."""

    def list(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        object_id: str | None = None,
        outcome: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = 100,
    ) -> list[AuditEventRead]:
        return list(
            self._lab.iter_pages(
                AuditEventRead,
                "/audit",
                limit=limit,
                actor=actor,
                action=action,
                object_id=object_id,
                outcome=outcome,
                since=since,
                until=until,
            )
        )


# --- slices -----------------------------------------------------------------------------------


class Lease:
    """A slice you asked for. ``state`` tells where it stands; ``placement`` where it runs.

    Used as a context manager it waits until granted, heartbeats in the background while the
    block runs, and releases on exit::

        with lab.request("h100:3g.40gb", hours=2) as lease:
            print(lease.placement["node"])

    A preemption notice arrives with a heartbeat: ``on_preemption(lease)`` is called (set it to
    checkpoint) and ``preempt_at`` says when the slice goes. A notice is withdrawn (``preempt_at``
    back to None) when the request it made room for is cancelled or placed elsewhere.
    """

    def __init__(self, lab: Lab, data: LeaseRead) -> None:
        self._lab = lab
        self.data = data
        self.on_preemption: Callable[[Lease], None] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._noticed = False

    def __repr__(self) -> str:
        where = f" on {self.placement['node']}" if self.placement else ""
        return f"<Lease {self.id} {self.spec} {self.state}{where}>"

    id = property(lambda self: self.data.id)
    spec = property(lambda self: self.data.spec)
    state = property(lambda self: self.data.state)
    placement = property(lambda self: self.data.placement)
    expires_at = property(lambda self: self.data.expires_at)
    preempt_at = property(lambda self: self.data.preempt_at)
    queue = property(lambda self: self.data.queue)
    worker = property(lambda self: self.data.worker)

    def refresh(self) -> Lease:
        self.data = LeaseRead.model_validate(self._lab.call("GET", f"/leases/{self.id}"))
        return self

    def renew(self, hours: float) -> Lease:
        self.data = LeaseRead.model_validate(
            self._lab.call("POST", f"/leases/{self.id}/renew", json={"hours": hours})
        )
        return self

    def release(self) -> Lease:
        self.stop_heartbeats()
        self.data = LeaseRead.model_validate(self._lab.call("POST", f"/leases/{self.id}/release"))
        return self

    def heartbeat(self, utilization: float | None = None) -> HeartbeatRead:
        body = {"utilization": utilization} if utilization is not None else {}
        beat = HeartbeatRead.model_validate(
            self._lab.call("POST", f"/leases/{self.id}/heartbeat", json=body)
        )
        if beat.preempt_at is not None and not self._noticed:
            self._noticed = True
            log.warning(
                "lease %s will be preempted at %s: %s", self.id, beat.preempt_at, beat.reason
            )
            self.refresh()
            if self.on_preemption is not None:
                self.on_preemption(self)
        elif beat.preempt_at is None and self._noticed:  # the notice was withdrawn
            self._noticed = False
            log.info("lease %s is no longer being preempted", self.id)
            self.refresh()
        return beat

    def wait(self, timeout: float | None = None, *, poll: float = 1.0) -> Lease:
        """Block until the lease is granted (or ends); raises TimeoutError after ``timeout``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.state in {"requested", "queued"}:
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"lease {self.id} is still {self.state} after {timeout:g} s")
            time.sleep(poll)
            self.refresh()
        return self

    # --- running code on the slice ------------------------------------------------------

    def wait_for_worker(
        self, timeout: float | None = 120.0, *, poll: float = 0.05
    ) -> dict[str, Any]:
        """Block until the lease is granted and its Dask worker has joined the scheduler;
        returns the worker's description (``name``, ``address``, ``scheduler`` …)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        self.wait(timeout, poll=min(poll * 10, 1.0))
        missing_since = time.monotonic()
        while True:
            worker = self.data.worker
            if self.state not in {"granted", "active"}:
                raise ZslabError(f"Lease {self.id} is {self.state}: {self.data.reason}")
            if worker is not None and worker.get("state") == "running":
                return dict(worker)
            if worker is not None and worker.get("state") == "failed":
                raise ZslabError(f"The worker of lease {self.id} failed: {worker.get('error')}")
            if worker is None and time.monotonic() - missing_since > 10:
                raise ZslabError(
                    f"Lease {self.id} is granted but this hub starts no worker for it.",
                    fix="Run the hub with a Dask scheduler (`zslab up` has one; a shared hub "
                    "needs ZSLAB_DASK_SCHEDULER and ZSLAB_LAUNCHER).",
                )
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(
                    f"the worker of lease {self.id} is not ready after {timeout:g} s"
                )
            time.sleep(poll)
            self.refresh()

    @property
    def resource(self) -> str:
        """The Dask resource only this lease's worker has: ``lease-<id>``."""
        return f"lease-{self.id}"

    @property
    def client(self) -> Any:
        """A ``distributed.Client`` connected to the scheduler of this lease's worker."""
        worker = self.wait_for_worker()
        return self._lab.dask_client(worker["scheduler"])

    def _bound(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """Dask options that keep a task on this lease's worker. The worker carries one unit
        of the lease's resource; each task asks for a thread's share of it, so as many tasks
        run at once as the worker has threads (``resources={lease.resource: 1}`` asks for the
        whole slice)."""
        resources = dict(kwargs.pop("resources", None) or {})
        if self.resource not in resources:
            threads = int((self.data.worker or {}).get("threads") or 1)
            resources[self.resource] = 1.0 if threads <= 1 else 1.0 / threads - 1e-9
        kwargs.setdefault("pure", False)
        return {**kwargs, "resources": resources}

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``fn(*args, **kwargs)`` on this lease's worker; a ``distributed.Future``.

        Dask options (``key``, ``retries``, ``priority`` …) pass through; the task asks for the
        lease's resource, so it runs on this slice and nowhere else.
        """
        return self.client.submit(fn, *args, **self._bound(kwargs))

    def map(self, fn: Callable[..., Any], *iterables: Any, **kwargs: Any) -> list[Any]:
        """``client.map`` on this lease's worker: a list of futures."""
        return list(self.client.map(fn, *iterables, **self._bound(kwargs)))

    def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call ``fn`` directly in the worker process (outside the task queue, like
        ``client.run``) and return its result."""
        worker = self.wait_for_worker()
        client = self._lab.dask_client(worker["scheduler"])
        results = client.run(fn, *args, workers=[worker["address"]], **kwargs)
        return results[worker["address"]]

    def run_notebook(
        self,
        path: str | Path,
        parameters: dict[str, Any] | None = None,
        *,
        output_path: str | Path | None = None,
        kernel_name: str = "python3",
        timeout: float | None = None,
    ) -> Path:
        """Execute a notebook with papermill on this slice; the executed copy is written to
        ``output_path`` (default: ``<name>.<lease id>.ipynb`` beside it) and its path returned.

        A cell that fails still leaves the executed notebook (with the error in it) at
        ``output_path``, then raises :class:`zslab.ZslabError` with the cell's error.
        """
        source = Path(path)
        if not source.is_file():
            raise InvalidInput(f"No notebook at {source}.", field="path")
        target = Path(output_path) if output_path else source.with_suffix(f".{self.id}.ipynb")
        future = self.submit(
            _execute_notebook,
            source.read_bytes(),
            source.name,
            dict(parameters or {}),
            kernel_name,
        )
        executed, error = future.result(timeout=timeout)
        target.write_bytes(executed)
        if error:
            raise ZslabError(f"Notebook {source.name} failed on lease {self.id}: {error}")
        return target

    def events(self) -> list[LeaseEventRead]:
        data = self._lab.call("GET", f"/leases/{self.id}/events")
        return [LeaseEventRead.model_validate(item) for item in data]

    def start_heartbeats(self) -> None:
        """Heartbeat from a daemon thread at a third of the hub's interval."""
        if self._thread is not None:
            return
        interval = max(0.5, self.data.heartbeat_s / 3)

        def beat() -> None:
            while not self._stop.wait(interval):
                try:
                    state = self.heartbeat().state
                except ZslabError as exc:
                    log.warning("heartbeat of lease %s failed: %s", self.id, exc)
                    continue
                if state not in {"granted", "active"}:
                    return

        self._stop.clear()
        self._thread = threading.Thread(target=beat, name=f"zslab-heartbeat-{self.id}", daemon=True)
        self._thread.start()

    def stop_heartbeats(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self._thread = None

    def __enter__(self) -> Lease:
        if self.state in {"requested", "queued"}:
            self.wait()
        if self.state not in {"granted", "active"}:
            raise ZslabError(f"Lease {self.id} is {self.state}: {self.data.reason}")
        self.heartbeat()
        self.start_heartbeats()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_heartbeats()
        if self.state in {"granted", "active", "queued"}:
            try:
                self.release()
            except ZslabError as error:
                log.warning("releasing lease %s failed: %s", self.id, error)


def _execute_notebook(
    notebook: bytes, name: str, parameters: dict[str, Any], kernel_name: str
) -> tuple[bytes, str]:
    """On the slice worker: run ``notebook`` with papermill in a scratch directory."""
    import tempfile

    import papermill

    with tempfile.TemporaryDirectory(prefix="zslab-nb-") as scratch:
        source = Path(scratch) / name
        target = Path(scratch) / f"executed-{name}"
        source.write_bytes(notebook)
        error = ""
        try:
            papermill.execute_notebook(
                str(source),
                str(target),
                parameters=parameters,
                kernel_name=kernel_name,
                cwd=scratch,
                progress_bar=False,
            )
        except papermill.PapermillExecutionError as exc:
            error = f"{exc.ename}: {exc.evalue} (cell {exc.exec_count})"
        return (target.read_bytes() if target.exists() else notebook), error


class Reservations(_Resource):
    """Slices held for a project's class during a time window."""

    def add(
        self,
        project: str,
        spec: str,
        count: int,
        *,
        start: datetime,
        end: datetime,
        note: str = "",
    ) -> ReservationRead:
        body = {
            "project": project,
            "spec": spec,
            "count": count,
            "start": start.isoformat(),
            "end": end.isoformat(),
            "note": note,
        }
        return ReservationRead.model_validate(
            self._lab.call("POST", "/reservations", json=body, create=True)
        )

    def cancel(self, reservation_id: str) -> ReservationRead:
        return ReservationRead.model_validate(
            self._lab.call("DELETE", f"/reservations/{reservation_id}")
        )

    def list(self) -> list[ReservationRead]:
        return [ReservationRead.model_validate(x) for x in self._lab.call("GET", "/reservations")]


class Policies(_Resource):
    """Project quotas and lease limits; organization ceilings."""

    def get(self, project: str) -> ProjectPolicyRead:
        project_id = self._lab.projects._id(project)
        return self._lab.get_model(ProjectPolicyRead, f"/projects/{project_id}/policy")

    def set(self, project: str, **fields: Any) -> ProjectPolicyRead:
        """Change quota_units, ttl_default_h, ttl_max_h, idle_limit_min, weight or cohort."""
        project_id = self._lab.projects._id(project)
        data = self._lab.call("PUT", f"/projects/{project_id}/policy", json=fields)
        return ProjectPolicyRead.model_validate(data)

    def set_org_quota(self, org: str, units: float) -> dict[str, Any]:
        result: dict[str, Any] = self._lab.call(
            "PUT", f"/orgs/{org}/quota", json={"quota_units": units}
        )
        return result


class Runs(_Resource):
    """Runs of templates: status, metrics, provenance, and their artifacts.

    >>> run = lab.runs.create("finetune", parameters={"lr": 3e-4})   # doctest: +SKIP
    >>> lab.runs.upload(run.id, "executed.ipynb", Path("out.ipynb"))  # doctest: +SKIP
    >>> lab.runs.update(run.id, status="completed", metrics={"loss": 1.2})  # doctest: +SKIP
    """

    def create(
        self,
        template: str,
        *,
        parameters: dict[str, Any] | None = None,
        lease: str | None = None,
        project: str | None = None,
        template_sha256: str | None = None,
        provenance: dict[str, Any] | None = None,
        status: str = "running",
    ) -> RunRead:
        """Record a run of ``template`` (``lease``: the lease id it runs on)."""
        body = {
            "template": template,
            "template_sha256": template_sha256,
            "parameters": parameters or {},
            "lease_id": lease,
            "project": project,
            "provenance": provenance or {},
            "status": status,
        }
        return RunRead.model_validate(self._lab.call("POST", "/runs", json=body, create=True))

    def update(self, run_id: str, **fields: Any) -> RunRead:
        """Change ``status``, ``error`` or ``ended_at``; merge into ``metrics``/``provenance``."""
        if isinstance(fields.get("ended_at"), datetime):
            fields["ended_at"] = fields["ended_at"].isoformat()
        return RunRead.model_validate(self._lab.call("PATCH", f"/runs/{run_id}", json=fields))

    def get(self, run_id: str) -> RunRead:
        """A run with its artifacts."""
        return self._lab.get_model(RunRead, f"/runs/{run_id}")

    def upload(
        self, run_id: str, name: str, data: bytes | str | Path, *, media_type: str | None = None
    ) -> ArtifactRead:
        """Store ``data`` (bytes, or a file path streamed from disk) as artifact ``name``."""
        content = data if isinstance(data, bytes) else Path(data)
        if media_type is None:
            media_type = _media_type(name)
        response = self._lab.send(
            "PUT",
            f"/runs/{run_id}/artifacts/{urllib.parse.quote(name)}",
            content=content,
            headers={"Content-Type": media_type},
        )
        return ArtifactRead.model_validate(self._lab._decode(response))

    def artifacts(self, run_id: str) -> list[ArtifactRead]:
        data = self._lab.call("GET", f"/runs/{run_id}/artifacts")
        return [ArtifactRead.model_validate(item) for item in data]

    def download(self, run_id: str, name: str) -> bytes:
        """The bytes of artifact ``name``."""
        response = self._lab.send("GET", f"/runs/{run_id}/artifacts/{urllib.parse.quote(name)}")
        if response.status_code >= 400:
            self._lab._decode(response)
        return response.content

    def list(
        self,
        *,
        template: str | None = None,
        status: str | None = None,
        project: str | None = None,
        limit: int | None = 100,
    ) -> list[RunRead]:
        """Runs of your projects, newest first."""
        return list(
            self._lab.iter_pages(
                RunRead, "/runs", limit=limit, template=template, status=status, project=project
            )
        )


def _media_type(name: str) -> str:
    known = {".ipynb": "application/x-ipynb+json", ".jsonl": "application/jsonl"}
    suffix = Path(name).suffix
    return known.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"


def connect(
    url: str | None = None,
    token: str | None = None,
    *,
    start: bool | None = None,
    home: str | None = None,
    timeout: float = 30.0,
    transport: httpx.BaseTransport | None = None,
) -> Lab:
    """Connect to a zslab hub and check that it answers.

    The hub is found from, in order: the arguments; ``ZSLAB_URL`` / ``ZSLAB_TOKEN``; the
    runtime file of the embedded hub (``$ZSLAB_HOME/runtime.json``). When none is configured
    and none runs, the embedded hub is started in the background (``start=False`` refuses;
    ``start=True`` also replaces a stale runtime file).
    """
    settings: Settings = load_settings(**({"home": home} if home else {}))
    runtime: RuntimeInfo | None = None
    source = "argument" if url else "env"
    url = url or settings.url
    token = token or settings.token
    if url is None:
        from zslab import embedded

        state = embedded.probe(settings)
        runtime = state.info
        if state.status == "absent" or (state.status == "stale" and start):
            if start is False:
                raise HubUnavailable(
                    "No zslab hub is configured and none is running on this machine.",
                    fix="Run `zslab up`, or call zslab.connect(start=True), or set ZSLAB_URL "
                    "and ZSLAB_TOKEN to a shared hub.",
                )
            runtime = embedded.start_detached(settings)
        if runtime is None:  # pragma: no cover - probe guarantees info for running/stale
            raise ConfigError("The runtime file vanished while connecting; retry.")
        url, source = runtime.url, "runtime file"
        token = token or runtime.token
    else:
        local = embedded_runtime_for(settings, url)
        if local is not None and token is None:
            runtime, token = local, local.token
    lab = Lab(url, token, timeout=timeout, transport=transport, runtime=runtime, source=source)
    try:
        lab.health()
    except ApiError as exc:
        lab.close()
        raise HubUnavailable(
            f"{url} answered, but not as a zslab hub ({exc.detail}).",
            fix="Check the URL: it should be the hub's base URL, e.g. http://127.0.0.1:8765.",
        ) from exc
    except HubUnavailable:
        lab.close()
        raise
    return lab


def embedded_runtime_for(settings: Settings, url: str) -> RuntimeInfo | None:
    """The local runtime file's info when it describes the hub at ``url``."""
    try:
        info = RuntimeInfo.read(settings.runtime_file)
    except ConfigError:
        return None
    if info is not None and info.url.rstrip("/") == url.rstrip("/"):
        return info
    return None


class Cases(_Resource):
    """The vertical-industry case library: publish runs, review, search, boards, reproduce.

    >>> version = lab.cases.publish(run, sector="online_economy", title="商品评论情感分类",
    ...                             license="apache-2.0")  # doctest: +SKIP
    >>> lab.cases.search("情感", sector="online_economy").items[0].slug  # doctest: +SKIP
    >>> lab.cases.reproduce(version.slug)  # re-runs the templates here  # doctest: +SKIP
    """

    def publish(
        self,
        runs: Any,
        *,
        sector: str,
        title: str,
        summary: str = "",
        license: str | None = None,
        title_en: str = "",
        task: str | None = None,
        tags: Sequence[str] = (),
        model: str = "",
        results: list[dict[str, Any]] | None = None,
        tolerance: dict[str, float] | None = None,
        visibility: str = "org",
        project: str | None = None,
        slug: str | None = None,
        model_card: str = "",
        data_card: dict[str, Any] | None = None,
        changelog: str = "",
        submit: bool = True,
    ) -> CaseVersionRead:
        """Publish ``runs`` (run ids, :class:`RunRead` or :class:`~zslab.templates.RunResult`,
        one or a list) as a new case; returns version 1, in review unless ``submit=False``.

        ``results`` default to what the runs recorded as ``results`` (model-index form)."""
        body = {
            "runs": _run_ids(runs),
            "sector": sector,
            "title": title,
            "title_en": title_en,
            "summary": summary,
            "license": license,
            "task": task,
            "tags": list(tags),
            "model": model,
            "results": results,
            "tolerance": tolerance or {},
            "visibility": visibility,
            "project": project,
            "slug": slug,
            "model_card": model_card,
            "data_card": data_card,
            "changelog": changelog,
            "submit": submit,
        }
        data = self._lab.call("POST", "/cases", json=body, create=True)
        return CaseVersionRead.model_validate(data)

    def add_version(self, case: str, runs: Any, **content: Any) -> CaseVersionRead:
        """A new version of ``case`` from ``runs`` (title etc. as in :meth:`publish`)."""
        body = {"runs": _run_ids(runs), **content}
        data = self._lab.call("POST", f"/cases/{_quote(case)}/versions", json=body, create=True)
        return CaseVersionRead.model_validate(data)

    def get(self, case: str) -> CaseRead:
        """A case with its versions and reproductions."""
        return self._lab.get_model(CaseRead, f"/cases/{_quote(case)}")

    def version(self, case: str, number: int | None = None) -> CaseVersionRead:
        """Version ``number`` (default: the published one, else the newest) with its reviews."""
        if number is None:
            info = self.get(case)
            number = info.published_version or info.current_version
        return self._lab.get_model(CaseVersionRead, f"/cases/{_quote(case)}/versions/{number}")

    def update(self, case: str, **fields: Any) -> CaseRead:
        """Change visibility, or the newest version's content while it is a draft."""
        data = self._lab.call("PATCH", f"/cases/{_quote(case)}", json=fields)
        return CaseRead.model_validate(data)

    def search(
        self,
        query: str | None = None,
        sector: str | None = None,
        *,
        task: str | None = None,
        dataset: str | None = None,
        org: str | None = None,
        license: str | None = None,
        reproduced: bool = False,
        sort: str = "relevance",
        limit: int = 20,
        offset: int = 0,
    ) -> CaseSearchPage:
        """Cases matching ``query`` (Chinese or English words) and the filters."""
        return self._lab.get_model(
            CaseSearchPage,
            "/cases",
            q=query,
            sector=sector,
            task=task,
            dataset=dataset,
            org=org,
            license=license,
            reproduced=reproduced or None,
            sort=sort,
            limit=limit,
            offset=offset,
        )

    def _review(self, case: str, version: int | None, action: str, comment: str) -> CaseVersionRead:
        number = version or self.get(case).current_version
        data = self._lab.call(
            "POST",
            f"/cases/{_quote(case)}/versions/{number}/review",
            json={"action": action, "comment": comment},
        )
        return CaseVersionRead.model_validate(data)

    def submit(self, case: str, version: int | None = None) -> CaseVersionRead:
        return self._review(case, version, "submit", "")

    def withdraw(self, case: str, version: int | None = None) -> CaseVersionRead:
        return self._review(case, version, "withdraw", "")

    def approve(
        self, case: str, version: int | None = None, *, comment: str = ""
    ) -> CaseVersionRead:
        """Publish a version in review (reviewers of the case's organization; not its author)."""
        return self._review(case, version, "approve", comment)

    def request_changes(
        self, case: str, comment: str, version: int | None = None
    ) -> CaseVersionRead:
        return self._review(case, version, "request_changes", comment)

    def archive(self, case: str, version: int | None = None) -> CaseVersionRead:
        return self._review(case, version, "archive", "")

    def comment(self, case: str, comment: str, version: int | None = None) -> CaseVersionRead:
        return self._review(case, version, "comment", comment)

    def leaderboards(
        self, *, task: str | None = None, dataset: str | None = None, metric: str | None = None
    ) -> list[LeaderboardRead]:
        """Ranked published versions per (task, dataset, metric); ties share a rank."""
        data = self._lab.call(
            "GET",
            "/cases/leaderboards",
            params={"task": task, "dataset": dataset, "metric": metric},
        )
        return [LeaderboardRead.model_validate(item) for item in data]

    def model_card(self, case: str, version: int | None = None) -> str:
        """The case as a Hugging Face ``README.md`` with ``model-index``."""
        response = self._lab.send(
            "GET", f"/cases/{_quote(case)}/model-card", params={"version": version}
        )
        if response.status_code >= 400:
            self._lab._decode(response)
        return response.text

    def reproductions(self, case: str) -> list[ReproductionRead]:
        data = self._lab.call("GET", f"/cases/{_quote(case)}/reproductions")
        return [ReproductionRead.model_validate(item) for item in data]

    def reproduce(
        self,
        case: str,
        lease: Lease | None = None,
        *,
        version: int | None = None,
        output_dir: str | Path | None = None,
    ) -> ReproductionRead:
        """Re-run the version's templates with their recorded parameters (on ``lease`` when
        given), then let the hub compare the metrics and record the reproduction.

        The result's ``matched`` says whether every published metric came out within the
        declared tolerance (or overlapping intervals); ``verdict`` shows each comparison."""
        target = self.version(case, version)
        runs = target.provenance.get("runs") or []
        if not runs:
            raise ConfigError(
                f"Case {case!r} v{target.number} records no template runs to re-run.",
                fix="Only cases published from template runs can be reproduced.",
            )
        run_ids = []
        for i, entry in enumerate(runs):
            out = Path(output_dir) / f"{i}-{entry['template']}" if output_dir else None
            try:
                result = self._lab.run(
                    entry["template"], entry.get("parameters") or {}, lease=lease, output_dir=out
                )
            except ValueError as exc:  # the template is not installed here, or its
                raise ConfigError(  # parameters changed since the case was published
                    f"Cannot re-run {entry['template']!r} for case {case!r}: {exc}",
                    fix="Install the template the case used (a folder in ZSLAB_TEMPLATES).",
                ) from exc
            if result.run_id is None:
                raise ConfigError(f"The re-run of {entry['template']} was not recorded.")
            run_ids.append(result.run_id)
        body = {
            "runs": run_ids,
            "version": target.number,
            "lease_id": lease.id if lease is not None else None,
            "hardware": _hardware(),
        }
        data = self._lab.call(
            "POST", f"/cases/{_quote(target.slug)}/reproductions", json=body, create=True
        )
        return ReproductionRead.model_validate(data)


def _quote(part: str) -> str:
    return urllib.parse.quote(part, safe="")


def _run_ids(runs: Any) -> list[str]:
    items = runs if isinstance(runs, list | tuple) else [runs]
    ids = []
    for item in items:
        run_id = (
            item
            if isinstance(item, str)
            else getattr(item, "run_id", None) or getattr(item, "id", None)
        )
        if not isinstance(run_id, str):
            raise TypeError(f"not a run or run id: {item!r}")
        ids.append(run_id)
    return ids


def _hardware() -> dict[str, Any]:
    """What this process runs on, for a reproduction record."""
    import os
    import platform

    info: dict[str, Any] = {
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "system": platform.system(),
    }
    try:
        import torch

        info["torch"] = torch.__version__
        if torch.cuda.is_available():
            info["accelerator"] = torch.cuda.get_device_name(0)
    except ImportError:
        pass
    return info
