"""NVIDIA MIG geometry: which GPU-instance profiles exist on a SKU and where they may start.

A GPU instance occupies a contiguous run of the GPU's 8 memory slices and some of its 7 compute
slices; each profile may start only at fixed memory-slice offsets. Facts from the NVIDIA MIG
User Guide ("Supported MIG Profiles"), ``nvidia-smi mig -lgipp`` on an H100 80GB and NVIDIA
go-nvml's A100 tables, as collected in ``shared/reference/mig-geometry.md``; H200 from the same
guide (same 8-slice geometry as the 80 GB parts, larger memory per slice).

Profile names collide across SKUs ("1g.10gb" is profile 15 on an A100-40GB but profile 19 on an
80 GB part), so a profile is always looked up through its SKU's table.

>>> layout = MigLayout(A100_80GB)
>>> layout.place("4g.40gb"), layout.place("3g.40gb")
(0, 4)
>>> layout.can_place("1g.10gb")
False
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "A100_40GB",
    "A100_80GB",
    "COMPUTE_SLICES",
    "H100_80GB",
    "H200_141GB",
    "MEMORY_SLICES",
    "LayoutState",
    "MigLayout",
    "MigProfile",
    "MigTable",
    "free_memory_slices",
    "state_capacity",
    "state_fits",
    "state_place",
]

MEMORY_SLICES = 8
COMPUTE_SLICES = 7


@dataclass(frozen=True, slots=True)
class MigProfile:
    """One GPU-instance profile of one SKU."""

    name: str  # e.g. "3g.40gb"
    profile_id: int  # NVML GI profile id as nvidia-smi shows it
    compute_slices: int
    memory_slices: int
    starts: tuple[int, ...]  # allowed first memory slice
    memory_mib: int
    media_extensions: bool = False

    @property
    def mask_at(self) -> dict[int, int]:
        """Bit mask of the memory slices it occupies, per allowed start."""
        run = (1 << self.memory_slices) - 1
        return {start: run << start for start in self.starts}


@dataclass(frozen=True)
class MigTable:
    """The MIG profiles of one SKU, by name."""

    sku: str
    profiles: tuple[MigProfile, ...]

    def __post_init__(self) -> None:
        names = [p.name for p in self.profiles]
        if len(names) != len(set(names)):
            raise ValueError(f"duplicate MIG profile names in {self.sku}")

    def get(self, name: str) -> MigProfile:
        key = name.lower()
        for profile in self.profiles:
            if profile.name == key:
                return profile
        known = ", ".join(p.name for p in self.profiles)
        raise KeyError(f"{self.sku} has no MIG profile {name!r}; it has {known}")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.profiles)


def _table(sku: str, rows: list[tuple[str, int, int, int, tuple[int, ...], int, bool]]) -> MigTable:
    return MigTable(sku, tuple(MigProfile(*row) for row in rows))


_ALL7 = (0, 1, 2, 3, 4, 5, 6)

# (name, NVML id, compute slices, memory slices, starts, framebuffer MiB, media extensions)
# A100-40GB framebuffer per profile from go-nvml: 4864 / 9856 / 19968 / 40192 MiB.
A100_40GB = _table(
    "A100-40GB",
    [
        ("1g.5gb", 19, 1, 1, _ALL7, 4864, False),
        ("1g.5gb+me", 20, 1, 1, _ALL7, 4864, True),
        ("1g.10gb", 15, 1, 2, (0, 2, 4, 6), 9856, False),
        ("2g.10gb", 14, 2, 2, (0, 2, 4), 9856, False),
        ("3g.20gb", 9, 3, 4, (0, 4), 19968, False),
        ("4g.20gb", 5, 4, 4, (0,), 19968, False),
        ("7g.40gb", 0, 7, 8, (0,), 40192, False),
    ],
)
# A100-80GB framebuffer from go-nvml: 9856 / 19968 / 40192 / 80384 MiB.
A100_80GB = _table(
    "A100-80GB",
    [
        ("1g.10gb", 19, 1, 1, _ALL7, 9856, False),
        ("1g.10gb+me", 20, 1, 1, _ALL7, 9856, True),
        ("1g.20gb", 15, 1, 2, (0, 2, 4, 6), 19968, False),
        ("2g.20gb", 14, 2, 2, (0, 2, 4), 19968, False),
        ("3g.40gb", 9, 3, 4, (0, 4), 40192, False),
        ("4g.40gb", 5, 4, 4, (0,), 40192, False),
        ("7g.80gb", 0, 7, 8, (0,), 80384, False),
    ],
)
# H100-80GB from `nvidia-smi mig -lgip`: 9.75 / 19.62 / 39.50 / 79.25 GiB.
H100_80GB = _table(
    "H100-80GB",
    [
        ("1g.10gb", 19, 1, 1, _ALL7, 9984, False),
        ("1g.10gb+me", 20, 1, 1, _ALL7, 9984, True),
        ("1g.20gb", 15, 1, 2, (0, 2, 4, 6), 20091, False),
        ("2g.20gb", 14, 2, 2, (0, 2, 4), 20091, False),
        ("3g.40gb", 9, 3, 4, (0, 4), 40448, False),
        ("4g.40gb", 5, 4, 4, (0,), 40448, False),
        ("7g.80gb", 0, 7, 8, (0,), 81152, False),
    ],
)
# H200 141GB: profile names from the NVIDIA MIG User Guide (1g.18gb … 7g.141gb); placement
# geometry as the 80 GB parts. Framebuffer taken as the nominal GB in each name, in MiB.
H200_141GB = _table(
    "H200-141GB",
    [
        ("1g.18gb", 19, 1, 1, _ALL7, 17408, False),
        ("1g.18gb+me", 20, 1, 1, _ALL7, 17408, True),
        ("1g.35gb", 15, 1, 2, (0, 2, 4, 6), 33792, False),
        ("2g.35gb", 14, 2, 2, (0, 2, 4), 33792, False),
        ("3g.71gb", 9, 3, 4, (0, 4), 68608, False),
        ("4g.71gb", 5, 4, 4, (0,), 68608, False),
        ("7g.141gb", 0, 7, 8, (0,), 137216, False),
    ],
)


class MigLayout:
    """The GPU instances on one GPU: occupied memory slices and compute slices in use.

    Invariants: instances never overlap in memory slices, each starts at an allowed offset,
    compute slices in use never exceed 7, and at most one media-extension instance exists.
    """

    __slots__ = ("_instances", "compute_used", "media_used", "memory_mask", "table")

    def __init__(self, table: MigTable) -> None:
        self.table = table
        self.memory_mask = 0
        self.compute_used = 0
        self.media_used = False
        self._instances: dict[int, MigProfile] = {}  # start -> profile

    def _fits_at(self, profile: MigProfile, start: int) -> bool:
        mask = profile.mask_at[start]
        return (
            not (self.memory_mask & mask)
            and self.compute_used + profile.compute_slices <= COMPUTE_SLICES
            and not (profile.media_extensions and self.media_used)
        )

    def starts_for(self, name: str) -> list[int]:
        """Every start position where ``name`` fits now."""
        profile = self.table.get(name)
        return [s for s in profile.starts if self._fits_at(profile, s)]

    def can_place(self, name: str) -> bool:
        return bool(self.starts_for(name))

    def place(self, name: str, start: int | None = None) -> int:
        """Create an instance (at ``start``, or the first free allowed one); returns its start."""
        profile = self.table.get(name)
        candidates = [start] if start is not None else list(profile.starts)
        for s in candidates:
            if s in profile.mask_at and self._fits_at(profile, s):
                self.memory_mask |= profile.mask_at[s]
                self.compute_used += profile.compute_slices
                self.media_used = self.media_used or profile.media_extensions
                self._instances[s] = profile
                return s
        where = f" at memory slice {start}" if start is not None else ""
        raise ValueError(f"{profile.name} does not fit{where} on this {self.table.sku}")

    def release(self, start: int) -> MigProfile:
        profile = self._instances.pop(start)
        self.memory_mask &= ~profile.mask_at[start]
        self.compute_used -= profile.compute_slices
        if profile.media_extensions:
            self.media_used = False
        return profile

    @property
    def instances(self) -> dict[int, str]:
        """Start position -> profile name."""
        return {s: p.name for s, p in sorted(self._instances.items())}

    @property
    def free_memory_slices(self) -> int:
        return MEMORY_SLICES - bin(self.memory_mask).count("1")

    @property
    def free_compute_slices(self) -> int:
        return COMPUTE_SLICES - self.compute_used

    def state(self) -> tuple[int, int, bool]:
        """A hashable summary that determines what can still be placed."""
        return (self.memory_mask, self.compute_used, self.media_used)


# --- the same rules over plain state tuples, for scoring hypothetical layouts ---------------

LayoutState = tuple[int, int, bool]  # (memory mask, compute slices used, media extensions used)


def state_fits(state: LayoutState, profile: MigProfile, start: int) -> bool:
    mask, compute, media = state
    return (
        start in profile.mask_at
        and not (mask & profile.mask_at[start])
        and compute + profile.compute_slices <= COMPUTE_SLICES
        and not (profile.media_extensions and media)
    )


def state_place(state: LayoutState, profile: MigProfile, start: int) -> LayoutState:
    mask, compute, media = state
    return (
        mask | profile.mask_at[start],
        compute + profile.compute_slices,
        media or profile.media_extensions,
    )


def state_capacity(state: LayoutState, profile: MigProfile) -> int:
    """How many more instances of ``profile`` fit, placing each at its first free start.

    Starts are aligned to the profile's size, so first-fit is optimal for a single profile.
    """
    count = 0
    for start in profile.starts:
        if state_fits(state, profile, start):
            state = state_place(state, profile, start)
            count += 1
    return count


def free_memory_slices(state: LayoutState) -> int:
    return MEMORY_SLICES - bin(state[0]).count("1")
