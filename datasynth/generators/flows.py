"""What the procure-to-pay and order-to-cash flows share.

* :class:`FlowCompany`: one company's purchasing and sales lookups (vendor and customer terms,
  credit limits and behaviour, which vendor supplies which material, costs and prices) taken
  from the generated master data, so flow documents agree with ``master_data/`` to the cent.
* :class:`FlowContext`: the block a flow generator works in (its streams, dates and window).
* :class:`Postings` and :func:`flow_journal_lines`: the journal entries that flow documents
  post, one entry per posting document, turned into journal lines with the columns of
  ``journal_entries`` (fiscal year and period from each entry's own posting date).
* document ids (``PO-<company>-<YYYYPP>-<block 4><row 7>``) and document references.

Dates are day numbers since 1970-01-01 (int64) until they become Arrow ``date32`` columns.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datasynth.config.models import (
    BUSINESS_PROCESSES,
    CREDIT_RATINGS,
    PAYMENT_BEHAVIOURS,
    PERSONAS,
    SOURCES,
    DatasynthConfig,
)
from datasynth.core import distributions as dist
from datasynth.core import vocab
from datasynth.core.blocks import Block
from datasynth.core.calendars import FiscalPeriod
from datasynth.core.ids import fixed_width_strings
from datasynth.core.money import decimal_from_minor
from datasynth.core.reference import load
from datasynth.core.seeding import stream


def day_number(day: dt.date) -> int:
    """Days since 1970-01-01 of a ``datetime.date``."""
    return (day - dt.date(1970, 1, 1)).days


def workday(days: np.ndarray) -> np.ndarray:
    """Saturdays and Sundays moved to the following Monday (1970-01-01 was a Thursday)."""
    d = np.asarray(days, dtype=np.int64)
    weekday = (d + 3) % 7  # Monday = 0
    out: np.ndarray = d + np.where(weekday == 5, 2, np.where(weekday == 6, 1, 0))
    return out


def round_to_unit(values: np.ndarray, unit: int) -> np.ndarray:
    """Amounts in hundredths rounded to the currency's smallest unit (whole yen: 100)."""
    out: np.ndarray = (np.rint(np.asarray(values, dtype=np.float64) / unit) * unit).astype(np.int64)
    return out


def _minor(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """decimal128(18, 2) money as int64 hundredths (nulls as 0)."""
    values = pc.fill_null(pc.cast(column, pa.float64()), 0.0).to_numpy()
    out: np.ndarray = np.rint(np.asarray(values) * 100.0).astype(np.int64)
    return out


def _index_of_id(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Row index behind ``V-1000-000042``-style ids (nulls as -1)."""
    digits = pc.utf8_slice_codeunits(column, -6)
    values = pc.fill_null(pc.cast(digits, pa.int64()), 0).to_numpy()
    out: np.ndarray = np.asarray(values, dtype=np.int64) - 1
    return out


@dataclass(frozen=True)
class FlowCompany:
    """One company's purchasing and sales lookups, indexed by partner and material row."""

    tax_rate: float
    #: (rows, 3): net days, cash-discount percent, discount days of each vendor / customer
    vendor_terms: np.ndarray
    customer_terms: np.ndarray
    #: vendors weighted by activity among those that supply at least one purchased material
    purchase_vendor_cdf: np.ndarray | None
    #: materials supplied by each vendor: ``vendor_material_lookup[offsets[v] : offsets[v] + sizes[v]]``
    vendor_material_offsets: np.ndarray
    vendor_material_sizes: np.ndarray
    vendor_material_lookup: np.ndarray
    #: standard cost and list price of every material in hundredths (0 when not sold)
    material_cost: np.ndarray
    material_price: np.ndarray
    sold_materials: np.ndarray
    #: activity of the company's customers (Zipf; group companies excluded)
    customer_cdf: np.ndarray
    customer_limit: np.ndarray
    customer_rating: np.ndarray
    customer_behaviour: np.ndarray

    @property
    def can_purchase(self) -> bool:
        return self.purchase_vendor_cdf is not None

    @property
    def can_sell(self) -> bool:
        return self.sold_materials.size > 0


def build_flow_company(
    country: str,
    vendor_cdf: np.ndarray,
    customer_cdf: np.ndarray,
    vendors: pa.Table,
    customers: pa.Table,
    materials: pa.Table,
) -> FlowCompany:
    """Lookups of one company from its generated vendors, customers and materials."""
    rates = load("tax_rates")
    tax_rate = float(rates.get(country, rates["_default"]))

    def terms(table: pa.Table) -> np.ndarray:
        return np.column_stack(
            [
                table["payment_terms_days"].to_numpy().astype(np.float64),
                table["cash_discount_percent"].to_numpy().astype(np.float64),
                table["cash_discount_days"].to_numpy().astype(np.float64),
            ]
        )

    n_vendors = vendors.num_rows
    supplier = _index_of_id(materials["preferred_vendor_id"])
    supplied = np.flatnonzero(supplier >= 0)
    order = supplied[np.argsort(supplier[supplied], kind="stable")]
    sizes = np.bincount(supplier[supplied], minlength=n_vendors).astype(np.int64)
    offsets = (np.cumsum(sizes) - sizes).astype(np.int64)
    activity = np.diff(np.concatenate([[0.0], vendor_cdf]))
    weights = activity * (sizes > 0)
    purchase_cdf = dist.cdf(weights) if weights.sum() > 0 else None
    price = _minor(materials["list_price"])
    ratings = customers["credit_rating"].to_pylist()
    behaviours = customers["payment_behavior"].to_pylist()
    return FlowCompany(
        tax_rate=tax_rate,
        vendor_terms=terms(vendors),
        customer_terms=terms(customers),
        purchase_vendor_cdf=purchase_cdf,
        vendor_material_offsets=offsets,
        vendor_material_sizes=sizes,
        vendor_material_lookup=order.astype(np.int64),
        material_cost=_minor(materials["standard_cost"]),
        material_price=price,
        sold_materials=np.flatnonzero(price > 0).astype(np.int64),
        customer_cdf=customer_cdf,
        customer_limit=_minor(customers["credit_limit"]),
        customer_rating=np.array([CREDIT_RATINGS.index(r) for r in ratings], dtype=np.int64),
        customer_behaviour=np.array(
            [PAYMENT_BEHAVIOURS.index(b) for b in behaviours], dtype=np.int64
        ),
    )


@dataclass(frozen=True)
class FlowContext:
    """Where a block's flows start and what their documents may post into."""

    config: DatasynthConfig
    block: Block
    company_code: str
    currency: str
    unit: int
    periods: tuple[FiscalPeriod, ...]
    #: day weights of the block's period (flow starts follow the same seasonality as entries)
    start_weights: np.ndarray
    first_day: int
    #: the first day after the generated window: documents dated later do not exist yet
    stop_day: int

    def stream(self, *concern: str) -> np.random.Generator:
        b = self.block
        return stream(
            self.config.global_.seed,
            "document_flows",
            self.company_code,
            b.fiscal_year,
            b.fiscal_period,
            b.block_number,
            *concern,
        )

    def start_days(self, rng: np.random.Generator, n: int) -> np.ndarray:
        out: np.ndarray = self.first_day + dist.draw(rng, dist.cdf(self.start_weights), n)
        return out

    def ids(self, prefix: str, rows: np.ndarray) -> pa.Array:
        """``<prefix>-<company>-<YYYYPP>-<block 4><row 7>`` of the block's flows."""
        b = self.block
        row = np.asarray(rows, dtype=np.int64)
        if row.size and int(row.max()) >= 10**7:
            raise OverflowError(f"a {prefix} row index does not fit in 7 digits")
        return fixed_width_strings(
            f"{prefix}-{self.company_code}-{b.fiscal_year:04d}{b.fiscal_period:02d}-",
            np.int64(b.block_number) * 10**7 + row,
            11,
        )

    def fiscal(self, days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Fiscal year and period of each day (days must lie inside the window)."""
        return fiscal_of(self.periods, days)


def fiscal_of(periods: Sequence[FiscalPeriod], days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fiscal year and period of each day (days since 1970, inside the periods' window)."""
    firsts = np.array([day_number(p.first) for p in periods], dtype=np.int64)
    k = np.searchsorted(firsts, days, side="right") - 1
    years = np.array([p.fiscal_year for p in periods], dtype=np.int16)
    numbers = np.array([p.fiscal_period for p in periods], dtype=np.int8)
    return years[k], numbers[k]


def slotted(*exists: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Documents a flow has up to ``len(exists)`` of (a first and a second goods receipt, ...):
    the flow and slot of each one that exists, ordered flow by flow, then slot by slot."""
    flow = np.concatenate([np.flatnonzero(e) for e in exists])
    slot = np.concatenate(
        [np.full(int(np.count_nonzero(e)), k, dtype=np.int64) for k, e in enumerate(exists)]
    )
    order = np.lexsort((slot, flow))
    return flow[order], slot[order]


def document_items(
    items_per_flow: np.ndarray, doc_flow: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows for every item of documents that each cover all items of their flow: the row's
    document, its position in the document and the flow item it is."""
    start = np.cumsum(items_per_flow) - items_per_flow
    doc, pos = segments(items_per_flow[doc_flow])
    return doc, pos, start[doc_flow][doc] + pos


def segments(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For groups of ``counts`` rows laid end to end: each row's group and its 0-based position."""
    counts = np.asarray(counts, dtype=np.int64)
    group = np.repeat(np.arange(counts.size, dtype=np.int64), counts)
    starts = np.cumsum(counts) - counts
    return group, np.arange(group.size, dtype=np.int64) - starts[group]


def pick_methods(rng: np.random.Generator, mix: dict[str, float], n: int) -> pa.Array:
    names = list(mix)
    return vocab.pick(names, dist.draw(rng, dist.cdf(list(mix.values())), n))


@dataclass
class Postings:
    """Journal entries posted by one kind of flow document (one entry per document).

    ``amounts`` holds each document's candidate lines as signed hundredths (debit positive,
    credit negative) on ``accounts``; zero lines are dropped and each row must sum to zero.
    """

    flow_document: str
    day: np.ndarray
    document_day: np.ndarray
    source_document_id: pa.Array
    partner_prefix: str
    partner: np.ndarray
    accounts: np.ndarray
    amounts: np.ndarray
    manual: bool = False
    #: per document: the open item its AP/AR lines belong to or clear, and that item's due day
    clearing: pa.Array | None = None
    due_day: np.ndarray | None = None
    #: per candidate line (the shape of ``amounts``): the material moved (-1: none) and its
    #: quantity, on inventory lines
    materials: np.ndarray | None = None
    quantities: np.ndarray | None = None
    first_row: int = field(default=-1)

    def __post_init__(self) -> None:
        if self.amounts.size and np.any(self.amounts.sum(axis=1) != 0):
            raise AssertionError(f"unbalanced {self.flow_document} postings")

    @property
    def count(self) -> int:
        return int(self.day.size)


def item_postings(
    documents: int,
    doc: np.ndarray,
    pos: np.ndarray,
    width: int,
    item_lines: list[tuple[int, np.ndarray]],
    header_lines: list[tuple[int, np.ndarray]],
) -> tuple[np.ndarray, np.ndarray]:
    """Accounts and signed amounts of documents that post one line per item and account
    (as an ERP posts a goods receipt or an invoice: inventory and GR/IR per item), plus
    header lines (tax, the payable). ``doc``/``pos`` place each item row in its document;
    ``width`` is the most items a document can have. Zero amounts are dropped later."""
    columns = width * len(item_lines) + len(header_lines)
    amounts = np.zeros((documents, columns), dtype=np.int64)
    accounts = np.zeros(columns, dtype=np.int64)
    for k, (account, values) in enumerate(item_lines):
        amounts[doc, k * width + pos] = values
        accounts[k * width : (k + 1) * width] = account
    for j, (account, values) in enumerate(header_lines):
        amounts[:, width * len(item_lines) + j] = values
        accounts[width * len(item_lines) + j] = account
    return np.tile(accounts, (documents, 1)), amounts


def item_materials(
    documents: int,
    doc: np.ndarray,
    pos: np.ndarray,
    width: int,
    columns: int,
    line: int,
    material: np.ndarray,
    quantity: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Material and quantity matrices for :class:`Postings` whose item line ``line`` (its
    position in :func:`item_postings`'s ``item_lines``) moves stock."""
    materials = np.full((documents, columns), -1, dtype=np.int64)
    quantities = np.zeros((documents, columns), dtype=np.int64)
    materials[doc, line * width + pos] = material
    quantities[doc, line * width + pos] = quantity
    return materials, quantities


def number_postings(postings: Sequence[Postings], first_row: int) -> int:
    """Give each kind of posting its range of entry rows (document types keep their own
    number ranges, as in an ERP); returns the next free row."""
    row = first_row
    for p in postings:
        p.first_row = row
        row += p.count
    return row


def entry_ids(ctx: FlowContext, p: Postings) -> pa.Array:
    """Journal-entry ids of a kind of posting (after :func:`number_postings`)."""
    b = ctx.block
    rows = p.first_row + np.arange(p.count, dtype=np.int64)
    if rows.size and int(rows.max()) >= 10**7:
        raise OverflowError("a journal-entry row index does not fit in 7 digits")
    return fixed_width_strings(
        f"JE-{ctx.company_code}-{b.fiscal_year:04d}{b.fiscal_period:02d}-",
        np.int64(b.block_number) * 10**7 + rows,
        11,
    )


def flow_journal_lines(
    ctx: FlowContext,
    postings: Sequence[Postings],
    *,
    schema: pa.Schema,
    numbers: Sequence[str],
    template_names: Sequence[str],
    template_document_types: Sequence[str],
    template_of: dict[str, int],
    user_ids: Sequence[str],
    automated_users: np.ndarray,
    manual_users: np.ndarray,
    cost_centers: Sequence[str],
    cost_center_cdf: np.ndarray,
    requires_cost_center: np.ndarray,
    open_item_accounts: np.ndarray,
) -> pa.Table:
    """The journal lines of every flow posting, with the columns of ``schema``.
    ``open_item_accounts`` masks the accounts (AP, AR) whose lines carry the posting's open
    item (``clearing_reference``) and due date."""
    postings = [p for p in postings if p.count]
    if not postings:
        return schema.empty_table()
    width = max(p.accounts.shape[1] for p in postings)

    def padded(a: np.ndarray, fill: int) -> np.ndarray:
        out = np.full((a.shape[0], width), fill, dtype=np.int64)
        out[:, : a.shape[1]] = a
        return out

    amounts = np.concatenate([padded(p.amounts, 0) for p in postings])
    accounts = np.concatenate([padded(p.accounts, 0) for p in postings])
    materials = np.concatenate(
        [
            padded(p.materials if p.materials is not None else np.full(p.amounts.shape, -1), -1)
            for p in postings
        ]
    )
    quantities = np.concatenate(
        [
            padded(p.quantities if p.quantities is not None else np.zeros(p.amounts.shape), 0)
            for p in postings
        ]
    )
    day = np.concatenate([p.day for p in postings])
    document_day = np.concatenate([p.document_day for p in postings])
    template = np.concatenate([np.full(p.count, template_of[p.flow_document]) for p in postings])
    manual = np.concatenate([np.full(p.count, p.manual) for p in postings])
    ids = pa.concat_arrays([entry_ids(ctx, p) for p in postings])
    source_ids = pa.concat_arrays([p.source_document_id for p in postings])
    clearing_ids = pa.concat_arrays(
        [p.clearing if p.clearing is not None else pa.nulls(p.count, pa.string()) for p in postings]
    )
    due_day = np.concatenate(
        [p.due_day if p.due_day is not None else np.full(p.count, -1) for p in postings]
    )
    vendor = np.concatenate(
        [p.partner if p.partner_prefix == "V" else np.full(p.count, -1) for p in postings]
    )
    customer = np.concatenate(
        [p.partner if p.partner_prefix == "C" else np.full(p.count, -1) for p in postings]
    )
    n = day.size
    # entries ordered by the period they post in (stable, so each period keeps the document
    # order): the writer then cuts one file per period without copying
    year, period = ctx.fiscal(day)
    perm = np.argsort(year.astype(np.int64) * 100 + period, kind="stable")
    (
        amounts,
        accounts,
        day,
        document_day,
        template,
        manual,
        vendor,
        customer,
        year,
        period,
        due_day,
        materials,
        quantities,
    ) = (
        x[perm]
        for x in (
            amounts,
            accounts,
            day,
            document_day,
            template,
            manual,
            vendor,
            customer,
            year,
            period,
            due_day,
            materials,
            quantities,
        )
    )
    ids, source_ids = ids.take(pa.array(perm)), source_ids.take(pa.array(perm))
    clearing_ids = clearing_ids.take(pa.array(perm))

    # lines: the non-zero candidates, debits before credits within each entry
    keep = amounts != 0
    credit = amounts < 0
    order_key = np.where(keep, credit.astype(np.int64), 2)
    order = np.argsort(order_key, axis=1, kind="stable")
    amounts = np.take_along_axis(amounts, order, axis=1)
    accounts = np.take_along_axis(accounts, order, axis=1)
    materials = np.take_along_axis(materials, order, axis=1)
    quantities = np.take_along_axis(quantities, order, axis=1)
    keep = np.take_along_axis(keep, order, axis=1)
    lines = keep.sum(axis=1)
    if n and int(lines.min()) < 2:
        raise AssertionError("a flow posting has fewer than two lines")
    entry = np.repeat(np.arange(n, dtype=np.int64), lines)
    line_amount = amounts[keep]
    account = accounts[keep]
    line_material = materials[keep]
    line_quantity = quantities[keep]
    moves = line_material >= 0
    starts = np.cumsum(lines) - lines
    line_number = np.arange(entry.size, dtype=np.int64) - starts[entry] + 1
    total_lines = entry.size

    rng = ctx.stream("postings")
    seconds = dist.seconds_of_day(rng, ~manual, ctx.config.transactions.working_hours)
    pool = np.where(manual, manual_users.size, automated_users.size)
    pick = (rng.random(n) * pool).astype(np.int64)
    user = np.where(
        manual,
        manual_users[np.minimum(pick, manual_users.size - 1)],
        automated_users[np.minimum(pick, automated_users.size - 1)],
    )
    cc = dist.draw(rng, cost_center_cdf, total_lines)

    def partner_column(prefix: str, index: np.ndarray) -> pa.Array:
        on = index[entry] >= 0
        ids_ = fixed_width_strings(f"{prefix}-{ctx.company_code}-", index[entry][on] + 1, 6)
        return vocab.scatter(pa.nulls(total_lines, pa.string()), on, ids_)

    persona_names = (*PERSONAS, "automated_system")
    persona = np.where(manual, PERSONAS.index("senior_accountant"), len(PERSONAS))
    process_names = tuple(BUSINESS_PROCESSES)
    process = np.array(
        [process_names.index(template_names[t].split(":")[0]) for t in range(len(template_names))]
    )
    doc_names = sorted(set(template_document_types))
    doc_type = np.array([doc_names.index(d) for d in template_document_types])
    zero = np.zeros(total_lines, dtype=np.int64)
    is_debit = line_amount > 0
    item_line = (
        open_item_accounts[account]
        & pc.is_valid(clearing_ids).to_numpy(zero_copy_only=False)[entry]
    )
    source = np.where(manual, SOURCES.index("manual"), SOURCES.index("automated"))

    def dictionary(indices: np.ndarray, values: Sequence[str]) -> pa.DictionaryArray:
        return pa.DictionaryArray.from_arrays(
            pa.array(np.asarray(indices, dtype=np.int32)), pa.array(list(values), pa.string())
        )

    columns = {
        "document_id": ids.take(pa.array(entry)),
        "company_code": dictionary(np.zeros(total_lines), [ctx.company_code]),
        "fiscal_year": pa.array(year[entry]),
        "fiscal_period": pa.array(period[entry]),
        "posting_date": pa.array(day[entry].astype(np.int32), pa.date32()),
        "document_date": pa.array(document_day[entry].astype(np.int32), pa.date32()),
        "created_at": pa.array((day[entry] * 86_400 + seconds[entry]) * 1000, pa.timestamp("ms")),
        "document_type": dictionary(doc_type[template][entry], doc_names),
        "currency": dictionary(np.zeros(total_lines), [ctx.currency]),
        "source": dictionary(source[entry], SOURCES),
        "business_process": dictionary(process[template][entry], process_names),
        "posting_template": dictionary(template[entry], template_names),
        "created_by": dictionary(user[entry], user_ids),
        "user_persona": dictionary(persona[entry], persona_names),
        "approved_by": pa.nulls(total_lines, pa.string()).dictionary_encode(),
        "line_number": pa.array(line_number.astype(np.int32)),
        "gl_account": dictionary(account, numbers),
        "debit_amount": decimal_from_minor(np.where(is_debit, line_amount, zero)),
        "credit_amount": decimal_from_minor(np.where(is_debit, zero, -line_amount)),
        "cost_center": pa.DictionaryArray.from_arrays(
            pa.array(cc.astype(np.int32), mask=~requires_cost_center[account]),
            pa.array(list(cost_centers), pa.string()),
        ),
        "vendor_id": partner_column("V", vendor),
        "customer_id": partner_column("C", customer),
        "source_document_id": source_ids.take(pa.array(entry)),
        "clearing_reference": vocab.scatter(
            pa.nulls(total_lines, pa.string()),
            item_line,
            clearing_ids.take(pa.array(entry[item_line])),
        ),
        "due_date": pa.array(
            due_day[entry].astype(np.int32), pa.date32(), mask=~item_line | (due_day[entry] < 0)
        ),
        "material_id": vocab.scatter(
            pa.nulls(total_lines, pa.string()),
            moves,
            fixed_width_strings(f"MAT-{ctx.company_code}-", line_material[moves] + 1, 6),
        ),
        "quantity": pa.array(line_quantity, pa.int64(), mask=~moves),
        "is_anomaly": pa.array(np.zeros(total_lines, dtype=bool)),
        "is_fraud": pa.array(np.zeros(total_lines, dtype=bool)),
    }
    return pa.table({f.name: columns[f.name] for f in schema}, schema=schema)


REFERENCE_SCHEMA = pa.schema(
    [
        pa.field("company_code", pa.string(), nullable=False),
        pa.field("source_document_type", pa.string(), nullable=False),
        pa.field("source_document_id", pa.string(), nullable=False),
        pa.field("target_document_type", pa.string(), nullable=False),
        pa.field("target_document_id", pa.string(), nullable=False),
        pa.field("reference_type", pa.string(), nullable=False),
        pa.field("reference_date", pa.date32(), nullable=False),
        pa.field("reference_amount", decimal_from_minor(np.zeros(0, np.int64)).type),
    ]
)


def references(
    ctx: FlowContext,
    source_type: str,
    source_ids: pa.Array,
    target_type: str,
    target_ids: pa.Array,
    kind: str | np.ndarray,
    day: np.ndarray,
    amount: np.ndarray | None,
) -> pa.Table:
    """One ``document_references`` row per (source, target) pair."""
    n = len(target_ids)
    return pa.table(
        {
            "company_code": vocab.constant(ctx.company_code, n),
            "source_document_type": vocab.constant(source_type, n),
            "source_document_id": source_ids,
            "target_document_type": vocab.constant(target_type, n),
            "target_document_id": target_ids,
            "reference_type": pa.array(np.broadcast_to(np.asarray(kind), (n,))),
            "reference_date": pa.array(np.asarray(day, dtype=np.int32), pa.date32()),
            "reference_amount": decimal_from_minor(np.asarray(amount, dtype=np.int64))
            if amount is not None
            else pa.nulls(n, REFERENCE_SCHEMA.field("reference_amount").type),
        },
        schema=REFERENCE_SCHEMA,
    )


def dates(days: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(days, dtype=np.int32), pa.date32())


def money(minor: np.ndarray) -> pa.Array:
    return decimal_from_minor(np.asarray(minor, dtype=np.int64))
