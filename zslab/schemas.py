"""The hub's API schemas, shared by the hub (request validation, OpenAPI) and the SDK (typed
results). ``XCreate`` / ``XUpdate`` are what a client sends and reject unknown fields;
``XRead`` is what the hub returns and ignores fields a newer hub may add.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

__all__ = [
    "AuditEventRead",
    "Health",
    "Me",
    "OrgCreate",
    "OrgMemberAdd",
    "OrgMemberRead",
    "OrgRead",
    "Page",
    "ProjectCreate",
    "ProjectMemberAdd",
    "ProjectMemberRead",
    "ProjectRead",
    "ProjectUpdate",
    "Role",
    "Scope",
    "TokenCreate",
    "TokenCreated",
    "TokenRead",
    "UserCreate",
    "UserRead",
    "UserUpdate",
]

Role = Literal["admin", "reviewer", "member"]
Scope = Literal["read", "write", "admin"]
OrgRole = Literal["owner", "member"]
ProjectRole = Literal["maintainer", "member"]

_SLUG = re.compile(r"^[a-z][a-z0-9._-]{1,62}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _check_slug(value: str) -> str:
    if not _SLUG.match(value):
        raise ValueError(
            "use 2-63 characters: lower-case letters, digits, '-', '_' or '.', "
            "starting with a letter (e.g. 'alice' or 'nlp-course')"
        )
    return value


def _check_email(value: str | None) -> str | None:
    if value is not None and not _EMAIL.match(value):
        raise ValueError("give an e-mail address such as 'alice@example.org'")
    return value


Slug = Annotated[str, AfterValidator(_check_slug)]
Email = Annotated[str | None, AfterValidator(_check_email)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class _Output(BaseModel):
    model_config = ConfigDict(extra="ignore", from_attributes=True)


T = TypeVar("T")


class Page(_Output, Generic[T]):
    """One page of a listing; pass ``next_cursor`` as ``cursor`` to get the next one."""

    items: list[T]
    next_cursor: str | None = None


# --- users -------------------------------------------------------------------------------


class UserCreate(_Input):
    name: Slug = Field(description="Login handle, unique.")
    display_name: str = Field(default="", max_length=200)
    email: Email = None
    role: Role = "member"


class UserUpdate(_Input):
    display_name: str | None = Field(default=None, max_length=200)
    email: Email = None
    role: Role | None = None
    disabled: bool | None = None


class UserRead(_Output):
    id: str
    name: str
    display_name: str
    email: str | None
    role: Role
    disabled: bool
    created_at: datetime


# --- tokens ------------------------------------------------------------------------------


def _default_scopes() -> list[Scope]:
    return ["read", "write"]


class TokenCreate(_Input):
    name: str = Field(default="api", min_length=1, max_length=100)
    scopes: list[Scope] = Field(default_factory=lambda: _default_scopes(), min_length=1)
    expires_in_days: int | None = Field(
        default=None, ge=1, description="Days until expiry; the hub's default when omitted."
    )
    user: str | None = Field(
        default=None, description="Create the token for this user (name or id); admins only."
    )


class TokenRead(_Output):
    id: str
    user_id: str
    name: str
    prefix: str
    scopes: list[Scope]
    kind: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class TokenCreated(TokenRead):
    secret: str | None = Field(
        description="The token itself. Shown once; null when this response is a replay."
    )


class Me(_Output):
    user: UserRead
    token: TokenRead


# --- organizations and projects ---------------------------------------------------------


class OrgCreate(_Input):
    slug: Slug
    name: str = Field(default="", max_length=200)


class OrgRead(_Output):
    id: str
    slug: str
    name: str
    created_at: datetime


class OrgMemberAdd(_Input):
    user: str = Field(min_length=1, description="User name or id.")
    role: OrgRole = "member"


class OrgMemberRead(_Output):
    user_id: str
    user_name: str
    role: OrgRole
    created_at: datetime


class ProjectCreate(_Input):
    org: str = Field(min_length=1, description="Organization slug or id.")
    slug: Slug
    name: str = Field(default="", max_length=200)
    description: str = Field(default="", max_length=10_000)


class ProjectUpdate(_Input):
    name: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)


class ProjectRead(_Output):
    id: str
    org_id: str
    org_slug: str
    slug: str
    name: str
    description: str
    created_at: datetime


class ProjectMemberAdd(_Input):
    user: str = Field(min_length=1, description="User name or id.")
    role: ProjectRole = "member"


class ProjectMemberRead(_Output):
    user_id: str
    user_name: str
    role: ProjectRole
    created_at: datetime


# --- audit and health --------------------------------------------------------------------


class AuditEventRead(_Output):
    id: int
    at: datetime
    actor_id: str | None
    actor_name: str | None
    token_id: str | None
    action: str
    object_type: str | None
    object_id: str | None
    method: str
    path: str
    client_addr: str | None
    status: int
    outcome: str
    request_id: str
    detail: str | None


class Health(_Output):
    status: Literal["ok", "degraded"]
    version: str
    database: dict[str, Any]
    uptime_s: float
    time: datetime
