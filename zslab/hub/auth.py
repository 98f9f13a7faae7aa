"""API tokens: generation, hashing, and turning an ``Authorization`` header into a principal.

Tokens are 256-bit random secrets (``zsl_…``). The hub stores only their SHA-256: a slow
password hash buys nothing for secrets with this much entropy (GitHub and PyPI do the same),
and it keeps authentication to one indexed lookup.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from zslab.errors import Forbidden, Unauthenticated
from zslab.hub.db.orm import Token, User, utcnow

__all__ = [
    "TOKEN_PREFIX",
    "Principal",
    "authenticate",
    "generate_secret",
    "hash_secret",
]

TOKEN_PREFIX = "zsl_"
SCOPES = ("read", "write", "admin")
_CREATE_HINT = (
    "Send 'Authorization: Bearer <token>'. Create a token with `zslab token create`; the "
    "embedded hub's admin token is in $ZSLAB_HOME/runtime.json."
)


def generate_secret() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def display_prefix(secret: str) -> str:
    """The part of a secret safe to show in listings (``zsl_AbCd``)."""
    return secret[: len(TOKEN_PREFIX) + 4]


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a user, through one token with some scopes."""

    user_id: str
    user_name: str
    role: str
    token_id: str
    scopes: frozenset[str]
    token_last_used: datetime | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin" and "admin" in self.scopes

    def require_scope(self, scope: str) -> None:
        if scope not in self.scopes:
            raise Forbidden(
                f"This call needs a token with the {scope!r} scope; token {self.token_id} has "
                f"{sorted(self.scopes)}.",
                field="scopes",
                fix=f"Create a token with that scope: `zslab token create --scopes read,{scope}`.",
            )

    def require_admin(self, what: str) -> None:
        if self.role != "admin":
            raise Forbidden(
                f"Only admins can {what}; you are {self.user_name!r} ({self.role}).",
                fix="Ask an admin of this hub to do it, or to make you an admin.",
            )
        self.require_scope("admin")


def _parse_header(header: str | None) -> str:
    if not header:
        raise Unauthenticated("This call needs an API token.", fix=_CREATE_HINT)
    scheme, _, secret = header.strip().partition(" ")
    if scheme.lower() not in {"bearer", "token"} or not secret.strip():
        raise Unauthenticated(
            "The Authorization header must look like 'Bearer <token>'.", fix=_CREATE_HINT
        )
    return secret.strip()


def authenticate(session: Session, header: str | None) -> Principal:
    """The principal behind an ``Authorization`` header, or :class:`Unauthenticated`."""
    secret = _parse_header(header)
    row = session.execute(
        select(Token, User)
        .join(User, Token.user_id == User.id)
        .where(Token.token_hash == hash_secret(secret))
    ).one_or_none()
    if row is None:
        raise Unauthenticated(
            "The token is not known to this hub (mistyped, or issued by another hub).",
            fix=_CREATE_HINT,
        )
    token, user = row
    if token.revoked_at is not None:
        raise Unauthenticated(
            f"Token {token.id} ({token.name!r}) was revoked at {token.revoked_at:%Y-%m-%d %H:%M} "
            "UTC.",
            fix="Create a new token with `zslab token create`.",
        )
    if token.expires_at is not None and token.expires_at <= utcnow():
        raise Unauthenticated(
            f"Token {token.id} ({token.name!r}) expired at {token.expires_at:%Y-%m-%d %H:%M} UTC.",
            fix="Create a new token with `zslab token create`.",
        )
    if user.disabled:
        raise Unauthenticated(
            f"The account {user.name!r} is disabled.", fix="Ask an admin of this hub to enable it."
        )
    return Principal(
        user_id=user.id,
        user_name=user.name,
        role=user.role,
        token_id=token.id,
        scopes=frozenset(token.scopes),
        token_last_used=token.last_used_at,
    )
