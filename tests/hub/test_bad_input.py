"""Bad input gets a problem document naming the field and the fix, never a 500."""

from __future__ import annotations

import socket

import httpx
import pytest

from tests.conftest import HubHandle

PROBLEM = "application/problem+json"


def _problem(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    doc = response.json()
    assert doc["status"] == status
    assert doc["type"].startswith("/api/v1/problems/")
    assert doc["detail"]
    assert doc["request_id"] == response.headers["x-request-id"]
    return doc


def test_malformed_json_is_400_pointing_at_the_body(hub: HubHandle) -> None:
    with hub.http() as http:
        response = http.post(
            "/api/v1/users", content=b'{"name": "x",', headers={"content-type": "application/json"}
        )
    doc = _problem(response, 400)
    assert doc["field"] == "body"
    assert "not valid JSON" in doc["detail"]


def test_wrong_type_is_422_naming_the_field(hub: HubHandle) -> None:
    with hub.http() as http:
        response = http.post("/api/v1/tokens", json={"name": "t", "expires_in_days": "soon"})
    doc = _problem(response, 422)
    assert doc["field"] == "expires_in_days"
    assert doc["errors"][0]["location"] == "body"


def test_unknown_field_is_422_listing_the_known_ones(hub: HubHandle) -> None:
    with hub.http() as http:
        response = http.post("/api/v1/orgs", json={"slug": "acme", "colour": "red"})
    doc = _problem(response, 422)
    assert doc["field"] == "colour"
    assert "known fields: name, slug" in doc["detail"]


def test_missing_required_field_is_422(hub: HubHandle) -> None:
    with hub.http() as http:
        response = http.post("/api/v1/projects", json={"slug": "p"})
    doc = _problem(response, 422)
    assert doc["field"] == "org"
    assert "is required" in doc["detail"]


def test_bad_slug_explains_the_rule(hub: HubHandle) -> None:
    with hub.http() as http:
        response = http.post("/api/v1/users", json={"name": "Bad Name!"})
    doc = _problem(response, 422)
    assert doc["field"] == "name"
    assert "lower-case letters" in doc["detail"]


def test_missing_body_is_422(hub: HubHandle) -> None:
    with hub.http() as http:
        response = http.post("/api/v1/orgs")
    assert _problem(response, 422)["field"] == "body"


def test_oversized_body_by_content_length_is_413(hub: HubHandle) -> None:
    limit = hub.settings.max_body_bytes
    with hub.http() as http:
        response = http.post(
            "/api/v1/orgs", content=b"x" * (limit + 1), headers={"content-type": "application/json"}
        )
    doc = _problem(response, 413)
    assert doc["max_bytes"] == limit


def test_oversized_chunked_body_is_413(hub: HubHandle) -> None:
    limit = hub.settings.max_body_bytes

    def chunks():  # no Content-Length: the hub has to count
        for _ in range(limit // 65536 + 2):
            yield b"x" * 65536

    with hub.http() as http:
        response = http.post(
            "/api/v1/orgs", content=chunks(), headers={"content-type": "application/json"}
        )
    _problem(response, 413)


def test_missing_token_is_401_with_a_challenge(hub: HubHandle) -> None:
    response = httpx.get(hub.url + "/api/v1/me")
    doc = _problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "zslab token create" in doc["fix"]


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "zsl_no_scheme"])
def test_malformed_authorization_header_is_401(hub: HubHandle, header: str) -> None:
    response = httpx.get(hub.url + "/api/v1/me", headers={"Authorization": header})
    _problem(response, 401)


def test_unknown_route_is_a_404_problem(hub: HubHandle) -> None:
    with hub.http() as http:
        doc = _problem(http.get("/api/v1/nothing-here"), 404)
    assert "/api/v1/docs" in doc["fix"]


def test_wrong_method_is_a_405_problem_with_allow(hub: HubHandle) -> None:
    with hub.http() as http:
        response = http.delete("/api/v1/users")
    doc = _problem(response, 405)
    assert "GET" in response.headers["allow"]
    assert "POST" in doc["fix"]


def test_unknown_object_is_404_naming_what_was_missing(hub: HubHandle) -> None:
    with hub.http() as http:
        doc = _problem(http.get("/api/v1/users/nobody"), 404)
    assert "nobody" in doc["detail"]


def test_problem_types_are_described_by_the_hub(hub: HubHandle) -> None:
    with hub.http() as http:
        described = http.get("/api/v1/problems/invalid-input").json()
    assert described["status"] == 422


def test_garbage_on_the_socket_does_not_hurt_the_hub(hub: HubHandle) -> None:
    host, port = hub.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        raw.sendall(b"\x00\xff NOT HTTP \r\n\r\n")
        raw.recv(1024)
    assert httpx.get(hub.url + "/api/v1/health").status_code == 200


def test_anonymous_bad_input_gets_401_not_a_schema_lesson(hub: HubHandle) -> None:
    response = httpx.post(hub.url + "/api/v1/orgs", json={"nonsense": True})
    _problem(response, 401)
