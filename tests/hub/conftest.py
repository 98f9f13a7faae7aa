"""What the hub tests share beyond ``tests/conftest.py``: an independent replay of the lease
event log, to check that what the broker acknowledged is what it holds."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from zslab.compute.broker import parts_from_data
from zslab.compute.cluster import Cluster, Placement
from zslab.compute.inventory import Inventory
from zslab.compute.request import parse_request
from zslab.hub.db.engine import Database
from zslab.hub.db.orm import LeaseEvent, LeaseRow


def replay_events(db: Database, inventory: Inventory) -> tuple[Cluster, dict[str, Placement]]:
    """Rebuild the allocation from the event log alone: grants place, ends release.

    ``Cluster.place`` refuses to over-commit a device or overlap MIG instances, so replaying a
    log that ever double-allocated raises here.
    """
    cluster = Cluster(inventory)
    live: dict[str, Placement] = {}
    with db.read_session() as session:
        specs = dict(session.execute(select(LeaseRow.id, LeaseRow.spec)).all())
        for event in session.scalars(select(LeaseEvent).order_by(LeaseEvent.id)):
            if event.type == "granted":
                data: dict[str, Any] = event.data["placement"]
                request = parse_request(specs[event.lease_id])
                live[event.lease_id] = cluster.place(
                    request, cluster.node_index(data["node"]), parts_from_data(data)
                )
            elif event.type in {"released", "expired", "preempted"} and event.lease_id in live:
                cluster.release(live.pop(event.lease_id))
    return cluster, live


def node_states(cluster: Cluster) -> dict[str, Any]:
    """Everything that says what is allocated on each node."""
    return {
        node.spec.name: (
            node.cpu_left,
            node.mem_left,
            tuple(node.free),
            tuple(node.dev_mem),
            tuple(layout.state() for layout in node.mig) if node.mig else None,
        )
        for node in cluster.nodes
    }
