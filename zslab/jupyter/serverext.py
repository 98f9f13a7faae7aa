"""The Jupyter server extension: the JupyterLab front end's gateway to the hub.

The lab extension calls these routes with ``ServerConnection.makeRequest``, so they sit behind
Jupyter's own login and XSRF checks; the extension forwards them to the hub with the server
user's hub token, which never reaches the browser (nor does the browser's Jupyter token reach
the hub)::

    GET  /zslab/config          LabConfig, or a 503 problem with a fix
    GET  /zslab/templates       [TemplateRead]
    POST /zslab/templates/{name}/run       TemplateRunCreate -> TemplateRunStarted
    POST /zslab/templates/{name}/notebook  TemplateNotebookCreate -> TemplateNotebookCreated
    GET  /zslab/gallery/cases/… the hub's gallery pages, framed by the lab
    ANY  /zslab/api/<path>      -> {hub}/api/v1/<path>: status, content type and body unchanged;
                                 text/event-stream responses are relayed chunk by chunk

The bodies are the pydantic models of :mod:`zslab.jupyter.models`, from which the lab
extension's TypeScript types are generated (``make types``).

Where the hub is comes from the SDK's own discovery (:func:`zslab.client.connect`):
``c.Zslab.hub_url`` / ``c.Zslab.hub_token``, then ``ZSLAB_URL`` / ``ZSLAB_TOKEN``, then the
embedded hub's runtime file under ``$ZSLAB_HOME``; when none runs the embedded hub is started
(``c.Zslab.start_embedded = False`` refuses). A configured hub is found when the server starts,
in the background; otherwise on the first request; and again, once, when the hub stops
answering (a stale runtime file). Enable with
``jupyter server extension enable zslab`` (installing the package does it).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from pydantic import BaseModel, ValidationError
from tornado import web
from tornado.ioloop import IOLoop
from tornado.iostream import StreamClosedError
from traitlets import Bool, Float, Unicode
from traitlets.config import Configurable

from zslab._version import __version__
from zslab.errors import Conflict, HubUnavailable, InvalidInput, ZslabError
from zslab.jupyter.models import (
    LabConfig,
    LabUser,
    TemplateNotebookCreate,
    TemplateNotebookCreated,
    TemplateRead,
    TemplateRunCreate,
    TemplateRunStarted,
)
from zslab.schemas import Me

__all__ = ["HubGateway", "HubLink", "Zslab"]

_API = "/api/v1/"

Body = TypeVar("Body", bound=BaseModel)

# Request headers the hub may use; everything else (cookies, the Jupyter Authorization, XSRF
# tokens) stays on this side.
_FORWARDED_REQUEST_HEADERS = (
    "Accept",
    "Accept-Language",
    "Content-Type",
    "Idempotency-Key",
    "If-Match",
    "If-None-Match",
    "Last-Event-ID",
)

# Hop-by-hop headers, and those Tornado computes itself for the re-sent body.
_DROPPED_RESPONSE_HEADERS = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "content-encoding",
        "date",
        "server",
        "set-cookie",
    }
)


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "zslab.jupyter.serverext"}]


class Zslab(Configurable):
    """Settings of the zslab server extension (``c.Zslab.*`` in ``jupyter_server_config.py``)."""

    hub_url = Unicode(
        None,
        allow_none=True,
        config=True,
        help="The hub's base URL; default: ZSLAB_URL, else the embedded hub.",
    )
    hub_token = Unicode(
        None,
        allow_none=True,
        config=True,
        help="The hub token to act with; default: ZSLAB_TOKEN, else the embedded hub's.",
    )
    start_embedded = Bool(
        True,
        config=True,
        help="Start the embedded hub (as `zslab up` does) when none is configured or running.",
    )
    timeout = Float(
        60.0,
        config=True,
        help="Seconds to wait for the hub to answer (between chunks, for event streams).",
    )


@dataclass(frozen=True)
class HubLink:
    """Where the hub is and how this server acts on it."""

    url: str
    token: str | None
    source: str  # "argument" (c.Zslab.hub_url), "env" or "runtime file"
    started: bool  # this extension started the embedded hub
    heartbeat_s: float


class HubGateway:
    """Finds the hub (once, in a thread) and sends requests to it without blocking the loop."""

    def __init__(self, config: Zslab) -> None:
        self.config = config
        self._link: HubLink | None = None
        self._lock = asyncio.Lock()
        self._client: httpx.AsyncClient | None = None

    async def link(self, *, stale: HubLink | None = None) -> HubLink:
        """The hub to talk to; ``stale`` (a link that stopped answering) is resolved again."""
        async with self._lock:
            if self._link is None or self._link is stale:
                self._link = await asyncio.to_thread(self._resolve)
            return self._link

    def _resolve(self) -> HubLink:
        from zslab import embedded
        from zslab.client import connect
        from zslab.config import load_settings

        settings = load_settings()
        url = self.config.hub_url or None
        local = url is None and settings.url is None
        before = embedded.probe(settings).status if local else None
        with connect(url, self.config.hub_token or None, start=self.config.start_embedded) as lab:
            started = lab.source == "runtime file" and before in {"absent", "stale"}
            return HubLink(lab.url, lab.token, lab.source, started, settings.heartbeat_s)

    async def open(
        self,
        method: str,
        path: str,
        *,
        query: str = "",
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[HubLink, httpx.Response]:
        """Send one request to ``{hub}/api/v1/{path}``; the response is open for streaming
        (close it). Raises :class:`HubUnavailable` when no hub answers, even after finding the
        hub again."""
        link = await self.link()
        try:
            return link, await self._send(link, method, path, query, body, headers)
        except httpx.ConnectError:
            # Nothing was sent, so even a POST may go again: the hub may have moved (a new
            # `zslab up` after a stale runtime file).
            link = await self.link(stale=link)
        try:
            return link, await self._send(link, method, path, query, body, headers)
        except httpx.TransportError as exc:
            raise HubUnavailable(
                f"No zslab hub answers at {link.url} ({type(exc).__name__}).",
                fix="Run `zslab up` (or start the shared hub), then reload this page.",
            ) from exc

    async def _send(
        self,
        link: HubLink,
        method: str,
        path: str,
        query: str,
        body: bytes | None,
        headers: dict[str, str] | None,
    ) -> httpx.Response:
        client = self.client()
        sent = dict(headers or {})
        sent["Accept-Encoding"] = "identity"  # bodies pass through as they are
        if link.token:
            sent["Authorization"] = f"Bearer {link.token}"
        url = link.url + _API + path + (f"?{query}" if query else "")
        request = client.build_request(method, url, content=body or None, headers=sent)
        return await client.send(request, stream=True)

    def client(self) -> httpx.AsyncClient:
        """The one HTTP client to the hub (made on first use, in the server's event loop)."""
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.config.timeout, connect=10.0),
                headers={"User-Agent": f"zslab-jupyter/{__version__}"},
            )
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


class _GatewayHandler(APIHandler):
    auth_resource = "zslab"

    @property
    def gateway(self) -> HubGateway:
        gateway: HubGateway = self.settings["zslab_gateway"]
        return gateway

    def write_problem(self, exc: ZslabError, status: int = 503) -> None:
        """An RFC 9457 problem like the hub's own, for when no hub can answer."""
        doc: dict[str, Any] = {
            "type": _API + "problems/" + exc.slug,
            "title": exc.title,
            "status": status,
            "detail": exc.detail,
        }
        if exc.fix:
            doc["fix"] = exc.fix
        if exc.field:
            doc["field"] = exc.field
        self.set_status(status)
        self.finish(
            json.dumps(doc, ensure_ascii=False), set_content_type="application/problem+json"
        )

    def read_body(self, model: type[Body]) -> Body | None:
        """The JSON body as ``model``; None, with a 422 problem naming the field, when it is
        not one."""
        try:
            return model.model_validate(self.get_json_body() or {})
        except ValidationError as exc:
            error = exc.errors()[0]
            field = ".".join(str(part) for part in error["loc"]) or None
            self.write_problem(InvalidInput(f"{field}: {error['msg']}", field=field), status=422)
            return None

    def finish_model(self, answer: BaseModel | Sequence[BaseModel], status: int = 200) -> None:
        """Send ``answer`` (a model, or a list of them) as JSON with ``status``."""
        self.set_status(status)
        if isinstance(answer, BaseModel):
            self.finish(answer.model_dump_json())
        else:
            items = [item.model_dump(mode="json") for item in answer]
            self.finish(json.dumps(items, ensure_ascii=False))


class ConfigHandler(_GatewayHandler):
    """``GET /zslab/config``: where the hub is and who this server acts as there."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        try:
            link, response = await self.gateway.open("GET", "me")
            try:
                await response.aread()
            finally:
                await response.aclose()
        except ZslabError as exc:  # HubUnavailable, or bad local settings (ConfigError)
            self.write_problem(exc)
            return
        if response.status_code >= 400:  # e.g. a revoked token: the hub's problem says why
            self.set_status(response.status_code)
            self.finish(response.content, set_content_type=response.headers["content-type"])
            return
        me = Me.model_validate_json(response.content)
        config = LabConfig(
            hub_url=link.url,
            gallery_url=f"{link.url}/cases",
            user=LabUser(name=me.user.name, display_name=me.user.display_name, role=me.user.role),
            scopes=list(me.token.scopes),
            source=link.source,
            started_hub=link.started,
            heartbeat_s=link.heartbeat_s,
        )
        self.finish_model(config)


class GalleryHandler(_GatewayHandler):
    """``GET /zslab/gallery/cases/…``: the hub's gallery pages served from the lab's own
    origin, so a lab panel may frame them (the hub forbids framing by other origins). The
    pages are script-free; their links stay under this prefix; the hub's CSP is kept except
    that the lab itself may frame them."""

    @web.authenticated
    @authorized
    async def get(self, path: str) -> None:
        prefix = url_path_join(self.base_url, "zslab/gallery").rstrip("/")
        query = self.request.query
        try:
            link = await self.gateway.link()
            client = self.gateway.client()
            url = f"{link.url}/cases{'/' + path if path else ''}" + (f"?{query}" if query else "")
            response = await client.get(url, headers={"X-Forwarded-Prefix": prefix})
        except (ZslabError, httpx.TransportError) as exc:
            problem = exc if isinstance(exc, ZslabError) else HubUnavailable(str(exc))
            self.write_problem(problem)
            return
        self.set_status(response.status_code)
        for name in ("content-disposition", "x-content-type-options"):
            if name in response.headers:
                self.set_header(name, response.headers[name])
        policy = response.headers.get("content-security-policy", "")
        policy = re.sub(r"frame-ancestors [^;]*", "frame-ancestors 'self'", policy)
        self.set_header("Content-Security-Policy", policy or "frame-ancestors 'self'")
        kind = response.headers.get("content-type", "text/html; charset=utf-8")
        self.finish(response.content, set_content_type=kind)  # APIHandler would say JSON


class TemplatesHandler(_GatewayHandler):
    """``GET /zslab/templates``: the templates this server can run, with their parameters."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        from zslab.templates import list_templates

        templates = await asyncio.to_thread(list_templates)
        self.finish_model([TemplateRead.model_validate(t.to_json()) for t in templates])


class TemplateRunHandler(_GatewayHandler):
    """``POST /zslab/templates/{name}/run`` ``{parameters, lease_id}``: start a run recorded
    in the hub (on the lease's worker when one is named); answers ``{run_id}`` as soon as the
    hub has the run, which then executes in the background (the lab polls its status)."""

    @web.authenticated
    @authorized
    async def post(self, name: str) -> None:
        from zslab.templates import get_template, validate_parameters

        body = self.read_body(TemplateRunCreate)
        if body is None:
            return
        lease_id = body.lease_id or None
        try:
            info = get_template(name)
            params = validate_parameters(info, body.parameters or {})
            link = await self.gateway.link()
        except ValueError as exc:
            self.write_problem(InvalidInput(str(exc), field="parameters"), status=422)
            return
        except ZslabError as exc:
            self.write_problem(exc)
            return
        loop = asyncio.get_running_loop()
        started: asyncio.Future[str | None] = loop.create_future()

        def settle(run_id: str | None, error: BaseException | None) -> None:
            if started.done():  # the run started: a later failure shows on the run
                return
            if error is None:
                started.set_result(run_id)
            else:
                started.set_exception(error)

        def report(run_id: str | None) -> None:
            loop.call_soon_threadsafe(settle, run_id, None)

        def fail(exc: BaseException) -> None:
            loop.call_soon_threadsafe(settle, None, exc)

        def execute() -> None:
            from zslab.client import Lab
            from zslab.templates import run_template

            try:
                with Lab(link.url, link.token) as lab:
                    lease = lab.lease(lease_id) if lease_id else None
                    if lease is not None:
                        lease.start_heartbeats()
                    try:
                        run_template(info.name, params, lab=lab, lease=lease, on_started=report)
                    finally:
                        if lease is not None:
                            lease.stop_heartbeats()
            except BaseException as exc:  # reported if the run never started; logged anyway
                fail(exc)
                self.log.warning("zslab: template run %s failed: %s", info.name, exc)

        asyncio.get_running_loop().run_in_executor(None, execute)
        try:
            run_id = await asyncio.wait_for(started, timeout=self.gateway.config.timeout)
        except ZslabError as exc:  # the hub refused the run or the lease
            self.write_problem(exc, status=getattr(exc, "status_code", 503) or 503)
            return
        except TimeoutError:
            self.write_problem(
                HubUnavailable(
                    f"The hub did not record the run within {self.gateway.config.timeout:g} s.",
                    fix="Check the Runs panel in a moment; the hub may be busy.",
                ),
                status=504,
            )
            return
        except Exception as exc:  # e.g. the lease has no worker to run on
            self.write_problem(
                InvalidInput(f"The run could not start: {exc}", field="lease_id"), status=422
            )
            return
        assert run_id is not None  # `report` is called with the hub's run id
        self.finish_model(
            TemplateRunStarted(run_id=run_id, template=info.name, parameters=params), status=202
        )


class TemplateNotebookHandler(_GatewayHandler):
    """``POST /zslab/templates/{name}/notebook`` ``{parameters, path}``: a copy of the
    template with the parameters injected (papermill's way), saved at ``path`` in the
    server's contents; answers ``{path}``. An existing file is never overwritten (409)."""

    @web.authenticated
    @authorized
    async def post(self, name: str) -> None:
        from jupyter_core.utils import ensure_async

        from zslab.templates import get_template, validate_parameters

        body = self.read_body(TemplateNotebookCreate)
        if body is None:
            return
        path = (body.path or f"{name}.ipynb").strip()
        parts = path.split("/")
        if not path.endswith(".ipynb") or ".." in parts or "" in parts:  # "" : /abs or a//b
            self.write_problem(
                InvalidInput(
                    f"{path!r} is not a notebook path under this server's root.",
                    field="path",
                    fix="Give a relative path ending in .ipynb, e.g. 'my-finetune.ipynb'.",
                ),
                status=422,
            )
            return
        try:
            info = get_template(name)
            params = validate_parameters(info, body.parameters or {})
        except ValueError as exc:
            self.write_problem(InvalidInput(str(exc), field="parameters"), status=422)
            return
        manager = self.contents_manager
        if await ensure_async(manager.exists(path)):
            self.write_problem(
                Conflict(f"{path} already exists.", field="path", fix="Choose another name."),
                status=409,
            )
            return
        content = await asyncio.to_thread(_parameterized, info.path, params)
        await ensure_async(manager.save({"type": "notebook", "content": content}, path))
        self.finish_model(
            TemplateNotebookCreated(path=path, template=info.name, parameters=params), status=201
        )


def _parameterized(source: Any, params: dict[str, Any]) -> Any:
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    return parameterize_notebook(load_notebook_node(str(source)), params)


class HubProxyHandler(_GatewayHandler):
    """``/zslab/api/<path>``: the hub's ``/api/v1/<path>``, answered as the hub answers."""

    _relay: asyncio.Task[None] | None = None
    _browser_gone = False

    async def forward(self) -> None:
        # The raw path, not Tornado's decoded argument: `a%2Fb` must reach the hub as it came.
        path = self.request.path[len(url_path_join(self.base_url, "zslab/api/")) :]
        headers = {
            name: value
            for name in _FORWARDED_REQUEST_HEADERS
            if (value := self.request.headers.get(name)) is not None
        }
        try:
            _, response = await self.gateway.open(
                self.request.method or "GET",
                path,
                query=self.request.query,
                body=self.request.body,
                headers=headers,
            )
        except ZslabError as exc:
            self.write_problem(exc)
            return
        try:
            self.set_status(response.status_code, response.reason_phrase or None)
            for name, value in response.headers.multi_items():
                if name.lower() not in _DROPPED_RESPONSE_HEADERS:
                    self.add_header(
                        name, self._local_location(value) if name == "location" else value
                    )
            content_type = response.headers.get("content-type", "application/octet-stream")
            if content_type.startswith("text/event-stream"):
                await self._relay_events(response, content_type)
            else:
                body = await response.aread()
                self.finish(body or None, set_content_type=content_type)  # 204: no body at all
        finally:
            await response.aclose()

    def _local_location(self, location: str) -> str:
        """A hub ``Location`` (``/api/v1/orgs/acme``) as the route that forwards to it."""
        if location.startswith(_API):
            return url_path_join(self.base_url, "zslab/api", location[len(_API) :])
        return location

    async def _relay_events(self, response: httpx.Response, content_type: str) -> None:
        """Copy a server-sent-event stream as it comes, until the hub or the browser stops."""
        self.set_header("Content-Type", content_type)
        self.set_header("Cache-Control", "no-cache")
        self.set_header("X-Accel-Buffering", "no")

        async def copy() -> None:
            async for chunk in response.aiter_raw():
                self.write(chunk)
                await self.flush()

        self._relay = asyncio.ensure_future(copy())
        await asyncio.wait({self._relay})
        if not self._relay.cancelled() and (exc := self._relay.exception()) is not None:
            if not isinstance(exc, (StreamClosedError, httpx.TransportError)):
                raise exc
            self.log.debug("zslab event relay ended: %r", exc)
        if self._browser_gone:
            return
        self.finish(set_content_type=content_type)

    def on_connection_close(self) -> None:
        self._browser_gone = True
        if self._relay is not None:  # the browser went away: stop reading from the hub
            self._relay.cancel()
        super().on_connection_close()

    @web.authenticated
    @authorized
    async def get(self, path: str) -> None:
        await self.forward()

    @web.authenticated
    @authorized
    async def post(self, path: str) -> None:
        await self.forward()

    @web.authenticated
    @authorized
    async def put(self, path: str) -> None:
        await self.forward()

    @web.authenticated
    @authorized
    async def patch(self, path: str) -> None:
        await self.forward()

    @web.authenticated
    @authorized
    async def delete(self, path: str) -> None:
        await self.forward()


def _load_jupyter_server_extension(server_app: Any) -> None:
    """Register the routes on ``server_app`` (a ``jupyter_server.serverapp.ServerApp``)."""
    gateway = HubGateway(Zslab(parent=server_app))
    web_app = server_app.web_app
    web_app.settings["zslab_gateway"] = gateway
    base = web_app.settings["base_url"]
    web_app.add_handlers(
        ".*$",
        [
            (url_path_join(base, "zslab/config"), ConfigHandler),
            (url_path_join(base, "zslab/api/(.*)"), HubProxyHandler),
            (url_path_join(base, "zslab/templates"), TemplatesHandler),
            (url_path_join(base, r"zslab/gallery/cases/?(.*)"), GalleryHandler),
            (url_path_join(base, r"zslab/templates/([^/]+)/run"), TemplateRunHandler),
            (url_path_join(base, r"zslab/templates/([^/]+)/notebook"), TemplateNotebookHandler),
        ],
    )
    server_app.log.info(
        "zslab: /zslab/config, /zslab/templates and /zslab/api/* (forwarded to the hub)"
    )
    # Find a configured hub now, in the background, rather than on the sidebar's first request
    # (imports, a health check: most of its first render). The embedded hub is still started
    # only on a request, and a hub that does not answer yet is looked for again then.
    if gateway.config.hub_url or _configured_hub_url():
        IOLoop.current().add_callback(_warm, gateway, server_app.log)


def _configured_hub_url() -> str | None:
    from zslab.config import load_settings

    try:
        return load_settings().url
    except ZslabError:  # bad settings: the first request reports them
        return None


async def _warm(gateway: HubGateway, log: Any) -> None:
    try:
        await gateway.link()
    except Exception as exc:  # reported again by the first request
        log.debug("zslab: hub not found at start: %r", exc)
