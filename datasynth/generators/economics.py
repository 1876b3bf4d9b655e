"""The company's economics: what the configured volumes and amounts imply for its income
statement, and the price level of its business that makes the income statement plausible.

The standalone ledger's amounts follow ``transactions.amounts`` (a statistical contract that
the fidelity report checks), and its expense templates (services, accruals, payroll, prepaid
releases, bank charges, tax and provisions, travel, credit memos) carry most of the company's
operating costs. Revenue, cost of sales and material purchases come from the document flows,
whose values follow the materials' prices. Left alone the two are unrelated: with the default
configuration the standalone expenses are ten times the flows' revenue and every company makes
large losses.

So each company gets a **price level**: one factor on its materials' costs and prices, its
customers' credit limits and its fixed assets (the size of its business), chosen so that the
*expected* operating result is ``document_flows.operating_margin`` of the expected revenue:

    level x (revenue - purchases) - standalone expenses = margin x level x revenue

with every term an expectation per journal entry drawn, from the configuration and the master
data: template probabilities, and mean entry totals simulated with the generator's own draws
on a fixed stream, for the standalone side; flows per entry, items, quantities, prices,
costs and simulated credit checks for the flows. Purchases stand in for the material cost of what is sold
(goods bought are sold as trading goods or consumed by production). The realised margin
varies around the target: entry amounts are heavy-tailed (a log-normal with sigma 2.5 puts
most of the value in 1% of the entries), so a month's expenses can be a multiple of the
expected ones; a year's are within a few tens of percent.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from datasynth.config.models import (
    BUSINESS_PROCESSES,
    SOURCES,
    AmountConfig,
    DatasynthConfig,
    parse_line_bucket,
)
from datasynth.core import distributions as dist
from datasynth.generators import order_to_cash as o2c
from datasynth.generators import procure_to_pay as p2p
from datasynth.generators.flows import FlowCompany

if TYPE_CHECKING:
    from datasynth.generators.master import FollowOn

#: price levels are kept inside this range (a configuration whose flows cannot carry its
#: expenses at any sensible level gets the bound and a loss, not an overflow)
LEVEL_RANGE = (0.01, 10_000.0)
#: share of the standalone entries' open items never settled (disputed, forgotten: they age)
STANDALONE_UNPAID = 0.03
#: account classes of the income statement (first digit of the account number)
INCOME_STATEMENT_CLASSES = ("4", "5", "6", "7", "8")


def typical_amount_cdf(
    amounts: AmountConfig, benford: bool, edges: np.ndarray, scale: float = 1.0
) -> np.ndarray:
    """CDF at ``edges`` (log10 of amounts) of the typical line amount the generator draws:
    the configured log-normal moved by ``scale``, clipped to ``[min, max]`` x scale; with
    ``benford`` the decade is the log-normal's and the position inside it log-uniform."""
    from scipy import stats

    shift = math.log10(scale)
    m, s = amounts.lognormal_mu / math.log(10) + shift, amounts.lognormal_sigma / math.log(10)
    low, high = math.log10(amounts.min) + shift, math.log10(amounts.max) + shift
    t = np.clip(edges, low, high)
    if benford:
        decade = np.floor(t)
        below = stats.norm.cdf((decade - m) / s)
        inside = stats.norm.cdf((decade + 1 - m) / s) - below
        cdf = below + inside * (t - decade)
    else:
        cdf = stats.norm.cdf((t - m) / s)
    cdf = np.where(edges < low, 0.0, cdf)
    out: np.ndarray = np.where(edges >= high, 1.0, cdf)
    return out


#: entries simulated to estimate the mean entry total (a fixed stream: the same everywhere)
SIMULATED_ENTRIES = 400_000
#: about the most entries a block holds (runtime.block_rows, 1M lines, over ~5 lines each)
MAX_BLOCK_ENTRIES = 200_000


def mean_entry_totals(
    config: DatasynthConfig, probabilities: np.ndarray, log_size: np.ndarray, block: int
) -> np.ndarray:
    """Expected total of a standalone entry of each template (group currency), given the
    templates' probabilities among standalone entries: typical line amounts times the lines
    on the larger side, dealt to entries exactly as the generator does, among ``block``
    entries at a time (so a template's mean depends on the others' and on the block size).
    Simulated on a fixed stream: the same everywhere."""
    t = config.transactions
    n = SIMULATED_ENTRIES
    rng = np.random.default_rng(20_240_101)
    template = dist.draw(rng, dist.cdf(probabilities), n)
    buckets = [parse_line_bucket(k) for k in t.line_counts]
    lines = dist.line_counts(rng, buckets, dist.cdf(list(t.line_counts.values())), n)
    split = t.debit_credit_split
    debits = dist.debit_line_counts(
        rng, lines, dist.cdf([split.equal, split.more_debit, split.more_credit])
    )
    source = dist.draw(rng, dist.cdf([t.sources.get(s, 0.0) for s in SOURCES]), n)
    benford = np.zeros(n, dtype=bool)
    if t.benford.enabled:
        benford = ~np.array([s in t.benford.exempt_sources for s in SOURCES])[source]
    typical = dist.amounts_minor(rng, n, t.amounts, benford)
    larger = np.maximum(debits, lines - debits)
    for start in range(0, n, max(block, 2)):
        part = slice(start, start + max(block, 2))
        typical[part] = dist.couple_amounts(
            rng, typical[part], larger[part], log_size[template[part]], benford[part]
        )
    total = np.bincount(template, typical.astype(np.float64) * larger, probabilities.size)
    count = np.bincount(template, minlength=probabilities.size)
    out: np.ndarray = np.where(count > 0, total / np.maximum(count, 1), 0.0) / 100.0
    return out


def template_probabilities(
    config: DatasynthConfig, template_weights: list[list[float]]
) -> np.ndarray:
    """Probability that a drawn entry has each template (process share x template weight)."""
    shares = config.transactions.business_processes
    out = [
        shares.get(process, 0.0) * np.asarray(w, dtype=np.float64) / max(sum(w), 1e-300)
        for process, w in zip(BUSINESS_PROCESSES, template_weights, strict=True)
    ]
    return np.concatenate(out)


def income_statement_net(
    numbers: tuple[str, ...], side_weights: tuple[np.ndarray, ...], choices: tuple[np.ndarray, ...]
) -> np.ndarray:
    """Per template: expected income-statement debit minus credit per unit of entry total (a
    line's account is drawn from its side's weights and each side carries the total)."""
    pl = np.array([a[:1] in INCOME_STATEMENT_CLASSES for a in numbers])
    shares = np.array(
        [float((w * pl[c]).sum()) for w, c in zip(side_weights, choices, strict=True)]
    )
    out: np.ndarray = shares[0::2] - shares[1::2]
    return out


def follow_on_terms(
    numbers: tuple[str, ...],
    side_weights: tuple[np.ndarray, ...],
    choices: tuple[np.ndarray, ...],
    follow_ons: Sequence[FollowOn | None],
) -> tuple[np.ndarray, np.ndarray]:
    """Per template: drawn entries per posted entry (1 + its follow-ons, in steady state) and
    the follow-ons' income-statement debit minus credit per unit of the entry's total. A
    mirror undoes the entry; a replaced side's single line posts to the replacement accounts
    (a prepayment's releases expense its whole total)."""
    pl = np.array([a[:1] in INCOME_STATEMENT_CLASSES for a in numbers])
    n = len(side_weights) // 2
    group = np.ones(n)
    follow = np.zeros(n)
    for t, f in enumerate(follow_ons):
        if f is None:
            continue
        debit, credit = (
            float((w * pl[c]).sum())
            for w, c in zip(
                side_weights[2 * t : 2 * t + 2], choices[2 * t : 2 * t + 2], strict=True
            )
        )
        replaced = float((f.replace_weights * pl[f.replace_accounts]).sum())
        group[t] = 1.0 + f.mean_installments
        if f.replace_side == "credit":
            follow[t] = replaced - debit
        elif f.replace_side == "debit":
            follow[t] = credit - replaced
        else:
            follow[t] = credit - debit
    return group, follow


def standalone_expense_per_entry(
    config: DatasynthConfig,
    probabilities: np.ndarray,
    net: np.ndarray,
    log_size: np.ndarray,
    replaced: np.ndarray | None,
    period_entries: float,
    follow_ons: tuple[np.ndarray, np.ndarray] | None = None,
) -> float:
    """Expected net income-statement debit (expenses less revenue) of the standalone ledger
    per entry drawn, in the group currency: entries of ``replaced`` templates are posted by
    flows or asset accounting instead; with ``follow_ons`` (:func:`follow_on_terms`) only
    the first of each group of drawn entries is posted and its follow-ons add their part.
    A block holds at most a period's entries (``period_entries`` drawn) and at most
    MAX_BLOCK_ENTRIES."""
    if follow_ons is not None:
        net = net + follow_ons[1]
    p, totals = posted_entry_totals(
        config,
        probabilities,
        log_size,
        replaced,
        period_entries,
        None if follow_ons is None else follow_ons[0],
    )
    return float((p * totals) @ net)


def posted_entry_totals(
    config: DatasynthConfig,
    probabilities: np.ndarray,
    log_size: np.ndarray,
    replaced: np.ndarray | None,
    period_entries: float,
    group: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per template: standalone entries posted per entry drawn (none of ``replaced``
    templates; with ``group``, drawn entries per posted entry from :func:`follow_on_terms`,
    only the first of each group), and their mean totals (group currency) in blocks of a
    period's entries (``period_entries`` drawn, at most MAX_BLOCK_ENTRIES)."""
    p = probabilities if replaced is None else probabilities * ~replaced
    if group is not None:
        p = p / group
    if p.sum() <= 0:
        return p, np.zeros_like(p)
    block = int(min(period_entries, MAX_BLOCK_ENTRIES) * p.sum())
    return p, mean_entry_totals(config, p / p.sum(), log_size, block)


def annual_entries(config: DatasynthConfig) -> np.ndarray:
    """Expected journal entries drawn per company and year (the plan splits the window's)."""
    g = config.global_
    t = config.transactions
    years = (g.stop_date - g.start_date).days / 365.25
    if t.count is not None:
        weights = np.array([c.volume_weight for c in config.companies], dtype=np.float64)
        out: np.ndarray = t.count * weights / max(weights.sum(), 1e-300) / years
        return out
    return np.array(
        [
            c.annual_volume if c.annual_volume is not None else t.annual_volume
            for c in config.companies
        ],
        dtype=np.float64,
    )


def price_level(margin: float, expenses: float, revenue: float, purchases: float) -> float:
    """The factor on the flows' values that makes the expected operating result ``margin`` of
    the expected revenue; all three terms per entry drawn in the same unit. 1 when no level
    can (the standalone side earns money, or the flows lose it at any level)."""
    room = revenue * (1.0 - margin) - purchases
    if expenses <= 0.0 or room <= 0.0:
        return 1.0
    return float(np.clip(expenses / room, *LEVEL_RANGE))


def side_line_counts(config: DatasynthConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lines on the debit side, lines on the credit side) with their probabilities: the
    line-count table (uniform within a bucket) times the debit/credit split."""
    t = config.transactions
    split = t.debit_credit_split
    kinds = np.array([split.equal, split.more_debit, split.more_credit], dtype=np.float64)
    kinds = kinds / kinds.sum()
    out = []
    for key, p in t.line_counts.items():
        lo, hi = parse_line_bucket(key)
        lines = np.arange(lo, hi + 1, dtype=np.int64)
        larger = np.clip(np.floor(0.6 * lines + 0.5).astype(np.int64), 1, lines - 1)
        for share, debits in zip(kinds, (lines // 2, larger, lines - larger), strict=True):
            weight = np.full(lines.size, p * share / lines.size)
            out.append((debits, lines - debits, weight))
    debits, credits, weight = (np.concatenate([o[k] for o in out]) for k in range(3))
    return debits, credits, weight


def item_rates(
    config: DatasynthConfig,
    probabilities: np.ndarray,
    replaced: np.ndarray | None,
    side_weights: tuple[np.ndarray, ...],
    choices: tuple[np.ndarray, ...],
    account: int,
) -> float:
    """Expected open items on ``account`` (an index into the chart) per drawn entry: an
    entry with any line on it starts one, each line drawing its account from its side."""
    p = probabilities if replaced is None else probabilities * ~replaced
    debits, credits, weight = side_line_counts(config)
    total = 0.0
    for t in np.flatnonzero(p > 0):
        a_debit = float(side_weights[2 * t][choices[2 * t] == account].sum())
        a_credit = float(side_weights[2 * t + 1][choices[2 * t + 1] == account].sum())
        if a_debit == 0.0 and a_credit == 0.0:
            continue
        none = (1.0 - a_debit) ** debits * (1.0 - a_credit) ** credits
        total += float(p[t]) * float((weight * (1.0 - none)).sum())
    return total


def _mean_items(items: dict[int, float]) -> float:
    return sum(k * p for k, p in items.items()) / max(sum(items.values()), 1e-300)


def flow_values_per_entry(
    config: DatasynthConfig,
    probabilities: np.ndarray,
    flow_replaced: np.ndarray,
    processes: np.ndarray,
    fc: FlowCompany,
    credit_failures: float,
    passing_net: float,
    settlements: tuple[float, float] = (0.0, 0.0),
) -> tuple[float, float]:
    """Expected revenue and material purchases (hundredths, at the materials' current prices)
    of the flows per entry drawn: the entries a flow stands in for (less the settlements of
    standalone items, ``settlements``: AR and AP per entry, which stand in for some of them),
    divided by the entries a flow posts, times what a flow sells (``passing_net``: the net
    value per order started that passes its credit check) or buys."""
    f = config.document_flows
    revenue = purchases = 0.0
    if fc.can_sell:
        left = float(probabilities[flow_replaced & (processes == "O2C")].sum())
        left = max(left - settlements[0], 0.0)
        orders = left / o2c.expected_entries_per_flow(f.o2c, credit_failures)
        revenue = orders * passing_net
    if fc.can_purchase:
        assert fc.purchase_vendor_cdf is not None
        left = float(probabilities[flow_replaced & (processes == "P2P")].sum())
        left = max(left - settlements[1], 0.0)
        orders = left / p2p.expected_entries_per_flow(f.p2p)
        activity = np.diff(np.concatenate([[0.0], fc.purchase_vendor_cdf]))
        supplied = np.flatnonzero(fc.vendor_material_sizes > 0)
        sums = np.add.reduceat(
            fc.material_cost[fc.vendor_material_lookup].astype(np.float64),
            fc.vendor_material_offsets[supplied],
        )
        cost = float((activity[supplied] * sums / fc.vendor_material_sizes[supplied]).sum())
        per_order = _mean_items(f.p2p.items_per_order) * (1 + f.p2p.max_quantity) / 2 * cost
        purchases = orders * per_order
    return revenue, purchases
