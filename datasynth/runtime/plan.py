"""The plan: configuration -> a frozen list of blocks, computed before any work.

Blocks depend on the configuration only (never on workers or the scheduler), which is what
makes every scheduler produce the same files and lets any block be regenerated alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from datasynth.config.errors import ConfigError
from datasynth.config.models import DatasynthConfig
from datasynth.core.blocks import Block
from datasynth.core.calendars import company_calendar
from datasynth.generators.anomalies import ANOMALY_LABELS
from datasynth.generators.data_quality import quality_tables, source_table
from datasynth.generators.document_flows import FLOW_LINES_PER_ENTRY, FLOW_TABLES, flow_share
from datasynth.generators.journal_entries import mean_lines_per_entry

MASTER_TABLES = (
    "companies",
    "chart_of_accounts",
    "users",
    "cost_centers",
    "profit_centers",
    "vendors",
    "customers",
    "materials",
    "fixed_assets",
    "employees",
)
JOURNAL_ENTRIES = "journal_entries"
#: ids reserve 7 digits for the row and 4 for the block inside one company and period
MAX_ENTRIES_PER_BLOCK = 10**7 - 1
MAX_BLOCKS_PER_PERIOD = 10**4 - 1


@dataclass(frozen=True)
class Plan:
    """What a run will produce: the master tables and every journal-entry block."""

    master_tables: tuple[str, ...]
    blocks: tuple[Block, ...]
    entries_per_company: tuple[int, ...]
    #: expected journal lines per planned entry (standalone and flow entries together)
    mean_lines_per_entry: float
    #: document-flow tables every journal-entry block writes (empty when flows are off)
    flow_tables: tuple[str, ...] = ()
    #: label tables every journal-entry block writes (``anomaly_labels`` with anomalies on)
    label_tables: tuple[str, ...] = ()
    #: noisy copies and their quality labels (``data_quality.enabled``)
    quality_tables: tuple[str, ...] = ()

    @property
    def entries(self) -> int:
        return sum(self.entries_per_company)

    @property
    def expected_lines(self) -> int:
        return sum(b.expected_rows for b in self.blocks)

    def tables(self) -> tuple[str, ...]:
        return (
            *self.master_tables,
            JOURNAL_ENTRIES,
            *self.flow_tables,
            *self.label_tables,
            *self.quality_tables,
        )

    def blocks_of(self, table: str) -> tuple[Block, ...]:
        """The blocks that write ``table`` (document-flow tables come from journal blocks)."""
        if table in self.quality_tables:
            return self.blocks_of(source_table(table) or table)
        if table == JOURNAL_ENTRIES or table in self.flow_tables or table in self.label_tables:
            return self.blocks
        if table in self.master_tables:
            return (Block(table=table, index=0),)
        raise KeyError(f"unknown table {table!r}; tables are {', '.join(self.tables())}")


def largest_remainder(total: int, weights: np.ndarray) -> np.ndarray:
    """Integers proportional to ``weights`` that sum exactly to ``total``."""
    w = np.asarray(weights, dtype=np.float64)
    if total == 0 or w.sum() <= 0:
        return np.zeros(w.size, dtype=np.int64)
    exact = total * w / w.sum()
    base: np.ndarray = np.floor(exact).astype(np.int64)
    rest = int(total - base.sum())
    # ties broken by position, so the result is deterministic
    order = np.argsort(-(exact - base), kind="stable")
    base[order[:rest]] += 1
    return base


def company_entries(config: DatasynthConfig) -> np.ndarray:
    """Journal entries per company for the whole generated window."""
    g = config.global_
    t = config.transactions
    if t.count is not None:
        return largest_remainder(t.count, np.array([c.volume_weight for c in config.companies]))
    years = (g.stop_date - g.start_date).days / 365.25
    return np.array(
        [
            round((c.annual_volume if c.annual_volume is not None else t.annual_volume) * years)
            for c in config.companies
        ],
        dtype=np.int64,
    )


def build_plan(config: DatasynthConfig) -> Plan:
    """Split each company's entries over its fiscal periods by calendar weight, then into blocks."""
    # flows post part of the entries with the few lines their documents need
    share = flow_share(config)
    mean_lines = (1 - share) * mean_lines_per_entry(config) + share * FLOW_LINES_PER_ENTRY
    per_block = max(1, min(MAX_ENTRIES_PER_BLOCK, int(config.runtime.block_rows // mean_lines)))
    totals = company_entries(config)
    blocks: list[Block] = []
    for ci, company in enumerate(config.companies):
        periods, weights = company_calendar(config, company)
        offsets = np.concatenate([[0], np.cumsum([p.days for p in periods])])
        period_weights = np.array(
            [weights[offsets[k] : offsets[k + 1]].sum() for k in range(len(periods))]
        )
        if period_weights.sum() <= 0:
            period_weights = np.array([p.days for p in periods], dtype=np.float64)
        per_period = largest_remainder(int(totals[ci]), period_weights)
        for k, period in enumerate(periods):
            count = int(per_period[k])
            if count == 0:
                continue
            if weights[offsets[k] : offsets[k + 1]].sum() <= 0:
                raise ConfigError(
                    [
                        f"transactions.calendar: every day of fiscal period "
                        f"{period.fiscal_year}/{period.fiscal_period:02d} of company {company.code} "
                        "has zero weight, yet the period needs entries; raise the weekday, weekend "
                        "or holiday_activity multipliers above 0"
                    ]
                )
            n_blocks = math.ceil(count / per_block)
            if n_blocks > MAX_BLOCKS_PER_PERIOD:
                raise ConfigError(
                    [
                        f"runtime.block_rows: company {company.code} would need {n_blocks} blocks "
                        f"in one fiscal period (got block_rows {config.runtime.block_rows}); at "
                        f"most {MAX_BLOCKS_PER_PERIOD} fit the id scheme, so raise block_rows"
                    ]
                )
            sizes = largest_remainder(count, np.ones(n_blocks))
            for b, entries in enumerate(sizes):
                blocks.append(
                    Block(
                        table=JOURNAL_ENTRIES,
                        index=len(blocks),
                        company_index=ci,
                        company_code=company.code,
                        fiscal_year=period.fiscal_year,
                        fiscal_period=period.fiscal_period,
                        block_number=b,
                        entries=int(entries),
                        first=period.first,
                        stop=period.stop,
                        day_offset=int(offsets[k]),
                        expected_rows=round(int(entries) * mean_lines),
                    )
                )
    return Plan(
        master_tables=MASTER_TABLES,
        blocks=tuple(blocks),
        entries_per_company=tuple(int(x) for x in totals),
        mean_lines_per_entry=mean_lines,
        flow_tables=FLOW_TABLES if config.document_flows.enabled else (),
        label_tables=(ANOMALY_LABELS,) if config.anomalies.enabled else (),
        quality_tables=tuple(
            name
            for table in (config.data_quality.tables if config.data_quality.enabled else ())
            for name in quality_tables(config, table)
        ),
    )
