"""MIG geometry: profile tables, layouts that fit or not, and the capacity of a layout.

Expected values come from shared/reference/mig-geometry.md (NVIDIA MIG User Guide, nvidia-smi
mig -lgipp on an H100, go-nvml's A100 tables), not from the implementation.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zslab.compute.mig import (
    A100_40GB,
    A100_80GB,
    COMPUTE_SLICES,
    H100_80GB,
    MEMORY_SLICES,
    MigLayout,
    MigProfile,
    MigTable,
    state_capacity,
)

ALL7 = (0, 1, 2, 3, 4, 5, 6)

# (NVML id, compute slices, memory slices, allowed starts) per row of the reference table.
REFERENCE = {
    19: (1, 1, ALL7),
    20: (1, 1, ALL7),
    15: (1, 2, (0, 2, 4, 6)),
    14: (2, 2, (0, 2, 4)),
    9: (3, 4, (0, 4)),
    5: (4, 4, (0,)),
    0: (7, 8, (0,)),
}
NAMES = {
    "A100-40GB": {
        19: "1g.5gb",
        20: "1g.5gb+me",
        15: "1g.10gb",
        14: "2g.10gb",
        9: "3g.20gb",
        5: "4g.20gb",
        0: "7g.40gb",
    },
    "80GB": {
        19: "1g.10gb",
        20: "1g.10gb+me",
        15: "1g.20gb",
        14: "2g.20gb",
        9: "3g.40gb",
        5: "4g.40gb",
        0: "7g.80gb",
    },
}
TABLES = [(A100_40GB, NAMES["A100-40GB"]), (A100_80GB, NAMES["80GB"]), (H100_80GB, NAMES["80GB"])]
TABLE_IDS = ["a100-40gb", "a100-80gb", "h100-80gb"]

# Full layouts by NVML profile id: 4g+3g, 2g+2g+3g, 1g+1g+2g+3g.
FULL_LAYOUTS = [(5, 9), (14, 14, 9), (19, 19, 14, 9)]


def names_of(table: MigTable, ids: tuple[int, ...]) -> list[str]:
    names = NAMES["A100-40GB"] if table is A100_40GB else NAMES["80GB"]
    return [names[i] for i in ids]


# --- the profile tables ----------------------------------------------------------------------


@pytest.mark.parametrize(("table", "names"), TABLES, ids=TABLE_IDS)
def test_profile_table_matches_the_reference_geometry(
    table: MigTable, names: dict[int, str]
) -> None:
    rows = {
        p.profile_id: (p.name, p.compute_slices, p.memory_slices, p.starts) for p in table.profiles
    }

    expected = {pid: (names[pid], *geometry) for pid, geometry in REFERENCE.items()}

    assert rows == expected


@pytest.mark.parametrize(("table", "names"), TABLES, ids=TABLE_IDS)
def test_only_the_plus_me_profile_has_media_extensions(
    table: MigTable, names: dict[int, str]
) -> None:
    with_media = {p.name for p in table.profiles if p.media_extensions}

    assert with_media == {names[20]}


def test_profile_names_collide_across_skus_with_different_geometry() -> None:
    on_40gb = A100_40GB.get("1g.10gb")
    on_80gb = A100_80GB.get("1g.10gb")

    assert (on_40gb.profile_id, on_40gb.memory_slices) == (15, 2)
    assert (on_80gb.profile_id, on_80gb.memory_slices) == (19, 1)


def test_a_profile_of_another_sku_is_unknown() -> None:
    with pytest.raises(KeyError, match=r"3g\.40gb"):
        A100_40GB.get("3g.40gb")


# --- layouts -----------------------------------------------------------------------------------


@pytest.mark.parametrize("table", [t for t, _ in TABLES], ids=TABLE_IDS)
@pytest.mark.parametrize("layout_ids", FULL_LAYOUTS, ids=["4g+3g", "2g+2g+3g", "1g+1g+2g+3g"])
def test_full_layouts_fit_and_use_every_slice(table: MigTable, layout_ids: tuple[int, ...]) -> None:
    layout = MigLayout(table)

    for name in names_of(table, layout_ids):
        layout.place(name)

    assert layout.free_memory_slices == 0
    assert layout.free_compute_slices == 0
    assert sorted(layout.instances.values()) == sorted(names_of(table, layout_ids))


@pytest.mark.parametrize("table", [t for t, _ in TABLES], ids=TABLE_IDS)
def test_two_4g_instances_never_coexist(table: MigTable) -> None:
    (four,) = names_of(table, (5,))
    layout = MigLayout(table)
    layout.place(four)

    assert not layout.can_place(four)
    with pytest.raises(ValueError):
        layout.place(four)


@pytest.mark.parametrize("table", [t for t, _ in TABLES], ids=TABLE_IDS)
def test_an_eighth_1g_instance_is_refused(table: MigTable) -> None:
    (one,) = names_of(table, (19,))
    layout = MigLayout(table)
    for _ in range(7):
        layout.place(one)

    assert not layout.can_place(one)
    with pytest.raises(ValueError):
        layout.place(one)


@pytest.mark.parametrize("table", [t for t, _ in TABLES], ids=TABLE_IDS)
def test_seven_1g_instances_leave_memory_slice_7_unused(table: MigTable) -> None:
    (one,) = names_of(table, (19,))
    layout = MigLayout(table)

    for _ in range(7):
        layout.place(one)

    assert sorted(layout.instances) == list(range(7))
    assert layout.memory_mask == 0b0111_1111
    assert layout.free_memory_slices == 1
    assert layout.free_compute_slices == 0


@pytest.mark.parametrize("table", [t for t, _ in TABLES], ids=TABLE_IDS)
def test_a_3g_instance_cannot_start_at_slice_2(table: MigTable) -> None:
    (three,) = names_of(table, (9,))
    layout = MigLayout(table)

    with pytest.raises(ValueError, match="slice 2"):
        layout.place(three, 2)

    assert layout.instances == {}
    assert layout.state() == (0, 0, False)


@pytest.mark.parametrize("table", [t for t, _ in TABLES], ids=TABLE_IDS)
def test_a_3g_instance_may_start_at_slice_4(table: MigTable) -> None:
    (three,) = names_of(table, (9,))
    layout = MigLayout(table)

    assert layout.place(three, 4) == 4
    assert layout.starts_for(three) == [0]


@pytest.mark.parametrize("table", [t for t, _ in TABLES], ids=TABLE_IDS)
def test_at_most_one_media_extension_instance(table: MigTable) -> None:
    plain, media = names_of(table, (19, 20))
    layout = MigLayout(table)
    layout.place(media)

    assert not layout.can_place(media)
    assert layout.can_place(plain)


@pytest.mark.parametrize("table", [t for t, _ in TABLES], ids=TABLE_IDS)
def test_releasing_the_media_instance_allows_another(table: MigTable) -> None:
    (media,) = names_of(table, (20,))
    layout = MigLayout(table)
    start = layout.place(media)

    layout.release(start)

    assert layout.can_place(media)


@pytest.mark.parametrize("table", [t for t, _ in TABLES], ids=TABLE_IDS)
def test_release_restores_placeability_of_the_whole_gpu(table: MigTable) -> None:
    four, three, seven = names_of(table, (5, 9, 0))
    layout = MigLayout(table)
    starts = [layout.place(four), layout.place(three)]
    assert not layout.can_place(seven)

    for start in starts:
        layout.release(start)

    assert layout.can_place(seven)
    assert layout.state() == (0, 0, False)


@pytest.mark.parametrize("table", [t for t, _ in TABLES], ids=TABLE_IDS)
def test_release_frees_exactly_the_released_slot(table: MigTable) -> None:
    two, three = names_of(table, (14, 9))
    layout = MigLayout(table)
    layout.place(two)
    layout.place(two)
    start = layout.place(three)

    layout.release(start)

    assert layout.starts_for(three) == [4]
    assert layout.instances == {0: two, 2: two}


# --- capacity against brute force ------------------------------------------------------------


def brute_force_capacity(mask: int, compute: int, media: bool, profile: MigProfile) -> int:
    """The most instances of ``profile`` that fit, trying every set of allowed starts."""
    run = (1 << profile.memory_slices) - 1
    best = 0
    for k in range(1, len(profile.starts) + 1):
        for starts in itertools.combinations(profile.starts, k):
            masks = [run << s for s in starts]
            union = 0
            overlap = False
            for m in masks:
                overlap = overlap or bool(union & m) or bool(mask & m)
                union |= m
            if overlap or union >= 1 << MEMORY_SLICES:
                continue
            if compute + k * profile.compute_slices > COMPUTE_SLICES:
                continue
            if profile.media_extensions and (media or k > 1):
                continue
            best = max(best, k)
    return best


@st.composite
def random_layouts(draw: st.DrawFn) -> MigLayout:
    table = draw(st.sampled_from([t for t, _ in TABLES]))
    layout = MigLayout(table)
    for _ in range(draw(st.integers(0, 8))):
        profile = draw(st.sampled_from(table.profiles))
        starts = layout.starts_for(profile.name)
        if starts:
            layout.place(profile.name, draw(st.sampled_from(starts)))
    return layout


@settings(max_examples=200, deadline=None)
@given(random_layouts())
def test_state_capacity_equals_brute_force_for_every_profile(layout: MigLayout) -> None:
    mask, compute, media = layout.state()

    for profile in layout.table.profiles:
        assert state_capacity(layout.state(), profile) == brute_force_capacity(
            mask, compute, media, profile
        ), (layout.instances, profile.name)


@settings(max_examples=200, deadline=None)
@given(random_layouts())
def test_random_layouts_keep_the_geometry_invariants(layout: MigLayout) -> None:
    instances = layout.instances
    union = 0
    compute = 0
    for start, name in instances.items():
        profile = layout.table.get(name)
        run = ((1 << profile.memory_slices) - 1) << start
        assert start in profile.starts
        assert not union & run
        union |= run
        compute += profile.compute_slices

    assert union == layout.memory_mask
    assert compute == layout.compute_used <= COMPUTE_SLICES
    media = [n for n in instances.values() if layout.table.get(n).media_extensions]
    assert len(media) <= 1
    assert layout.media_used == bool(media)
