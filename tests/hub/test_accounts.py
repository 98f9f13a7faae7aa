"""The hub's accounts API over real HTTP, on SQLite and on PostgreSQL."""

from __future__ import annotations

import hashlib
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, text, update

import zslab
from tests.conftest import HubHandle, member_lab
from zslab.client import Lab
from zslab.hub.db.orm import Token, utcnow


def test_health_needs_no_token_and_reports_the_database(hub: HubHandle) -> None:
    health = Lab(hub.url).health()
    assert health.status == "ok"
    assert health.database["ok"] is True
    assert health.database["dialect"] == hub.db.dialect


def test_openapi_is_served_under_api_v1(hub: HubHandle) -> None:
    with hub.http() as http:
        spec = http.get("/api/v1/openapi.json").json()
    assert spec["info"]["title"] == "zslab hub"
    assert {"/api/v1/users", "/api/v1/projects", "/api/v1/audit", "/api/v1/health"} <= set(
        spec["paths"]
    )


def test_me_names_the_user_and_token(admin: Lab) -> None:
    me = admin.me()
    assert me.user.role == "admin"
    assert set(me.token.scopes) == {"admin", "read", "write"}


def test_admin_adds_a_user_who_can_then_act(hub: HubHandle, admin: Lab) -> None:
    alice = member_lab(hub, admin, "alice")
    me = alice.me()
    assert me.user.name == "alice"
    assert me.user.role == "member"


def test_user_name_must_be_unique(admin: Lab) -> None:
    admin.users.add("bob")
    with pytest.raises(zslab.Conflict) as caught:
        admin.users.add("bob")
    assert caught.value.field == "name"


def test_last_admin_cannot_be_demoted(admin: Lab) -> None:
    with pytest.raises(zslab.Conflict) as caught:
        admin.users.update("admin", role="member")
    assert "last active admin" in caught.value.detail


def test_member_may_edit_own_display_name_but_not_own_role(hub: HubHandle, admin: Lab) -> None:
    carol = member_lab(hub, admin, "carol")
    assert carol.users.update("carol", display_name="Carol C.").display_name == "Carol C."
    with pytest.raises(zslab.Forbidden):
        carol.users.update("carol", role="admin")


def test_org_and_project_lifecycle(admin: Lab) -> None:
    org = admin.orgs.add("acme", name="ACME 智算")
    project = admin.projects.add("acme", "nlp", description="课程项目")
    assert project.org_id == org.id
    assert admin.projects.get("acme/nlp").id == project.id
    assert admin.projects.get(project.id).description == "课程项目"
    renamed = admin.projects.update("acme/nlp", name="NLP course")
    assert renamed.name == "NLP course"


def test_project_slug_is_unique_within_its_org(admin: Lab) -> None:
    admin.orgs.add("acme")
    admin.orgs.add("globex")
    admin.projects.add("acme", "nlp")
    admin.projects.add("globex", "nlp")  # same slug, other org: fine
    with pytest.raises(zslab.Conflict) as caught:
        admin.projects.add("acme", "nlp")
    assert caught.value.field == "slug"


def test_members_see_only_their_projects(hub: HubHandle, admin: Lab) -> None:
    admin.orgs.add("acme")
    admin.projects.add("acme", "mine")
    hidden = admin.projects.add("acme", "theirs")
    dave = member_lab(hub, admin, "dave")
    admin.projects.add_member("acme/mine", "dave")
    assert [p.slug for p in dave.projects.list()] == ["mine"]
    with pytest.raises(zslab.NotFound):
        dave.projects.get(hidden.id)


def test_project_maintainer_manages_members_but_member_cannot(hub: HubHandle, admin: Lab) -> None:
    admin.orgs.add("acme")
    admin.projects.add("acme", "course")
    teacher = member_lab(hub, admin, "teacher")
    student = member_lab(hub, admin, "student")
    admin.users.add("student2")
    admin.projects.add_member("acme/course", "teacher", role="maintainer")
    admin.projects.add_member("acme/course", "student")
    teacher.projects.add_member("acme/course", "student2")
    with pytest.raises(zslab.Forbidden):
        student.projects.add_member("acme/course", "teacher", role="member")
    names = {m.user_name: m.role for m in admin.projects.members("acme/course")}
    assert names == {
        "admin": "maintainer",
        "teacher": "maintainer",
        "student": "member",
        "student2": "member",
    }


def test_org_owner_creates_projects_member_cannot(hub: HubHandle, admin: Lab) -> None:
    admin.orgs.add("acme")
    owner = member_lab(hub, admin, "olivia")
    plain = member_lab(hub, admin, "pete")
    admin.orgs.add_member("acme", "olivia", role="owner")
    admin.orgs.add_member("acme", "pete")
    assert owner.projects.add("acme", "vision").slug == "vision"
    with pytest.raises(zslab.Forbidden):
        plain.projects.add("acme", "rogue")


def test_last_org_owner_cannot_be_removed(admin: Lab) -> None:
    admin.orgs.add("acme")
    with pytest.raises(zslab.Conflict):
        admin.orgs.remove_member("acme", "admin")


def test_member_calling_admin_route_gets_403(hub: HubHandle, admin: Lab) -> None:
    eve = member_lab(hub, admin, "eve")
    with pytest.raises(zslab.Forbidden) as caught:
        eve.users.list()
    assert "Only admins" in caught.value.detail
    with pytest.raises(zslab.Forbidden):
        eve.audit.list()
    with pytest.raises(zslab.Forbidden):
        eve.orgs.add("evil")


# --- tokens -------------------------------------------------------------------------------


def test_tokens_are_stored_hashed(hub: HubHandle, admin: Lab) -> None:
    created = admin.tokens.create("ci")
    assert created.secret is not None and created.secret.startswith("zsl_")
    with hub.db.engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM tokens")).all()
    dumped = repr(rows)
    assert created.secret not in dumped
    assert hashlib.sha256(created.secret.encode()).hexdigest() in dumped


def test_revoked_token_is_refused(hub: HubHandle, admin: Lab) -> None:
    created = admin.tokens.create("temp")
    assert created.secret
    other = hub.lab(created.secret)
    assert other.me().token.id == created.id
    admin.tokens.revoke(created.id)
    with pytest.raises(zslab.Unauthenticated) as caught:
        other.me()
    assert "revoked" in caught.value.detail


def test_expired_token_is_refused(hub: HubHandle, admin: Lab) -> None:
    created = admin.tokens.create("short", expires_in_days=1)
    assert created.secret
    with hub.db.write_session() as session:
        session.execute(
            update(Token)
            .where(Token.id == created.id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        session.commit()
    with pytest.raises(zslab.Unauthenticated) as caught:
        hub.lab(created.secret).me()
    assert "expired" in caught.value.detail


def test_unknown_token_is_refused(hub: HubHandle) -> None:
    with pytest.raises(zslab.Unauthenticated) as caught:
        hub.lab("zsl_not-a-real-token").me()
    assert "not known" in caught.value.detail


def test_read_only_token_cannot_write(hub: HubHandle, admin: Lab) -> None:
    reader = member_lab(hub, admin, "reader", scopes=("read",))
    assert reader.me().user.name == "reader"
    with pytest.raises(zslab.Forbidden) as caught:
        reader.tokens.create("more")
    assert caught.value.field == "scopes"


def test_member_cannot_hold_admin_scope(hub: HubHandle, admin: Lab) -> None:
    admin.users.add("frank")
    with pytest.raises(zslab.Forbidden) as caught:
        admin.tokens.create("x", user="frank", scopes=["read", "admin"])
    assert caught.value.field == "scopes"


def test_token_cannot_grant_more_than_its_creator_holds(hub: HubHandle, admin: Lab) -> None:
    writer = admin.tokens.create("rw", scopes=["read", "write"])
    assert writer.secret
    with pytest.raises(zslab.Forbidden) as caught:
        hub.lab(writer.secret).tokens.create("escalate", scopes=["read", "write", "admin"])
    assert "admin" in caught.value.detail


def test_token_expiry_above_the_hub_maximum_is_refused(admin: Lab) -> None:
    with pytest.raises(zslab.InvalidInput) as caught:
        admin.tokens.create("forever", expires_in_days=10_000)
    assert caught.value.field == "expires_in_days"


def test_token_use_is_recorded(hub: HubHandle, admin: Lab) -> None:
    created = admin.tokens.create("tracked")
    assert created.secret
    hub.lab(created.secret).me()
    with hub.db.read_session() as session:
        used = session.scalar(select(Token.last_used_at).where(Token.id == created.id))
    assert used is not None


def test_token_list_shows_only_own_tokens_and_hides_revoked(hub: HubHandle, admin: Lab) -> None:
    grace = member_lab(hub, admin, "grace")
    extra = grace.tokens.create("second")
    grace.tokens.revoke(extra.id)
    names = [t.name for t in grace.tokens.list()]
    assert names == ["grace-token"]
    assert {t.name for t in grace.tokens.list(include_revoked=True)} == {"grace-token", "second"}


# --- pagination ------------------------------------------------------------------------------


def test_cursor_pagination_walks_every_item_once(admin: Lab) -> None:
    for i in range(7):
        admin.users.add(f"user{i}")
    first = admin.call("GET", "/users", params={"limit": 3})
    assert len(first["items"]) == 3 and first["next_cursor"]
    everyone = admin.users.list()
    assert len(everyone) == 8  # seven plus admin
    assert len({u.id for u in everyone}) == 8


def test_a_forged_cursor_is_refused_naming_the_field(admin: Lab) -> None:
    with pytest.raises(zslab.InvalidInput) as caught:
        admin.call("GET", "/users", params={"cursor": "not-a-cursor!"})
    assert caught.value.field == "cursor"


def test_disabling_a_user_locks_them_out_at_once(hub: HubHandle, admin: Lab) -> None:
    kim = member_lab(hub, admin, "kim")
    assert kim.me().user.name == "kim"  # now cached by the hub
    admin.users.update("kim", disabled=True)
    with pytest.raises(zslab.Unauthenticated) as caught:
        kim.me()
    assert "disabled" in caught.value.detail


def test_a_cached_token_still_expires_on_time(hub: HubHandle, admin: Lab) -> None:
    created = admin.tokens.create("brief", expires_in_days=1)
    assert created.secret
    with hub.db.write_session() as session:
        session.execute(
            update(Token)
            .where(Token.id == created.id)
            .values(expires_at=utcnow() + timedelta(seconds=1))
        )
        session.commit()
    brief = hub.lab(created.secret)
    assert brief.me().token.id == created.id  # authenticated, and cached
    time.sleep(1.2)
    with pytest.raises(zslab.Unauthenticated) as caught:
        brief.me()
    assert "expired" in caught.value.detail


def test_a_revocation_by_another_replica_is_noticed_within_the_cache_lifetime(
    hub: HubHandle, admin: Lab
) -> None:
    created = admin.tokens.create("replicated")
    assert created.secret
    other = hub.lab(created.secret)
    other.me()
    with hub.db.write_session() as session:  # what another hub on the same database does
        session.execute(update(Token).where(Token.id == created.id).values(revoked_at=utcnow()))
        session.commit()
    deadline = time.monotonic() + hub.settings.auth_cache_s + 2
    refused = False
    while time.monotonic() < deadline and not refused:
        try:
            other.me()
            time.sleep(0.2)
        except zslab.Unauthenticated:
            refused = True
    assert refused


def test_removing_a_member_is_audited_against_the_user(admin: Lab) -> None:
    admin.orgs.add("acme")
    admin.projects.add("acme", "course")
    leaver = admin.users.add("leaver")
    admin.projects.add_member("acme/course", "leaver")
    admin.projects.remove_member("acme/course", "leaver")
    assert "leaver" not in {m.user_name for m in admin.projects.members("acme/course")}
    [event] = admin.audit.list(action="project.member.remove", limit=1)
    assert (event.object_id, event.object_type, event.status) == (leaver.id, "user", 204)
