"""``Idempotency-Key`` on creating POSTs: one object per key, whatever the retries."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

import zslab
from tests.conftest import HubHandle
from zslab.client import Lab


def _count_orgs(admin: Lab) -> int:
    return len(admin.orgs.list())


def test_same_key_same_body_creates_once_and_replays(hub: HubHandle, admin: Lab) -> None:
    with hub.http() as http:
        headers = {"Idempotency-Key": "create-acme-1"}
        first = http.post("/api/v1/orgs", json={"slug": "acme"}, headers=headers)
        second = http.post("/api/v1/orgs", json={"slug": "acme"}, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert first.headers["location"] == second.headers["location"]
    assert _count_orgs(admin) == 1


def test_same_key_other_body_is_a_conflict_naming_the_header(hub: HubHandle) -> None:
    with hub.http() as http:
        headers = {"Idempotency-Key": "k-reused"}
        assert http.post("/api/v1/orgs", json={"slug": "one"}, headers=headers).status_code == 201
        response = http.post("/api/v1/orgs", json={"slug": "two"}, headers=headers)
    assert response.status_code == 409
    assert response.json()["field"] == "Idempotency-Key"


def test_keys_are_per_user(hub: HubHandle, admin: Lab) -> None:
    admin.users.add("ivan", role="admin")
    ivan = admin.tokens.create("t", user="ivan", scopes=["read", "write", "admin"]).secret
    with hub.http() as as_admin, hub.http(ivan) as as_ivan:
        headers = {"Idempotency-Key": "shared-key"}
        a = as_admin.post("/api/v1/orgs", json={"slug": "from-admin"}, headers=headers)
        b = as_ivan.post("/api/v1/orgs", json={"slug": "from-ivan"}, headers=headers)
    assert a.status_code == b.status_code == 201
    assert a.json()["id"] != b.json()["id"]


def test_concurrent_requests_with_one_key_create_one_object(hub: HubHandle, admin: Lab) -> None:
    start = threading.Barrier(12)

    def post(_: int) -> httpx.Response:
        with hub.http() as http:
            http.get("/api/v1/me")  # connect and authenticate first, then go together
            start.wait()
            return http.post(
                "/api/v1/orgs", json={"slug": "raced"}, headers={"Idempotency-Key": "race-key"}
            )

    with ThreadPoolExecutor(12) as pool:
        responses = list(pool.map(post, range(12)))
    assert {r.status_code for r in responses} == {201}, [
        r.text for r in responses if r.status_code != 201
    ]
    assert len({r.json()["id"] for r in responses}) == 1
    assert _count_orgs(admin) == 1


def test_replayed_token_creation_never_reveals_the_secret_again(hub: HubHandle) -> None:
    with hub.http() as http:
        headers = {"Idempotency-Key": "tok-key"}
        first = http.post("/api/v1/tokens", json={"name": "once"}, headers=headers)
        replay = http.post("/api/v1/tokens", json={"name": "once"}, headers=headers)
    assert first.json()["secret"].startswith("zsl_")
    assert replay.json()["secret"] is None
    assert replay.json()["id"] == first.json()["id"]


def test_an_unusable_key_is_refused(hub: HubHandle) -> None:
    with hub.http() as http:
        response = http.post(
            "/api/v1/orgs", json={"slug": "keyed"}, headers={"Idempotency-Key": "x" * 300}
        )
    assert response.status_code == 422
    assert response.json()["field"] == "Idempotency-Key"


class LoseFirstResponse(httpx.BaseTransport):
    """Delivers each request to the real hub, but drops the first response on the floor —
    what a client sees when the network fails after the hub committed."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.keys: list[str | None] = []
        self.lost = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.keys.append(request.headers.get("idempotency-key"))
        response = self.inner.handle_request(request)
        if request.method == "POST" and not self.lost:
            self.lost = True
            response.read()
            raise httpx.ReadError("connection reset after the hub answered", request=request)
        return response


def test_sdk_retry_after_a_lost_response_reuses_the_key(hub: HubHandle, admin: Lab) -> None:
    transport = LoseFirstResponse()
    lab = Lab(hub.url, hub.admin_token, transport=transport, backoff=0.01)
    org = lab.orgs.add("retried")
    post_keys = [k for k in transport.keys if k]
    assert len(post_keys) == 2 and post_keys[0] == post_keys[1]
    assert [o.id for o in admin.orgs.list()] == [org.id]


class Unreachable(httpx.BaseTransport):
    """Every request fails to connect; remembers the methods it was asked to send."""

    def __init__(self) -> None:
        self.methods: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.methods.append(request.method)
        raise httpx.ConnectError("hub down", request=request)


def test_sdk_retries_safe_calls_but_not_a_patch(hub: HubHandle) -> None:
    transport = Unreachable()
    lab = Lab(hub.url, hub.admin_token, transport=transport, backoff=0.001, retries=2)
    with pytest.raises(zslab.HubUnavailable):
        lab.users.get("admin")
    with pytest.raises(zslab.HubUnavailable):
        lab.users.update("admin", display_name="A")
    assert transport.methods == ["GET", "GET", "GET", "PATCH"]
