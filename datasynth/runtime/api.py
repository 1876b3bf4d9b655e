"""The notebook-facing functions: plan a configuration and materialise any one block."""

from __future__ import annotations

import pyarrow as pa

from datasynth.config.models import DatasynthConfig
from datasynth.runtime.blocks import materialise, plan_and_master
from datasynth.runtime.plan import Plan


def plan(config: DatasynthConfig) -> Plan:
    """The blocks a run of ``config`` will generate (computed from configuration alone)."""
    return plan_and_master(config)[0]


def generate_block(config: DatasynthConfig, table: str, index: int) -> pa.Table:
    """Rows of block ``index`` of ``table``, identical to that block in a full run.

    For ``journal_entries`` the result includes the partition columns (``fiscal_year``,
    ``fiscal_period``) that a run stores in directory names rather than inside the files, and
    the entries of the flows that start in the block (which may post in later periods). The
    document-flow tables (``purchase_orders``, ...) are produced by the journal-entry blocks:
    ``generate_block(config, "purchase_orders", i)`` is what block ``i`` writes.
    """
    p, master = plan_and_master(config)
    blocks = p.blocks_of(table)
    if not 0 <= index < len(blocks):
        raise IndexError(f"{table} has {len(blocks)} block(s); index {index} is out of range")
    return materialise(config, master, blocks[index], table)
