"""Standalone general-ledger journal entries, one row per line, fully vectorised.

Per block: entries draw a line count (reference table), a debit/credit split, a source, a
business process and a posting template, a posting day from the company's day weights, a time
of day (people in office hours, batch jobs at night), a preparer, a document type and an entry
total (Benford-conformant log-normal with round-number bias). Lines then draw accounts from the
template's debit or credit side and split the total exactly in integer cents, so every entry
balances to the cent.

Each concern draws from its own named stream, so changing (say) the amount model never changes
line counts, dates or accounts.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from datasynth.config.models import (
    BUSINESS_PROCESSES,
    PERSONAS,
    SOURCES,
    DatasynthConfig,
    TransactionsConfig,
    parse_line_bucket,
)
from datasynth.core import distributions as dist
from datasynth.core import vocab
from datasynth.core.blocks import Block
from datasynth.core.ids import fixed_width_strings, journal_entry_ids
from datasynth.core.money import AMOUNT_TYPE, MAX_MINOR_UNITS, decimal_from_minor
from datasynth.core.seeding import stream
from datasynth.generators.follow_ons import follow_on_entries, plan_follow_ons
from datasynth.generators.master import (
    AUTOMATED_PERSONA,
    CompanyMaster,
    Master,
    cost_center_weights,
)
from datasynth.generators.partners import partner_ids

TABLE = "journal_entries"
_DICT = pa.dictionary(pa.int32(), pa.string())
SCHEMA = pa.schema(
    [
        pa.field("document_id", pa.string(), nullable=False),
        pa.field("company_code", _DICT, nullable=False),
        pa.field("fiscal_year", pa.int16(), nullable=False),
        pa.field("fiscal_period", pa.int8(), nullable=False),
        pa.field("posting_date", pa.date32(), nullable=False),
        pa.field("document_date", pa.date32(), nullable=False),
        pa.field("created_at", pa.timestamp("ms"), nullable=False),
        pa.field("document_type", _DICT, nullable=False),
        pa.field("currency", _DICT, nullable=False),
        pa.field("source", _DICT, nullable=False),
        pa.field("business_process", _DICT, nullable=False),
        pa.field("posting_template", _DICT, nullable=False),
        pa.field("created_by", _DICT, nullable=False),
        pa.field("user_persona", _DICT, nullable=False),
        # who approved the entry: set on entries by people at or above the approval threshold
        pa.field("approved_by", _DICT),
        pa.field("line_number", pa.int32(), nullable=False),
        pa.field("gl_account", _DICT, nullable=False),
        pa.field("debit_amount", AMOUNT_TYPE, nullable=False),
        pa.field("credit_amount", AMOUNT_TYPE, nullable=False),
        pa.field("cost_center", _DICT),
        pa.field("vendor_id", pa.string()),
        pa.field("customer_id", pa.string()),
        pa.field("source_document_id", pa.string()),
        # open-item management on the AP and AR reconciliation accounts: the item (invoice) a
        # line belongs to or clears, and that item's due date; null on every other line
        pa.field("clearing_reference", pa.string()),
        pa.field("due_date", pa.date32()),
        # inventory lines: the material moved and its quantity (receipts +, issues -)
        pa.field("material_id", pa.string()),
        pa.field("quantity", pa.int64()),
        pa.field("is_anomaly", pa.bool_(), nullable=False),
        pa.field("is_fraud", pa.bool_(), nullable=False),
    ]
)
#: partition columns: stored in the directory names (hive style), not inside the files
PARTITION_COLUMNS = ("fiscal_year", "fiscal_period")
#: days from a standalone AP or AR document to its due date
OPEN_ITEM_DAYS = 30
_AUTOMATED_SOURCES = np.array([s in ("automated", "recurring") for s in SOURCES])


def _dictionary(indices: np.ndarray, values: list[str] | tuple[str, ...]) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(
        pa.array(np.asarray(indices, dtype=np.int32)), pa.array(list(values), pa.string())
    )


def _partner_column(
    prefix: str, company_code: str, partner: np.ndarray, entry: np.ndarray, on_line: np.ndarray
) -> pa.Array:
    """Partner ids on the lines where ``on_line`` is true, null elsewhere."""
    ids = partner_ids(prefix, company_code, partner[entry[on_line]])
    return vocab.scatter(pa.nulls(entry.size, pa.string()), on_line, ids)


def mean_lines_per_entry(config: DatasynthConfig) -> float:
    """Expected lines per entry under the configured line-count table."""
    total = 0.0
    for key, p in config.transactions.line_counts.items():
        lo, hi = parse_line_bucket(key)
        total += p * (lo + hi) / 2
    return total


def generate_journal_entries(config: DatasynthConfig, master: Master, block: Block) -> pa.Table:
    """All lines of the standalone entries in ``block`` (no flows), with :data:`SCHEMA`."""
    return generate_direct_entries(config, master, block, None)[0]


def _people(
    rng: np.random.Generator, company: CompanyMaster, t: TransactionsConfig, m: int
) -> tuple[np.ndarray, np.ndarray]:
    """``m`` people (user indices) drawn by the persona mix, and their personas' indices."""
    persona = dist.draw(rng, dist.cdf([t.personas.get(p, 0.0) for p in PERSONAS]), m)
    return _user_of(company, persona, rng.random(m)), persona


def _user_of(company: CompanyMaster, persona: np.ndarray, u: np.ndarray) -> np.ndarray:
    """The user (index) of each persona that uniform ``u`` in [0, 1) picks among its users."""
    pick = (u * company.persona_sizes[persona]).astype(np.int64)
    out: np.ndarray = company.user_lookup[company.persona_offsets[persona] + pick]
    return out


def generate_direct_entries(
    config: DatasynthConfig, master: Master, block: Block, replaced: np.ndarray | None
) -> tuple[pa.Table, np.ndarray]:
    """The standalone entries of ``block`` and how many entries per business process were
    left to document flows.

    ``replaced`` masks the posting templates whose entries document flows post instead (goods
    receipts, invoices against orders, payments, ...): entries drawn with those templates are
    dropped here and counted, so the flows can take their place and the process mix holds.
    """
    t = config.transactions
    company = master.companies[block.company_index]
    n = block.entries
    # streams are keyed by the company's code, never its position in the list
    key = (
        config.global_.seed,
        TABLE,
        company.code,
        block.fiscal_year,
        block.fiscal_period,
        block.block_number,
    )

    # --- entry level -------------------------------------------------------------------------
    buckets = [parse_line_bucket(k) for k in t.line_counts]
    rng = stream(*key, "line_counts")
    lines = dist.line_counts(rng, buckets, dist.cdf(list(t.line_counts.values())), n)
    split = t.debit_credit_split
    debits = dist.debit_line_counts(
        rng, lines, dist.cdf([split.equal, split.more_debit, split.more_credit])
    )

    rng = stream(*key, "sources")
    source = dist.draw(rng, dist.cdf([t.sources.get(s, 0.0) for s in SOURCES]), n)
    process = dist.draw(
        rng, dist.cdf([t.business_processes.get(p, 0.0) for p in BUSINESS_PROCESSES]), n
    )
    automated = _AUTOMATED_SOURCES[source]

    rng = stream(*key, "posting_templates")
    posting = master.posting
    template = posting.template_offset[process] + posting.templates.draw(rng, process)
    left_to_flows = np.zeros(len(BUSINESS_PROCESSES), dtype=np.int64)
    if replaced is not None and replaced.any():
        covered = replaced[template]
        left_to_flows = np.bincount(process[covered], minlength=len(BUSINESS_PROCESSES))
        keep = ~covered
        lines, debits, source, process, template = (
            x[keep] for x in (lines, debits, source, process, template)
        )
        automated = automated[keep]
        n = int(keep.sum())
        if n == 0:
            return SCHEMA.empty_table(), left_to_flows
    # follow-on entries (reversals, releases, returns) stand in for drawn entries of their
    # template: those are dropped before anything else is drawn for them
    plan = plan_follow_ons(stream(*key, "follow_ons"), posting, company.periods, block, template)
    if plan is not None:
        lines, debits, source, process, template, automated = (
            x[plan.keep] for x in (lines, debits, source, process, template, automated)
        )
        n = int(plan.keep.sum())

    rng = stream(*key, "dates")
    weights = company.day_weights[
        block.day_offset : block.day_offset + (block.stop - block.first).days
    ]
    first_day = int(
        (np.datetime64(block.first, "D") - np.datetime64("1970-01-01", "D")).astype(np.int64)
    )
    posting_day = first_day + dist.draw(rng, dist.cdf(weights), n)
    # documents are dated on or a few days before posting (invoices arrive, people post late)
    lag = np.where(rng.random(n) < np.where(automated, 0.9, 0.6), 0, rng.geometric(0.25, n))
    document_day = posting_day - lag
    seconds = dist.seconds_of_day(stream(*key, "times"), automated, t.working_hours)

    rng = stream(*key, "users")
    persona = np.where(
        automated,
        len(PERSONAS),
        dist.draw(rng, dist.cdf([t.personas.get(p, 0.0) for p in PERSONAS]), n),
    )
    user = _user_of(company, persona, rng.random(n))

    # the posting template decides the document type (DR customer invoice, KZ vendor payment,
    # AF depreciation, ...); sources listed in transactions.document_types draw from their mix
    rng = stream(*key, "document_types")
    doc_names = sorted(
        {*posting.template_document_types, *(c for mix in t.document_types.values() for c in mix)}
    )
    template_doc = np.array([doc_names.index(c) for c in posting.template_document_types])
    doc_type = template_doc[template]
    for source_name, mix in t.document_types.items():
        chosen = source == SOURCES.index(source_name)
        codes = np.array([doc_names.index(c) for c in mix])
        doc_type = np.where(
            chosen, codes[dist.draw(rng, dist.cdf(list(mix.values())), n)], doc_type
        )

    rng = stream(*key, "amounts")
    benford = np.zeros(n, dtype=bool)
    if t.benford.enabled:
        exempt = np.array([s in t.benford.exempt_sources for s in SOURCES])
        benford = ~exempt[source]
    # the drawn amount is the size of a typical line: an entry of many lines (a payroll run, an
    # allocation) carries a proportionally larger total, so no line shrinks to a few cents;
    # the block's amounts are then dealt to its entries by template size and line count
    unit = company.amount_unit
    per_line = dist.amounts_minor(rng, n, t.amounts, benford, company.amount_scale, unit)
    larger_side = np.maximum(debits, lines - debits)
    per_line = dist.couple_amounts(
        stream(*key, "amount_ranks"),
        per_line,
        larger_side,
        posting.template_log_size[template],
        benford,
    )
    # a weak currency times the largest amounts times thousands of lines could pass
    # decimal128(18, 2); such lines are capped at what still fits
    per_line = np.minimum(per_line, (MAX_MINOR_UNITS // larger_side) // unit * unit)
    totals = per_line * larger_side

    # --- line level --------------------------------------------------------------------------
    total_lines = int(lines.sum())
    entry = np.repeat(np.arange(n, dtype=np.int64), lines)
    starts = np.cumsum(lines) - lines
    line_number = np.arange(total_lines, dtype=np.int64) - starts[entry] + 1
    is_debit = line_number <= debits[entry]
    # lines are laid out debits first, then credits: each entry is two contiguous segments
    segment_sizes = np.column_stack([debits, lines - debits]).ravel()
    segment_totals = np.repeat(totals, 2)
    # split in the currency's smallest unit (whole yen for JPY), then back to hundredths
    amount = dist.split_minor(stream(*key, "line_amounts"), segment_totals // unit, segment_sizes)
    amount *= unit
    zero = np.zeros(total_lines, dtype=np.int64)

    rng = stream(*key, "accounts")
    side_group = template[entry] * 2 + (~is_debit).astype(np.int64)
    within = posting.accounts.draw(rng, side_group)
    account = posting.account_lookup[posting.account_offsets[side_group] + within]
    # a two-line entry that debits and credits one account would change nothing: its credit
    # line takes the next account of its side instead (no extra draw, so nothing else moves)
    second = np.flatnonzero((lines[entry] == 2) & (line_number == 2))
    clash = second[account[second] == account[second - 1]]
    if clash.size:
        size = posting.accounts.sizes[side_group[clash]]
        shifted = (within[clash] + 1) % size
        account[clash] = posting.account_lookup[
            posting.account_offsets[side_group[clash]] + shifted
        ]

    rng = stream(*key, "cost_centers")
    needs_cc = master.chart.requires_cost_center[account]
    cc = dist.draw(rng, dist.cdf(cost_center_weights()), total_lines)
    cost_center = pa.DictionaryArray.from_arrays(
        pa.array(cc.astype(np.int32), mask=~needs_cc),
        pa.array(list(company.cost_centers), pa.string()),
    )

    # AP lines name a vendor and AR lines a customer of the entry, a few large partners carrying
    # most of the volume (Zipf, master_data.activity_skew); intercompany payables and
    # receivables name one of the group companies, which lead the vendor and customer lists
    rng = stream(*key, "partners")
    u = rng.random((n, 4))
    chart = master.chart
    ap_line = account == chart.numbers.index(chart.account("ap"))
    ar_line = account == chart.numbers.index(chart.account("ar"))
    ic_ap_line = chart.family_mask("role:ic_payable")[account]
    ic_ar_line = chart.family_mask("role:ic_receivable")[account]
    vendor = np.searchsorted(company.vendor_cdf, u[:, 0], side="right")
    customer = np.searchsorted(company.customer_cdf, u[:, 1], side="right")
    if company.group_vendors:
        ic_vendor = (u[:, 2] * company.group_vendors).astype(np.int64)
        vendor = np.where(np.add.reduceat(ic_ap_line, starts) > 0, ic_vendor, vendor)
    else:
        ic_ap_line = np.zeros_like(ic_ap_line)
    if company.group_customers:
        ic_customer = (u[:, 3] * company.group_customers).astype(np.int64)
        customer = np.where(np.add.reduceat(ic_ar_line, starts) > 0, ic_customer, customer)
    else:
        ic_ar_line = np.zeros_like(ic_ar_line)
    vendor_id = _partner_column("V", company.code, vendor, entry, ap_line | ic_ap_line)
    customer_id = _partner_column("C", company.code, customer, entry, ar_line | ic_ar_line)

    ones = np.zeros(total_lines, dtype=np.int32)
    persona_names = (*PERSONAS, AUTOMATED_PERSONA)
    # ids are built once per entry and repeated per line by Arrow's take (10x fewer digits)
    entry_ids = journal_entry_ids(
        company.code, block.fiscal_year, block.fiscal_period, block.block_number, np.arange(n)
    )
    # a standalone AP or AR line is an open item of its own, due 30 days after its document
    item_line = ap_line | ar_line
    clearing = vocab.scatter(
        pa.nulls(total_lines, pa.string()), item_line, entry_ids.take(pa.array(entry[item_line]))
    )
    due = pa.array(
        (document_day[entry] + OPEN_ITEM_DAYS).astype(np.int32), pa.date32(), mask=~item_line
    )
    # an inventory line moves a material: a random one of the company's, in the quantity its
    # standard cost gives for the amount (own stream: nothing else moves)
    material_id: pa.Array = pa.nulls(total_lines, pa.string())
    quantity: pa.Array = pa.nulls(total_lines, pa.int64())
    costs = master.material_costs[block.company_index] if master.material_costs else None
    stock_line = chart.family_mask("subtype:inventory")[account]
    if costs is not None and costs.size and stock_line.any():
        rng = stream(*key, "materials")
        picked = rng.integers(0, costs.size, int(stock_line.sum()))
        units = np.maximum(np.rint(amount[stock_line] / costs[picked]), 1).astype(np.int64)
        material_id = vocab.scatter(
            material_id, stock_line, fixed_width_strings(f"MAT-{company.code}-", picked + 1, 6)
        )
        signed_units = np.zeros(total_lines, dtype=np.int64)
        signed_units[stock_line] = np.where(is_debit[stock_line], units, -units)
        quantity = pa.array(signed_units, pa.int64(), mask=~stock_line)
    columns = [
        entry_ids.take(pa.array(entry)),
        _dictionary(ones, [company.code]),
        pa.array(np.full(total_lines, block.fiscal_year, dtype=np.int16)),
        pa.array(np.full(total_lines, block.fiscal_period, dtype=np.int8)),
        pa.array(posting_day[entry].astype(np.int32), pa.date32()),
        pa.array(document_day[entry].astype(np.int32), pa.date32()),
        pa.array((posting_day[entry] * 86_400 + seconds[entry]) * 1000, pa.timestamp("ms")),
        _dictionary(doc_type[entry], doc_names),
        _dictionary(ones, [company.currency]),
        _dictionary(source[entry], SOURCES),
        _dictionary(process[entry], BUSINESS_PROCESSES),
        _dictionary(template[entry], posting.template_names),
        _dictionary(user[entry], company.user_ids),
        _dictionary(persona[entry], persona_names),
        pa.nulls(total_lines, pa.string()).dictionary_encode(),
        pa.array(line_number.astype(np.int32)),
        _dictionary(account, master.chart.numbers),
        decimal_from_minor(np.where(is_debit, amount, zero)),
        decimal_from_minor(np.where(is_debit, zero, amount)),
        cost_center,
        vendor_id,
        customer_id,
        pa.nulls(total_lines, pa.string()),
        clearing,
        due,
        material_id,
        quantity,
        pa.array(np.zeros(total_lines, dtype=bool)),
        pa.array(np.zeros(total_lines, dtype=bool)),
    ]
    table = pa.Table.from_arrays(columns, schema=SCHEMA)
    if plan is not None:
        follow = follow_on_entries(
            stream(*key, "follow_on_entries"),
            posting,
            master.chart.numbers,
            master.chart.requires_cost_center,
            dist.cdf(cost_center_weights()),
            company.code,
            company.periods,
            unit,
            block,
            plan,
            table,
            template=template,
            lines=lines,
            debits=debits,
            amount=amount,
            posting_day=posting_day,
            seconds=seconds,
            batch_users=company.user_lookup[int(company.persona_offsets[len(PERSONAS)]) :],
            people=lambda m: _people(stream(*key, "follow_on_people"), company, t, m),
            seconds_of_day=lambda batch: dist.seconds_of_day(
                stream(*key, "follow_on_times"), batch, t.working_hours
            ),
        )
        if follow is not None:
            table = pa.concat_tables([table, follow]).unify_dictionaries().combine_chunks()
    return table, left_to_flows
