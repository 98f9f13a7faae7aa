"""The slice-request grammar shared by the SDK, the CLI and the lab extension.

::

    REQUEST    := TARGET [" x" COUNT] {" " CONSTRAINT}
    TARGET     := MODELS ":" SIZE
    MODELS     := "any" | "gpu" | "npu" | MODEL {"|" MODEL}      e.g. h100, t4|v100m32
    SIZE       := PROFILE          a MIG instance              h100:3g.40gb
                | FRACTION         a share of one device       gpu:0.5
                | INTEGER          whole devices on one node   h100:8, ascend910b:1
                | "mem>=" AMOUNT   the smallest slice with that much device memory
    COUNT      := INTEGER          that many slices, on one node: a100-80gb:1g.10gb x4
    CONSTRAINT := "site=" NAME{,NAME} | "pool=" NAME{,NAME} | "domestic"
                | "cpu=" CORES | "ram=" AMOUNT | "gpumem=" AMOUNT
    AMOUNT     := NUMBER ("MiB" | "GiB" | "GB" | "MB")

>>> parse_request("a100-80gb:1g.10gb x4 site=pudong")
SliceRequest('a100-80gb:1g.10gb x4 site=pudong')
>>> parse_request("gpu:0.5").size
ShareSize(milli=500, memory_mib=None)
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from typing import Literal

from zslab.compute.devices import CATALOG, DeviceModel, find_model
from zslab.errors import InvalidInput

__all__ = [
    "GRAMMAR",
    "MemorySize",
    "MigSize",
    "ShareSize",
    "Size",
    "SliceRequest",
    "WholeSize",
    "parse_amount",
    "parse_request",
]

GRAMMAR = __doc__.split("::", 1)[1].split(">>>", 1)[0].strip("\n")
Family = Literal["any", "gpu", "npu"]


@dataclass(frozen=True, slots=True)
class MigSize:
    """One MIG GPU instance of this profile."""

    profile: str

    def __str__(self) -> str:
        return self.profile


@dataclass(frozen=True, slots=True)
class ShareSize:
    """A share of one device: compute in thousandths, memory in MiB (None: not limited)."""

    milli: int
    memory_mib: int | None = None

    def __str__(self) -> str:
        return f"{self.milli / 1000:g}"


@dataclass(frozen=True, slots=True)
class WholeSize:
    """Whole devices on one node (0: no accelerator, a CPU-only task)."""

    devices: int

    def __str__(self) -> str:
        return str(self.devices)


@dataclass(frozen=True, slots=True)
class MemorySize:
    """The smallest slice offering at least this much device memory."""

    min_mib: int

    def __str__(self) -> str:
        return f"mem>={_format_amount(self.min_mib)}"


Size = MigSize | ShareSize | WholeSize | MemorySize


@dataclass(frozen=True)
class SliceRequest:
    """A parsed request: what slice, how many, and where it may go."""

    size: Size
    models: frozenset[str] | None = None  # canonical catalog names; None: any of ``family``
    family: Family = "any"
    count: int = 1
    sites: frozenset[str] | None = None
    pools: frozenset[str] | None = None
    domestic_only: bool = False
    cpu_milli: int = 0
    memory_mib: int = 0  # host memory
    device_memory_mib: int | None = None  # with a fractional size: device memory of the share
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    def __repr__(self) -> str:
        return f"SliceRequest({str(self)!r})"

    def __str__(self) -> str:
        models = "|".join(sorted(self.models)) if self.models else self.family
        text = f"{models}:{self.size}"
        if self.count != 1:
            text += f" x{self.count}"
        if self.sites:
            text += f" site={','.join(sorted(self.sites))}"
        if self.pools:
            text += f" pool={','.join(sorted(self.pools))}"
        if self.domestic_only:
            text += " domestic"
        if self.cpu_milli:
            text += f" cpu={_format_cores(self.cpu_milli)}"
        if self.memory_mib:
            text += f" ram={_format_amount(self.memory_mib)}"
        if self.device_memory_mib is not None:
            text += f" gpumem={_format_amount(self.device_memory_mib)}"
        return text

    @property
    def needs_device(self) -> bool:
        return not (isinstance(self.size, WholeSize) and self.size.devices == 0)

    def allows(self, model: DeviceModel) -> bool:
        """Whether a device of this model may serve the request (ignoring its free capacity)."""
        if self.models is not None:
            if model.name not in self.models:
                return False
        elif self.family != "any" and model.kind != self.family:
            return False
        if self.domestic_only and not model.domestic:
            return False
        size = self.size
        if isinstance(size, MigSize):
            return model.mig is not None and size.profile in model.mig.names
        if isinstance(size, ShareSize):
            return model.slicing == "share"
        if isinstance(size, MemorySize):
            return model.memory_mib >= size.min_mib
        return True

    def with_host(self, *, cpu_milli: int, memory_mib: int) -> SliceRequest:
        return replace(self, cpu_milli=cpu_milli, memory_mib=memory_mib)


# --- parsing ---------------------------------------------------------------------------------

_AMOUNT = re.compile(r"^(\d+(?:\.\d+)?)\s*(MiB|GiB|MB|GB|Mi|Gi|M|G)?$", re.IGNORECASE)
_PROFILE = re.compile(r"^\d+g\.\d+gb(\+me)?$", re.IGNORECASE)
_FRACTION = re.compile(r"^0?\.\d+$")
_INTEGER = re.compile(r"^\d+$")
_COUNT = re.compile(r"^x(\d+)$", re.IGNORECASE)


def _bad(text: str, problem: str) -> InvalidInput:
    return InvalidInput(
        f"Cannot read the slice request {text!r}: {problem}.",
        field="spec",
        fix=f"Write it as\n{GRAMMAR}",
    )


def parse_amount(value: str, *, what: str = "amount") -> int:
    """``20GiB`` → 20480 (MiB). Bare numbers are MiB; ``GB``/``MB`` are read as GiB/MiB."""
    match = _AMOUNT.match(value.strip())
    if not match:
        raise ValueError(f"{what} {value!r} is not a size such as 20GiB or 512MiB")
    number = float(match.group(1))
    unit = (match.group(2) or "MiB").lower()
    factor = 1024 if unit.startswith("g") else 1
    return math.ceil(number * factor)


def _format_cores(milli: int) -> str:
    whole, rest = divmod(milli, 1000)
    return f"{whole}.{rest:03d}".rstrip("0").rstrip(".") if rest else str(whole)


def models_hint(models: frozenset[str] | None) -> str:
    return "|".join(sorted(models)) if models else "gpu"


def _format_amount(mib: int) -> str:
    return f"{mib // 1024}GiB" if mib % 1024 == 0 else f"{mib}MiB"


def _parse_models(text: str, models_text: str) -> tuple[frozenset[str] | None, Family]:
    lowered = models_text.lower()
    if lowered in {"any", "gpu", "npu"}:
        return None, lowered  # type: ignore[return-value]
    names = set()
    for part in lowered.split("|"):
        if not part:
            raise _bad(text, "an empty model name in the model list")
        try:
            names.add(find_model(part).name)
        except KeyError as exc:
            raise _bad(text, str(exc.args[0])) from None
    return frozenset(names), "any"


def _parse_size(text: str, size_text: str, models: frozenset[str] | None) -> Size:
    lowered = size_text.lower()
    if lowered.startswith("mem>="):
        try:
            return MemorySize(parse_amount(lowered[5:], what="device memory"))
        except ValueError as exc:
            raise _bad(text, str(exc)) from None
    if _PROFILE.match(lowered):
        if models is None:
            raise _bad(text, f"MIG profile {lowered} needs a MIG model, e.g. h100:{lowered}")
        for name in models:
            model = find_model(name)
            if model.mig is None:
                raise _bad(text, f"{name} has no MIG; ask for a share such as {name}:0.5")
            if lowered not in model.mig.names:
                raise _bad(
                    text, f"{name} has no MIG profile {lowered} ({', '.join(model.mig.names)})"
                )
        return MigSize(lowered)
    if _INTEGER.match(lowered):
        devices = int(lowered)
        if devices < 1:
            raise _bad(text, "ask for at least one device")
        return WholeSize(devices)
    if _FRACTION.match(lowered):
        fraction = float(lowered)
        if not 0 < fraction < 1:
            raise _bad(text, "a share must be between 0 and 1; ask for 1 or more whole devices")
        milli = round(fraction * 1000)  # shares are counted in thousandths of a device
        if milli < 1:
            raise _bad(text, "the smallest share is 0.001 of a device")
        if milli >= 1000:
            raise _bad(
                text, f"{size_text} rounds to a whole device; ask for {models_hint(models)}:1"
            )
        return ShareSize(milli)
    raise _bad(
        text,
        f"{size_text!r} is not a size: use a MIG profile (3g.40gb), a share (0.5), a number of "
        "devices (1, 8) or mem>=20GiB",
    )


def parse_request(spec: str) -> SliceRequest:
    """Parse ``spec`` (see :data:`GRAMMAR`) into a :class:`SliceRequest`.

    Raises :class:`zslab.InvalidInput` naming the problem and showing the grammar.
    """
    text = " ".join(spec.split())
    if not text:
        raise _bad(spec, "it is empty")
    tokens = text.split(" ")
    target, rest = tokens[0], tokens[1:]
    models_text, sep, size_text = target.partition(":")
    if not sep or not models_text or not size_text:
        raise _bad(text, f"{target!r} should look like MODEL:SIZE, e.g. h100:3g.40gb")
    models, family = _parse_models(text, models_text)
    size = _parse_size(text, size_text, models)
    fields: dict[str, object] = {}
    count = 1
    for token in rest:
        lowered = token.lower()
        if match := _COUNT.match(lowered):
            count = int(match.group(1))
            if count < 1:
                raise _bad(text, "x0 asks for nothing")
            continue
        if lowered == "domestic":
            fields["domestic_only"] = True
            continue
        key, eq, value = lowered.partition("=")
        if not eq or not value:
            raise _bad(text, f"unknown part {token!r}")
        try:
            if key == "site":
                fields["sites"] = frozenset(value.split(","))
            elif key == "pool":
                fields["pools"] = frozenset(value.split(","))
            elif key == "cpu":
                fields["cpu_milli"] = round(float(value) * 1000)
            elif key == "ram":
                fields["memory_mib"] = parse_amount(value, what="ram")
            elif key == "gpumem":
                fields["device_memory_mib"] = parse_amount(value, what="gpumem")
            else:
                raise _bad(text, f"unknown constraint {key!r}")
        except ValueError as exc:
            raise _bad(text, str(exc)) from None
    if isinstance(size, ShareSize) and "device_memory_mib" in fields:
        size = ShareSize(size.milli, fields["device_memory_mib"])  # type: ignore[arg-type]
    if isinstance(size, WholeSize) and count > 1:
        if size.devices > 1:
            raise _bad(text, f"ask for {size.devices * count} devices instead of {size} x{count}")
        size, count = WholeSize(count), 1  # "h100:1 x2" is two whole devices on one node
    request = SliceRequest(size=size, models=models, family=family, count=count, **fields)  # type: ignore[arg-type]
    if not any(request.allows(m) for m in CATALOG):
        raise _bad(text, "no accelerator model in the catalog can serve it")
    return request
