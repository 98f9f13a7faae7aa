"""What the in-memory broker tests share: a fixed clock, a lease factory, driving time."""

from __future__ import annotations

from typing import Any

from zslab.compute.broker import Broker, Event, Lease, Priority

T0 = 1_700_000_000.0  # a fixed, non-zero clock (seconds since the epoch)
HOUR = 3600.0


def lease(
    lease_id: str,
    spec: str = "h100:1",
    *,
    project: str = "p",
    hours: float = 1.0,
    priority: Priority = "interactive",
    **fields: Any,
) -> Lease:
    """A fresh request for ``spec`` by user ``u`` of ``project``."""
    return Lease(
        id=lease_id,
        user_id="u",
        project_id=project,
        spec=spec,
        hours=hours,
        priority=priority,
        **fields,
    )


def kinds(events: list[Event], lease_id: str | None = None) -> list[str]:
    """Event types in order, optionally only those of one lease."""
    return [e.type for e in events if lease_id is None or e.lease_id == lease_id]


def advance(broker: Broker, now: float, *, utilization: float | None = None) -> list[Event]:
    """Heartbeat every live lease at ``now``, then tick: time passes with healthy clients."""
    events: list[Event] = []
    for held in list(broker.leases.values()):
        if held.live:
            events += broker.heartbeat(held.id, now, utilization)
    return events + broker.tick(now)
