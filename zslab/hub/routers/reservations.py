"""``/api/v1/reservations``: slices held for a project's class during a time window."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import select
from starlette.responses import Response

from zslab.compute.broker import Broker, Reservation
from zslab.compute.request import parse_request
from zslab.errors import Forbidden, InvalidInput, NotFound
from zslab.hub.broker_service import BrokerService, Command, from_ts
from zslab.hub.context import HubRoute, ReadContext, WriteContext
from zslab.hub.db.orm import ReservationRow
from zslab.hub.slices import _managed as managed_projects
from zslab.hub.slices import audit_fields, broker_of, in_thread, resolve_project, visible_projects
from zslab.ids import new_id
from zslab.schemas import ReservationCreate, ReservationRead

router = APIRouter(route_class=HubRoute, prefix="/reservations", tags=["reservations"])


def _read(service: BrokerService, row: ReservationRow) -> ReservationRead:
    broker = broker_of(service)
    live = broker.reservations.get(row.id)
    in_use = sum(1 for lease in broker.live.values() if lease.reservation_id == row.id)
    return ReservationRead(
        id=row.id,
        project_id=row.project_id,
        spec=row.spec,
        count=row.count,
        start_at=row.start_at,
        end_at=row.end_at,
        state=live.state if live is not None else row.state,
        created_by=row.created_by,
        note=row.note,
        held=len(live.holds) if live else 0,
        in_use=in_use,
        lent=len(live.lent) if live else 0,
    )


async def _require_manager(ctx: Any, project_id: str, what: str) -> None:
    if ctx.principal.is_admin:
        return
    managed = await in_thread(ctx, lambda s: managed_projects(s, ctx.principal.user_id))
    if project_id not in managed:
        raise Forbidden(
            f"Only maintainers of the project (or owners of its organization) can {what}.",
            field="project",
            fix="Ask the course's maintainer, or an admin.",
        )


@router.post("", status_code=201, name="reservation.create", response_model=ReservationRead)
async def create_reservation(body: ReservationCreate, ctx: WriteContext) -> Response:
    """Hold ``count`` slices of ``spec`` for a project between ``start`` and ``end``; until the
    window opens they serve anyone, and idle held slices are lent to preemptible batch work."""
    service: BrokerService = ctx.hub.broker
    try:
        request = parse_request(body.spec)
    except InvalidInput as exc:
        exc.field = "spec"
        raise
    if body.end <= body.start:
        raise InvalidInput("The reservation must end after it starts.", field="end")
    project_id, _ = await resolve_project(ctx, body.project)
    await _require_manager(ctx, project_id, "reserve slices for it")
    reservation = Reservation(
        id=new_id("rsv"),
        project_id=project_id,
        spec=str(request),
        count=body.count,
        start=body.start.timestamp(),
        end=body.end.timestamp(),
    )
    row = ReservationRow(
        id=reservation.id,
        project_id=project_id,
        spec=reservation.spec,
        count=body.count,
        start_at=from_ts(reservation.start),
        end_at=from_ts(reservation.end),
        state="scheduled",
        created_by=ctx.principal.user_id,
        note=body.note,
    )

    def apply(broker: Broker, now: float) -> tuple[Reservation, list[Any]]:
        try:
            events = broker.add_reservation(reservation, now)
        except (ValueError, LookupError) as exc:
            raise InvalidInput(str(exc.args[0]), field="spec") from exc
        return reservation, events

    await service.run(
        Command(
            apply=apply,
            audit=audit_fields(ctx, object_id=reservation.id),
            audit_status=201,
            rows=lambda broker, result: [row],
        )
    )
    ctx.request.scope.setdefault("state", {})["zslab_audited"] = True
    from starlette.responses import JSONResponse

    return JSONResponse(_read(service, row).model_dump(mode="json"), status_code=201)


@router.get("", name="reservation.list")
async def list_reservations(ctx: ReadContext) -> list[ReservationRead]:
    service: BrokerService = ctx.hub.broker
    projects = await visible_projects(ctx)

    def query(session: Any) -> list[ReservationRow]:
        statement = select(ReservationRow).order_by(ReservationRow.start_at.desc())
        if projects is not None:
            statement = statement.where(ReservationRow.project_id.in_(projects))
        return list(session.scalars(statement.limit(500)))

    return [_read(service, row) for row in await in_thread(ctx, query)]


@router.delete("/{reservation_id}", name="reservation.cancel")
async def cancel_reservation(reservation_id: str, ctx: WriteContext) -> ReservationRead:
    service: BrokerService = ctx.hub.broker
    row = await in_thread(ctx, lambda s: s.get(ReservationRow, reservation_id))
    if row is None:
        raise NotFound(f"No reservation {reservation_id!r}.", field="reservation")
    await _require_manager(ctx, row.project_id, "cancel its reservations")

    def apply(broker: Broker, now: float) -> tuple[None, list[Any]]:
        if reservation_id not in broker.reservations:
            return None, []
        return None, broker.cancel_reservation(reservation_id, now)

    await service.run(
        Command(
            apply=apply,
            audit=audit_fields(ctx, object_id=reservation_id),
            rows=lambda broker, result: [("reservation_state", reservation_id, "cancelled")],
        )
    )
    ctx.request.scope.setdefault("state", {})["zslab_audited"] = True
    row = await in_thread(ctx, lambda s: s.get(ReservationRow, reservation_id))
    assert row is not None
    return _read(service, row)
