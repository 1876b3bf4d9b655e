"""Opening balances, ledger sums and trial balances: pure functions, no I/O, no dask.

* :func:`opening_balances` draws each company's opening balance sheet from its industry's
  asset composition and capital structure (``datasynth/data/opening_balances.json``) and books
  it as one balanced entry, exact in the currency's smallest unit.
* :func:`ledger_sums` reduces journal lines to debits, credits and line counts per company,
  fiscal period and account; :func:`combine_sums` adds such partial sums (the reduction is
  associative and exact: integer minor units, never floats).
* :func:`trial_balances` rolls the opening balances forward through the summed periods:
  opening, period debits, period credits and closing per company x fiscal period x account.

Balances are *signed*, debit positive: an asset's balance is positive, a liability's negative,
so every trial balance sums to zero and the balance-sheet equation reads
``assets = liabilities + equity + result`` with ``liabilities = -sum(class 2)`` and so on.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datasynth.config.models import DatasynthConfig
from datasynth.core.money import (
    AMOUNT_TYPE,
    MAX_MINOR_UNITS,
    decimal_from_minor,
    minor_from_decimal,
)
from datasynth.core.reference import load
from datasynth.core.seeding import stream
from datasynth.generators import economics
from datasynth.generators.asset_accounting import asset_register, opening_register_balances
from datasynth.generators.chart_of_accounts import ChartOfAccounts
from datasynth.generators.master import PREPAID_RELEASE, Master, replaced_mask

OPENING_SCHEMA = pa.schema(
    [
        pa.field("document_id", pa.string(), nullable=False),
        pa.field("company_code", pa.string(), nullable=False),
        pa.field("fiscal_year", pa.int16(), nullable=False),
        pa.field("fiscal_period", pa.int8(), nullable=False),
        pa.field("balance_date", pa.date32(), nullable=False),
        pa.field("line_number", pa.int32(), nullable=False),
        pa.field("gl_account", pa.string(), nullable=False),
        pa.field("account_name", pa.string(), nullable=False),
        pa.field("account_category", pa.string(), nullable=False),
        pa.field("debit_amount", AMOUNT_TYPE, nullable=False),
        pa.field("credit_amount", AMOUNT_TYPE, nullable=False),
        pa.field("currency", pa.string(), nullable=False),
    ]
)
#: partial sums of journal lines, amounts in integer minor units
SUMS_SCHEMA = pa.schema(
    [
        pa.field("company_code", pa.string(), nullable=False),
        pa.field("fiscal_year", pa.int16(), nullable=False),
        pa.field("fiscal_period", pa.int8(), nullable=False),
        pa.field("gl_account", pa.string(), nullable=False),
        pa.field("debits", pa.int64(), nullable=False),
        pa.field("credits", pa.int64(), nullable=False),
        pa.field("lines", pa.int64(), nullable=False),
    ]
)
TRIAL_BALANCE_SCHEMA = pa.schema(
    [
        pa.field("company_code", pa.string(), nullable=False),
        pa.field("fiscal_year", pa.int16(), nullable=False),
        pa.field("fiscal_period", pa.int8(), nullable=False),
        pa.field("period_start", pa.date32(), nullable=False),
        pa.field("period_end", pa.date32(), nullable=False),
        pa.field("gl_account", pa.string(), nullable=False),
        pa.field("account_name", pa.string(), nullable=False),
        pa.field("account_type", pa.string(), nullable=False),
        pa.field("account_category", pa.string(), nullable=False),
        pa.field("currency", pa.string(), nullable=False),
        pa.field("opening_balance", AMOUNT_TYPE, nullable=False),
        pa.field("period_debits", AMOUNT_TYPE, nullable=False),
        pa.field("period_credits", AMOUNT_TYPE, nullable=False),
        pa.field("closing_balance", AMOUNT_TYPE, nullable=False),
        pa.field("debit_balance", AMOUNT_TYPE, nullable=False),
        pa.field("credit_balance", AMOUNT_TYPE, nullable=False),
        pa.field("line_count", pa.int64(), nullable=False),
    ]
)
#: total assets (group currency) of a company without sales when total_assets is null
DEFAULT_TOTAL_ASSETS = 10_000_000.0
_SUM_KEYS = ["company_code", "fiscal_year", "fiscal_period", "gl_account"]
_SHORT_TERM_SUBTYPES = frozenset({"short_term_debt"})


def account_categories(chart: ChartOfAccounts) -> np.ndarray:
    """The financial-statement category of every account (``current_assets``, ...)."""
    group = np.asarray(chart.table["account_group"].to_pylist())
    subtype = np.asarray(chart.table["account_subtype"].to_pylist())
    number = group.astype(np.int64)
    out = np.full(group.size, "other_expenses", dtype=object)
    out[number < 140] = "current_assets"
    out[(number >= 140) & (number < 199)] = "non_current_assets"
    out[number == 199] = "current_assets"
    out[(number >= 200) & (number < 240)] = "current_liabilities"
    out[number == 240] = "non_current_liabilities"
    out[(number == 240) & np.isin(subtype, list(_SHORT_TERM_SUBTYPES))] = "current_liabilities"
    out[(number >= 300) & (number < 400)] = "equity"
    out[(number >= 400) & (number < 500)] = "revenue"
    out[(number >= 500) & (number < 600)] = "cost_of_goods_sold"
    out[(number >= 600) & (number < 700)] = "operating_expenses"
    out[number == 710] = "other_income"
    out[number == 800] = "income_taxes"
    return out


def _split(total: int, weights: dict[str, float], unit: int, absorb: str) -> dict[str, int]:
    """``total`` (minor units) spread over accounts by weight in multiples of ``unit``; the
    ``absorb`` account takes the rounding so the parts sum to ``total`` exactly."""
    out = {a: round(total * w / unit) * unit for a, w in weights.items()}
    out[absorb] += total - sum(out.values())
    return out


def opening_total_assets(config: DatasynthConfig, master: Master, company_index: int) -> int:
    """A company's opening total assets in minor units (see :func:`opening_amounts`).

    Raises ValueError naming ``balances.opening.total_assets`` when the total does not fit an
    amount (decimal(18, 2)) in the company's currency; the run checks every company before it
    writes anything."""
    o = config.balances.opening
    company = master.companies[company_index]
    profile = load("opening_balances")["industries"][config.global_.industry]
    rng = stream(config.global_.seed, "opening_balances", company.code)
    scale = 1.0 + o.variation * (2.0 * rng.random() - 1.0)
    if o.total_assets is not None:
        base = o.total_assets * company.amount_scale * 100
    elif company.annual_revenue > 0:
        # revenue over total assets is the industry's asset turnover
        base = company.annual_revenue / profile["asset_turnover"]
    else:
        base = DEFAULT_TOTAL_ASSETS * company.amount_scale * 100
    unit = company.amount_unit
    total = round(base * scale / unit) * unit
    if total > MAX_MINOR_UNITS:
        given = (
            ""
            if o.total_assets is None
            else f" ({o.total_assets:,.0f} {config.global_.group_currency} given)"
        )
        raise ValueError(
            f"balances.opening.total_assets: {base * scale / 100:,.0f} {company.currency} for "
            f"company {company.code}{given} is more than an amount can hold "
            f"({MAX_MINOR_UNITS / 100:,.0f} {company.currency}); set a total_assets below "
            f"{MAX_MINOR_UNITS / 100 / company.amount_scale / (1 + o.variation):,.0f} "
            f"{config.global_.group_currency}"
        )
    return int(total)


def steady_prepaid(config: DatasynthConfig, master: Master, company_index: int) -> float:
    """The prepaid balance (minor units) the company's own prepayments hold at a period end
    once the window has run for a year: a period's prepayments (the expected number of
    posted prepayment entries, each of its template's mean total) times the mean share still
    unreleased at later period ends, ``sum over the installment counts n of w_n (n - 1) / 2``
    (the releases post at the ends of the payment's period and the following ones)."""
    posting = master.posting
    found = posting.follow_on(PREPAID_RELEASE)
    if found is None:
        return 0.0
    t, f = found
    company = master.companies[company_index]
    fc = master.flows[company_index] if master.flows is not None else None
    choices = tuple(posting.choices(g) for g in range(posting.groups))
    group, _ = economics.follow_on_terms(
        master.chart.numbers, posting.side_weights, choices, posting.follow_ons
    )
    period_entries = float(economics.annual_entries(config)[company_index]) / 12
    posted, totals = economics.posted_entry_totals(
        config,
        economics.template_probabilities(config, list(posting.process_weights)),
        posting.template_log_size,
        replaced_mask(config, posting, fc),
        period_entries,
        group,
    )
    unreleased = float(((f.installments - 1) / 2) @ f.installment_weights)
    return (
        period_entries
        * float(posted[t])
        * float(totals[t])
        * unreleased
        * (company.amount_scale * 100)
    )


def opening_amounts(config: DatasynthConfig, master: Master, company_index: int) -> dict[str, int]:
    """Signed opening balance (minor units, debit positive) per account of one company.

    Total assets are ``balances.opening.total_assets`` (group currency, scaled to the
    company's currency) or, when that is null, the company's expected annual revenue divided by
    its industry's asset turnover (10,000,000 without sales), varied by up to
    ``balances.opening.variation`` either way. The prepaid account holds
    :func:`steady_prepaid` (at most the industry's prepaid and cash shares; cash takes the
    rest). With asset accounting the fixed-asset and software accounts hold the register's
    opening values instead, and retained earnings take the difference. With ``balances.opening.enabled``
    false only the register's accounts (and retained earnings against them) open.
    """
    o = config.balances.opening
    company = master.companies[company_index]
    data = load("opening_balances")
    profile = data["industries"][config.global_.industry]
    blocks: dict[str, dict[str, float]] = data["blocks"]
    unit = company.amount_unit
    total = opening_total_assets(config, master, company_index)
    current = round(total * profile["current_share"] / unit) * unit
    shares = {
        **{k: current * v for k, v in profile["current"].items()},
        **{k: (total - current) * v for k, v in profile["non_current"].items()},
    }
    if o.enabled and "prepaid" in shares:
        # the prepaid account opens with what the company's own prepayments keep on it, so
        # the balance runs on level once the opening prepayments are released (at most the
        # industry's prepaid and cash shares; the rest of the prepaid share is cash)
        room = shares["prepaid"] + shares.get("cash", 0.0)
        steady = steady_prepaid(config, master, company_index)
        shares["cash"] = room - min(steady, room)
        shares["prepaid"] = min(steady, room)
    amounts: dict[str, int] = {"300200": 0}
    if not o.enabled:
        # no industry mix: only what a subledger carries into the window (the asset register)
        shares = {}
    # each block rounds to the unit; cash takes what rounding left so assets == total exactly
    for name, amount in shares.items():
        block_total = round(amount / unit) * unit
        for account, value in _split(
            block_total, blocks[name], unit, next(iter(blocks[name]))
        ).items():
            amounts[account] = amounts.get(account, 0) + value
    if o.enabled:
        amounts["100100"] = amounts.get("100100", 0) + total - sum(amounts.values())
        liabilities = round(total * profile["debt_share"] / unit) * unit
        for account, value in _split(liabilities, blocks["liabilities"], unit, "240100").items():
            amounts[account] = amounts.get(account, 0) - value
        for account, value in _split(total - liabilities, blocks["equity"], unit, "300200").items():
            amounts[account] = amounts.get(account, 0) - value
    if config.balances.asset_accounting:
        # fixed assets and software come from the register; retained earnings absorb the
        # difference to the industry mix so the entry still balances
        register = opening_register_balances(asset_register(config, master, company_index))
        for account, value in register.items():
            amounts["300200"] -= value - amounts.get(account, 0)
            amounts[account] = value
    missing = sorted(set(amounts) - set(master.chart.numbers))
    if missing:
        raise KeyError(f"opening balances name accounts missing from the chart: {missing}")
    return {a: v for a, v in amounts.items() if v != 0}


def opening_balances(config: DatasynthConfig, master: Master) -> pa.Table:
    """Every company's opening entry (``balances/opening_balances``): one line per account,
    balanced to the cent, dated the day before the company's first generated period."""
    chart = master.chart
    names = chart.table["account_name"].to_pylist()
    categories = account_categories(chart)
    index = {a: i for i, a in enumerate(chart.numbers)}
    parts = []
    for ci, company in enumerate(master.companies):
        amounts = opening_amounts(config, master, ci)
        if not amounts:
            continue
        accounts = sorted(amounts, key=lambda a: index[a])
        value = np.array([amounts[a] for a in accounts], dtype=np.int64)
        first = company.periods[0]
        n = len(accounts)
        parts.append(
            pa.table(
                [
                    pa.array([f"OB-{company.code}-{first.fiscal_year:04d}"] * n),
                    pa.array([company.code] * n),
                    pa.array(np.full(n, first.fiscal_year, dtype=np.int16)),
                    pa.array(np.full(n, first.fiscal_period, dtype=np.int8)),
                    pa.array([first.first - dt.timedelta(days=1)] * n, pa.date32()),
                    pa.array(np.arange(1, n + 1, dtype=np.int32)),
                    pa.array(accounts),
                    pa.array([names[index[a]] for a in accounts]),
                    pa.array([categories[index[a]] for a in accounts]),
                    decimal_from_minor(np.maximum(value, 0)),
                    decimal_from_minor(np.maximum(-value, 0)),
                    pa.array([company.currency] * n),
                ],
                schema=OPENING_SCHEMA,
            )
        )
    return pa.concat_tables(parts) if parts else OPENING_SCHEMA.empty_table()


def ledger_sums(
    lines: pa.Table, company_code: str, fiscal_year: int, fiscal_period: int
) -> pa.Table:
    """Debits, credits and line count per account of journal lines of one company and period."""
    if lines.num_rows == 0:
        return SUMS_SCHEMA.empty_table()
    account = lines["gl_account"]
    if pa.types.is_dictionary(account.type):
        account = account.cast(account.type.value_type)
    table = pa.table(
        {
            "gl_account": account,
            "debits": pa.array(minor_from_decimal(lines["debit_amount"])),
            "credits": pa.array(minor_from_decimal(lines["credit_amount"])),
        }
    )
    grouped = table.group_by("gl_account").aggregate(
        [("debits", "sum"), ("credits", "sum"), ("gl_account", "count")]
    )
    n = grouped.num_rows
    out = pa.table(
        [
            pa.array([company_code] * n),
            pa.array(np.full(n, fiscal_year, dtype=np.int16)),
            pa.array(np.full(n, fiscal_period, dtype=np.int8)),
            grouped["gl_account"],
            grouped["debits_sum"],
            grouped["credits_sum"],
            grouped["gl_account_count"],
        ],
        schema=SUMS_SCHEMA,
    )
    return out.sort_by([(k, "ascending") for k in _SUM_KEYS])


def combine_sums(*parts: pa.Table) -> pa.Table:
    """The sum of partial :func:`ledger_sums` tables (sorted by company, period, account)."""
    tables = [p for p in parts if p.num_rows]
    if not tables:
        return SUMS_SCHEMA.empty_table()
    grouped = (
        pa.concat_tables(tables)
        .group_by(_SUM_KEYS)
        .aggregate([("debits", "sum"), ("credits", "sum"), ("lines", "sum")])
    )
    out = pa.table(
        [grouped[k] for k in _SUM_KEYS]
        + [grouped["debits_sum"], grouped["credits_sum"], grouped["lines_sum"]],
        schema=SUMS_SCHEMA,
    )
    return out.sort_by([(k, "ascending") for k in _SUM_KEYS])


def opening_vector(opening: pa.Table, company_code: str, chart: ChartOfAccounts) -> np.ndarray:
    """Signed opening balance per chart account (minor units) of one company."""
    out = np.zeros(len(chart.numbers), dtype=np.int64)
    rows = opening.filter(pc.equal(opening["company_code"], company_code))
    if rows.num_rows:
        index = {a: i for i, a in enumerate(chart.numbers)}
        accounts = np.array([index[a] for a in rows["gl_account"].to_pylist()], dtype=np.int64)
        signed = minor_from_decimal(rows["debit_amount"]) - minor_from_decimal(
            rows["credit_amount"]
        )
        np.add.at(out, accounts, signed)
    return out


def trial_balances(master: Master, opening: pa.Table, sums: pa.Table) -> pa.Table:
    """Trial balance per company x fiscal period x account, from the opening balances and
    the summed journal lines (:data:`SUMS_SCHEMA`).

    Every period of the generated window gets a trial balance; an account appears in a period
    when it has an opening balance or postings there. Closing of one period is the opening of
    the next.
    """
    chart = master.chart
    index = {a: i for i, a in enumerate(chart.numbers)}
    n_accounts = len(chart.numbers)
    names = np.asarray(chart.table["account_name"].to_pylist(), dtype=object)
    types = np.asarray(chart.table["account_type"].to_pylist(), dtype=object)
    categories = account_categories(chart)
    numbers = np.asarray(chart.numbers, dtype=object)
    company_of = sums["company_code"].to_numpy(zero_copy_only=False)
    parts = []
    for company in master.companies:
        periods = company.periods
        position = {(p.fiscal_year, p.fiscal_period): k for k, p in enumerate(periods)}
        debits = np.zeros((len(periods), n_accounts), dtype=np.int64)
        credits = np.zeros_like(debits)
        lines = np.zeros_like(debits)
        rows = np.flatnonzero(company_of == company.code)
        if rows.size:
            mine = sums.take(pa.array(rows))
            keys = zip(
                mine["fiscal_year"].to_pylist(), mine["fiscal_period"].to_pylist(), strict=True
            )
            try:
                p_index = np.array([position[k] for k in keys], dtype=np.int64)
            except KeyError as exc:
                raise ValueError(
                    f"company {company.code} has postings in fiscal period {exc.args[0]}, "
                    "outside the generated window"
                ) from None
            a_index = np.array([index[a] for a in mine["gl_account"].to_pylist()], dtype=np.int64)
            np.add.at(debits, (p_index, a_index), mine["debits"].to_numpy())
            np.add.at(credits, (p_index, a_index), mine["credits"].to_numpy())
            np.add.at(lines, (p_index, a_index), mine["lines"].to_numpy())
        start = opening_vector(opening, company.code, chart)
        closing = start + np.cumsum(debits - credits, axis=0)
        opened = np.vstack([start[None, :], closing[:-1]])
        show = (opened != 0) | (lines > 0) | (closing != 0)
        p_rows, a_rows = np.nonzero(show)
        n = p_rows.size
        first = np.array([p.first for p in periods], dtype="datetime64[D]")
        last = np.array([p.stop for p in periods], dtype="datetime64[D]") - np.timedelta64(1, "D")
        close = closing[p_rows, a_rows]
        parts.append(
            pa.table(
                [
                    pa.array([company.code] * n),
                    pa.array(np.array([p.fiscal_year for p in periods], np.int16)[p_rows]),
                    pa.array(np.array([p.fiscal_period for p in periods], np.int8)[p_rows]),
                    pa.array(first[p_rows]),
                    pa.array(last[p_rows]),
                    pa.array(numbers[a_rows], pa.string()),
                    pa.array(names[a_rows], pa.string()),
                    pa.array(types[a_rows], pa.string()),
                    pa.array(categories[a_rows], pa.string()),
                    pa.array([company.currency] * n),
                    decimal_from_minor(opened[p_rows, a_rows]),
                    decimal_from_minor(debits[p_rows, a_rows]),
                    decimal_from_minor(credits[p_rows, a_rows]),
                    decimal_from_minor(close),
                    decimal_from_minor(np.maximum(close, 0)),
                    decimal_from_minor(np.maximum(-close, 0)),
                    pa.array(lines[p_rows, a_rows]),
                ],
                schema=TRIAL_BALANCE_SCHEMA,
            )
        )
    return pa.concat_tables(parts) if parts else TRIAL_BALANCE_SCHEMA.empty_table()
