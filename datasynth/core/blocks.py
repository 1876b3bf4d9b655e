"""The unit of generation: a block is one slice of one table, planned from configuration alone."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Block:
    """One task's worth of rows.

    For ``journal_entries`` a block is one company x fiscal period x block number holding
    ``entries`` journal entries (about ``runtime.block_rows`` lines). ``day_offset`` is the index
    of ``first`` in the company's day-weight vector. Master-data tables are a single block each.
    """

    table: str
    index: int
    company_index: int = 0
    company_code: str = ""
    fiscal_year: int = 0
    fiscal_period: int = 0
    block_number: int = 0
    entries: int = 0
    first: dt.date = dt.date(1970, 1, 1)
    stop: dt.date = dt.date(1970, 1, 1)
    day_offset: int = 0
    expected_rows: int = 0
