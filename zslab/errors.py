"""The zslab error tree, shared by the hub and the SDK.

The hub raises these in its handlers and renders them as RFC 9457 ``application/problem+json``;
the SDK turns a problem response back into the same class, so ``except zslab.NotFound`` works the
same whether the code runs inside the hub or talks to it over HTTP::

    ZslabError
    ├── ConfigError               local settings or files are wrong (no HTTP involved)
    ├── HubUnavailable            no hub answers at the configured URL (stale runtime file, down)
    └── ApiError                  the hub answered with a problem (status code attached)
        ├── BadRequest            400  malformed request (e.g. the body is not JSON)
        ├── Unauthenticated       401  missing, unknown, expired or revoked token
        ├── Forbidden             403  authenticated, but role or token scope does not allow it
        ├── NotFound              404
        ├── Conflict              409  name taken, Idempotency-Key reused for another request
        ├── PayloadTooLarge       413
        ├── InvalidInput          422  a field is wrong: ``errors`` names each field and the fix
        ├── StorageUnavailable    503  the database is locked or read-only; nothing was written
        └── ServerError           500  a bug in the hub; the message carries the request id

Every error carries a message a user can act on; ``field`` and ``fix`` are set where one field
is to blame.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "ApiError",
    "BadRequest",
    "ConfigError",
    "Conflict",
    "FieldError",
    "Forbidden",
    "HubUnavailable",
    "InvalidInput",
    "NotFound",
    "PayloadTooLarge",
    "ServerError",
    "StorageUnavailable",
    "Unauthenticated",
    "ZslabError",
    "error_class_for",
]

FieldError = dict[str, Any]
"""One entry of ``InvalidInput.errors``: ``{"field": "name", "message": "...", "type": "..."}``."""


class ZslabError(Exception):
    """Base of every error zslab raises on purpose."""

    status: ClassVar[int | None] = None
    slug: ClassVar[str] = "error"
    title: ClassVar[str] = "zslab error"

    def __init__(
        self,
        detail: str,
        *,
        field: str | None = None,
        fix: str | None = None,
        errors: list[FieldError] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.fix = fix
        self.errors = errors or []
        self.extra = extra

    def __str__(self) -> str:
        text = self.detail
        if self.fix and self.fix not in text:
            text = f"{text} Fix: {self.fix}"
        return text


class ConfigError(ZslabError):
    """A local setting, environment variable or file is wrong."""

    slug = "config-error"
    title = "Configuration error"


class HubUnavailable(ZslabError):
    """No hub answered: it is not running, or a runtime file points at one that stopped."""

    slug = "hub-unavailable"
    title = "Hub unavailable"


class ApiError(ZslabError):
    """The hub answered with a problem document."""

    status: ClassVar[int | None] = 500
    slug = "api-error"
    title = "Request failed"

    def __init__(
        self,
        detail: str,
        *,
        field: str | None = None,
        fix: str | None = None,
        errors: list[FieldError] | None = None,
        request_id: str | None = None,
        status: int | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail, field=field, fix=fix, errors=errors, **extra)
        self.request_id = request_id
        if status is not None:
            self.status_code = status
        else:
            self.status_code = type(self).status or 500


class BadRequest(ApiError):
    """The request is malformed: its body is not JSON, or not what the route reads."""

    status = 400
    slug = "bad-request"
    title = "Bad request"


class Unauthenticated(ApiError):
    """No token, or a token that is unknown, expired or revoked, or whose account is disabled."""

    status = 401
    slug = "unauthenticated"
    title = "Authentication required"


class Forbidden(ApiError):
    """The caller is known, but their role or the token's scopes do not allow this call."""

    status = 403
    slug = "forbidden"
    title = "Not allowed"


class NotFound(ApiError):
    """No such route or object, or one the caller may not see."""

    status = 404
    slug = "not-found"
    title = "Not found"


class Conflict(ApiError):
    """The call contradicts the current state: a name is taken, a key was reused…"""

    status = 409
    slug = "conflict"
    title = "Conflict"


class PayloadTooLarge(ApiError):
    """The request body is over the hub's limit (ZSLAB_MAX_BODY_BYTES)."""

    status = 413
    slug = "payload-too-large"
    title = "Request body too large"


class InvalidInput(ApiError):
    """One or more fields are wrong; ``errors`` names each field, where it was and why."""

    status = 422
    slug = "invalid-input"
    title = "Invalid input"


class StorageUnavailable(ApiError):
    """The hub's database is locked, read-only or unreachable; nothing was written."""

    status = 503
    slug = "storage-unavailable"
    title = "Storage unavailable"


class ServerError(ApiError):
    """A bug in the hub; the response names the request id to report."""

    status = 500
    slug = "internal-error"
    title = "Internal server error"


_BY_SLUG: dict[str, type[ApiError]] = {
    cls.slug: cls
    for cls in (
        BadRequest,
        Unauthenticated,
        Forbidden,
        NotFound,
        Conflict,
        PayloadTooLarge,
        InvalidInput,
        StorageUnavailable,
        ServerError,
    )
}
_BY_STATUS: dict[int, type[ApiError]] = {cls.status: cls for cls in _BY_SLUG.values() if cls.status}


def error_class_for(status: int, problem_type: str | None = None) -> type[ApiError]:
    """The error class for a problem response: by its ``type`` slug first, then by status."""
    if problem_type:
        slug = problem_type.rstrip("/").rsplit("/", 1)[-1]
        if slug in _BY_SLUG:
            return _BY_SLUG[slug]
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status >= 500:
        return ServerError
    return ApiError
