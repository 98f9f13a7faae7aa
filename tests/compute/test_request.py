"""The slice-request grammar: examples parse into typed requests, text round-trips, errors help."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zslab.compute.devices import find_model
from zslab.compute.request import (
    GRAMMAR,
    MemorySize,
    MigSize,
    ShareSize,
    SliceRequest,
    WholeSize,
    parse_request,
)
from zslab.errors import InvalidInput

# --- the examples --------------------------------------------------------------------


def test_mig_profile_on_h100() -> None:
    request = parse_request("h100:3g.40gb")

    assert request.size == MigSize("3g.40gb")
    assert request.models == frozenset({"h100-80gb"})
    assert request.count == 1


def test_mig_profile_with_a_count() -> None:
    request = parse_request("a100-80gb:1g.10gb x4")

    assert request.size == MigSize("1g.10gb")
    assert request.models == frozenset({"a100-80gb"})
    assert request.count == 4


def test_half_of_any_gpu_is_a_share_of_500_milli() -> None:
    request = parse_request("gpu:0.5")

    assert request.size == ShareSize(500)
    assert request.models is None
    assert request.family == "gpu"


def test_one_whole_ascend_npu() -> None:
    request = parse_request("ascend910b:1")

    assert request.size == WholeSize(1)
    assert request.models == frozenset({"ascend910b"})


def test_any_device_with_at_least_20_gib() -> None:
    request = parse_request("any:mem>=20GiB")

    assert request.size == MemorySize(20 * 1024)
    assert request.models is None
    assert request.family == "any"


def test_eight_whole_h100s() -> None:
    request = parse_request("h100:8")

    assert request.size == WholeSize(8)
    assert request.count == 1


def test_several_models_separated_by_a_bar() -> None:
    request = parse_request("t4|V100M32:0.25")

    assert request.models == frozenset({"t4", "v100m32"})


def test_site_constraint_lists_sites() -> None:
    request = parse_request("h100:1 site=a,b")

    assert request.sites == frozenset({"a", "b"})


def test_pool_constraint() -> None:
    request = parse_request("h100:1 pool=pudong-h100")

    assert request.pools == frozenset({"pudong-h100"})


def test_domestic_constraint() -> None:
    request = parse_request("any:mem>=20GiB domestic")

    assert request.domestic_only is True


def test_cpu_constraint_in_cores() -> None:
    request = parse_request("h100:1 cpu=2.5")

    assert request.cpu_milli == 2500


def test_ram_constraint_in_mib() -> None:
    request = parse_request("h100:1 ram=64GiB")

    assert request.memory_mib == 64 * 1024


def test_gpumem_limits_the_memory_of_a_share() -> None:
    request = parse_request("t4:0.25 gpumem=4GiB")

    assert request.size == ShareSize(250, 4096)
    assert request.device_memory_mib == 4096


def test_gb_and_mb_are_read_as_binary_units() -> None:
    assert parse_request("any:mem>=2GB").size == MemorySize(2048)
    assert parse_request("any:mem>=512MB").size == MemorySize(512)


def test_text_is_normalised_in_the_string_form() -> None:
    request = parse_request("  H100:3G.40GB   x2  SITE=PuDong ")

    assert str(request) == "h100-80gb:3g.40gb x2 site=pudong"


# --- allows ----------------------------------------------------------------------------------


def test_domestic_request_allows_domestic_models_only() -> None:
    request = parse_request("any:mem>=20GiB domestic")

    assert request.allows(find_model("ascend910b"))
    assert not request.allows(find_model("h100"))


def test_a_share_is_not_served_by_a_mig_gpu() -> None:
    request = parse_request("gpu:0.5")

    assert request.allows(find_model("t4"))
    assert not request.allows(find_model("a100-80gb"))


def test_npu_family_allows_npus_only() -> None:
    request = parse_request("npu:1")

    assert request.allows(find_model("ascend910b"))
    assert not request.allows(find_model("t4"))


# --- round trip ------------------------------------------------------------------------------

MIG_TARGETS = [
    ("h100", ["1g.10gb", "1g.10gb+me", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb"]),
    ("a100-40gb", ["1g.5gb", "1g.10gb", "2g.10gb", "3g.20gb", "4g.20gb", "7g.40gb"]),
    ("a100-80gb|h100", ["1g.10gb", "3g.40gb", "7g.80gb"]),
]


@st.composite
def request_texts(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["mig", "share", "whole", "mem"]))
    domestic = False
    if kind == "mig":
        models, profiles = draw(st.sampled_from(MIG_TARGETS))
        text = f"{models}:{draw(st.sampled_from(profiles))}"
        count = draw(st.integers(1, 7))
    elif kind == "share":
        models = draw(st.sampled_from(["gpu", "t4", "a10|t4", "ascend910b", "any"]))
        text = f"{models}:0.{draw(st.integers(1, 999)):03d}"
        count = draw(st.integers(1, 4))
        domestic = models in {"ascend910b", "any"} and draw(st.booleans())
    elif kind == "whole":
        models = draw(st.sampled_from(["h100", "t4", "any", "npu", "mlu370-x8"]))
        devices = draw(st.integers(1, 8))
        text = f"{models}:{devices}"
        count = draw(st.integers(1, 4)) if devices == 1 else 1
    else:
        models = draw(st.sampled_from(["any", "gpu", "h200"]))
        amount = draw(st.sampled_from(["512MiB", "20GiB", "1.5GiB", "30000MiB", "24GB"]))
        text = f"{models}:mem>={amount}"
        count = 1
    if count != 1:
        text += f" x{count}"
    if draw(st.booleans()):
        sites = draw(st.lists(st.sampled_from(["pudong", "lingang", "qingpu"]), min_size=1))
        text += f" site={','.join(sites)}"
    if draw(st.booleans()):
        text += f" pool={draw(st.sampled_from(['p1', 'pudong-h100']))}"
    if domestic:
        text += " domestic"
    if draw(st.booleans()):
        milli = draw(st.integers(1, 9_999_999))  # up to 9,999.999 cores
        text += f" cpu={milli // 1000}.{milli % 1000:03d}"
    if draw(st.booleans()):
        text += f" ram={draw(st.integers(1, 4096))}{draw(st.sampled_from(['MiB', 'GiB']))}"
    if draw(st.booleans()):
        text += f" gpumem={draw(st.integers(1, 80 * 1024))}MiB"
    return text


@settings(max_examples=200, deadline=None)
@given(request_texts())
def test_str_of_a_request_parses_back_to_the_same_request(text: str) -> None:
    request = parse_request(text)

    again = parse_request(str(request))

    assert again == request
    assert str(again) == str(request)


def test_a_share_that_rounds_to_a_whole_device_is_refused() -> None:
    with pytest.raises(InvalidInput):
        parse_request("gpu:0.9996")


def test_cpu_with_seven_significant_digits_round_trips() -> None:
    request = parse_request("h100:1 cpu=1024.125")

    assert parse_request(str(request)).cpu_milli == request.cpu_milli == 1_024_125


# --- errors ----------------------------------------------------------------------------------

BAD = {
    "empty": "",
    "blank": "   ",
    "missing colon": "h100",
    "missing size": "h100:",
    "unknown model": "h999:1",
    "empty model in a list": "t4|:0.5",
    "unknown MIG profile": "h100:5g.50gb",
    "profile of another SKU": "a100-40gb:3g.40gb",
    "MIG profile on a non-MIG model": "t4:1g.10gb",
    "MIG profile without a model": "gpu:3g.40gb",
    "share of one": "gpu:1.0",
    "share above one": "gpu:1.5",
    "zero share": "gpu:0.0",
    "share below a thousandth": "gpu:0.0001",
    "share on a MIG-only model": "h100:0.5",
    "zero devices": "h100:0",
    "not a size": "h100:lots",
    "bad memory amount": "any:mem>=lots",
    "unknown constraint": "h100:1 colour=red",
    "constraint without value": "h100:1 site=",
    "bare word": "h100:1 please",
    "zero count": "h100:1 x0",
    "whole devices times a count": "h100:8 x2",
    "bad ram": "h100:1 ram=much",
    "bad cpu": "h100:1 cpu=four",
    "domestic with non-domestic models": "h100:1 domestic",
    "memory no model has": "any:mem>=4096GiB",
}


@pytest.mark.parametrize("spec", list(BAD.values()), ids=list(BAD))
def test_bad_request_raises_invalid_input_on_spec_with_the_grammar(spec: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_request(spec)

    assert caught.value.field == "spec"
    assert caught.value.fix is not None and GRAMMAR in caught.value.fix


def test_grammar_text_describes_every_size_form() -> None:
    for form in ("PROFILE", "FRACTION", "INTEGER", "mem>=", "site=", "gpumem="):
        assert form in GRAMMAR


def test_error_names_the_unknown_model() -> None:
    with pytest.raises(InvalidInput, match="h999"):
        parse_request("h999:1")


def test_error_suggests_the_total_for_whole_devices_times_a_count() -> None:
    with pytest.raises(InvalidInput, match="16 devices"):
        parse_request("h100:8 x2")


def test_slice_request_repr_shows_its_text() -> None:
    request = SliceRequest(size=ShareSize(250), models=frozenset({"t4"}), count=2)

    assert repr(request) == "SliceRequest('t4:0.25 x2')"
