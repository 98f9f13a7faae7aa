"""``/api/v1/usage``, ``/api/v1/fairshare``, project policies (quotas) and org quotas."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from starlette.responses import Response

from zslab.compute.broker import Broker, ProjectPolicy
from zslab.errors import Forbidden
from zslab.hub import accounts
from zslab.hub.broker_service import BrokerService, Command
from zslab.hub.context import HubRoute, ReadContext, WriteContext
from zslab.hub.db.orm import OrgQuotaRow, ProjectPolicyRow
from zslab.hub.slices import _managed as managed_projects
from zslab.hub.slices import audit_fields, broker_of, in_thread, usage_rows, visible_projects
from zslab.schemas import OrgQuotaUpdate, ProjectPolicyRead, ProjectPolicyUpdate, UsageRow

router = APIRouter(route_class=HubRoute, tags=["usage"])


@router.get("/usage", name="usage.get", response_model=list[UsageRow])
async def usage(
    ctx: ReadContext,
    group_by: Literal["project", "user", "org", "model", "pool"] = "project",
    since: datetime | None = None,
    until: datetime | None = None,
    format: Annotated[Literal["json", "csv"], Query(description="csv: a spreadsheet")] = "json",
) -> Any:
    """Slice-hours, energy, cost under the time-of-use tariff, subsidy, net cost, green power,
    CO2 and the domestic share, per group, over your projects (everything for admins)."""
    service: BrokerService = ctx.hub.broker
    projects = await visible_projects(ctx)
    rows = await in_thread(
        ctx,
        lambda s: usage_rows(
            service, s, group_by=group_by, since=since, until=until, projects=projects
        ),
    )
    if format == "json":
        return rows
    out = io.StringIO()
    fields = list(UsageRow.model_fields)
    writer = csv.DictWriter(out, fieldnames=fields)
    writer.writeheader()
    for row in rows:
        writer.writerow(row.model_dump())
    return Response(
        out.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="usage-{group_by}.csv"'},
    )


@router.get("/fairshare", name="fairshare.get")
async def fair_share(ctx: ReadContext) -> dict[str, dict[str, float]]:
    """Each visible project's weighted dominant share of decayed recent use (lower goes first)."""
    shares = broker_of(ctx.hub.broker).fair_shares()
    projects = await visible_projects(ctx)
    return {p: v for p, v in shares.items() if projects is None or p in projects}


def _policy_read(broker: Broker, policy: ProjectPolicy) -> ProjectPolicyRead:
    return ProjectPolicyRead(
        project_id=policy.project_id,
        quota_units=policy.quota_units,
        ttl_default_h=policy.ttl_default_h,
        ttl_max_h=policy.ttl_max_h,
        idle_limit_min=policy.idle_limit_min,
        weight=policy.weight,
        cohort=policy.cohort,
        worker_restarts=policy.worker_restarts,
        used_units=round(broker._project_units(policy.project_id), 4),
        fair_share=broker.fair_shares().get(policy.project_id),
    )


async def _project(ctx: Any, ref: str) -> tuple[str, str]:
    project = await in_thread(ctx, lambda s: accounts.find_project(s, ref))
    return project.id, project.org_id


@router.get("/projects/{project}/policy", name="project.policy.get")
async def get_policy(project: str, ctx: ReadContext) -> ProjectPolicyRead:
    project_id, org_id = await _project(ctx, project)
    projects = await visible_projects(ctx)
    if projects is not None and project_id not in projects:
        raise Forbidden(f"You are not a member of project {project!r}.", field="project")
    broker = broker_of(ctx.hub.broker)
    policy = broker.projects.get(project_id) or ProjectPolicy(project_id, org_id)
    return _policy_read(broker, policy)


@router.put("/projects/{project}/policy", name="project.policy.put")
async def put_policy(
    project: str, body: ProjectPolicyUpdate, ctx: WriteContext
) -> ProjectPolicyRead:
    """Set a project's quota (GPU units), lease lifetimes, idle limit, weight, cohort or
    worker restarts (admins and owners of its organization)."""
    project_id, org_id = await _project(ctx, project)
    if not ctx.principal.is_admin:
        managed = await in_thread(ctx, lambda s: managed_projects(s, ctx.principal.user_id))
        owners_only = await in_thread(
            ctx, lambda s: accounts._org_role(s, org_id, ctx.principal.user_id)
        )
        if project_id not in managed or owners_only != "owner":
            raise Forbidden(
                "Only admins and owners of the project's organization set quotas.", field="project"
            )
    service: BrokerService = ctx.hub.broker
    changes = body.model_dump(exclude_unset=True)

    def apply(broker: Broker, now: float) -> tuple[ProjectPolicyRead, list[Any]]:
        policy = broker.projects.get(project_id) or ProjectPolicy(project_id, org_id)
        for name, value in changes.items():
            setattr(policy, name, value)
        if policy.ttl_default_h > policy.ttl_max_h:
            from zslab.errors import InvalidInput

            raise InvalidInput("ttl_default_h cannot exceed ttl_max_h.", field="ttl_default_h")
        broker.set_project(policy)  # bumps the epoch: a larger quota may let queued work in
        return _policy_read(broker, policy), broker.tick(now)

    def rows(broker: Broker, result: Any) -> list[Any]:
        policy = broker.projects[project_id]
        return [
            ProjectPolicyRow(
                project_id=project_id,
                quota_units=policy.quota_units,
                ttl_default_h=policy.ttl_default_h,
                ttl_max_h=policy.ttl_max_h,
                idle_limit_min=policy.idle_limit_min,
                weight=policy.weight,
                cohort=policy.cohort,
                worker_restarts=policy.worker_restarts,
            )
        ]

    result: ProjectPolicyRead = await service.run(
        Command(
            apply=apply,
            audit=audit_fields(ctx, object_id=project_id, detail=str(changes)),
            rows=rows,
        )
    )
    ctx.request.scope.setdefault("state", {})["zslab_audited"] = True
    return result


@router.put("/orgs/{org}/quota", name="org.quota.put")
async def put_org_quota(org: str, body: OrgQuotaUpdate, ctx: WriteContext) -> dict[str, Any]:
    """An organization's ceiling over all its projects, in GPU units (admins)."""
    ctx.principal.require_admin("set organization quotas")
    found = await in_thread(ctx, lambda s: accounts.find_org(s, org))
    service: BrokerService = ctx.hub.broker

    def apply(broker: Broker, now: float) -> tuple[dict[str, Any], list[Any]]:
        broker.set_org_quota(found.id, body.quota_units)
        return {"org_id": found.id, "quota_units": body.quota_units}, broker.tick(now)

    result: dict[str, Any] = await service.run(
        Command(
            apply=apply,
            audit=audit_fields(ctx, object_id=found.id),
            rows=lambda broker, r: [OrgQuotaRow(org_id=found.id, quota_units=body.quota_units)],
        )
    )
    ctx.request.scope.setdefault("state", {})["zslab_audited"] = True
    return result
