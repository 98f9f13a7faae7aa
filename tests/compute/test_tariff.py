"""Electricity tariffs: validation, prices at boundaries, exact energy cost, metering, shifting.

Hand-computed values use ``PLAIN``: the example's Shanghai periods and prices with PUE 1, no
green share and no subsidy, so a 1 kW hour is 1 kWh at the period's price.
"""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from zslab.compute.devices import find_model
from zslab.compute.tariff import (
    CN_GRID_CO2_KG_PER_KWH_2022,
    EXAMPLE_SHANGHAI,
    CostBreakdown,
    InvalidTariff,
    Tariff,
    cheapest_start,
    meter,
)

SH = ZoneInfo("Asia/Shanghai")
PLAIN = dataclasses.replace(EXAMPLE_SHANGHAI, pue=1.0, green_share=0.0, subsidy_rate=0.0)
DAY = (2024, 5, 6)  # a Monday; Shanghai has no DST, so any day would do


def at(hour: int, minute: int = 0, second: int = 0, *, day: int = 0) -> datetime:
    return datetime(*DAY, hour, minute, second, tzinfo=SH) + timedelta(days=day)


def tariff_mapping(**changes: Any) -> dict[str, Any]:
    data = {
        "name": "t",
        "periods": [
            {"start": "00:00", "end": "12:00", "kind": "valley"},
            {"start": "12:00", "end": "24:00", "kind": "peak"},
        ],
        "prices": {"valley": 0.3, "peak": 1.0},
    }
    data.update(changes)
    return data


# --- validation ------------------------------------------------------------------------------


def test_a_gap_between_periods_is_rejected_with_its_times() -> None:
    with pytest.raises(InvalidTariff, match=r"periods: gap from 10:00 to 12:00") as err:
        Tariff(name="t", periods=((0, 600, "flat"), (720, 1440, "flat")), prices={"flat": 1})

    assert err.value.field == "periods"


def test_overlapping_periods_are_rejected_with_their_times() -> None:
    with pytest.raises(InvalidTariff, match=r"overlap from 10:00 to 12:00"):
        Tariff(
            name="t", periods=((0, 720, "flat"), (600, 1440, "peak")), prices={"flat": 1, "peak": 2}
        )


def test_periods_that_stop_before_midnight_leave_a_gap() -> None:
    with pytest.raises(InvalidTariff, match=r"gap from 23:00 to 24:00"):
        Tariff(name="t", periods=((0, 1380, "flat"),), prices={"flat": 1})


def test_an_unknown_period_kind_is_rejected() -> None:
    with pytest.raises(InvalidTariff, match=r"periods\[0\].*unknown kind 'night'") as err:
        Tariff(name="t", periods=((0, 1440, "night"),), prices={"flat": 1})

    assert err.value.field == "periods[0]"


def test_a_negative_price_is_rejected_naming_its_kind() -> None:
    with pytest.raises(InvalidTariff, match=r"prices\.valley: -0\.1 is not a price >= 0") as err:
        Tariff(name="t", periods=((0, 1440, "valley"),), prices={"valley": -0.1})

    assert err.value.field == "prices.valley"


def test_a_period_kind_without_a_price_is_rejected() -> None:
    with pytest.raises(InvalidTariff, match=r"prices\.peak: missing"):
        Tariff(name="t", periods=((0, 1440, "peak"),), prices={"flat": 1})


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("pue", 0.9),
        ("green_share", 1.5),
        ("subsidy_rate", -0.1),
        ("grid_co2_kg_per_kwh", -1.0),
        ("timezone", "Mars/Olympus"),
    ],
)
def test_site_figures_out_of_range_are_rejected_naming_the_field(field: str, value: Any) -> None:
    with pytest.raises(InvalidTariff, match=rf"^tariff {field}: ") as err:
        dataclasses.replace(EXAMPLE_SHANGHAI, **{field: value})

    assert err.value.field == field


def test_invalid_tariff_is_a_value_error() -> None:
    assert issubclass(InvalidTariff, ValueError)


def test_a_tariff_keeps_its_prices_when_the_callers_dict_changes() -> None:
    prices = {"flat": 0.5}
    tariff = Tariff(name="t", periods=((0, 1440, "flat"),), prices=prices)

    prices["flat"] = 99.0

    assert tariff.prices["flat"] == 0.5


# --- mappings and YAML -----------------------------------------------------------------------


def test_to_mapping_and_from_mapping_round_trip() -> None:
    data = EXAMPLE_SHANGHAI.to_mapping()

    assert Tariff.from_mapping(data) == EXAMPLE_SHANGHAI
    assert data["periods"][2] == {"start": "08:00", "end": "11:00", "kind": "peak"}


def test_a_yaml_document_loads_with_a_period_wrapping_past_midnight() -> None:
    # Unquoted 22:00 is the YAML 1.1 sexagesimal int 1320, which is that time's minute of day.
    text = """
        name: two-rate
        example: true
        periods:
          - {start: 22:00, end: "08:00", kind: valley}
          - {start: "08:00", end: 22:00, kind: peak}
        prices: {valley: 0.3, peak: 1.0}
    """

    tariff = Tariff.from_mapping(yaml.safe_load(text))

    assert tariff.periods == ((1320, 480, "valley"), (480, 1320, "peak"))
    assert tariff.price_at(at(2)) == ("valley", 0.3)
    assert tariff.price_at(at(22)) == ("valley", 0.3)
    assert tariff.price_at(at(21, 59)) == ("peak", 1.0)


def test_from_mapping_rejects_an_unknown_field() -> None:
    with pytest.raises(InvalidTariff, match=r"tariff colour: unknown field"):
        Tariff.from_mapping(tariff_mapping(colour="green"))


def test_from_mapping_rejects_a_missing_field() -> None:
    data = tariff_mapping()
    del data["prices"]

    with pytest.raises(InvalidTariff, match=r"tariff prices: missing"):
        Tariff.from_mapping(data)


def test_from_mapping_rejects_a_time_that_is_not_hh_mm() -> None:
    data = tariff_mapping()
    data["periods"][1]["start"] = "noon"

    with pytest.raises(InvalidTariff, match=r"periods\[1\]: 'noon' is not a time of day"):
        Tariff.from_mapping(data)


# --- price_at --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "kind", "price"),
    [
        (at(0), "valley", 0.35),
        (at(5, 59, 59), "valley", 0.35),
        (at(6), "flat", 0.75),
        (at(7, 59, 59), "flat", 0.75),
        (at(8), "peak", 1.20),
        (at(10, 59, 59), "peak", 1.20),
        (at(11), "flat", 0.75),
        (at(18), "peak", 1.20),
        (at(21), "flat", 0.75),
        (at(21, 59, 59), "flat", 0.75),
        (at(22), "valley", 0.35),
        (at(23, 59, 59), "valley", 0.35),
    ],
)
def test_price_at_a_boundary_is_the_price_of_the_period_starting_there(
    when: datetime, kind: str, price: float
) -> None:
    assert EXAMPLE_SHANGHAI.price_at(when) == (kind, price)


def test_price_at_reads_any_timezone_on_the_tariffs_clock() -> None:
    assert EXAMPLE_SHANGHAI.price_at(datetime(*DAY, 1, 0, tzinfo=UTC)) == ("peak", 1.20)  # 09:00
    assert EXAMPLE_SHANGHAI.price_at(datetime(*DAY, 14, 0, tzinfo=UTC)) == ("valley", 0.35)


def test_the_example_is_labelled_and_cites_the_mee_grid_factor() -> None:
    assert EXAMPLE_SHANGHAI.example is True
    assert EXAMPLE_SHANGHAI.grid_co2_kg_per_kwh == CN_GRID_CO2_KG_PER_KWH_2022 == 0.5703
    assert (EXAMPLE_SHANGHAI.pue, EXAMPLE_SHANGHAI.green_share) == (1.3, 0.3)
    assert EXAMPLE_SHANGHAI.subsidy_rate == 0.2


# --- energy_cost -----------------------------------------------------------------------------


def test_a_span_within_one_period_costs_hours_times_price() -> None:
    bill = PLAIN.energy_cost(at(12), at(15, 30), 1.0)

    assert bill.kwh == pytest.approx(3.5)
    assert bill.cost == pytest.approx(3.5 * 0.75)
    assert bill.by_kind == {"flat": (pytest.approx(3.5), pytest.approx(2.625))}


def test_a_span_across_flat_peak_flat_is_split_at_the_boundaries() -> None:
    bill = PLAIN.energy_cost(at(7, 30), at(11, 30), 2.0)

    assert bill.kwh == pytest.approx(8.0)
    assert bill.by_kind["peak"] == (pytest.approx(6.0), pytest.approx(7.2))
    assert bill.by_kind["flat"] == (pytest.approx(2.0), pytest.approx(1.5))
    assert bill.cost == pytest.approx(8.7)


def test_a_span_is_split_to_the_second() -> None:
    bill = PLAIN.energy_cost(at(10, 59, 30), at(11, 0, 30), 3.6)  # 30 s peak, 30 s flat

    assert bill.by_kind["peak"] == (pytest.approx(0.03), pytest.approx(0.036))
    assert bill.by_kind["flat"] == (pytest.approx(0.03), pytest.approx(0.0225))


def test_a_span_over_midnight_takes_both_valley_pieces() -> None:
    bill = PLAIN.energy_cost(at(21), at(7, day=1), 1.0)  # flat 1 h, valley 8 h, flat 1 h

    assert bill.kwh == pytest.approx(10.0)
    assert bill.by_kind["valley"] == (pytest.approx(8.0), pytest.approx(2.8))
    assert bill.by_kind["flat"] == (pytest.approx(2.0), pytest.approx(1.5))
    assert bill.cost == pytest.approx(4.3)


def test_a_span_over_several_days_adds_whole_days() -> None:
    # A day: valley 8 h x 0.35 + flat 10 h x 0.75 + peak 6 h x 1.20 = 2.8 + 7.5 + 7.2 = 17.5.
    bill = PLAIN.energy_cost(at(0), at(3, day=2), 1.0)

    assert bill.kwh == pytest.approx(51.0)
    assert bill.cost == pytest.approx(2 * 17.5 + 3 * 0.35)
    assert bill.by_kind["peak"] == (pytest.approx(12.0), pytest.approx(14.4))


def test_an_empty_span_costs_nothing() -> None:
    assert PLAIN.energy_cost(at(9), at(9), 5.0) == CostBreakdown()


def test_an_end_before_the_start_is_rejected() -> None:
    with pytest.raises(ValueError, match="is before start"):
        PLAIN.energy_cost(at(10), at(9), 1.0)


def test_a_negative_power_is_rejected() -> None:
    with pytest.raises(ValueError, match="power_kw must be a number >= 0"):
        PLAIN.energy_cost(at(9), at(10), -1.0)


def test_pue_green_share_co2_and_subsidy_follow_from_the_energy() -> None:
    bill = EXAMPLE_SHANGHAI.energy_cost(at(9), at(10), 1.0)  # peak hour

    assert bill.kwh == pytest.approx(1.3)  # PUE 1.3
    assert bill.cost == pytest.approx(1.56)
    assert bill.green_kwh == pytest.approx(0.39)  # 30 % green
    assert bill.co2_kg == pytest.approx(0.91 * 0.5703)  # only the grey 70 % emits
    assert bill.subsidy == pytest.approx(0.312)  # 20 % of the cost
    assert bill.net_cost == pytest.approx(1.248)


def test_compute_scheduled_elsewhere_gets_no_subsidy() -> None:
    bill = EXAMPLE_SHANGHAI.energy_cost(at(9), at(10), 1.0, local=False)

    assert bill.subsidy == 0.0
    assert bill.net_cost == pytest.approx(bill.cost)


def test_breakdowns_add_field_by_field_and_merge_kinds() -> None:
    morning = EXAMPLE_SHANGHAI.energy_cost(at(7), at(9), 1.0)
    evening = EXAMPLE_SHANGHAI.energy_cost(at(21), at(23), 1.0)

    total = sum([morning, evening], CostBreakdown())

    assert total.cost == pytest.approx(morning.cost + evening.cost)
    assert total.co2_kg == pytest.approx(morning.co2_kg + evening.co2_kg)
    assert total.net_cost == pytest.approx(morning.net_cost + evening.net_cost)
    assert set(total.by_kind) == {"flat", "peak", "valley"}
    assert total.by_kind["flat"][0] == pytest.approx(2 * 1.3)  # 07-08 and 21-22


# --- timezones -------------------------------------------------------------------------------


def test_the_same_instants_in_utc_cost_the_same() -> None:
    in_utc = PLAIN.energy_cost(at(7).astimezone(UTC), at(23).astimezone(UTC), 1.0)

    assert in_utc == PLAIN.energy_cost(at(7), at(23), 1.0)


def test_shanghai_days_are_24_hours_on_european_dst_days() -> None:
    # Europe moves its clocks on 2024-03-31 and 2024-10-27; Shanghai does not.
    for day in (datetime(2024, 3, 31, tzinfo=SH), datetime(2024, 10, 27, tzinfo=SH)):
        bill = PLAIN.energy_cost(day, day + timedelta(days=1), 1.0)
        assert bill.kwh == pytest.approx(24.0)
        assert bill.cost == pytest.approx(17.5)


BERLIN = ZoneInfo("Europe/Berlin")
# A boundary at 02:30, inside the hour that DST repeats in autumn and skips in spring.
ON_BERLIN_CLOCK = Tariff(
    name="berlin",
    timezone="Europe/Berlin",
    periods=((0, 150, "valley"), (150, 1440, "flat")),
    prices={"valley": 0.2, "flat": 0.4},
)


def test_a_dst_clock_bills_the_repeated_hour_twice_by_its_wall_time() -> None:
    start, end = datetime(2024, 10, 27, tzinfo=BERLIN), datetime(2024, 10, 28, tzinfo=BERLIN)

    bill = ON_BERLIN_CLOCK.energy_cost(start, end, 1.0)

    assert bill.kwh == pytest.approx(25.0)
    assert bill.by_kind["valley"][0] == pytest.approx(3.0)  # 00:00-02:30, then 02:00-02:30 again


def test_a_dst_clock_bills_the_23_real_hours_of_a_spring_day() -> None:
    start, end = datetime(2024, 3, 31, tzinfo=BERLIN), datetime(2024, 4, 1, tzinfo=BERLIN)

    bill = ON_BERLIN_CLOCK.energy_cost(start, end, 1.0)

    assert bill.kwh == pytest.approx(23.0)
    assert bill.by_kind["valley"][0] == pytest.approx(2.0)  # 02:00-03:00 does not exist


@pytest.mark.parametrize("naive", ["start", "end"])
def test_energy_cost_rejects_naive_datetimes(naive: str) -> None:
    times = {"start": at(9), "end": at(10), naive: datetime(*DAY, 9)}

    with pytest.raises(ValueError, match=rf"{naive} is a naive datetime"):
        PLAIN.energy_cost(times["start"], times["end"], 1.0)


def test_price_at_rejects_a_naive_datetime() -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        PLAIN.price_at(datetime(*DAY, 9))


# --- meter -----------------------------------------------------------------------------------


def test_meter_a_mig_3g_slice_of_an_h100() -> None:
    usage = meter(
        model=find_model("h100"), share=3 / 7, start=at(0), end=at(1), tariff=EXAMPLE_SHANGHAI
    )

    assert usage.slice_hours == pytest.approx(3 / 7)
    assert usage.device_hours == pytest.approx(1.0)
    assert usage.energy_kwh == pytest.approx(0.3 * 1.3)  # 700 W x 3/7 = 300 W
    assert usage.cost == pytest.approx(0.39 * 0.35)
    assert usage.subsidy == pytest.approx(0.2 * usage.cost)
    assert usage.domestic is False
    assert usage.estimated_power is False


def test_meter_a_half_share_of_a_domestic_npu() -> None:
    usage = meter(
        model=find_model("ascend910b"), share=0.5, start=at(8), end=at(10), tariff=EXAMPLE_SHANGHAI
    )

    assert usage.slice_hours == pytest.approx(1.0)
    assert usage.device_hours == pytest.approx(2.0)
    assert usage.energy_kwh == pytest.approx(0.2 * 2 * 1.3)  # 400 W x 0.5 for 2 h
    assert usage.cost == pytest.approx(0.52 * 1.20)
    assert usage.by_kind == {"peak": (pytest.approx(0.52), pytest.approx(0.624))}
    assert usage.domestic is True


def test_meter_eight_whole_devices() -> None:
    usage = meter(
        model=find_model("h100"), share=8.0, start=at(0), end=at(1), tariff=EXAMPLE_SHANGHAI
    )

    assert (usage.slice_hours, usage.device_hours) == (8.0, 8.0)
    assert usage.energy_kwh == pytest.approx(5.6 * 1.3)
    assert usage.green_kwh == pytest.approx(7.28 * 0.3)
    assert usage.co2_kg == pytest.approx(7.28 * 0.7 * 0.5703)


def test_meter_an_unknown_model_assumes_300_w_and_says_so() -> None:
    usage = meter(model=find_model("g1"), share=1.0, start=at(0), end=at(1), tariff=PLAIN)

    assert usage.estimated_power is True
    assert usage.power_w == 300.0
    assert usage.energy_kwh == pytest.approx(0.3)


def test_meter_of_work_scheduled_elsewhere_has_no_subsidy() -> None:
    usage = meter(
        model=find_model("a10"),
        share=1.0,
        start=at(0),
        end=at(1),
        tariff=EXAMPLE_SHANGHAI,
        local=False,
    )

    assert usage.subsidy == 0.0
    assert usage.net_cost == pytest.approx(usage.cost)


def test_meter_rejects_a_negative_share() -> None:
    with pytest.raises(ValueError, match="share must be a number >= 0"):
        meter(model=find_model("a10"), share=-0.5, start=at(0), end=at(1), tariff=PLAIN)


# --- cheapest_start --------------------------------------------------------------------------


def test_a_flexible_two_hour_job_moves_from_the_peak_to_the_valley() -> None:
    choice = cheapest_start(
        tariff=EXAMPLE_SHANGHAI, earliest=at(9), deadline=at(9, day=1), hours=2, power_kw=1.0
    )

    assert choice.start == at(22)
    assert choice.cost_now == pytest.approx(2.6 * 1.20)
    assert choice.cost_at_start == pytest.approx(2.6 * 0.35)
    assert choice.saving == pytest.approx(2.6 * 0.85)
    assert choice.saving_pct == pytest.approx(100 * 0.85 / 1.20)


def test_a_deadline_that_forbids_shifting_keeps_earliest() -> None:
    choice = cheapest_start(
        tariff=EXAMPLE_SHANGHAI, earliest=at(9, 7), deadline=at(11, 7), hours=2, power_kw=1.0
    )

    assert choice.start == at(9, 7)
    assert choice.saving == 0.0
    assert choice.saving_pct == 0.0


def test_equal_costs_keep_the_earliest_start() -> None:
    choice = cheapest_start(tariff=PLAIN, earliest=at(0), deadline=at(6), hours=2, power_kw=1.0)

    assert choice.start == at(0)


def test_an_off_grid_earliest_is_shifted_onto_the_grid() -> None:
    # 07:50 starts 10 min flat then peak; the first all-flat start on the grid is 11:00.
    choice = cheapest_start(
        tariff=PLAIN, earliest=at(7, 50), deadline=at(14), hours=1, power_kw=1.0
    )

    assert choice.start == at(11)


def test_the_chosen_start_is_in_the_timezone_of_earliest() -> None:
    choice = cheapest_start(
        tariff=PLAIN,
        earliest=at(9).astimezone(UTC),
        deadline=at(9, day=1).astimezone(UTC),
        hours=2,
        power_kw=1.0,
    )

    assert choice.start.tzinfo is UTC
    assert choice.start == at(22)


def test_a_deadline_too_close_for_the_job_is_rejected() -> None:
    with pytest.raises(ValueError, match="the deadline leaves no room"):
        cheapest_start(tariff=PLAIN, earliest=at(9), deadline=at(10), hours=2, power_kw=1.0)


def test_cheapest_start_rejects_a_naive_deadline() -> None:
    with pytest.raises(ValueError, match="deadline is a naive datetime"):
        cheapest_start(
            tariff=PLAIN, earliest=at(9), deadline=datetime(*DAY, 20), hours=2, power_kw=1.0
        )


# --- properties ------------------------------------------------------------------------------

instants = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2024, 1, 10), timezones=st.just(UTC)
)


@settings(max_examples=200, deadline=None)
@given(
    times=st.lists(instants, min_size=3, max_size=3, unique=True).map(sorted),
    power_kw=st.floats(min_value=0, max_value=1000),
    zone=st.sampled_from(["Asia/Shanghai", "UTC", "Asia/Kathmandu", "Europe/Berlin"]),
)
def test_cost_splits_at_any_point_and_is_never_negative(
    times: list[datetime], power_kw: float, zone: str
) -> None:
    a, b, c = (t.astimezone(ZoneInfo(zone)) for t in times)

    whole = EXAMPLE_SHANGHAI.energy_cost(a, c, power_kw)
    parts = EXAMPLE_SHANGHAI.energy_cost(a, b, power_kw) + EXAMPLE_SHANGHAI.energy_cost(
        b, c, power_kw
    )

    for name in ("kwh", "cost", "green_kwh", "co2_kg", "subsidy", "net_cost"):
        assert math.isclose(getattr(whole, name), getattr(parts, name), rel_tol=1e-9, abs_tol=1e-9)
    assert whole.cost >= 0
    assert all(kwh >= 0 and cost >= 0 for kwh, cost in whole.by_kind.values())


around_dst = st.sampled_from(
    [datetime(2024, 3, 30, tzinfo=UTC), datetime(2024, 10, 26, tzinfo=UTC)]
)


@settings(max_examples=200, deadline=None)
@given(
    day=around_dst,
    offsets=st.lists(st.integers(0, 3 * 24 * 3600), min_size=3, max_size=3, unique=True).map(
        sorted
    ),
)
def test_a_dst_clock_bills_real_hours_and_splits_at_any_point(
    day: datetime, offsets: list[int]
) -> None:
    a, b, c = (day + timedelta(seconds=s) for s in offsets)

    whole = ON_BERLIN_CLOCK.energy_cost(a, c, 1.0)
    parts = ON_BERLIN_CLOCK.energy_cost(a, b, 1.0) + ON_BERLIN_CLOCK.energy_cost(b, c, 1.0)

    assert whole.kwh == pytest.approx((c - a).total_seconds() / 3600)
    assert whole.cost == pytest.approx(parts.cost)
