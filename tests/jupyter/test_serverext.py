"""The Jupyter server extension: a real Jupyter server forwarding to a real hub."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ECHO_TEMPLATE, HubHandle, start_hub, write_inventory
from zslab.config import Settings
from zslab.jupyter.models import LabConfig, LabUser

Fetch = Callable[..., Any]


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[HubHandle]:
    """A hub on SQLite over the small test inventory (so a lease can be granted)."""
    settings = Settings(
        home=tmp_path / "hub-home",
        db_url=f"sqlite:///{tmp_path / 'hub.db'}",
        inventory=write_inventory(tmp_path),
        auth_cache_s=1.0,
    )
    handle = start_hub(settings)
    yield handle
    handle.stop()


@pytest.fixture
def zslab_config(hub: HubHandle) -> dict[str, Any]:
    """``c.Zslab``: the test hub and its admin token."""
    return {"hub_url": hub.url, "hub_token": hub.admin_token, "start_embedded": False}


@pytest.fixture
def jp_server_config(zslab_config: dict[str, Any]) -> dict[str, Any]:
    # The module itself names its extension point, so it loads before zslab/__init__ does.
    return {
        "ServerApp": {"jpserver_extensions": {"zslab.jupyter.serverext": True}},
        "Zslab": zslab_config,
    }


@pytest.fixture
def server_url(http_server: Any, jp_http_port: int, jp_base_url: str) -> str:
    """The running Jupyter server's base URL, for requests as a browser makes them."""
    return f"http://127.0.0.1:{jp_http_port}{jp_base_url}"


async def _json(fetch: Fetch, *parts: str, **kwargs: Any) -> tuple[int, Any]:
    response = await fetch(*parts, raise_error=False, **kwargs)
    return response.code, json.loads(response.body)


# --- /zslab/config -------------------------------------------------------------------------


async def test_config_shows_the_hub_and_its_user_but_not_the_token(
    jp_fetch: Fetch, hub: HubHandle
) -> None:
    response = await jp_fetch("zslab", "config")
    config = json.loads(response.body)
    assert config["hub_url"] == hub.url
    assert config["gallery_url"] == f"{hub.url}/cases"
    assert config["user"]["role"] == "admin"
    assert config["source"] == "argument"
    assert config["started_hub"] is False
    assert config["heartbeat_s"] > 0
    assert hub.admin_token not in response.body.decode()


async def test_config_sends_exactly_the_fields_of_its_model(jp_fetch: Fetch) -> None:
    """One heartbeat field (the hub's ``heartbeat_s``), nothing the lab's types do not know."""
    response = await jp_fetch("zslab", "config")
    config = json.loads(response.body)
    assert set(config) == set(LabConfig.model_fields)
    assert set(config["user"]) == set(LabUser.model_fields)
    assert LabConfig.model_validate(config).heartbeat_s == config["heartbeat_s"]


@pytest.mark.parametrize("zslab_config", [{"start_embedded": False}])
async def test_the_hub_is_found_from_zslab_url_and_token(
    jp_fetch: Fetch, hub: HubHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZSLAB_URL", hub.url)
    monkeypatch.setenv("ZSLAB_TOKEN", hub.admin_token)
    status, config = await _json(jp_fetch, "zslab", "config")
    assert status == 200
    assert (config["hub_url"], config["source"]) == (hub.url, "env")


@pytest.mark.parametrize("zslab_config", [{"start_embedded": False}])
async def test_no_hub_and_no_starting_is_a_503_with_a_fix(jp_fetch: Fetch) -> None:
    status, problem = await _json(jp_fetch, "zslab", "config")
    assert status == 503
    assert "No zslab hub is configured" in problem["detail"]
    assert "zslab up" in problem["fix"]
    status, problem = await _json(jp_fetch, "zslab", "api", "pools")
    assert status == 503 and "zslab up" in problem["fix"]


async def test_a_hub_that_stops_answering_gives_a_503_with_a_fix(
    jp_fetch: Fetch, hub: HubHandle
) -> None:
    assert (await jp_fetch("zslab", "api", "pools")).code == 200
    hub.stop()
    status, problem = await _json(jp_fetch, "zslab", "api", "pools")
    assert status == 503
    assert hub.url in problem["detail"]
    assert "zslab up" in problem["fix"]


# --- forwarding ----------------------------------------------------------------------------


async def test_get_returns_the_hubs_pools(jp_fetch: Fetch, hub: HubHandle) -> None:
    status, pools = await _json(jp_fetch, "zslab", "api", "pools")
    assert status == 200
    assert pools == hub.http().get("/api/v1/pools").json()
    assert {p["pool"] for p in pools} == {"h100", "t4", "npu"}


async def test_post_creates_an_org_in_the_hub(
    jp_fetch: Fetch, hub: HubHandle, jp_base_url: str
) -> None:
    response = await jp_fetch(
        "zslab",
        "api",
        "orgs",
        method="POST",
        body=json.dumps({"slug": "acme", "name": "Acme"}),
        headers={"Content-Type": "application/json"},
    )
    assert response.code == 201
    org = json.loads(response.body)
    assert org["slug"] == "acme"
    assert hub.http().get("/api/v1/orgs/acme").status_code == 200
    # The hub's Location names the route that forwards to it, not the hub's own path.
    assert response.headers["Location"] == f"{jp_base_url}zslab/api/orgs/{org['id']}"


async def test_a_hub_problem_passes_through_unchanged(jp_fetch: Fetch) -> None:
    response = await jp_fetch(
        "zslab",
        "api",
        "orgs",
        method="POST",
        body=json.dumps({"slug": "Not a slug!"}),
        headers={"Content-Type": "application/json"},
        raise_error=False,
    )
    assert response.code == 422
    assert response.headers["Content-Type"].startswith("application/problem+json")
    problem = json.loads(response.body)
    assert problem["status"] == 422
    assert problem["errors"][0]["field"] == "slug"


async def test_query_strings_reach_the_hub(jp_fetch: Fetch, hub: HubHandle) -> None:
    for slug in ("one", "two"):
        hub.http().post("/api/v1/orgs", json={"slug": slug})
    status, page = await _json(jp_fetch, "zslab", "api", "orgs", params={"limit": "1"})
    assert status == 200
    assert len(page["items"]) == 1


# --- Jupyter's auth and XSRF ---------------------------------------------------------------


async def test_a_request_without_jupyter_auth_is_refused_not_forwarded(
    server_url: str, hub: HubHandle
) -> None:
    async with httpx.AsyncClient(base_url=server_url) as browser:
        refused = await browser.post("zslab/api/orgs", json={"slug": "intruder"})
        config = await browser.get("zslab/config")
    assert refused.status_code == 403
    assert config.status_code == 403
    assert hub.http().get("/api/v1/orgs/intruder").status_code == 404


async def test_a_cookie_authenticated_post_needs_the_xsrf_token(
    jp_serverapp: Any, server_url: str, hub: HubHandle
) -> None:
    token = jp_serverapp.identity_provider.token
    async with httpx.AsyncClient(base_url=server_url) as browser:
        assert (await browser.get("login")).status_code == 200  # the page sets _xsrf
        xsrf = browser.cookies["_xsrf"]
        # Logging in with the token in the URL leaves a login cookie, as a browser has.
        assert (await browser.get("api/status", params={"token": token})).status_code == 200
        without = await browser.post("zslab/api/orgs", json={"slug": "forged"})
        with_token = await browser.post(
            "zslab/api/orgs", json={"slug": "genuine"}, headers={"X-XSRFToken": xsrf}
        )
    assert without.status_code == 403
    assert hub.http().get("/api/v1/orgs/forged").status_code == 404
    assert with_token.status_code == 201


# --- server-sent events --------------------------------------------------------------------


async def _events(lines: AsyncIterator[str]) -> AsyncIterator[dict[str, Any]]:
    async for line in lines:
        if line.startswith("data:"):
            yield json.loads(line[5:])


async def _eventually(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not predicate():
        await asyncio.sleep(0.05)
    return predicate()


async def test_lease_events_arrive_live_through_the_relay(
    jp_fetch: Fetch, jp_auth_header: dict[str, str], server_url: str, hub: HubHandle
) -> None:
    async with (
        httpx.AsyncClient(base_url=server_url, headers=jp_auth_header, timeout=20) as browser,
        browser.stream("GET", "zslab/api/events") as stream,
    ):
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.aiter_lines()
        assert (await anext(lines)).startswith(":")  # the hub's greeting: the relay is live
        created = await jp_fetch(
            "zslab",
            "api",
            "leases",
            method="POST",
            body=json.dumps({"spec": "t4:0.5", "hours": 1}),
            headers={"Content-Type": "application/json"},
        )
        lease = json.loads(created.body)
        event = await asyncio.wait_for(anext(_events(lines)), timeout=10)
    assert event["lease_id"] == lease["id"]
    # The browser went away: the relay stops and the hub drops its subscriber.
    assert await _eventually(lambda: not hub.state.broker.subscribers)


async def test_put_and_a_bodyless_delete_are_forwarded(jp_fetch: Fetch, hub: HubHandle) -> None:
    admin = hub.http()
    admin.post("/api/v1/orgs", json={"slug": "acme"})
    admin.post("/api/v1/users", json={"name": "ada"})
    put = await jp_fetch(
        "zslab",
        "api",
        "orgs",
        "acme",
        "members",
        method="PUT",
        body=json.dumps({"user": "ada", "role": "member"}),
        headers={"Content-Type": "application/json"},
    )
    assert json.loads(put.body)["user_name"] == "ada"
    deleted = await jp_fetch("zslab", "api", "orgs", "acme", "members", "ada", method="DELETE")
    assert deleted.code == 204
    assert deleted.body == b""
    members = admin.get("/api/v1/orgs/acme/members").json()["items"]
    assert "ada" not in {m["user_name"] for m in members}


# --- /zslab/templates ------------------------------------------------------------------------


@pytest.fixture
def echo_template(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    folder = tmp_path / "team-templates"
    folder.mkdir()
    (folder / "echo.ipynb").write_text(json.dumps(ECHO_TEMPLATE))
    monkeypatch.setenv("ZSLAB_TEMPLATES", str(folder))
    return "echo"


async def test_templates_are_listed_with_their_parameters(
    jp_fetch: Fetch, echo_template: str
) -> None:
    code, templates = await _json(jp_fetch, "zslab", "templates")

    assert code == 200
    by_name = {t["name"]: t for t in templates}
    assert {"evaluate", "finetune", echo_template} <= set(by_name)
    assert by_name["echo"]["parameters"] == [
        {"name": "factor", "type": "int", "default": 2, "help": "what to double"}
    ]


async def test_a_template_run_starts_in_the_hub_and_completes(
    jp_fetch: Fetch, hub: HubHandle, echo_template: str
) -> None:
    code, started = await _json(
        jp_fetch,
        "zslab",
        "templates",
        "echo",
        "run",
        method="POST",
        body=json.dumps({"parameters": {"factor": 21}, "lease_id": None}),
    )

    assert code == 202 and started["parameters"] == {"factor": 21}
    with hub.lab() as lab:
        deadline = time.monotonic() + 60
        while lab.runs.get(started["run_id"]).status == "running":
            assert time.monotonic() < deadline
            await asyncio.sleep(0.2)
        run = lab.runs.get(started["run_id"])
    assert run.status == "completed" and run.metrics["doubled"] == 42


async def test_a_bad_parameter_is_422_naming_it(jp_fetch: Fetch, echo_template: str) -> None:
    code, problem = await _json(
        jp_fetch,
        "zslab",
        "templates",
        "echo",
        "run",
        method="POST",
        body=json.dumps({"parameters": {"factor": "many"}}),
    )

    assert code == 422
    assert problem["field"] == "parameters" and "factor" in problem["detail"]


async def test_open_as_notebook_writes_a_parameterized_copy_once(
    jp_fetch: Fetch, jp_root_dir: Path, echo_template: str
) -> None:
    body = json.dumps({"parameters": {"factor": 5}, "path": "mine/echo-5.ipynb"})
    (jp_root_dir / "mine").mkdir()

    code, made = await _json(
        jp_fetch, "zslab", "templates", "echo", "notebook", method="POST", body=body
    )
    again, _ = await _json(
        jp_fetch, "zslab", "templates", "echo", "notebook", method="POST", body=body
    )

    assert (code, made["path"], again) == (201, "mine/echo-5.ipynb", 409)
    cells = json.loads((jp_root_dir / "mine" / "echo-5.ipynb").read_text())["cells"]
    injected = [c for c in cells if "injected-parameters" in c["metadata"].get("tags", [])]
    assert "factor = 5" in "".join(injected[0]["source"])


@pytest.mark.parametrize("path", ["../outside.ipynb", "/etc/x.ipynb", "notes.txt", "a//b.ipynb"])
async def test_open_as_notebook_refuses_paths_outside_the_root(
    jp_fetch: Fetch, echo_template: str, path: str
) -> None:
    body = json.dumps({"parameters": {}, "path": path})

    code, problem = await _json(
        jp_fetch, "zslab", "templates", "echo", "notebook", method="POST", body=body
    )

    assert code == 422 and problem["field"] == "path"


@pytest.mark.parametrize("action", ["run", "notebook"])
async def test_a_body_of_the_wrong_shape_is_a_422_naming_the_field(
    jp_fetch: Fetch, echo_template: str, action: str
) -> None:
    body = json.dumps({"parameters": ["factor", 5]})

    code, problem = await _json(
        jp_fetch, "zslab", "templates", "echo", action, method="POST", body=body
    )

    assert (code, problem["field"]) == (422, "parameters")


# --- /zslab/gallery --------------------------------------------------------------------------


async def test_gallery_pages_are_served_framable_by_the_lab_with_links_under_its_prefix(
    jp_fetch: Fetch, jp_base_url: str
) -> None:
    response = await jp_fetch("zslab", "gallery", "cases", raise_error=False)

    html = response.body.decode()
    assert response.code == 200, html[:500]
    assert response.headers["Content-Type"].startswith("text/html")
    policy = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'self'" in policy and "default-src 'none'" in policy
    assert f'href="{jp_base_url}zslab/gallery/cases/leaderboards"' in html
    assert "<script" not in html
