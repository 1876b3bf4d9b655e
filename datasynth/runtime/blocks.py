"""Materialise and write single blocks. Pure functions of (config, master, block); no dask here.

These are the bodies of the Dask tasks and of the notebook API ``generate_block``.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa

from datasynth.config.models import DatasynthConfig
from datasynth.core.blocks import Block
from datasynth.generators.journal_entries import PARTITION_COLUMNS, generate_journal_entries
from datasynth.generators.master import Master, build_master, generate_master_table
from datasynth.runtime.plan import JOURNAL_ENTRIES, Plan, build_plan
from datasynth.sinks.files import FileRecord, file_suffix, sha256_of, write_table

STATE_DIR = ".datasynth"


def config_fingerprint(config: DatasynthConfig) -> str:
    """Hash of everything that decides *what* is generated (not where, not how fast).

    ``runtime.block_rows`` is included: it decides the blocks, and each block has its own random
    streams. The rest of ``runtime`` and the output location never change a byte.
    """
    plain = config.to_plain()
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


def materialise(config: DatasynthConfig, master: Master, block: Block) -> pa.Table:
    """The rows of one block with every column of its table's schema."""
    if block.table == JOURNAL_ENTRIES:
        return generate_journal_entries(config, master, block)
    return generate_master_table(config, master, block.table)


def relative_path(config: DatasynthConfig, block: Block, width: int = 5) -> str:
    """Where a block's file lives under the output directory."""
    suffix = file_suffix(config.output.format, config.output.compression)
    if block.table == JOURNAL_ENTRIES:
        return (
            f"{JOURNAL_ENTRIES}/fiscal_year={block.fiscal_year:04d}/"
            f"fiscal_period={block.fiscal_period:02d}/part-{block.index:0{width}d}{suffix}"
        )
    return f"master_data/{block.table}{suffix}"


def _state_path(root: Path, block: Block) -> Path:
    return root / STATE_DIR / "blocks" / f"{block.table}-{block.index:06d}.json"


def _resumable(root: Path, block: Block) -> FileRecord | None:
    state = _state_path(root, block)
    if not state.is_file():
        return None
    record = FileRecord(**json.loads(state.read_text()))
    target = root / record.path
    if (
        target.is_file()
        and target.stat().st_size == record.bytes
        and sha256_of(target) == record.sha256
    ):
        return record
    return None


def write_block(
    config: DatasynthConfig, master: Master, block: Block, root: str, width: int = 5
) -> dict[str, Any]:
    """Generate one block and write it atomically; return its file record (plus peak RSS).

    With ``output.resume`` a block whose file matches its recorded size and sha256 is skipped.
    """
    out = Path(root)
    if config.output.resume:
        done = _resumable(out, block)
        if done is not None:
            return {**done.to_json(), "skipped": True, "peak_rss": _peak_rss()}
    table = materialise(config, master, block)
    if block.table == JOURNAL_ENTRIES:
        table = table.drop_columns(list(PARTITION_COLUMNS))
    o = config.output
    record = write_table(
        table,
        out,
        relative_path(config, block, width),
        table_name=block.table,
        block=block.index,
        fmt=o.format,
        compression=o.compression,
        compression_level=o.compression_level,
    )
    state = _state_path(out, block)
    state.parent.mkdir(parents=True, exist_ok=True)
    tmp = state.with_name(f".{state.name}.{uuid.uuid4().hex[:12]}.inprogress")
    tmp.write_text(json.dumps(record.to_json()))
    tmp.replace(state)
    return {**record.to_json(), "skipped": False, "peak_rss": _peak_rss()}


def _peak_rss() -> int:
    """Peak resident memory of this process in bytes (Linux reports KiB)."""
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024
