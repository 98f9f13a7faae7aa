"""What hardware exists: sites → pools → nodes (CPU, host memory) → devices.

An :class:`Inventory` is a static description; allocation state lives in
:class:`zslab.compute.cluster.Cluster`. Inventories come from YAML (see
``examples/shanghai.yaml``, an example of five Shanghai sites), from the node list of the
Alibaba GPU trace, or read-only from NVML on a machine with NVIDIA GPUs.

>>> inventory = Inventory.demo()
>>> inventory.example, len(inventory.sites)
(True, 5)
"""

from __future__ import annotations

import csv
import math
import os
import re
import socket
from collections import Counter
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from zslab.compute.devices import DeviceModel, find_model
from zslab.compute.request import parse_amount
from zslab.errors import InvalidInput

__all__ = ["Inventory", "NodeSpec", "read_trace_nodes"]


@dataclass(frozen=True, slots=True)
class NodeSpec:
    """One machine: its place, CPU (thousandths of a core), host memory and devices."""

    name: str
    site: str
    pool: str
    cpu_milli: int
    memory_mib: int
    model: str | None = None  # canonical catalog name; None for a CPU-only node
    devices: int = 0

    @property
    def device_model(self) -> DeviceModel | None:
        return find_model(self.model) if self.model else None


@dataclass(frozen=True)
class Inventory:
    """Nodes with their site and pool; ``example`` marks made-up inventories."""

    name: str
    nodes: tuple[NodeSpec, ...]
    titles: dict[str, str] = field(default_factory=dict)  # site or pool name -> display title
    example: bool = False

    def __post_init__(self) -> None:
        names = Counter(n.name for n in self.nodes)
        duplicated = [n for n, c in names.items() if c > 1]
        if duplicated:
            raise InvalidInput(
                f"Node names must be unique; repeated: {', '.join(duplicated[:5])}.",
                field="nodes",
                fix="Give every node its own name (or a distinct prefix per pool).",
            )

    @property
    def sites(self) -> list[str]:
        return sorted({n.site for n in self.nodes})

    @property
    def pools(self) -> list[str]:
        return sorted({n.pool for n in self.nodes})

    @property
    def device_count(self) -> int:
        return sum(n.devices for n in self.nodes)

    def summary(self) -> list[dict[str, Any]]:
        """Devices per (site, pool, model): what an availability view starts from."""
        rows: dict[tuple[str, str, str | None], dict[str, Any]] = {}
        for node in self.nodes:
            key = (node.site, node.pool, node.model)
            row = rows.setdefault(
                key,
                {
                    "site": node.site,
                    "pool": node.pool,
                    "model": node.model,
                    "nodes": 0,
                    "devices": 0,
                },
            )
            row["nodes"] += 1
            row["devices"] += node.devices
        return list(rows.values())

    # --- sources -------------------------------------------------------------------------

    @classmethod
    def demo(cls) -> Inventory:
        """The example inventory of five Shanghai sites shipped with zslab (made up)."""
        text = (
            resources.files("zslab.compute")
            .joinpath("examples/shanghai.yaml")
            .read_text(encoding="utf-8")
        )
        return cls.from_yaml(text, source="examples/shanghai.yaml")

    @classmethod
    def from_yaml(cls, text_or_path: str | Path, *, source: str | None = None) -> Inventory:
        """Read an inventory document (a path, or the YAML text itself)."""
        if isinstance(text_or_path, Path) or (
            isinstance(text_or_path, str)
            and "\n" not in text_or_path
            and text_or_path.endswith((".yaml", ".yml"))
        ):
            path = Path(text_or_path)
            source = source or str(path)
            text = path.read_text(encoding="utf-8")
        else:
            text = str(text_or_path)
        source = source or "inventory"
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise InvalidInput(f"{source} is not valid YAML: {exc}", field="inventory") from exc
        if not isinstance(doc, dict) or not isinstance(doc.get("sites"), list):
            raise InvalidInput(
                f"{source} needs a top-level 'sites' list.",
                field="sites",
                fix="See zslab/compute/examples/shanghai.yaml for the layout.",
            )
        nodes: list[NodeSpec] = []
        titles: dict[str, str] = {}
        for site in doc["sites"]:
            site_name = _required(site, "name", source, "sites[]")
            titles[site_name] = str(site.get("title", site_name))
            for pool in site.get("pools") or []:
                pool_name = _required(pool, "name", source, f"sites[{site_name}].pools[]")
                titles[pool_name] = str(pool.get("title", pool_name))
                groups = pool.get("nodes") or []
                for group in groups if isinstance(groups, list) else [groups]:
                    nodes.extend(_expand(group, site_name, pool_name, source))
        return cls(
            name=str(doc.get("name", source)),
            nodes=tuple(nodes),
            titles=titles,
            example=bool(doc.get("example", False)),
        )

    @classmethod
    def from_alibaba_trace(cls, path: str | Path, *, site: str = "alibaba") -> Inventory:
        """The node list of the Alibaba GPU trace (``openb_node_list_*.csv``), as one pool."""
        nodes = tuple(
            NodeSpec(
                name=row["sn"],
                site=site,
                pool="openb",
                cpu_milli=row["cpu_milli"],
                memory_mib=row["memory_mib"],
                model=row["model"],
                devices=row["gpu"],
            )
            for row in read_trace_nodes(path)
        )
        return cls(name=Path(path).stem, nodes=nodes)

    @classmethod
    def discover_nvml(cls, *, site: str = "local", pool: str = "local") -> Inventory:
        """This machine's NVIDIA GPUs, read-only through NVML (``nvidia-ml-py``)."""
        try:
            import pynvml
        except ImportError as exc:
            raise InvalidInput(
                "NVML discovery needs the nvidia-ml-py package.",
                fix="pip install nvidia-ml-py (and run on a machine with NVIDIA drivers).",
            ) from exc
        try:
            pynvml.nvmlInit()
        except pynvml.NVMLError as exc:
            raise InvalidInput(
                f"NVML is not available here ({exc}): no NVIDIA driver or GPU.",
                fix="Describe the hardware in a YAML inventory instead.",
            ) from exc
        try:
            count = pynvml.nvmlDeviceGetCount()
            models = []
            for i in range(count):
                handle = pynvml.nvmlDeviceGetHandleByIndex(i)
                name = pynvml.nvmlDeviceGetName(handle)
                memory = pynvml.nvmlDeviceGetMemoryInfo(handle).total // (1 << 20)
                models.append(model_from_nvml_name(str(name), int(memory)))
        finally:
            pynvml.nvmlShutdown()
        host = socket.gethostname()
        cpu_milli = (os.cpu_count() or 1) * 1000
        memory_mib = (os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")) // (1 << 20)
        by_model = Counter(models)
        nodes = tuple(
            NodeSpec(
                name=host if len(by_model) == 1 else f"{host}-{model}",
                site=site,
                pool=pool,
                cpu_milli=cpu_milli,
                memory_mib=memory_mib,
                model=model,
                devices=n,
            )
            for model, n in by_model.items()
        )
        return cls(name=f"nvml:{host}", nodes=nodes)


def model_from_nvml_name(name: str, memory_mib: int) -> str:
    """Map an NVML device name ("NVIDIA H100 80GB HBM3") to a catalog model."""
    lowered = name.lower()
    gib = memory_mib / 1024
    if "h200" in lowered:
        return "h200"
    if "h100" in lowered:
        return "h100-80gb"
    if "a100" in lowered:
        return "a100-80gb" if gib > 48 else "a100-40gb"
    if "v100" in lowered:
        return "v100m32" if gib > 20 else "v100m16"
    for known in ("a10", "t4", "p100"):
        if re.search(rf"\b{known}\b", lowered):
            return known
    raise InvalidInput(
        f"NVML reports a {name!r}, which the catalog does not know.",
        fix="Describe this machine in a YAML inventory with a catalog model.",
    )


# --- helpers ---------------------------------------------------------------------------------


def _required(mapping: Any, key: str, source: str, where: str) -> str:
    if not isinstance(mapping, dict) or not mapping.get(key):
        raise InvalidInput(f"{source}: every entry of {where} needs a {key!r}.", field=key)
    return str(mapping[key])


def _number(value: Any, key: str, where: str) -> float:
    """A non-negative number from YAML, or an error naming ``key``."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidInput(
            f"{where}: {key}={value!r} is not a number.", field=key, fix=f"Give {key} as a number."
        ) from None
    if not math.isfinite(number) or number < 0:
        raise InvalidInput(f"{where}: {key}={value!r} must be a non-negative number.", field=key)
    return number


def _expand(group: Any, site: str, pool: str, source: str) -> list[NodeSpec]:
    where = f"{source}: pool {pool}"
    if not isinstance(group, dict):
        raise InvalidInput(f"{where}: 'nodes' entries must be mappings.", field="nodes")
    for key in ("cpu", "memory"):
        if key not in group:
            raise InvalidInput(f"{where}: nodes need {key!r}.", field=key)
    cpu_milli = round(_number(group["cpu"], "cpu", where) * 1000)
    try:
        memory_mib = parse_amount(str(group["memory"]), what="memory")
    except ValueError as exc:
        raise InvalidInput(f"{where}: {exc}.", field="memory") from exc
    model = group.get("model")
    if model is not None:
        try:
            model = find_model(str(model)).name
        except KeyError as exc:
            raise InvalidInput(f"{where}: {exc.args[0]}.", field="model") from exc
    devices = int(_number(group.get("devices", 0 if model is None else 1), "devices", where))
    count = int(_number(group.get("count", 1), "count", where))
    if count < 1:
        raise InvalidInput(f"{where}: count must be at least 1.", field="count")
    if model is not None and devices < 1:
        raise InvalidInput(f"{where}: a node with a model needs devices >= 1.", field="devices")
    if "name" in group:
        names = [str(group["name"])]
    else:
        prefix = str(group.get("prefix", f"{pool}-"))
        width = max(2, math.ceil(math.log10(count + 1)))
        names = [f"{prefix}{i:0{width}d}" for i in range(1, count + 1)]
    return [NodeSpec(name, site, pool, cpu_milli, memory_mib, model, devices) for name in names]


TRACE_NODE_COLUMNS = ("sn", "cpu_milli", "memory_mib", "gpu", "model")


def read_trace_nodes(path: str | Path) -> list[dict[str, Any]]:
    """Rows of an Alibaba ``openb_node_list`` CSV, validated, with typed values."""
    path = Path(path)
    rows: list[dict[str, Any]] = []
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in TRACE_NODE_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise InvalidInput(
                f"{path.name} lacks the column(s) {', '.join(missing)}.",
                field="nodes",
                fix=f"A node list needs the columns {', '.join(TRACE_NODE_COLUMNS)}.",
            )
        for line, raw in enumerate(reader, start=2):
            try:
                gpus = int(raw["gpu"])
                model = (raw["model"] or "").strip()
                rows.append(
                    {
                        "sn": raw["sn"],
                        "cpu_milli": int(raw["cpu_milli"]),
                        "memory_mib": int(raw["memory_mib"]),
                        "gpu": gpus,
                        "model": find_model(model).name if gpus else None,
                    }
                )
            except (ValueError, TypeError, KeyError) as exc:
                detail = exc.args[0] if isinstance(exc, KeyError) else exc
                raise InvalidInput(
                    f"{path.name}, line {line}: {detail}.",
                    field="nodes",
                    fix="Fix or remove that row; numbers must be integers and models known.",
                ) from exc
    return rows
