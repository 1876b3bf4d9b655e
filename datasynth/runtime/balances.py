"""Trial balances as a Dask reduction over the written journal entries.

One task per journal-entry block reads the files that block wrote (only the account and amount
columns of Parquet) and sums them per fiscal period and account; tasks of :data:`FAN_IN` partial
sums combine level by level into one; a last task rolls the opening balances through them and
writes ``balances/opening_balances`` and ``balances/trial_balances``. The ledger is never held
in memory: a task holds one block's lines or a few thousand summed rows.
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
    opening_balances,
    trial_balances,
)
from datasynth.generators.journal_entries import PARTITION_COLUMNS
from datasynth.generators.journal_entries import SCHEMA as JOURNAL_SCHEMA
from datasynth.generators.master import Master
from datasynth.generators.period_close import close_entries
from datasynth.runtime.blocks import by_period
from datasynth.runtime.plan import JOURNAL_ENTRIES
from datasynth.sinks.files import FileRecord, file_suffix, read_table, write_table

#: partial sums combined per task of the reduction tree
FAN_IN = 16
#: the ``block`` of files written by the close stage (no plan block writes them)
CLOSE_BLOCK = -1
_PERIOD = re.compile(r"fiscal_year=(\d{4})/fiscal_period=(\d{2})/")
_COLUMNS = ["gl_account", "debit_amount", "credit_amount"]
_FILE_SCHEMA = pa.schema([f for f in JOURNAL_SCHEMA if f.name not in PARTITION_COLUMNS])


def read_lines(path: Path, fmt: str) -> pa.Table:
    """The account and amount columns of one written journal-entry file."""
    if fmt == "parquet":
        return pq.read_table(path, columns=_COLUMNS)
    return read_table(path, _FILE_SCHEMA, fmt).select(_COLUMNS)


def block_sums(
    config: DatasynthConfig, block: Block, root: str, record: dict[str, Any]
) -> pa.Table:
    """Sums per fiscal period and account of the journal lines one block wrote."""
    parts = []
    for f in record["files"]:
        if f["table"] != JOURNAL_ENTRIES:
            continue
        match = _PERIOD.search(f["path"])
        if match is None:
            raise ValueError(f"journal-entry file {f['path']!r} has no fiscal period in its path")
        lines = read_lines(Path(root) / f["path"], config.output.format)
        parts.append(
            ledger_sums(lines, block.company_code, int(match.group(1)), int(match.group(2)))
        )
    return combine_sums(*parts)


def balances_path(config: DatasynthConfig, table: str) -> str:
    return f"balances/{table}{file_suffix(config.output.format, config.output.compression)}"


def close_path(config: DatasynthConfig, period: tuple[int, int]) -> str:
    year, number = period
    suffix = file_suffix(config.output.format, config.output.compression)
    return f"{JOURNAL_ENTRIES}/fiscal_year={year:04d}/fiscal_period={number:02d}/close{suffix}"


def write_period_close(
    config: DatasynthConfig, master: Master, root: str, sums: pa.Table
) -> dict[str, Any]:
    """The stage after the reduction: asset accounting (acquisitions, depreciation runs,
    disposals) and the period-close entries, generated from the summed ledger and written into
    the periods they post in (``close`` files beside the blocks' parts), plus the fixed-asset
    subledger. The record carries the sums of the entries it wrote."""
    o = config.output
    out = Path(root)
    entries = []
    subledgers: dict[str, pa.Table] = {}
    if config.balances.asset_accounting:
        registers = [asset_register(config, master, i) for i in range(len(master.companies))]
        assets, run = asset_entries(config, master, registers)
        entries.append(assets)
        subledgers = {"fa_register": register_table(registers), "depreciation": run}
        sums = combine_sums(sums, table_sums(assets))
    if config.balances.period_close.enabled:
        entries.append(close_entries(config, master, sums))
    table = pa.concat_tables(entries) if entries else JOURNAL_SCHEMA.empty_table()

    def write(table: pa.Table, path: str, name: str, block: int) -> FileRecord:
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
        write(part, close_path(config, period), JOURNAL_ENTRIES, CLOSE_BLOCK)
        for period, part in by_period(table)
    ]
    suffix = file_suffix(o.format, o.compression)
    records += [write(t, f"subledgers/{name}{suffix}", name, 0) for name, t in subledgers.items()]
    return {
        "files": [r.to_json() for r in records],
        "rows": sum(r.rows for r in records),
        "skipped": False,
        "sums": table_sums(table),
    }


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
    sums: pa.Table,
    close: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write the opening balances and the trial balances (of the ledger plus the close
    entries, when there are any); returns the task's file records."""
    o = config.output
    if close is not None:
        sums = combine_sums(sums, close["sums"])
    opening = opening_balances(config, master)
    tables = {"opening_balances": opening, "trial_balances": trial_balances(master, opening, sums)}
    records = [
        write_table(
            table,
            Path(root),
            balances_path(config, name),
            table_name=name,
            block=0,
            fmt=o.format,
            compression=o.compression,
            compression_level=o.compression_level,
        )
        for name, table in tables.items()
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
    blocks: tuple[Block, ...],
    block_keys: list[Any],
    root: str,
) -> Any:
    """Add the sum tasks of every block and the combine tree to ``graph``; returns the key of
    the total."""
    level: list[Any] = []
    for block, key in zip(blocks, block_keys, strict=True):
        sums_key = (f"{prefix}-sums", block.index)
        graph[sums_key] = (block_sums, config, block, root, key)
        level.append(sums_key)
    depth = 0
    while len(level) > 1 or depth == 0:
        depth += 1
        nxt = []
        for i in range(0, max(len(level), 1), FAN_IN):
            key = (f"{prefix}-combine-{depth}", i // FAN_IN)
            graph[key] = (combine_sums, *level[i : i + FAN_IN])
            nxt.append(key)
        level = nxt
    return level[0]
