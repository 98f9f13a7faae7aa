"""The slice broker: leases, the queue, quotas, fair share, reservations and preemption.

Pure domain logic over an in-memory :class:`~zslab.compute.cluster.Cluster`. Every command
(:meth:`Broker.submit`, :meth:`~Broker.release`, :meth:`~Broker.renew`,
:meth:`~Broker.heartbeat`, :meth:`~Broker.tick` …) mutates the state and returns the
:class:`Event` list describing what happened; the hub persists those events before it answers
and rebuilds a broker from them (:meth:`Broker.restore`) after a restart. Time is passed in
(``now``, seconds since the epoch), so tests and simulations drive the clock.

A lease moves ``requested → queued → granted → active → released | expired | preempted |
failed``:

- it is granted when it fits (placement policy, drained nodes avoided) and its project's quota
  allows, borrowing idle quota of its cohort when its own is used up (borrowed leases may be
  reclaimed);
- otherwise it waits; the queue is ordered by priority class (interactive before batch), then
  fair share (weighted dominant-resource share of decayed recent use), then age; smaller requests
  that fit now may go first only if they end before the head could start (backfill);
- an interactive request, a member of a class drawing on its reservation, or a project reclaiming
  its own quota may preempt batch, borrowed or lent leases: the victim gets a
  ``preemption_notice`` event and a grace period before it is stopped;
- a granted lease must be heartbeated; it expires at its TTL, after missed heartbeats, or when
  reported idle past its project's idle limit;
- a flexible batch request with a deadline is deferred to the cheapest tariff window that still
  meets its deadline.
"""

from __future__ import annotations

import heapq
import math
import re
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from zslab.compute.cluster import MILLI, Cluster, NodeState, Part, Placement, capacity
from zslab.compute.devices import find_model
from zslab.compute.frag import Workload
from zslab.compute.inventory import Inventory
from zslab.compute.mig import COMPUTE_SLICES, MEMORY_SLICES
from zslab.compute.placement import Policy, make_policy
from zslab.compute.request import (
    MemorySize,
    MigSize,
    ShareSize,
    SliceRequest,
    WholeSize,
    parse_request,
)

__all__ = [
    "ENDED",
    "LIVE",
    "Broker",
    "BrokerSettings",
    "Event",
    "Lease",
    "ProjectPolicy",
    "Reservation",
    "default_workload",
    "device_share",
    "parts_from_data",
    "placement_data",
    "preempt_target",
    "quota_units",
]

LeaseState = Literal[
    "requested", "queued", "granted", "active", "released", "expired", "preempted", "failed"
]
Priority = Literal["interactive", "batch"]
LIVE = frozenset({"granted", "active"})
ENDED = frozenset({"released", "expired", "preempted", "failed"})
STATES = frozenset({"requested", "queued", *LIVE, *ENDED})
NOTE_TYPE = re.compile(r"[a-z][a-z0-9_]{1,39}")
_PRIORITY_RANK = {"interactive": 0, "batch": 1}
# Urgent requests behind the queue's head that may look for victims in one scheduling pass.
_PREEMPTING_PER_PASS = 16
HOUR = 3600.0


@dataclass(frozen=True)
class BrokerSettings:
    heartbeat_s: float = 30.0  # clients heartbeat this often
    missed_heartbeats: int = 3  # a lease dies after this many intervals without one
    preemption_grace_s: float = 120.0
    idle_threshold: float = 0.05  # utilisation below this counts as idle
    fair_share_half_life_s: float = 7 * 24 * HOUR
    reservation_lead_s: float = 120.0  # holds are claimed this long before a window opens
    max_units_per_lease: float = 64.0
    # "fair": priority class, fair share, age, with backfill and preemption. "fifo": plain
    # first come, first served (no classes, no backfill, no preemption), the baseline.
    queue_order: Literal["fair", "fifo"] = "fair"
    forget_ended_s: float = 3600.0  # ended leases stay in memory this long (the database keeps all)


@dataclass
class ProjectPolicy:
    """What a project may use: quota (GPU units), lease lifetimes, idleness, weight, cohort."""

    project_id: str
    org_id: str = ""
    quota_units: float | None = None  # None: no limit of its own
    ttl_default_h: float = 4.0
    ttl_max_h: float = 24.0
    idle_limit_min: float | None = None
    weight: float = 1.0
    cohort: str | None = None  # projects that lend each other idle quota (default: the org)
    worker_restarts: int = 1  # times a lease's worker that died is restarted before it fails

    @property
    def cohort_key(self) -> str:
        return self.cohort or self.org_id or self.project_id


@dataclass(frozen=True)
class Event:
    """Something that happened to a lease (or a reservation), in order."""

    lease_id: str
    type: str
    state: str
    reason: str
    at: float
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Lease:
    """A request for a slice and, once granted, the slice."""

    id: str
    user_id: str
    project_id: str
    spec: str
    hours: float
    priority: Priority = "interactive"
    state: LeaseState = "requested"
    created_at: float = 0.0
    granted_at: float | None = None
    expires_at: float | None = None
    ended_at: float | None = None
    last_heartbeat_at: float | None = None
    placement: Placement | None = None
    units: float = 0.0
    borrowed: bool = False
    reservation_id: str | None = None  # drawing on this reservation's holds
    lent_from: str | None = None  # batch work running on a reservation's idle hold
    max_wait_s: float | None = None
    flexible: bool = False
    deadline: float | None = None
    not_before: float | None = None
    preempt_at: float | None = None
    preempt_for: str | None = None  # the lease or reservation its preemption makes room for
    reason: str = ""
    utilization: float | None = None
    idle_since: float | None = None
    tried_epoch: int = -1  # capacity epoch of its last failed attempt (skip until it changes)
    blocked: Literal["", "capacity", "quota"] = ""  # why its last attempt failed
    _request: SliceRequest | None = field(default=None, repr=False)

    @property
    def request(self) -> SliceRequest:
        if self._request is None:
            self._request = parse_request(self.spec)
        return self._request

    @property
    def live(self) -> bool:
        return self.state in LIVE


@dataclass
class Reservation:
    """``count`` slices of ``spec`` held for ``project_id`` between ``start`` and ``end``."""

    id: str
    project_id: str
    spec: str
    count: int
    start: float
    end: float
    state: Literal["scheduled", "active", "ended", "cancelled"] = "scheduled"
    holds: list[Placement] = field(default_factory=list)
    lent: set[str] = field(default_factory=set)  # lease ids running on its capacity

    @property
    def request(self) -> SliceRequest:
        return parse_request(self.spec)


def device_share(node: NodeState, part: Part) -> float:
    """The fraction of one device's power a part uses (MIG: its compute slices)."""
    if part.profile is not None and node.model is not None and node.model.mig is not None:
        return node.model.mig.get(part.profile).compute_slices / COMPUTE_SLICES
    return part.milli / MILLI


def quota_units(node: NodeState, parts: Sequence[Part]) -> float:
    """GPU units a placement counts against quota: a MIG instance its memory slices of 8, a
    share its compute, a whole device 1 — so a 7g.80gb is a whole GPU and a 1g.10gb an eighth."""
    units = 0.0
    for part in parts:
        if part.profile is not None and node.model is not None and node.model.mig is not None:
            units += node.model.mig.get(part.profile).memory_slices / MEMORY_SLICES
        else:
            units += part.milli / MILLI
    return units


def _matches(reservation: Reservation, request: SliceRequest) -> bool:
    """Whether a request can be served by one of a reservation's holds."""
    wanted = reservation.request
    return (
        request.size == wanted.size
        and request.count == 1
        and (
            request.models is None or wanted.models is None or bool(request.models & wanted.models)
        )
    )


class Broker:
    """The in-memory broker. Not thread-safe: the hub drives it from one place."""

    def __init__(
        self,
        inventory: Inventory,
        *,
        policy: str = "zslab",
        workload: Workload | None = None,
        settings: BrokerSettings | None = None,
        tariff: Any = None,
        tie_seed: int = 0,
    ) -> None:
        self.inventory = inventory
        self.settings = settings or BrokerSettings()
        self.tariff = tariff
        self.cluster = Cluster(inventory, tie_seed=tie_seed)
        self.workload = workload or default_workload()
        self.policy: Policy = make_policy(policy, workload=self.workload)
        self.leases: dict[str, Lease] = {}  # every lease it knows: open, and recently ended
        self.live: dict[str, Lease] = {}  # granted or active
        self._ended: deque[tuple[float, str]] = deque()
        self.queue: list[str] = []
        self.projects: dict[str, ProjectPolicy] = {}
        self.reservations: dict[str, Reservation] = {}
        self.usage: dict[str, list[float]] = {}  # project -> decayed [gpu·s, cpu·s, mem·s]
        self._rates: dict[str, list[float]] = {}  # project -> live [gpu units, cpu, mem]
        self.org_quotas: dict[str, float] = {}  # org -> ceiling over its projects (GPU units)
        self._usage_clock: float | None = None
        self.capacity = self._capacity()
        # Bumped whenever capacity or quota may have grown (an end, a drain lifted, a hold
        # dropped): a queued lease that failed since the last bump cannot succeed yet.
        self.epoch = 0
        self._shadow: dict[str, tuple[int, int, float]] = {}
        self._estimates: tuple[Any, dict[str, dict[str, Any]]] | None = None

    # --- configuration -----------------------------------------------------------------------

    def set_project(self, policy: ProjectPolicy) -> None:
        self.projects[policy.project_id] = policy
        self.epoch += 1  # a larger quota may let queued work in

    def set_org_quota(self, org_id: str, quota_units: float | None) -> None:
        """Cap (or, with None, uncap) the GPU units all of an organization's projects use."""
        if quota_units is None:
            self.org_quotas.pop(org_id, None)
        else:
            self.org_quotas[org_id] = quota_units
        self.epoch += 1

    def project(self, project_id: str) -> ProjectPolicy:
        return self.projects.get(project_id) or ProjectPolicy(project_id)

    def _capacity(self) -> list[float]:
        nodes = self.cluster.nodes
        return [
            float(max(self.cluster.total_devices, 1)),
            float(max(sum(n.cpu_capacity for n in nodes), 1)),
            float(max(sum(n.spec.memory_mib for n in nodes), 1)),
        ]

    # --- commands ---------------------------------------------------------------------------

    def submit(self, lease: Lease, now: float) -> list[Event]:
        """A new request: granted at once when possible, else queued (or deferred)."""
        if lease.id in self.leases:
            raise ValueError(f"lease {lease.id} already exists")
        request = lease.request  # parses; raises InvalidInput on a bad spec
        policy = self.project(lease.project_id)
        if lease.hours <= 0 or lease.hours > policy.ttl_max_h:
            raise ValueError(
                f"hours must be between 0 and {policy.ttl_max_h:g} for project {lease.project_id}"
            )
        if not self.cluster.could_ever_fit(request):
            raise LookupError(f"no node of this inventory could ever hold {request}")
        lease.created_at = now
        lease.state = "requested"
        self.leases[lease.id] = lease
        events = [
            self._event(lease, "requested", now, f"{lease.priority} request for {lease.spec}")
        ]
        if lease.flexible and lease.deadline is not None and self.tariff is not None:
            events += self._defer(lease, now)
        lease.state = "queued"
        self.queue.append(lease.id)
        if lease.not_before is None or lease.not_before <= now:
            events += self._schedule(now)
        if lease.state == "queued" and not any(e.type == "deferred" for e in events):
            events.append(self._event(lease, "queued", now, lease.reason or "waiting for capacity"))
        return events

    def release(
        self, lease_id: str, now: float, reason: str = "released by its user"
    ) -> list[Event]:
        lease = self.leases[lease_id]
        if lease.state in ENDED:
            return []
        if lease.state == "queued":
            return self._end_queued(lease, "released", now, "cancelled before it was granted")
        events = [self._end(lease, "released", now, reason)]
        return events + self._schedule(now)

    def fail(self, lease_id: str, now: float, reason: str) -> list[Event]:
        """End a lease that cannot go on (its worker died, say) and give its slice back."""
        lease = self.leases[lease_id]
        if lease.state in ENDED:
            return []
        if lease.state == "queued":
            return self._end_queued(lease, "failed", now, reason)
        events = [self._end(lease, "failed", now, reason)]
        events += self._withdraw_notices(lease.id, now, "failed")
        return events + self._schedule(now)

    def note(
        self, lease_id: str, kind: str, now: float, reason: str, data: dict[str, Any] | None = None
    ) -> list[Event]:
        """An event about a lease that changes nothing here (its worker started, say)."""
        if not NOTE_TYPE.fullmatch(kind) or kind in STATES:
            raise ValueError(f"note type {kind!r}: use lower_snake_case, not a lease state")
        return [self._event(self.leases[lease_id], kind, now, reason, data)]

    def renew(self, lease_id: str, hours: float, now: float) -> list[Event]:
        lease = self.leases[lease_id]
        policy = self.project(lease.project_id)
        if not lease.live:
            raise ValueError(f"lease {lease_id} is {lease.state}; only granted leases renew")
        if lease.preempt_at is not None:
            raise ValueError(f"lease {lease_id} is being preempted and cannot be renewed")
        if hours <= 0 or hours > policy.ttl_max_h:
            raise ValueError(f"hours must be between 0 and {policy.ttl_max_h:g}")
        lease.expires_at = now + hours * HOUR
        lease.hours = hours
        return [
            self._event(
                lease, "renewed", now, f"renewed for {hours:g} h", {"expires_at": lease.expires_at}
            )
        ]

    def heartbeat(self, lease_id: str, now: float, utilization: float | None = None) -> list[Event]:
        lease = self.leases[lease_id]
        if not lease.live:
            raise ValueError(f"lease {lease_id} is {lease.state}")
        lease.last_heartbeat_at = now
        events: list[Event] = []
        if utilization is not None:
            self.observe(lease_id, now, utilization)
        if lease.state == "granted":
            lease.state = "active"
            events.append(self._event(lease, "active", now, "first heartbeat"))
        return events

    def observe(self, lease_id: str, now: float, utilization: float) -> None:
        """Record measured utilisation (0-1) of a live lease's devices; not a heartbeat."""
        lease = self.leases[lease_id]
        if not lease.live:
            return
        lease.utilization = utilization
        if utilization < self.settings.idle_threshold:
            lease.idle_since = _first(lease.idle_since, now)
        else:
            lease.idle_since = None

    def drain(self, node_name: str, drained: bool, now: float) -> list[Event]:
        """Stop (or resume) placements on a node; its leases keep running."""
        self.cluster.set_drained(self.cluster.node_index(node_name), drained)
        if drained:
            return []
        self.epoch += 1
        return self._schedule(now)

    def add_reservation(self, reservation: Reservation, now: float) -> list[Event]:
        request = reservation.request
        if reservation.end <= reservation.start:
            raise ValueError("a reservation must end after it starts")
        if reservation.count < 1:
            raise ValueError("a reservation holds at least one slice")
        if not self.cluster.could_ever_fit(request):
            raise LookupError(f"no node could ever hold {request}")
        self.reservations[reservation.id] = reservation
        return self.tick(now)

    def cancel_reservation(self, reservation_id: str, now: float) -> list[Event]:
        reservation = self.reservations[reservation_id]
        self._drop_holds(reservation)
        reservation.state = "cancelled"
        return self._schedule(now)

    def tick(self, now: float) -> list[Event]:
        """Advance time: expiries, waits, preemptions, reservations, deferred starts."""
        self._accrue_usage(now)
        events: list[Event] = []
        timeout = self.settings.heartbeat_s * self.settings.missed_heartbeats
        self._forget(now)
        queued = [self.leases[i] for i in self.queue]
        for lease in [*self.live.values(), *queued]:
            if lease.live:
                policy = self.project(lease.project_id)
                seen = _first(lease.last_heartbeat_at, lease.granted_at, now)
                if lease.preempt_at is not None and lease.preempt_at <= now:
                    events.append(self._end(lease, "preempted", now, lease.reason))
                elif lease.expires_at is not None and lease.expires_at <= now:
                    events.append(self._end(lease, "expired", now, "its time (TTL) ran out"))
                elif now - seen > timeout:
                    events.append(
                        self._end(
                            lease,
                            "expired",
                            now,
                            f"no heartbeat for {now - seen:.0f} s (limit {timeout:.0f} s)",
                        )
                    )
                elif (
                    policy.idle_limit_min is not None
                    and lease.idle_since is not None
                    and now - lease.idle_since > policy.idle_limit_min * 60
                ):
                    events.append(
                        self._end(
                            lease,
                            "expired",
                            now,
                            f"idle for more than {policy.idle_limit_min:g} min",
                        )
                    )
            elif (
                lease.state == "queued"
                and lease.max_wait_s is not None
                and now - lease.created_at > lease.max_wait_s
            ):
                waited = now - lease.created_at
                reason = f"waited {waited:.0f} s, more than max_wait {lease.max_wait_s:.0f} s"
                events += self._end_queued(lease, "failed", now, reason)
        events += self._reservations(now)
        events += self._schedule(now)
        return events

    def _forget(self, now: float) -> None:
        horizon = now - self.settings.forget_ended_s
        while self._ended and self._ended[0][0] < horizon:
            _, lease_id = self._ended.popleft()
            lease = self.leases.get(lease_id)
            if lease is not None and lease.state in ENDED:
                del self.leases[lease_id]

    # --- scheduling ----------------------------------------------------------------------------

    def _ordered_queue(self, now: float) -> list[Lease]:
        leases = [self.leases[i] for i in self.queue]
        if len(leases) <= 1:
            return leases
        if self.settings.queue_order == "fifo":
            return sorted(leases, key=lambda lease: (lease.created_at, lease.id))
        shares = self.fair_shares()
        return sorted(
            leases,
            key=lambda lease: (
                _PRIORITY_RANK[lease.priority],
                shares.get(lease.project_id, {}).get("priority", 0.0),
                lease.created_at,
                lease.id,
            ),
        )

    def _schedule(self, now: float) -> list[Event]:
        if self.settings.queue_order == "fifo":
            return self._schedule_fifo(now)
        events: list[Event] = []
        shadow: float | None = None  # when the first capacity-blocked lease is expected to start
        preempting = 0  # requests behind the head that looked for victims in this pass
        for lease in self._ordered_queue(now):
            if lease.not_before is not None and lease.not_before > now:
                continue
            fresh = lease.tried_epoch != self.epoch
            if shadow is not None and now + lease.hours * HOUR > shadow:
                # Not granted before the head (backfill only takes what ends before the head's
                # expected start), but an interactive or reservation request behind it still
                # gives its own victims notice now, so a second urgent request waits one grace
                # period, not two.
                if fresh and preempting < _PREEMPTING_PER_PASS and self._urgent(lease, now):
                    preempting += 1
                    lease.tried_epoch = self.epoch
                    events += self._preempt_for(lease, now)
                continue
            granted = self._try_grant(lease, now) if fresh else []
            if granted:
                events += granted
                continue
            if fresh:
                lease.tried_epoch = self.epoch
            if lease.blocked != "capacity":
                continue  # waiting for its own quota: nobody else waits behind it
            if shadow is None:
                if fresh:
                    events += self._preempt_for(lease, now)
                shadow = self._shadow_time(lease, now)
        return events

    def _schedule_fifo(self, now: float) -> list[Event]:
        """Grant in arrival order; the first request that cannot start blocks the rest."""
        events: list[Event] = []
        for lease in self._ordered_queue(now):
            if lease.not_before is not None and lease.not_before > now:
                continue
            if lease.tried_epoch == self.epoch:
                break
            granted = self._try_grant(lease, now)
            if not granted:
                lease.tried_epoch = self.epoch
                break
            events += granted
        return events

    def _shadow_time(self, lease: Lease, now: float) -> float:
        cached = self._shadow.get(lease.id)
        key = (self.epoch, self.cluster.version)
        if cached is not None and cached[:2] == key:
            return cached[2]
        when = self._expected_start(lease, now)
        self._shadow = {lease.id: (*key, when)}
        return when

    def _try_grant(self, lease: Lease, now: float) -> list[Event]:
        request = lease.request
        reservation = self._reservation_for(lease, now)
        if reservation is not None and reservation.holds:
            hold = reservation.holds.pop()
            self.cluster.release(hold)
            try:
                placement = self.cluster.place(request, hold.node, hold.parts)
            except ValueError:  # the member needs more host CPU/memory than the hold had
                reservation.holds.append(
                    self.cluster.place(reservation.request, hold.node, hold.parts, restoring=True)
                )
            else:
                lease.reservation_id = reservation.id
                return self._grant(
                    lease, placement, now, borrowed=False, note=f"from reservation {reservation.id}"
                )
        decision = self.policy.decide(self.cluster, request)
        lent: Reservation | None = None
        if decision is None and lease.priority == "batch":
            lent = self._lendable_hold(request)
        if decision is None and lent is None:
            lease.reason = "waiting for capacity"
            lease.blocked = "capacity"
            return []
        if lent is not None:
            hold = lent.holds.pop()
            self.cluster.release(hold)
            placement = self.cluster.place(request, hold.node, hold.parts)
        else:
            assert decision is not None
            placement = self.cluster.place(request, decision.node, decision.parts)
        node = self.cluster.nodes[placement.node]
        units = quota_units(node, placement.parts)
        verdict = self._quota(lease, units)
        if verdict is None:
            self.cluster.release(placement)
            if lent is not None:
                lent.holds.append(
                    self.cluster.place(lent.request, hold.node, hold.parts, restoring=True)
                )
            lease.blocked = "quota"
            return []
        if lent is not None:
            lease.lent_from = lent.id
            lent.lent.add(lease.id)
        return self._grant(
            lease,
            placement,
            now,
            borrowed=verdict == "borrowed",
            note=f"on reservation {lent.id}'s idle capacity" if lent else "",
        )

    def _quota(self, lease: Lease, units: float) -> str | None:
        """'own', 'borrowed', or None (with lease.reason set) when quota forbids it now.

        A project over its own quota borrows from its cohort (the projects sharing its cohort
        key that have quotas) only while the cohort as a whole stays within the sum of their
        quotas, so each idle unit is lent once.
        """
        if units > self.settings.max_units_per_lease:
            lease.reason = f"larger than {self.settings.max_units_per_lease:g} GPU units"
            return None
        policy = self.project(lease.project_id)
        ceiling = self.org_quotas.get(policy.org_id)
        if ceiling is not None:
            org_used = sum(
                self._project_units(p.project_id)
                for p in self.projects.values()
                if p.org_id == policy.org_id
            )
            if org_used + units > ceiling + 1e-9:
                lease.reason = (
                    f"organization quota of {ceiling:g} GPU units is in use ({org_used:g})"
                )
                return None
        used = self._project_units(lease.project_id)
        if policy.quota_units is None or used + units <= policy.quota_units + 1e-9:
            return "own"
        cohort = [
            p
            for p in self.projects.values()
            if p.cohort_key == policy.cohort_key and p.quota_units is not None
        ]
        cohort_quota = sum(p.quota_units or 0.0 for p in cohort)
        cohort_used = sum(self._project_units(p.project_id) for p in cohort)
        if len(cohort) > 1 and cohort_used + units <= cohort_quota + 1e-9:
            return "borrowed"
        lease.reason = (
            f"project quota of {policy.quota_units:g} GPU units is in use ({used:g}) and its "
            "cohort has no idle quota to lend"
        )
        return None

    def _project_units(self, project_id: str) -> float:
        return sum(
            lease.units
            for lease in self.live.values()
            if lease.project_id == project_id and lease.lent_from is None
        )

    def _grant(
        self, lease: Lease, placement: Placement, now: float, *, borrowed: bool, note: str
    ) -> list[Event]:
        node = self.cluster.nodes[placement.node]
        self.queue.remove(lease.id)
        self._accrue_usage(now)
        lease.state = "granted"
        lease.placement = placement
        self.live[lease.id] = lease
        lease.units = quota_units(node, placement.parts)
        self._rate(lease, +1)
        lease.borrowed = borrowed
        lease.granted_at = now
        lease.expires_at = now + lease.hours * HOUR
        lease.last_heartbeat_at = now
        lease.blocked = ""
        lease.reason = note or ("borrowing idle quota of its cohort" if borrowed else "")
        events = [
            self._event(
                lease,
                "granted",
                now,
                lease.reason or "placed",
                {
                    "placement": placement_data(self.cluster, placement),
                    "units": lease.units,
                    "borrowed": borrowed,
                    "expires_at": lease.expires_at,
                },
            )
        ]
        return events + self._withdraw_notices(lease.id, now, "was granted elsewhere")

    def _end(self, lease: Lease, state: LeaseState, now: float, reason: str) -> Event:
        placement = lease.placement if lease.live else None
        if placement is not None:
            self._accrue_usage(now)
            self._rate(lease, -1)
            self.cluster.release(placement)
            self.epoch += 1
        self.live.pop(lease.id, None)
        self._ended.append((now, lease.id))
        for reservation in self.reservations.values():
            reservation.lent.discard(lease.id)
        lease.state = state
        lease.ended_at = now
        lease.reason = reason
        lease.preempt_at = None
        lease.preempt_for = None
        return self._event(lease, state, now, reason)

    def _end_queued(self, lease: Lease, state: LeaseState, now: float, reason: str) -> list[Event]:
        """End a lease that never got its slice; its preemption notices are withdrawn."""
        self.queue.remove(lease.id)
        event = self._end(lease, state, now, reason)
        return [event, *self._withdraw_notices(lease.id, now, f"was {state}")]

    def _withdraw_notices(self, target: str, now: float, why: str) -> list[Event]:
        events = []
        for victim in self.live.values():
            if victim.preempt_at is not None and victim.preempt_for == target:
                victim.preempt_at = None
                victim.preempt_for = None
                victim.reason = ""
                events.append(
                    self._event(
                        victim,
                        "preemption_withdrawn",
                        now,
                        f"keeps running: {target}, which it was to make room for, {why}",
                    )
                )
        return events

    # --- preemption ----------------------------------------------------------------------------

    def _may_preempt(self, lease: Lease, victim: Lease, now: float, within_quota: bool) -> bool:
        if not victim.live or victim.preempt_at is not None or victim.id == lease.id:
            return False
        member = self._reservation_for(lease, now)
        if victim.lent_from is not None and member is not None and victim.lent_from == member.id:
            return True
        if (
            victim.borrowed
            and within_quota
            and (
                self.project(victim.project_id).cohort_key
                == self.project(lease.project_id).cohort_key
            )
        ):
            return True
        return victim.priority == "batch" and lease.priority == "interactive" and within_quota

    def _quota_fits_own(self, lease: Lease) -> bool:
        """Whether ``lease`` would stay within its project's own quota (estimated units)."""
        policy = self.project(lease.project_id)
        if policy.quota_units is None:
            return True
        units = self._estimate_units(lease.request)
        return self._project_units(lease.project_id) + units <= policy.quota_units + 1e-9

    def _estimate_units(self, request: SliceRequest) -> float:
        """GPU units ``request`` will count against quota, before it is placed (the smallest
        any model in the inventory would charge)."""
        size = request.size
        if not request.needs_device:
            return 0.0
        if isinstance(size, WholeSize):
            return float(size.devices)
        if isinstance(size, ShareSize):
            return size.milli / MILLI * request.count
        costs = []
        for name in {node.spec.model for node in self.cluster.nodes if node.spec.model}:
            model = find_model(name)
            if isinstance(size, MigSize) and model.mig is not None:
                if size.profile in model.mig.names:
                    costs.append(model.mig.get(size.profile).memory_slices / MEMORY_SLICES)
            elif isinstance(size, MemorySize) and model.memory_mib >= size.min_mib:
                costs.append(min(1.0, size.min_mib / model.memory_mib))
        return (min(costs) if costs else 0.0) * request.count

    def _preempt_for(self, lease: Lease, now: float) -> list[Event]:
        """Give notice to the fewest preemptible leases whose end would let ``lease`` fit."""
        if any(v.preempt_for == lease.id for v in self.live.values()):
            return []  # already waiting for its victims
        within_quota = self._quota_fits_own(lease)
        candidates = sorted(
            (v for v in self.live.values() if self._may_preempt(lease, v, now, within_quota)),
            key=lambda v: (v.lent_from is None, not v.borrowed, -_first(v.granted_at, 0.0)),
        )
        if not candidates:
            return []
        with self._trial() as trial:
            self._claim_promised(trial)
            chosen = self._victims(trial, lease.request, candidates, slots=1)
        if not chosen:
            return []
        events = []
        deadline = now + self.settings.preemption_grace_s
        for victim in chosen:
            victim.preempt_at = deadline
            victim.preempt_for = lease.id
            victim.reason = f"preempted for {lease.priority} request {lease.id}"
            events.append(
                self._event(
                    victim,
                    "preemption_notice",
                    now,
                    f"stops at {_iso(deadline)} to make room for {lease.id}; checkpoint now",
                    {"preempt_at": deadline, "for": lease.id},
                )
            )
        lease.reason = f"waiting for {len(chosen)} preempted lease(s) to stop"
        return events

    def _urgent(self, lease: Lease, now: float) -> bool:
        """Whether ``lease`` is of a kind that may preempt others on its own behalf."""
        return lease.priority == "interactive" or self._reservation_for(lease, now) is not None

    def _claim_promised(self, trial: _Trial) -> None:
        """In ``trial``, stop every lease already on notice and place the request it stops for,
        so a new victim search does not count on room that is promised to someone else."""
        waiting: dict[str, list[Lease]] = defaultdict(list)
        for victim in self.live.values():
            if victim.preempt_for is not None and victim.placement is not None:
                waiting[victim.preempt_for].append(victim)
        for lease_id, victims in waiting.items():
            for victim in victims:
                trial.release(victim)
            beneficiary = self.leases.get(lease_id)
            if beneficiary is None or beneficiary.state != "queued":
                continue
            decision = self.policy.decide(self.cluster, beneficiary.request)
            if decision is not None:
                trial.place(beneficiary.request, decision.node, decision.parts)

    def _victims(
        self, trial: _Trial, request: SliceRequest, candidates: list[Lease], slots: int
    ) -> list[Lease]:
        """A small set of ``candidates`` whose end makes room for ``slots`` copies of
        ``request``: for each slot, release candidates in order until it fits, then keep only
        those it still needs. Slots that cannot be made are left out."""
        pool = list(candidates)
        chosen: list[Lease] = []
        for _ in range(slots):
            round_: list[Lease] = []
            decision = self.policy.decide(self.cluster, request)
            while decision is None and pool:
                victim = pool.pop(0)
                trial.release(victim)
                round_.append(victim)
                decision = self.policy.decide(self.cluster, request)
            if decision is None:
                for victim in round_:  # this slot cannot be made: spare them
                    trial.restore(victim)
                break
            for victim in list(round_):  # prune the ones it does not need
                trial.restore(victim)
                if self.policy.decide(self.cluster, request) is None:
                    trial.release(victim)
                else:
                    round_.remove(victim)
            decision = self.policy.decide(self.cluster, request)
            assert decision is not None
            trial.place(request, decision.node, decision.parts)
            chosen += round_
        return chosen

    @contextmanager
    def _trial(self) -> Iterator[_Trial]:
        """Releases and placements that are all undone on exit (capacity version restored,
        so caches keyed on it stay valid)."""
        version = self.cluster.version
        trial = _Trial(self.cluster)
        try:
            yield trial
        finally:
            trial.undo()
            self.cluster.version = version

    # --- reservations ----------------------------------------------------------------------

    def _reservation_for(self, lease: Lease, now: float) -> Reservation | None:
        for reservation in self.reservations.values():
            if (
                reservation.state == "active"
                and reservation.project_id == lease.project_id
                and reservation.start <= now < reservation.end
                and _matches(reservation, lease.request)
            ):
                return reservation
        return None

    def _lendable_hold(self, request: SliceRequest) -> Reservation | None:
        for reservation in self.reservations.values():
            if (
                reservation.state == "active"
                and reservation.holds
                and _matches(reservation, request)
            ):
                return reservation
        return None

    def _drop_holds(self, reservation: Reservation) -> None:
        for hold in reservation.holds:
            self.cluster.release(hold)
        if reservation.holds:
            self.epoch += 1
        reservation.holds.clear()

    def _reservations(self, now: float) -> list[Event]:
        events: list[Event] = []
        lead = self.settings.reservation_lead_s
        for reservation in self.reservations.values():
            if reservation.state in {"ended", "cancelled"}:
                continue
            if now >= reservation.end:
                self._drop_holds(reservation)
                reservation.state = "ended"
                continue
            if now < reservation.start - lead:
                continue
            if reservation.state != "active":
                reservation.state = "active"
                self.epoch += 1  # its members may now draw on it
            in_use = sum(
                1 for lease in self.live.values() if lease.reservation_id == reservation.id
            )
            lent = sum(1 for i in reservation.lent if self.leases[i].live)
            missing = reservation.count - in_use - lent - len(reservation.holds)
            placed = 0
            for _ in range(max(0, missing)):
                decision = self.policy.decide(self.cluster, reservation.request)
                if decision is None:
                    break
                reservation.holds.append(
                    self.cluster.place(reservation.request, decision.node, decision.parts)
                )
                placed += 1
            if placed:
                self.epoch += 1  # queued members may take the new holds
            if missing - placed > 0:
                events += self._reclaim_for_reservation(reservation, missing - placed, now)
        return events

    def _reclaim_for_reservation(
        self, reservation: Reservation, missing: int, now: float
    ) -> list[Event]:
        """Preempt batch or borrowed work (lent capacity first) whose end makes room for the
        holds still missing; leases already given notice for it count toward them."""
        pending = sum(1 for v in self.live.values() if v.preempt_for == reservation.id)
        needed = missing - pending
        if needed <= 0:
            return []
        candidates = sorted(
            (
                v
                for v in self.live.values()
                if v.preempt_at is None
                and v.reservation_id != reservation.id
                and (v.priority == "batch" or v.borrowed)
            ),
            key=lambda v: (v.lent_from != reservation.id, -_first(v.granted_at, 0.0)),
        )
        if not candidates:
            return []
        with self._trial() as trial:
            chosen = self._victims(trial, reservation.request, candidates, slots=needed)
        events = []
        deadline = max(now + self.settings.preemption_grace_s, reservation.start)
        for victim in chosen:
            victim.preempt_at = deadline
            victim.preempt_for = reservation.id
            victim.reason = f"preempted for reservation {reservation.id}"
            events.append(
                self._event(
                    victim,
                    "preemption_notice",
                    now,
                    f"will be stopped at {_iso(deadline)}: reservation {reservation.id} starts",
                    {"preempt_at": deadline, "for": reservation.id},
                )
            )
        return events

    # --- time-of-use deferral --------------------------------------------------------------

    def _defer(self, lease: Lease, now: float) -> list[Event]:
        assert lease.deadline is not None
        from zslab.compute.tariff import cheapest_start

        try:
            choice = cheapest_start(
                tariff=self.tariff,
                earliest=datetime.fromtimestamp(now, UTC),
                deadline=datetime.fromtimestamp(lease.deadline, UTC),
                hours=lease.hours,
                power_kw=self._power_kw(lease.request),
            )
        except ValueError:  # the deadline leaves no room to move: start as soon as possible
            return []
        when = choice.start.timestamp()
        if when - now < 60:
            return []
        lease.not_before = when
        lease.reason = (
            f"deferred to {_iso(when)}, the cheapest tariff window before its deadline: saves "
            f"{choice.saving:.2f} ({choice.saving_pct:.0f} %)"
        )
        return [
            self._event(
                lease,
                "deferred",
                now,
                lease.reason,
                {"not_before": when, "saving": choice.saving, "saving_pct": choice.saving_pct},
            )
        ]

    def _power_kw(self, request: SliceRequest) -> float:
        models = sorted(request.models) if request.models else ["h100-80gb"]
        model = find_model(models[0])
        watts = model.board_power_w or 300
        size = request.size
        if isinstance(size, ShareSize):
            share = size.milli / MILLI * request.count
        elif isinstance(size, WholeSize):
            share = float(size.devices)
        elif isinstance(size, MigSize) and model.mig is not None:
            share = model.mig.get(size.profile).compute_slices / COMPUTE_SLICES * request.count
        else:
            share = 0.5
        return watts * share / 1000

    # --- estimates, fair share, pools ------------------------------------------------------

    def _expected_start(self, lease: Lease, now: float) -> float:
        """When ``lease`` could start if running leases end at their TTL and nothing else
        arrives: the head's shadow time for backfilling, and the estimate users see."""
        ending = sorted(self.live.values(), key=_end_time)
        when = math.inf
        with self._trial() as trial:
            for victim in ending:
                trial.release(victim)
                if self.policy.decide(self.cluster, lease.request) is not None:
                    when = _end_time(victim)
                    break
        return max(when, now)

    def queue_estimates(self, now: float) -> dict[str, dict[str, Any]]:
        """Position and expected start of every queued lease, in queue order.

        The estimate replays the future honestly but simply: running leases end at their TTL
        (or preemption) and queued ones, once started, after their hours; after each end the
        queue is placed in its order. New arrivals and early releases are not foreseen, and
        quota is not simulated.
        """
        key = (self.epoch, self.cluster.version, tuple(self.queue))
        cached = self._estimates
        if cached is not None and cached[0] == key:
            return cached[1]
        ordered = self._ordered_queue(now)
        starts: dict[str, float] = {}
        # (time, tie, live lease or None, trial placement or None)
        ends: list[tuple[float, int, Lease | None, Placement | None]] = [
            (_end_time(v), i, v, None) for i, v in enumerate(self.live.values())
        ]
        heapq.heapify(ends)
        tie = len(ends)
        pending = list(ordered)
        with self._trial() as trial:

            def place_pending(at: float) -> None:
                nonlocal pending, tie
                waiting = []
                for lease in pending:
                    start = max(at, _first(lease.not_before, at))
                    if start > at:
                        waiting.append(lease)
                        continue
                    decision = self.policy.decide(self.cluster, lease.request)
                    if decision is None:
                        waiting.append(lease)
                        continue
                    placed = trial.place(lease.request, decision.node, decision.parts)
                    starts[lease.id] = start
                    tie += 1
                    heapq.heappush(ends, (start + lease.hours * HOUR, tie, None, placed))
                pending = waiting

            place_pending(now)
            deferred = sorted(
                {lease.not_before for lease in pending if lease.not_before is not None}
            )
            while pending and (ends or deferred):
                at = ends[0][0] if ends else math.inf
                if deferred and deferred[0] <= at:
                    place_pending(deferred.pop(0))
                    continue
                if at == math.inf:
                    break
                _, _, live, placed = heapq.heappop(ends)
                if live is not None:
                    trial.release(live)
                elif placed is not None:
                    trial.unplace(placed)
                place_pending(at)
        out = {
            lease.id: {
                "position": position,
                "expected_start": starts.get(lease.id),
                "reason": lease.reason,
            }
            for position, lease in enumerate(ordered, start=1)
        }
        self._estimates = (key, out)
        return out

    def queue_info(self, lease_id: str, now: float) -> dict[str, Any]:
        """Position, expected start and reason of one queued lease."""
        return self.queue_estimates(now)[lease_id]

    def _accrue_usage(self, now: float) -> None:
        if self._usage_clock is None:
            self._usage_clock = now
            return
        dt = now - self._usage_clock
        if dt <= 0:
            return
        decay = 0.5 ** (dt / self.settings.fair_share_half_life_s)
        for vector in self.usage.values():
            for i in range(3):
                vector[i] *= decay
        for project, rate in self._rates.items():
            vector = self.usage.setdefault(project, [0.0, 0.0, 0.0])
            for i in range(3):
                vector[i] += rate[i] * dt
        self._usage_clock = now

    def _rate(self, lease: Lease, sign: int) -> None:
        """Add (or take away) a live lease's GPU units, CPU and memory from its project's rate."""
        assert lease.placement is not None
        rate = self._rates.setdefault(lease.project_id, [0.0, 0.0, 0.0])
        rate[0] += sign * lease.units
        rate[1] += sign * lease.placement.cpu_milli
        rate[2] += sign * lease.placement.memory_mib

    def fair_shares(self) -> dict[str, dict[str, float]]:
        """Per project: dominant share of decayed use, its weight, and the queue priority."""
        horizon = self.settings.fair_share_half_life_s / math.log(2)
        out = {}
        for project, vector in self.usage.items():
            shares = [vector[i] / (self.capacity[i] * horizon) for i in range(3)]
            dominant = max(shares)
            weight = self.project(project).weight
            out[project] = {
                "gpu": shares[0],
                "cpu": shares[1],
                "memory": shares[2],
                "dominant": dominant,
                "weight": weight,
                "priority": dominant / weight if weight > 0 else math.inf,
            }
        return out

    def pools(self) -> list[dict[str, Any]]:
        """Free capacity per (site, pool, model): untouched devices, free GPU units, and how
        many of each MIG profile or share size still fit."""
        groups: dict[tuple[str, str, str | None], list[NodeState]] = {}
        for node in self.cluster.nodes:
            groups.setdefault((node.spec.site, node.spec.pool, node.spec.model), []).append(node)
        rows = []
        for (site, pool, model_name), nodes in sorted(groups.items(), key=lambda kv: kv[0][:2]):
            model = find_model(model_name) if model_name else None
            usable = [n for n in nodes if not n.drained]
            row: dict[str, Any] = {
                "site": site,
                "pool": pool,
                "model": model_name,
                "domestic": bool(model and model.domestic),
                "nodes": len(nodes),
                "drained_nodes": len(nodes) - len(usable),
                "devices": sum(n.devices for n in nodes),
                "free_devices": sum(capacity(n, WholeSize(1)) for n in usable),
                "free_units": round(sum(n.idle_milli for n in usable) / MILLI, 3),
                "free_cpu_cores": round(sum(n.cpu_left for n in usable) / 1000, 1),
            }
            if model is not None and model.mig is not None:
                row["profiles"] = {
                    p.name: sum(capacity(n, MigSize(p.name)) for n in usable)
                    for p in model.mig.profiles
                    if not p.media_extensions
                }
            elif model is not None:
                row["shares"] = {
                    f"{fraction:g}": sum(
                        capacity(n, ShareSize(round(fraction * MILLI))) for n in usable
                    )
                    for fraction in (0.25, 0.5)
                }
            rows.append(row)
        return rows

    # --- restore -----------------------------------------------------------------------------

    def restore(
        self,
        leases: Iterable[Lease],
        reservations: Iterable[Reservation] = (),
        *,
        usage: dict[str, list[float]] | None = None,
        now: float,
    ) -> None:
        """Rebuild state from persisted leases (granted ones re-take their exact placement)."""
        for lease in sorted(leases, key=lambda x: (x.created_at, x.id)):
            self.leases[lease.id] = lease
            if lease.live:
                self.live[lease.id] = lease
                self._rate(lease, +1)
                assert lease.placement is not None
                placement = lease.placement
                index = self.cluster.node_index(placement.node_name)
                lease.placement = self.cluster.place(
                    lease.request, index, placement.parts, restoring=True
                )
                if lease.preempt_at is not None and lease.preempt_for is None:
                    lease.preempt_for = preempt_target(lease.reason)
            elif lease.state == "queued":
                self.queue.append(lease.id)
        for reservation in reservations:
            reservation.holds = []
            self.reservations[reservation.id] = reservation
            if reservation.state == "active":
                reservation.lent = {
                    lease.id for lease in self.live.values() if lease.lent_from == reservation.id
                }
        self.usage = {k: list(v) for k, v in (usage or {}).items()}
        self._usage_clock = now
        self._reservations(now)

    def _event(
        self, lease: Lease, kind: str, now: float, reason: str, data: dict[str, Any] | None = None
    ) -> Event:
        return Event(lease.id, kind, lease.state, reason, now, data or {})


class _Trial:
    """A log of trial releases and placements on a cluster, undone in reverse order."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self._log: list[tuple[Lease | None, Placement]] = []

    def release(self, lease: Lease) -> None:
        """Release a live lease's slice for the trial."""
        assert lease.placement is not None
        self.cluster.release(lease.placement)
        self._log.append((lease, lease.placement))

    def restore(self, lease: Lease) -> None:
        """Put back a lease released earlier in this trial."""
        for i, (logged, placement) in enumerate(self._log):
            if logged is lease:
                del self._log[i]
                lease.placement = self.cluster.place(
                    lease.request, placement.node, placement.parts, restoring=True
                )
                return
        raise KeyError(lease.id)

    def place(self, request: SliceRequest, node: int, parts: tuple[Part, ...]) -> Placement:
        placement = self.cluster.place(request, node, parts)
        self._log.append((None, placement))
        return placement

    def unplace(self, placement: Placement) -> None:
        """Release a placement made earlier in this trial."""
        for i, (logged, placed) in enumerate(self._log):
            if logged is None and placed is placement:
                del self._log[i]
                self.cluster.release(placement)
                return
        raise KeyError(placement.node_name)

    def undo(self) -> None:
        for lease, placement in reversed(self._log):
            if lease is None:
                self.cluster.release(placement)
            else:
                lease.placement = self.cluster.place(
                    lease.request, placement.node, placement.parts, restoring=True
                )
        self._log.clear()


def _first(*values: float | None) -> float:
    """The first value that is not None (times may be 0.0, so ``or`` will not do)."""
    for value in values:
        if value is not None:
            return value
    raise ValueError("no value")


def _end_time(lease: Lease) -> float:
    """When a live lease ends if nothing changes: its preemption or its TTL."""
    return min(_first(lease.expires_at, math.inf), _first(lease.preempt_at, math.inf))


_TARGET = re.compile(r"^preempted for (?:\w+ request|reservation) (\S+)$")


def preempt_target(reason: str) -> str | None:
    """The lease or reservation a persisted preemption reason names (see ``_preempt_for``)."""
    match = _TARGET.match(reason)
    return match.group(1) if match else None


def placement_data(cluster: Cluster, placement: Placement) -> dict[str, Any]:
    node = cluster.nodes[placement.node]
    return {
        "node": placement.node_name,
        "site": node.spec.site,
        "pool": node.spec.pool,
        "model": node.spec.model,
        "parts": [
            {
                k: v
                for k, v in (
                    ("device", p.device),
                    ("milli", p.milli),
                    ("memory_mib", p.memory_mib),
                    ("mig_start", p.mig_start),
                    ("profile", p.profile),
                )
                if v is not None
            }
            for p in placement.parts
        ],
        "cpu_milli": placement.cpu_milli,
        "memory_mib": placement.memory_mib,
    }


def parts_from_data(data: dict[str, Any]) -> tuple[Part, ...]:
    return tuple(
        Part(
            p["device"],
            milli=p.get("milli", 0),
            memory_mib=p.get("memory_mib", 0),
            mig_start=p.get("mig_start"),
            profile=p.get("profile"),
        )
        for p in data["parts"]
    )


def default_workload() -> Workload:
    """Typical requests to measure fragmentation against before real history exists."""
    specs = (
        ["h100:1g.10gb"] * 3
        + ["h100:3g.40gb"] * 2
        + ["h100:1", "gpu:0.5", "gpu:0.25", "ascend910b:1", "a100-80gb:2g.20gb"]
    )
    return Workload.from_requests(parse_request(s) for s in specs)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
