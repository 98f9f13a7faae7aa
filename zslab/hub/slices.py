"""What the slice routes share: who may see or touch a lease, which project a request counts
against, how leases and usage look over the API. Database reads here run in worker threads
(the routes are async because they wait on the broker's command loop)."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import anyio
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from zslab.compute.broker import ENDED, Broker, Lease
from zslab.errors import Forbidden, InvalidInput, NotFound
from zslab.hub import accounts
from zslab.hub.auth import Principal, membership_version
from zslab.hub.broker_service import BrokerService, from_ts, lease_from_row, meter_lease
from zslab.hub.context import Context
from zslab.hub.db.orm import (
    AuditEvent,
    LeaseRow,
    Organization,
    OrgMember,
    Project,
    ProjectMember,
    User,
    utcnow,
)
from zslab.ids import new_id
from zslab.schemas import LeaseRead, QueueInfo, UsageRow

__all__ = [
    "PERSONAL_ORG",
    "audit_fields",
    "in_thread",
    "lease_read",
    "resolve_project",
    "usage_rows",
    "visible_projects",
]

T = TypeVar("T")
PERSONAL_ORG = "personal"


async def in_thread(ctx: Context, fn: Callable[[Session], T], *, write: bool = False) -> T:
    """Run ``fn`` with a fresh session in a worker thread."""

    def run() -> T:
        db = ctx.hub.db
        with db.write_session() if write else db.read_session() as session:
            return fn(session)

    return await anyio.to_thread.run_sync(run)


def _visible(session: Session, user_id: str) -> set[str]:
    member = select(ProjectMember.project_id).where(ProjectMember.user_id == user_id)
    owned = (
        select(Project.id)
        .join(OrgMember, OrgMember.org_id == Project.org_id)
        .where(OrgMember.user_id == user_id, OrgMember.role == "owner")
    )
    return set(session.scalars(member)) | set(session.scalars(owned))


def _managed(session: Session, user_id: str) -> set[str]:
    """Projects whose leases the user may act on besides their own."""
    maintained = select(ProjectMember.project_id).where(
        ProjectMember.user_id == user_id, ProjectMember.role == "maintainer"
    )
    owned = (
        select(Project.id)
        .join(OrgMember, OrgMember.org_id == Project.org_id)
        .where(OrgMember.user_id == user_id, OrgMember.role == "owner")
    )
    return set(session.scalars(maintained)) | set(session.scalars(owned))


async def visible_projects(ctx: Context) -> set[str] | None:
    """Projects whose leases the caller may see; None for admins (all)."""
    if ctx.principal.is_admin:
        return None
    return await in_thread(ctx, lambda s: _visible(s, ctx.principal.user_id))


async def check_lease_access(ctx: Context, lease: Lease | LeaseRow, *, act: bool) -> None:
    """403 unless the caller may see (``act``: renew, release, heartbeat) the lease."""
    principal = ctx.principal
    if principal.is_admin or lease.user_id == principal.user_id:
        return
    allowed = await in_thread(
        ctx,
        (lambda s: _managed(s, principal.user_id))
        if act
        else (lambda s: _visible(s, principal.user_id)),
    )
    if lease.project_id not in allowed:
        what = "change" if act else "see"
        raise Forbidden(
            f"Lease {lease.id} belongs to another project, which you may not {what}.",
            fix="Ask a maintainer of that project, or use your own project's leases.",
        )


def member_project(session: Session, principal: Principal, ref: str) -> Project:
    """The project ``ref`` (id or org/slug), which the caller must belong to (admins: any)."""
    try:
        project = accounts.find_project(session, ref)
    except (NotFound, InvalidInput) as exc:
        exc.field = "project"
        raise
    if not principal.is_admin and project.id not in _visible(session, principal.user_id):
        raise Forbidden(
            f"You are not a member of project {ref!r}.",
            field="project",
            fix="Ask one of its maintainers to add you, or name a project of yours.",
        )
    return project


async def resolve_project(ctx: Context, ref: str | None) -> tuple[str, str]:
    """(project id, org id) a request counts against: the named project (the caller must be a
    member), the caller's only project, or their personal project (created on first use)."""
    principal = ctx.principal

    def named(session: Session) -> tuple[str, str]:
        assert ref is not None
        project = member_project(session, principal, ref)
        return project.id, project.org_id

    def default(session: Session, *, create: bool) -> tuple[str, str] | None:
        mine = sorted(
            session.execute(
                select(Project.id, Project.org_id)
                .join(ProjectMember, ProjectMember.project_id == Project.id)
                .where(ProjectMember.user_id == principal.user_id)
            ).all()
        )
        personal = [row for row in mine if _is_personal(session, row[1])]
        if len(mine) == 1:
            return mine[0][0], mine[0][1]
        if personal:
            return personal[0][0], personal[0][1]
        if mine:
            names = ", ".join(_project_name(session, pid) for pid, _ in mine)
            raise InvalidInput(
                f"You belong to several projects ({names}); say which one this is for.",
                field="project",
                fix="Pass project='org/slug' (SDK), --project (CLI) or \"project\" (API).",
            )
        return _create_personal(session, principal.user_id) if create else None

    cache = ctx.hub.memberships
    cached = cache.get(principal.user_id, ref)
    if cached is not None:
        return cached
    version = membership_version()  # read before the database, so a change meanwhile shows
    if ref:
        found: tuple[str, str] | None = await in_thread(ctx, named)
    else:
        found = await in_thread(ctx, lambda s: default(s, create=False))
        if found is None:
            # First request of a user in no project: create the personal one (a rare write).
            found = await in_thread(ctx, lambda s: default(s, create=True), write=True)
    assert found is not None
    cache.put(principal.user_id, ref, found, version)
    return found


def _is_personal(session: Session, org_id: str) -> bool:
    org = session.get(Organization, org_id)
    return org is not None and org.slug == PERSONAL_ORG


def _project_name(session: Session, project_id: str) -> str:
    project = session.get_one(Project, project_id)
    org = session.get_one(Organization, project.org_id)
    return f"{org.slug}/{project.slug}"


def _create_personal(session: Session, user_id: str) -> tuple[str, str]:
    """``personal/<user name>``: where a user's requests go when they belong to no project.

    Concurrent first requests may race to create it; a loser finds the winner's.
    """
    for _ in range(3):
        try:
            return _create_personal_once(session, user_id)
        except IntegrityError:
            session.rollback()
    return _create_personal_once(session, user_id)


def _create_personal_once(session: Session, user_id: str) -> tuple[str, str]:
    user = session.get_one(User, user_id)
    org = session.scalars(select(Organization).where(Organization.slug == PERSONAL_ORG)).first()
    if org is None:
        org = Organization(id=new_id("org"), slug=PERSONAL_ORG, name="Personal projects")
        session.add(org)
        session.flush()
    project = session.scalars(
        select(Project).where(Project.org_id == org.id, Project.slug == user.name)
    ).first()
    if project is None:
        project = Project(
            id=new_id("prj"),
            org_id=org.id,
            slug=user.name,
            name=f"{user.name} (personal)",
            description="Created for requests that name no project.",
            created_at=utcnow(),
        )
        session.add(project)
        session.flush()
        session.add(ProjectMember(project_id=project.id, user_id=user.id, role="maintainer"))
        session.add(
            AuditEvent(
                at=utcnow(),
                actor_id=user.id,
                actor_name=user.name,
                action="project.create",
                object_type="project",
                object_id=project.id,
                method="SYSTEM",
                path="-",
                status=201,
                outcome="success",
                request_id="personal-project",
                detail="personal project for requests that name none",
            )
        )
    session.commit()
    return project.id, org.id


def lease_read(service: BrokerService, lease: Lease, *, now: float | None = None) -> LeaseRead:
    """The API view of a lease held in the broker's memory."""
    broker = service.broker
    assert broker is not None
    now = now or time.time()
    queue = None
    if lease.state == "queued":
        info = broker.queue_info(lease.id, now)
        queue = QueueInfo(
            position=info["position"],
            expected_start=from_ts(info["expected_start"]),
            reason=info["reason"],
        )
    placement = None
    if lease.placement is not None:
        from zslab.compute.broker import placement_data

        placement = placement_data(broker.cluster, lease.placement)
    metering = meter_lease(broker, lease, until=now) if lease.placement is not None else None
    return LeaseRead(
        id=lease.id,
        user_id=lease.user_id,
        project_id=lease.project_id,
        spec=lease.spec,
        priority=lease.priority,
        state=lease.state,
        hours=lease.hours,
        created_at=from_ts(lease.created_at) or utcnow(),
        granted_at=from_ts(lease.granted_at),
        expires_at=from_ts(lease.expires_at),
        ended_at=from_ts(lease.ended_at),
        placement=placement,
        units=lease.units,
        borrowed=lease.borrowed,
        reservation_id=lease.reservation_id,
        lent_from=lease.lent_from,
        reason=lease.reason,
        queue=queue,
        preempt_at=from_ts(lease.preempt_at),
        not_before=from_ts(lease.not_before),
        heartbeat_s=service.heartbeat_s,
        metering=metering,
        worker=service.runtime.describe(lease.id) if service.runtime is not None else None,
    )


def row_read(service: BrokerService, row: LeaseRow) -> LeaseRead:
    """The API view of a lease known only from the database (ended before this hub started)."""
    broker = service.broker
    assert broker is not None
    live = broker.leases.get(row.id)
    if live is not None:
        return lease_read(service, live)
    lease = lease_from_row(row)
    read = LeaseRead(
        id=lease.id,
        user_id=lease.user_id,
        project_id=lease.project_id,
        spec=lease.spec,
        priority=lease.priority,
        state=lease.state,
        hours=lease.hours,
        created_at=row.created_at,
        granted_at=row.granted_at,
        expires_at=row.expires_at,
        ended_at=row.ended_at,
        placement=row.placement,
        units=row.units,
        borrowed=row.borrowed,
        reservation_id=row.reservation_id,
        lent_from=row.lent_from,
        reason=row.reason,
        preempt_at=row.preempt_at,
        not_before=row.not_before,
        heartbeat_s=service.heartbeat_s,
        metering=row.metering,
    )
    return read


def audit_fields(
    ctx: Context, *, object_id: str | None = None, detail: str | None = None
) -> dict[str, Any]:
    """The audit row of this call, for the broker to write with the call's effects."""
    request = ctx.request
    route = request.scope.get("route")
    client = request.client
    return {
        "at": utcnow(),
        "actor_id": ctx.principal.user_id,
        "actor_name": ctx.principal.user_name,
        "token_id": ctx.principal.token_id,
        "action": getattr(route, "name", None) or request.method,
        "object_type": "lease" if object_id and object_id.startswith("lse_") else None,
        "object_id": object_id,
        "method": request.method,
        "path": request.url.path[:500],
        "client_addr": client.host if client else None,
        "request_id": request.scope.get("state", {}).get("zslab_request_id", "?"),
        "detail": detail,
    }


# --- usage -----------------------------------------------------------------------------------

GROUPS = ("project", "user", "org", "model", "pool")


def usage_rows(
    service: BrokerService,
    session: Session,
    *,
    group_by: str,
    since: datetime | None,
    until: datetime | None,
    projects: set[str] | None,
) -> list[UsageRow]:
    """Slice-hours, energy, cost, CO2 and domestic share per group, for leases granted in the
    period (live ones metered up to now)."""
    broker = service.broker
    assert broker is not None
    statement = select(LeaseRow).where(LeaseRow.granted_at.is_not(None))
    if since is not None:
        statement = statement.where(or_(LeaseRow.ended_at.is_(None), LeaseRow.ended_at >= since))
    if until is not None:
        statement = statement.where(LeaseRow.granted_at < until)
    if projects is not None:
        statement = statement.where(LeaseRow.project_id.in_(projects))
    orgs = {p.id: p.org_id for p in session.scalars(select(Project))}
    names = _group_names(session, group_by)
    totals: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    currency = getattr(broker.tariff, "currency", "CNY")
    now = time.time()
    for row in session.scalars(statement):
        live = broker.leases.get(row.id)
        metering = (
            meter_lease(broker, live, until=now)
            if live is not None and live.state not in ENDED
            else row.metering
        )
        if not metering:
            continue
        placement = row.placement or {}
        key = {
            "project": row.project_id,
            "user": row.user_id,
            "org": orgs.get(row.project_id, "?"),
            "model": placement.get("model") or "?",
            "pool": placement.get("pool") or "?",
        }[group_by]
        cell = totals[key]
        cell["leases"] += 1
        for name in (
            "slice_hours",
            "device_hours",
            "energy_kwh",
            "cost",
            "subsidy",
            "net_cost",
            "green_kwh",
            "co2_kg",
        ):
            cell[name] += float(metering.get(name, 0.0))
        if metering.get("domestic"):
            cell["domestic_slice_hours"] += float(metering.get("slice_hours", 0.0))
    rows = []
    for key, cell in sorted(totals.items()):
        hours = cell["slice_hours"]
        rows.append(
            UsageRow(
                key=key,
                name=names.get(key, key),
                leases=int(cell["leases"]),
                slice_hours=round(hours, 6),
                device_hours=round(cell["device_hours"], 6),
                energy_kwh=round(cell["energy_kwh"], 6),
                cost=round(cell["cost"], 6),
                subsidy=round(cell["subsidy"], 6),
                net_cost=round(cell["net_cost"], 6),
                green_kwh=round(cell["green_kwh"], 6),
                co2_kg=round(cell["co2_kg"], 6),
                domestic_slice_hours=round(cell["domestic_slice_hours"], 6),
                domestic_share=round(cell["domestic_slice_hours"] / hours, 6) if hours else 0.0,
                currency=currency,
            )
        )
    return rows


def _group_names(session: Session, group_by: str) -> dict[str, str]:
    """Readable names for usage keys: ``org/project``, user names, organization slugs."""
    if group_by == "project":
        rows = session.execute(
            select(Project.id, Organization.slug, Project.slug).join(
                Organization, Organization.id == Project.org_id
            )
        )
        return {pid: f"{org}/{slug}" for pid, org, slug in rows}
    if group_by == "user":
        return {uid: name for uid, name in session.execute(select(User.id, User.name))}
    if group_by == "org":
        slugs = session.execute(select(Organization.id, Organization.slug))
        return {oid: slug for oid, slug in slugs}
    return {}


def broker_of(service: BrokerService) -> Broker:
    broker = service.broker
    if broker is None:
        raise RuntimeError("the broker has not started")
    return broker
