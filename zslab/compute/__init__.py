"""Accelerator slices: the device catalog, MIG geometry, inventories, the request grammar,
placement policies and the trace simulator. Pure domain code: no HTTP, no database.

>>> from zslab.compute import Cluster, Inventory, make_policy, parse_request
>>> cluster = Cluster(Inventory.demo())
>>> request = parse_request("a100-80gb:1g.10gb x4 site=pudong")
>>> placement = make_policy("bestfit").place(cluster, request)
>>> placement.node_name.startswith("pd-a100-"), len(placement.parts)
(True, 4)
"""

from zslab.compute.cluster import Cluster, Part, Placement
from zslab.compute.devices import CATALOG, DeviceModel, find_model
from zslab.compute.frag import Workload
from zslab.compute.inventory import Inventory, NodeSpec
from zslab.compute.placement import POLICIES, Decision, Policy, make_policy
from zslab.compute.request import GRAMMAR, SliceRequest, parse_request

__all__ = [
    "CATALOG",
    "GRAMMAR",
    "POLICIES",
    "Cluster",
    "Decision",
    "DeviceModel",
    "Inventory",
    "NodeSpec",
    "Part",
    "Placement",
    "Policy",
    "SliceRequest",
    "Workload",
    "find_model",
    "make_policy",
    "parse_request",
]
