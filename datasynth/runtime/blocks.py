"""Materialise and write single blocks. Pure functions of (config, master, block); no dask here.

These are the bodies of the Dask tasks and of the notebook API ``generate_block``.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from datasynth.config.models import DatasynthConfig
from datasynth.core.blocks import Block
from datasynth.generators.anomalies import ANOMALY_LABELS
from datasynth.generators.data_quality import (
    NOISY_PREFIX,
    QUALITY_LABELS,
    noisy_table,
    quality_tables,
    source_table,
)
from datasynth.generators.document_flows import FLOW_TABLES, generate_block_tables
from datasynth.generators.journal_entries import PARTITION_COLUMNS
from datasynth.generators.master import Master, build_master, generate_master_table
from datasynth.runtime.plan import JOURNAL_ENTRIES, Plan, build_plan
from datasynth.sinks.files import FileRecord, file_suffix, sha256_of, write_table

STATE_DIR = ".datasynth"


def config_fingerprint(config: DatasynthConfig) -> str:
    """Hash of everything that decides *what* is generated (not where, not how fast).

    ``runtime.block_rows`` is included: it decides the blocks, and each block has its own random
    streams. The rest of ``runtime``, the output location, ``graph_export`` and ``report`` (both
    built from the written files afterwards) never change a byte of the dataset, so a run whose
    graph or report stage failed resumes with other settings.
    """
    plain = config.to_plain()
    plain.pop("graph_export", None)
    plain.pop("report", None)
    plain["runtime"] = {"block_rows": config.runtime.block_rows}
    output = plain.pop("output")
    if isinstance(output, dict):
        plain["output"] = {
            k: v for k, v in output.items() if k not in ("dir", "overwrite", "resume")
        }
    text = json.dumps(plain, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


_CACHE: dict[str, tuple[Plan, Master]] = {}


def plan_and_master(config: DatasynthConfig) -> tuple[Plan, Master]:
    """Plan and master data for ``config``, cached per configuration in this process."""
    key = config_fingerprint(config)
    if key not in _CACHE:
        if len(_CACHE) >= 4:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = (build_plan(config), build_master(config))
    return _CACHE[key]


def materialise_all(config: DatasynthConfig, master: Master, block: Block) -> dict[str, pa.Table]:
    """Every table a block produces: a master table, or a journal-entry block's entries (with
    their partition columns), its document-flow tables and anomaly labels; and with
    ``data_quality`` the noisy copy of the block's table and its quality labels."""
    if block.table == JOURNAL_ENTRIES:
        tables = generate_block_tables(config, master, block)
        key: tuple[object, ...] = (
            block.company_code,
            block.fiscal_year,
            block.fiscal_period,
            block.block_number,
        )
    else:
        tables = {block.table: generate_master_table(config, master, block.table)}
        key = ()
    q = config.data_quality
    if q.enabled and block.table in q.tables:
        noisy, labels = noisy_table(config, block.table, tables[block.table], key, block.index)
        noisy_name, labels_name = quality_tables(config, block.table)
        tables[noisy_name] = noisy
        tables[labels_name] = labels
    return tables


def materialise(
    config: DatasynthConfig, master: Master, block: Block, table: str | None = None
) -> pa.Table:
    """The rows of one table of one block (by default the block's own table)."""
    return materialise_all(config, master, block)[table or block.table]


def task_of(table: str, block: int) -> str:
    """The task that writes a file of ``table`` (flow tables come from journal-entry blocks)."""
    if table in FLOW_TABLES or table in (JOURNAL_ENTRIES, ANOMALY_LABELS):
        return f"{JOURNAL_ENTRIES}-{block:06d}"
    return f"{source_table(table) or table}-{block:06d}"


def relative_path(
    config: DatasynthConfig,
    block: Block,
    width: int = 5,
    table: str | None = None,
    period: tuple[int, int] | None = None,
) -> str:
    """Where a file of a block lives under the output directory.

    A journal-entry block writes one file per fiscal period its entries post in (flows post
    into later periods), each named after the block, and one file per document-flow table.
    """
    suffix = file_suffix(config.output.format, config.output.compression)
    table = table or block.table
    if table == JOURNAL_ENTRIES:
        year, number = period or (block.fiscal_year, block.fiscal_period)
        return (
            f"{JOURNAL_ENTRIES}/fiscal_year={year:04d}/"
            f"fiscal_period={number:02d}/part-{block.index:0{width}d}{suffix}"
        )
    if table in FLOW_TABLES:
        return f"document_flows/{table}/part-{block.index:0{width}d}{suffix}"
    if table == ANOMALY_LABELS:
        return f"labels/{table}/part-{block.index:0{width}d}{suffix}"
    if table == f"{NOISY_PREFIX}{JOURNAL_ENTRIES}":
        return f"noisy/{JOURNAL_ENTRIES}/part-{block.index:0{width}d}{suffix}"
    if table == QUALITY_LABELS:
        return f"labels/{QUALITY_LABELS}/part-{block.index:0{width}d}{suffix}"
    if table.startswith(NOISY_PREFIX):
        return f"noisy/{source_table(table)}{suffix}"
    if table.startswith(f"{QUALITY_LABELS}_"):
        return f"labels/{QUALITY_LABELS}/{source_table(table)}{suffix}"
    return f"master_data/{table}{suffix}"


def _state_path(root: Path, block: Block) -> Path:
    return root / STATE_DIR / "blocks" / f"{task_of(block.table, block.index)}.json"


def _resumable(root: Path, block: Block) -> list[FileRecord] | None:
    state = _state_path(root, block)
    if not state.is_file():
        return None
    records = [FileRecord(**r) for r in json.loads(state.read_text())["files"]]
    for record in records:
        target = root / record.path
        if not (
            target.is_file()
            and target.stat().st_size == record.bytes
            and sha256_of(target) == record.sha256
        ):
            return None
    return records


def by_period(table: pa.Table) -> list[tuple[tuple[int, int], pa.Table]]:
    """Journal lines split by the fiscal period they post in, partition columns dropped."""
    year = table["fiscal_year"].to_numpy()
    period = table["fiscal_period"].to_numpy()
    key = year.astype(np.int64) * 100 + period
    out: list[tuple[tuple[int, int], pa.Table]] = []
    if key.size == 0:
        return out
    if not np.all(key[1:] >= key[:-1]):
        # follow-on entries and flows post into later periods: one stable reordering (each
        # period keeps its lines' order), then every period is a zero-copy slice
        order = np.argsort(key, kind="stable")
        table, key = table.take(pa.array(order)), key[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    stops = np.r_[starts[1:], key.size]
    for start, stop in zip(starts, stops, strict=True):
        k = int(key[start])
        part = table.slice(int(start), int(stop - start))
        out.append(((k // 100, k % 100), part.drop_columns(list(PARTITION_COLUMNS))))
    return out


def write_block(
    config: DatasynthConfig, master: Master, block: Block, root: str, width: int = 5
) -> dict[str, Any]:
    """Generate one block, write each of its files atomically and return their records
    (plus peak RSS). With ``output.resume`` a block whose files all match their recorded
    size and sha256 is skipped."""
    out = Path(root)
    if config.output.resume:
        done = _resumable(out, block)
        if done is not None:
            return _result(done, skipped=True)
    o = config.output
    files: list[tuple[str, str, pa.Table]] = []
    for name, table in materialise_all(config, master, block).items():
        if name == JOURNAL_ENTRIES:
            if table.num_rows == 0:
                # an empty block still leaves a (schema-only) file in its own period
                empty = table.drop_columns(list(PARTITION_COLUMNS))
                files.append((relative_path(config, block, width, name), name, empty))
            for period, part in by_period(table):
                files.append((relative_path(config, block, width, name, period), name, part))
        else:
            files.append((relative_path(config, block, width, name), name, table))
    records = [
        write_table(
            table,
            out,
            path,
            table_name=name,
            block=block.index,
            fmt=o.format,
            compression=o.compression,
            compression_level=o.compression_level,
        )
        for path, name, table in files
    ]
    state = _state_path(out, block)
    state.parent.mkdir(parents=True, exist_ok=True)
    tmp = state.with_name(f".{state.name}.{uuid.uuid4().hex[:12]}.inprogress")
    tmp.write_text(json.dumps({"files": [r.to_json() for r in records]}))
    tmp.replace(state)
    return _result(records, skipped=False)


def _result(records: list[FileRecord], skipped: bool) -> dict[str, Any]:
    return {
        "files": [r.to_json() for r in records],
        "rows": sum(r.rows for r in records),
        "skipped": skipped,
        "peak_rss": _peak_rss(),
    }


def _peak_rss() -> int:
    """Peak resident memory of this process in bytes (Linux reports KiB)."""
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024
