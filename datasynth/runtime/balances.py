"""Trial balances as a Dask reduction over the written journal entries.

One task per journal-entry block reads the files that block wrote (only the account and amount
columns of Parquet) and sums them per fiscal period and account; tasks of :data:`FAN_IN` partial
sums combine level by level into one per company; each company's close stage
(:func:`write_period_close`) posts from its sums; a last task rolls the opening balances through
the ledger's and the close stages' sums and writes ``balances/opening_balances`` and
``balances/trial_balances``. The ledger is never held in memory: a task holds one block's lines,
one company's summed rows or one company's close entries and subledgers.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from datasynth.config.models import DatasynthConfig
from datasynth.core.blocks import Block
from datasynth.generators.asset_accounting import asset_entries, asset_register, register_table
from datasynth.generators.balances import (
    combine_sums,
    ledger_sums,
    opening_amounts,
    opening_balances,
    trial_balances,
)
from datasynth.generators.inventory import (
    combine_inventory,
    inventory_sums,
    opening_positions,
    value_inventory,
)
from datasynth.generators.journal_entries import PARTITION_COLUMNS
from datasynth.generators.journal_entries import SCHEMA as JOURNAL_SCHEMA
from datasynth.generators.master import Master
from datasynth.generators.open_items import (
    LINE_COLUMNS,
    aging,
    open_items,
    opening_items,
    settle_opening_items,
)
from datasynth.generators.period_close import close_entries, release_opening_prepaid
from datasynth.runtime.blocks import by_period
from datasynth.runtime.plan import JOURNAL_ENTRIES
from datasynth.runtime.subledgers import (
    aging_table,
    block_open_items,
    ledgers,
    reconciliation,
    register_balances,
    write_items,
)
from datasynth.sinks.files import FileRecord, file_suffix, read_table, write_table

#: partial sums combined per task of the reduction tree
FAN_IN = 16
_PERIOD = re.compile(r"fiscal_year=(\d{4})/fiscal_period=(\d{2})/")
_COLUMNS = ["gl_account", "debit_amount", "credit_amount", "material_id", "quantity"]
_FILE_SCHEMA = pa.schema([f for f in JOURNAL_SCHEMA if f.name not in PARTITION_COLUMNS])


def read_lines(path: Path, fmt: str) -> pa.Table:
    """The account and amount columns of one written journal-entry file."""
    if fmt == "parquet":
        return pq.read_table(path, columns=_COLUMNS)
    return read_table(path, _FILE_SCHEMA, fmt).select(_COLUMNS)


def block_sums(
    config: DatasynthConfig, block: Block, root: str, record: dict[str, Any]
) -> dict[str, pa.Table]:
    """Sums per fiscal period and account (``ledger``), and per account and material
    (``inventory``), of the journal lines one block wrote."""
    ledger = []
    stock = []
    for f in record["files"]:
        if f["table"] != JOURNAL_ENTRIES:
            continue
        lines = read_lines(Path(root) / f["path"], config.output.format)
        period = period_of(f["path"])
        ledger.append(ledger_sums(lines, block.company_code, *period))
        stock.append(inventory_sums(lines, block.company_code, *period))
    return {"ledger": combine_sums(*ledger), "inventory": combine_inventory(*stock)}


def combine_block_sums(*parts: dict[str, pa.Table]) -> dict[str, pa.Table]:
    """The sum of :func:`block_sums` results."""
    return {
        "ledger": combine_sums(*(p["ledger"] for p in parts)),
        "inventory": combine_inventory(*(p["inventory"] for p in parts)),
    }


def period_of(path: str) -> tuple[int, int]:
    """Fiscal year and period of a journal-entry file, from its hive-style folders."""
    match = _PERIOD.search(path)
    if match is None:
        raise ValueError(f"journal-entry file {path!r} has no fiscal period in its path")
    return int(match.group(1)), int(match.group(2))


def balances_path(config: DatasynthConfig, table: str) -> str:
    return f"balances/{table}{file_suffix(config.output.format, config.output.compression)}"


def subledger_path(config: DatasynthConfig, table: str) -> str:
    return f"subledgers/{table}{file_suffix(config.output.format, config.output.compression)}"


def close_stems(config: DatasynthConfig) -> list[tuple[str, int]]:
    """File stem and manifest block of each company's close stage (company order): its
    entries are ``close-CODE`` files beside the blocks' parts; blocks below 0 are rebuilt by
    every run."""
    return [(f"close-{c.code}", -1 - i) for i, c in enumerate(config.companies)]


def close_path(config: DatasynthConfig, period: tuple[int, int], stem: str) -> str:
    year, number = period
    suffix = file_suffix(config.output.format, config.output.compression)
    return f"{JOURNAL_ENTRIES}/fiscal_year={year:04d}/fiscal_period={number:02d}/{stem}{suffix}"


def write_period_close(
    config: DatasynthConfig,
    master: Master,
    root: str,
    company_index: int,
    totals: dict[str, pa.Table],
) -> dict[str, Any]:
    """One company's stage after the reduction of its blocks: asset accounting (acquisitions,
    depreciation runs, disposals), the settlement of its opening receivables and payables,
    inventory valuation and the period-close entries, generated from the company's summed
    ledger and written into the periods they post in (``close-CODE`` files beside the blocks'
    parts), plus its part of the fixed-asset, depreciation and inventory subledgers. The
    record carries the sums of the entries it wrote and the subledger balances the
    reconciliation needs."""
    o = config.output
    out = Path(root)
    company = master.companies[company_index]
    stem, block = close_stems(config)[company_index]
    entries = []
    subledgers: dict[str, pa.Table] = {}
    fixed_assets = None
    if config.balances.asset_accounting:
        register = asset_register(config, master, company_index)
        assets, run = asset_entries(config, master, [register])
        entries.append(assets)
        subledgers = {"fa_register": register_table([register]), "depreciation": run}
        fixed_assets = register_balances(register)
    # the opening receivables and payables: items, and their settlement inside the window;
    # the opening stock by material, production receipts and the valuation at average cost
    amounts = opening_amounts(config, master, company_index)
    opening = opening_items(config, master, company_index, amounts)
    entries.append(settle_opening_items(config, master, company_index, opening))
    entries.append(release_opening_prepaid(config, master, company_index, amounts))
    stock = opening_positions(config, master, company_index, amounts)
    inventory_entries, positions = value_inventory(
        config, master, company_index, totals["inventory"], stock
    )
    entries.append(inventory_entries)
    subledgers["inventory"] = positions
    if config.balances.period_close.enabled:
        sums = combine_sums(totals["ledger"], table_sums(pa.concat_tables(entries)))
        entries.append(close_entries(config, master, sums, [company_index], [amounts]))
    table = pa.concat_tables(entries)
    # open items of the opening balances and of this stage's AP/AR lines
    lines = pa.concat_tables(
        [_plain(opening.select(LINE_COLUMNS)), _plain(table.select(LINE_COLUMNS))],
        promote_options="permissive",
    )
    items = open_items(lines, company, ledgers(master))

    def write(table: pa.Table, path: str, name: str) -> FileRecord:
        return write_table(
            table,
            out,
            path,
            table_name=name,
            block=block,
            fmt=o.format,
            compression=o.compression,
            compression_level=o.compression_level,
        )

    records = [
        write(part, close_path(config, period, stem), JOURNAL_ENTRIES)
        for period, part in by_period(table)
    ]
    suffix = file_suffix(o.format, o.compression)
    records += [
        write(t, f"subledgers/{name}/part-{company.code}{suffix}", name)
        for name, t in subledgers.items()
    ]
    records += write_items(config, master, root, items, stem, block)
    return {
        "files": [r.to_json() for r in records],
        "rows": sum(r.rows for r in records),
        "skipped": False,
        "sums": table_sums(table),
        "aging": aging(items, ledgers(master)),
        "fixed_assets": fixed_assets,
        "inventory": positions.group_by(
            ["company_code", "fiscal_year", "fiscal_period", "gl_account"]
        ).aggregate([("closing_value", "sum")]),
    }


def _plain(table: pa.Table) -> pa.Table:
    """Dictionary columns decoded (tables from different sources then concatenate)."""
    return pa.table(
        [c.cast(c.type.value_type) if pa.types.is_dictionary(c.type) else c for c in table.columns],
        names=table.column_names,
    )


def table_sums(table: pa.Table) -> pa.Table:
    """Sums per company, period and account of journal lines held in memory."""
    parts = []
    if table.num_rows == 0:
        return combine_sums()
    keys = pa.table(
        {
            "c": table["company_code"].cast(pa.string()),
            "y": table["fiscal_year"],
            "p": table["fiscal_period"],
        }
    )
    for row in keys.group_by(["c", "y", "p"]).aggregate([]).to_pylist():
        mask = pc.and_(
            pc.and_(pc.equal(keys["c"], row["c"]), pc.equal(keys["y"], row["y"])),
            pc.equal(keys["p"], row["p"]),
        )
        parts.append(ledger_sums(table.filter(mask), row["c"], row["y"], row["p"]))
    return combine_sums(*parts)


def write_balances(
    config: DatasynthConfig,
    master: Master,
    root: str,
    totals: list[dict[str, pa.Table]],
    closes: list[dict[str, Any]],
    aging_totals: pa.Table,
) -> dict[str, Any]:
    """Write the opening balances, the trial balances (of the ledger plus the close stages'
    entries), the aging of the open items and the reconciliation of every control account
    with its subledger; ``totals`` and ``closes``: the companies' summed blocks and close
    records. Returns the task's file records."""
    o = config.output
    sums = combine_sums(*(t["ledger"] for t in totals), *(c["sums"] for c in closes))
    opening = opening_balances(config, master)
    tb = trial_balances(master, opening, sums)
    registers = [c["fixed_assets"] for c in closes if c["fixed_assets"] is not None]
    inventory = pa.concat_tables([c["inventory"] for c in closes])
    tables = {
        "opening_balances": (balances_path(config, "opening_balances"), opening),
        "trial_balances": (balances_path(config, "trial_balances"), tb),
        "aging": (subledger_path(config, "aging"), aging_table(aging_totals)),
        "reconciliation": (
            subledger_path(config, "reconciliation"),
            reconciliation(
                master,
                tb,
                aging_totals,
                pa.concat_tables(registers) if registers else None,
                inventory,
            ),
        ),
    }
    records = [
        write_table(
            table,
            Path(root),
            path,
            table_name=name,
            block=0,
            fmt=o.format,
            compression=o.compression,
            compression_level=o.compression_level,
        )
        for name, (path, table) in tables.items()
    ]
    return {
        "files": [r.to_json() for r in records],
        "rows": sum(r.rows for r in records),
        "skipped": False,
    }


def reduction_graph(
    graph: dict[Any, Any],
    prefix: str,
    config: DatasynthConfig,
    master_key: str,
    blocks: tuple[Block, ...],
    block_keys: list[Any],
    root: str,
    width: int,
) -> tuple[list[Any], list[Any]]:
    """Add per block the ledger-sum task and the open-item task, and per company the tree
    that adds up its blocks' sums; returns the keys of the companies' total sums (company
    order) and the open-item task keys."""
    sums: list[list[Any]] = [[] for _ in config.companies]
    items: list[Any] = []
    for block, key in zip(blocks, block_keys, strict=True):
        sums[block.company_index].append((f"{prefix}-sums", block.index))
        graph[sums[block.company_index][-1]] = (block_sums, config, block, root, key)
        items.append((f"{prefix}-open-items", block.index))
        graph[items[-1]] = (block_open_items, config, master_key, block, root, key, width)
    totals = [
        tree(graph, f"{prefix}-combine-{i}", leaves, combine_block_sums)
        for i, leaves in enumerate(sums)
    ]
    return totals, items


def tree(graph: dict[Any, Any], prefix: str, leaves: list[Any], combine: Any) -> Any:
    """Add tasks that combine ``leaves`` :data:`FAN_IN` at a time, level by level; returns
    the key of the root (a single task even for one leaf)."""
    level = list(leaves)
    depth = 0
    while len(level) > 1 or depth == 0:
        depth += 1
        nxt = []
        for i in range(0, max(len(level), 1), FAN_IN):
            key = (f"{prefix}-{depth}", i // FAN_IN)
            graph[key] = (combine, *level[i : i + FAN_IN])
            nxt.append(key)
        level = nxt
    return level[0]
