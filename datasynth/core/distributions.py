"""Vectorised samplers: categorical draws, line counts, debit/credit splits, amounts, times.

All categorical draws use a cumulative-weights lookup (``searchsorted`` on uniform draws), which
is an order of magnitude faster than ``Generator.choice(p=...)``. Grouped draws (a different
distribution per row) stack the groups' CDFs end to end, offset by the group number, so one
``searchsorted`` serves every row.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from datasynth.config.models import AmountConfig, WorkingHoursConfig


def cdf(weights: Sequence[float] | np.ndarray) -> np.ndarray:
    """Normalised cumulative weights ending exactly at 1.0."""
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 1 or w.size == 0 or np.any(w < 0) or w.sum() <= 0:
        raise ValueError(
            "weights must be a non-empty vector of non-negative numbers with a positive sum"
        )
    out: np.ndarray = np.cumsum(w) / w.sum()
    # from the last positive weight on, exactly 1.0: rounding in the cumsum can leave it a hair
    # below 1, which would give trailing zero-weight categories the top uniform draws
    out[np.flatnonzero(w)[-1] :] = 1.0
    return out


def draw(rng: np.random.Generator, cumulative: np.ndarray, n: int) -> np.ndarray:
    """``n`` category indices drawn with the probabilities behind ``cumulative``."""
    out: np.ndarray = np.searchsorted(cumulative, rng.random(n), side="right").astype(np.int64)
    return out


class GroupedCategorical:
    """Many categorical distributions at once; each row names which one it draws from."""

    def __init__(self, groups: Sequence[Sequence[float]]) -> None:
        cdfs = [cdf(g) for g in groups]
        self.sizes = np.array([len(c) for c in cdfs], dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)[:-1]]).astype(np.int64)
        # group i occupies (i, i + 1]; a row of group g looks up g + u with u in [0, 1)
        self._stacked = np.concatenate([c + i for i, c in enumerate(cdfs)])
        # g + u rounds up to g + 1 for u near 1; such a draw must land on the group's last
        # category with positive weight, never on a zero-weight one after it
        last = np.array([np.flatnonzero(np.asarray(w, dtype=np.float64))[-1] for w in groups])
        self._last = self.offsets + last.astype(np.int64)

    def draw(self, rng: np.random.Generator, group: np.ndarray) -> np.ndarray:
        """Index *within its group* of one draw per row of ``group``."""
        g = np.asarray(group, dtype=np.int64)
        flat = np.searchsorted(self._stacked, g + rng.random(g.size), side="right")
        flat = np.minimum(flat, self._last[g])
        out: np.ndarray = flat - self.offsets[g]
        return out


def line_counts(
    rng: np.random.Generator, buckets: Sequence[tuple[int, int]], cumulative: np.ndarray, n: int
) -> np.ndarray:
    """Lines per entry: a bucket by its probability, then uniform within the bucket's range."""
    lo = np.array([b[0] for b in buckets], dtype=np.int64)
    span = np.array([b[1] - b[0] + 1 for b in buckets], dtype=np.int64)
    which = draw(rng, cumulative, n)
    out: np.ndarray = lo[which] + (rng.random(n) * span[which]).astype(np.int64)
    return out


def debit_line_counts(
    rng: np.random.Generator, lines: np.ndarray, split_cdf: np.ndarray
) -> np.ndarray:
    """Debit lines per entry: equal (floor n/2), more debits or more credits (round 0.6 n)."""
    kind = draw(rng, split_cdf, lines.size)
    larger = np.clip(np.floor(0.6 * lines + 0.5).astype(np.int64), 1, lines - 1)
    return np.select([kind == 0, kind == 1], [lines // 2, larger], lines - larger)


def amounts_minor(
    rng: np.random.Generator,
    n: int,
    config: AmountConfig,
    benford: np.ndarray,
    scale: float = 1.0,
    unit: int = 1,
) -> np.ndarray:
    """Entry totals in hundredths (cents), log-normal with round-number bias.

    ``scale`` converts the configured amounts (group currency) into the company's currency;
    ``unit`` is the smallest amount in hundredths (1 for two-decimal currencies, 100 for
    currencies without minor units such as JPY), and every result is a multiple of it.
    Rows where ``benford`` is true keep the log-normal's decade but draw the position inside the
    decade log-uniformly, so their first digits follow Benford's law exactly before rounding;
    the others are plain log-normal. Rounding to hundreds applies only from 1,000 and to fives
    from 100 up, so it moves few first digits.
    """
    low, high = config.min * scale, config.max * scale
    x = np.exp(
        config.lognormal_mu + np.log(scale) + config.lognormal_sigma * rng.standard_normal(n)
    )
    x = np.clip(x, low, high)
    mantissa = rng.random(n)
    decade = np.floor(np.log10(x))
    x = np.where(benford, np.clip(10.0 ** (decade + mantissa), low, high), x)
    r = rng.random(n)
    to_100 = (r < config.round_to_100_probability) & (x >= 1000.0)
    to_5 = (
        (r >= config.round_to_100_probability)
        & (r < config.round_to_100_probability + config.round_to_5_probability)
        & (x >= 100.0)
    )
    cents = np.rint(x * 100.0 / unit) * unit
    cents = np.where(to_100, np.rint(x / 100.0) * 10_000.0, cents)
    cents = np.where(to_5, np.rint(x / 5.0) * 500.0, cents)
    # rounding to 5 or 100 can step past a bound that is not itself a round number
    lo_cents = max(np.ceil(low * 100.0 / unit), 1) * unit
    hi_cents = max(np.floor(high * 100.0 / unit) * unit, lo_cents)
    out: np.ndarray = np.clip(cents, lo_cents, hi_cents).astype(np.int64)
    return out


#: spread of the ranking that deals typical amounts to entries (see couple_amounts)
COUPLING_NOISE = 1.0
#: weight of log(lines on the larger side) in that ranking
COUPLING_LINES = 0.5


def couple_amounts(
    rng: np.random.Generator,
    amounts: np.ndarray,
    larger_side: np.ndarray,
    log_size: np.ndarray,
    groups: np.ndarray,
) -> np.ndarray:
    """The same ``amounts``, dealt so that entries of larger kinds and with fewer lines get
    the larger ones.

    An entry's total is its typical line amount times the lines on its larger side. Drawn
    independently, a payroll run of 500 lines or a travel claim would now and then take an
    amount from the log-normal's far tail and post more than a month of revenue. Entries are
    ranked by ``log_size - COUPLING_LINES x log(lines) + noise`` (``log_size``: the posting
    template's relative size: bank transfers and payments large, travel and bank charges small)
    and take the amounts in the same order, within each group (Benford and plain draws
    apart): the amounts themselves, and so their distribution, do not change.
    """
    score = (
        log_size
        - COUPLING_LINES * np.log(larger_side)
        + COUPLING_NOISE * rng.standard_normal(amounts.size)
    )
    by_score = np.lexsort((score, groups))
    by_amount = np.lexsort((amounts, groups))
    out = np.empty_like(amounts)
    out[by_score] = amounts[by_amount]
    return out


def seconds_of_day(
    rng: np.random.Generator, automated: np.ndarray, config: WorkingHoursConfig
) -> np.ndarray:
    """Second of the local day of each posting: office hours for people, nights for batch jobs."""
    n = automated.size
    u = rng.random(n)
    peak = np.asarray(config.peak_hours, dtype=np.int64)
    human_hour = np.where(
        u < config.human_after_hours,
        np.where(rng.random(n) < 0.5, rng.integers(6, 8, n), rng.integers(18, 22, n)),
        np.where(
            rng.random(n) < config.human_peak_share,
            peak[rng.integers(0, peak.size, n)],
            rng.integers(8, 18, n),
        ),
    )
    machine_hour = np.where(
        rng.random(n) < config.automated_night_share,
        rng.integers(22, 24, n),
        rng.integers(0, 24, n),
    )
    hour = np.where(automated, machine_hour, human_hour)
    return hour * 3600 + rng.integers(0, 3600, n)


def split_minor(
    rng: np.random.Generator, totals: np.ndarray, segment_sizes: np.ndarray
) -> np.ndarray:
    """Split each total (minor units) over its segment's lines; every line gets >= 1 unit.

    ``segment_sizes[i]`` lines share ``totals[i]``; the result is laid out segment after segment
    and each segment sums exactly to its total (the rounding residue goes to its last line).
    """
    sizes = np.asarray(segment_sizes, dtype=np.int64)
    totals = np.maximum(np.asarray(totals, dtype=np.int64), sizes)
    n = int(sizes.sum())
    seg = np.repeat(np.arange(sizes.size), sizes)
    # log-uniform weights over exactly two decades: whatever the total, the lines' mantissas
    # stay uniform, so even one 5,000-line entry has Benford first digits on its own
    w = 10.0 ** (-2.0 * rng.random(n))
    starts = np.cumsum(sizes) - sizes
    share = w / np.add.reduceat(w, starts)[seg]
    spare = (totals - sizes).astype(np.float64)
    alloc = 1 + np.floor(spare[seg] * share).astype(np.int64)
    residue = totals - np.add.reduceat(alloc, starts)
    alloc[starts + sizes - 1] += residue
    return alloc
