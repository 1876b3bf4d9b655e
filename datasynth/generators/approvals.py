"""Approvals: who signed off each journal entry that needed it.

An entry prepared by a person (not a batch job) whose total reaches
``transactions.approval_threshold`` (group currency, scaled to the company's currency) is
approved by a manager or controller of the company other than its preparer, drawn from the
block's own ``approvals`` stream; every other entry has no approver. The anomaly injector
works against this rule (self-approval, an approver without authority, a missing approval,
amounts just below the threshold).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from datasynth.config.models import PERSONAS, DatasynthConfig
from datasynth.core.blocks import Block
from datasynth.core.money import minor_from_decimal
from datasynth.core.seeding import stream
from datasynth.generators.master import CompanyMaster

#: personas with authority to approve
APPROVER_PERSONAS = ("manager", "controller")


@dataclass(frozen=True)
class Entries:
    """Entry-level view of a block's journal lines (entries are contiguous runs of lines)."""

    starts: np.ndarray
    sizes: np.ndarray
    #: entry index of every line
    line_entry: np.ndarray

    @property
    def n(self) -> int:
        return int(self.starts.size)

    @classmethod
    def of(cls, table: pa.Table) -> Entries:
        ids = table["document_id"]
        if table.num_rows == 0:
            empty = np.zeros(0, dtype=np.int64)
            return cls(empty, empty, empty)
        flat = ids.combine_chunks() if isinstance(ids, pa.ChunkedArray) else ids
        change = np.flatnonzero(
            np.asarray(
                pa.compute.not_equal(flat.slice(1), flat.slice(0, len(flat) - 1)),
                dtype=bool,
            )
        )
        starts = np.r_[0, change + 1].astype(np.int64)
        sizes = np.diff(np.r_[starts, table.num_rows])
        return cls(starts, sizes, np.repeat(np.arange(starts.size), sizes))


def user_personas(company: CompanyMaster) -> np.ndarray:
    """Persona index (PERSONAS order, ``len(PERSONAS)`` for batch users) of every user."""
    out = np.full(len(company.user_ids), len(PERSONAS), dtype=np.int64)
    for p, (offset, size) in enumerate(
        zip(company.persona_offsets, company.persona_sizes, strict=True)
    ):
        out[company.user_lookup[offset : offset + size]] = p
    return out


def dictionary_positions(column: pa.ChunkedArray | pa.Array, values: tuple[str, ...]) -> np.ndarray:
    """Position in ``values`` of every row of a dictionary column (-1 for null)."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    lookup = {v: i for i, v in enumerate(values)}
    mapping = np.array([lookup.get(v, -1) for v in array.dictionary.to_pylist()] + [-1])
    indices = array.indices.fill_null(len(mapping) - 1).to_numpy(zero_copy_only=False)
    out: np.ndarray = mapping[indices.astype(np.int64)]
    return out


def approver_pool(company: CompanyMaster) -> np.ndarray:
    """User indices of the company's managers and controllers."""
    personas = user_personas(company)
    wanted = [PERSONAS.index(p) for p in APPROVER_PERSONAS]
    return np.flatnonzero(np.isin(personas, wanted))


def approvals(
    config: DatasynthConfig, company: CompanyMaster, block: Block, table: pa.Table
) -> pa.Table:
    """``table`` with ``approved_by`` set by the approval rule (module doc)."""
    if table.num_rows == 0:
        return table
    entries = Entries.of(table)
    user = dictionary_positions(table["created_by"], company.user_ids)[entries.starts]
    human = user_personas(company)[user] < len(PERSONAS)
    debit = minor_from_decimal(table["debit_amount"])
    totals = np.add.reduceat(debit, entries.starts)
    threshold = round(config.transactions.approval_threshold * company.amount_scale * 100)
    needs = human & (totals >= threshold)
    pool = approver_pool(company)
    approver = np.full(entries.n, -1, dtype=np.int64)
    if needs.any() and pool.size:
        rng = stream(
            config.global_.seed,
            "approvals",
            company.code,
            block.fiscal_year,
            block.fiscal_period,
            block.block_number,
        )
        u = rng.random(entries.n)
        approver = draw_other(pool, user, u)
        approver[~needs] = -1
    return table.set_column(
        table.schema.get_field_index("approved_by"),
        "approved_by",
        user_column(approver[entries.line_entry], company.user_ids),
    )


def draw_other(pool: np.ndarray, user: np.ndarray, u: np.ndarray) -> np.ndarray:
    """A member of ``pool`` other than ``user`` per row (uniform ``u``); -1 when the pool holds
    nobody else."""
    position = np.searchsorted(pool, user)
    inside = (position < pool.size) & (pool[np.minimum(position, pool.size - 1)] == user)
    others = pool.size - inside
    pick = np.floor(u * np.maximum(others, 1)).astype(np.int64)
    pick += inside & (pick >= position)
    out: np.ndarray = np.where(others > 0, pool[np.minimum(pick, pool.size - 1)], -1)
    return out


def user_column(index: np.ndarray, user_ids: tuple[str, ...]) -> pa.DictionaryArray:
    """A dictionary column over the company's users (-1 is null)."""
    return pa.DictionaryArray.from_arrays(
        pa.array(index.astype(np.int32), mask=index < 0), pa.array(list(user_ids), pa.string())
    )
