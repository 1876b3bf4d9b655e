"""Period close: the journal entries a closing team posts after the period's business.

Generated after the trial-balance reduction, from the summed ledger, deterministically (each
company and period draws from its own stream):

* **Accruals** at every period end: services received but not yet invoiced, a share
  (``balances.period_close.accrual_rate``) of the period's postings on each service expense
  account, debited to the expense and credited to accrued expenses; each accrual is
  **reversed** on the first day of the next period (when that period is generated).
* **Credit facility** at every period end (``credit_facility``): interest on what is drawn,
  then a drawdown when the main operating bank account is below its buffer (``cash_buffer`` of
  the period's payments from it) or a repayment from the surplus above it, in steps of
  :data:`FACILITY_STEP`; the account stays at or above the buffer at every period end.
* **Tax provision** at each fiscal year end inside the window: ``tax_rate`` of the year's
  pre-tax profit (none for a loss), debited to income tax expense and credited to income tax
  payable.
* **Year-end closing**: every income-statement account's balance of the fiscal year is moved
  to retained earnings, so the last period closes with the income statement at zero.
* **Release of the opening prepaid balance** (:func:`release_opening_prepaid`): the
  prepayments made before the window are expensed at the ends of its first periods, as the
  window's own prepayments are by their releases.

Close entries carry source ``period_close`` and their own document types (:data:`POSTINGS`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datasynth.config.models import DatasynthConfig
from datasynth.core.seeding import stream
from datasynth.generators.ledger_lines import LedgerLines, Posting, first_user
from datasynth.generators.master import (
    AUTOMATED_PERSONA,
    PREPAID_RELEASE,
    CompanyMaster,
    Master,
)

SOURCE = "period_close"
#: each kind of close entry: its document type and posting template
POSTINGS = {
    "accrual": Posting("AC", "R2R: Period-end accrual", SOURCE, "R2R"),
    "accrual_reversal": Posting("AV", "R2R: Accrual reversal", SOURCE, "R2R"),
    "tax_provision": Posting("TX", "R2R: Income tax provision", SOURCE, "R2R"),
    "year_end_close": Posting("YC", "R2R: Year-end closing", SOURCE, "R2R"),
    "opening_prepaid_release": Posting("SA", PREPAID_RELEASE, SOURCE, "R2R"),
    "facility_interest": Posting("SA", "R2R: Credit facility interest", SOURCE, "R2R"),
    "facility_draw": Posting("SA", "R2R: Credit facility drawdown", SOURCE, "R2R"),
    "facility_repayment": Posting("SA", "R2R: Credit facility repayment", SOURCE, "R2R"),
}
#: the credit facility is drawn and repaid in multiples of this (group currency, hundredths:
#: 10,000.00), converted to each company's currency
FACILITY_STEP = 1_000_000
#: expense subtypes whose services are accrued at period end (the accrual template's accounts)
ACCRUED_SUBTYPES = (
    "it_services",
    "professional_fees",
    "office",
    "utilities",
    "rent",
    "repairs",
    "marketing",
    "insurance",
)


def _activity(
    master: Master, company: CompanyMaster, sums: pa.Table
) -> tuple[np.ndarray, np.ndarray]:
    """Debits and credits per period (company order) and account, in minor units."""
    index = {a: i for i, a in enumerate(master.chart.numbers)}
    position = {(p.fiscal_year, p.fiscal_period): k for k, p in enumerate(company.periods)}
    shape = (len(company.periods), len(index))
    debits, credits = np.zeros(shape, dtype=np.int64), np.zeros(shape, dtype=np.int64)
    mine = sums.filter(pc.equal(sums["company_code"], company.code))
    if mine.num_rows:
        keys = zip(mine["fiscal_year"].to_pylist(), mine["fiscal_period"].to_pylist(), strict=True)
        rows = np.array([position[k] for k in keys], dtype=np.int64)
        cols = np.array([index[a] for a in mine["gl_account"].to_pylist()], dtype=np.int64)
        np.add.at(debits, (rows, cols), mine["debits"].to_numpy())
        np.add.at(credits, (rows, cols), mine["credits"].to_numpy())
    return debits, credits


def _year_ends(company: CompanyMaster) -> dict[int, int]:
    """Fiscal year -> index of its last period, for years whose last day is in the window."""
    out: dict[int, int] = {}
    for k, p in enumerate(company.periods):
        month_end = (p.first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        if p.fiscal_period == 12 and p.stop == month_end:
            out[p.fiscal_year] = k
    return out


def close_entries(
    config: DatasynthConfig,
    master: Master,
    sums: pa.Table,
    companies: Sequence[int] | None = None,
    opening: Sequence[dict[str, int]] | None = None,
) -> pa.Table:
    """The close entries of the given companies (indices; default every company) as
    journal lines (:data:`SCHEMA`, partition columns included), given the summed ledger of
    their journal entries (:data:`balances.SUMS_SCHEMA`) and their opening balances
    (``opening``: signed minor units per account, one dict per company; needed with the
    credit facility, which starts from the opening bank balance)."""
    out = LedgerLines()
    indices = list(range(len(master.companies)) if companies is None else companies)
    if opening is None and config.balances.period_close.credit_facility:
        raise ValueError("the credit facility needs the companies' opening balances")
    openings = [{} for _ in indices] if opening is None else list(opening)
    for i, balances in zip(indices, openings, strict=True):
        _company_close(config, master, master.companies[i], sums, balances, out)
    return out.table()


def _company_close(
    config: DatasynthConfig,
    master: Master,
    company: CompanyMaster,
    sums: pa.Table,
    balances: dict[str, int],
    out: LedgerLines,
) -> None:
    """Add one company's close entries to ``out``."""
    pc_config = config.balances.period_close
    chart = master.chart
    numbers = chart.numbers
    index = {a: i for i, a in enumerate(numbers)}
    pnl = np.array([n[0] >= "4" for n in numbers])
    retained = chart.account("retained_earnings")
    accrued = chart.account("accrued_liabilities")
    tax_expense = chart.account("income_tax_expense")
    tax_payable = chart.account("income_tax_payable")
    bank = chart.account("bank")
    facility = numbers[chart.families["subtype:short_term_debt"][0]]
    interest = chart.account("interest_expense")
    needs_cc = chart.requires_cost_center
    finance_cc = next(c for c in company.cost_centers if c.endswith("-FIN"))
    periods = company.periods
    debits, credits = _activity(master, company, sums)
    activity = debits - credits
    clerk = first_user(company, AUTOMATED_PERSONA)
    controller = first_user(company, "controller")
    unit = company.amount_unit
    # the close's own effect on each account, period by period
    close = np.zeros_like(activity)

    def post(
        k: int,
        doc_id: str,
        kind: str,
        day: dt.date,
        user: tuple[str, str],
        lines: list[str],
        signed: list[int],
    ) -> None:
        cc = [finance_cc if needs_cc[index[a]] else None for a in lines]
        out.entry(company, periods[k], doc_id, POSTINGS[kind], day, user, lines, signed, cc)
        for a, v in zip(lines, signed, strict=True):
            close[k, index[a]] += v

    year_end = _year_ends(company)
    drawn = 0  # the facility's balance
    step = max(round(FACILITY_STEP * company.amount_scale / unit), 1) * unit
    for k, period in enumerate(periods):
        last_day = period.stop - dt.timedelta(days=1)
        tag = f"PC-{company.code}-{period.fiscal_year:04d}{period.fiscal_period:02d}"
        if pc_config.accruals:
            rng = stream(
                config.global_.seed,
                "period_close",
                company.code,
                period.fiscal_year,
                period.fiscal_period,
            )
            lo, hi = pc_config.accrual_rate
            accounts: list[str] = []
            amounts: list[int] = []
            for subtype in ACCRUED_SUBTYPES:
                family = list(chart.families.get(f"subtype:{subtype}", ()))
                base = int(debits[k, family].sum())
                rate = lo + (hi - lo) * rng.random()
                amount = round(base * rate / unit) * unit
                if amount > 0:
                    accounts.append(numbers[family[0]])
                    amounts.append(amount)
            if amounts:
                lines = [*accounts, accrued]
                signed = [*amounts, -sum(amounts)]
                post(k, f"{tag}-AC01", "accrual", last_day, clerk, lines, signed)
                if k + 1 < len(periods):
                    nxt = periods[k + 1]
                    reverse = [-v for v in signed]
                    post(
                        k + 1,
                        f"{tag}-AV01",
                        "accrual_reversal",
                        nxt.first,
                        clerk,
                        lines,
                        reverse,
                    )
        if pc_config.credit_facility:
            # interest on what was drawn, then draw up to the buffer or repay the surplus
            days = (period.stop - period.first).days
            charge = round(drawn * pc_config.facility_rate * days / 365 / unit) * unit
            if charge > 0:
                post(
                    k,
                    f"{tag}-FI01",
                    "facility_interest",
                    last_day,
                    clerk,
                    [interest, bank],
                    [charge, -charge],
                )
            cash = balances.get(bank, 0) + int(activity[: k + 1, index[bank]].sum())
            cash += int(close[: k + 1, index[bank]].sum())
            buffer = -(-round(pc_config.cash_buffer * int(credits[k, index[bank]])) // step) * step
            if cash < buffer:
                draw = -(-(buffer - cash) // step) * step
                post(
                    k,
                    f"{tag}-FD01",
                    "facility_draw",
                    last_day,
                    controller,
                    [bank, facility],
                    [draw, -draw],
                )
                drawn += draw
            elif drawn > 0:
                repay = min(drawn, (cash - buffer) // step * step)
                if repay > 0:
                    post(
                        k,
                        f"{tag}-FR01",
                        "facility_repayment",
                        last_day,
                        controller,
                        [facility, bank],
                        [repay, -repay],
                    )
                    drawn -= repay
        if period.fiscal_year in year_end and year_end[period.fiscal_year] == k:
            in_year = [j for j, p in enumerate(periods) if p.fiscal_year == period.fiscal_year]
            result = (activity[in_year] + close[in_year]).sum(axis=0)
            profit = -int(result[pnl].sum())
            if pc_config.tax_provision and profit > 0:
                tax = round(profit * pc_config.tax_rate / unit) * unit
                if tax > 0:
                    lines = [tax_expense, tax_payable]
                    post(
                        k,
                        f"{tag}-TX01",
                        "tax_provision",
                        last_day,
                        controller,
                        lines,
                        [tax, -tax],
                    )
                    result[index[tax_expense]] += tax
                    result[index[tax_payable]] -= tax
            if pc_config.year_end_close:
                open_accounts = np.flatnonzero(pnl & (result != 0))
                if open_accounts.size:
                    lines = [numbers[a] for a in open_accounts] + [retained]
                    signed = [-int(result[a]) for a in open_accounts]
                    signed.append(-sum(signed))
                    post(k, f"{tag}-YC01", "year_end_close", last_day, controller, lines, signed)


def opening_runoff(installments: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Share of the opening prepaid balance released by the end of each period of the window
    (cumulative, the last is 1): the run-off of the prepayments a steady stream of them leaves
    open, released as the window's own are. A prepayment of ``n`` installments (drawn with
    ``weights``) made ``m`` periods before the window has ``n - m`` releases left, one per
    period end, so after ``k`` period ends of the window its open share is
    ``max(n - m - k, 0) / n``; summed over ``m >= 1`` and weighted, that is ``R(k)``, and the
    share released by then ``1 - R(k) / R(0)``."""
    last = int(installments.max()) - 1
    if last < 1:
        return np.ones(1)
    k = np.arange(last + 1)[:, None]
    m = np.arange(1, last + 1)[None, :]
    left = np.array(
        [(np.maximum(n - m - k, 0) / n).sum(axis=1) for n in installments.astype(np.float64)]
    )
    open_share = weights @ left  # R(k), k = 0 .. last
    out: np.ndarray = 1.0 - open_share[1:] / open_share[0]
    out[-1] = 1.0
    return out


def release_opening_prepaid(
    config: DatasynthConfig, master: Master, company_index: int, opening: dict[str, int]
) -> pa.Table:
    """The opening balance of each prepaid account (``opening``: signed minor units per
    account) released at the ends of the window's first periods as the prepayments that left
    it would be released (:func:`opening_runoff`: front-loaded, over up to 11 periods for
    prepayments of up to 12; exact: the parts sum to the balance), one entry per period: the
    prepaid accounts credited, one expense account debited, drawn like the releases of the
    window's own prepayments (insurance, rent, IT services). Periods after the window keep
    the rest on the prepaid account."""
    chart = master.chart
    company = master.companies[company_index]
    prepaid = [chart.numbers[a] for a in chart.families.get("subtype:prepaid", ())]
    balances = [(a, opening.get(a, 0)) for a in prepaid if opening.get(a, 0) > 0]
    out = LedgerLines()
    if not balances:
        return out.table()
    found = master.posting.follow_on(PREPAID_RELEASE)
    if found is None:
        return out.table()
    spec = found[1]
    rng = stream(config.global_.seed, "opening_prepaid", company.code)
    released = opening_runoff(spec.installments, spec.installment_weights)
    n = released.size
    unit = company.amount_unit
    finance_cc = next(c for c in company.cost_centers if c.endswith("-FIN"))
    clerk = first_user(company, AUTOMATED_PERSONA)
    cdf = np.cumsum(spec.replace_weights)
    needs_cc = chart.requires_cost_center
    index = {a: i for i, a in enumerate(chart.numbers)}
    for k, period in enumerate(company.periods[:n]):
        before = released[k - 1] if k else 0.0
        parts = [
            (int((b // unit) * released[k]) - int((b // unit) * before)) * unit for _, b in balances
        ]
        if k == n - 1:  # the rest, with what is not a whole number of units
            parts = [(b // unit - int((b // unit) * before)) * unit + b % unit for _, b in balances]
        total = sum(parts)
        if total <= 0:
            continue
        pick = min(int(np.searchsorted(cdf, rng.random(), side="right")), cdf.size - 1)
        expense = chart.numbers[int(spec.replace_accounts[pick])]
        lines = [expense, *(a for a, _ in balances)]
        signed = [total, *(-p for p in parts)]
        keep = [i for i, v in enumerate(signed) if v != 0]
        lines, signed = [lines[i] for i in keep], [signed[i] for i in keep]
        out.entry(
            company,
            period,
            f"PC-{company.code}-{period.fiscal_year:04d}{period.fiscal_period:02d}-PR01",
            POSTINGS["opening_prepaid_release"],
            period.stop - dt.timedelta(days=1),
            clerk,
            lines,
            signed,
            [finance_cc if needs_cc[index[a]] else None for a in lines],
        )
    return out.table()
