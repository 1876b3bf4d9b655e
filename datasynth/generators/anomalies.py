"""Labelled anomalies injected into one block's journal entries, fully vectorised.

Selection (per block, from the ``anomalies`` streams of the block only):

1. the block's anomaly count is binomial in its entries with ``anomalies.rate`` and is split
   over the categories by ``anomalies.categories`` (multinomial), so the mix holds;
2. each anomaly of a category starts as a *seed*: a posting position drawn with the
   period-end multipliers (last days of a month, quarter, fiscal year) and a type drawn by
   weight among the category's types that still find an entry; it lands on the first free
   entry at or after the position that the type can change (a duplicate payment needs a
   vendor payment, a self-approval an approved entry);
3. with ``clustering.start`` a seed starts a cluster: the next eligible entries in posting
   order within ``window_days``, one more with ``continuation`` each up to ``max_size``, all of
   the seed's type and actor; clusters count towards their category's number;
4. fraud anomalies a person commits are a fraud actor's (``fraud_actors.share``), whose
   amounts escalate over the periods by the actor's pattern; duplicate payments go to the
   company's target vendors where the block pays them.

An entry carries at most one anomaly. Every mutation keeps the entry balanced to the cent; new
entries (duplicates, split parts) get the block's next entry numbers. Each anomaly is one row
of ``labels/anomaly_labels``; ``is_anomaly`` / ``is_fraud`` mark exactly the entries the labels
name, and no other row changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datasynth.config.models import (
    ANOMALY_CATEGORIES,
    ANOMALY_TYPES,
    ENTRY_SOURCES,
    ESCALATION_PATTERNS,
    PERSONAS,
    SOURCES,
    AnomaliesConfig,
    DatasynthConfig,
)
from datasynth.core import distributions as dist
from datasynth.core.blocks import Block
from datasynth.core.ids import fixed_width_strings, journal_entry_prefix
from datasynth.core.money import (
    AMOUNT_TYPE,
    MAX_MINOR_UNITS,
    decimal_from_minor,
    minor_from_decimal,
)
from datasynth.core.seeding import stream
from datasynth.generators.approvals import (
    Entries,
    approver_pool,
    dictionary_positions,
    draw_other,
    user_column,
    user_personas,
)
from datasynth.generators.master import AUTOMATED_PERSONA, CompanyMaster, Master
from datasynth.generators.partners import partner_ids

ANOMALY_LABELS = "anomaly_labels"
_DICT = pa.dictionary(pa.int32(), pa.string())
LABEL_SCHEMA = pa.schema(
    [
        pa.field("anomaly_id", pa.string(), nullable=False),
        pa.field("anomaly_category", _DICT, nullable=False),
        pa.field("anomaly_type", _DICT, nullable=False),
        pa.field("is_fraud", pa.bool_(), nullable=False),
        pa.field("severity", pa.int8(), nullable=False),
        pa.field("detection_difficulty", _DICT, nullable=False),
        pa.field("document_id", pa.string(), nullable=False),
        # the entry copied by a duplicate, or split by a split transaction
        pa.field("original_document_id", pa.string()),
        # further entries the anomaly created (the other parts of a split), comma-separated
        pa.field("related_documents", pa.string()),
        pa.field("company_code", _DICT, nullable=False),
        pa.field("fiscal_year", pa.int16(), nullable=False),
        pa.field("fiscal_period", pa.int8(), nullable=False),
        pa.field("anomaly_date", pa.date32(), nullable=False),
        # line numbers of document_id that changed, comma-separated ("all": every line)
        pa.field("affected_lines", pa.string(), nullable=False),
        pa.field("related_user", pa.string()),
        pa.field("related_vendor", pa.string()),
        pa.field("related_customer", pa.string()),
        # misstatement in the entry's currency (null when no amount is wrong)
        pa.field("monetary_impact", AMOUNT_TYPE),
        pa.field("currency", _DICT, nullable=False),
        pa.field("description", pa.string(), nullable=False),
        pa.field("injection_strategy", _DICT, nullable=False),
        pa.field("cluster_id", pa.string()),
        # the fraud actor's escalation pattern and the factor applied to amounts (1 elsewhere)
        pa.field("escalation_pattern", _DICT),
        pa.field("escalation_factor", pa.float32(), nullable=False),
    ]
)

#: Anti-Benford first digits for fraudulent amounts (reference section 3.3)
ANTI_BENFORD = (0.05, 0.05, 0.05, 0.10, 0.25, 0.10, 0.20, 0.05, 0.15)
#: escalation per pattern: (growth per period, cap); test_then_strike is special-cased
_ESCALATION = {
    "stable": (0.0, 1.0),
    "gradual": (0.10, 3.0),
    "aggressive": (0.25, 5.0),
    "erratic": (0.15, 4.0),
}
#: accounts whose lines a subledger keeps (partners, items, stock, assets) or the close moves:
#: anomalies never move a line onto or off them, so every subledger still ties
PROTECTED_FAMILIES = (
    "role:ap",
    "role:ar",
    "role:ic_payable",
    "role:ic_receivable",
    "subtype:inventory",
    "subtype:fixed_assets",
    "subtype:accumulated_depreciation",
    "subtype:intangibles",
    "subtype:retained_earnings",
    "subtype:income_tax_payable",
    "subtype:income_tax_expense",
)


@dataclass(frozen=True)
class TypeInfo:
    severity: int
    difficulty: str
    strategy: str
    description: str


TYPE_INFO: dict[str, TypeInfo] = {
    "fictitious_entry": TypeInfo(
        4, "medium", "fictitious_entry", "fictitious manual entry with a round amount"
    ),
    "round_dollar_manipulation": TypeInfo(
        2, "medium", "amount_modification", "amount replaced by a round number"
    ),
    "just_below_threshold": TypeInfo(
        3, "medium", "approval_anomaly", "amount set just below the approval threshold"
    ),
    "split_transaction": TypeInfo(
        3,
        "hard",
        "split_transaction",
        "one transaction split into entries below the approval threshold",
    ),
    "self_approval": TypeInfo(3, "easy", "approval_anomaly", "entry approved by its own preparer"),
    "unauthorized_approval": TypeInfo(
        4, "medium", "approval_anomaly", "entry approved by a user without approval authority"
    ),
    "segregation_of_duties": TypeInfo(
        4,
        "hard",
        "segregation_of_duties",
        "vendor payment posted by the person who posted the invoice",
    ),
    "duplicate_payment": TypeInfo(3, "medium", "duplication", "vendor payment made twice"),
    "fictitious_vendor": TypeInfo(
        5, "hard", "counterparty_modification", "invoice from a shell vendor with a round amount"
    ),
    "premature_revenue": TypeInfo(
        5, "hard", "date_modification", "revenue posted before its invoice date, at period end"
    ),
    "expense_capitalization": TypeInfo(
        4, "hard", "account_modification", "expense capitalised as a prepaid asset"
    ),
    "suspense_account_abuse": TypeInfo(
        4, "medium", "account_modification", "round amount parked on the suspense account"
    ),
    "duplicate_entry": TypeInfo(3, "medium", "duplication", "entry posted twice"),
    "reversed_amount": TypeInfo(3, "hard", "reversed_amount", "debits and credits swapped"),
    "transposed_digits": TypeInfo(
        2, "hard", "transposed_digits", "two adjacent digits of the amount swapped"
    ),
    "decimal_shift": TypeInfo(3, "medium", "amount_modification", "decimal point shifted"),
    "misclassified_account": TypeInfo(
        2, "hard", "account_modification", "expense posted to the wrong expense account"
    ),
    "backdated_entry": TypeInfo(
        4, "medium", "date_modification", "entry posted with a date weeks before it was entered"
    ),
    "missing_cost_center": TypeInfo(
        2, "easy", "missing_field", "cost center missing on an account that requires one"
    ),
    "wrong_cost_center": TypeInfo(
        2, "hard", "field_modification", "cost center of another department"
    ),
    "missing_approval": TypeInfo(
        4, "easy", "approval_anomaly", "entry above the approval threshold without approval"
    ),
    "late_posting": TypeInfo(2, "easy", "date_modification", "document posted long after its date"),
    "after_hours_posting": TypeInfo(
        2, "easy", "timing", "posted by a person outside working hours"
    ),
    "weekend_posting": TypeInfo(2, "easy", "timing", "posted by a person on a weekend"),
    "unusually_high_amount": TypeInfo(
        3, "medium", "amount_modification", "amount several times its usual size"
    ),
    "benford_violation": TypeInfo(
        2, "hard", "benford_violation", "amount with an improbable first digit"
    ),
    "repeated_amount": TypeInfo(
        2, "hard", "amount_modification", "the same amount posted repeatedly"
    ),
    "unusual_account_pair": TypeInfo(
        2, "hard", "account_modification", "accounts that are never posted together"
    ),
    "dormant_account": TypeInfo(
        2, "medium", "account_modification", "posting to an account that is otherwise never used"
    ),
    "new_counterparty": TypeInfo(
        1, "hard", "counterparty_modification", "vendor that the company hardly ever deals with"
    ),
}
#: types that break the approval rule on purpose (every other changed entry is re-approved)
_APPROVAL_TYPES = frozenset(
    {
        "self_approval",
        "unauthorized_approval",
        "missing_approval",
        "just_below_threshold",
        "split_transaction",
    }
)
_HOUR_MS = 3_600_000
_DAY_MS = 86_400_000


def _check_types() -> None:
    missing = set(ANOMALY_TYPES) ^ set(TYPE_INFO)
    if missing:
        raise RuntimeError(f"anomaly types without an implementation or config: {sorted(missing)}")


_check_types()


# ------------------------------------------------------------------------------------------
# the block's ledger as mutable numpy arrays


@dataclass
class Ledger:
    """One block's journal lines as arrays; mutations mark entries as changed."""

    table: pa.Table
    entries: Entries
    company: CompanyMaster
    debit: np.ndarray
    credit: np.ndarray
    account: np.ndarray
    cost_center: np.ndarray
    vendor: np.ndarray  # vendor index per line (-1: none)
    posting_day: np.ndarray  # per entry
    document_day: np.ndarray
    created_ms: np.ndarray
    user: np.ndarray
    approver: np.ndarray
    source: np.ndarray
    # entry-level facts for eligibility
    doc_type: np.ndarray
    from_flow: np.ndarray
    #: entries whose header columns (dates, users, source) changed
    header_changed: np.ndarray = field(init=False)
    #: entries whose posting date changed (fiscal period recomputed)
    moved: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.header_changed = np.zeros(self.entries.n, dtype=bool)
        self.moved = np.zeros(self.entries.n, dtype=bool)
        self._totals: np.ndarray | None = None

    @property
    def n(self) -> int:
        return self.entries.n

    def totals(self) -> np.ndarray:
        """Each entry's total (sum of its debits), kept current by :meth:`set_totals`."""
        if self._totals is None:
            self._totals = (
                np.add.reduceat(self.debit, self.entries.starts)
                if self.debit.size
                else np.zeros(0, dtype=np.int64)
            )
        return self._totals

    def lines_of(self, entries: np.ndarray) -> np.ndarray:
        """Line indices of ``entries`` (in entry order)."""
        e = self.entries
        sizes = e.sizes[entries]
        first = np.repeat(e.starts[entries], sizes)
        offset = np.arange(int(sizes.sum())) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        out: np.ndarray = first + offset
        return out

    def set_totals(self, entries: np.ndarray, new: np.ndarray) -> None:
        """Scale the lines of each entry so both sides sum to ``new`` exactly (in the
        currency's unit); the rounding residue goes to each side's largest line."""
        if entries.size == 0:
            return
        lines = self.lines_of(entries)
        owner = np.repeat(np.arange(entries.size), self.entries.sizes[entries])
        debit, credit = self.debit[lines], self.credit[lines]
        new = _scale_lines(debit, credit, owner, new, self.company.amount_unit)
        self.debit[lines], self.credit[lines] = debit, credit
        self.totals()[entries] = new

    def swap_sides(self, entries: np.ndarray) -> None:
        lines = self.lines_of(entries)
        self.debit[lines], self.credit[lines] = self.credit[lines].copy(), self.debit[lines].copy()


def _group_sum(values: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros(n, dtype=np.int64)
    np.add.at(out, owner, values)
    return out


def _ledger(table: pa.Table, company: CompanyMaster, numbers: tuple[str, ...]) -> Ledger:
    entries = Entries.of(table)
    starts = entries.starts

    def days(column: str) -> np.ndarray:
        values = table[column].combine_chunks().cast(pa.int32()).to_numpy()
        out: np.ndarray = values.astype(np.int64)[starts]
        return out

    vendor_text = table["vendor_id"].combine_chunks()
    vendor = np.full(table.num_rows, -1, dtype=np.int64)
    valid = np.asarray(vendor_text.is_valid(), dtype=bool)
    if valid.any():
        digits = pc.utf8_slice_codeunits(vendor_text.filter(pa.array(valid)), -6)
        vendor[valid] = pc.cast(digits, pa.int64()).to_numpy() - 1
    doc_type = table["document_type"].combine_chunks()
    return Ledger(
        table=table,
        entries=entries,
        company=company,
        debit=minor_from_decimal(table["debit_amount"]),
        credit=minor_from_decimal(table["credit_amount"]),
        account=dictionary_positions(table["gl_account"], numbers),
        cost_center=dictionary_positions(table["cost_center"], company.cost_centers),
        vendor=vendor,
        posting_day=days("posting_date"),
        document_day=days("document_date"),
        created_ms=table["created_at"].combine_chunks().cast(pa.int64()).to_numpy()[starts],
        user=dictionary_positions(table["created_by"], company.user_ids)[starts],
        approver=dictionary_positions(table["approved_by"], company.user_ids)[starts],
        source=dictionary_positions(table["source"], ENTRY_SOURCES)[starts],
        doc_type=np.asarray([*doc_type.dictionary.to_pylist(), ""], dtype=object)[
            doc_type.indices.fill_null(len(doc_type.dictionary)).to_numpy()[starts]
        ],
        from_flow=np.asarray(table["source_document_id"].combine_chunks().is_valid(), dtype=bool)[
            starts
        ],
    )


# ------------------------------------------------------------------------------------------
# one anomaly type: who is eligible and what changes


@dataclass
class Effect:
    """What applying a type to its entries did, per anomaly (aligned with the entries)."""

    impact: np.ndarray  # minor units, -1 for "no amount is wrong"
    lines: pa.Array | None = None  # affected line numbers as strings; None: "all"
    detail: pa.Array | None = None  # appended to the type's description
    keep: np.ndarray | None = None  # False: the type could not change this entry after all
    related: np.ndarray | None = None  # a second entry the anomaly changed (-1: none)


@dataclass
class Clone:
    """A new entry copied from ``source`` (an entry index), shifted ``days``, with lines
    scaled to ``total`` (-1: as the source)."""

    source: np.ndarray
    days: np.ndarray
    total: np.ndarray
    #: index of the anomaly (in the label list) the clone belongs to
    anomaly: np.ndarray
    #: whether the clone is the labelled document (duplicates) or a related one (split parts)
    labelled: np.ndarray
    #: preparer of the clone (-1: the source's)
    user: np.ndarray | None = None


@dataclass
class Context:
    config: DatasynthConfig
    master: Master
    company: CompanyMaster
    block: Block
    key: tuple[object, ...]
    threshold: int  # approval threshold in minor units
    protected: np.ndarray  # over the chart
    expense: np.ndarray
    revenue: np.ndarray
    dormant: np.ndarray
    personas: np.ndarray  # per user
    actors: np.ndarray  # fraud actor user indices
    actor_pattern: np.ndarray  # index into ESCALATION_PATTERNS
    target_vendors: np.ndarray
    period_index: int
    #: shell vendors per company (fictitious_vendor)
    shells: int = 0
    clones: list[Clone] = field(default_factory=list)
    #: entries that carry an anomaly (set after selection)
    claimed: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))

    def rng(self, *concern: object) -> np.random.Generator:
        return stream(*self.key, *concern)  # type: ignore[arg-type]


def _amount_text(minor: np.ndarray) -> pa.Array:
    return pc.cast(decimal_from_minor(minor), pa.string())


def _detail(prefix: str, old: np.ndarray, new: np.ndarray) -> pa.Array:
    return pc.binary_join_element_wise(
        pa.scalar(prefix), _amount_text(old), pa.scalar(" -> "), _amount_text(new), ""
    )


def _round_amounts(
    rng: np.random.Generator, n: int, scale: float, low: float, high: float, unit: int
) -> np.ndarray:
    """Obvious round amounts (k*1000, k*5000, k*10000, some less one cent) in [low, high]."""
    kind = rng.integers(0, 4, n)
    step = np.array([1_000.0, 5_000.0, 10_000.0, 1_000.0])[kind] * scale
    k = np.maximum(np.floor(rng.uniform(low, high, n) / step), 1)
    cents = np.rint(k * step * 100 / unit) * unit
    cents = np.where((kind == 3) & (unit == 1), cents - 1, cents)
    out: np.ndarray = cents.astype(np.int64)
    return out


def _eligible_basic(led: Ledger, ctx: Context) -> dict[str, np.ndarray]:
    """Entry masks shared by several types."""
    e = led.entries
    line_entry = e.line_entry
    human = ctx.personas[led.user] < len(PERSONAS)
    prot_line = ctx.protected[led.account]
    any_protected = np.bincount(line_entry, weights=prot_line, minlength=e.n) > 0
    totals = led.totals()
    ap = np.zeros(len(ctx.master.chart.numbers), dtype=bool)
    ap[list(ctx.master.chart.families["role:ap"])] = True
    ap_debit = np.bincount(line_entry, weights=ap[led.account] & (led.debit > 0), minlength=e.n) > 0
    payment = ap_debit & (led.doc_type == "KZ")
    return {
        "human": human,
        "clean": ~any_protected,
        "standalone": ~led.from_flow,
        "two_lines": e.sizes == 2,
        "positive": totals > 0,
        "payment": payment,
        "approved": led.approver >= 0,
        "totals": totals,
    }


def _eligibility(led: Ledger, ctx: Context) -> dict[str, np.ndarray]:
    b = _eligible_basic(led, ctx)
    e = led.entries
    line_entry = e.line_entry
    human, clean, standalone, two = b["human"], b["clean"], b["standalone"], b["two_lines"]
    positive, totals = b["positive"], b["totals"]
    unit = led.company.amount_unit
    expense_debit = ctx.expense[led.account] & (led.debit > 0) & ~ctx.protected[led.account]
    has_expense = np.bincount(line_entry, weights=expense_debit, minlength=e.n) > 0
    revenue_credit = ctx.revenue[led.account] & (led.credit > 0)
    has_revenue = np.bincount(line_entry, weights=revenue_credit, minlength=e.n) > 0
    cc_line = led.cost_center >= 0
    has_cc = np.bincount(line_entry, weights=cc_line, minlength=e.n) > 0
    has_vendor = (
        np.bincount(line_entry, weights=led.vendor >= ctx.company.group_vendors, minlength=e.n) > 0
    )
    # protected lines other than the AP account's (stock, assets, ...) keep a vendor change out
    ap = ctx.master.chart.family_mask("role:ap")
    other_protected = ctx.protected[led.account] & ~ap[led.account]
    clean_vendor = np.bincount(line_entry, weights=other_protected, minlength=e.n) == 0
    seconds = (led.created_ms % _DAY_MS) // 1000
    office = (seconds >= 7 * 3600) & (seconds < 19 * 3600)
    weekday = (led.posting_day + 3) % 7 < 5  # 1970-01-01 was a Thursday
    day = led.posting_day.astype("datetime64[D]")
    month_end = (day.astype("datetime64[M]") + 1).astype("datetime64[D]").astype(np.int64) - 1
    near_end = month_end - led.posting_day < 5
    invoice = _invoice_entries(led)
    below = totals < ctx.threshold
    return {
        "fictitious_entry": human & standalone & clean & two,
        "round_dollar_manipulation": human & positive & clean,
        "just_below_threshold": human & positive & clean & below,
        "split_transaction": human
        & standalone
        & clean
        & two
        & (totals >= ctx.threshold)
        & (totals < 5 * (ctx.threshold - unit)),
        "self_approval": b["approved"],
        "unauthorized_approval": b["approved"],
        "segregation_of_duties": b["payment"] & (invoice >= 0),
        "duplicate_payment": b["payment"],
        "premature_revenue": has_revenue & near_end,
        "expense_capitalization": has_expense,
        "suspense_account_abuse": human & standalone & clean & two,
        "duplicate_entry": standalone & human & clean,
        "reversed_amount": standalone & clean,
        "transposed_digits": two & clean & (totals >= 1000 * unit),
        "decimal_shift": human & clean & (totals >= 10 * unit),
        "misclassified_account": has_expense,
        "backdated_entry": standalone & clean,
        "missing_cost_center": has_cc,
        "wrong_cost_center": has_cc,
        "missing_approval": b["approved"],
        "late_posting": human & standalone,
        "after_hours_posting": human & office,
        "weekend_posting": human & weekday & clean,
        "unusually_high_amount": clean & positive,
        "benford_violation": clean & (totals >= 10 * unit),
        "repeated_amount": human & clean & positive,
        "unusual_account_pair": standalone & clean & two,
        "dormant_account": standalone & clean & (ctx.dormant.any()),
        "new_counterparty": standalone & has_vendor,
        "fictitious_vendor": standalone & has_vendor & clean_vendor & (ctx.shells > 0),
        "_invoice": invoice,
    }


def _invoice_entries(led: Ledger) -> np.ndarray:
    """Per entry: for a vendor payment, the entry of the invoice it clears when that invoice
    is in the block (the first one, for partial payments); -1 otherwise."""
    out = np.full(led.n, -1, dtype=np.int64)
    ref = led.table["clearing_reference"].combine_chunks()
    valid = np.asarray(ref.is_valid(), dtype=bool)
    if not valid.any():
        return out
    rows = np.flatnonzero(valid)
    line_entry = led.entries.line_entry[rows]
    is_payment = (led.doc_type[line_entry] == "KZ") & (led.debit[rows] > 0)
    is_invoice = (led.doc_type[line_entry] != "KZ") & (led.credit[rows] > 0)
    refs = ref.take(pa.array(rows))
    inv_rows = np.flatnonzero(is_invoice)
    pay_rows = np.flatnonzero(is_payment)
    if not inv_rows.size or not pay_rows.size:
        return out
    found = pc.index_in(refs.take(pa.array(pay_rows)), value_set=refs.take(pa.array(inv_rows)))
    hit = np.asarray(found.is_valid(), dtype=bool)
    invoice = line_entry[inv_rows[found.fill_null(0).to_numpy()]]
    payer = line_entry[pay_rows]
    out[payer[hit]] = invoice[hit]
    return out


# ------------------------------------------------------------------------------------------
# mutations, one function per type: (ledger, context, entries, rng, eligibility) -> Effect

Mutation = Callable[
    [Ledger, Context, np.ndarray, np.random.Generator, dict[str, np.ndarray], np.ndarray], Effect
]


def _scale_effect(led: Ledger, idx: np.ndarray, new: np.ndarray, prefix: str = "amount ") -> Effect:
    old = led.totals()[idx]
    led.set_totals(idx, new)
    now = led.totals()[idx]
    return Effect(impact=np.abs(now - old), detail=_detail(prefix, old, now))


def _fictitious_entry(led, ctx, idx, rng, el, factor):  # type: ignore[no-untyped-def]
    c = led.company
    new = _round_amounts(rng, idx.size, c.amount_scale, 10_000, 500_000, c.amount_unit)
    new = (new * factor).astype(np.int64)
    led.source[idx] = SOURCES.index("manual")
    led.header_changed[idx] = True
    now_old = led.totals()[idx]
    led.set_totals(idx, new)
    now = led.totals()[idx]
    return Effect(impact=now, detail=_detail("fictitious amount ", now_old, now))


def _round_dollar(led, ctx, idx, rng, el, factor):  # type: ignore[no-untyped-def]
    c = led.company
    new = _round_amounts(rng, idx.size, c.amount_scale, 1_000, 100_000, c.amount_unit)
    return _scale_effect(led, idx, (new * factor).astype(np.int64))


def _just_below(led, ctx, idx, rng, el, factor):  # type: ignore[no-untyped-def]
    below = 1 - rng.uniform(0.01, 0.15, idx.size)
    noise = 1 + rng.uniform(-0.005, 0.005, idx.size)
    new = np.minimum(ctx.threshold * below * noise, ctx.threshold - led.company.amount_unit)
    effect = _scale_effect(led, idx, new.astype(np.int64))
    led.approver[idx] = -1
    led.header_changed[idx] = True
    return effect


def _split(led, ctx, idx, rng, el, factor):  # type: ignore[no-untyped-def]
    unit = led.company.amount_unit
    totals = led.totals()[idx]
    need = np.ceil(totals / (ctx.threshold - unit)).astype(np.int64)
    parts = np.clip(np.maximum(rng.integers(2, 6, idx.size), need), 2, 5)
    # every part below the threshold: the later parts round up, the first takes the rest
    each = -(-totals // (parts * unit)) * unit
    first = totals - each * (parts - 1)
    led.set_totals(idx, first)
    led.approver[idx] = -1
    led.header_changed[idx] = True
    extra = parts - 1
    src = np.repeat(idx, extra)
    anomaly = np.repeat(np.arange(idx.size), extra)
    ctx.clones.append(
        Clone(
            source=src,
            days=np.zeros(src.size, dtype=np.int64),
            total=np.repeat(each, extra),
            anomaly=anomaly,
            labelled=np.zeros(src.size, dtype=bool),
        )
    )
    detail = pc.binary_join_element_wise(
        pa.scalar("amount "),
        _amount_text(totals),
        pa.scalar(" in "),
        pc.cast(pa.array(parts), pa.string()),
        pa.scalar(" parts"),
        "",
    )
    return Effect(impact=totals, detail=detail)


def _self_approval(led, ctx, idx, rng, el, factor):  # type: ignore[no-untyped-def]
    led.approver[idx] = led.user[idx]
    led.header_changed[idx] = True
    return Effect(impact=np.full(idx.size, -1))


def _unauthorized_approval(led, ctx, idx, rng, el, factor):  # type: ignore[no-untyped-def]
    juniors = np.flatnonzero(ctx.personas == PERSONAS.index("junior_accountant"))
    if juniors.size == 0:
        return Effect(impact=np.full(idx.size, -1), keep=np.zeros(idx.size, dtype=bool))
    chosen = draw_other(juniors, led.user[idx], rng.random(idx.size))
    keep = chosen >= 0
    led.approver[idx[keep]] = chosen[keep]
    led.header_changed[idx] = True
    return Effect(impact=np.full(idx.size, -1), keep=keep)


def _sod(led, ctx, idx, rng, el, factor):  # type: ignore[no-untyped-def]
    # one person posts both the vendor invoice and its payment (the actor, or a random
    # person of the company); an invoice that carries another anomaly is left alone
    invoice = el["_invoice"][idx]
    _, first = np.unique(invoice, return_index=True)
    keep = np.zeros(idx.size, dtype=bool)
    keep[first] = True
    keep &= ~ctx.claimed[invoice]
    humans = np.flatnonzero(ctx.personas < len(PERSONAS))
    person = np.where(
        ctx.personas[led.user[idx]] < len(PERSONAS),
        led.user[idx],
        humans[rng.integers(0, humans.size, idx.size)],
    )
    for entry in (idx[keep], invoice[keep]):
        led.user[entry] = person[keep]
        led.source[entry] = SOURCES.index("manual")
        led.header_changed[entry] = True
    ctx.claimed[invoice[keep]] = True
    return Effect(impact=np.full(idx.size, -1), keep=keep, related=invoice)


def _duplicate_payment(led, ctx, idx, rng, el, factor):  # type: ignore[no-untyped-def]
    return _duplicate(led, ctx, idx, rng, max_days=6)


def _duplicate_entry(led, ctx, idx, rng, el, factor):  # type: ignore[no-untyped-def]
    return _duplicate(led, ctx, idx, rng, max_days=1)


def _duplicate(
    led: Ledger, ctx: Context, idx: np.ndarray, rng: np.random.Generator, max_days: int
) -> Effect:
    day = led.posting_day[idx]
    month_end = (day.astype("datetime64[D]").astype("datetime64[M]") + 1).astype(
        "datetime64[D]"
    ).astype(np.int64) - 1
    shift = np.minimum(rng.integers(0, max_days, idx.size), month_end - day)
    ctx.clones.append(
        Clone(
            source=idx,
            days=shift,
            total=np.full(idx.size, -1, dtype=np.int64),
            anomaly=np.arange(idx.size),
            labelled=np.ones(idx.size, dtype=bool),
        )
    )
    return Effect(impact=led.totals()[idx])


def _premature_revenue(led, ctx, idx, rng, el, factor):  # type: ignore[no-untyped-def]
    day = led.posting_day[idx]
    month_end = (day.astype("datetime64[D]").astype("datetime64[M]") + 1).astype(
        "datetime64[D]"
    ).astype(np.int64) - 1
    led.document_day[idx] = month_end + rng.integers(1, 16, idx.size)
    led.header_changed[idx] = True
    lines = led.lines_of(idx)
    revenue = ctx.revenue[led.account[lines]] & (led.credit[lines] > 0)
    owner = np.repeat(np.arange(idx.size), led.entries.sizes[idx])
    impact = _group_sum(np.where(revenue, led.credit[lines], 0), owner, idx.size)
    # the document date is a header field: every line changes
    return Effect(impact=impact)


def _line_list(
    led: Ledger, lines: np.ndarray, mask: np.ndarray, owner: np.ndarray, n: int
) -> pa.Array:
    """Comma-separated line numbers of the masked lines per anomaly."""
    number = lines - led.entries.starts[led.entries.line_entry[lines]] + 1
    chosen = np.flatnonzero(mask)
    text = pc.cast(pa.array(number[chosen]), pa.string())
    lists = pa.ListArray.from_arrays(
        pa.array(np.r_[0, np.cumsum(np.bincount(owner[chosen], minlength=n))].astype(np.int32)),
        text,
    )
    return pc.binary_join(lists, ",")


def _move_lines(
    led: Ledger,
    ctx: Context,
    idx: np.ndarray,
    rng: np.random.Generator,
    line_mask: Callable[[np.ndarray], np.ndarray],
    targets: np.ndarray,
    one: bool = True,
) -> Effect:
    """Move (the first or every) line of each entry selected by ``line_mask`` to an account
    drawn from ``targets`` (chart indices) other than its own."""
    lines = led.lines_of(idx)
    owner = np.repeat(np.arange(idx.size), led.entries.sizes[idx])
    mask = line_mask(lines)
    if one:
        first = np.zeros_like(mask)
        hit = np.flatnonzero(mask)
        _, at = np.unique(owner[hit], return_index=True)
        first[hit[at]] = True
        mask = first
    moved = lines[mask]
    pick = targets[rng.integers(0, targets.size, moved.size)]
    same = pick == led.account[moved]
    pick[same] = targets[(np.searchsorted(targets, pick[same]) + 1) % targets.size]
    # a single target that is the line's own account already: that line does not move
    mask[np.flatnonzero(mask)[pick == led.account[moved]]] = False
    pick = pick[pick != led.account[moved]]
    moved = lines[mask]
    led.account[moved] = pick
    _fix_cost_centers(led, ctx, moved, rng)
    amount = led.debit[moved] + led.credit[moved]
    impact = _group_sum(amount, owner[mask], idx.size)
    keep = np.bincount(owner[mask], minlength=idx.size) > 0
    return Effect(impact=impact, lines=_line_list(led, lines, mask, owner, idx.size), keep=keep)


def _fix_cost_centers(
    led: Ledger, ctx: Context, lines: np.ndarray, rng: np.random.Generator
) -> None:
    """Lines moved to another account carry a cost center exactly when it requires one."""
    needs = ctx.master.chart.requires_cost_center[led.account[lines]]
    missing = needs & (led.cost_center[lines] < 0)
    led.cost_center[lines[~needs]] = -1
    led.cost_center[lines[missing]] = rng.integers(
        0, len(led.company.cost_centers), int(missing.sum())
    )


def _expense_capitalization(led, ctx, idx, rng, el, factor):  # type: ignore[no-untyped-def]
    prepaid = np.array(ctx.master.chart.families["subtype:prepaid"][:1])
    effect = _move_lines(
        led,
        ctx,
        idx,
        rng,
        lambda lines: (
            ctx.expense[led.account[lines]]
            & (led.debit[lines] > 0)
            & ~ctx.protected[led.account[lines]]
        ),
        prepaid,
        one=False,
    )
    return effect


def _suspense(led, ctx, idx, rng, el, factor):  # type: ignore[no-untyped-def]
    c = led.company
    new = _round_amounts(rng, idx.size, c.amount_scale, 1_000, 100_000, c.amount_unit)
    led.set_totals(idx, (new * factor).astype(np.int64))
    suspense = np.array(ctx.master.chart.families["role:suspense"][:1])
    effect = _move_lines(led, ctx, idx, rng, lambda lines: led.debit[lines] > 0, suspense)
    effect.impact = led.totals()[idx]
    effect.lines = None  # every line's amount changed
    return effect


def _reversed(led, ctx, idx, rng, el, factor):  # type: ignore[no-untyped-def]
    led.swap_sides(idx)
    return Effect(impact=2 * led.totals()[idx])


def _transposed(led, ctx, idx, rng, el, factor):  # type: ignore[no-untyped-def]
    unit = led.company.amount_unit
    old = led.totals()[idx]
    value = old // unit
    n_digits = np.floor(np.log10(np.maximum(value, 1))).astype(np.int64) + 1
    new = value.copy()
    done = np.zeros(idx.size, dtype=bool)
    for _ in range(4):  # a few tries to find two different adjacent digits
        j = (rng.random(idx.size) * np.maximum(n_digits - 1, 1)).astype(np.int64)
        low = (value // 10**j) % 10
        high = (value // 10 ** (j + 1)) % 10
        cand = value + (high - low) * 10**j + (low - high) * 10 ** (j + 1)
        ok = ~done & (low != high) & (cand > 0) & (n_digits >= 2)
        # a leading digit must not become zero
        ok &= np.floor(np.log10(np.maximum(cand, 1))).astype(np.int64) + 1 == n_digits
        new[ok] = cand[ok]
        done |= ok
    led.set_totals(idx[done], new[done] * unit)
    now = led.totals()[idx]
    return Effect(impact=np.abs(now - old), detail=_detail("amount ", old, now), keep=done)


def _decimal_shift(led, ctx, idx, rng, el, factor):  # type: ignore[no-untyped-def]
    old = led.totals()[idx]
    up = rng.random(idx.size) < 0.7
    new = np.where(up, old * 10, old // 10)
    return _scale_effect(led, idx, new)


def _misclassified(led, ctx, idx, rng, el, factor):  # type: ignore[no-untyped-def]
    targets = np.flatnonzero(ctx.expense & ~ctx.protected)
    return _move_lines(
        led,
        ctx,
        idx,
        rng,
        lambda lines: (
            ctx.expense[led.account[lines]]
            & (led.debit[lines] > 0)
            & ~ctx.protected[led.account[lines]]
        ),
        targets,
    )


def _backdated(led, ctx, idx, rng, el, factor):  # type: ignore[no-untyped-def]
    first = _window_first(led.company)
    new = np.maximum(led.posting_day[idx] - rng.integers(5, 31, idx.size), first)
    keep = new < led.posting_day[idx]
    led.posting_day[idx] = new
    led.document_day[idx] = np.minimum(led.document_day[idx], new)
    led.header_changed[idx] = True
    led.moved[idx] = True
    return Effect(impact=np.full(idx.size, -1), keep=keep)


def _window_first(company: CompanyMaster) -> int:
    return int(np.datetime64(company.periods[0].first, "D").astype(np.int64))


def _missing_cc(led, ctx, idx, rng, el, factor):  # type: ignore[no-untyped-def]
    lines = led.lines_of(idx)
    owner = np.repeat(np.arange(idx.size), led.entries.sizes[idx])
    mask = led.cost_center[lines] >= 0
    led.cost_center[lines[mask]] = -1
    return Effect(impact=np.full(idx.size, -1), lines=_line_list(led, lines, mask, owner, idx.size))


def _wrong_cc(led, ctx, idx, rng, el, factor):  # type: ignore[no-untyped-def]
    lines = led.lines_of(idx)
    owner = np.repeat(np.arange(idx.size), led.entries.sizes[idx])
    mask = led.cost_center[lines] >= 0
    k = len(led.company.cost_centers)
    shift = 1 + rng.integers(0, max(k - 1, 1), idx.size)
    led.cost_center[lines[mask]] = (led.cost_center[lines[mask]] + shift[owner[mask]]) % k
    return Effect(impact=np.full(idx.size, -1), lines=_line_list(led, lines, mask, owner, idx.size))


def _missing_approval(led, ctx, idx, rng, el, factor):  # type: ignore[no-untyped-def]
    led.approver[idx] = -1
    led.header_changed[idx] = True
    return Effect(impact=np.full(idx.size, -1))


def _late_posting(led, ctx, idx, rng, el, factor):  # type: ignore[no-untyped-def]
    led.document_day[idx] = led.posting_day[idx] - rng.integers(30, 91, idx.size)
    led.header_changed[idx] = True
    return Effect(impact=np.full(idx.size, -1))


def _after_hours(led, ctx, idx, rng, el, factor):  # type: ignore[no-untyped-def]
    hour = np.where(
        rng.random(idx.size) < 0.6, rng.integers(21, 24, idx.size), rng.integers(0, 5, idx.size)
    )
    day_ms = led.created_ms[idx] // _DAY_MS * _DAY_MS
    led.created_ms[idx] = day_ms + hour * _HOUR_MS + rng.integers(0, _HOUR_MS, idx.size)
    led.header_changed[idx] = True
    return Effect(impact=np.full(idx.size, -1))


def _weekend(led, ctx, idx, rng, el, factor):  # type: ignore[no-untyped-def]
    day = led.posting_day[idx]
    weekday = (day + 3) % 7  # Monday 0
    back = day - weekday - 1  # the Sunday before
    ahead = day + (5 - weekday)  # the Saturday after
    month = day.astype("datetime64[D]").astype("datetime64[M]")

    def same_month(d: np.ndarray) -> np.ndarray:
        out: np.ndarray = d.astype("datetime64[D]").astype("datetime64[M]") == month
        return out

    first, stop = _window_first(led.company), _window_stop(led.company)
    ok_back = same_month(back) & (back >= first)
    ok_ahead = same_month(ahead) & (ahead < stop)
    take_back = ok_back & (~ok_ahead | (rng.random(idx.size) < 0.5))
    new = np.where(take_back, back, ahead)
    keep = ok_back | ok_ahead
    new = np.where(keep, new, day)
    shift = new - day
    led.posting_day[idx] = new
    led.created_ms[idx] += shift * _DAY_MS
    led.document_day[idx] = np.minimum(led.document_day[idx], new)
    led.header_changed[idx] = True
    led.moved[idx] = True
    return Effect(impact=np.full(idx.size, -1), keep=keep)


def _window_stop(company: CompanyMaster) -> int:
    return int(np.datetime64(company.periods[-1].stop, "D").astype(np.int64))


def _unusually_high(led, ctx, idx, rng, el, factor):  # type: ignore[no-untyped-def]
    old = led.totals()[idx]
    return _scale_effect(
        led, idx, (old * rng.uniform(3.0, 10.0, idx.size) * factor).astype(np.int64)
    )


def _benford(led, ctx, idx, rng, el, factor):  # type: ignore[no-untyped-def]
    unit = led.company.amount_unit
    old = led.totals()[idx]
    decade = np.floor(np.log10(np.maximum(old // unit, 1)))
    digit = 1 + dist.draw(rng, dist.cdf(ANTI_BENFORD), idx.size)
    value = (digit + rng.random(idx.size)) * 10.0**decade
    return _scale_effect(led, idx, (value * unit).astype(np.int64))


def _repeated(led, ctx, idx, rng, el, factor):  # type: ignore[no-untyped-def]
    c = led.company
    # one amount per block that every such entry repeats (a just-fitting round figure)
    amount = float(rng.choice([2_450.0, 4_950.0, 9_850.0, 7_500.0, 1_999.0])) * c.amount_scale
    new = np.full(idx.size, round(amount * 100 / c.amount_unit) * c.amount_unit, dtype=np.int64)
    return _scale_effect(led, idx, new)


def _unusual_pair(led, ctx, idx, rng, el, factor):  # type: ignore[no-untyped-def]
    # the credit line moves to an account of another class than both of the entry's accounts
    classes = ctx.master.chart.table["account_class"].to_numpy(zero_copy_only=False)
    lines = led.lines_of(idx)
    credit_lines = lines[led.credit[lines] > 0][: idx.size]
    debit_lines = lines[led.debit[lines] > 0][: idx.size]
    candidates = np.flatnonzero(~ctx.protected)
    pick = candidates[rng.integers(0, candidates.size, idx.size)]
    for _ in range(8):
        clash = (classes[pick] == classes[led.account[credit_lines]]) | (
            classes[pick] == classes[led.account[debit_lines]]
        )
        if not clash.any():
            break
        pick[clash] = candidates[rng.integers(0, candidates.size, int(clash.sum()))]
    keep = ~clash
    led.account[credit_lines[keep]] = pick[keep]
    _fix_cost_centers(led, ctx, credit_lines[keep], rng)
    lines_text = pc.cast(pa.array(credit_lines - led.entries.starts[idx] + 1), pa.string())
    return Effect(impact=np.full(idx.size, -1), lines=lines_text, keep=keep)


def _dormant(led, ctx, idx, rng, el, factor):  # type: ignore[no-untyped-def]
    targets = np.flatnonzero(ctx.dormant)
    return _move_lines(led, ctx, idx, rng, lambda lines: np.ones(lines.size, dtype=bool), targets)


def _new_counterparty(led, ctx, idx, rng, el, factor):  # type: ignore[no-untyped-def]
    c = led.company
    vendors = c.vendor_cdf.size
    tail_start = max(c.group_vendors, int(vendors * 0.9))
    lines = led.lines_of(idx)
    owner = np.repeat(np.arange(idx.size), led.entries.sizes[idx])
    mask = led.vendor[lines] >= c.group_vendors
    pick = rng.integers(tail_start, vendors, idx.size)
    # never the vendor the line already names (the next one of the tail instead)
    tail = vendors - tail_start
    same = pick[owner] == led.vendor[lines]
    new = np.where(same, tail_start + (pick[owner] - tail_start + 1) % tail, pick[owner])
    mask &= new != led.vendor[lines]
    led.vendor[lines[mask]] = new[mask]
    keep = np.bincount(owner[mask], minlength=idx.size) > 0
    return Effect(
        impact=np.full(idx.size, -1),
        lines=_line_list(led, lines, mask, owner, idx.size),
        keep=keep,
    )


def _fictitious_vendor(led, ctx, idx, rng, el, factor):  # type: ignore[no-untyped-def]
    # the entry's vendor lines name one of the company's shell vendors (after its real ones),
    # for a round amount of 25K-250K (group currency, x the actor's escalation)
    c = led.company
    real = ctx.config.master_data.vendors
    lines = led.lines_of(idx)
    owner = np.repeat(np.arange(idx.size), led.entries.sizes[idx])
    mask = led.vendor[lines] >= c.group_vendors
    shell = real + rng.integers(0, ctx.shells, idx.size)
    led.vendor[lines[mask]] = shell[owner[mask]]
    new = _round_amounts(rng, idx.size, c.amount_scale, 25_000, 250_000, c.amount_unit)
    old = led.totals()[idx].copy()
    led.set_totals(idx, (new * factor).astype(np.int64))
    now = led.totals()[idx]
    return Effect(impact=now, detail=_detail("amount ", old, now))


MUTATIONS: dict[str, Mutation] = {
    "fictitious_entry": _fictitious_entry,
    "round_dollar_manipulation": _round_dollar,
    "just_below_threshold": _just_below,
    "split_transaction": _split,
    "self_approval": _self_approval,
    "unauthorized_approval": _unauthorized_approval,
    "segregation_of_duties": _sod,
    "duplicate_payment": _duplicate_payment,
    "premature_revenue": _premature_revenue,
    "expense_capitalization": _expense_capitalization,
    "suspense_account_abuse": _suspense,
    "duplicate_entry": _duplicate_entry,
    "reversed_amount": _reversed,
    "transposed_digits": _transposed,
    "decimal_shift": _decimal_shift,
    "misclassified_account": _misclassified,
    "backdated_entry": _backdated,
    "missing_cost_center": _missing_cc,
    "wrong_cost_center": _wrong_cc,
    "missing_approval": _missing_approval,
    "late_posting": _late_posting,
    "after_hours_posting": _after_hours,
    "weekend_posting": _weekend,
    "unusually_high_amount": _unusually_high,
    "benford_violation": _benford,
    "repeated_amount": _repeated,
    "unusual_account_pair": _unusual_pair,
    "dormant_account": _dormant,
    "new_counterparty": _new_counterparty,
    "fictitious_vendor": _fictitious_vendor,
}
#: fraud types a person commits: the fraud actor becomes the preparer
_ACTOR_TYPES = frozenset(
    {
        "fictitious_entry",
        "round_dollar_manipulation",
        "just_below_threshold",
        "split_transaction",
        "self_approval",
        "duplicate_payment",
        "premature_revenue",
        "expense_capitalization",
        "suspense_account_abuse",
        "segregation_of_duties",
        "fictitious_vendor",
    }
)
_AMOUNT_FRAUDS = frozenset(
    {"fictitious_entry", "round_dollar_manipulation", "suspense_account_abuse", "fictitious_vendor"}
)
TYPE_NAMES: tuple[str, ...] = tuple(ANOMALY_TYPES)
# per type id, so that per-anomaly columns are array lookups
_TYPE_HAS_ACTOR = np.array([x in _ACTOR_TYPES for x in TYPE_NAMES], dtype=bool)
_TYPE_BREAKS_APPROVAL = np.array([x in _APPROVAL_TYPES for x in TYPE_NAMES], dtype=bool)
_TYPE_CATEGORY = np.array([ANOMALY_CATEGORIES.index(ANOMALY_TYPES[x][0]) for x in TYPE_NAMES])
_TYPE_SEVERITY = np.array([TYPE_INFO[x].severity for x in TYPE_NAMES], dtype=np.int8)
_DIFFICULTIES = tuple(sorted({i.difficulty for i in TYPE_INFO.values()}))
_TYPE_DIFFICULTY = np.array([_DIFFICULTIES.index(TYPE_INFO[x].difficulty) for x in TYPE_NAMES])
_STRATEGIES = tuple(sorted({i.strategy for i in TYPE_INFO.values()}))
_TYPE_STRATEGY = np.array([_STRATEGIES.index(TYPE_INFO[x].strategy) for x in TYPE_NAMES])
_TYPE_DESCRIPTION = [TYPE_INFO[x].description for x in TYPE_NAMES]


# ------------------------------------------------------------------------------------------
# selection and injection


def period_end_multiplier(
    day: np.ndarray, fiscal_start_month: int, a: AnomaliesConfig
) -> np.ndarray:
    """Per posting day: the period-end multiplier of ``anomalies.period_end`` (1 elsewhere)."""
    pe = a.period_end
    d = day.astype("datetime64[D]")
    month = d.astype("datetime64[M]")
    month_end = (month + 1).astype("datetime64[D]").astype(np.int64) - 1
    late = month_end - day < pe.days
    fiscal_month = (month.astype(np.int64) % 12 - (fiscal_start_month - 1)) % 12 + 1
    out = np.ones(day.size)
    out = np.where(late, pe.month_end, out)
    out = np.where(late & (fiscal_month % 3 == 0), pe.quarter_end, out)
    out = np.where(late & (fiscal_month == 12), pe.year_end, out)
    return out


def _context(config: DatasynthConfig, master: Master, block: Block, led: Ledger) -> Context:
    a = config.anomalies
    company = master.companies[block.company_index]
    chart = master.chart
    seed = config.global_.seed
    protected = np.zeros(len(chart.numbers), dtype=bool)
    for family in PROTECTED_FAMILIES:
        protected |= chart.family_mask(family)
    types = np.asarray(chart.table["account_type"].to_numpy(zero_copy_only=False))
    used = np.zeros(len(chart.numbers), dtype=bool)
    used[master.posting.account_lookup] = True
    used[[chart.numbers.index(n) for n in chart.control_accounts.values()]] = True
    personas = user_personas(company)
    rng = stream(seed, "anomalies", company.code, "actors")
    humans = np.flatnonzero(personas < len(PERSONAS))
    actors = rng.permutation(humans)[: a.fraud_actors.per_company]
    pattern = dist.draw(
        rng,
        dist.cdf([a.fraud_actors.escalation.get(p, 0.0) for p in ESCALATION_PATTERNS]),
        actors.size,
    )
    first_vendor = company.group_vendors
    vendors = company.vendor_cdf.size
    targets = np.sort(
        first_vendor
        + rng.permutation(max(vendors - first_vendor, 0))[: a.fraud_actors.target_vendors]
    )
    period_index = next(
        i
        for i, p in enumerate(company.periods)
        if (p.fiscal_year, p.fiscal_period) == (block.fiscal_year, block.fiscal_period)
    )
    return Context(
        config=config,
        master=master,
        company=company,
        block=block,
        key=(
            seed,
            "anomalies",
            company.code,
            block.fiscal_year,
            block.fiscal_period,
            block.block_number,
        ),
        threshold=round(config.transactions.approval_threshold * company.amount_scale * 100),
        protected=protected,
        expense=types == "expense",
        revenue=chart.family_mask("subtype:revenue"),
        dormant=~used & ~protected,
        personas=personas,
        actors=actors,
        actor_pattern=pattern,
        target_vendors=targets,
        period_index=period_index,
        shells=a.fictitious_vendor_count,
    )


def _escalation(ctx: Context, pattern: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    k = ctx.period_index
    out = np.ones(pattern.size)
    for i, name in enumerate(ESCALATION_PATTERNS):
        chosen = pattern == i
        if name == "test_then_strike":
            out[chosen] = 0.3 if k < 3 else 5.0
        else:
            growth, cap = _ESCALATION[name]
            out[chosen] = min(cap, 1.0 + growth * k)
    erratic = pattern == ESCALATION_PATTERNS.index("erratic")
    out[erratic] *= rng.uniform(0.5, 1.5, int(erratic.sum()))
    return out


@dataclass
class _Picks:
    target: np.ndarray
    type_id: np.ndarray
    cluster: np.ndarray  # seed number of the cluster, -1 outside clusters
    actor: np.ndarray  # user index of the fraud actor, -1: the entry's own preparer
    pattern: np.ndarray  # escalation pattern index, -1 without actor


def _select(led: Ledger, ctx: Context, eligible: dict[str, np.ndarray]) -> _Picks:
    """Which entries carry which anomaly (module doc). The block's anomaly count is binomial
    in its entries and split over the categories by ``anomalies.categories``; each category
    then places seeds and their clusters until its count is reached (a few rounds, in case
    seeds meet on one entry), so the mix holds even where a type finds few entries."""
    a = ctx.config.anomalies
    n = led.n
    mult = period_end_multiplier(led.posting_day, led.company.fiscal_start_month, a)
    if not mult.sum() > 0:  # every entry of the block in a period end weighted zero
        mult = np.ones(n)
    where = dist.cdf(mult)
    rng = ctx.rng("select")
    shares = np.array([a.categories.get(c, 0.0) for c in ANOMALY_CATEGORIES])
    counts = rng.multinomial(rng.binomial(n, a.rate), shares / shares.sum())
    masks: list[np.ndarray] = []
    order_of: dict[int, np.ndarray] = {}
    rank_of: dict[int, np.ndarray] = {}
    for t, name in enumerate(TYPE_NAMES):
        mask = eligible[name]
        if name == "duplicate_payment":
            on_target = _vendor_entries(led, ctx.target_vendors)
            if (mask & on_target).any():
                mask = mask & on_target
        masks.append(mask)
        if mask.any():
            everyone = np.flatnonzero(mask)
            order = everyone[np.lexsort((everyone, led.posting_day[everyone]))]
            order_of[t] = order
            rank = np.full(n, -1, dtype=np.int64)
            rank[order] = np.arange(order.size)
            rank_of[t] = rank
    taken = np.zeros(n, dtype=bool)
    time_rank = np.empty(n, dtype=np.int64)
    time_rank[np.lexsort((np.arange(n), led.posting_day))] = np.arange(n)
    type_category = np.array([ANOMALY_CATEGORIES.index(ANOMALY_TYPES[x][0]) for x in TYPE_NAMES])
    flat_weights = np.array([a.type_weights(ANOMALY_TYPES[x][0])[x] for x in TYPE_NAMES])
    c = a.clustering
    out: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    next_seed = 0
    for ci, category in enumerate(ANOMALY_CATEGORIES):
        need = int(counts[ci])
        for attempt in range(4):
            if need <= 0:
                break
            r = ctx.rng("seeds", category, attempt)
            free = np.array([(m & ~taken).any() for m in masks])
            w = np.where(type_category == ci, flat_weights * free, 0.0)
            if w.sum() <= 0:
                break
            # seeds in posting order (entries are numbered in no time order)
            seeds = np.sort(time_rank[dist.draw(r, where, need)])
            types = dist.draw(r, dist.cdf(w), need)
            target = np.full(need, -1, dtype=np.int64)
            for t in np.unique(types):
                mine = np.flatnonzero(types == t)
                order = order_of[int(t)]
                chosen = order[~taken[order]]
                if not chosen.size:
                    continue
                # the first free eligible entry posted at or after each seed; seeds that meet
                # on one entry take the following ones (distinct slots, wrapping around)
                pos = np.searchsorted(time_rank[chosen], seeds[mine])
                slots = np.maximum.accumulate(pos - np.arange(pos.size)) + np.arange(pos.size)
                fits = np.arange(pos.size) < chosen.size
                target[mine[fits]] = chosen[slots[fits] % chosen.size]
            placed = target >= 0
            target, types = target[placed], types[placed]
            size = np.ones(target.size, dtype=np.int64)
            if c.enabled and target.size:
                starts = r.random(target.size) < c.start
                grow = (
                    r.geometric(1 - c.continuation, target.size)
                    if c.continuation < 1
                    else np.full(target.size, c.max_size)
                )
                size = np.where(starts, np.minimum(grow, c.max_size - 1) + 1, 1)
            # each seed followed by its cluster: the eligible entries nearest to it in posting
            # order, within the window either side (the same type)
            owner = np.repeat(np.arange(target.size), size)
            step = np.arange(int(size.sum())) - np.repeat(np.cumsum(size) - size, size)
            entry = np.full(owner.size, -1, dtype=np.int64)
            for t in np.unique(types):
                rows = np.flatnonzero(types[owner] == t)
                order = order_of[int(t)]
                # alternately after and before the seed: 0, +1, -1, +2, -2, ...
                offset = np.where(step[rows] % 2 == 1, (step[rows] + 1) // 2, -(step[rows] // 2))
                at = rank_of[int(t)][target[owner[rows]]] + offset
                ok = (at >= 0) & (at < order.size)
                cand = order[np.clip(at, 0, order.size - 1)]
                gap = np.abs(led.posting_day[cand] - led.posting_day[target[owner[rows]]])
                ok &= gap <= c.window_days
                entry[rows[ok]] = cand[ok]
            ok = (entry >= 0) & ~taken[np.maximum(entry, 0)]
            entry, owner = entry[ok], owner[ok]
            # one anomaly per entry: the first claim wins; then the category's count
            _, first = np.unique(entry, return_index=True)
            first = np.sort(first)[:need]
            entry, owner = entry[first], owner[first]
            taken[entry] = True
            members = np.bincount(owner, minlength=target.size)
            cluster = np.where(members[owner] > 1, next_seed + owner, -1)
            out.append((entry, types[owner], cluster, next_seed + owner))
            next_seed += target.size
            need -= entry.size
    if out:
        target, type_id, cluster, seed_of = (np.concatenate(x) for x in zip(*out, strict=True))
    else:
        target = type_id = cluster = seed_of = np.zeros(0, dtype=np.int64)
    # fraud actors, drawn per seed and shared by its cluster
    rng = ctx.rng("actors")
    u = rng.random(next_seed)
    pick = rng.integers(0, max(ctx.actors.size, 1), u.size)
    actor_types = _TYPE_HAS_ACTOR[type_id]
    with_actor = (
        actor_types & (u[seed_of] < ctx.config.anomalies.fraud_actors.share) & (ctx.actors.size > 0)
    )
    actor = np.where(with_actor, ctx.actors[pick[seed_of]] if ctx.actors.size else -1, -1)
    pattern = np.where(with_actor, ctx.actor_pattern[pick[seed_of]] if ctx.actors.size else -1, -1)
    return _Picks(target, type_id, cluster, actor, pattern)


def _vendor_entries(led: Ledger, vendors: np.ndarray) -> np.ndarray:
    hit = np.isin(led.vendor, vendors)
    return np.bincount(led.entries.line_entry, weights=hit, minlength=led.n) > 0


def inject_anomalies(
    config: DatasynthConfig, master: Master, block: Block, table: pa.Table
) -> tuple[pa.Table, pa.Table]:
    """The block's journal lines with anomalies injected, and their labels."""
    company = master.companies[block.company_index]
    table = table.combine_chunks()
    led = _ledger(table, company, master.chart.numbers)
    if led.n == 0:
        return table, LABEL_SCHEMA.empty_table()
    original_vendor = led.vendor.copy()
    ctx = _context(config, master, block, led)
    eligible = _eligibility(led, ctx)
    picks = _select(led, ctx, eligible)
    ctx.claimed = np.zeros(led.n, dtype=bool)
    ctx.claimed[picks.target] = True
    rng = ctx.rng("escalation")
    factor = np.where(picks.pattern >= 0, _escalation(ctx, np.maximum(picks.pattern, 0), rng), 1.0)
    m = picks.target.size
    impact = np.full(m, -1, dtype=np.int64)
    kept = np.ones(m, dtype=bool)
    related = np.full(m, -1, dtype=np.int64)
    detail_parts: list[tuple[np.ndarray, pa.Array]] = []
    line_parts: list[tuple[np.ndarray, pa.Array]] = []
    for t, name in enumerate(TYPE_NAMES):
        rows = np.flatnonzero(picks.type_id == t)
        if not rows.size:
            continue
        idx = picks.target[rows]
        duplicate = name in ("duplicate_payment", "duplicate_entry")
        snapshot = _snapshot(led, idx)
        has = np.zeros(idx.size, dtype=bool)
        if name in _ACTOR_TYPES and not duplicate:
            has = picks.actor[rows] >= 0
            led.user[idx[has]] = picks.actor[rows][has]
            led.source[idx[has]] = SOURCES.index("manual")
            led.header_changed[idx[has]] = True
        f = np.where(np.isin(name, list(_AMOUNT_FRAUDS)), factor[rows], 1.0)
        factor[rows] = f
        clones_before = len(ctx.clones)
        effect = MUTATIONS[name](led, ctx, idx, ctx.rng("type", name), eligible, f)
        for clone in ctx.clones[clones_before:]:
            clone.anomaly = rows[clone.anomaly]
            if duplicate:
                clone.user = picks.actor[clone.anomaly]
        ok = effect.keep if effect.keep is not None else np.ones(idx.size, dtype=bool)
        if (~ok).any():
            _restore(led, idx[~ok], snapshot, idx)
        kept[rows] = ok
        impact[rows] = effect.impact
        if effect.related is not None:
            related[rows] = np.where(ok, effect.related, -1)
        if effect.detail is not None:
            detail_parts.append((rows, effect.detail))
        if effect.lines is not None:
            # an actor took over the entry: its header, so every line, changed
            lines = effect.lines
            if has.any():
                lines = pc.if_else(pa.array(has), pa.scalar("all"), lines)
            line_parts.append((rows, lines))
    # every entry the injector changed but whose approval it did not mean to break follows
    # the approval rule again (an amount raised above the threshold gets an approver)
    approval_breaking = _TYPE_BREAKS_APPROVAL[picks.type_id]
    second = related[kept & (related >= 0)]
    _reapprove(led, ctx, np.r_[picks.target[kept & ~approval_breaking], second])
    return _assemble(
        led, ctx, picks, kept, related, impact, factor, detail_parts, line_parts, original_vendor
    )


def _snapshot(led: Ledger, idx: np.ndarray) -> dict[str, np.ndarray]:
    lines = led.lines_of(idx)
    snap = {
        k: getattr(led, k)[idx].copy()
        for k in (
            "posting_day",
            "document_day",
            "created_ms",
            "user",
            "approver",
            "source",
            "header_changed",
            "moved",
        )
    }
    snap.update(
        {
            k: getattr(led, k)[lines].copy()
            for k in ("debit", "credit", "account", "cost_center", "vendor")
        }
    )
    return snap


def _restore(led: Ledger, drop: np.ndarray, snap: dict[str, np.ndarray], idx: np.ndarray) -> None:
    """Undo the changes to the ``drop`` entries (a type that could not change them after all)."""
    where = np.isin(idx, drop)
    for k in (
        "posting_day",
        "document_day",
        "created_ms",
        "user",
        "approver",
        "source",
        "header_changed",
        "moved",
    ):
        getattr(led, k)[idx[where]] = snap[k][where]
    lines = led.lines_of(idx)
    line_where = np.repeat(where, led.entries.sizes[idx])
    for k in ("debit", "credit", "account", "cost_center", "vendor"):
        getattr(led, k)[lines[line_where]] = snap[k][line_where]


def _approval_rule(
    ctx: Context,
    user: np.ndarray,
    approver: np.ndarray,
    totals: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """The approvers of entries by ``user`` for ``totals`` under the approval rule: a person's
    entry at or above the threshold has an approver other than its preparer (the current one
    where it qualifies, else one drawn from the pool); every other entry has none."""
    human = ctx.personas[user] < len(PERSONAS)
    needs = human & (totals >= ctx.threshold)
    pool = approver_pool(ctx.company)
    redraw = needs & ((approver < 0) | (approver == user))
    drawn = draw_other(pool, user, rng.random(user.size)) if pool.size else np.full(user.size, -1)
    out: np.ndarray = np.where(needs, np.where(redraw, drawn, approver), -1)
    return out


def _reapprove(led: Ledger, ctx: Context, idx: np.ndarray) -> None:
    if not idx.size:
        return
    approver = _approval_rule(
        ctx, led.user[idx], led.approver[idx], led.totals()[idx], ctx.rng("approvals")
    )
    changed = approver != led.approver[idx]
    led.approver[idx] = approver
    led.header_changed[idx[changed]] = True


def _scale_lines(
    debit: np.ndarray, credit: np.ndarray, owner: np.ndarray, new: np.ndarray, unit: int
) -> np.ndarray:
    """Scale lines in place so each owner's debits and credits both sum to the new total
    exactly, keeping every line's share of its side (rounded to the currency's unit); the
    residue goes to each side's largest line. Returns the totals used: ``new`` in whole units,
    at least one unit per line of the larger side, so no line drops to zero or below."""
    k = int(np.asarray(new).size)
    lines_per_side = np.maximum(
        np.bincount(owner, weights=debit > 0, minlength=k),
        np.bincount(owner, weights=credit > 0, minlength=k),
    ).astype(np.int64)
    new = np.asarray(new, dtype=np.int64) // unit * unit
    new = np.clip(new, np.maximum(lines_per_side, 1) * unit, MAX_MINOR_UNITS // 4)
    old = _group_sum(debit, owner, k)
    ratio = new / np.maximum(old, 1).astype(np.float64)
    for side in (debit, credit):
        values = side.copy()
        scaled = (np.floor(values * ratio[owner] / unit) * unit).astype(np.int64)
        scaled = np.where(values > 0, np.maximum(scaled, unit), 0)
        excess = _group_sum(scaled, owner, k) - new
        # too much after rounding up small lines: take it from the largest lines first
        order = np.lexsort((-scaled, owner))
        first = order[np.r_[0, np.flatnonzero(np.diff(owner[order])) + 1]] if order.size else order
        scaled[first] -= excess[owner[first]]
        if (scaled[values > 0] <= 0).any():
            raise AssertionError("rescaling an entry left a line without an amount")
        side[:] = scaled
    return new


def _fiscal(company: CompanyMaster, days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    firsts = np.array(
        [np.datetime64(p.first, "D").astype(np.int64) for p in company.periods], dtype=np.int64
    )
    k = np.clip(np.searchsorted(firsts, days, side="right") - 1, 0, firsts.size - 1)
    years = np.array([p.fiscal_year for p in company.periods], dtype=np.int16)
    numbers = np.array([p.fiscal_period for p in company.periods], dtype=np.int8)
    return years[k], numbers[k]


def _first_partner(table: pa.Table, column: str, line_entry: np.ndarray, n: int) -> pa.Array:
    values = table[column].combine_chunks()
    valid = np.flatnonzero(np.asarray(values.is_valid(), dtype=bool))
    first = np.full(n, -1, dtype=np.int64)
    if valid.size:
        owners, at = np.unique(line_entry[valid], return_index=True)
        first[owners] = valid[at]
    return values.take(pa.array(np.maximum(first, 0), mask=first < 0))


def _dict(index: np.ndarray, values: tuple[str, ...] | list[str]) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(
        pa.array(np.asarray(index, dtype=np.int32), mask=np.asarray(index) < 0),
        pa.array(list(values), pa.string()),
    )


def _assemble(
    led: Ledger,
    ctx: Context,
    picks: _Picks,
    kept: np.ndarray,
    related: np.ndarray,
    impact: np.ndarray,
    factor: np.ndarray,
    detail_parts: list[tuple[np.ndarray, pa.Array]],
    line_parts: list[tuple[np.ndarray, pa.Array]],
    original_vendor: np.ndarray,
) -> tuple[pa.Table, pa.Table]:
    company = led.company
    block = ctx.block
    table = led.table
    e = led.entries
    le = e.line_entry
    persona_names = (*PERSONAS, AUTOMATED_PERSONA)
    fraud_type = np.array([ANOMALY_TYPES[name][0] == "fraud" for name in TYPE_NAMES])
    duplicate_type = np.isin(np.array(TYPE_NAMES), ["duplicate_payment", "duplicate_entry"])
    rows = np.flatnonzero(kept)
    base = rows[~duplicate_type[picks.type_id[rows]]]
    anomalous = np.zeros(e.n, dtype=bool)
    fraud = np.zeros(e.n, dtype=bool)
    anomalous[picks.target[base]] = True
    fraud[picks.target[base]] = fraud_type[picks.type_id[base]]
    second = base[related[base] >= 0]
    anomalous[related[second]] = True
    fraud[related[second]] = fraud_type[picks.type_id[second]]

    def put(t: pa.Table, name: str, values: pa.Array) -> pa.Table:
        i = t.schema.get_field_index(name)
        return t.set_column(i, t.schema.field(i), values)

    header = led.header_changed[le]

    def overlay(original: np.ndarray, per_entry: np.ndarray) -> np.ndarray:
        out = original.copy()
        out[header] = per_entry[le[header]]
        return out

    def day_column(name: str, per_entry: np.ndarray) -> pa.Array:
        original = table[name].combine_chunks().cast(pa.int32()).to_numpy().astype(np.int64)
        return pa.array(overlay(original, per_entry).astype(np.int32), pa.date32())

    t = table
    t = put(t, "debit_amount", decimal_from_minor(led.debit))
    t = put(t, "credit_amount", decimal_from_minor(led.credit))
    t = put(t, "gl_account", _dict(led.account, ctx.master.chart.numbers))
    t = put(t, "cost_center", _dict(led.cost_center, company.cost_centers))
    changed_vendor = led.vendor != original_vendor
    if changed_vendor.any():
        t = put(
            t,
            "vendor_id",
            _scatter(
                t["vendor_id"].combine_chunks(),
                changed_vendor,
                partner_ids("V", company.code, led.vendor[changed_vendor]),
            ),
        )
        # a payment redirected to another vendor settles none of the old vendor's items: it
        # is an item of its own (an unmatched payment, due when posted), so the open items
        # still sum to the AP account
        moved_item = changed_vendor & np.asarray(t["clearing_reference"].is_valid(), dtype=bool)
        if moved_item.any():
            moved_rows = pa.array(np.flatnonzero(moved_item))
            t = put(
                t,
                "clearing_reference",
                _scatter(
                    t["clearing_reference"].combine_chunks(),
                    moved_item,
                    t["document_id"].combine_chunks().take(moved_rows),
                ),
            )
            posted = led.posting_day[led.entries.line_entry][moved_item]
            t = put(
                t,
                "due_date",
                _scatter(
                    t["due_date"].combine_chunks(),
                    moved_item,
                    pa.array(posted.astype(np.int32), pa.date32()),
                ),
            )
    t = put(t, "posting_date", day_column("posting_date", led.posting_day))
    t = put(t, "document_date", day_column("document_date", led.document_day))
    created = table["created_at"].combine_chunks().cast(pa.int64()).to_numpy()
    t = put(t, "created_at", pa.array(overlay(created, led.created_ms), pa.timestamp("ms")))
    users = dictionary_positions(table["created_by"], company.user_ids)
    t = put(t, "created_by", user_column(overlay(users, led.user), company.user_ids))
    personas = dictionary_positions(table["user_persona"], persona_names)
    t = put(t, "user_persona", _dict(overlay(personas, ctx.personas[led.user]), persona_names))
    approvers = dictionary_positions(table["approved_by"], company.user_ids)
    t = put(t, "approved_by", user_column(overlay(approvers, led.approver), company.user_ids))
    sources = dictionary_positions(table["source"], ENTRY_SOURCES)
    t = put(t, "source", _dict(overlay(sources, led.source), ENTRY_SOURCES))
    moved = led.moved[le]
    if moved.any():
        year, number = _fiscal(company, led.posting_day[le])
        t = put(t, "fiscal_year", pa.array(np.where(moved, year, t["fiscal_year"].to_numpy())))
        t = put(
            t, "fiscal_period", pa.array(np.where(moved, number, t["fiscal_period"].to_numpy()))
        )
    t = put(t, "is_anomaly", pa.array(anomalous[le]))
    t = put(t, "is_fraud", pa.array(fraud[le]))

    # --- new entries: duplicates and split parts, numbered after the block's entries ---------
    next_row = (
        int(pc.max(pc.cast(pc.utf8_slice_codeunits(table["document_id"], -7), pa.int64())).as_py())
        + 1
    )
    prefix = journal_entry_prefix(company.code, block.fiscal_year, block.fiscal_period)
    clone_tables = []
    clone_doc = np.full(picks.target.size, -1, dtype=np.int64)  # first clone row per anomaly
    clone_ids_all: list[pa.Array] = []
    clone_anomaly_all: list[np.ndarray] = []
    clone_starts_all: list[np.ndarray] = []
    line_offset = t.num_rows
    count_so_far = 0
    for clone in ctx.clones:
        live = kept[clone.anomaly]
        if not live.any():
            continue
        src = clone.source[live]
        count = src.size
        rows_new = next_row + np.arange(count)
        next_row += count
        if next_row > 10**7:
            raise ValueError(
                f"block {block.block_number} would number more than 10,000,000 entries with its "
                "duplicates and split parts; make runtime.block_rows smaller"
            )
        ids = fixed_width_strings(prefix, np.int64(block.block_number) * 10**7 + rows_new, 11)
        lines = led.lines_of(src)
        sizes = e.sizes[src]
        owner = np.repeat(np.arange(count), sizes)
        part = t.take(pa.array(lines))
        part = put(part, "document_id", ids.take(pa.array(owner)))
        shift = clone.days[live][owner]
        post = part["posting_date"].cast(pa.int32()).to_numpy().astype(np.int64) + shift
        part = put(part, "posting_date", pa.array(post.astype(np.int32), pa.date32()))
        made = part["created_at"].cast(pa.int64()).to_numpy() + shift * _DAY_MS
        part = put(part, "created_at", pa.array(made, pa.timestamp("ms")))
        year, number = _fiscal(company, post)
        part = put(part, "fiscal_year", pa.array(year))
        part = put(part, "fiscal_period", pa.array(number))
        totals = clone.total[live]
        if (totals >= 0).any():
            debit, credit = led.debit[lines].copy(), led.credit[lines].copy()
            new = np.where(totals >= 0, totals, _group_sum(debit, owner, count))
            _scale_lines(debit, credit, owner, new, company.amount_unit)
            part = put(part, "debit_amount", decimal_from_minor(debit))
            part = put(part, "credit_amount", decimal_from_minor(credit))
        if clone.user is not None:
            who = clone.user[live]
            user = np.where(who >= 0, who, led.user[src])
            # the clone follows the approval rule for its own preparer and amount
            clone_totals = np.where(totals >= 0, totals, led.totals()[src])
            approver = _approval_rule(
                ctx,
                user,
                led.approver[src],
                clone_totals,
                ctx.rng("clone_approvals", TYPE_NAMES[int(picks.type_id[clone.anomaly[0]])]),
            )
            source = np.where(who >= 0, SOURCES.index("manual"), led.source[src])
            part = put(part, "created_by", user_column(user[owner], company.user_ids))
            part = put(part, "user_persona", _dict(ctx.personas[user][owner], persona_names))
            part = put(part, "approved_by", user_column(approver[owner], company.user_ids))
            part = put(part, "source", _dict(source[owner], ENTRY_SOURCES))
        types = picks.type_id[clone.anomaly[live]]
        part = put(part, "is_anomaly", pa.array(np.ones(part.num_rows, dtype=bool)))
        part = put(part, "is_fraud", pa.array(fraud_type[types][owner]))
        clone_tables.append(part)
        labelled = clone.labelled[live]
        clone_doc[clone.anomaly[live][labelled]] = count_so_far + np.flatnonzero(labelled)
        clone_ids_all.append(ids)
        clone_anomaly_all.append(clone.anomaly[live])
        clone_starts_all.append(line_offset + np.cumsum(sizes) - sizes)
        line_offset += part.num_rows
        count_so_far += count
    out = pa.concat_tables([t, *clone_tables]) if clone_tables else t
    clone_ids = pa.concat_arrays(clone_ids_all) if clone_ids_all else pa.array([], pa.string())
    clone_anomaly = (
        np.concatenate(clone_anomaly_all) if clone_anomaly_all else np.zeros(0, np.int64)
    )
    clone_starts = np.concatenate(clone_starts_all) if clone_starts_all else np.zeros(0, np.int64)
    labels = _labels(
        led,
        ctx,
        picks,
        rows,
        related,
        impact,
        factor,
        detail_parts,
        line_parts,
        t,
        clone_ids,
        clone_anomaly,
        clone_doc,
        clone_starts,
        out,
    )
    return out, labels


def _scatter(base: pa.Array, mask: np.ndarray, values: pa.Array) -> pa.Array:
    index = np.cumsum(mask) - 1
    spread = values.take(pa.array(np.where(mask, index, 0)))
    return pc.if_else(pa.array(mask), spread, base)


def _labels(
    led: Ledger,
    ctx: Context,
    picks: _Picks,
    rows: np.ndarray,
    second: np.ndarray,
    impact: np.ndarray,
    factor: np.ndarray,
    detail_parts: list[tuple[np.ndarray, pa.Array]],
    line_parts: list[tuple[np.ndarray, pa.Array]],
    base_table: pa.Table,
    clone_ids: pa.Array,
    clone_anomaly: np.ndarray,
    clone_doc: np.ndarray,
    clone_starts: np.ndarray,
    ledger: pa.Table,
) -> pa.Table:
    company, block = led.company, ctx.block
    e = led.entries
    m = rows.size
    if m == 0:
        return LABEL_SCHEMA.empty_table()
    entry = picks.target[rows]
    starts = e.starts[entry]
    ids = base_table["document_id"].take(pa.array(starts))
    via_clone = clone_doc[rows] >= 0
    # the labelled document: the clone for duplicates, the entry itself otherwise
    document = ids
    if via_clone.any():
        document = pc.if_else(
            pa.array(via_clone), clone_ids.take(pa.array(np.maximum(clone_doc[rows], 0))), ids
        )
    split = picks.type_id[rows] == TYPE_NAMES.index("split_transaction")
    original = pc.if_else(pa.array(via_clone | split), ids, pa.nulls(m, pa.string()))
    related = pa.nulls(m, pa.string())
    if split.any() and clone_anomaly.size:
        # clones of kept anomalies only, grouped by anomaly: the groups follow ``rows``
        order = np.argsort(clone_anomaly, kind="stable")
        grouped = clone_ids.take(pa.array(order))
        counts = np.bincount(clone_anomaly, minlength=picks.target.size)[rows]
        offsets = np.r_[0, np.cumsum(counts)].astype(np.int32)
        lists = pa.ListArray.from_arrays(pa.array(offsets), grouped)
        joined = pc.binary_join(lists, ",")
        related = pc.if_else(pa.array(split & (counts > 0)), joined, related)
    other = second[rows]
    if (other >= 0).any():
        other_ids = base_table["document_id"].take(pa.array(e.starts[np.maximum(other, 0)]))
        related = pc.if_else(pa.array(other >= 0), other_ids, related)
    # dates, periods and people of the labelled document (a clone keeps its source's people)
    doc_rows = starts
    if via_clone.any():
        doc_rows = np.where(via_clone, clone_starts[np.maximum(clone_doc[rows], 0)], starts)
    take = pa.array(doc_rows)
    year = ledger["fiscal_year"].take(take)
    period = ledger["fiscal_period"].take(take)
    date = ledger["posting_date"].take(take)
    user = pc.cast(ledger["created_by"].take(take), pa.string())
    vendor = _first_partner(base_table, "vendor_id", e.line_entry, e.n).take(pa.array(entry))
    customer = _first_partner(base_table, "customer_id", e.line_entry, e.n).take(pa.array(entry))
    type_id = picks.type_id[rows]
    description = pa.array(_TYPE_DESCRIPTION, pa.string()).take(pa.array(type_id))
    detail = pa.nulls(picks.target.size, pa.string())
    for r, d in detail_parts:
        detail = _scatter(detail, np.isin(np.arange(picks.target.size), r), d)
    detail = detail.take(pa.array(rows))
    description = pc.if_else(
        pc.is_valid(detail), pc.binary_join_element_wise(description, detail, ": "), description
    )
    affected = pa.array(["all"] * picks.target.size, pa.string())
    for r, lines in line_parts:
        affected = _scatter(affected, np.isin(np.arange(picks.target.size), r), lines)
    affected = affected.take(pa.array(rows))
    yyyypp = f"{block.fiscal_year:04d}{block.fiscal_period:02d}"
    number = np.int64(block.block_number) * 10**7 + np.arange(m)
    cluster = picks.cluster[rows]
    cluster_ids = fixed_width_strings(
        f"CL-{company.code}-{yyyypp}-",
        np.int64(block.block_number) * 10**7 + np.maximum(cluster, 0),
        11,
    )
    category = _TYPE_CATEGORY[type_id]
    pattern = picks.pattern[rows]
    columns = {
        "anomaly_id": fixed_width_strings(f"ANO-{company.code}-{yyyypp}-", number, 11),
        "anomaly_category": _dict(category, ANOMALY_CATEGORIES),
        "anomaly_type": _dict(picks.type_id[rows], TYPE_NAMES),
        "is_fraud": pa.array(category == ANOMALY_CATEGORIES.index("fraud")),
        "severity": pa.array(_TYPE_SEVERITY[type_id]),
        "detection_difficulty": _dict(_TYPE_DIFFICULTY[type_id], _DIFFICULTIES),
        "document_id": document,
        "original_document_id": original,
        "related_documents": related,
        "company_code": _dict(np.zeros(m, dtype=np.int64), [company.code]),
        "fiscal_year": year,
        "fiscal_period": period,
        "anomaly_date": date,
        "affected_lines": affected,
        "related_user": user,
        "related_vendor": vendor,
        "related_customer": customer,
        "monetary_impact": pc.if_else(
            pa.array(impact[rows] < 0),
            pa.scalar(None, AMOUNT_TYPE),
            decimal_from_minor(np.maximum(impact[rows], 0)),
        ),
        "currency": _dict(np.zeros(m, dtype=np.int64), [company.currency]),
        "description": description,
        "injection_strategy": _dict(_TYPE_STRATEGY[type_id], _STRATEGIES),
        "cluster_id": pc.if_else(pa.array(cluster >= 0), cluster_ids, pa.nulls(m, pa.string())),
        "escalation_pattern": _dict(pattern, ESCALATION_PATTERNS),
        "escalation_factor": pa.array(factor[rows].astype(np.float32)),
    }
    return pa.Table.from_arrays([columns[f.name] for f in LABEL_SCHEMA], schema=LABEL_SCHEMA)
