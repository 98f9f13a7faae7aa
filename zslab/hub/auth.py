"""API tokens: generation, hashing, and turning an ``Authorization`` header into an identity.

Tokens are 256-bit random secrets (``zsl_…``). The hub stores only their SHA-256: a slow
password hash buys nothing for secrets with this much entropy (GitHub and PyPI do the same),
and it keeps authentication to one indexed lookup.

That lookup is cached in memory for ``ZSLAB_AUTH_CACHE_S`` seconds (default 5), so most requests
authenticate without touching the database. A token revoked, or a user changed, through this
hub is dropped from its cache at once; other hub replicas on the same database notice within
the cache lifetime. Expiry is checked on every request.
"""

from __future__ import annotations

import hashlib
import itertools
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from zslab.errors import Forbidden, Unauthenticated
from zslab.hub.db.orm import Organization, OrgMember, Project, ProjectMember, Token, User, utcnow
from zslab.schemas import TokenRead, UserRead

__all__ = [
    "TOKEN_PREFIX",
    "Identity",
    "IdentityCache",
    "Principal",
    "authenticate",
    "generate_secret",
    "hash_secret",
    "token_hash_from_header",
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


@dataclass(frozen=True, slots=True)
class Identity:
    """What authentication found: the principal, and the user and token as they were read."""

    principal: Principal
    user: UserRead
    token: TokenRead

    def check_expiry(self) -> None:
        token = self.token
        if token.expires_at is not None and token.expires_at <= utcnow():
            raise Unauthenticated(
                f"Token {token.id} ({token.name!r}) expired at "
                f"{token.expires_at:%Y-%m-%d %H:%M} UTC.",
                fix="Create a new token with `zslab token create`.",
            )


def token_hash_from_header(header: str | None) -> str:
    """The SHA-256 of the token in an ``Authorization`` header (no database needed)."""
    return hash_secret(_parse_header(header))


def authenticate(session: Session, token_hash: str) -> Identity:
    """The identity of the token with this hash, or :class:`Unauthenticated`."""
    row = session.execute(
        select(Token, User)
        .join(User, Token.user_id == User.id)
        .where(Token.token_hash == token_hash)
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
    if user.disabled:
        raise Unauthenticated(
            f"The account {user.name!r} is disabled.", fix="Ask an admin of this hub to enable it."
        )
    principal = Principal(
        user_id=user.id,
        user_name=user.name,
        role=user.role,
        token_id=token.id,
        scopes=frozenset(token.scopes),
    )
    identity = Identity(principal, UserRead.model_validate(user), TokenRead.model_validate(token))
    identity.check_expiry()
    return identity


class IdentityCache:
    """Identities by token hash, each kept ``ttl_s`` seconds; thread-safe.

    Also remembers when each token's use was last written to the database, so ``last_used_at``
    costs one write per token per minute rather than one per request.
    """

    def __init__(self, ttl_s: float, *, max_entries: int = 10_000) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._entries: dict[str, tuple[float, Identity]] = {}
        self._touched: dict[str, float] = {}
        self._lock = threading.Lock()

    def get(self, token_hash: str) -> Identity | None:
        if self.ttl_s <= 0:
            return None
        with self._lock:
            entry = self._entries.get(token_hash)
            if entry is None:
                return None
            if time.monotonic() - entry[0] > self.ttl_s:
                del self._entries[token_hash]
                return None
            return entry[1]

    def put(self, token_hash: str, identity: Identity) -> None:
        if self.ttl_s <= 0:
            return
        with self._lock:
            if len(self._entries) >= self.max_entries:
                oldest = next(iter(self._entries))
                del self._entries[oldest]
            self._entries[token_hash] = (time.monotonic(), identity)

    def forget(self, *, token_id: str | None = None, user_id: str | None = None) -> None:
        """Drop cached identities of a token or of every token of a user."""
        with self._lock:
            stale = [
                key
                for key, (_, identity) in self._entries.items()
                if identity.principal.token_id == token_id or identity.principal.user_id == user_id
            ]
            for key in stale:
                del self._entries[key]

    def touch_due(self, token_id: str, *, every_s: float = 60.0) -> bool:
        """Whether this token's use should be written now (then not again for ``every_s``)."""
        now = time.monotonic()
        with self._lock:
            last = self._touched.get(token_id)
            if last is not None and now - last < every_s:
                return False
            if len(self._touched) >= self.max_entries:
                self._touched.clear()
            self._touched[token_id] = now
            return True


class MembershipCache:
    """Which project a user's request counts against, by (user, project reference); kept
    ``ttl_s`` seconds and dropped at once when this process writes any membership, project or
    organization (other hubs' changes show within ``ttl_s``). Thread-safe."""

    def __init__(self, ttl_s: float, *, max_entries: int = 10_000) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._entries: dict[tuple[str, str | None], tuple[float, int, tuple[str, str]]] = {}
        self._lock = threading.Lock()

    def get(self, user_id: str, ref: str | None) -> tuple[str, str] | None:
        if self.ttl_s <= 0:
            return None
        with self._lock:
            entry = self._entries.get((user_id, ref))
            if entry is None:
                return None
            if time.monotonic() - entry[0] > self.ttl_s or entry[1] != membership_version():
                del self._entries[(user_id, ref)]
                return None
            return entry[2]

    def put(self, user_id: str, ref: str | None, value: tuple[str, str], version: int) -> None:
        """Remember ``value``, read when the membership version was ``version``."""
        if self.ttl_s <= 0:
            return
        with self._lock:
            if len(self._entries) >= self.max_entries:
                del self._entries[next(iter(self._entries))]
            self._entries[(user_id, ref)] = (time.monotonic(), version, value)


_membership_version = itertools.count(1)
_current_version = 0


def membership_version() -> int:
    """Bumped after every flush that touches users, organizations, projects or memberships."""
    return _current_version


def _bump_membership_version() -> None:
    global _current_version
    _current_version = next(_membership_version)


_MEMBERSHIP_TYPES = (User, Organization, OrgMember, Project, ProjectMember)


@event.listens_for(Session, "after_flush")
def _note_membership_change(session: Session, _context: Any) -> None:
    if any(
        isinstance(obj, _MEMBERSHIP_TYPES)
        for obj in itertools.chain(session.new, session.dirty, session.deleted)
    ):
        session.info["zslab_membership_changed"] = True


@event.listens_for(Session, "after_commit")
def _publish_membership_change(session: Session) -> None:
    if session.info.pop("zslab_membership_changed", False):
        _bump_membership_version()


@event.listens_for(Session, "after_rollback")
def _forget_membership_change(session: Session) -> None:
    session.info.pop("zslab_membership_changed", None)
