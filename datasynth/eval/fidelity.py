"""Fidelity metrics of a written dataset, as a partitioned reduction.

``block_stats`` measures one journal-entry block (its files in every period, its flow
documents and its labels) into small arrays and tables; ``combine`` adds them up; ``checks``
turns the totals, the balances tables and the configuration into pass / fail / not applicable
checks with their thresholds. Nothing here holds more than one block's lines at a time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datasynth.config.models import (
    ANOMALY_TYPES,
    BUSINESS_PROCESSES,
    SOURCES,
    DatasynthConfig,
    parse_line_bucket,
)
from datasynth.core.arrow import strings
from datasynth.core.money import minor_from_decimal

#: log10 bins of the typical line amount (group currency) for the amount KS statistic
AMOUNT_EDGES = np.arange(-2.0, 11.0 + 1e-9, 0.005)
_DAY_MS = 86_400_000
_FLOW_PREFIXES = ("GR-", "VI-", "PAY-", "DLV-", "CI-", "REC-", "PO-", "SO-")
_BENFORD1 = np.log10(1 + 1 / np.arange(1, 10))
_BENFORD2 = np.array(
    [sum(math.log10(1 + 1 / (10 * d1 + d2)) for d1 in range(1, 10)) for d2 in range(10)]
)
#: journal columns that may never be empty
REQUIRED = (
    "document_id",
    "company_code",
    "posting_date",
    "document_date",
    "document_type",
    "source",
    "business_process",
    "created_by",
    "line_number",
    "gl_account",
    "debit_amount",
    "credit_amount",
    "currency",
)


@dataclass(frozen=True)
class Context:
    """What a block's measurement needs to know besides its files."""

    window_first: int  # first day of the window (days since 1970)
    window_days: int
    #: per company: period first days (sorted), fiscal years and numbers
    periods: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]
    #: the day after the window (days since 1970)
    window_stop: int
    scale: dict[str, float]
    line_buckets: tuple[tuple[int, int], ...]
    exempt_sources: tuple[str, ...]
    #: master ids a journal line may name, per column
    master_ids: dict[str, pa.Array]


def string_hashes(values: pa.Array) -> np.ndarray:
    """A 64-bit polynomial hash of each string, vectorised over its bytes."""
    values = strings(values).cast(pa.large_string())
    n = len(values)
    if n == 0:
        return np.zeros(0, np.uint64)
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int64)[
        values.offset : values.offset + n + 1
    ]
    data = np.frombuffer(values.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    offsets = offsets - offsets[0]
    lengths = np.diff(offsets)
    owner = np.repeat(np.arange(n), lengths)
    position = np.arange(data.size) - offsets[owner]
    powers = np.cumprod(np.full(int(lengths.max(initial=0)) + 1, 1099511628211, np.uint64))
    with np.errstate(over="ignore"):
        terms = (data.astype(np.uint64) + np.uint64(1)) * powers[position]
        out = np.zeros(n, np.uint64)
        np.add.at(out, owner, terms)
        out ^= lengths.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    return out


def _digits(amounts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First digits (1-9) of amounts >= 1 and second digits (0-9) of amounts >= 10, as counts."""
    a = amounts[amounts >= 1.0]
    exponent = np.floor(np.log10(a))
    lead = a / 10.0**exponent
    first = np.clip(lead.astype(np.int64), 1, 9)
    b = amounts[amounts >= 10.0]
    exponent = np.floor(np.log10(b))
    two = np.clip((b / 10.0 ** (exponent - 1)).astype(np.int64), 10, 99)
    return (
        np.bincount(first - 1, minlength=9)[:9],
        np.bincount(two % 10, minlength=10)[:10],
    )


@dataclass
class Stats:
    """The measurements of one or more blocks (``combine`` adds two)."""

    lines: int = 0
    entries: int = 0
    unbalanced: int = 0
    examples: dict[str, list[str]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    tables: dict[str, list[Any]] = field(default_factory=dict)

    def add(self, name: str, value: int, example: list[str] | None = None) -> None:
        self.counts[name] = self.counts.get(name, 0) + int(value)
        if example:
            self.examples.setdefault(name, [])
            self.examples[name] = (self.examples[name] + example)[:3]

    def put(self, name: str, value: np.ndarray) -> None:
        if name in self.arrays:
            self.arrays[name] = self.arrays[name] + value
        else:
            self.arrays[name] = value.copy()

    def append(self, name: str, value: np.ndarray | pa.Table) -> None:
        self.tables.setdefault(name, []).append(value)


def combine(parts: list[Stats]) -> Stats:
    out = Stats()
    for p in parts:
        out.lines += p.lines
        out.entries += p.entries
        for k, v in p.counts.items():
            out.add(k, v, p.examples.get(k))
        for k, arr in p.arrays.items():
            out.put(k, arr)
        for k, tables in p.tables.items():
            for t in tables:
                out.append(k, t)
    return out


def block_stats(
    journal: pa.Table,
    labels: pa.Table | None,
    documents: pa.Array | None,
    references: pa.Table | None,
    ctx: Context,
    standalone_block: bool,
) -> Stats:
    """Measure one block's journal lines (with ``fiscal_year``/``fiscal_period`` columns from
    their folders), its labels, the ids of its flow documents and its document references.
    ``standalone_block``: a generated block (not the close entries)."""
    s = Stats()
    n = journal.num_rows
    s.lines = n
    if n == 0:
        return s
    ids = journal["document_id"].combine_chunks()
    order_ok = True
    change = np.r_[True, np.asarray(pc.not_equal(ids[1:], ids[:-1]))]
    starts = np.flatnonzero(change)
    if len(pc.unique(ids)) != starts.size:
        order_ok = False
        journal = journal.sort_by([("document_id", "ascending"), ("line_number", "ascending")])
        ids = journal["document_id"].combine_chunks()
        change = np.r_[True, np.asarray(pc.not_equal(ids[1:], ids[:-1]))]
        starts = np.flatnonzero(change)
    s.add("entries_split_across_rows", 0 if order_ok else 1)
    owner = np.cumsum(change) - 1
    m = starts.size
    s.entries = m
    head = journal.take(pa.array(starts))
    entry_ids = head["document_id"].combine_chunks()
    # --- quality: required fields, duplicate keys --------------------------------------
    for column in REQUIRED:
        if column in journal.column_names:
            s.add(f"null:{column}", journal[column].null_count)
    keys = pc.binary_join_element_wise(
        ids, pc.cast(journal["line_number"].combine_chunks(), pa.string()), "#"
    )
    duplicate_lines = len(keys) - len(pc.unique(keys))
    s.add("duplicate_lines", duplicate_lines)
    s.append("entry_hashes", string_hashes(entry_ids))
    # --- balance -------------------------------------------------------------------------
    debit = minor_from_decimal(journal["debit_amount"].combine_chunks().fill_null(0))
    credit = minor_from_decimal(journal["credit_amount"].combine_chunks().fill_null(0))
    d = np.bincount(owner, weights=debit, minlength=m).astype(np.int64)
    c = np.bincount(owner, weights=credit, minlength=m).astype(np.int64)
    bad = np.flatnonzero(d != c)
    s.add("unbalanced_entries", bad.size, entry_ids.take(pa.array(bad[:3])).to_pylist())
    # --- posting dates inside their fiscal period -----------------------------------------
    company = strings(journal["company_code"])
    posting = np.asarray(journal["posting_date"].combine_chunks().cast(pa.int32()), np.int64)
    year = np.asarray(journal["fiscal_year"].combine_chunks(), np.int64)
    period = np.asarray(journal["fiscal_period"].combine_chunks(), np.int64)
    # a line of an unknown company, or dated outside the window, is in no period
    wrong = np.ones(n, dtype=bool)
    for code, (firsts, years, numbers) in ctx.periods.items():
        rows = np.flatnonzero(np.asarray(pc.equal(company, code)))
        if not rows.size:
            continue
        k = np.clip(np.searchsorted(firsts, posting[rows], side="right") - 1, 0, firsts.size - 1)
        inside = (posting[rows] >= firsts[0]) & (posting[rows] < ctx.window_stop)
        wrong[rows] = ~inside | (years[k] != year[rows]) | (numbers[k] != period[rows])
    bad_rows = np.flatnonzero(wrong)
    s.add(
        "lines_outside_their_period",
        bad_rows.size,
        ids.take(pa.array(bad_rows[:3])).to_pylist(),
    )
    # --- ledger sums for the trial balances -----------------------------------------------
    sums = pa.table(
        {
            "company_code": company,
            "fiscal_year": pa.array(year),
            "fiscal_period": pa.array(period),
            "gl_account": strings(journal["gl_account"]),
            "debit": pa.array(debit),
            "credit": pa.array(credit),
        }
    ).group_by(["company_code", "fiscal_year", "fiscal_period", "gl_account"], use_threads=False)
    s.append("ledger_sums", sums.aggregate([("debit", "sum"), ("credit", "sum")]))
    # --- references to master data ----------------------------------------------------------
    for column, known in ctx.master_ids.items():
        if column not in journal.column_names:
            continue
        values = strings(journal[column])
        missing = pc.and_(pc.is_valid(values), pc.invert(pc.is_in(values, value_set=known)))
        bad_values = values.filter(missing)
        s.add(
            f"dangling:{column}",
            len(bad_values),
            pc.unique(bad_values).slice(0, 3).to_pylist(),
        )
    # --- references to documents -----------------------------------------------------------
    sources = strings(journal["source_document_id"])
    pattern = "^(" + "|".join(_FLOW_PREFIXES) + ")"
    flow_ref = pc.fill_null(pc.match_substring_regex(sources, pattern), False)
    if documents is not None:
        missing = pc.and_(flow_ref, pc.invert(pc.is_in(sources, value_set=documents)))
        bad_values = sources.filter(missing)
        s.add(
            "dangling:source_document_id",
            len(bad_values),
            pc.unique(bad_values).slice(0, 3).to_pylist(),
        )
        s.add("document_references_checked", int(pc.sum(flow_ref).as_py() or 0))
    if references is not None and documents is not None:
        for column in ("source_document_id", "target_document_id"):
            values = references[column].combine_chunks()
            missing = pc.invert(pc.is_in(values, value_set=documents))
            s.add(
                "dangling:document_references",
                int(pc.sum(missing).as_py() or 0),
                pc.unique(values.filter(missing)).slice(0, 3).to_pylist(),
            )
        s.add("document_references", references.num_rows)
    # --- label coverage --------------------------------------------------------------------
    flagged = np.asarray(head["is_anomaly"].combine_chunks(), dtype=bool)
    s.add("flagged_entries", int(flagged.sum()))
    s.add("fraud_entries", int(np.asarray(head["is_fraud"].combine_chunks(), bool).sum()))
    if labels is not None and labels.num_rows:
        named = labels["document_id"].combine_chunks()
        related = pc.list_flatten(
            pc.split_pattern(labels["related_documents"].combine_chunks().fill_null(""), ",")
        )
        named_all = pa.concat_arrays([named, related.cast(pa.string())])
        labelled = np.asarray(pc.is_in(entry_ids, value_set=named_all))
        unflagged_label = pc.invert(pc.is_in(named, value_set=entry_ids.filter(pa.array(flagged))))
        s.add(
            "flagged_without_label",
            int((flagged & ~labelled).sum()),
            entry_ids.filter(pa.array(flagged & ~labelled)).slice(0, 3).to_pylist(),
        )
        s.add(
            "label_without_change",
            int(pc.sum(unflagged_label).as_py() or 0),
            named.filter(unflagged_label).slice(0, 3).to_pylist(),
        )
        s.add("labels", labels.num_rows)
        kinds = pc.index_in(
            strings(labels["anomaly_type"]), value_set=pa.array(tuple(ANOMALY_TYPES))
        )
        s.put(
            "anomaly_types",
            np.bincount(
                np.asarray(kinds.fill_null(-1))[np.asarray(kinds.is_valid())],
                minlength=len(ANOMALY_TYPES),
            ),
        )
    else:
        s.add(
            "flagged_without_label",
            int(flagged.sum()),
            entry_ids.filter(pa.array(flagged)).slice(0, 3).to_pylist(),
        )
    # --- distributions ------------------------------------------------------------------------
    amounts = (debit + credit) / 100.0
    first, second = _digits(amounts[amounts > 0])
    s.put("benford_first", first)
    s.put("benford_second", second)
    entry_company = strings(head["company_code"])
    scale = np.ones(m)
    for code, value in ctx.scale.items():
        scale[np.asarray(pc.equal(entry_company, code))] = value
    source = strings(head["source"])
    # the drawable sources only (reversals and the close stage's entries are not drawn)
    drawn = pc.index_in(source, value_set=pa.array(SOURCES)).drop_null()
    s.put("sources", np.bincount(np.asarray(drawn), minlength=len(SOURCES)))
    # the configured mix is the generated entries' (the close stage posts on top of it)
    s.put(
        "business_processes" if standalone_block else "business_processes_close",
        np.bincount(
            np.asarray(
                pc.index_in(
                    strings(head["business_process"]), value_set=pa.array(BUSINESS_PROCESSES)
                ).fill_null(0)
            ),
            minlength=len(BUSINESS_PROCESSES),
        ),
    )
    created = np.asarray(head["created_at"].combine_chunks().cast(pa.int64()), np.int64)
    day = posting[starts]
    weekday = (created // _DAY_MS + 3) % 7  # the day and hour the entry was made
    hour = (created % _DAY_MS) // 3_600_000
    s.put("weekday_hour", np.bincount(weekday * 24 + hour, minlength=7 * 24).reshape(7, 24))
    sizes = np.diff(np.r_[starts, n])
    s.put("line_count_all", np.bincount(np.minimum(sizes, 100), minlength=101))
    if standalone_block:
        # standalone entries: no line names a source document (flows and asset postings do)
        # and none clears another entry's open item (the payments of standalone invoices)
        # (entries an anomaly changed are left out: their dates and amounts are the anomaly)
        has_source = np.bincount(owner, weights=np.asarray(sources.is_valid()), minlength=m) > 0
        settles = np.zeros(m, dtype=bool)
        if "clearing_reference" in journal.column_names:
            other = pc.fill_null(
                pc.not_equal(
                    strings(journal["clearing_reference"]), strings(journal["document_id"])
                ),
                False,
            )
            settles = np.bincount(owner, weights=np.asarray(other), minlength=m) > 0
        alone = ~has_source & ~settles & ~flagged
        buckets = np.full(m, -1, dtype=np.int64)
        for b, (lo, hi) in enumerate(ctx.line_buckets):
            buckets[(sizes >= lo) & (sizes <= hi)] = b
        s.put(
            "line_buckets",
            np.bincount(buckets[alone & (buckets >= 0)], minlength=len(ctx.line_buckets)),
        )
        # the typical line amount of the generator's model: total / lines on the larger side
        n_debit = np.bincount(owner, weights=debit > 0, minlength=m)
        n_credit = np.bincount(owner, weights=credit > 0, minlength=m)
        typical = d / np.maximum(np.maximum(n_debit, n_credit), 1) / 100.0 / scale
        benford = ~np.asarray(
            pc.is_in(source, value_set=pa.array(list(ctx.exempt_sources) or [""]))
        )
        use = alone & benford & (typical > 0)
        # per company, in the company's currency: the generator draws decades there
        local = typical * scale
        hist = np.zeros((len(ctx.periods), AMOUNT_EDGES.size - 1), np.int64)
        for i, code in enumerate(ctx.periods):
            rows = use & np.asarray(pc.equal(entry_company, code))
            hist[i] = np.histogram(np.log10(local[rows]), bins=AMOUNT_EDGES)[0]
        s.put("amount_hist", hist)
        per_company = np.zeros((len(ctx.periods), ctx.window_days), np.int64)
        for i, code in enumerate(ctx.periods):
            rows = alone & np.asarray(pc.equal(entry_company, code))
            offset = day[rows] - ctx.window_first
            ok = (offset >= 0) & (offset < ctx.window_days)
            per_company[i] = np.bincount(offset[ok], minlength=ctx.window_days)[: ctx.window_days]
        s.put("daily_standalone", per_company)
    offset = day - ctx.window_first
    inside = (offset >= 0) & (offset < ctx.window_days)
    s.put("daily_all", np.bincount(offset[inside], minlength=ctx.window_days)[: ctx.window_days])
    return s


#: a chain started this many days before the window's end has had time to complete
CHAIN_AGE_DAYS = 45


def chain_stats(flows: dict[str, pa.Table], cutoff: int, s: Stats) -> None:
    """Document-chain completion of one block's flows: purchase orders dated on or before
    ``cutoff`` (days since 1970) with a goods receipt and a vendor invoice, and sales orders
    that passed the credit check with a delivery and a customer invoice."""

    def eligible(table: pa.Table, id_col: str, extra: pa.Array | None = None) -> pa.Array:
        days = table["document_date"].combine_chunks().cast(pa.int32())
        keep = pc.less_equal(days, cutoff)
        if extra is not None:
            keep = pc.and_(keep, extra)
        return pc.unique(table[id_col].combine_chunks().filter(keep))

    def count(ids: pa.Array, table: pa.Table | None, column: str) -> int:
        if table is None or not len(ids):
            return 0
        return int(pc.sum(pc.is_in(ids, value_set=table[column].combine_chunks())).as_py() or 0)

    po = flows.get("purchase_orders")
    if po is not None and po.num_rows:
        ids = eligible(po, "purchase_order_id")
        s.add("chain:purchase_orders", len(ids))
        s.add(
            "chain:purchase_orders_received",
            count(ids, flows.get("goods_receipts"), "purchase_order_id"),
        )
        s.add(
            "chain:purchase_orders_invoiced",
            count(ids, flows.get("vendor_invoices"), "purchase_order_id"),
        )
    so = flows.get("sales_orders")
    if so is not None and so.num_rows:
        passed = pc.equal(strings(so["credit_status"]), "passed")
        ids = eligible(so, "sales_order_id", passed)
        s.add("chain:sales_orders", len(ids))
        s.add("chain:sales_orders_delivered", count(ids, flows.get("deliveries"), "sales_order_id"))
        s.add(
            "chain:sales_orders_invoiced",
            count(ids, flows.get("customer_invoices"), "sales_order_id"),
        )


def context(config: DatasynthConfig, master: Any, master_ids: dict[str, pa.Array]) -> Context:
    """The evaluation context from the run's configuration and master data."""
    periods = {}
    scale = {}
    first = None
    days = 0
    stop = 0
    for company in master.companies:
        firsts = np.array(
            [np.datetime64(p.first, "D").astype(np.int64) for p in company.periods], np.int64
        )
        years = np.array([p.fiscal_year for p in company.periods], np.int64)
        numbers = np.array([p.fiscal_period for p in company.periods], np.int64)
        periods[company.code] = (firsts, years, numbers)
        stop = max(stop, int(np.datetime64(company.periods[-1].stop, "D").astype(np.int64)))
        scale[company.code] = company.amount_scale
        first = int(firsts[0]) if first is None else min(first, int(firsts[0]))
        days = max(days, int(company.day_weights.size))
    buckets = tuple(parse_line_bucket(k) for k in config.transactions.line_counts)
    return Context(
        window_first=first or 0,
        window_days=days,
        periods=periods,
        window_stop=stop,
        scale=scale,
        line_buckets=buckets,
        exempt_sources=tuple(config.transactions.benford.exempt_sources),
        master_ids=master_ids,
    )


def benford_benchmarks() -> tuple[np.ndarray, np.ndarray]:
    return _BENFORD1, _BENFORD2
