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
    "ArtifactRead",
    "AuditEventRead",
    "BoardEntryRead",
    "CaseCreate",
    "CaseRead",
    "CaseReviewRead",
    "CaseSearchPage",
    "CaseUpdate",
    "CaseVersionCreate",
    "CaseVersionRead",
    "Health",
    "LeaderboardRead",
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
    "ReproductionCreate",
    "ReproductionRead",
    "ReviewCreate",
    "Role",
    "RunCreate",
    "RunRead",
    "RunStatus",
    "RunUpdate",
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
    # The hub always sends every field of what it returns, defaults included: the OpenAPI
    # document says so (`required`), and clients generated from it need not guess.
    model_config = ConfigDict(
        extra="ignore", from_attributes=True, json_schema_serialization_defaults_required=True
    )


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


# --- slices and leases -------------------------------------------------------------------

Priority = Literal["interactive", "batch"]
LeaseState = Literal[
    "requested", "queued", "granted", "active", "released", "expired", "preempted", "failed"
]


class LeaseCreate(_Input):
    spec: str = Field(min_length=1, max_length=300, description="e.g. h100:3g.40gb")
    hours: float | None = Field(default=None, gt=0, description="TTL; the project's default.")
    priority: Priority = "interactive"
    project: str | None = Field(default=None, description="Project id or org/slug.")
    max_wait_s: float | None = Field(default=None, gt=0, description="Give up after waiting.")
    flexible: bool = Field(default=False, description="Batch only: may start later, cheaper.")
    deadline: datetime | None = Field(default=None, description="Flexible batch: finish by.")


class LeaseRenew(_Input):
    hours: float = Field(gt=0)


class HeartbeatCreate(_Input):
    utilization: float | None = Field(default=None, ge=0, le=1)


class QueueInfo(_Output):
    position: int
    expected_start: datetime | None
    reason: str


class LeaseRead(_Output):
    id: str
    user_id: str
    project_id: str
    spec: str
    priority: Priority
    state: LeaseState
    hours: float
    created_at: datetime
    granted_at: datetime | None = None
    expires_at: datetime | None = None
    ended_at: datetime | None = None
    placement: dict[str, Any] | None = None
    units: float = 0.0
    borrowed: bool = False
    reservation_id: str | None = None
    lent_from: str | None = None
    reason: str = ""
    queue: QueueInfo | None = None
    preempt_at: datetime | None = None
    not_before: datetime | None = None
    heartbeat_s: float
    metering: dict[str, Any] | None = None
    # The lease's Dask worker: name, state, address, scheduler, resource, launcher, restarts …
    worker: dict[str, Any] | None = None


class HeartbeatRead(_Output):
    state: LeaseState
    expires_at: datetime | None
    preempt_at: datetime | None
    heartbeat_s: float
    reason: str = ""


class LeaseEventRead(_Output):
    id: int
    lease_id: str
    at: datetime
    type: str
    state: str
    reason: str
    data: dict[str, Any]


class PoolRead(_Output):
    site: str
    pool: str
    model: str | None
    domestic: bool
    nodes: int
    drained_nodes: int
    devices: int
    free_devices: int
    free_units: float
    free_cpu_cores: float
    profiles: dict[str, int] | None = None
    shares: dict[str, int] | None = None


class ReservationCreate(_Input):
    project: str = Field(min_length=1)
    spec: str = Field(min_length=1, max_length=300)
    count: int = Field(ge=1, le=10_000)
    start: datetime
    end: datetime
    note: str = Field(default="", max_length=2000)


class ReservationRead(_Output):
    id: str
    project_id: str
    spec: str
    count: int
    start_at: datetime
    end_at: datetime
    state: str
    created_by: str
    note: str
    held: int = 0
    in_use: int = 0
    lent: int = 0


class ProjectPolicyUpdate(_Input):
    quota_units: float | None = Field(default=None, ge=0)
    ttl_default_h: float | None = Field(default=None, gt=0)
    ttl_max_h: float | None = Field(default=None, gt=0)
    idle_limit_min: float | None = Field(default=None, gt=0)
    weight: float | None = Field(default=None, gt=0)
    cohort: str | None = Field(default=None, max_length=64)
    worker_restarts: int | None = Field(default=None, ge=0, le=10)


class ProjectPolicyRead(_Output):
    project_id: str
    quota_units: float | None
    ttl_default_h: float
    ttl_max_h: float
    idle_limit_min: float | None
    weight: float
    cohort: str | None
    worker_restarts: int = 1
    used_units: float = 0.0
    fair_share: dict[str, float] | None = None


class OrgQuotaUpdate(_Input):
    quota_units: float = Field(ge=0)


class UsageRow(_Output):
    key: str  # the project, user or organization id; the model or pool name
    name: str = ""  # readable: "org/project", the user's name, the organization's slug
    leases: int
    slice_hours: float
    device_hours: float
    energy_kwh: float
    cost: float
    subsidy: float
    net_cost: float
    green_kwh: float
    co2_kg: float
    domestic_slice_hours: float
    domestic_share: float
    currency: str


class Estimate(_Output):
    spec: str
    hours: float
    grantable_now: bool
    queue_ahead: int
    energy_kwh: float
    cost: float
    subsidy: float
    net_cost: float
    currency: str
    tariff: str
    tariff_is_example: bool
    cheapest_start: datetime | None = None
    cheapest_saving: float | None = None


class DrainUpdate(_Input):
    drained: bool = True
    reason: str = Field(default="", max_length=500)


class InventoryUpdate(_Input):
    document: str = Field(min_length=1, max_length=2_000_000, description="Inventory YAML.")


class InventoryRead(_Output):
    name: str
    example: bool
    nodes: int
    devices: int
    pools: list[dict[str, Any]]
    drained: list[str]


# --- template runs -----------------------------------------------------------------------------

RunStatus = Literal["queued", "running", "completed", "failed", "cancelled"]
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$", description="Lower-case hex sha256.")]


class RunCreate(_Input):
    template: str = Field(min_length=1, max_length=200, description="Template name, e.g. finetune.")
    template_sha256: Sha256 | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    lease_id: str | None = Field(default=None, max_length=40, description="The lease it ran on.")
    project: str | None = Field(default=None, description="Project id or org/slug.")
    provenance: dict[str, Any] = Field(
        default_factory=dict,
        description="Template hash, parameters, data-card hash, model hash, package versions.",
    )
    status: RunStatus = "running"


class RunUpdate(_Input):
    """Changes to a run. ``metrics`` and ``provenance`` merge into what the run has (a key set
    to null is removed); an ended run (completed, failed, cancelled) keeps its status."""

    status: RunStatus | None = None
    metrics: dict[str, Any] | None = None
    provenance: dict[str, Any] | None = None
    error: str | None = Field(default=None, max_length=100_000)
    ended_at: datetime | None = None


class ArtifactRead(_Output):
    run_id: str
    name: str
    sha256: str
    size: int
    media_type: str
    created_at: datetime


class RunRead(_Output):
    id: str
    project_id: str
    user_id: str
    template: str
    template_sha256: str | None
    parameters: dict[str, Any]
    lease_id: str | None
    status: RunStatus
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    metrics: dict[str, Any]
    provenance: dict[str, Any]
    error: str | None
    notebook_sha256: str | None
    # Filled by GET /runs/{id}; listings leave it out.
    artifacts: list[ArtifactRead] | None = None


# --- the case library --------------------------------------------------------------------------

Visibility = Literal["public", "org", "private"]
CaseStatus = Literal["draft", "in_review", "published", "archived"]
ReviewActionName = Literal["submit", "withdraw", "approve", "request_changes", "archive", "comment"]
_Tag = Annotated[str, Field(min_length=1, max_length=50)]


class _CaseContent(_Input):
    """What a case version says; shared by publishing a case and adding a version."""

    runs: list[Annotated[str, Field(max_length=40)]] = Field(
        min_length=1,
        max_length=50,
        description="Ids of the runs the version reports (their results, notebooks, compute).",
    )
    title: str = Field(min_length=1, max_length=200, description="中文或英文标题 / title.")
    title_en: str = Field(default="", max_length=200, description="English title, if any.")
    summary: str = Field(default="", max_length=5000)
    license: str | None = Field(
        default=None, max_length=64, description="SPDX id (apache-2.0, cc-by-4.0…)."
    )
    task: str | None = Field(
        default=None, max_length=100, description="Default: the first result's task."
    )
    tags: list[_Tag] = Field(default_factory=list, max_length=20)
    model: str = Field(default="", max_length=200, description="Name of the model reported.")
    results: list[dict[str, Any]] | None = Field(
        default=None,
        description="model-index results; default: the `results` the runs recorded.",
    )
    tolerance: dict[str, float] = Field(
        default_factory=dict,
        description="Absolute tolerance per metric for reproduction (else CIs must overlap).",
    )
    model_card: str = Field(default="", max_length=100_000)
    data_card: dict[str, Any] | None = None
    changelog: str = Field(default="", max_length=5000)
    submit: bool = Field(default=True, description="Submit the version for review at once.")


class CaseCreate(_CaseContent):
    sector: str = Field(description="finance, education, healthcare, culture_tourism, …")
    visibility: Visibility = "org"
    project: str | None = Field(
        default=None, description="Project id or org/slug; default: the first run's project."
    )
    slug: str | None = Field(
        default=None, max_length=80, description="URL name; default: made from the title."
    )


class CaseVersionCreate(_CaseContent):
    pass


class CaseUpdate(_Input):
    """Changes to a case (visibility) and to its draft version's content."""

    visibility: Visibility | None = None
    title: str | None = Field(default=None, min_length=1, max_length=200)
    title_en: str | None = Field(default=None, max_length=200)
    summary: str | None = Field(default=None, max_length=5000)
    license: str | None = Field(default=None, max_length=64)
    tags: list[_Tag] | None = Field(default=None, max_length=20)
    model: str | None = Field(default=None, max_length=200)
    results: list[dict[str, Any]] | None = None
    tolerance: dict[str, float] | None = None
    model_card: str | None = Field(default=None, max_length=100_000)
    changelog: str | None = Field(default=None, max_length=5000)


class ReviewCreate(_Input):
    action: ReviewActionName
    comment: str = Field(default="", max_length=5000)


class CaseReviewRead(_Output):
    version_id: str
    actor_id: str
    actor_name: str | None = None
    action: str
    from_status: str
    to_status: str
    comment: str
    at: datetime


class CaseVersionRead(_Output):
    id: str
    case_id: str
    slug: str = ""
    number: int
    status: CaseStatus
    title: str
    title_en: str
    summary: str
    task: str
    license: str
    tags: list[str]
    model: str
    results: list[dict[str, Any]]
    tolerance: dict[str, float]
    model_card: str
    data_card: dict[str, Any]
    run_ids: list[str]
    notebooks: list[dict[str, Any]]
    compute: dict[str, Any]
    provenance: dict[str, Any]
    changelog: str
    created_by: str
    created_at: datetime
    submitted_at: datetime | None
    published_at: datetime | None
    archived_at: datetime | None
    reviewed_by: str | None
    reviews: list[CaseReviewRead] | None = None


class ReproductionCreate(_Input):
    runs: list[Annotated[str, Field(max_length=40)]] = Field(min_length=1, max_length=50)
    version: int | None = Field(default=None, ge=1, description="Default: the published one.")
    lease_id: str | None = Field(default=None, max_length=40)
    hardware: dict[str, Any] = Field(default_factory=dict)


class ReproductionRead(_Output):
    id: str
    case_id: str
    version_id: str
    version: int | None = None
    user_id: str
    user_name: str | None = None
    run_ids: list[str]
    lease_id: str | None
    hardware: dict[str, Any]
    results: list[dict[str, Any]]
    verdict: dict[str, Any]
    matched: bool
    at: datetime


class CaseRead(_Output):
    id: str
    slug: str
    sector: str
    visibility: Visibility
    org_id: str
    project_id: str
    owner_id: str
    title: str
    title_en: str
    summary: str
    task: str
    license: str
    tags: list[str]
    model: str
    datasets: list[str]
    status: CaseStatus
    current_version: int
    published_version: int | None
    reproduced: bool
    created_at: datetime
    updated_at: datetime
    # Filled by GET /cases/{slug}.
    versions: list[CaseVersionRead] | None = None
    reproductions: list[ReproductionRead] | None = None


class CaseSearchPage(_Output):
    items: list[CaseRead]
    total: int
    # False: ``total`` is a lower bound (a common word matched more cases than one query
    # ranks; see zslab.cases.search).
    total_exact: bool = True
    offset: int
    limit: int


class BoardEntryRead(_Output):
    rank: int
    tied: bool
    slug: str
    version: int
    title: str
    value: float
    low: float | None
    high: float | None
    reproduced: bool


class LeaderboardRead(_Output):
    task: str
    dataset: str
    metric: str
    dataset_hash: str | None
    config_hash: str | None
    higher_is_better: bool
    entries: list[BoardEntryRead]
