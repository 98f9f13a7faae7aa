"""ORM classes of the hub's accounts: users, tokens, organizations, projects, audit, idempotency.

Schemas that travel over HTTP (``UserRead``…) live in :mod:`zslab.schemas`; these classes are the
tables. Every change here needs an Alembic revision (``python -m zslab.hub.db.migrate revision``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = [
    "ArtifactRow",
    "AuditEvent",
    "Base",
    "CaseMetricRow",
    "CaseReproductionRow",
    "CaseReviewRow",
    "CaseRow",
    "CaseVersionRow",
    "DrainedNode",
    "FairShareRow",
    "IdempotencyRecord",
    "InventoryRow",
    "LeaseEvent",
    "LeaseRow",
    "OrgMember",
    "OrgQuotaRow",
    "Organization",
    "Project",
    "ProjectMember",
    "ProjectPolicyRow",
    "ReservationRow",
    "RunRow",
    "Token",
    "User",
    "utcnow",
]

ROLES = ("admin", "reviewer", "member")
ORG_ROLES = ("owner", "member")
PROJECT_ROLES = ("maintainer", "member")
RUN_STATUSES = ("queued", "running", "completed", "failed", "cancelled")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="role"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    role: Mapped[str] = mapped_column(String(16), default="member")
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    tokens: Mapped[list[Token]] = relationship(back_populates="user", passive_deletes=True)


class Token(Base):
    __tablename__ = "tokens"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    # sha256 of the secret; the secret itself is shown once and never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    kind: Mapped[str] = mapped_column(String(16), default="user")  # user | runtime | bootstrap
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(back_populates="tokens")


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OrgMember(Base):
    __tablename__ = "org_members"
    __table_args__ = (CheckConstraint(_in("role", ORG_ROLES), name="role"),)

    org_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(16), default="member")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    # Relationships also order inserts: an organization is written before its members.
    org: Mapped[Organization] = relationship()


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = (UniqueConstraint("org_id", "slug", name="uq_projects_org_slug"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="RESTRICT"))
    slug: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    org: Mapped[Organization] = relationship()


class ProjectMember(Base):
    __tablename__ = "project_members"
    __table_args__ = (CheckConstraint(_in("role", PROJECT_ROLES), name="role"),)

    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(16), default="member")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    project: Mapped[Project] = relationship()


class AuditEvent(Base):
    """One mutating call: who, what, on which object, when, from where, and how it ended."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_actor_at", "actor_id", "at"),
        Index("ix_audit_events_action_at", "action", "at"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[str | None] = mapped_column(String(40))
    actor_name: Mapped[str | None] = mapped_column(String(64))
    token_id: Mapped[str | None] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str | None] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(200))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(500))
    client_addr: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(16))  # success | denied | invalid | error
    request_id: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str | None] = mapped_column(Text)


class IdempotencyRecord(Base):
    """The response of a creating POST, replayed when the same key comes again."""

    __tablename__ = "idempotency_records"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    location: Mapped[str | None] = mapped_column(String(500))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


# --- the slice broker ------------------------------------------------------------------------


class LeaseRow(Base):
    """A lease's current state (the projection); its history is in :class:`LeaseEvent`."""

    __tablename__ = "leases"
    __table_args__ = (Index("ix_leases_project_state", "project_id", "state"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="RESTRICT"))
    spec: Mapped[str] = mapped_column(String(300))
    priority: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), index=True)
    hours: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime]
    granted_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    last_heartbeat_at: Mapped[datetime | None]
    placement: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    units: Mapped[float] = mapped_column(Float, default=0.0)
    borrowed: Mapped[bool] = mapped_column(Boolean, default=False)
    reservation_id: Mapped[str | None] = mapped_column(String(40))
    lent_from: Mapped[str | None] = mapped_column(String(40))
    max_wait_s: Mapped[float | None] = mapped_column(Float)
    flexible: Mapped[bool] = mapped_column(Boolean, default=False)
    deadline: Mapped[datetime | None]
    not_before: Mapped[datetime | None]
    preempt_at: Mapped[datetime | None]
    reason: Mapped[str] = mapped_column(Text, default="")
    utilization: Mapped[float | None] = mapped_column(Float)
    idle_since: Mapped[datetime | None]
    metering: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class LeaseEvent(Base):
    """Every lease transition, in order; written before the client is answered."""

    __tablename__ = "lease_events"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    lease_id: Mapped[str] = mapped_column(String(40), index=True)
    project_id: Mapped[str] = mapped_column(String(40), index=True)
    at: Mapped[datetime]
    type: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class ReservationRow(Base):
    """Slices of one profile held for a project's class during a time window."""

    __tablename__ = "reservations"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    spec: Mapped[str] = mapped_column(String(300))
    count: Mapped[int] = mapped_column(Integer)
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str] = mapped_column(Text, default="")


class ProjectPolicyRow(Base):
    """A project's quota (GPU units), lease lifetimes, idle limit, fair-share weight, cohort."""

    __tablename__ = "project_policies"

    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    quota_units: Mapped[float | None] = mapped_column(Float)
    ttl_default_h: Mapped[float] = mapped_column(Float, default=4.0)
    ttl_max_h: Mapped[float] = mapped_column(Float, default=24.0)
    idle_limit_min: Mapped[float | None] = mapped_column(Float)
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    cohort: Mapped[str | None] = mapped_column(String(64))
    worker_restarts: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class OrgQuotaRow(Base):
    """An organization's ceiling over all its projects (GPU units)."""

    __tablename__ = "org_quotas"

    org_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    quota_units: Mapped[float] = mapped_column(Float)


class InventoryRow(Base):
    """Inventory documents loaded by admins; the newest active one is in force."""

    __tablename__ = "inventories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    document: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(40))


class DrainedNode(Base):
    __tablename__ = "drained_nodes"

    node: Mapped[str] = mapped_column(String(200), primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    by: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(Text, default="")


class FairShareRow(Base):
    """Decayed recent use per project (GPU units·s, CPU milli·s, memory MiB·s)."""

    __tablename__ = "fair_share"

    project_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    gpu: Mapped[float] = mapped_column(Float, default=0.0)
    cpu: Mapped[float] = mapped_column(Float, default=0.0)
    memory: Mapped[float] = mapped_column(Float, default=0.0)
    at: Mapped[datetime] = mapped_column(default=utcnow)


# --- template runs ---------------------------------------------------------------------------


class RunRow(Base):
    """One execution of a template: parameters, status, metrics and provenance; its files are
    :class:`ArtifactRow` rows pointing into the content-addressed artifact store."""

    __tablename__ = "runs"
    __table_args__ = (
        CheckConstraint(_in("status", RUN_STATUSES), name="status"),
        Index("ix_runs_project_template", "project_id", "template"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="RESTRICT"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    template: Mapped[str] = mapped_column(String(200))
    template_sha256: Mapped[str | None] = mapped_column(String(64))
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON)
    lease_id: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    provenance: Mapped[dict[str, Any]] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    notebook_sha256: Mapped[str | None] = mapped_column(String(64))


class ArtifactRow(Base):
    """A named file of a run; the bytes live in the artifact store under their sha256."""

    __tablename__ = "run_artifacts"
    __table_args__ = (UniqueConstraint("run_id", "name", name="uq_run_artifacts_run_name"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- the case library ------------------------------------------------------------------------

CASE_SECTORS = (
    "finance",
    "education",
    "healthcare",
    "culture_tourism",
    "manufacturing",
    "city_governance",
    "online_economy",
    "other",
)
CASE_VISIBILITIES = ("public", "org", "private")
CASE_STATUSES = ("draft", "in_review", "published", "archived")


class CaseRow(Base):
    """A case: who owns it and who may see it; its content lives in :class:`CaseVersionRow`.

    The columns after ``visibility`` mirror the case's current version (the published one when
    there is one, else the newest) so that listings, search and the gallery read one row.
    """

    __tablename__ = "cases"
    __table_args__ = (
        CheckConstraint(_in("sector", CASE_SECTORS), name="sector"),
        CheckConstraint(_in("visibility", CASE_VISIBILITIES), name="visibility"),
        CheckConstraint(_in("status", CASE_STATUSES), name="status"),
        Index("ix_cases_sector_updated", "sector", "updated_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    org_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), index=True
    )
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="RESTRICT"))
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    sector: Mapped[str] = mapped_column(String(32))
    visibility: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    title: Mapped[str] = mapped_column(Text)
    title_en: Mapped[str] = mapped_column(Text, default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    task: Mapped[str] = mapped_column(String(100), index=True)
    license: Mapped[str] = mapped_column(String(64))
    tags: Mapped[list[str]] = mapped_column(JSON)
    model: Mapped[str] = mapped_column(String(200), default="")
    datasets: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    current_version: Mapped[int] = mapped_column(Integer)
    published_version: Mapped[int | None] = mapped_column(Integer)
    reproduced: Mapped[bool] = mapped_column(Boolean, default=False)
    # Searchable text (titles, summary, tags, model and dataset names), kept by zslab.cases.search.
    search_text: Mapped[str] = mapped_column(Text, default="")


class CaseVersionRow(Base):
    """One version of a case: its content, results, cards, notebooks, compute and provenance.

    Immutable once published: a fix is a new version."""

    __tablename__ = "case_versions"
    __table_args__ = (
        UniqueConstraint("case_id", "number", name="uq_case_versions_case_number"),
        CheckConstraint(_in("status", CASE_STATUSES), name="status"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), index=True)
    title: Mapped[str] = mapped_column(Text)
    title_en: Mapped[str] = mapped_column(Text, default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    task: Mapped[str] = mapped_column(String(100))
    license: Mapped[str] = mapped_column(String(64))
    tags: Mapped[list[str]] = mapped_column(JSON)
    model: Mapped[str] = mapped_column(String(200), default="")
    results: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    tolerance: Mapped[dict[str, float]] = mapped_column(JSON)
    model_card: Mapped[str] = mapped_column(Text, default="")
    data_card: Mapped[dict[str, Any]] = mapped_column(JSON)
    run_ids: Mapped[list[str]] = mapped_column(JSON)
    notebooks: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    compute: Mapped[dict[str, Any]] = mapped_column(JSON)
    provenance: Mapped[dict[str, Any]] = mapped_column(JSON)
    changelog: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None]
    archived_at: Mapped[datetime | None]
    reviewed_by: Mapped[str | None] = mapped_column(String(40))


class CaseMetricRow(Base):
    """One metric of one version, flattened for leaderboards and sorting by metric."""

    __tablename__ = "case_metrics"
    __table_args__ = (Index("ix_case_metrics_board", "task", "dataset", "metric"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    version_id: Mapped[str] = mapped_column(
        ForeignKey("case_versions.id", ondelete="CASCADE"), index=True
    )
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    task: Mapped[str] = mapped_column(String(100))
    dataset: Mapped[str] = mapped_column(String(200))
    dataset_hash: Mapped[str | None] = mapped_column(String(128))
    config_hash: Mapped[str | None] = mapped_column(String(128))
    metric: Mapped[str] = mapped_column(String(100))
    value: Mapped[float] = mapped_column(Float)
    low: Mapped[float | None] = mapped_column(Float)
    high: Mapped[float | None] = mapped_column(Float)
    higher_is_better: Mapped[bool] = mapped_column(Boolean, default=True)
    published: Mapped[bool] = mapped_column(Boolean, default=False)


class CaseReviewRow(Base):
    """One step of the review workflow (or a comment) on a version; also in the audit log."""

    __tablename__ = "case_reviews"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    version_id: Mapped[str] = mapped_column(
        ForeignKey("case_versions.id", ondelete="CASCADE"), index=True
    )
    actor_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)


class CaseReproductionRow(Base):
    """A re-run of a version: who, when, on what hardware, and whether the metrics matched."""

    __tablename__ = "case_reproductions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    version_id: Mapped[str] = mapped_column(ForeignKey("case_versions.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    run_ids: Mapped[list[str]] = mapped_column(JSON)
    lease_id: Mapped[str | None] = mapped_column(String(40))
    hardware: Mapped[dict[str, Any]] = mapped_column(JSON)
    results: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    verdict: Mapped[dict[str, Any]] = mapped_column(JSON)
    matched: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(default=utcnow)
