"""Electricity tariffs: what a span of compute costs in money, green energy and CO2.

A :class:`Tariff` is a site's time-of-use (分时) electricity price list plus what turns device
power into a bill: the data centre's PUE, the green share of its electricity, the grid's
emission factor and the 算力补贴 (compute subsidy) rate for locally scheduled work. Three
questions, one function each:

- :meth:`Tariff.energy_cost`: what does drawing ``power_kw`` from ``start`` to ``end`` cost?
- :func:`meter`: what did a placement (a MIG slice, a share, whole devices) use and cost?
- :func:`cheapest_start`: when, before a deadline, should a flexible job start?

Times must be timezone-aware; the tariff reads them on its own clock (``Asia/Shanghai`` by
default), so the caller's timezone never changes a price.

>>> from datetime import datetime
>>> from zoneinfo import ZoneInfo
>>> sh = ZoneInfo("Asia/Shanghai")
>>> EXAMPLE_SHANGHAI.price_at(datetime(2024, 5, 6, 9, 0, tzinfo=sh))
('peak', 1.2)
>>> cost = EXAMPLE_SHANGHAI.energy_cost(
...     datetime(2024, 5, 6, 21, 0, tzinfo=sh), datetime(2024, 5, 6, 23, 0, tzinfo=sh), 1.0
... )
>>> round(cost.kwh, 2), round(cost.cost, 3)  # 1 kW x 2 h x PUE 1.3; 21-22 flat, 22-23 valley
(2.6, 1.43)
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from zslab.compute.devices import DeviceModel

__all__ = [
    "CN_GRID_CO2_KG_PER_KWH_2022",
    "EXAMPLE_SHANGHAI",
    "FALLBACK_BOARD_POWER_W",
    "KINDS",
    "CostBreakdown",
    "InvalidTariff",
    "Metering",
    "Period",
    "StartChoice",
    "Tariff",
    "cheapest_start",
    "load_tariff",
    "meter",
]

KINDS = ("critical", "peak", "flat", "valley")  # 尖峰, 高峰, 平段, 低谷
DAY_MINUTES = 24 * 60

# China's national grid average emission factor for 2022, 0.5703 tCO2/MWh (= kg/kWh), published
# by the Ministry of Ecology and Environment (MEE) for the 2023-2025 power-sector GHG reporting
# (环办气候函〔2023〕43号).
CN_GRID_CO2_KG_PER_KWH_2022 = 0.5703

# Assumed for models whose board power is unknown (the anonymized G1-G3 of the Alibaba trace):
# a typical data-centre accelerator's TDP (V100 SXM2 300 W); results say it was estimated.
FALLBACK_BOARD_POWER_W = 300

Period = tuple[int, int, str]
"""``(start_minute_of_day, end_minute_of_day, kind)``; ``end < start`` wraps past midnight."""


class InvalidTariff(ValueError):
    """A tariff field is wrong; ``field`` names it (``"periods"``, ``"prices.peak"``, ...)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"tariff {field}: {message}")
        self.field = field


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _parse_minute(value: object, where: str) -> int:
    """``"08:00"`` or minutes as an int. YAML 1.1 reads an unquoted ``18:00`` as the
    sexagesimal int 1080, which is that time's minute of day, so both spellings agree."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        hours, sep, minutes = value.partition(":")
        if sep and hours.isdigit() and minutes.isdigit() and len(minutes) == 2:
            return int(hours) * 60 + int(minutes)
    raise InvalidTariff(where, f"{value!r} is not a time of day; write it as 'HH:MM'")


_TICK = timedelta(microseconds=1)


def _offset_change(zone: ZoneInfo, after: datetime, before: datetime) -> datetime:
    """The first instant in (after, before] on which ``zone``'s UTC offset differs from its
    offset at ``after`` (a DST change), found by bisection to the microsecond."""
    offset = after.astimezone(zone).utcoffset()
    low, high = after, before
    while high - low > _TICK:
        mid = low + (high - low) // 2
        if mid.astimezone(zone).utcoffset() == offset:
            low = mid
        else:
            high = mid
    return high


def _require_aware(t: datetime, name: str) -> None:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(
            f"{name} is a naive datetime; pass an aware one, "
            f"e.g. datetime(2024, 5, 6, 9, 0, tzinfo=ZoneInfo('Asia/Shanghai'))"
        )


@dataclass(frozen=True, kw_only=True)
class Tariff:
    """A time-of-use electricity tariff and the site figures that turn device power into a bill.

    ``periods`` cover the day exactly once; ``prices`` are per kWh in ``currency``. ``pue``
    scales device (IT) power to the power drawn from the grid; ``green_share`` of that energy is
    green and emits nothing, the rest emits ``grid_co2_kg_per_kwh``; ``subsidy_rate`` of the cost
    of locally scheduled compute is refunded. ``example`` marks made-up numbers.

    >>> flat = Tariff(name="flat", periods=((0, 1440, "flat"),), prices={"flat": 0.6})
    >>> flat.price_at(datetime(2024, 1, 1, tzinfo=UTC))
    ('flat', 0.6)
    """

    name: str
    periods: tuple[Period, ...]
    prices: Mapping[str, float] = field(hash=False)
    currency: str = "CNY"
    timezone: str = "Asia/Shanghai"
    pue: float = 1.0
    green_share: float = 0.0
    grid_co2_kg_per_kwh: float = CN_GRID_CO2_KG_PER_KWH_2022
    subsidy_rate: float = 0.0
    example: bool = False

    def __post_init__(self) -> None:
        # Copies, so that a caller's list or dict cannot change a frozen tariff afterwards.
        object.__setattr__(self, "periods", tuple(tuple(p) for p in self.periods))
        object.__setattr__(self, "prices", dict(self.prices))
        if not self.name:
            raise InvalidTariff("name", "must not be empty")
        if not self.currency:
            raise InvalidTariff("currency", "must not be empty, e.g. 'CNY'")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidTariff(
                "timezone", f"{self.timezone!r} is not a zoneinfo key, e.g. 'Asia/Shanghai'"
            ) from None
        self._check_prices()
        self._check_periods()
        self._check_ratio("pue", self.pue, 1.0, math.inf, "at least 1.0 (1.0 = no overhead)")
        self._check_ratio("green_share", self.green_share, 0.0, 1.0, "between 0 and 1")
        self._check_ratio("grid_co2_kg_per_kwh", self.grid_co2_kg_per_kwh, 0.0, math.inf, ">= 0")
        self._check_ratio("subsidy_rate", self.subsidy_rate, 0.0, 1.0, "between 0 and 1")

    def _check_prices(self) -> None:
        for kind, price in self.prices.items():
            if kind not in KINDS:
                raise InvalidTariff(
                    f"prices.{kind}", f"unknown kind {kind!r}; known: {', '.join(KINDS)}"
                )
            self._check_ratio(f"prices.{kind}", price, 0.0, math.inf, "a price >= 0")

    def _check_periods(self) -> None:
        if not self.periods:
            raise InvalidTariff("periods", "must cover the day; none given")
        for i, period in enumerate(self.periods):
            if len(period) != 3:
                raise InvalidTariff(f"periods[{i}]", f"{period!r} is not (start, end, kind)")
            start, end, kind = period
            if kind not in KINDS:
                raise InvalidTariff(
                    f"periods[{i}]", f"unknown kind {kind!r}; known: {', '.join(KINDS)}"
                )
            if kind not in self.prices:
                raise InvalidTariff(f"prices.{kind}", f"missing; periods[{i}] is {kind!r}")
            if not all(isinstance(m, int) and 0 <= m <= DAY_MINUTES for m in (start, end)):
                raise InvalidTariff(
                    f"periods[{i}]", f"{period!r}: start and end are minutes of day, 0..1440"
                )
            if start == end:
                raise InvalidTariff(f"periods[{i}]", f"{period!r} is empty")
        at = 0
        for start, end, _ in self._segments():
            if start > at:
                raise InvalidTariff("periods", f"gap from {_hhmm(at)} to {_hhmm(start)}")
            if start < at:
                raise InvalidTariff("periods", f"overlap from {_hhmm(start)} to {_hhmm(at)}")
            at = end
        if at != DAY_MINUTES:
            raise InvalidTariff("periods", f"gap from {_hhmm(at)} to 24:00")

    @staticmethod
    def _check_ratio(name: str, value: object, low: float, high: float, expected: str) -> None:
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or not low <= value <= high:  # type: ignore[operator]
            raise InvalidTariff(name, f"{value!r} is not {expected}")

    def _segments(self) -> list[Period]:
        """The periods as non-wrapping pieces of [0, 1440), sorted by start."""
        pieces: list[Period] = []
        for start, end, kind in self.periods:
            if end < start:  # wraps past midnight
                pieces += [(start, DAY_MINUTES, kind), (0, end, kind)]
            else:
                pieces.append((start, end, kind))
        return sorted(pieces)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def _segment_at(self, local: datetime) -> Period:
        minute = local.hour * 60 + local.minute + (local.second + local.microsecond / 1e6) / 60
        return next(s for s in self._segments() if s[0] <= minute < s[1])

    def price_at(self, t: datetime) -> tuple[str, float]:
        """The period kind and price per kWh in force at ``t`` (a period includes its start)."""
        _require_aware(t, "t")
        kind = self._segment_at(t.astimezone(self.zone))[2]
        return kind, self.prices[kind]

    def _spans(self, start: datetime, end: datetime) -> Iterator[tuple[str, timedelta]]:
        """``start``..``end`` cut at the period boundaries: (kind, duration) in order.

        Periods follow the wall clock. On a clock with DST a span is also cut where the UTC
        offset changes, so the hour repeated in autumn is billed twice by its wall time and the
        hour skipped in spring not at all; ``Asia/Shanghai`` has no DST and never needs it.
        """
        zone = self.zone
        t = start.astimezone(UTC)
        stop = end.astimezone(UTC)
        while t < stop:
            local = t.astimezone(zone)
            _, seg_end, kind = self._segment_at(local)
            wall = datetime.combine(local.date(), time(), zone) + timedelta(minutes=seg_end)
            nxt = min(wall.replace(fold=local.fold).astimezone(UTC), stop)
            if (nxt - _TICK).astimezone(zone).utcoffset() != local.utcoffset():
                nxt = _offset_change(zone, t, nxt)
            yield kind, nxt - t
            t = nxt

    def energy_cost(
        self, start: datetime, end: datetime, power_kw: float, *, local: bool = True
    ) -> CostBreakdown:
        """The bill for drawing ``power_kw`` of device (IT) power from ``start`` to ``end``.

        Energy is ``power_kw x hours x pue``, split exactly at the period boundaries, over
        midnight and across days. ``local=False`` (work scheduled elsewhere) gets no subsidy.

        >>> from zoneinfo import ZoneInfo
        >>> sh = ZoneInfo("Asia/Shanghai")
        >>> bill = EXAMPLE_SHANGHAI.energy_cost(
        ...     datetime(2024, 5, 6, 9, tzinfo=sh), datetime(2024, 5, 6, 10, tzinfo=sh), 1.0
        ... )
        >>> round(bill.cost, 2), round(bill.subsidy, 3), round(bill.net_cost, 3)
        (1.56, 0.312, 1.248)
        """
        _require_aware(start, "start")
        _require_aware(end, "end")
        if end < start:
            raise ValueError(f"end {end.isoformat()} is before start {start.isoformat()}")
        if not (isinstance(power_kw, int | float) and 0 <= power_kw < math.inf):
            raise ValueError(f"power_kw must be a number >= 0, not {power_kw!r}")
        # Durations are summed exactly (timedelta) before any float arithmetic.
        durations: dict[str, timedelta] = {}
        for kind, span in self._spans(start, end):
            durations[kind] = durations.get(kind, timedelta()) + span
        by_kind: dict[str, tuple[float, float]] = {}
        for kind, span in durations.items():
            kwh = power_kw * span.total_seconds() / 3600 * self.pue
            by_kind[kind] = (kwh, kwh * self.prices[kind])
        kwh = sum(k for k, _ in by_kind.values())
        cost = sum(c for _, c in by_kind.values())
        green = kwh * self.green_share
        subsidy = cost * self.subsidy_rate if local else 0.0
        return CostBreakdown(
            kwh=kwh,
            cost=cost,
            by_kind=by_kind,
            green_kwh=green,
            co2_kg=(kwh - green) * self.grid_co2_kg_per_kwh,
            subsidy=subsidy,
            net_cost=cost - subsidy,
        )

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Tariff:
        """A tariff from a mapping (a parsed YAML or JSON document), as :meth:`to_mapping` writes.

        Periods are ``{start: "08:00", end: "11:00", kind: peak}``; ``end: "24:00"`` ends the
        day, and an end before the start wraps past midnight.

        >>> Tariff.from_mapping({
        ...     "name": "flat", "prices": {"flat": 0.6},
        ...     "periods": [{"start": "00:00", "end": "24:00", "kind": "flat"}],
        ... }).periods
        ((0, 1440, 'flat'),)
        """
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidTariff(unknown[0], f"unknown field; known: {', '.join(sorted(known))}")
        for required in ("name", "periods", "prices"):
            if required not in data:
                raise InvalidTariff(required, "missing")
        raw_periods = data["periods"]
        if not isinstance(raw_periods, list | tuple):
            raise InvalidTariff("periods", "must be a list of {start, end, kind}")
        periods: list[Period] = []
        for i, item in enumerate(raw_periods):
            if not isinstance(item, Mapping) or set(item) != {"start", "end", "kind"}:
                raise InvalidTariff(f"periods[{i}]", f"{item!r} is not {{start, end, kind}}")
            where = f"periods[{i}]"
            start = _parse_minute(item["start"], where)
            periods.append((start, _parse_minute(item["end"], where), str(item["kind"])))
        prices = data["prices"]
        if not isinstance(prices, Mapping):
            raise InvalidTariff("prices", "must map a kind to a price, e.g. {peak: 1.2}")
        return cls(**{**data, "periods": tuple(periods), "prices": dict(prices)})

    def to_mapping(self) -> dict[str, Any]:
        """A plain dict, ready for ``yaml.safe_dump`` or JSON; :meth:`from_mapping` reads it."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["periods"] = [
            {"start": _hhmm(s), "end": _hhmm(e), "kind": k} for s, e, k in self.periods
        ]
        data["prices"] = dict(self.prices)
        return data


@dataclass(frozen=True, kw_only=True)
class CostBreakdown:
    """Energy, money and CO2 of one span; ``by_kind`` maps a period kind to ``(kwh, cost)``.

    Breakdowns add up: ``sum(parts, CostBreakdown())``.
    """

    kwh: float = 0.0
    cost: float = 0.0
    by_kind: Mapping[str, tuple[float, float]] = field(default_factory=dict, hash=False)
    green_kwh: float = 0.0
    co2_kg: float = 0.0
    subsidy: float = 0.0
    net_cost: float = 0.0

    def __add__(self, other: CostBreakdown) -> CostBreakdown:
        if not isinstance(other, CostBreakdown):
            return NotImplemented
        by_kind = dict(self.by_kind)
        for kind, (kwh, cost) in other.by_kind.items():
            old_kwh, old_cost = by_kind.get(kind, (0.0, 0.0))
            by_kind[kind] = (old_kwh + kwh, old_cost + cost)
        return CostBreakdown(
            kwh=self.kwh + other.kwh,
            cost=self.cost + other.cost,
            by_kind=by_kind,
            green_kwh=self.green_kwh + other.green_kwh,
            co2_kg=self.co2_kg + other.co2_kg,
            subsidy=self.subsidy + other.subsidy,
            net_cost=self.net_cost + other.net_cost,
        )


# Prices are illustrative round numbers, not Shanghai's published ones. The period pattern
# follows the Shanghai Development and Reform Commission (上海市发展和改革委员会) time-of-use
# notices for general industrial and commercial users (一般工商业): peak 08-11 and 18-21, flat
# 06-08, 11-18 and 21-22, valley 22-06. The seasonal critical-peak (尖峰) windows are left out.
EXAMPLE_SHANGHAI = Tariff(
    name="shanghai-example",
    periods=(
        (0, 360, "valley"),
        (360, 480, "flat"),
        (480, 660, "peak"),
        (660, 1080, "flat"),
        (1080, 1260, "peak"),
        (1260, 1320, "flat"),
        (1320, 1440, "valley"),
    ),
    prices={"peak": 1.20, "flat": 0.75, "valley": 0.35},
    pue=1.3,
    green_share=0.3,
    grid_co2_kg_per_kwh=CN_GRID_CO2_KG_PER_KWH_2022,
    subsidy_rate=0.2,
    example=True,
)


@dataclass(frozen=True, kw_only=True)
class Metering:
    """What one placement used and cost over a span.

    ``slice_hours`` is ``share x hours``; ``device_hours`` counts every device touched as whole
    (a MIG slice or a 0.5 share is one device, 8 devices are 8). ``power_w`` is the board power
    used per device, ``estimated_power`` when the model's is unknown.
    """

    slice_hours: float
    device_hours: float
    energy_kwh: float
    cost: float
    green_kwh: float
    co2_kg: float
    subsidy: float
    net_cost: float
    domestic: bool
    by_kind: Mapping[str, tuple[float, float]] = field(hash=False)
    power_w: float
    estimated_power: bool

    def to_mapping(self) -> dict[str, Any]:
        """Plain values for JSON (by_kind as {kind: {"kwh", "cost"}})."""
        out = {name: getattr(self, name) for name in self.__dataclass_fields__ if name != "by_kind"}
        out["by_kind"] = {k: {"kwh": v[0], "cost": v[1]} for k, v in self.by_kind.items()}
        return out


def meter(
    *,
    model: DeviceModel,
    share: float,
    start: datetime,
    end: datetime,
    tariff: Tariff,
    local: bool = True,
) -> Metering:
    """Meter ``share`` of one ``model`` device (3/7 for a MIG 3g slice, 0.5, 8.0 for eight
    devices) from ``start`` to ``end``: energy is ``board_power_w x share x hours x PUE``.

    >>> from zoneinfo import ZoneInfo
    >>> from zslab.compute.devices import find_model
    >>> sh = ZoneInfo("Asia/Shanghai")
    >>> m = meter(model=find_model("h100"), share=8.0, tariff=EXAMPLE_SHANGHAI,
    ...           start=datetime(2024, 5, 6, 0, tzinfo=sh), end=datetime(2024, 5, 6, 1, tzinfo=sh))
    >>> m.slice_hours, round(m.energy_kwh, 2), round(m.cost, 3)
    (8.0, 7.28, 2.548)
    """
    if not (isinstance(share, int | float) and 0 <= share < math.inf):
        raise ValueError(f"share must be a number >= 0 (3/7, 0.5, 8), not {share!r}")
    estimated = model.board_power_w is None
    power_w = float(FALLBACK_BOARD_POWER_W if model.board_power_w is None else model.board_power_w)
    bill = tariff.energy_cost(start, end, power_w * share / 1000, local=local)
    hours = (end - start).total_seconds() / 3600
    devices = math.ceil(share - 1e-9)  # 3/7 * 7 must stay 3 devices, not 4
    return Metering(
        slice_hours=share * hours,
        device_hours=devices * hours,
        energy_kwh=bill.kwh,
        cost=bill.cost,
        green_kwh=bill.green_kwh,
        co2_kg=bill.co2_kg,
        subsidy=bill.subsidy,
        net_cost=bill.net_cost,
        domestic=model.domestic,
        by_kind=bill.by_kind,
        power_w=power_w,
        estimated_power=estimated,
    )


@dataclass(frozen=True, kw_only=True)
class StartChoice:
    """The cheapest start found, against starting right away; ``saving_pct`` is in percent."""

    start: datetime
    cost_now: float
    cost_at_start: float
    saving: float
    saving_pct: float


def cheapest_start(
    *,
    tariff: Tariff,
    earliest: datetime,
    deadline: datetime,
    hours: float,
    power_kw: float,
    step_minutes: int = 15,
) -> StartChoice:
    """The start in ``[earliest, deadline - hours]`` that minimises the energy cost of a job.

    Candidates are ``earliest`` and the tariff-clock times on a ``step_minutes`` grid (00:00,
    00:15, ...); ties go to the earliest.

    >>> from zoneinfo import ZoneInfo
    >>> sh = ZoneInfo("Asia/Shanghai")
    >>> choice = cheapest_start(
    ...     tariff=EXAMPLE_SHANGHAI, hours=2, power_kw=1.0,
    ...     earliest=datetime(2024, 5, 6, 9, tzinfo=sh),
    ...     deadline=datetime(2024, 5, 7, 9, tzinfo=sh),
    ... )
    >>> choice.start.hour, round(choice.saving_pct, 1)
    (22, 70.8)
    """
    _require_aware(earliest, "earliest")
    _require_aware(deadline, "deadline")
    if not (hours > 0 and step_minutes > 0):
        raise ValueError(f"hours and step_minutes must be > 0, not {hours!r}, {step_minutes!r}")
    duration = timedelta(hours=hours)
    latest = deadline - duration
    if latest < earliest:
        raise ValueError(
            f"the deadline leaves no room: a {hours:g} h job starting at {earliest.isoformat()} "
            f"ends after {deadline.isoformat()}"
        )

    def cost_from(t: datetime) -> float:
        return tariff.energy_cost(t, t + duration, power_kw).cost

    # The first grid point at or after `earliest`, counted on the tariff's wall clock.
    local = earliest.astimezone(tariff.zone)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
    step = timedelta(minutes=step_minutes)
    steps = math.ceil((local.replace(tzinfo=None) - midnight) / step)
    candidate = (midnight + steps * step).replace(tzinfo=tariff.zone).astimezone(UTC)

    cost_now = cost_from(earliest)
    best, best_cost = earliest, cost_now
    while candidate <= latest:
        cost = cost_from(candidate)
        if cost < best_cost - 1e-9 * max(1.0, best_cost):  # float noise is not a saving
            best, best_cost = candidate.astimezone(earliest.tzinfo), cost
        candidate += step
    saving = cost_now - best_cost
    return StartChoice(
        start=best,
        cost_now=cost_now,
        cost_at_start=best_cost,
        saving=saving,
        saving_pct=100 * saving / cost_now if cost_now > 0 else 0.0,
    )


def load_tariff(source: str | Path | None) -> Tariff:
    """The tariff in a YAML file, or the example Shanghai tariff when ``source`` is empty."""
    if not source:
        return EXAMPLE_SHANGHAI
    path = Path(source)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidTariff("file", f"cannot read {path}: {exc}") from exc
    if not isinstance(data, Mapping):
        raise InvalidTariff("file", f"{path} must hold a mapping")
    return Tariff.from_mapping(data)
