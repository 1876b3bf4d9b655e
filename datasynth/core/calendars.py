"""Fiscal calendars and the daily activity weights that shape posting dates.

A company's weight for a day is the product of its weekday multiplier (or the weekend dip), the
holiday dip from its country's public-holiday calendar, the highest-priority industry seasonal
event active that day, and the month-, quarter- or year-end spike (year-end wins over
quarter-end over month-end), where quarter and year follow the company's fiscal year variant.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache, lru_cache

import numpy as np

from datasynth.config.models import (
    FISCAL_YEAR_START_MONTH,
    CalendarConfig,
    CompanyConfig,
    DatasynthConfig,
)
from datasynth.core.reference import load

_EPOCH = np.datetime64("1970-01-01", "D")


@dataclass(frozen=True)
class FiscalPeriod:
    """One fiscal period of one company, clipped to the generated window ``[first, stop)``."""

    fiscal_year: int
    fiscal_period: int
    first: dt.date
    stop: dt.date

    @property
    def days(self) -> int:
        return (self.stop - self.first).days


def fiscal_year_period(day: dt.date, start_month: int) -> tuple[int, int]:
    """Fiscal year (labelled by the calendar year it starts in) and period 1..12 of ``day``."""
    period = (day.month - start_month) % 12 + 1
    year = day.year if day.month >= start_month else day.year - 1
    return year, period


def fiscal_periods(start: dt.date, stop: dt.date, start_month: int) -> list[FiscalPeriod]:
    """The fiscal periods that intersect ``[start, stop)``, in date order, clipped to it."""
    out: list[FiscalPeriod] = []
    first = start
    while first < stop:
        month_stop = dt.date(first.year + (first.month == 12), first.month % 12 + 1, 1)
        period_stop = min(month_stop, stop)
        fy, fp = fiscal_year_period(first, start_month)
        out.append(FiscalPeriod(fy, fp, first, period_stop))
        first = period_stop
    return out


def day_numbers(start: dt.date, stop: dt.date) -> np.ndarray:
    """Days since 1970-01-01 for every day in ``[start, stop)`` (int64)."""
    first = (np.datetime64(start, "D") - _EPOCH).astype(np.int64)
    return np.arange(first, first + (stop - start).days, dtype=np.int64)


@cache
def _holiday_days(country: str, first_year: int, last_year: int) -> frozenset[int]:
    import holidays

    calendar = holidays.country_holidays(country, years=range(first_year, last_year + 1))
    return frozenset((d - dt.date(1970, 1, 1)).days for d in calendar)


@lru_cache(maxsize=256)
def day_weights(
    calendar: CalendarConfig,
    industry: str,
    country: str,
    fiscal_start_month: int,
    start: dt.date,
    stop: dt.date,
) -> np.ndarray:
    """Relative posting activity for every day of ``[start, stop)`` (float64, >= 0).

    Cached per arguments (the plan and the master data both need it); the array is read-only.
    """
    days = day_numbers(start, stop)
    as_dates = days.astype("datetime64[D]")
    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday; Monday == 0
    weights = np.where(
        weekday < 5,
        np.asarray(calendar.day_of_week, dtype=np.float64)[np.minimum(weekday, 4)],
        calendar.weekend,
    )

    months = as_dates.astype("datetime64[M]")
    month_number = (months.astype(np.int64) % 12) + 1
    day_of_month = (as_dates - months.astype("datetime64[D]")).astype(np.int64) + 1
    days_left = ((months + 1).astype("datetime64[D]") - as_dates).astype(np.int64)

    if calendar.holidays:
        years = months.astype("datetime64[Y]").astype(np.int64) + 1970
        holiday_set = _holiday_days(country, int(years.min()), int(years.max()))
        if holiday_set:
            is_holiday = np.isin(days, np.fromiter(holiday_set, dtype=np.int64))
            weights = np.where(is_holiday, weights * calendar.holiday_activity, weights)

    if calendar.industry_seasonality:
        weights = weights * _seasonality(industry, month_number * 100 + day_of_month)

    pe = calendar.period_end
    if pe.lead_days > 0:
        in_lead = days_left <= pe.lead_days
        fiscal_month = (month_number - fiscal_start_month) % 12  # 0 = first month of the year
        multiplier = np.where(
            fiscal_month == 11,
            pe.year_end,
            np.where(fiscal_month % 3 == 2, pe.quarter_end, pe.month_end),
        )
        weights = np.where(in_lead, weights * multiplier, weights)
    weights.setflags(write=False)
    return weights


def _seasonality(industry: str, month_day: np.ndarray) -> np.ndarray:
    events = load("seasonality").get(industry, [])
    best_priority = np.full(month_day.shape, -1, dtype=np.int64)
    multiplier = np.ones(month_day.shape, dtype=np.float64)
    for event in events:
        lo = _month_day(event["start"])
        hi = _month_day(event["end"])
        active = (
            (month_day >= lo) & (month_day <= hi)
            if lo <= hi
            else (month_day >= lo) | (month_day <= hi)
        )
        wins = active & (event["priority"] > best_priority)
        multiplier = np.where(wins, event["multiplier"], multiplier)
        best_priority = np.where(wins, event["priority"], best_priority)
    return multiplier


def _month_day(text: str) -> int:
    month, day = text.split("-")
    return int(month) * 100 + int(day)


def company_calendar(
    config: DatasynthConfig, company: CompanyConfig
) -> tuple[list[FiscalPeriod], np.ndarray]:
    """A company's fiscal periods in the generated window and its day weights over the window."""
    g = config.global_
    start_month = FISCAL_YEAR_START_MONTH[company.fiscal_year_variant]
    weights = day_weights(
        config.transactions.calendar,
        g.industry,
        company.country,
        start_month,
        g.start_date,
        g.stop_date,
    )
    return fiscal_periods(g.start_date, g.stop_date, start_month), weights
