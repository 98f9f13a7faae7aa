"""First-start and startup chores: make sure an admin exists, issue the runtime token."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update

from zslab.hub.accounts import issue_token
from zslab.hub.db.engine import Database
from zslab.hub.db.orm import AuditEvent, Token, User, utcnow
from zslab.ids import new_id

__all__ = ["Bootstrap", "ensure_admin", "issue_runtime_token", "revoke_runtime_tokens"]

ALL_SCOPES = ["admin", "read", "write"]


@dataclass(frozen=True)
class Bootstrap:
    admin_name: str
    created: bool
    secret: str | None  # set only when a bootstrap token was created now


def _system_event(action: str, object_id: str, detail: str) -> AuditEvent:
    return AuditEvent(
        at=utcnow(),
        actor_name="system",
        action=action,
        object_type="token" if object_id.startswith("tok_") else "user",
        object_id=object_id,
        method="SYSTEM",
        path="-",
        status=201,
        outcome="success",
        request_id="startup",
        detail=detail,
    )


def ensure_admin(db: Database, *, secret: str | None = None, name: str = "admin") -> Bootstrap:
    """Create the first admin (and a token for it) when the hub has none."""
    with db.write_session() as session:
        admin = session.scalars(
            select(User).where(User.role == "admin").order_by(User.created_at)
        ).first()
        if admin is not None:
            return Bootstrap(admin_name=admin.name, created=False, secret=None)
        admin = User(id=new_id("usr"), name=name, display_name="Administrator", role="admin")
        session.add(admin)
        session.flush()
        token, secret = issue_token(
            session,
            admin,
            name="bootstrap",
            scopes=ALL_SCOPES,
            days=None,
            kind="bootstrap",
            secret=secret,
        )
        session.add(_system_event("user.create", admin.id, "first admin"))
        session.add(_system_event("token.create", token.id, "bootstrap token of the first admin"))
        session.commit()
        return Bootstrap(admin_name=admin.name, created=True, secret=secret)


def issue_runtime_token(db: Database) -> str:
    """A fresh admin token for the runtime file; earlier runtime tokens are revoked."""
    with db.write_session() as session:
        admin = session.scalars(
            select(User).where(User.role == "admin", ~User.disabled).order_by(User.created_at)
        ).first()
        if admin is None:
            raise RuntimeError("ensure_admin() must run first")
        session.execute(
            update(Token)
            .where(Token.kind == "runtime", Token.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
        token, secret = issue_token(
            session, admin, name="zslab up", scopes=ALL_SCOPES, days=None, kind="runtime"
        )
        session.add(_system_event("token.create", token.id, "runtime token of `zslab up`"))
        session.commit()
        return secret


def revoke_runtime_tokens(db: Database) -> None:
    with db.write_session() as session:
        session.execute(
            update(Token)
            .where(Token.kind == "runtime", Token.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
        session.commit()
