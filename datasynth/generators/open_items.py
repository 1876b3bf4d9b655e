"""Open items of the AP and AR subledgers: every line on the AP or AR reconciliation account
carries the item it belongs to (``clearing_reference``: the invoice it bills or settles, or the
entry itself) and the item's ``due_date``. An item is open at a period end while its lines
posted up to then do not sum to zero; the open items of a company at a period end sum to the
control account's balance by construction, to the cent.

* :func:`opening_items` spreads each company's opening receivables and payables over its
  customers and vendors as invoices of the 75 days before the window, and
  :func:`settle_opening_items` posts their receipts and payments inside it (most around the due
  date; a few stay unpaid); :func:`settle_standalone_items` does the same for the items the
  standalone entries of a block start (service invoices, credit memos, FX lines on AP/AR).
* :func:`open_items` turns the AP/AR lines of one block (all lines of an item are posted by
  the block that starts it) into the items open at each period end, aged by due date.
* :func:`aging` sums open items into the buckets ``current``, ``1-30``, ``31-60``, ``61-90``,
  ``over_90`` days past due; :func:`combine_aging` adds such sums.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datasynth.config.models import DatasynthConfig
from datasynth.core.arrow import strings
from datasynth.core.blocks import Block
from datasynth.core.ids import fixed_width_strings, journal_entry_ids
from datasynth.core.money import AMOUNT_TYPE, decimal_from_minor, minor_from_decimal
from datasynth.core.seeding import stream
from datasynth.generators.economics import STANDALONE_UNPAID
from datasynth.generators.flows import workday
from datasynth.generators.journal_entries import SCHEMA
from datasynth.generators.ledger_lines import Posting, bulk_entries, first_user
from datasynth.generators.master import AUTOMATED_PERSONA, CompanyMaster, Master
from datasynth.generators.partners import partner_ids

LEDGERS = ("AR", "AP")
BUCKETS = ("current", "1-30", "31-60", "61-90", "over_90")
#: columns of journal lines that open items are computed from
LINE_COLUMNS = (
    "fiscal_year",
    "fiscal_period",
    "document_date",
    "gl_account",
    "debit_amount",
    "credit_amount",
    "vendor_id",
    "customer_id",
    "clearing_reference",
    "due_date",
)
OPEN_ITEM_SCHEMA = pa.schema(
    [
        pa.field("company_code", pa.string(), nullable=False),
        pa.field("fiscal_year", pa.int16(), nullable=False),
        pa.field("fiscal_period", pa.int8(), nullable=False),
        pa.field("period_end", pa.date32(), nullable=False),
        pa.field("gl_account", pa.string(), nullable=False),
        pa.field("partner_id", pa.string(), nullable=False),
        pa.field("item_id", pa.string(), nullable=False),
        pa.field("item_date", pa.date32(), nullable=False),
        pa.field("due_date", pa.date32(), nullable=False),
        pa.field("balance", AMOUNT_TYPE, nullable=False),
        pa.field("open_amount", AMOUNT_TYPE, nullable=False),
        pa.field("days_past_due", pa.int32(), nullable=False),
        pa.field("aging_bucket", pa.string(), nullable=False),
    ]
)
AGING_SCHEMA = pa.schema(
    [
        pa.field("company_code", pa.string(), nullable=False),
        pa.field("fiscal_year", pa.int16(), nullable=False),
        pa.field("fiscal_period", pa.int8(), nullable=False),
        pa.field("ledger", pa.string(), nullable=False),
        pa.field("aging_bucket", pa.string(), nullable=False),
        pa.field("balance", pa.int64(), nullable=False),
        pa.field("items", pa.int64(), nullable=False),
    ]
)
#: opening items: invoices of up to this many days before the window, due 30 days later
OPENING_ITEM_DAYS = 75
OPENING_TERMS = 30
#: share of opening items never settled inside the window (they age on)
OPENING_UNPAID = 0.05
_EPOCH = dt.date(1970, 1, 1)
POSTINGS = {
    "AR": Posting("DZ", "O2C: Customer payment", "automated", "O2C"),
    "AP": Posting("KZ", "P2P: Vendor payment", "automated", "P2P"),
}


def bucket_of(days_past_due: np.ndarray) -> np.ndarray:
    """Aging bucket index (into :data:`BUCKETS`) of days past due (0 or less: current)."""
    out: np.ndarray = np.searchsorted(np.array([0, 30, 60, 90]), days_past_due, side="left")
    return out


def opening_items(
    config: DatasynthConfig, master: Master, company_index: int, amounts: dict[str, int]
) -> pa.Table:
    """The company's opening receivables and payables as items (one line each, in the
    journal-line columns :data:`LINE_COLUMNS` plus ``posting_date``), summing exactly to the
    opening balances of the AR and AP accounts in ``amounts`` (signed, debit positive)."""
    company = master.companies[company_index]
    chart = master.chart
    first = company.periods[0]
    first_day = (first.first - _EPOCH).days
    unit = company.amount_unit
    parts = []
    for ledger, account, count, cdf, prefix in (
        ("AR", chart.account("ar"), config.master_data.customers, company.customer_cdf, "C"),
        ("AP", chart.account("ap"), config.master_data.vendors, company.vendor_cdf, "V"),
    ):
        total = amounts.get(account, 0)
        if total == 0:
            continue
        rng = stream(config.global_.seed, "opening_items", company.code, ledger)
        n = int(max(1, min(count, abs(total) // unit)))
        weights = rng.lognormal(0.0, 1.0, n)
        units = abs(total) // unit
        split = np.floor(units * weights / weights.sum()).astype(np.int64)
        split[np.argsort(-weights, kind="stable")[: int(units - split.sum())]] += 1
        signed = np.sign(total) * split * unit
        partner = np.searchsorted(cdf, rng.random(n), side="right")
        item_day = first_day - 1 - (rng.random(n) * OPENING_ITEM_DAYS).astype(np.int64)
        ids = fixed_width_strings(f"OI-{company.code}-{ledger}-", np.arange(1, n + 1), 6)
        partners = partner_ids(prefix, company.code, partner)
        parts.append(
            pa.table(
                {
                    "fiscal_year": pa.array(np.full(n, first.fiscal_year, np.int16)),
                    "fiscal_period": pa.array(np.full(n, first.fiscal_period, np.int8)),
                    "posting_date": pa.array(np.full(n, first_day - 1, np.int32), pa.date32()),
                    "document_date": pa.array(item_day.astype(np.int32), pa.date32()),
                    "gl_account": pa.array([account] * n),
                    "debit_amount": decimal_from_minor(np.maximum(signed, 0)),
                    "credit_amount": decimal_from_minor(np.maximum(-signed, 0)),
                    "vendor_id": partners if prefix == "V" else pa.nulls(n, pa.string()),
                    "customer_id": partners if prefix == "C" else pa.nulls(n, pa.string()),
                    "clearing_reference": ids,
                    "due_date": pa.array((item_day + OPENING_TERMS).astype(np.int32), pa.date32()),
                }
            )
        )
    if not parts:
        return pa.table({c: [] for c in (*LINE_COLUMNS, "posting_date")})
    return pa.concat_tables(parts, promote_options="permissive")


def settle_opening_items(
    config: DatasynthConfig, master: Master, company_index: int, items: pa.Table
) -> pa.Table:
    """Receipts and payments of the opening items that fall inside the window: around the due
    date (5 days early to 25 days late; items already overdue at the opening date within its
    first 20 days; weekends moved to Monday), a few never."""
    company = master.companies[company_index]
    if items.num_rows == 0:
        return SCHEMA.empty_table()
    rng = stream(config.global_.seed, "opening_settlements", company.code)
    n = items.num_rows
    due = items["due_date"].cast(pa.int32()).to_numpy().astype(np.int64)
    first_day = (company.periods[0].first - _EPOCH).days
    # overdue at the opening date: paid in the first weeks of the window
    day = workday(np.maximum(due + rng.integers(-5, 26, n), first_day + rng.integers(0, 20, n)))
    paid = rng.random(n) >= OPENING_UNPAID
    suffix = pc.if_else(pc.is_valid(items["customer_id"]), "-DZ", "-KZ")
    ids = pc.binary_join_element_wise(items["clearing_reference"], suffix, "")
    return _payments(master, company, items, day, paid, ids)


def settle_standalone_items(
    config: DatasynthConfig, master: Master, block: Block, lines: pa.Table, first_row: int
) -> pa.Table:
    """Payments and receipts of the open items the standalone entries of ``block`` start
    (service invoices, credit memos, FX lines on AP/AR: each entry's lines on one account and
    partner are one item): around the due date (5 days early to 25 days late, never before
    the item's posting, weekends moved to Monday), a few (:data:`STANDALONE_UNPAID`) never;
    items due after the window stay open. Posted by the block, in whatever period the day
    falls, like the flows' payments, and numbered like the block's entries from ``first_row``
    (after its standalone entries, before its flows')."""
    company = master.companies[block.company_index]
    lines = lines.filter(pc.is_valid(lines["clearing_reference"]))
    if lines.num_rows == 0:
        return SCHEMA.empty_table()
    account = strings(lines["gl_account"])
    signed = minor_from_decimal(lines["debit_amount"]) - minor_from_decimal(lines["credit_amount"])
    items = (
        pa.table(
            {
                "gl_account": account,
                "customer_id": lines["customer_id"],
                "vendor_id": lines["vendor_id"],
                "clearing_reference": lines["clearing_reference"],
                "v": pa.array(signed),
                "u": lines["due_date"].cast(pa.int32()),
                "d": lines["posting_date"].cast(pa.int32()),
            }
        )
        .group_by(["gl_account", "customer_id", "vendor_id", "clearing_reference"])
        .aggregate([("v", "sum"), ("u", "max"), ("d", "max")])
        .sort_by([("clearing_reference", "ascending"), ("gl_account", "ascending")])
    )
    items = items.filter(pc.not_equal(items["v_sum"], 0))
    if items.num_rows == 0:
        return SCHEMA.empty_table()
    n = items.num_rows
    rng = stream(
        config.global_.seed,
        "standalone_settlements",
        company.code,
        block.fiscal_year,
        block.fiscal_period,
        block.block_number,
    )
    due = items["u_max"].to_numpy().astype(np.int64)
    posted = items["d_max"].to_numpy().astype(np.int64)
    day = workday(np.maximum(due + rng.integers(-5, 26, n), posted))
    stop = (company.periods[-1].stop - _EPOCH).days
    paid = (rng.random(n) >= STANDALONE_UNPAID) & (day < stop)
    # paid items take the next entry numbers in order (an unpaid one's id is never used)
    rows = first_row + np.maximum(np.cumsum(paid) - 1, 0)
    ids = journal_entry_ids(
        company.code, block.fiscal_year, block.fiscal_period, block.block_number, rows
    )
    amounts = decimal_from_minor(items["v_sum"].to_numpy())
    zero = decimal_from_minor(np.zeros(n, dtype=np.int64))
    table = pa.table(
        {
            "gl_account": items["gl_account"],
            "customer_id": items["customer_id"],
            "vendor_id": items["vendor_id"],
            "clearing_reference": items["clearing_reference"],
            "debit_amount": amounts,
            "credit_amount": zero,
            "due_date": pa.array(due.astype(np.int32), pa.date32()),
        }
    )
    return _payments(master, company, table, day, paid, ids)


def _payments(
    master: Master,
    company: CompanyMaster,
    items: pa.Table,
    day: np.ndarray,
    paid: np.ndarray,
    ids: pa.Array,
) -> pa.Table:
    """Two-line settlements (bank, then the item's account with its clearing reference) of
    the ``items`` that are ``paid`` on ``day`` inside the window, entry ``ids[row]``; AR items
    (those naming a customer) as customer receipts, the others as vendor payments."""
    bank = master.chart.account("bank")
    stops = np.array([(p.stop - _EPOCH).days for p in company.periods], dtype=np.int64)
    user = first_user(company, AUTOMATED_PERSONA)
    paid = paid & (day < stops[-1])
    signed = minor_from_decimal(items["debit_amount"]) - minor_from_decimal(items["credit_amount"])
    due = items["due_date"].cast(pa.int32()).to_numpy().astype(np.int64)
    is_ar = pc.is_valid(items["customer_id"]).to_numpy(zero_copy_only=False)
    parts = []
    for ledger, mine in (("AR", paid & is_ar), ("AP", paid & ~is_ar)):
        rows = np.flatnonzero(mine)
        if rows.size == 0:
            continue
        posting = POSTINGS[ledger]
        # two lines per settlement: bank, then the item's account
        line = np.repeat(rows, 2)
        first = np.tile([True, False], rows.size)
        account = pc.if_else(pa.array(first), bank, items["gl_account"].take(pa.array(line)))
        on_item = pa.array(~first)
        partner = items["customer_id" if ledger == "AR" else "vendor_id"].take(pa.array(line))
        partner = pc.if_else(on_item, partner, pa.scalar(None, pa.string()))
        clearing = pc.if_else(
            on_item, items["clearing_reference"].take(pa.array(line)), pa.scalar(None, pa.string())
        )
        parts.append(
            bulk_entries(
                company,
                posting,
                user,
                document_id=ids.take(pa.array(line)),
                period=np.searchsorted(stops, day[line], side="right"),
                day=day[line],
                account=account,
                signed=np.where(first, signed[line], -signed[line]),
                line_number=np.where(first, 1, 2),
                vendor_id=partner if ledger == "AP" else None,
                customer_id=partner if ledger == "AR" else None,
                clearing=clearing,
                due_day=np.where(first, -1, due[line]),
            )
        )
    return pa.concat_tables(parts) if parts else SCHEMA.empty_table()


def open_items(lines: pa.Table, company: CompanyMaster, accounts: dict[str, str]) -> pa.Table:
    """Items open at each period end of ``company`` among ``lines`` (AP/AR lines with
    :data:`LINE_COLUMNS`, every line of an item included). ``accounts`` maps the AR and AP
    account numbers to their ledger. ``balance`` is signed (debit positive); ``open_amount``
    is in the ledger's own direction (a receivable or a payable is positive)."""
    lines = lines.filter(pc.is_valid(lines["clearing_reference"]))
    if lines.num_rows == 0:
        return OPEN_ITEM_SCHEMA.empty_table()
    account = strings(lines["gl_account"])
    partner = pc.coalesce(lines["customer_id"], lines["vendor_id"])
    periods = company.periods
    position = {(p.fiscal_year, p.fiscal_period): k for k, p in enumerate(periods)}
    year = lines["fiscal_year"].to_numpy()
    number = lines["fiscal_period"].to_numpy()
    keys = np.unique(year.astype(np.int64) * 100 + number)
    lookup = {int(k): position[(int(k) // 100, int(k) % 100)] for k in keys}
    period = np.vectorize(lookup.__getitem__, otypes=[np.int64])(
        year.astype(np.int64) * 100 + number
    )
    table = pa.table(
        {
            "a": account,
            "p": partner,
            "i": lines["clearing_reference"],
            "k": pa.array(period),
            "v": pa.array(
                minor_from_decimal(lines["debit_amount"])
                - minor_from_decimal(lines["credit_amount"])
            ),
            "d": lines["document_date"].cast(pa.int32()),
            "u": lines["due_date"].cast(pa.int32()),
        }
    )
    per_period = table.group_by(["a", "p", "i", "k"]).aggregate([("v", "sum")])
    per_item = table.group_by(["a", "p", "i"]).aggregate([("d", "min"), ("u", "max"), ("k", "min")])
    # each per-period sum finds its item's row (joins do not keep order, rows say where)
    item_key = pa.table({"a": per_item["a"], "p": per_item["p"], "i": per_item["i"]}).append_column(
        "row", pa.array(np.arange(per_item.num_rows))
    )
    joined = pa.table(
        {
            "a": per_period["a"],
            "p": per_period["p"],
            "i": per_period["i"],
            "k": per_period["k"],
            "v": per_period["v_sum"],
        }
    ).join(item_key, ["a", "p", "i"])
    n_items, n_periods = per_item.num_rows, len(periods)
    matrix = np.zeros((n_items, n_periods), dtype=np.int64)
    np.add.at(
        matrix,
        (joined["row"].to_numpy(), joined["k"].to_numpy()),
        joined["v"].to_numpy(),
    )
    balance = np.cumsum(matrix, axis=1)
    started = np.arange(n_periods)[None, :] >= per_item["k_min"].to_numpy()[:, None]
    item_rows, k_rows = np.nonzero((balance != 0) & started)
    ends = np.array([(p.stop - _EPOCH).days - 1 for p in periods], dtype=np.int64)
    due = per_item["u_max"].to_numpy(zero_copy_only=False)
    item_date = per_item["d_min"].to_numpy(zero_copy_only=False)
    due = np.where(np.isnan(due.astype(np.float64)), item_date + OPENING_TERMS, due).astype(
        np.int64
    )
    past = ends[k_rows] - due[item_rows]
    value = balance[item_rows, k_rows]
    names = per_item["a"].to_numpy(zero_copy_only=False)[item_rows]
    sign = np.where(np.array([accounts.get(a) == "AR" for a in names]), 1, -1)
    take = pa.array(item_rows)
    n = item_rows.size
    out = pa.table(
        [
            pa.array([company.code] * n),
            pa.array(np.array([p.fiscal_year for p in periods], np.int16)[k_rows]),
            pa.array(np.array([p.fiscal_period for p in periods], np.int8)[k_rows]),
            pa.array(ends[k_rows].astype(np.int32), pa.date32()),
            per_item["a"].take(take),
            per_item["p"].take(take),
            per_item["i"].take(take),
            pa.array(item_date[item_rows].astype(np.int32), pa.date32()),
            pa.array(due[item_rows].astype(np.int32), pa.date32()),
            decimal_from_minor(value),
            decimal_from_minor(value * sign),
            pa.array(past.astype(np.int32)),
            pa.array(np.asarray(BUCKETS, dtype=object)[bucket_of(past)].tolist(), pa.string()),
        ],
        schema=OPEN_ITEM_SCHEMA,
    )
    order = [
        ("fiscal_year", "ascending"),
        ("fiscal_period", "ascending"),
        ("gl_account", "ascending"),
        ("item_id", "ascending"),
    ]
    return out.sort_by(order)


def aging(items: pa.Table, accounts: dict[str, str]) -> pa.Table:
    """Open items summed per company, period, ledger and aging bucket (minor units)."""
    if items.num_rows == 0:
        return AGING_SCHEMA.empty_table()
    ledger = pa.array([accounts[a] for a in items["gl_account"].to_pylist()], pa.string())
    table = pa.table(
        {
            "company_code": items["company_code"],
            "fiscal_year": items["fiscal_year"],
            "fiscal_period": items["fiscal_period"],
            "ledger": ledger,
            "aging_bucket": items["aging_bucket"],
            "balance": pa.array(minor_from_decimal(items["balance"])),
        }
    )
    return combine_aging(
        table.append_column("items", pa.array(np.ones(items.num_rows, dtype=np.int64)))
    )


_AGING_KEYS = ["company_code", "fiscal_year", "fiscal_period", "ledger", "aging_bucket"]


def combine_aging(*parts: pa.Table) -> pa.Table:
    """The sum of :data:`AGING_SCHEMA` tables."""
    tables = [p for p in parts if p.num_rows]
    if not tables:
        return AGING_SCHEMA.empty_table()
    grouped = (
        pa.concat_tables([t.select(AGING_SCHEMA.names) for t in tables])
        .group_by(_AGING_KEYS)
        .aggregate([("balance", "sum"), ("items", "sum")])
    )
    out = pa.table(
        [grouped[k] for k in _AGING_KEYS] + [grouped["balance_sum"], grouped["items_sum"]],
        schema=AGING_SCHEMA,
    )
    return out.sort_by([(k, "ascending") for k in _AGING_KEYS])
