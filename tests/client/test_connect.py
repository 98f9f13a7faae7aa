"""zslab.connect(): finding the hub, typed results, and errors a user can act on."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

import zslab
from tests.conftest import HubHandle, free_port
from zslab.config import RuntimeInfo, Settings
from zslab.schemas import OrgRead, UserRead


def _runtime(url: str, token: str, pid: int = 0) -> RuntimeInfo:
    return RuntimeInfo(
        url=url,
        token=token,
        pid=pid or os.getpid(),
        started_at=datetime.now(UTC).isoformat(),
        version=zslab.__version__,
        database="sqlite:///x.db",
    )


def test_connect_with_arguments(hub: HubHandle) -> None:
    lab = zslab.connect(hub.url, hub.admin_token)
    assert lab.me().user.name == "admin"
    assert lab.source == "argument"


def test_connect_from_environment(hub: HubHandle, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZSLAB_URL", hub.url)
    monkeypatch.setenv("ZSLAB_TOKEN", hub.admin_token)
    lab = zslab.connect()
    assert lab.source == "env"
    assert lab.me().user.role == "admin"


def test_connect_from_the_runtime_file(hub: HubHandle, _isolated_env: Path) -> None:
    _runtime(hub.url, hub.admin_token).write(Settings().runtime_file)
    lab = zslab.connect(start=False)
    assert lab.source == "runtime file"
    assert lab.me().user.name == "admin"


def test_url_of_the_local_hub_borrows_its_runtime_token(hub: HubHandle) -> None:
    _runtime(hub.url, hub.admin_token).write(Settings().runtime_file)
    assert zslab.connect(hub.url).me().user.name == "admin"


def test_stale_runtime_file_is_explained_with_the_fix() -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    _runtime(dead, "zsl_dead", pid=999_999).write(Settings().runtime_file)
    with pytest.raises(zslab.HubUnavailable) as caught:
        zslab.connect(start=False)
    message = str(caught.value)
    assert "stale runtime file" in message
    assert "zslab up" in message
    assert dead in message


def test_nothing_configured_and_start_refused_says_how_to_start() -> None:
    with pytest.raises(zslab.HubUnavailable) as caught:
        zslab.connect(start=False)
    assert "zslab up" in str(caught.value)


def test_wrong_url_is_reported_as_unreachable() -> None:
    with pytest.raises(zslab.HubUnavailable) as caught:
        zslab.connect(f"http://127.0.0.1:{free_port()}", "zsl_x")
    assert "No zslab hub answers" in caught.value.detail


def test_results_are_typed_models(hub: HubHandle) -> None:
    lab = hub.lab()
    org = lab.orgs.add("typed")
    assert isinstance(org, OrgRead)
    assert isinstance(org.created_at, datetime)
    assert all(isinstance(u, UserRead) for u in lab.users.list())


def test_problem_responses_become_the_matching_error_class(hub: HubHandle) -> None:
    lab = hub.lab()
    with pytest.raises(zslab.NotFound) as missing:
        lab.users.get("ghost")
    assert missing.value.status_code == 404
    assert missing.value.request_id and missing.value.request_id.startswith("req_")
    with pytest.raises(zslab.InvalidInput) as invalid:
        lab.users.add("UPPER")
    assert invalid.value.field == "name"
    assert invalid.value.errors[0]["field"] == "name"


class FlakyThenReal(httpx.BaseTransport):
    """Answers 503 to the first ``failures`` requests, then passes them to the real hub."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.inner = httpx.HTTPTransport()
        self.seen = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen += 1
        if self.seen <= self.failures:
            return httpx.Response(
                503,
                headers={"content-type": "application/problem+json", "retry-after": "0"},
                json={
                    "type": "/api/v1/problems/storage-unavailable",
                    "status": 503,
                    "title": "Storage unavailable",
                    "detail": "locked",
                },
            )
        return self.inner.handle_request(request)


def test_safe_calls_are_retried_through_503s(hub: HubHandle) -> None:
    transport = FlakyThenReal(failures=2)
    lab = zslab.Lab(hub.url, hub.admin_token, transport=transport, backoff=0.001)
    assert lab.me().user.name == "admin"
    assert transport.seen == 3


def test_retries_give_up_with_the_hubs_message(hub: HubHandle) -> None:
    transport = FlakyThenReal(failures=10)
    lab = zslab.Lab(hub.url, hub.admin_token, transport=transport, backoff=0.001, retries=2)
    with pytest.raises(zslab.StorageUnavailable) as caught:
        lab.me()
    assert caught.value.detail == "locked"
    assert transport.seen == 3
