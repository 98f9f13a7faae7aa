"""The accelerator catalog: what each model is, and how it can be sliced.

Three slicing modes:

- ``mig``: NVIDIA Multi-Instance GPU; slices are GPU instances with fixed geometry
  (:mod:`zslab.compute.mig`);
- ``share``: HAMi-style sharing for devices without MIG; a slice is a fraction of the device's
  compute (thousandths, "milli") and, optionally, of its memory (MiB);
- ``whole``: only whole devices are handed out.

Peak figures are dense (no sparsity) tensor throughput in TFLOPS, from the vendors' datasheets
as cited per entry; where a part has no bf16 it is ``None``. Figures for domestic (自主可控)
parts are the vendors' published numbers as widely reported; they vary by board variant, so
treat them as nominal. Models G1/G2/G3 are anonymized in the Alibaba trace; their figures are
unpublished and left unknown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from zslab.compute.mig import A100_40GB, A100_80GB, H100_80GB, H200_141GB, MigTable

__all__ = ["CATALOG", "DeviceModel", "SlicingMode", "find_model", "model_names"]

SlicingMode = Literal["mig", "share", "whole"]
GIB = 1024


@dataclass(frozen=True)
class DeviceModel:
    """One accelerator model."""

    name: str  # canonical, lower case: "h100-80gb"
    vendor: str
    memory_mib: int
    bf16_tflops: float | None
    fp16_tflops: float | None
    board_power_w: int | None
    domestic: bool
    slicing: SlicingMode
    mig: MigTable | None = None
    aliases: tuple[str, ...] = field(default=())
    source: str = ""

    @property
    def kind(self) -> str:
        return "npu" if self.vendor in {"Huawei"} else "gpu"


CATALOG: tuple[DeviceModel, ...] = (
    DeviceModel(
        "a100-40gb",
        "NVIDIA",
        40 * GIB,
        312,
        312,
        400,
        False,
        "mig",
        A100_40GB,
        aliases=("a100",),
        source="NVIDIA A100 datasheet: 312 TFLOPS BF16/FP16 dense, 400 W SXM",
    ),
    DeviceModel(
        "a100-80gb",
        "NVIDIA",
        80 * GIB,
        312,
        312,
        400,
        False,
        "mig",
        A100_80GB,
        source="NVIDIA A100 datasheet: 312 TFLOPS BF16/FP16 dense, 80 GB HBM2e, 400 W SXM",
    ),
    DeviceModel(
        "h100-80gb",
        "NVIDIA",
        80 * GIB,
        989,
        989,
        700,
        False,
        "mig",
        H100_80GB,
        aliases=("h100",),
        source="NVIDIA H100 SXM datasheet: 1,979 TFLOPS BF16 with sparsity (989 dense), 700 W",
    ),
    DeviceModel(
        "h200",
        "NVIDIA",
        141 * GIB,
        989,
        989,
        700,
        False,
        "mig",
        H200_141GB,
        aliases=("h200-141gb",),
        source="NVIDIA H200 SXM datasheet: 141 GB HBM3e, 989 TFLOPS BF16 dense, up to 700 W",
    ),
    DeviceModel(
        "v100m16",
        "NVIDIA",
        16 * GIB,
        None,
        125,
        300,
        False,
        "share",
        aliases=("v100-16gb",),
        source="NVIDIA V100 SXM2 datasheet: 125 TFLOPS tensor, 300 W",
    ),
    DeviceModel(
        "v100m32",
        "NVIDIA",
        32 * GIB,
        None,
        125,
        300,
        False,
        "share",
        aliases=("v100", "v100-32gb"),
        source="NVIDIA V100 SXM2 datasheet: 125 TFLOPS tensor, 300 W",
    ),
    DeviceModel(
        "t4",
        "NVIDIA",
        16 * GIB,
        None,
        65,
        70,
        False,
        "share",
        source="NVIDIA T4 datasheet: 65 TFLOPS FP16 tensor, 70 W",
    ),
    DeviceModel(
        "a10",
        "NVIDIA",
        24 * GIB,
        125,
        125,
        150,
        False,
        "share",
        source="NVIDIA A10 datasheet: 125 TFLOPS BF16/FP16 dense, 150 W",
    ),
    DeviceModel(
        "p100",
        "NVIDIA",
        16 * GIB,
        None,
        18.7,
        250,
        False,
        "share",
        source="NVIDIA P100 PCIe datasheet: 18.7 TFLOPS FP16, 250 W",
    ),
    DeviceModel(
        "ascend910b",
        "Huawei",
        64 * GIB,
        313,
        313,
        400,
        True,
        "share",
        aliases=("910b",),
        source="Huawei Atlas 800T A2 materials as widely reported: 910B, 64 GB HBM2e, ~313 TFLOPS "
        "FP16, ~400 W (varies by 910B variant)",
    ),
    DeviceModel(
        "mlu370-x8",
        "Cambricon",
        48 * GIB,
        96,
        96,
        250,
        True,
        "share",
        aliases=("mlu370", "mlu"),
        source="Cambricon MLU370-X8 product page: 96 TFLOPS FP16/BF16, 48 GB LPDDR5, 250 W",
    ),
    DeviceModel(
        "dcu-k100",
        "Hygon",
        64 * GIB,
        None,
        192,
        350,
        True,
        "share",
        aliases=("k100", "dcu"),
        source="Hygon DCU K100-AI as publicly reported: 64 GB HBM2e, ~192 TFLOPS FP16, ~350 W",
    ),
    DeviceModel(
        "g1",
        "unknown",
        0,
        None,
        None,
        None,
        False,
        "share",
        source="anonymized GPU model of the Alibaba 2023 trace; specifications unpublished",
    ),
    DeviceModel(
        "g2",
        "unknown",
        0,
        None,
        None,
        None,
        False,
        "share",
        source="anonymized GPU model of the Alibaba 2023 trace; specifications unpublished",
    ),
    DeviceModel(
        "g3",
        "unknown",
        0,
        None,
        None,
        None,
        False,
        "share",
        source="anonymized GPU model of the Alibaba 2023 trace; specifications unpublished",
    ),
)

_BY_NAME: dict[str, DeviceModel] = {}
for _model in CATALOG:
    for _key in (_model.name, *_model.aliases):
        if _key in _BY_NAME:
            raise RuntimeError(f"catalog name {_key!r} is used twice")
        _BY_NAME[_key] = _model


def find_model(name: str) -> DeviceModel:
    """A catalog entry by canonical name or alias, case-insensitively (``V100M32``, ``h100``)."""
    key = name.strip().lower()
    try:
        return _BY_NAME[key]
    except KeyError:
        raise KeyError(
            f"unknown accelerator model {name!r}; known: {', '.join(model_names())}"
        ) from None


def model_names() -> list[str]:
    return [m.name for m in CATALOG]
