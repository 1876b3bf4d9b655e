"""Depreciation schedules by method, checked against hand-computed values (minor units)."""

from __future__ import annotations

import numpy as np
import pytest

from datasynth.generators.asset_accounting import METHODS, accumulated_depreciation


def schedule(method: str, cost: int, salvage: int, life: int, months: list[int]) -> list[int]:
    n = len(months)
    out = accumulated_depreciation(
        np.full(n, cost),
        np.full(n, salvage),
        np.full(n, life),
        np.full(n, METHODS.index(method)),
        np.asarray(months),
    )
    return [int(x) for x in out]


def test_straight_line() -> None:
    # 1,000.00 less 100.00 salvage over 36 months: 25.00 a month
    assert schedule("straight_line", 100_000, 10_000, 36, [0, 1, 12, 35, 36, 40]) == [
        0,
        2_500,
        30_000,
        87_500,
        90_000,
        90_000,
    ]
    # 1,000.00 over three months: 333.33, 333.33, 333.34 (the cents add up)
    assert schedule("straight_line", 100_000, 0, 3, [1, 2, 3]) == [33_333, 66_666, 100_000]


def test_sum_of_years_digits() -> None:
    # 6,000.00 over three years: 3,000.00, 2,000.00, 1,000.00, even within each year
    assert schedule("sum_of_years_digits", 600_000, 0, 36, [1, 12, 18, 24, 30, 36, 48]) == [
        25_000,
        300_000,
        400_000,
        500_000,
        550_000,
        600_000,
        600_000,
    ]


def test_double_declining_balance() -> None:
    # 10,000.00, salvage 1,000.00, 60 months: month 1 is 2/60 of 10,000.00 = 333.33;
    # month 2 is 2/60 of the 9,666.67 left = 322.22
    acc = schedule("double_declining_balance", 1_000_000, 100_000, 60, list(range(61)))
    assert acc[1] == 33_333
    assert acc[2] - acc[1] == 32_222
    steps = np.diff(acc)
    assert (steps >= 0).all()
    assert acc[60] == 900_000  # exactly down to salvage at the end of the life
    # it switches to straight line over the remaining months: the tail is flat
    tail = steps[-12:]
    assert tail.max() - tail.min() <= 1
    assert (steps[:12] > steps[12]).all()  # declining before the switch


def test_declining_balance_and_land() -> None:
    acc = schedule("declining_balance", 1_000_000, 0, 120, [1, 120, 200])
    assert acc[0] == 12_500  # 1.5 / 120 = 1.25% of 10,000.00
    assert acc[1] == acc[2] == 1_000_000
    assert schedule("none", 5_000_000, 0, 0, [0, 12, 600]) == [0, 0, 0]


@pytest.mark.parametrize("method", [m for m in METHODS if m != "none"])
def test_every_method_ends_at_salvage_and_never_passes_it(method: str) -> None:
    rng = np.random.default_rng(3)
    n = 200
    cost = rng.integers(1_000, 10**11, n)
    salvage = (cost * rng.uniform(0, 0.1, n)).astype(np.int64)
    life = rng.choice([12, 36, 60, 84, 120, 480], n)
    months = np.repeat(np.arange(0, 500)[None, :], n, axis=0)
    acc = accumulated_depreciation(cost, salvage, life, np.full(n, METHODS.index(method)), months)
    assert (np.diff(acc, axis=1) >= 0).all()
    assert (acc[:, -1] == cost - salvage).all()
    assert (acc <= (cost - salvage)[:, None]).all()
    assert (acc[np.arange(n), life] == cost - salvage).all()
