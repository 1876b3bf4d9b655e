"""Vectorised samplers: exact splits, grouped categorical draws, line counts, amounts, times."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datasynth.config.models import (
    AmountConfig,
    TransactionsConfig,
    WorkingHoursConfig,
    parse_line_bucket,
)
from datasynth.core.distributions import (
    GroupedCategorical,
    amounts_minor,
    cdf,
    debit_line_counts,
    draw,
    line_counts,
    seconds_of_day,
    split_minor,
)

try:
    from scipy import stats
except ImportError:  # pragma: no cover - scipy is optional
    stats = None

#: Benford's first-digit probabilities, log10(1 + 1/d)
BENFORD = np.log10(1.0 + 1.0 / np.arange(1, 10))


class _TopUniform:
    """A stand-in generator whose every uniform draw is the largest value ``random()`` returns."""

    def random(self, n: int) -> np.ndarray:
        return np.full(n, 1.0 - 2.0**-53)


def assert_frequencies_match(counts: np.ndarray, weights: np.ndarray) -> None:
    """Observed category counts agree with ``weights``: zero-weight never drawn, and the rest
    within 5 binomial standard errors (plus a chi-square test when scipy is installed)."""
    counts = np.asarray(counts, dtype=np.float64)
    p = np.asarray(weights, dtype=np.float64) / np.sum(weights)
    n = counts.sum()
    assert n > 0
    assert np.all(counts[p == 0] == 0), f"zero-weight categories drawn: {counts}"
    sigma = np.sqrt(n * p * (1 - p))
    assert np.all(np.abs(counts - n * p) <= 5 * sigma + 1e-9), (counts, n * p)
    positive = p > 0
    if stats is not None and positive.sum() > 1:
        _, pvalue = stats.chisquare(counts[positive], n * p[positive])
        assert pvalue > 1e-6, (counts, n * p)


# --- split_minor --------------------------------------------------------------------------------


@st.composite
def segments(draw_: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    k = draw_(st.integers(1, 20))
    sizes = draw_(st.lists(st.integers(1, 60), min_size=k, max_size=k))
    totals = draw_(
        st.lists(
            st.one_of(
                st.integers(-5, 200),
                st.integers(0, 10**12),
                st.integers(10**15, 10**18 - 1),
            ),
            min_size=k,
            max_size=k,
        )
    )
    return np.array(totals, dtype=np.int64), np.array(sizes, dtype=np.int64)


@settings(deadline=None)  # timing varies on shared CI machines
@given(segments(), st.integers(0, 2**32))
def test_split_minor_segments_sum_exactly_and_every_line_gets_a_cent(
    case: tuple[np.ndarray, np.ndarray], seed: int
) -> None:
    totals, sizes = case
    parts = split_minor(np.random.default_rng(seed), totals, sizes)
    assert parts.dtype == np.int64
    assert parts.size == sizes.sum()
    assert parts.min() >= 1
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    for start, size, total in zip(starts, sizes, totals, strict=True):
        segment = parts[start : start + size]
        assert int(segment.sum()) == max(int(total), int(size))


def test_split_minor_does_not_give_everything_to_one_line() -> None:
    parts = split_minor(np.random.default_rng(3), np.array([1_000_000] * 200), np.full(200, 4))
    shares = parts.reshape(-1, 4) / 1_000_000
    # the residue goes to the last line, but it is only rounding: the last line is not special
    assert abs(shares[:, -1].mean() - shares[:, 0].mean()) < 0.1
    assert shares.max() < 1.0


# --- cdf / draw / GroupedCategorical ------------------------------------------------------------


def test_cdf_rejects_bad_weights() -> None:
    for bad in ([], [0.0, 0.0], [1.0, -0.5], [[1.0]]):
        with pytest.raises(ValueError):
            cdf(bad)  # type: ignore[arg-type]


def test_draw_matches_weights_and_skips_zero_weights() -> None:
    weights = np.array([0.0, 0.5, 0.0, 0.2, 0.3, 0.0])
    out = draw(np.random.default_rng(11), cdf(weights), 100_000)
    assert_frequencies_match(np.bincount(out, minlength=weights.size), weights)


@pytest.mark.parametrize(
    "weights", [[0.1] * 10 + [0.0], [0.7, 0.2, 0.1, 0.0, 0.0], [0.05] * 20 + [0.0]]
)
def test_draw_never_returns_trailing_zero_weight_even_for_the_top_uniform(
    weights: list[float],
) -> None:
    out = draw(_TopUniform(), cdf(weights), 3)  # type: ignore[arg-type]
    assert np.all(np.asarray(weights)[out] > 0)


GROUPS = [
    [0.5, 0.3, 0.2],
    [0.0, 1.0, 0.0, 3.0, 0.0],
    [1.0],
    [0.1] * 10,
    [2.0, 0.0, 0.0],
    [0.0, 0.0, 5.0, 1.0],
]


def test_grouped_categorical_frequencies_follow_each_groups_weights() -> None:
    rng = np.random.default_rng(2024)
    model = GroupedCategorical(GROUPS)
    group = rng.integers(0, len(GROUPS), 300_000)
    out = model.draw(rng, group)
    assert out.shape == group.shape
    for g, weights in enumerate(GROUPS):
        mine = out[group == g]
        assert mine.min() >= 0
        assert mine.max() < len(weights)
        assert_frequencies_match(np.bincount(mine, minlength=len(weights)), np.array(weights))


def test_grouped_categorical_skewed_group_sizes() -> None:
    """Rows of one group must not leak into a neighbour even with very different group sizes."""
    groups = [[1.0, 0.0], [0.0] * 50 + [1.0], [1.0, 1.0, 0.0], [0.0, 1.0]]
    model = GroupedCategorical(groups)
    rng = np.random.default_rng(5)
    group = np.repeat(np.arange(len(groups)), 20_000)
    out = model.draw(rng, group)
    np.testing.assert_array_equal(out[group == 0], 0)
    np.testing.assert_array_equal(out[group == 1], 50)
    assert set(np.unique(out[group == 2])) == {0, 1}
    np.testing.assert_array_equal(out[group == 3], 1)


def test_grouped_categorical_top_uniform_stays_on_a_positive_weight() -> None:
    """``g + u`` rounds up to ``g + 1`` for the largest uniform: the draw must still be a
    category of group ``g`` with positive weight."""
    model = GroupedCategorical(GROUPS)
    group = np.arange(len(GROUPS))
    out = model.draw(_TopUniform(), group)  # type: ignore[arg-type]
    for g, k in zip(group, out, strict=True):
        assert 0 <= k < len(GROUPS[g])
        assert GROUPS[g][k] > 0, (g, k)


def test_grouped_categorical_single_group_agrees_with_draw() -> None:
    weights = [0.2, 0.0, 0.5, 0.3]
    a = GroupedCategorical([weights]).draw(np.random.default_rng(1), np.zeros(1000, dtype=int))
    b = draw(np.random.default_rng(1), cdf(weights), 1000)
    np.testing.assert_array_equal(a, b)


# --- line counts and debit/credit split --------------------------------------------------------


@st.composite
def bucket_sets(draw_: st.DrawFn) -> tuple[list[tuple[int, int]], list[float]]:
    edges = sorted(draw_(st.sets(st.integers(2, 10_000), min_size=2, max_size=12)))
    buckets = [(lo, hi - 1) for lo, hi in itertools.pairwise(edges)]
    weights = draw_(
        st.lists(st.floats(0.0, 1.0), min_size=len(buckets), max_size=len(buckets)).filter(
            lambda w: sum(w) > 0.01
        )
    )
    return buckets, weights


@settings(deadline=None)  # timing varies on shared CI machines
@given(bucket_sets(), st.integers(0, 2**32))
def test_line_counts_stay_inside_the_drawn_buckets(
    case: tuple[list[tuple[int, int]], list[float]], seed: int
) -> None:
    buckets, weights = case
    out = line_counts(np.random.default_rng(seed), buckets, cdf(weights), 500)
    assert out.dtype == np.int64
    allowed = np.zeros(10_001, dtype=bool)
    for (lo, hi), w in zip(buckets, weights, strict=True):
        if w > 0:
            allowed[lo : hi + 1] = True
    assert np.all(allowed[out])


def test_line_counts_follow_the_default_bucket_mix_and_cover_ranges() -> None:
    mix = TransactionsConfig().line_counts
    buckets = [parse_line_bucket(k) for k in mix]
    weights = np.array(list(mix.values()))
    out = line_counts(np.random.default_rng(8), buckets, cdf(weights), 200_000)
    which = np.full(out.size, -1)
    for b, (lo, hi) in enumerate(buckets):
        which[(out >= lo) & (out <= hi)] = b
    assert np.all(which >= 0)
    assert_frequencies_match(np.bincount(which, minlength=len(buckets)), weights)
    ten_to_99 = out[(out >= 10) & (out <= 99)]
    assert ten_to_99.min() == 10
    assert ten_to_99.max() == 99  # uniform within the bucket reaches both ends


@settings(deadline=None)  # timing varies on shared CI machines
@given(
    st.lists(st.integers(2, 9999), min_size=1, max_size=200),
    st.lists(st.floats(0.0, 1.0), min_size=3, max_size=3).filter(lambda w: sum(w) > 0.01),
    st.integers(0, 2**32),
)
def test_debit_line_counts_leave_at_least_one_credit_and_one_debit(
    lines: list[int], split: list[float], seed: int
) -> None:
    n = np.array(lines, dtype=np.int64)
    debits = debit_line_counts(np.random.default_rng(seed), n, cdf(split))
    assert debits.shape == n.shape
    assert np.all(debits >= 1)
    assert np.all(debits <= n - 1)


def test_debit_line_count_kinds() -> None:
    rng = np.random.default_rng(0)
    n = np.arange(2, 2000)
    np.testing.assert_array_equal(debit_line_counts(rng, n, cdf([1, 0, 0])), n // 2)
    more_debit = debit_line_counts(rng, n, cdf([0, 1, 0]))
    more_credit = debit_line_counts(rng, n, cdf([0, 0, 1]))
    assert np.all(more_debit >= n - more_debit)
    assert np.all(more_credit <= n - more_credit)
    big = n >= 10
    assert np.all(more_debit[big] > n[big] - more_debit[big])
    np.testing.assert_array_equal(more_debit + more_credit, n)  # mirror images


# --- amounts ------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 10**6),
    st.integers(1, 9 * 10**14),
    st.floats(0.0, 25.0),
    st.floats(0.1, 6.0),
    st.integers(0, 2**32),
)
def test_amounts_stay_within_min_and_max_in_cents(
    min_cents: int, extra_cents: int, mu: float, sigma: float, seed: int
) -> None:
    max_cents = min(min_cents + extra_cents, 10**13)  # AmountConfig.max <= 10**11 units
    config = AmountConfig(
        min=min_cents / 100, max=max_cents / 100, lognormal_mu=mu, lognormal_sigma=sigma
    )
    rng = np.random.default_rng(seed)
    benford = rng.random(2000) < 0.5
    out = amounts_minor(rng, 2000, config, benford)
    assert out.dtype == np.int64
    assert out.min() >= min_cents
    assert out.max() <= max_cents


def test_amount_bounds_that_are_not_round_numbers_are_respected() -> None:
    """Rounding to 5 or 100 must not step over a bound like 123.45 or 1,050.00."""
    for low, high in [(0.01, 123.45), (1050.0, 5000.0), (0.01, 1234.56)]:
        config = AmountConfig(min=low, max=high)
        out = amounts_minor(np.random.default_rng(1), 50_000, config, np.ones(50_000, bool))
        assert out.min() >= round(low * 100)
        assert out.max() <= round(high * 100)


def _first_digits(values: np.ndarray) -> np.ndarray:
    v = values.astype(np.float64)
    return (v // 10 ** np.floor(np.log10(v))).astype(np.int64)


def test_first_digits_of_benford_amounts_follow_benford() -> None:
    n = 200_000
    out = amounts_minor(np.random.default_rng(77), n, AmountConfig(), np.ones(n, dtype=bool))
    assert _first_digits(np.array([1, 9, 10, 42, 99_999, 100_000])).tolist() == [1, 9, 1, 4, 9, 1]
    observed = np.bincount(_first_digits(out), minlength=10)[1:] / n
    mad = np.abs(observed - BENFORD).mean()
    assert mad <= 0.006, (mad, observed)


def test_amounts_show_round_number_bias() -> None:
    n = 100_000
    config = AmountConfig()
    out = amounts_minor(np.random.default_rng(4), n, config, np.ones(n, dtype=bool))
    big = out >= 100_000  # amounts of at least 1,000.00
    share_round_100 = np.mean(out[big] % 10_000 == 0)
    # ~ round_to_100_probability plus the few amounts that are round by chance
    assert share_round_100 > config.round_to_100_probability * 0.8


# --- times of day -------------------------------------------------------------------------------


def test_seconds_of_day_in_range_and_automated_postings_mostly_at_night() -> None:
    config = WorkingHoursConfig()
    rng = np.random.default_rng(12)
    automated = rng.random(100_000) < 0.5
    seconds = seconds_of_day(rng, automated, config)
    assert seconds.min() >= 0
    assert seconds.max() < 86_400
    hour = seconds // 3600
    night = (hour == 22) | (hour == 23)
    machine_night = night[automated].mean()
    # night share, plus the uniform remainder that happens to fall at 22-23 h
    expected = config.automated_night_share + (1 - config.automated_night_share) * 2 / 24
    assert machine_night > 0.5
    assert abs(machine_night - expected) < 5 * np.sqrt(expected * (1 - expected) / automated.sum())
    assert night[~automated].mean() == 0.0  # people do not post late at night
    assert np.all((hour[~automated] >= 6) & (hour[~automated] < 22))
    # minutes and seconds are spread over the whole hour
    assert len(np.unique(seconds % 3600)) > 3000


def test_seconds_of_day_all_automated_night_share_one() -> None:
    config = WorkingHoursConfig(automated_night_share=1.0)
    seconds = seconds_of_day(np.random.default_rng(0), np.ones(10_000, bool), config)
    assert set(np.unique(seconds // 3600)) == {22, 23}
