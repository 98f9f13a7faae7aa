"""Every mutating call lands in the audit log: who, what, which object, when, where, outcome."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

import zslab
from tests.conftest import HubHandle, member_lab
from zslab.client import Lab


def test_a_successful_create_is_audited_with_actor_object_and_address(
    hub: HubHandle, admin: Lab
) -> None:
    project_org = admin.orgs.add("acme")
    [event] = admin.audit.list(action="org.create", limit=1)
    assert event.actor_name == "admin"
    assert event.object_id == project_org.id
    assert event.object_type == "organization"
    assert event.client_addr == "127.0.0.1"
    assert (event.status, event.outcome) == (201, "success")
    assert event.method == "POST" and event.path == "/api/v1/orgs"
    assert abs(event.at - datetime.now(UTC)) < timedelta(minutes=1)


def test_refused_calls_are_audited_with_their_outcome(hub: HubHandle, admin: Lab) -> None:
    mallory = member_lab(hub, admin, "mallory")
    with pytest.raises(zslab.Forbidden):
        mallory.orgs.add("takeover")
    httpx.post(hub.url + "/api/v1/orgs", json={"slug": "anon"})  # no token
    with hub.http() as http:
        http.post("/api/v1/orgs", json={"slug": "BAD"})
    events = admin.audit.list(action="org.create")
    outcomes = [(e.actor_name, e.status, e.outcome) for e in events]
    assert ("mallory", 403, "denied") in outcomes
    assert (None, 401, "denied") in outcomes
    assert ("admin", 422, "invalid") in outcomes
    denied = next(e for e in events if e.actor_name == "mallory")
    assert "Only admins" in (denied.detail or "")


def test_reads_are_not_audited(hub: HubHandle, admin: Lab) -> None:
    before = len(admin.audit.list(limit=None))
    admin.users.list()
    admin.me()
    assert len(admin.audit.list(limit=None)) == before


def test_audit_filters_and_newest_first(hub: HubHandle, admin: Lab) -> None:
    admin.users.add("u1")
    admin.users.add("u2")
    events = admin.audit.list(action="user.create", outcome="success")
    created = [e for e in events if e.actor_name == "admin"]
    assert [e.id for e in created] == sorted((e.id for e in created), reverse=True)
    future = admin.audit.list(since=datetime.now(UTC) + timedelta(hours=1))
    assert future == []


def test_audit_request_id_matches_the_response_header(hub: HubHandle, admin: Lab) -> None:
    with hub.http() as http:
        response = http.post("/api/v1/orgs", json={"slug": "traced"})
    [event] = admin.audit.list(object_id=response.json()["id"])
    assert event.request_id == response.headers["x-request-id"]


def test_a_client_request_id_is_kept(hub: HubHandle, admin: Lab) -> None:
    with hub.http() as http:
        response = http.post(
            "/api/v1/orgs", json={"slug": "mine"}, headers={"X-Request-ID": "client-abc-123"}
        )
    assert response.headers["x-request-id"] == "client-abc-123"
    [event] = admin.audit.list(object_id=response.json()["id"])
    assert event.request_id == "client-abc-123"
