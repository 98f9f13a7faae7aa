"""The hub's side of the slice broker: one writer, group commit, recovery, live events.

Every broker command (request, release, renew, heartbeat, tick …) goes through one asyncio
queue. A single task takes the commands waiting there as a batch, applies them to the in-memory
:class:`~zslab.compute.broker.Broker` in order, and writes the resulting lease rows, lease events,
audit events and idempotency records in **one transaction** before any of those callers is
answered. So:

- a grant is durable before the client hears of it (events are the write-ahead record);
- concurrent requests never race: the broker is only ever touched by that task;
- commit costs are shared by the whole batch (group commit), which keeps latency flat under load;
- if the write fails the in-memory broker is rebuilt from the database, so memory never runs
  ahead of what was acknowledged; the hub does the same at start (:meth:`BrokerService.load`).

Committed events are also published to server-sent-event subscribers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import anyio
from sqlalchemy import insert, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from zslab.compute.broker import (
    ENDED,
    LIVE,
    Broker,
    BrokerSettings,
    Event,
    Lease,
    ProjectPolicy,
    Reservation,
    device_share,
    parts_from_data,
    placement_data,
)
from zslab.compute.cluster import Placement
from zslab.compute.inventory import Inventory
from zslab.errors import ZslabError
from zslab.hub.db.engine import storage_error
from zslab.hub.db.orm import (
    AuditEvent,
    DrainedNode,
    FairShareRow,
    IdempotencyRecord,
    InventoryRow,
    LeaseEvent,
    LeaseRow,
    OrgQuotaRow,
    Project,
    ProjectPolicyRow,
    ReservationRow,
    utcnow,
)

__all__ = ["BrokerService", "from_ts", "to_ts"]

log = logging.getLogger(__name__)

BATCH_MAX = 256


def to_ts(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


def from_ts(value: float | None) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value is not None else None


@dataclass
class Command:
    """One request for the broker, with what must be written alongside its effects."""

    apply: Callable[[Broker, float], Any]  # returns (result, events)
    audit: dict[str, Any] | None = None  # an audit row (without status/outcome)
    audit_status: int = 200
    idempotency: tuple[str, str, str, str] | None = None  # user, key, fingerprint, path
    rows: Callable[[Broker, Any], list[Any]] | None = None  # extra rows to write
    reload: bool = False  # rebuild the broker from the database once this is committed
    future: asyncio.Future[Any] | None = None


@dataclass(eq=False)  # compared and hashed by identity: kept in a set
class Subscriber:
    queue: asyncio.Queue[dict[str, Any] | None]
    projects: set[str] | None  # None: everything (admins)
    lease_id: str | None = None


@dataclass
class _Batch:
    leases: dict[str, Lease] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    rows: list[Any] = field(default_factory=list)


class BrokerService:
    """Owns the hub's broker: load, command loop, ticker, subscribers."""

    def __init__(self, hub: Any) -> None:
        self.hub = hub
        self.broker: Broker | None = None
        self.queue: asyncio.Queue[Command] = asyncio.Queue()
        self.subscribers: set[Subscriber] = set()
        # In-process listeners (the slice runtime): called with every committed batch of events.
        self.listeners: list[Callable[[list[Event]], None]] = []
        self.runtime: Any = None  # the SliceRuntime, when lease workers are launched
        self._tasks: list[asyncio.Task[Any]] = []
        self._replies: OrderedDict[tuple[str, str], tuple[str, Any]] = OrderedDict()
        self._reservation_states: dict[str, str] = {}
        self.last_event_id = 0
        self._last_fair_share_save = 0.0

    # --- life cycle --------------------------------------------------------------------------

    @property
    def settings(self) -> Any:
        return self.hub.settings

    @property
    def heartbeat_s(self) -> float:
        return float(self.settings.heartbeat_s)

    async def start(self) -> None:
        self.broker = await anyio.to_thread.run_sync(self.load)
        self._tasks = [
            asyncio.create_task(self._run(), name="zslab-broker"),
            asyncio.create_task(self._tick_loop(), name="zslab-broker-tick"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        for subscriber in list(self.subscribers):
            subscriber.queue.put_nowait(None)

    def _inventory(self, session: Session) -> Inventory:
        row = session.scalars(select(InventoryRow).order_by(InventoryRow.id.desc())).first()
        if row is not None:
            return Inventory.from_yaml(row.document, source=f"inventory #{row.id}")
        path = self.settings.inventory
        return Inventory.from_yaml(path) if path else Inventory.demo()

    def load(self) -> Broker:
        """Build the broker from the database (at start, and after a failed write)."""
        from zslab.compute.tariff import load_tariff

        now = time.time()
        with self.hub.db.read_session() as session:
            inventory = self._inventory(session)
            broker = Broker(
                inventory,
                policy=self.settings.placement_policy,
                settings=BrokerSettings(
                    heartbeat_s=self.settings.heartbeat_s,
                    preemption_grace_s=self.settings.preemption_grace_s,
                    forget_ended_s=120.0,  # the database answers for older ended leases
                ),
                tariff=load_tariff(self.settings.tariff),
            )
            policies = {row.project_id: row for row in session.scalars(select(ProjectPolicyRow))}
            for project in session.scalars(select(Project)):
                broker.set_project(
                    policy_from_row(project.id, project.org_id, policies.get(project.id))
                )
            broker.org_quotas = {
                row.org_id: row.quota_units for row in session.scalars(select(OrgQuotaRow))
            }
            for drained in session.scalars(select(DrainedNode)):
                with contextlib.suppress(KeyError):
                    broker.cluster.set_drained(broker.cluster.node_index(drained.node), True)
            leases = [
                lease_from_row(row)
                for row in session.scalars(
                    select(LeaseRow).where(LeaseRow.state.in_(["queued", *LIVE]))
                )
            ]
            reservations = [
                reservation_from_row(row)
                for row in session.scalars(
                    select(ReservationRow).where(ReservationRow.state.in_(["scheduled", "active"]))
                )
            ]
            usage = {
                row.project_id: [row.gpu, row.cpu, row.memory]
                for row in session.scalars(select(FairShareRow))
            }
            last = session.scalars(select(LeaseEvent.id).order_by(LeaseEvent.id.desc())).first()
            self.last_event_id = last or 0
        broker.restore(leases, reservations, usage=usage, now=now)
        self._reservation_states = {r.id: r.state for r in broker.reservations.values()}
        log.info(
            "broker loaded: %d nodes, %d live leases, %d queued",
            len(inventory.nodes),
            sum(1 for lease in leases if lease.live),
            len(broker.queue),
        )
        return broker

    # --- submitting commands -------------------------------------------------------------

    async def run(self, command: Command) -> Any:
        """Queue a command and wait until its effects are committed."""
        if command.idempotency is not None:
            user, key, fingerprint, _ = command.idempotency
            cached = self._replies.get((user, key))
            if cached is not None:
                return replay_or_conflict(cached, fingerprint, key)
        loop = asyncio.get_running_loop()
        command.future = loop.create_future()
        await self.queue.put(command)
        return await command.future

    async def _tick_loop(self) -> None:
        period = max(0.05, min(1.0, self.heartbeat_s / 4))
        while True:
            await asyncio.sleep(period)
            try:
                await self.run(Command(apply=lambda broker, now: (None, broker.tick(now))))
            except ZslabError as exc:  # storage trouble: try again next period
                log.warning("broker tick failed: %s", exc)

    async def _run(self) -> None:
        while True:
            batch = [await self.queue.get()]
            while len(batch) < BATCH_MAX and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            try:
                await self._process(batch)
            except Exception as exc:  # never let the loop die; fail the batch instead
                log.exception("broker batch failed")
                for command in batch:
                    if command.future is not None and not command.future.done():
                        command.future.set_exception(exc)

    async def _process(self, commands: list[Command]) -> None:
        broker = self.broker
        assert broker is not None
        now = time.time()
        batch = _Batch()
        outcomes: list[tuple[Command, Any, BaseException | None]] = []
        seen_keys: dict[tuple[str, str], int] = {}
        for command in commands:
            if command.idempotency is not None:
                user, key, fingerprint, _ = command.idempotency
                first = seen_keys.get((user, key))
                if first is not None:  # the same key twice in one batch: answer as the first
                    outcomes.append((command, ("same", first, fingerprint), None))
                    continue
                seen_keys[(user, key)] = len(outcomes)
            try:
                result, events = command.apply(broker, now)
            except BaseException as exc:  # domain errors become the caller's problem
                outcomes.append((command, None, exc))
                continue
            for event in events:
                batch.events.append(event)
                lease = broker.leases.get(event.lease_id)
                if lease is not None:
                    batch.leases[lease.id] = lease
            if command.rows is not None:
                batch.rows.extend(command.rows(broker, result))
            outcomes.append((command, result, None))
        self._collect_reservation_changes(broker, batch)
        if now - self._last_fair_share_save > 60:
            self._last_fair_share_save = now
            batch.rows.extend(
                FairShareRow(project_id=p, gpu=v[0], cpu=v[1], memory=v[2], at=utcnow())
                for p, v in broker.usage.items()
            )
        records = self._records(outcomes)
        if batch.leases or batch.events or batch.rows or records:
            try:
                event_ids = await anyio.to_thread.run_sync(self._persist, batch, records, outcomes)
            except DBAPIError as exc:
                failure = storage_error(exc, self.hub.db)
                log.error("broker write failed (%s); reloading from the database", exc.orig)
                try:
                    self.broker = await anyio.to_thread.run_sync(self.load)
                except Exception:  # the database is still unusable: keep serving reads
                    log.exception("reload failed")
                for command, _, _ in outcomes:
                    if command.future is not None and not command.future.done():
                        command.future.set_exception(failure)
                return
            self._publish(batch.events, event_ids)
        if any(command.reload and error is None for command, _, error in outcomes):
            self.broker = await anyio.to_thread.run_sync(self.load)
        for command, result, error in outcomes:
            future = command.future
            if future is None or future.done():
                continue
            if error is not None:
                future.set_exception(error)
            elif isinstance(result, tuple) and len(result) == 3 and result[0] == "same":
                _, index, fingerprint = result
                first_command, first_result, first_error = outcomes[index]
                assert first_command.idempotency is not None
                if first_error is not None:
                    future.set_exception(first_error)
                elif first_command.idempotency[2] != fingerprint:
                    future.set_exception(key_reused(first_command.idempotency[1]))
                else:
                    future.set_result(first_result)
            else:
                future.set_result(result)

    def _records(
        self, outcomes: list[tuple[Command, Any, BaseException | None]]
    ) -> list[tuple[type[Any], dict[str, Any]]]:
        """Audit rows and idempotency records of the successful commands, as (model, values)."""
        rows: list[tuple[type[Any], dict[str, Any]]] = []
        for command, result, error in outcomes:
            if error is not None or (isinstance(result, tuple) and result[:1] == ("same",)):
                continue
            if command.audit is not None:
                audit = dict(command.audit)
                if audit.get("object_id") is None:
                    audit["object_id"] = getattr(result, "id", None)
                rows.append(
                    (AuditEvent, {**audit, "status": command.audit_status, "outcome": "success"})
                )
            if command.idempotency is not None:
                user, key, fingerprint, path = command.idempotency
                body = result_body(result)
                rows.append(
                    (
                        IdempotencyRecord,
                        {
                            "user_id": user,
                            "key": key,
                            "fingerprint": fingerprint,
                            "status": 201,
                            "location": f"{path}/{body.get('id')}",
                            "body": body,
                        },
                    )
                )
                self._replies[(user, key)] = (fingerprint, result)
                while len(self._replies) > 10_000:
                    self._replies.popitem(last=False)
        return rows

    def _collect_reservation_changes(self, broker: Broker, batch: _Batch) -> None:
        for reservation in broker.reservations.values():
            if self._reservation_states.get(reservation.id) != reservation.state:
                self._reservation_states[reservation.id] = reservation.state
                batch.rows.append(("reservation_state", reservation.id, reservation.state))

    def _persist(
        self,
        batch: _Batch,
        records: list[Any],
        outcomes: list[tuple[Command, Any, BaseException | None]],
    ) -> list[int]:
        broker = self.broker
        assert broker is not None
        created = {e.lease_id for e in batch.events if e.type == "requested"}
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        for lease in batch.leases.values():
            (inserts if lease.id in created else updates).append(lease_values(broker, lease))
        events = [
            {
                "lease_id": event.lease_id,
                "project_id": broker.leases[event.lease_id].project_id
                if event.lease_id in broker.leases
                else "",
                "at": from_ts(event.at),
                "type": event.type,
                "state": event.state,
                "reason": event.reason,
                "data": event.data,
            }
            for event in batch.events
        ]
        with self.hub.db.write_session() as session:
            # Bulk statements, not the unit of work: this runs once per batch on the hot path.
            if inserts:
                session.execute(insert(LeaseRow), inserts)
            if updates:
                session.execute(update(LeaseRow), updates)  # by primary key
            ids: list[int] = []
            if events:
                ids = list(
                    session.scalars(
                        insert(LeaseEvent).returning(LeaseEvent.id, sort_by_parameter_order=True),
                        events,
                    )
                )
            for row in batch.rows:
                if isinstance(row, tuple) and row[0] == "reservation_state":
                    reservation = session.get(ReservationRow, row[1])
                    if reservation is not None:
                        reservation.state = row[2]
                elif isinstance(row, FairShareRow):
                    session.merge(row)
                elif isinstance(row, tuple) and row[0] == "delete":
                    target = session.get(row[1], row[2])
                    if target is not None:
                        session.delete(target)
                else:
                    session.merge(row) if isinstance(
                        row, ProjectPolicyRow | OrgQuotaRow | DrainedNode
                    ) else session.add(row)
            by_model: dict[type[Any], list[dict[str, Any]]] = {}
            for model, values in records:
                by_model.setdefault(model, []).append(values)
            for model, values_list in by_model.items():
                session.execute(insert(model), values_list)
            session.commit()
        if ids:
            self.last_event_id = max(self.last_event_id, ids[-1])
        return ids

    # --- subscribers -----------------------------------------------------------------------

    def subscribe(self, projects: set[str] | None, lease_id: str | None = None) -> Subscriber:
        subscriber = Subscriber(asyncio.Queue(maxsize=1000), projects, lease_id)
        self.subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.discard(subscriber)

    def _publish(self, events: list[Event], ids: list[int]) -> None:
        if events:
            for listener in self.listeners:
                try:
                    listener(events)
                except Exception:  # a listener's bug must not stop the broker
                    log.exception("broker event listener failed")
        if not self.subscribers or not events:
            return
        broker = self.broker
        assert broker is not None
        for event, event_id in zip(events, ids, strict=False):
            lease = broker.leases.get(event.lease_id)
            project = lease.project_id if lease else ""
            message = event_message(event_id, event, project)
            for subscriber in list(self.subscribers):
                if subscriber.lease_id is not None and subscriber.lease_id != event.lease_id:
                    continue
                if subscriber.projects is not None and project not in subscriber.projects:
                    continue
                try:
                    subscriber.queue.put_nowait(message)
                except asyncio.QueueFull:  # a reader too slow to keep up is cut off
                    self.subscribers.discard(subscriber)
                    with contextlib.suppress(asyncio.QueueFull):
                        subscriber.queue.put_nowait(None)


# --- conversions ------------------------------------------------------------------------------


def policy_from_row(project_id: str, org_id: str, row: ProjectPolicyRow | None) -> ProjectPolicy:
    if row is None:
        return ProjectPolicy(project_id, org_id)
    return ProjectPolicy(
        project_id,
        org_id,
        quota_units=row.quota_units,
        ttl_default_h=row.ttl_default_h,
        ttl_max_h=row.ttl_max_h,
        idle_limit_min=row.idle_limit_min,
        weight=row.weight,
        cohort=row.cohort,
        worker_restarts=row.worker_restarts,
    )


def lease_from_row(row: LeaseRow) -> Lease:
    placement = None
    if row.placement is not None:
        data = row.placement
        placement = Placement(
            node=-1,
            node_name=data["node"],
            parts=parts_from_data(data),
            cpu_milli=data.get("cpu_milli", 0),
            memory_mib=data.get("memory_mib", 0),
            tag="",
        )
    return Lease(
        id=row.id,
        user_id=row.user_id,
        project_id=row.project_id,
        spec=row.spec,
        hours=row.hours,
        priority=row.priority,  # type: ignore[arg-type]
        state=row.state,  # type: ignore[arg-type]
        created_at=row.created_at.timestamp(),
        granted_at=to_ts(row.granted_at),
        expires_at=to_ts(row.expires_at),
        ended_at=to_ts(row.ended_at),
        last_heartbeat_at=to_ts(row.last_heartbeat_at),
        placement=placement,
        units=row.units,
        borrowed=row.borrowed,
        reservation_id=row.reservation_id,
        lent_from=row.lent_from,
        max_wait_s=row.max_wait_s,
        flexible=row.flexible,
        deadline=to_ts(row.deadline),
        not_before=to_ts(row.not_before),
        preempt_at=to_ts(row.preempt_at),
        reason=row.reason,
        utilization=row.utilization,
        idle_since=to_ts(row.idle_since),
    )


def reservation_from_row(row: ReservationRow) -> Reservation:
    return Reservation(
        id=row.id,
        project_id=row.project_id,
        spec=row.spec,
        count=row.count,
        start=row.start_at.timestamp(),
        end=row.end_at.timestamp(),
        state=row.state,  # type: ignore[arg-type]
    )


def lease_values(broker: Broker, lease: Lease) -> dict[str, Any]:
    placement = None
    if lease.placement is not None and (lease.live or lease.state in ENDED):
        placement = placement_data(broker.cluster, lease.placement)
    return {
        "id": lease.id,
        "user_id": lease.user_id,
        "project_id": lease.project_id,
        "spec": lease.spec,
        "priority": lease.priority,
        "state": lease.state,
        "hours": lease.hours,
        "created_at": from_ts(lease.created_at),
        "granted_at": from_ts(lease.granted_at),
        "expires_at": from_ts(lease.expires_at),
        "ended_at": from_ts(lease.ended_at),
        "last_heartbeat_at": from_ts(lease.last_heartbeat_at),
        "placement": placement,
        "units": lease.units,
        "borrowed": lease.borrowed,
        "reservation_id": lease.reservation_id,
        "lent_from": lease.lent_from,
        "max_wait_s": lease.max_wait_s,
        "flexible": lease.flexible,
        "deadline": from_ts(lease.deadline),
        "not_before": from_ts(lease.not_before),
        "preempt_at": from_ts(lease.preempt_at),
        "reason": lease.reason,
        "utilization": lease.utilization,
        "idle_since": from_ts(lease.idle_since),
        "metering": meter_lease(broker, lease) if lease.state in ENDED else None,
    }


def meter_lease(
    broker: Broker, lease: Lease, *, until: float | None = None
) -> dict[str, Any] | None:
    """Slice-hours, energy, cost and CO2 of a lease from grant to end (or ``until``)."""
    from zslab.compute.tariff import meter

    if lease.placement is None or lease.granted_at is None or broker.tariff is None:
        return None
    end = lease.ended_at if lease.ended_at is not None else (until or time.time())
    if end <= lease.granted_at:
        end = lease.granted_at + 1e-3
    node = broker.cluster.nodes[broker.cluster.node_index(lease.placement.node_name)]
    if node.model is None:
        return None
    share = sum(device_share(node, part) for part in lease.placement.parts)
    metering = meter(
        model=node.model,
        share=share,
        start=from_ts(lease.granted_at),  # type: ignore[arg-type]
        end=from_ts(end),  # type: ignore[arg-type]
        tariff=broker.tariff,
    )
    return metering.to_mapping()


def event_message(event_id: int, event: Event, project_id: str) -> dict[str, Any]:
    return {
        "id": event_id,
        "lease_id": event.lease_id,
        "project_id": project_id,
        "at": from_ts(event.at).isoformat() if from_ts(event.at) else None,  # type: ignore[union-attr]
        "type": event.type,
        "state": event.state,
        "reason": event.reason,
        "data": event.data,
    }


def result_body(result: Any) -> dict[str, Any]:
    dump = getattr(result, "model_dump", None)
    return dump(mode="json") if dump else {}


def key_reused(key: str) -> ZslabError:
    from zslab.errors import Conflict

    return Conflict(
        f"The Idempotency-Key {key!r} was already used for a different request.",
        field="Idempotency-Key",
        fix="Use a new key for a new request; reuse a key only to retry the same one.",
    )


def replay_or_conflict(cached: tuple[str, Any], fingerprint: str, key: str) -> Any:
    if cached[0] != fingerprint:
        raise key_reused(key)
    return cached[1]
