"""Fiscal years and periods per variant, and the daily activity weights behind posting dates."""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datasynth.config.models import FISCAL_YEAR_START_MONTH, CalendarConfig, PeriodEndConfig
from datasynth.core.calendars import day_numbers, day_weights, fiscal_periods, fiscal_year_period

K4 = FISCAL_YEAR_START_MONTH["K4"]
V3 = FISCAL_YEAR_START_MONTH["V3"]
D = dt.date

#: only the weekday pattern: no holidays, no seasonality, no period-end spikes
PLAIN = CalendarConfig(
    holidays=False, industry_seasonality=False, period_end=PeriodEndConfig(lead_days=0)
)
#: every day the same except for the period-end spikes
FLAT_WITH_PERIOD_END = CalendarConfig(
    day_of_week=(1.0, 1.0, 1.0, 1.0, 1.0),
    weekend=1.0,
    holidays=False,
    industry_seasonality=False,
)


def weights_by_date(
    calendar: CalendarConfig,
    start: dt.date,
    stop: dt.date,
    *,
    industry: str = "manufacturing",
    country: str = "US",
    start_month: int = K4,
) -> dict[dt.date, float]:
    w = day_weights(calendar, industry, country, start_month, start, stop)
    assert w.shape == ((stop - start).days,)
    assert w.dtype == np.float64
    assert np.all(w >= 0)
    return {start + dt.timedelta(days=i): float(x) for i, x in enumerate(w)}


# --- fiscal years and periods -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "variant", "expected"),
    [
        (D(2024, 1, 1), "K4", (2024, 1)),
        (D(2024, 3, 31), "K4", (2024, 3)),
        (D(2024, 12, 31), "K4", (2024, 12)),
        (D(2024, 3, 31), "V3", (2023, 12)),
        (D(2024, 4, 1), "V3", (2024, 1)),
        (D(2024, 12, 15), "V3", (2024, 9)),
        (D(2025, 1, 1), "V3", (2024, 10)),
        (D(2024, 6, 30), "V6", (2023, 12)),
        (D(2024, 7, 1), "V6", (2024, 1)),
        (D(2024, 9, 30), "V9", (2023, 12)),
        (D(2024, 10, 1), "V9", (2024, 1)),
    ],
)
def test_fiscal_year_period(day: dt.date, variant: str, expected: tuple[int, int]) -> None:
    assert fiscal_year_period(day, FISCAL_YEAR_START_MONTH[variant]) == expected


@pytest.mark.parametrize("variant", ["K4", "V3", "V6", "V9"])
def test_fiscal_periods_advance_one_month_at_a_time(variant: str) -> None:
    start_month = FISCAL_YEAR_START_MONTH[variant]
    labels = [fiscal_year_period(D(2020 + m // 12, m % 12 + 1, 15), start_month) for m in range(60)]
    for (y0, p0), (y1, p1) in itertools.pairwise(labels):
        assert (y1, p1) == ((y0, p0 + 1) if p0 < 12 else (y0 + 1, 1))
    # period 1 is the variant's first month, and the year is labelled by the year it starts in
    assert fiscal_year_period(D(2022, start_month, 1), start_month) == (2022, 1)


def test_fiscal_periods_clip_partial_months() -> None:
    periods = fiscal_periods(D(2024, 1, 15), D(2024, 4, 10), K4)
    assert [(p.fiscal_year, p.fiscal_period, p.first, p.stop) for p in periods] == [
        (2024, 1, D(2024, 1, 15), D(2024, 2, 1)),
        (2024, 2, D(2024, 2, 1), D(2024, 3, 1)),
        (2024, 3, D(2024, 3, 1), D(2024, 4, 1)),
        (2024, 4, D(2024, 4, 1), D(2024, 4, 10)),
    ]
    assert [p.days for p in periods] == [17, 29, 31, 9]


def test_fiscal_periods_v3_cross_the_fiscal_year_in_april() -> None:
    periods = fiscal_periods(D(2024, 2, 1), D(2024, 6, 1), V3)
    assert [(p.fiscal_year, p.fiscal_period) for p in periods] == [
        (2023, 11),
        (2023, 12),
        (2024, 1),
        (2024, 2),
    ]


def test_fiscal_periods_of_an_empty_window() -> None:
    assert fiscal_periods(D(2024, 5, 5), D(2024, 5, 5), K4) == []


@settings(deadline=None)  # timing varies on shared CI machines
@given(
    st.dates(D(2000, 1, 1), D(2040, 1, 1)),
    st.integers(1, 2000),
    st.sampled_from(sorted(FISCAL_YEAR_START_MONTH.values())),
)
def test_fiscal_periods_cover_the_window_exactly(
    start: dt.date, length: int, start_month: int
) -> None:
    stop = start + dt.timedelta(days=length)
    periods = fiscal_periods(start, stop, start_month)
    assert periods[0].first == start
    assert periods[-1].stop == stop
    for a, b in itertools.pairwise(periods):
        assert a.stop == b.first  # no gaps, no overlaps
    assert sum(p.days for p in periods) == length
    for p in periods:
        assert p.days >= 1
        last = p.stop - dt.timedelta(days=1)
        assert (p.first.year, p.first.month) == (last.year, last.month)  # within one month
        assert fiscal_year_period(p.first, start_month) == (p.fiscal_year, p.fiscal_period)
        assert fiscal_year_period(last, start_month) == (p.fiscal_year, p.fiscal_period)


def test_day_numbers_are_days_since_epoch() -> None:
    days = day_numbers(D(1970, 1, 1), D(1970, 1, 4))
    assert days.tolist() == [0, 1, 2]
    assert day_numbers(D(2024, 3, 1), D(2024, 3, 2)).tolist() == [
        (D(2024, 3, 1) - D(1970, 1, 1)).days
    ]


# --- day weights ---------------------------------------------------------------------------------


def test_weekends_weigh_less_than_weekdays() -> None:
    w = weights_by_date(PLAIN, D(2024, 1, 1), D(2025, 1, 1))
    weekend = [x for d, x in w.items() if d.weekday() >= 5]
    weekday = [x for d, x in w.items() if d.weekday() < 5]
    assert max(weekend) < min(weekday)
    # the weekday pattern: Monday is the busiest day, Friday the quietest weekday
    assert w[D(2024, 3, 4)] > w[D(2024, 3, 6)] > w[D(2024, 3, 8)]
    # and with every effect switched on the weekend still averages far below weekdays
    full = weights_by_date(CalendarConfig(), D(2024, 1, 1), D(2025, 1, 1))
    full_weekend = np.mean([x for d, x in full.items() if d.weekday() >= 5])
    full_weekday = np.mean([x for d, x in full.items() if d.weekday() < 5])
    assert full_weekend < 0.3 * full_weekday


@pytest.mark.parametrize(
    ("holiday", "neighbours"),
    [
        # Independence Day 2024 is a Thursday
        (
            D(2024, 7, 4),
            [D(2024, 7, 1), D(2024, 7, 2), D(2024, 7, 3), D(2024, 7, 5), D(2024, 7, 11)],
        ),
        # Christmas 2024 is a Wednesday
        (D(2024, 12, 25), [D(2024, 12, 16), D(2024, 12, 18), D(2024, 12, 23), D(2024, 12, 26)]),
    ],
)
@pytest.mark.parametrize("industry", ["manufacturing", "retail", "technology"])
def test_us_holidays_dip_below_neighbouring_weekdays(
    holiday: dt.date, neighbours: list[dt.date], industry: str
) -> None:
    calendar = CalendarConfig(period_end=PeriodEndConfig(lead_days=0))
    w = weights_by_date(calendar, D(2024, 6, 1), D(2025, 1, 1), industry=industry)
    plain = weights_by_date(
        PLAIN.model_copy(update={"holidays": True}), D(2024, 6, 1), D(2025, 1, 1)
    )
    assert plain[holiday] < 0.25 * min(plain[d] for d in neighbours)
    # seasonality can lift a whole season, but the holiday stays far below its neighbours
    assert w[holiday] < 0.25 * np.median([w[d] for d in neighbours])


def test_holidays_follow_the_company_country_and_cover_every_year() -> None:
    calendar = PLAIN.model_copy(update={"holidays": True})
    us = weights_by_date(calendar, D(2024, 6, 1), D(2025, 2, 1), country="US")
    de = weights_by_date(calendar, D(2024, 6, 1), D(2025, 2, 1), country="DE")
    assert us[D(2024, 7, 4)] < 0.25 * us[D(2024, 7, 11)]
    assert de[D(2024, 7, 4)] == de[D(2024, 7, 11)]  # not a German holiday
    assert de[D(2024, 10, 3)] < 0.25 * de[D(2024, 10, 10)]  # German Unity Day
    assert us[D(2024, 10, 3)] == us[D(2024, 10, 10)]
    # New Year 2025 (a Wednesday) lies in the window's second calendar year
    assert us[D(2025, 1, 1)] < 0.25 * us[D(2025, 1, 8)]
    # switched off, the holiday is an ordinary Thursday
    off = weights_by_date(PLAIN, D(2024, 6, 1), D(2025, 2, 1), country="US")
    assert off[D(2024, 7, 4)] == off[D(2024, 7, 11)]


def test_quarter_end_days_weigh_more_than_mid_month_days() -> None:
    calendar = CalendarConfig(holidays=False, industry_seasonality=False)
    w = weights_by_date(calendar, D(2024, 1, 1), D(2025, 1, 1))
    for day in range(27, 32):  # the last 5 days of March
        end = D(2024, 3, day)
        mid = end - dt.timedelta(days=14)  # same weekday, mid-month
        assert w[end] > w[mid]
        assert w[end] / w[mid] == pytest.approx(calendar.period_end.quarter_end)
    # the spike lasts exactly lead_days: the day before is an ordinary Tuesday
    assert w[D(2024, 3, 26)] == w[D(2024, 3, 12)]


def _period_end_means(w: dict[dt.date, float], year: int) -> dict[int, float]:
    """Mean weight of the last 5 days of each month."""
    out = {}
    for month in range(1, 13):
        nxt = D(year + (month == 12), month % 12 + 1, 1)
        out[month] = float(np.mean([w[nxt - dt.timedelta(days=k)] for k in range(1, 6)]))
    return out


def test_year_end_outweighs_quarter_end_outweighs_month_end_k4() -> None:
    w = weights_by_date(FLAT_WITH_PERIOD_END, D(2024, 1, 1), D(2025, 1, 1))
    ends = _period_end_means(w, 2024)
    mid = w[D(2024, 5, 15)]
    quarter_ends = {3, 6, 9}
    for month, value in ends.items():
        if month == 12:
            continue
        assert ends[12] > value
        assert value > mid
        if month in quarter_ends:
            assert all(value > ends[m] for m in ends if m not in quarter_ends | {12})


def test_v3_year_end_spike_falls_in_march() -> None:
    w = weights_by_date(FLAT_WITH_PERIOD_END, D(2024, 1, 1), D(2025, 1, 1), start_month=V3)
    ends = _period_end_means(w, 2024)
    assert max(ends, key=ends.__getitem__) == 3
    assert all(ends[3] > ends[m] for m in ends if m != 3)
    # for V3, December closes the third fiscal quarter, June and September the first two
    for quarter_end in (6, 9, 12):
        assert ends[quarter_end] > ends[1]
    k4 = _period_end_means(
        weights_by_date(FLAT_WITH_PERIOD_END, D(2024, 1, 1), D(2025, 1, 1), start_month=K4), 2024
    )
    assert k4[12] > ends[12]
    assert k4[3] < ends[3]


def test_retail_seasonality_makes_late_november_heavier() -> None:
    calendar = CalendarConfig()
    # Mon 18 - Sun 24 Nov 2024 against Mon 4 - Sun 10 Nov: same weekdays, no US holiday
    # and no month-end lead day in either week
    late = [D(2024, 11, d) for d in range(18, 25)]
    early = [D(2024, 11, d) for d in range(4, 11)]
    retail = weights_by_date(calendar, D(2024, 10, 1), D(2025, 1, 1), industry="retail")
    ratio = sum(retail[d] for d in late) / sum(retail[d] for d in early)
    assert ratio > 2.0
    # the effect comes from the industry: without seasonality the weeks weigh the same
    off = weights_by_date(
        calendar.model_copy(update={"industry_seasonality": False}),
        D(2024, 10, 1),
        D(2025, 1, 1),
        industry="retail",
    )
    assert sum(off[d] for d in late) == pytest.approx(sum(off[d] for d in early))


def test_seasonality_differs_between_industries() -> None:
    start, stop = D(2024, 1, 1), D(2025, 1, 1)
    a = day_weights(CalendarConfig(), "retail", "US", K4, start, stop)
    b = day_weights(CalendarConfig(), "healthcare", "US", K4, start, stop)
    assert not np.allclose(a, b)


@pytest.mark.parametrize(
    ("country", "holiday", "ordinary"),
    [
        ("US", dt.date(2024, 7, 4), dt.date(2024, 7, 11)),  # Independence Day (Thu)
        ("DE", dt.date(2024, 10, 3), dt.date(2024, 10, 10)),  # Tag der Deutschen Einheit (Thu)
        ("GB", dt.date(2024, 5, 6), dt.date(2024, 5, 13)),  # Early May bank holiday (Mon)
        ("CN", dt.date(2024, 10, 1), dt.date(2024, 10, 15)),  # National Day (Tue)
        ("JP", dt.date(2024, 5, 3), dt.date(2024, 5, 10)),  # Constitution Memorial Day (Fri)
        ("IN", dt.date(2024, 1, 26), dt.date(2024, 1, 19)),  # Republic Day (Fri)
    ],
)
def test_public_holidays_of_each_required_country_dip(
    country: str, holiday: dt.date, ordinary: dt.date
) -> None:
    """The six calendars the issue names at least: a holiday weighs a twentieth of the same
    weekday a week away (seasonality and period ends switched off)."""
    cal = CalendarConfig(industry_seasonality=False, period_end=PeriodEndConfig(lead_days=0))
    start, stop = dt.date(2024, 1, 1), dt.date(2025, 1, 1)
    w = day_weights(cal, "manufacturing", country, 1, start, stop)
    assert holiday.weekday() == ordinary.weekday()
    on, off = w[(holiday - start).days], w[(ordinary - start).days]
    assert on == pytest.approx(off * cal.holiday_activity)
