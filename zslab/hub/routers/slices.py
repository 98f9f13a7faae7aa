"""``/api/v1/pools``, ``/api/v1/leases``, ``/api/v1/events`` and ``/api/v1/estimate``."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from sqlalchemy import select
from starlette.responses import JSONResponse, Response, StreamingResponse

from zslab.compute.broker import ENDED, Broker, Lease, ProjectPolicy
from zslab.compute.request import parse_request
from zslab.errors import Conflict, InvalidInput, NotFound
from zslab.hub.broker_service import BrokerService, Command
from zslab.hub.context import HubRoute, ReadContext, WriteContext
from zslab.hub.db.orm import IdempotencyRecord, LeaseEvent, LeaseRow
from zslab.hub.pagination import Cursor, Limit, paginate
from zslab.hub.slices import (
    audit_fields,
    broker_of,
    check_lease_access,
    in_thread,
    lease_read,
    resolve_project,
    row_read,
    visible_projects,
)
from zslab.ids import new_id
from zslab.schemas import (
    Estimate,
    HeartbeatCreate,
    HeartbeatRead,
    LeaseCreate,
    LeaseEventRead,
    LeaseRead,
    LeaseRenew,
    Page,
    PoolRead,
    Priority,
)

router = APIRouter(route_class=HubRoute, tags=["slices"])


def _service(ctx: Any) -> BrokerService:
    service: BrokerService = ctx.hub.broker
    return service


def _bad_spec(exc: InvalidInput) -> InvalidInput:
    exc.field = "spec"
    return exc


@router.get("/pools", name="pool.list")
async def list_pools(ctx: ReadContext) -> list[PoolRead]:
    """Free capacity per site, pool and model, by MIG profile or share size."""
    return [PoolRead.model_validate(row) for row in broker_of(_service(ctx)).pools()]


@router.post("/leases", status_code=201, name="lease.create", response_model=LeaseRead)
async def create_lease(
    body: LeaseCreate,
    ctx: WriteContext,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Response:
    """Request a slice: granted now (with its placement) or queued (with position and an
    estimated start)."""
    service = _service(ctx)
    try:
        request = parse_request(body.spec)
    except InvalidInput as exc:
        raise _bad_spec(exc) from None
    if body.flexible and (body.priority != "batch" or body.deadline is None):
        raise InvalidInput(
            "Only batch requests with a deadline can be flexible.",
            field="flexible",
            fix="Send priority 'batch' and a deadline, or flexible false.",
        )
    project_id, org_id = await resolve_project(ctx, body.project)
    broker = broker_of(service)
    policy = broker.projects.get(project_id) or ProjectPolicy(project_id, org_id)
    hours = body.hours or policy.ttl_default_h
    if hours > policy.ttl_max_h:
        raise InvalidInput(
            f"{hours:g} hours is longer than this project's maximum lease "
            f"({policy.ttl_max_h:g} h).",
            field="hours",
            fix=f"Ask for at most {policy.ttl_max_h:g} hours and renew while you need it.",
        )
    lease = Lease(
        id=new_id("lse"),
        user_id=ctx.principal.user_id,
        project_id=project_id,
        spec=str(request),
        hours=hours,
        priority=body.priority,
        max_wait_s=body.max_wait_s,
        flexible=body.flexible,
        deadline=body.deadline.timestamp() if body.deadline else None,
    )
    idempotency = None
    if idempotency_key is not None:
        key = idempotency_key.strip().strip('"')
        if not key or len(key) > 255:
            raise InvalidInput(
                "The Idempotency-Key header must be 1-255 printable characters.",
                field="Idempotency-Key",
            )
        fingerprint = hashlib.sha256(
            json.dumps(body.model_dump(mode="json"), sort_keys=True).encode()
        ).hexdigest()
        record = IdempotencyRecord.__table__.c
        stored = await in_thread(
            ctx,
            lambda s: s.execute(
                select(record.fingerprint, record.body).where(
                    record.user_id == ctx.principal.user_id, record.key == key
                )
            ).first(),
        )
        if stored is not None:
            if stored.fingerprint != fingerprint:
                raise Conflict(
                    f"The Idempotency-Key {key!r} was already used for a different request.",
                    field="Idempotency-Key",
                )
            return JSONResponse(
                stored.body, status_code=201, headers={"Idempotent-Replayed": "true"}
            )
        idempotency = (ctx.principal.user_id, key, fingerprint, ctx.request.url.path)

    def apply(broker: Broker, now: float) -> tuple[LeaseRead, list[Any]]:
        if project_id not in broker.projects:
            broker.set_project(ProjectPolicy(project_id, org_id))
        try:
            events = broker.submit(lease, now)
        except ValueError as exc:
            raise InvalidInput(str(exc), field="hours") from exc
        except LookupError as exc:
            raise InvalidInput(
                f"{exc.args[0]}: it is larger than any device or node offers.",
                field="spec",
                fix="Ask for less, or see what exists with `zslab pools`.",
            ) from exc
        return lease_read(service, lease, now=now), events

    result: LeaseRead = await service.run(
        Command(
            apply=apply,
            audit=audit_fields(ctx, object_id=lease.id),
            audit_status=201,
            idempotency=idempotency,
        )
    )
    ctx.request.scope.setdefault("state", {})["zslab_audited"] = True
    return JSONResponse(
        result.model_dump(mode="json"),
        status_code=201,
        headers={"Location": f"{ctx.request.url.path}/{result.id}"},
    )


@router.get("/leases", name="lease.list")
async def list_leases(
    ctx: ReadContext,
    state: Annotated[str | None, Query(description="e.g. granted, queued, or 'live'")] = None,
    project: Annotated[str | None, Query(description="Project id.")] = None,
    mine: Annotated[bool, Query(description="Only leases you requested.")] = False,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[LeaseRead]:
    """Leases of the projects you belong to (all for admins), newest first."""
    service = _service(ctx)
    projects = await visible_projects(ctx)

    def query(session: Any) -> Page[Any]:
        statement = select(LeaseRow)
        if projects is not None:
            statement = statement.where(LeaseRow.project_id.in_(projects))
        if project:
            statement = statement.where(LeaseRow.project_id == project)
        if mine:
            statement = statement.where(LeaseRow.user_id == ctx.principal.user_id)
        if state == "live":
            statement = statement.where(LeaseRow.state.in_(["granted", "active"]))
        elif state:
            statement = statement.where(LeaseRow.state == state)
        return paginate(
            session,
            statement,
            LeaseRow.id,
            limit=limit,
            cursor=cursor,
            to_item=lambda row: row,
            descending=True,
        )

    page = await in_thread(ctx, query)
    return Page[LeaseRead](
        items=[row_read(service, row) for row in page.items], next_cursor=page.next_cursor
    )


async def _lease(ctx: Any, lease_id: str, *, act: bool) -> Lease:
    """A lease in the broker's memory the caller may see (or change)."""
    broker = broker_of(_service(ctx))
    lease = broker.leases.get(lease_id)
    if lease is None:
        row = await in_thread(ctx, lambda s: s.get(LeaseRow, lease_id))
        if row is None:
            raise NotFound(
                f"No lease {lease_id!r}.", field="lease", fix="List yours with `zslab slices ls`."
            )
        await check_lease_access(ctx, row, act=act)
        raise Conflict(
            f"Lease {lease_id} is {row.state}; it can no longer change.",
            field="lease",
            fix="Request a new slice.",
        )
    await check_lease_access(ctx, lease, act=act)
    return lease


@router.get("/leases/{lease_id}", name="lease.get")
async def get_lease(lease_id: str, ctx: ReadContext) -> LeaseRead:
    service = _service(ctx)
    lease = broker_of(service).leases.get(lease_id)
    if lease is not None:
        await check_lease_access(ctx, lease, act=False)
        return lease_read(service, lease)
    row = await in_thread(ctx, lambda s: s.get(LeaseRow, lease_id))
    if row is None:
        raise NotFound(f"No lease {lease_id!r}.", field="lease")
    await check_lease_access(ctx, row, act=False)
    return row_read(service, row)


async def _change(ctx: Any, lease_id: str, apply: Any, *, detail: str | None = None) -> LeaseRead:
    service = _service(ctx)
    lease = await _lease(ctx, lease_id, act=True)

    def run(broker: Broker, now: float) -> tuple[LeaseRead, list[Any]]:
        events = apply(broker, lease, now)
        return lease_read(service, lease, now=now), events

    result: LeaseRead = await service.run(
        Command(apply=run, audit=audit_fields(ctx, object_id=lease_id, detail=detail))
    )
    ctx.request.scope.setdefault("state", {})["zslab_audited"] = True
    return result


@router.post("/leases/{lease_id}/renew", name="lease.renew")
async def renew_lease(lease_id: str, body: LeaseRenew, ctx: WriteContext) -> LeaseRead:
    def apply(broker: Broker, lease: Lease, now: float) -> list[Any]:
        if not lease.live:
            raise Conflict(
                f"Lease {lease.id} is {lease.state}; only a granted lease can be renewed.",
                field="lease",
                fix="Request a new slice." if lease.state in ENDED else "Wait until it is granted.",
            )
        try:
            return broker.renew(lease.id, body.hours, now)
        except ValueError as exc:
            raise InvalidInput(str(exc), field="hours") from exc

    return await _change(ctx, lease_id, apply, detail=f"{body.hours:g} h")


@router.post("/leases/{lease_id}/release", name="lease.release")
async def release_lease(lease_id: str, ctx: WriteContext) -> LeaseRead:
    """Give the slice back (or cancel the request). Releasing an ended lease changes nothing
    and answers its final state."""
    service = _service(ctx)
    if lease_id not in broker_of(service).leases:
        row = await in_thread(ctx, lambda s: s.get(LeaseRow, lease_id))
        if row is not None and row.state in ENDED:
            await check_lease_access(ctx, row, act=True)
            return row_read(service, row)
    return await _change(ctx, lease_id, lambda broker, lease, now: broker.release(lease.id, now))


@router.post("/leases/{lease_id}/heartbeat", name="lease.heartbeat")
async def heartbeat(
    lease_id: str, ctx: WriteContext, body: HeartbeatCreate | None = None
) -> HeartbeatRead:
    """Keep a granted lease alive (and report its utilisation); the answer carries any
    preemption notice."""
    service = _service(ctx)
    lease = await _lease(ctx, lease_id, act=True)
    utilization = body.utilization if body else None

    def apply(broker: Broker, now: float) -> tuple[HeartbeatRead, list[Any]]:
        try:
            events = broker.heartbeat(lease.id, now, utilization)
        except ValueError as exc:
            raise Conflict(str(exc), field="lease") from exc
        from zslab.hub.broker_service import from_ts

        return HeartbeatRead(
            state=lease.state,
            expires_at=from_ts(lease.expires_at),
            preempt_at=from_ts(lease.preempt_at),
            heartbeat_s=service.heartbeat_s,
            reason=lease.reason,
        ), events

    # Heartbeats are frequent and change nothing a reviewer needs: they are not audited
    # one by one (the lease's events record when it became active or expired).
    result: HeartbeatRead = await service.run(Command(apply=apply))
    ctx.request.scope.setdefault("state", {})["zslab_audited"] = True
    return result


@router.get("/leases/{lease_id}/events", name="lease.events")
async def lease_events(lease_id: str, ctx: ReadContext) -> list[LeaseEventRead]:
    row = await in_thread(ctx, lambda s: s.get(LeaseRow, lease_id))
    if row is None:
        raise NotFound(f"No lease {lease_id!r}.", field="lease")
    await check_lease_access(ctx, row, act=False)
    events = await in_thread(
        ctx,
        lambda s: list(
            s.scalars(
                select(LeaseEvent).where(LeaseEvent.lease_id == lease_id).order_by(LeaseEvent.id)
            )
        ),
    )
    return [LeaseEventRead.model_validate(e) for e in events]


@router.get("/events", name="event.stream")
async def event_stream(
    request: Request,
    ctx: ReadContext,
    lease: Annotated[str | None, Query(description="Only this lease's events.")] = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> StreamingResponse:
    """Lease events as server-sent events (``text/event-stream``); reconnect with
    ``Last-Event-ID`` to receive what was missed."""
    service = _service(ctx)
    projects = await visible_projects(ctx)
    subscriber = service.subscribe(projects, lease)
    after = int(last_event_id) if last_event_id and last_event_id.isdigit() else None
    missed: list[dict[str, Any]] = []
    if after is not None:

        def query(session: Any) -> list[dict[str, Any]]:
            statement = select(LeaseEvent).where(LeaseEvent.id > after).order_by(LeaseEvent.id)
            if projects is not None:
                statement = statement.where(LeaseEvent.project_id.in_(projects))
            if lease:
                statement = statement.where(LeaseEvent.lease_id == lease)
            return [
                {
                    "id": e.id,
                    "lease_id": e.lease_id,
                    "project_id": e.project_id,
                    "at": e.at.isoformat(),
                    "type": e.type,
                    "state": e.state,
                    "reason": e.reason,
                    "data": e.data,
                }
                for e in session.scalars(statement.limit(1000))
            ]

        missed = await in_thread(ctx, query)

    async def stream() -> AsyncIterator[bytes]:
        try:
            yield b": zslab lease events\n\n"
            for message in missed:
                yield _sse(message)
            while True:
                if await request.is_disconnected():
                    return
                try:
                    item = await asyncio.wait_for(subscriber.queue.get(), timeout=15)
                except TimeoutError:
                    yield b": keep-alive\n\n"
                    continue
                if item is None:
                    return
                yield _sse(item)
        finally:
            service.unsubscribe(subscriber)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _sse(message: dict[str, Any]) -> bytes:
    data = json.dumps(message, ensure_ascii=False)
    return f"id: {message['id']}\nevent: {message['type']}\ndata: {data}\n\n".encode()


@router.get("/estimate", name="estimate.get")
async def estimate(
    ctx: ReadContext,
    spec: Annotated[str, Query(min_length=1, description="e.g. h100:3g.40gb")],
    hours: Annotated[float, Query(gt=0, le=24 * 365)] = 1.0,
    priority: Priority = "interactive",
    start: datetime | None = None,
) -> Estimate:
    """What a request would cost (time-of-use tariff, subsidy) and whether it fits now; with
    the cheapest start within a day, for flexible work."""
    from zslab.compute.broker import Lease as DraftLease
    from zslab.compute.tariff import cheapest_start

    try:
        request = parse_request(spec)
    except InvalidInput as exc:
        raise _bad_spec(exc) from None
    broker = broker_of(_service(ctx))
    if not broker.cluster.could_ever_fit(request):
        raise InvalidInput(f"No node could ever hold {request}.", field="spec")
    draft = DraftLease(
        id="estimate", user_id="", project_id="", spec=str(request), hours=hours, priority=priority
    )
    power_kw = broker._power_kw(request)
    begin = start or datetime.now(UTC)
    if begin.tzinfo is None:
        begin = begin.replace(tzinfo=UTC)
    tariff = broker.tariff
    cost = tariff.energy_cost(begin, begin + timedelta(hours=hours), power_kw)
    choice = cheapest_start(
        tariff=tariff,
        earliest=begin,
        deadline=begin + timedelta(hours=hours + 24),
        hours=hours,
        power_kw=power_kw,
    )
    queue_ahead = sum(
        1
        for lease_id in broker.queue
        if (broker.leases[lease_id].priority == "interactive" or priority == "batch")
    )
    return Estimate(
        spec=draft.spec,
        hours=hours,
        grantable_now=broker.policy.decide(broker.cluster, request) is not None,
        queue_ahead=queue_ahead,
        energy_kwh=round(cost.kwh, 4),
        cost=round(cost.cost, 4),
        subsidy=round(cost.subsidy, 4),
        net_cost=round(cost.net_cost, 4),
        currency=tariff.currency,
        tariff=tariff.name,
        tariff_is_example=tariff.example,
        cheapest_start=choice.start if choice.saving > 0 else None,
        cheapest_saving=round(choice.saving, 4) if choice.saving > 0 else None,
    )
