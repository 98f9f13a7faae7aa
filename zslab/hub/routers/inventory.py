"""``/api/v1/inventory`` and node draining (admins)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from zslab.compute.broker import Broker
from zslab.compute.inventory import Inventory
from zslab.errors import Conflict, InvalidInput, NotFound
from zslab.hub.broker_service import BrokerService, Command
from zslab.hub.context import HubRoute, ReadContext, WriteContext
from zslab.hub.db.orm import DrainedNode, InventoryRow
from zslab.hub.slices import audit_fields, broker_of
from zslab.schemas import DrainUpdate, InventoryRead, InventoryUpdate

router = APIRouter(route_class=HubRoute, tags=["inventory"])


def _read(broker: Broker) -> InventoryRead:
    inventory = broker.inventory
    return InventoryRead(
        name=inventory.name,
        example=inventory.example,
        nodes=len(inventory.nodes),
        devices=inventory.device_count,
        pools=inventory.summary(),
        drained=sorted(n.spec.name for n in broker.cluster.nodes if n.drained),
    )


@router.get("/inventory", name="inventory.get")
async def get_inventory(ctx: ReadContext) -> InventoryRead:
    return _read(broker_of(ctx.hub.broker))


@router.put("/inventory", name="inventory.put")
async def put_inventory(body: InventoryUpdate, ctx: WriteContext) -> InventoryRead:
    """Load a new inventory (YAML). Refused, naming them, while live leases sit on nodes the
    new inventory drops or changes: nothing is migrated silently."""
    ctx.principal.require_admin("load inventories")
    try:
        inventory = Inventory.from_yaml(body.document, source="the uploaded inventory")
    except InvalidInput as exc:
        exc.field = exc.field or "document"
        raise
    service: BrokerService = ctx.hub.broker
    new_nodes = {node.name: node for node in inventory.nodes}

    def apply(broker: Broker, now: float) -> tuple[InventoryRead, list[Any]]:
        stranded = []
        for lease in broker.live.values():
            if lease.placement is None:
                continue
            old = broker.cluster.nodes[lease.placement.node].spec
            new = new_nodes.get(old.name)
            if new is None or (new.model, new.devices) != (old.model, old.devices):
                stranded.append(f"{lease.id} on {old.name}")
        if stranded:
            raise Conflict(
                f"Live leases sit on nodes this inventory removes or changes: "
                f"{', '.join(stranded[:10])}.",
                field="document",
                fix="Drain those nodes and wait for their leases to end, then load it again.",
            )
        return _read(broker), []

    await service.run(
        Command(
            apply=apply,
            audit=audit_fields(ctx, detail=f"{len(inventory.nodes)} nodes"),
            rows=lambda broker, result: [
                InventoryRow(
                    name=inventory.name, document=body.document, created_by=ctx.principal.user_id
                )
            ],
            reload=True,  # rebuilt from the database, which now holds the new inventory
        )
    )
    ctx.request.scope.setdefault("state", {})["zslab_audited"] = True
    return _read(broker_of(service))


@router.post("/nodes/{node}/drain", name="node.drain")
async def drain_node(node: str, body: DrainUpdate, ctx: WriteContext) -> dict[str, Any]:
    """Stop (``drained: true``) or resume new placements on a node; its leases keep running."""
    ctx.principal.require_admin("drain nodes")
    service: BrokerService = ctx.hub.broker
    broker = broker_of(service)
    try:
        broker.cluster.node_index(node)
    except KeyError:
        raise NotFound(f"No node {node!r} in the inventory.", field="node") from None

    def apply(b: Broker, now: float) -> tuple[dict[str, Any], list[Any]]:
        events = b.drain(node, body.drained, now)
        live = sum(
            1
            for lease in b.live.values()
            if lease.placement is not None and lease.placement.node_name == node
        )
        return {"node": node, "drained": body.drained, "live_leases": live}, events

    def rows(b: Broker, result: Any) -> list[Any]:
        if body.drained:
            return [DrainedNode(node=node, by=ctx.principal.user_id, reason=body.reason)]
        return [("delete", DrainedNode, node)]

    result: dict[str, Any] = await service.run(
        Command(
            apply=apply,
            audit=audit_fields(ctx, object_id=node, detail=body.reason),
            rows=rows,
        )
    )
    ctx.request.scope.setdefault("state", {})["zslab_audited"] = True
    return result
