"""AP and AR open items per block, their aging, and the reconciliation of every control
account with its subledger.

Every line of an open item is posted by one journal-entry block (a flow is generated whole by
the block it starts in; a standalone item is one entry), so a task per block reads the AP/AR
lines that block wrote and writes the items open at each period end. The close stage does the
same for the opening items and the entries it posts. Aging sums reduce like the ledger sums,
and the last task writes ``subledgers/aging`` and ``subledgers/reconciliation``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from datasynth.config.models import DatasynthConfig
from datasynth.core.blocks import Block
from datasynth.core.money import AMOUNT_TYPE, decimal_from_minor, minor_from_decimal
from datasynth.generators.asset_accounting import AssetRegister
from datasynth.generators.journal_entries import PARTITION_COLUMNS
from datasynth.generators.journal_entries import SCHEMA as JOURNAL_SCHEMA
from datasynth.generators.master import Master
from datasynth.generators.open_items import LINE_COLUMNS, aging, combine_aging, open_items
from datasynth.runtime.plan import JOURNAL_ENTRIES
from datasynth.sinks.files import FileRecord, file_suffix, read_table, write_table

ITEM_TABLES = {"AR": "ar_open_items", "AP": "ap_open_items"}
RECONCILIATION_SCHEMA = pa.schema(
    [
        pa.field("company_code", pa.string(), nullable=False),
        pa.field("fiscal_year", pa.int16(), nullable=False),
        pa.field("fiscal_period", pa.int8(), nullable=False),
        pa.field("subledger", pa.string(), nullable=False),
        pa.field("gl_account", pa.string(), nullable=False),
        pa.field("ledger_balance", AMOUNT_TYPE, nullable=False),
        pa.field("subledger_balance", AMOUNT_TYPE, nullable=False),
        pa.field("difference", AMOUNT_TYPE, nullable=False),
    ]
)
_FILE_SCHEMA = pa.schema([f for f in JOURNAL_SCHEMA if f.name not in PARTITION_COLUMNS])
_READ = [c for c in LINE_COLUMNS if c not in PARTITION_COLUMNS]


def ledgers(master: Master) -> dict[str, str]:
    """AR and AP reconciliation account numbers -> their subledger (``AR``, ``AP``)."""
    return {master.chart.account("ar"): "AR", master.chart.account("ap"): "AP"}


def read_item_lines(path: Path, fmt: str, year: int, period: int) -> pa.Table:
    """The AP/AR lines of one written journal-entry file, with their fiscal period."""
    if fmt == "parquet":
        lines = pq.read_table(path, columns=_READ)
    else:
        lines = read_table(path, _FILE_SCHEMA, fmt).select(_READ)
    lines = lines.filter(pc.is_valid(lines["clearing_reference"]))
    n = lines.num_rows
    return lines.append_column("fiscal_year", pa.array(np.full(n, year, np.int16))).append_column(
        "fiscal_period", pa.array(np.full(n, period, np.int8))
    )


def write_items(
    config: DatasynthConfig, master: Master, root: str, items: pa.Table, part: str, block: int
) -> list[FileRecord]:
    """Write a part of ``ar_open_items`` and ``ap_open_items``."""
    o = config.output
    accounts = ledgers(master)
    suffix = file_suffix(o.format, o.compression)
    records = []
    ledger = pa.array([accounts[a] for a in items["gl_account"].to_pylist()], pa.string())
    for name, table in ITEM_TABLES.items():
        rows = items.filter(pc.equal(ledger, name)) if items.num_rows else items
        records.append(
            write_table(
                rows,
                Path(root),
                f"subledgers/{table}/part-{part}{suffix}",
                table_name=table,
                block=block,
                fmt=o.format,
                compression=o.compression,
                compression_level=o.compression_level,
            )
        )
    return records


def block_open_items(
    config: DatasynthConfig,
    master: Master,
    block: Block,
    root: str,
    record: dict[str, Any],
    width: int,
) -> dict[str, Any]:
    """Open items of the AP/AR lines one journal-entry block wrote, at every period end."""
    from datasynth.runtime.balances import period_of

    parts = [
        read_item_lines(Path(root) / f["path"], config.output.format, *period_of(f["path"]))
        for f in record["files"]
        if f["table"] == JOURNAL_ENTRIES
    ]
    lines = pa.concat_tables(parts) if parts else None
    company = master.companies[block.company_index]
    items = open_items(lines, company, ledgers(master)) if lines is not None else None
    if items is None:
        from datasynth.generators.open_items import OPEN_ITEM_SCHEMA

        items = OPEN_ITEM_SCHEMA.empty_table()
    records = write_items(config, master, root, items, f"{block.index:0{width}d}", block.index)
    return {
        "files": [r.to_json() for r in records],
        "rows": sum(r.rows for r in records),
        "skipped": False,
        "aging": aging(items, ledgers(master)),
    }


def total_aging(*parts: Any) -> pa.Table:
    """Aging sums of block records, close-stage records or earlier sums, added up."""
    return combine_aging(*(p["aging"] if isinstance(p, dict) else p for p in parts))


def aging_table(totals: pa.Table) -> pa.Table:
    """``subledgers/aging``: the summed aging with amounts as decimals."""
    i = totals.schema.get_field_index("balance")
    return totals.set_column(
        i,
        pa.field("balance", AMOUNT_TYPE, nullable=False),
        decimal_from_minor(totals["balance"].to_numpy()),
    )


def register_balances(register: AssetRegister) -> pa.Table:
    """Net book value per register account (cost accounts positive, accumulated depreciation
    negative) at each period end of one company's fixed-asset register, in minor units."""
    accounts = sorted(
        set(register.cost_account.tolist()) | {x for x in register.depreciation_account if x}
    )
    rows: dict[str, list[Any]] = {"fiscal_year": [], "fiscal_period": [], "gl_account": []}
    values = []
    for k, p in enumerate(register.company.periods):
        held = register.held[:, k]
        for a in accounts:
            cost = int(register.cost[held & (register.cost_account == a)].sum())
            depreciated = held & (register.depreciation_account == a)
            values.append(cost - int(register.accumulated[depreciated, k].sum()))
            rows["fiscal_year"].append(p.fiscal_year)
            rows["fiscal_period"].append(p.fiscal_period)
            rows["gl_account"].append(str(a))
    return pa.table(
        {
            "company_code": pa.array([register.company.code] * len(values), pa.string()),
            "fiscal_year": pa.array(rows["fiscal_year"], pa.int16()),
            "fiscal_period": pa.array(rows["fiscal_period"], pa.int8()),
            "gl_account": pa.array(rows["gl_account"], pa.string()),
            "balance": pa.array(values, pa.int64()),
        }
    )


def reconciliation(
    master: Master,
    trial_balances: pa.Table,
    totals: pa.Table | None,
    fixed_assets: pa.Table | None,
    inventory: pa.Table | None = None,
) -> pa.Table:
    """Every control account against its subledger at every period end: AR and AP from the
    open items' aging, fixed assets from the registers' balances (:func:`register_balances`),
    inventory from the stock positions."""
    rows: dict[tuple[str, int, int, str, str], int] = {}
    accounts = ledgers(master)
    if totals is not None:
        for r in totals.to_pylist():
            account = next(a for a, led in accounts.items() if led == r["ledger"])
            key = (r["company_code"], r["fiscal_year"], r["fiscal_period"], r["ledger"], account)
            rows[key] = rows.get(key, 0) + int(r["balance"])
        for company in master.companies:
            for p in company.periods:
                for account, led in accounts.items():
                    rows.setdefault((company.code, p.fiscal_year, p.fiscal_period, led, account), 0)
    if fixed_assets is not None:
        for r in fixed_assets.to_pylist():
            key = (r["company_code"], r["fiscal_year"], r["fiscal_period"], "FA", r["gl_account"])
            rows[key] = rows.get(key, 0) + int(r["balance"])
    if inventory is not None:
        values = minor_from_decimal(inventory["closing_value_sum"].cast(AMOUNT_TYPE))
        for r, value in zip(inventory.to_pylist(), values, strict=True):
            key = (r["company_code"], r["fiscal_year"], r["fiscal_period"], "INV", r["gl_account"])
            rows[key] = rows.get(key, 0) + int(value)
    if not rows:
        return RECONCILIATION_SCHEMA.empty_table()
    tb = {
        (r["company_code"], r["fiscal_year"], r["fiscal_period"], r["gl_account"]): r
        for r in trial_balances.select(
            ["company_code", "fiscal_year", "fiscal_period", "gl_account"]
        ).to_pylist()
    }
    closing = minor_from_decimal(trial_balances["closing_balance"])
    position = {k: i for i, k in enumerate(tb)}
    keys = sorted(rows)
    ledger = np.array(
        [
            int(closing[position[(c, y, p, a)]]) if (c, y, p, a) in position else 0
            for c, y, p, _, a in keys
        ],
        dtype=np.int64,
    )
    sub = np.array([rows[k] for k in keys], dtype=np.int64)
    return pa.table(
        [
            pa.array([k[0] for k in keys]),
            pa.array([k[1] for k in keys], pa.int16()),
            pa.array([k[2] for k in keys], pa.int8()),
            pa.array([k[3] for k in keys]),
            pa.array([k[4] for k in keys]),
            decimal_from_minor(ledger),
            decimal_from_minor(sub),
            decimal_from_minor(ledger - sub),
        ],
        schema=RECONCILIATION_SCHEMA,
    )
