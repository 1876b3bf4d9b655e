"""The inventory subledger: stock positions per account and material, valued at weighted
average cost, that the inventory accounts of the ledger equal at every period end.

Every journal line on an inventory account names the material it moves and the quantity
(goods receipts +, goods issues -). From their sums per period:

* **Opening positions**: each inventory account's opening balance is spread over the company's
  materials (log-normal shares, whole units at standard cost; the largest position takes the
  rounding, so they sum to the opening balance exactly).
* **Production and replenishment receipts**: the flows sell finished goods that nothing
  produces, so when a period would issue more than the position holds, a receipt at standard
  cost on the period's first day brings in the shortfall plus 10% of the period's issues
  (``Dr`` inventory). The same entry **consumes materials nobody sells** (raw materials,
  supplies): the same share of every such position's free stock, at the period's average
  cost, for up to 60% of what was produced (``Cr`` inventory, with the material and a negative
  quantity); the rest of the produced value is conversion cost absorbed (``Cr`` 500200), so
  purchased materials reach the income statement when production uses them. Stock never
  goes negative at a period end.
* **Valuation** at weighted average cost per period (IAS 2.27, periodic basis): the period's
  average is (opening value + receipts) / (opening quantity + receipt quantity), issues are
  valued at it, and the difference to what the issues were posted at (standard cost) is
  revalued on the period's last day per material (``Dr``/``Cr`` inventory, ``Cr``/``Dr`` 500100
  purchase price differences).

A per-receipt moving average would need every material's movements in time order across all
blocks (a shuffle by material); the periodic average needs only sums, which reduce.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datasynth.config.models import DatasynthConfig
from datasynth.core import vocab
from datasynth.core.arrow import strings
from datasynth.core.ids import fixed_width_strings
from datasynth.core.money import AMOUNT_TYPE, decimal_from_minor, minor_from_decimal
from datasynth.core.seeding import stream
from datasynth.generators.journal_entries import SCHEMA
from datasynth.generators.ledger_lines import Posting, bulk_entries, first_user
from datasynth.generators.master import AUTOMATED_PERSONA, Master

SUMS_SCHEMA = pa.schema(
    [
        pa.field("company_code", pa.string(), nullable=False),
        pa.field("fiscal_year", pa.int16(), nullable=False),
        pa.field("fiscal_period", pa.int8(), nullable=False),
        pa.field("gl_account", pa.string(), nullable=False),
        pa.field("material_id", pa.string(), nullable=False),
        pa.field("receipt_quantity", pa.int64(), nullable=False),
        pa.field("receipt_value", pa.int64(), nullable=False),
        pa.field("issue_quantity", pa.int64(), nullable=False),
        pa.field("issue_value", pa.int64(), nullable=False),
    ]
)
POSITION_SCHEMA = pa.schema(
    [
        pa.field("company_code", pa.string(), nullable=False),
        pa.field("fiscal_year", pa.int16(), nullable=False),
        pa.field("fiscal_period", pa.int8(), nullable=False),
        pa.field("period_end", pa.date32(), nullable=False),
        pa.field("gl_account", pa.string(), nullable=False),
        pa.field("material_id", pa.string(), nullable=False),
        pa.field("opening_quantity", pa.int64(), nullable=False),
        pa.field("opening_value", AMOUNT_TYPE, nullable=False),
        pa.field("receipt_quantity", pa.int64(), nullable=False),
        pa.field("receipt_value", AMOUNT_TYPE, nullable=False),
        pa.field("production_quantity", pa.int64(), nullable=False),
        pa.field("production_value", AMOUNT_TYPE, nullable=False),
        pa.field("consumption_quantity", pa.int64(), nullable=False),
        pa.field("consumption_value", AMOUNT_TYPE, nullable=False),
        pa.field("issue_quantity", pa.int64(), nullable=False),
        pa.field("issue_value_posted", AMOUNT_TYPE, nullable=False),
        pa.field("issue_value", AMOUNT_TYPE, nullable=False),
        pa.field("revaluation", AMOUNT_TYPE, nullable=False),
        pa.field("closing_quantity", pa.int64(), nullable=False),
        pa.field("closing_value", AMOUNT_TYPE, nullable=False),
        pa.field("average_price", pa.float64(), nullable=False),
    ]
)
PRODUCTION = Posting("WE", "P2P: Production and replenishment receipt", "automated", "P2P")
REVALUATION = Posting("MR", "R2R: Inventory revaluation", "period_close", "R2R")
PRODUCTION_ACCOUNT = "500200"
PRICE_DIFFERENCE_ACCOUNT = "500100"
#: a production receipt brings in the shortfall plus this share of the period's issues
SAFETY_SHARE = 0.10
#: production consumes materials nobody sells (raw materials, supplies) for up to this share of
#: what it produces at standard cost; the rest is conversion cost absorbed (500200)
MATERIAL_SHARE = 0.60
_KEYS = ["company_code", "fiscal_year", "fiscal_period", "gl_account", "material_id"]
_CODE = 10**7
_EPOCH = dt.date(1970, 1, 1)


def inventory_sums(
    lines: pa.Table, company_code: str, fiscal_year: int, fiscal_period: int
) -> pa.Table:
    """Receipts and issues (quantity and posted value) per account and material of journal
    lines of one company and period (lines without a material are left out)."""
    lines = lines.filter(pc.is_valid(lines["material_id"]))
    if lines.num_rows == 0:
        return SUMS_SCHEMA.empty_table()
    account = strings(lines["gl_account"])
    qty = lines["quantity"].to_numpy(zero_copy_only=False).astype(np.int64)
    value = minor_from_decimal(lines["debit_amount"]) - minor_from_decimal(lines["credit_amount"])
    receipt = value > 0
    table = pa.table(
        {
            "gl_account": account,
            "material_id": lines["material_id"],
            "receipt_quantity": pa.array(np.where(receipt, qty, 0)),
            "receipt_value": pa.array(np.where(receipt, value, 0)),
            "issue_quantity": pa.array(np.where(receipt, 0, -qty)),
            "issue_value": pa.array(np.where(receipt, 0, -value)),
        }
    )
    grouped = table.group_by(["gl_account", "material_id"]).aggregate(
        [(c, "sum") for c in SUMS_SCHEMA.names[5:]]
    )
    n = grouped.num_rows
    out = pa.table(
        [
            pa.array([company_code] * n),
            pa.array(np.full(n, fiscal_year, np.int16)),
            pa.array(np.full(n, fiscal_period, np.int8)),
            grouped["gl_account"],
            grouped["material_id"],
            *(grouped[f"{c}_sum"] for c in SUMS_SCHEMA.names[5:]),
        ],
        schema=SUMS_SCHEMA,
    )
    return out.sort_by([(k, "ascending") for k in _KEYS])


def combine_inventory(*parts: pa.Table) -> pa.Table:
    """The sum of :func:`inventory_sums` tables."""
    tables = [p for p in parts if p.num_rows]
    if not tables:
        return SUMS_SCHEMA.empty_table()
    grouped = (
        pa.concat_tables(tables)
        .group_by(_KEYS)
        .aggregate([(c, "sum") for c in SUMS_SCHEMA.names[5:]])
    )
    out = pa.table(
        [grouped[k] for k in _KEYS] + [grouped[f"{c}_sum"] for c in SUMS_SCHEMA.names[5:]],
        schema=SUMS_SCHEMA,
    )
    return out.sort_by([(k, "ascending") for k in _KEYS])


def inventory_accounts(master: Master) -> list[str]:
    """The chart's inventory accounts (the ``inventory`` subtype family)."""
    return [master.chart.numbers[i] for i in master.chart.families.get("subtype:inventory", ())]


def opening_positions(
    config: DatasynthConfig, master: Master, company_index: int, amounts: dict[str, int]
) -> dict[tuple[str, int], tuple[int, int]]:
    """(account, material index) -> (quantity, value) summing per account exactly to the
    opening balance of each inventory account in ``amounts``."""
    company = master.companies[company_index]
    assert master.material_costs is not None
    cost = master.material_costs[company_index]
    out: dict[tuple[str, int], tuple[int, int]] = {}
    for account in inventory_accounts(master):
        total = amounts.get(account, 0)
        if total <= 0 or cost.size == 0:
            continue
        rng = stream(config.global_.seed, "opening_inventory", company.code, account)
        weights = rng.lognormal(0.0, 1.0, cost.size)
        qty = np.maximum(np.floor(total * weights / weights.sum() / cost), 0).astype(np.int64)
        value = qty * cost
        if value.sum() > total:  # rounding down never overshoots; keep it exact anyway
            qty[:] = 0
            value[:] = 0
        largest = int(np.argmax(weights))
        qty[largest] = max(int(qty[largest]), 1)
        value[largest] += total - int(value.sum())
        for m in np.flatnonzero(qty > 0):
            out[(account, int(m))] = (int(qty[m]), int(value[m]))
    return out


def value_inventory(
    config: DatasynthConfig,
    master: Master,
    company_index: int,
    sums: pa.Table,
    opening: dict[tuple[str, int], tuple[int, int]],
) -> tuple[pa.Table, pa.Table]:
    """One company's production receipts and revaluations (journal lines with partition
    columns) and its positions per period, account and material (``sums``: the inventory
    sums of its journal lines, other companies' rows are ignored)."""
    out: list[pa.Table] = []
    ci = company_index
    company = master.companies[ci]
    periods = company.periods
    cost = master.material_costs[ci] if master.material_costs else np.zeros(0, np.int64)
    prefix = f"MAT-{company.code}-"
    mine = sums.filter(pc.equal(sums["company_code"], company.code))
    # a position is (account, material): coded as account index * 10**7 + material
    numbers = {a: i for i, a in enumerate(master.chart.numbers)}
    open_codes = np.array([numbers[a] * _CODE + m for a, m in opening], dtype=np.int64).reshape(-1)
    sum_codes = np.zeros(0, dtype=np.int64)
    if mine.num_rows:
        account_index = np.array(
            [numbers[a] for a in mine["gl_account"].to_pylist()], dtype=np.int64
        )
        material_index = (
            pc.utf8_slice_codeunits(mine["material_id"], len(prefix)).cast(pa.int64()).to_numpy()
            - 1
        )
        sum_codes = account_index * _CODE + material_index
    keys = np.unique(np.concatenate([open_codes, sum_codes]))
    if keys.size == 0:
        return SCHEMA.empty_table(), POSITION_SCHEMA.empty_table()
    n, p = keys.size, len(periods)
    flows = np.zeros((4, n, p), dtype=np.int64)  # receipt q, receipt v, issue q, issue v
    if mine.num_rows:
        r = np.searchsorted(keys, sum_codes)
        period_key = mine["fiscal_year"].to_numpy().astype(np.int64) * 100 + mine[
            "fiscal_period"
        ].to_numpy().astype(np.int64)
        known = np.array([x.fiscal_year * 100 + x.fiscal_period for x in periods])
        order = np.argsort(known)
        at = order[np.searchsorted(known[order], period_key)]
        for j, column in enumerate(SUMS_SCHEMA.names[5:]):
            np.add.at(flows[j], (r, at), mine[column].to_numpy())
    q = np.zeros(n, dtype=np.int64)
    v = np.zeros(n, dtype=np.int64)
    at_open = np.searchsorted(keys, open_codes)
    q[at_open] = [qv[0] for qv in opening.values()]
    v[at_open] = [qv[1] for qv in opening.values()]
    material = keys % _CODE
    account_index = keys // _CODE
    accounts = np.asarray(master.chart.numbers, dtype=object)[account_index]
    unit_cost = cost[material]
    unit = company.amount_unit
    # materials the company never sells are what production consumes
    raw = np.zeros(n, dtype=bool)
    if master.flows is not None:
        raw = master.flows[ci].material_price[material] == 0
    columns: dict[str, list[np.ndarray]] = {c: [] for c in POSITION_SCHEMA.names}
    entry_lines: dict[str, dict[str, list[np.ndarray]]] = {
        kind: {"row": [], "period": [], "signed": [], "quantity": []} for kind in ("WE", "MR")
    }
    user = first_user(company, AUTOMATED_PERSONA)
    for k, period in enumerate(periods):
        rq, rv, iq, iv = flows[:, :, k]
        available = q + rq
        short = iq - available
        produce = np.where(short > 0, short + np.ceil(SAFETY_SHARE * iq).astype(np.int64), 0)
        pv = produce * unit_cost
        available = available + produce
        value = v + rv + pv
        with np.errstate(divide="ignore", invalid="ignore"):
            average = np.where(available > 0, value / np.maximum(available, 1), 0.0)
        # production consumes the same share of every unsold material's free stock, for
        # up to MATERIAL_SHARE of what it brought in
        free = np.where(raw & (produce == 0), np.maximum(available - iq, 0), 0)
        free_value = float((free * average).sum())
        share = min(1.0, MATERIAL_SHARE * float(pv.sum()) / free_value) if free_value else 0.0
        consume = np.floor(free * share).astype(np.int64)
        consumed = np.where(
            (consume == available) & (consume > 0),
            value,
            np.rint(consume * average / unit).astype(np.int64) * unit,
        )
        emptied = (available == iq) & (iq > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            at_average = (
                np.where(
                    available > 0, np.rint(iq * (value / np.maximum(available, 1)) / unit), 0
                ).astype(np.int64)
                * unit
            )
        at_average = np.where(emptied, value, np.where(iq > 0, at_average, 0))
        revaluation = iv - at_average
        closing_q = available - iq - consume
        closing_v = value - at_average - consumed
        # entry lines: one per position, then the contra line (row -1)
        made, used = np.flatnonzero(produce > 0), np.flatnonzero(consume > 0)
        for kind, rows, amounts, quantities in (
            (
                "WE",
                np.concatenate([made, used]),
                np.concatenate([pv[made], -consumed[used]]),
                np.concatenate([produce[made], -consume[used]]),
            ),
            (
                "MR",
                np.flatnonzero(revaluation != 0),
                revaluation[revaluation != 0],
                np.zeros(int((revaluation != 0).sum()), np.int64),
            ),
        ):
            if rows.size == 0:
                continue
            lines = entry_lines[kind]
            lines["row"] += [rows, np.array([-1])]
            lines["period"].append(np.full(rows.size + 1, k))
            lines["signed"] += [amounts, np.array([-int(amounts.sum())])]
            lines["quantity"] += [quantities, np.array([0])]
        show = (
            (q != 0)
            | (v != 0)
            | (rq != 0)
            | (iq != 0)
            | (produce != 0)
            | (consume != 0)
            | (closing_q != 0)
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            average = np.where(closing_q > 0, closing_v / np.maximum(closing_q, 1) / 100.0, 0.0)
        for name, values in (
            ("opening_quantity", q),
            ("opening_value", v),
            ("receipt_quantity", rq),
            ("receipt_value", rv),
            ("production_quantity", produce),
            ("production_value", pv),
            ("consumption_quantity", consume),
            ("consumption_value", consumed),
            ("issue_quantity", iq),
            ("issue_value_posted", iv),
            ("issue_value", at_average),
            ("revaluation", revaluation),
            ("closing_quantity", closing_q),
            ("closing_value", closing_v),
            ("average_price", average),
        ):
            columns[name].append(values[show])
        picked = np.flatnonzero(show)
        columns["fiscal_year"].append(np.full(picked.size, period.fiscal_year, np.int16))
        columns["fiscal_period"].append(np.full(picked.size, period.fiscal_period, np.int8))
        end = (period.stop - _EPOCH).days - 1
        columns["period_end"].append(np.full(picked.size, end, np.int32))
        columns["gl_account"].append(account_index[picked])
        columns["material_id"].append(material[picked])
        q = closing_q
        v = closing_v
    for kind, posting, contra in (
        ("WE", PRODUCTION, PRODUCTION_ACCOUNT),
        ("MR", REVALUATION, PRICE_DIFFERENCE_ACCOUNT),
    ):
        lines = entry_lines[kind]
        if not lines["row"]:
            continue
        row = np.concatenate(lines["row"])
        at_period = np.concatenate(lines["period"])
        on_stock = row >= 0
        # one entry per period: production on its first day, revaluation on its last
        days = np.array(
            [
                (x.first - _EPOCH).days if kind == "WE" else (x.stop - _EPOCH).days - 1
                for x in periods
            ],
            dtype=np.int64,
        )
        tags = pa.array(
            [
                f"PC-{company.code}-{x.fiscal_year:04d}{x.fiscal_period:02d}-{kind}01"
                for x in periods
            ]
        )
        starts = np.flatnonzero(np.r_[True, at_period[1:] != at_period[:-1]])
        number = np.arange(row.size) - np.repeat(starts, np.diff(np.r_[starts, row.size])) + 1
        material_id = vocab.scatter(
            pa.nulls(row.size, pa.string()),
            on_stock,
            fixed_width_strings(prefix, material[row[on_stock]] + 1, 6),
        )
        out.append(
            bulk_entries(
                company,
                posting,
                user,
                document_id=tags.take(pa.array(at_period)),
                period=at_period,
                day=days[at_period],
                account=pa.array(np.where(on_stock, accounts[row], contra).tolist(), pa.string()),
                signed=np.concatenate(lines["signed"]),
                line_number=number,
                material_id=material_id,
                quantity=pa.array(np.concatenate(lines["quantity"]), pa.int64(), mask=~on_stock),
            )
        )
    joined = {name: np.concatenate(parts) for name, parts in columns.items() if parts}
    n_rows = joined["material_id"].size
    arrays = []
    for f in POSITION_SCHEMA:
        if f.name == "company_code":
            arrays.append(pa.repeat(pa.scalar(company.code, pa.string()), n_rows))
            continue
        values = joined[f.name]
        if f.name == "material_id":  # each material's id built once
            ids = fixed_width_strings(prefix, np.arange(int(material.max()) + 1) + 1, 6)
            arrays.append(ids.take(pa.array(values)))
        elif f.name == "gl_account":
            arrays.append(pa.array(master.chart.numbers, pa.string()).take(pa.array(values)))
        elif f.type == AMOUNT_TYPE:
            arrays.append(decimal_from_minor(values.astype(np.int64)))
        elif f.name == "period_end":
            arrays.append(pa.array(values.astype(np.int32), pa.date32()))
        else:
            arrays.append(pa.array(values.tolist() if values.dtype == object else values, f.type))
    table = pa.Table.from_arrays(arrays, schema=POSITION_SCHEMA)
    return (pa.concat_tables(out) if out else SCHEMA.empty_table()), table
