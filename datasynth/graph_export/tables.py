"""Node and edge tables of the graphs, one partition per journal-entry block.

Every node table has an ``id`` column (the ledger's own id: ``document_id``, ``gl_account``,
``vendor_id``, ...), properties, float32 feature columns named ``f_<feature>`` and, for journal
entries, labels. Every edge table has ``src`` and ``dst`` (ids of its two node types),
properties and features. Relations are named ``<source type>__<relation>__<target type>``.

A block's partition holds its journal entries, the documents of the flows it started, the
edges between them and to the master data, its transaction edges (debit account -> credit
account, one per pair of an entry's debit and credit accounts) and partial sums of its approvals
(preparer -> approver). The master partition holds the master-data nodes and the edges among
them. Ids and order depend only on the files read, so every scheduler writes the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datasynth.config.models import ANOMALY_TYPES, PERSONAS
from datasynth.core.arrow import strings
from datasynth.core.money import minor_from_decimal

#: node types and the master table (and id column) each comes from; ``journal_entry`` and
#: ``document`` come from the blocks
NODE_TYPES = (
    "journal_entry",
    "account",
    "company",
    "user",
    "vendor",
    "customer",
    "material",
    "fixed_asset",
    "document",
)
MASTER_NODES = {
    "account": ("chart_of_accounts", "account_number"),
    "company": ("companies", "company_code"),
    "user": ("users", "user_id"),
    "vendor": ("vendors", "vendor_id"),
    "customer": ("customers", "customer_id"),
    "material": ("materials", "material_id"),
    "fixed_asset": ("fixed_assets", "asset_id"),
}
#: document tables of the flows: (id column, date column, amount column, partner column)
DOCUMENT_TABLES = {
    "purchase_orders": ("purchase_order_id", "document_date", "net_amount", "vendor_id"),
    "goods_receipts": ("goods_receipt_id", "posting_date", "amount", "vendor_id"),
    "vendor_invoices": ("vendor_invoice_id", "posting_date", "gross_amount", "vendor_id"),
    "payments": ("payment_id", "payment_date", "amount", "vendor_id"),
    "sales_orders": ("sales_order_id", "document_date", "net_amount", "customer_id"),
    "deliveries": ("delivery_id", "goods_issue_date", "cost_amount", "customer_id"),
    "customer_invoices": ("customer_invoice_id", "invoice_date", "gross_amount", "customer_id"),
    "customer_receipts": ("receipt_id", "receipt_date", "amount", "customer_id"),
}
DOCUMENT_TYPES = tuple(DOCUMENT_TABLES)
#: relations of each graph; the entity graph has every relation but the transaction edges
TRANSACTION = "account__transaction__account"
APPROVAL = "user__approved_by__user"
REPORTS_TO = "user__reports_to__user"
PERSONA_NAMES = (*PERSONAS, "automated_system")
ANOMALY_TYPE_NAMES = tuple(ANOMALY_TYPES)
_DAY_MS = 86_400_000
# P(first digit = d) under Benford's law, d = 1..9 (index 0 unused)
_BENFORD = np.r_[0.0, np.log10(1 + 1 / np.arange(1, 10))]


def relation(src: str, name: str, dst: str) -> str:
    return f"{src}__{name}__{dst}"


def endpoints(rel: str) -> tuple[str, str, str]:
    src, name, dst = rel.split("__")
    return src, name, dst


@dataclass(frozen=True)
class Part:
    """The node and edge tables of one partition (keys: node type or relation)."""

    nodes: dict[str, pa.Table]
    edges: dict[str, pa.Table]


# ------------------------------------------------------------------------------------------
# features


def _f32(values: np.ndarray | pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.Array):
        values = np.asarray(values.fill_null(0).to_numpy(zero_copy_only=False), dtype=np.float64)
    return pa.array(np.nan_to_num(np.asarray(values, dtype=np.float64)).astype(np.float32))


def _number(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A numeric or decimal column as float64 (nulls as 0)."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if pa.types.is_decimal(column.type):
        return minor_from_decimal(column.fill_null(0)).astype(np.float64) / 100.0
    if pa.types.is_boolean(column.type):
        return np.asarray(column.fill_null(False).to_numpy(zero_copy_only=False), dtype=np.float64)
    return np.asarray(
        pc.cast(column, pa.float64()).fill_null(0).to_numpy(zero_copy_only=False), dtype=np.float64
    )


def _one_hot(
    column: pa.ChunkedArray | pa.Array, prefix: str, values: tuple[str, ...] | None = None
) -> dict[str, pa.Array]:
    """One float32 0/1 column per value (the sorted distinct values unless given)."""
    text = strings(column)
    if values is None:
        values = tuple(sorted(v for v in pc.unique(text).to_pylist() if v is not None))
    index = np.asarray(pc.index_in(text, value_set=pa.array(values, pa.string())).fill_null(-1))
    return {
        f"f_{prefix}_{v}": pa.array((index == k).astype(np.float32)) for k, v in enumerate(values)
    }


def benford_probability(amounts: np.ndarray) -> np.ndarray:
    """P(first digit) under Benford's law of each positive amount (0 for zero)."""
    a = np.abs(amounts)
    positive = a > 0
    exponent = np.floor(np.log10(np.where(positive, a, 1.0)))
    digit = np.clip((a / 10.0**exponent).astype(np.int64), 1, 9)
    out: np.ndarray = np.where(positive, _BENFORD[digit], 0.0)
    return out


def calendar_features(days: np.ndarray, prefix: str = "") -> dict[str, pa.Array]:
    """weekday/6, day/31, month/12, weekend and month-end (last three days) flags."""
    d = days.astype("datetime64[D]")
    month = d.astype("datetime64[M]")
    day_of_month = (d - month.astype("datetime64[D]")).astype(np.int64) + 1
    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    month_end = (month + 1).astype("datetime64[D]").astype(np.int64) - 1
    return {
        f"f_{prefix}weekday": _f32(weekday / 6.0),
        f"f_{prefix}day": _f32(day_of_month / 31.0),
        f"f_{prefix}month": _f32((month.astype(np.int64) % 12 + 1) / 12.0),
        f"f_{prefix}weekend": _f32(weekday >= 5),
        f"f_{prefix}month_end": _f32(month_end - days < 3),
    }


def _days(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    return np.asarray(column.cast(pa.int32()).fill_null(0).to_numpy(), dtype=np.int64)


# ------------------------------------------------------------------------------------------
# a block's partition


def _contiguous(journal: pa.Table) -> pa.Table:
    """The lines with each entry's lines together, in file order where they already are."""
    ids = journal["document_id"].combine_chunks()
    n = len(ids)
    if n < 2:
        return journal
    change = np.r_[True, np.asarray(pc.not_equal(ids[1:], ids[:-1]))]
    if int(change.sum()) == len(pc.unique(ids)):
        return journal
    return journal.sort_by([("document_id", "ascending"), ("line_number", "ascending")])


def _labels_by_document(labels: pa.Table | None, ids: pa.Array) -> np.ndarray:
    """Per entry: the anomaly type id of the first label naming it (as its document or a
    related one), -1 when none does."""
    out = np.full(len(ids), -1, dtype=np.int64)
    if labels is None or labels.num_rows == 0:
        return out
    kinds = np.asarray(
        pc.index_in(strings(labels["anomaly_type"]), value_set=pa.array(ANOMALY_TYPE_NAMES))
    )
    named = [(labels["document_id"].combine_chunks(), kinds)]
    related = labels["related_documents"].combine_chunks()
    split = pc.split_pattern(related.fill_null(""), ",")
    lengths = np.asarray(pc.list_value_length(split))
    named.append((pc.list_flatten(split), np.repeat(kinds, lengths)))
    for docs, kind in reversed(named):  # the document's own label wins
        hit = pc.index_in(ids, value_set=docs)
        where = np.asarray(hit.is_valid())
        out[where] = kind[np.asarray(hit.fill_null(0))[where]]
    return out


def journal_part(
    journal: pa.Table,
    labels: pa.Table | None,
    flows: dict[str, pa.Table],
    documents_of_master: dict[str, pa.Array],
    graphs: tuple[str, ...],
) -> Part:
    """The nodes and edges of one block's journal lines, flows and labels.

    ``documents_of_master`` holds the master ids a journal line may reference as its source
    document (``fixed_asset``); ``graphs`` the graphs being built."""
    journal = _contiguous(journal)
    n_lines = journal.num_rows
    ids = journal["document_id"].combine_chunks()
    change = (
        np.r_[True, np.asarray(pc.not_equal(ids[1:], ids[:-1]))] if n_lines else np.zeros(0, bool)
    )
    starts = np.flatnonzero(change)
    n = starts.size
    owner = np.cumsum(change) - 1
    sizes = np.diff(np.r_[starts, n_lines])
    head = journal.take(pa.array(starts)) if n else journal
    entry_ids = head["document_id"].combine_chunks()
    debit = minor_from_decimal(journal["debit_amount"].combine_chunks())
    credit = minor_from_decimal(journal["credit_amount"].combine_chunks())
    total_minor = np.bincount(owner, weights=debit, minlength=n).astype(np.int64)
    total = total_minor / 100.0
    is_anomaly = np.asarray(head["is_anomaly"].combine_chunks(), dtype=bool)
    nodes: dict[str, pa.Table] = {}
    edges: dict[str, pa.Table] = {}
    if "entity" in graphs:
        nodes["journal_entry"] = _entry_nodes(head, total, sizes, labels, entry_ids)
    if "entity" in graphs:
        edges.update(_entry_edges(journal, head, owner, debit, credit, is_anomaly))
        edges.update(_reference_edges(journal, documents_of_master, flows))
        doc_nodes, doc_edges = document_part(flows)
        nodes["document"] = doc_nodes
        edges.update(doc_edges)
    if "transaction" in graphs:
        edges[TRANSACTION] = _transaction_edges(journal, head, owner, debit, credit, is_anomaly)
    if "approval" in graphs:
        edges[APPROVAL] = _approval_sums(head, total_minor, is_anomaly)
    return Part(nodes, edges)


def _entry_nodes(
    head: pa.Table, total: np.ndarray, sizes: np.ndarray, labels: pa.Table | None, ids: pa.Array
) -> pa.Table:
    posting = _days(head["posting_date"])
    document = _days(head["document_date"])
    created_ms = np.asarray(head["created_at"].combine_chunks().cast(pa.int64()), dtype=np.int64)
    created_day = created_ms // _DAY_MS
    hour = (created_ms % _DAY_MS) // 3_600_000
    source = strings(head["source"])
    persona = strings(head["user_persona"])
    fiscal_period = _number(head["fiscal_period"]) if "fiscal_period" in head.column_names else 0
    units = np.floor(total)
    kind = _labels_by_document(labels, ids)
    cal = calendar_features(posting)
    columns: dict[str, pa.Array | pa.ChunkedArray] = {
        "id": ids,
        "company_code": strings(head["company_code"]),
        "posting_date": head["posting_date"].combine_chunks(),
        "document_date": head["document_date"].combine_chunks(),
        "document_type": strings(head["document_type"]),
        "source": source,
        "business_process": strings(head["business_process"]),
        "created_by": strings(head["created_by"]),
        "approved_by": strings(head["approved_by"]),
        "total_amount": pa.array(total),
        "currency": strings(head["currency"]),
        "line_count": pa.array(sizes.astype(np.int32)),
        "is_anomaly": head["is_anomaly"].combine_chunks(),
        "is_fraud": head["is_fraud"].combine_chunks(),
        "anomaly_type": pa.array(ANOMALY_TYPE_NAMES, pa.string()).take(
            pa.array(np.maximum(kind, 0), mask=kind < 0)
        ),
        "f_log_amount": _f32(np.log1p(total)),
        "f_log_lines": _f32(np.log(np.maximum(sizes, 1))),
        **cal,
        "f_year_end": _f32((np.asarray(fiscal_period) == 12) & (cal["f_month_end"].to_numpy() > 0)),
        "f_hour": _f32(hour / 23.0),
        "f_benford_p": _f32(benford_probability(total)),
        "f_round": _f32((units >= 1000) & (units % 1000 == 0)),
        "f_manual": _f32(np.asarray(pc.equal(source, "manual"))),
        "f_person": _f32(np.asarray(pc.not_equal(persona, "automated_system"))),
        "f_approved": _f32(np.asarray(head["approved_by"].is_valid())),
        "f_document_lag": _f32(np.clip((posting - document) / 30.0, -3, 3)),
        "f_entry_lag": _f32(np.clip((created_day - posting) / 30.0, -3, 3)),
    }
    return pa.table(columns)


def _pairs(src: pa.Array, dst: pa.Array, extra: dict[str, pa.Array] | None = None) -> pa.Table:
    """Distinct (src, dst) pairs in first-appearance order, summing ``extra`` columns."""
    table = pa.table({"src": src, "dst": dst, **(extra or {})})
    table = table.filter(pc.is_valid(table["dst"]))
    if table.num_rows == 0:
        out = table.select(["src", "dst"])
        for name in extra or {}:
            out = out.append_column(name, pa.array([], pa.float64()))
        return out
    keys = pc.binary_join_element_wise(table["src"], table["dst"], "\x1f")
    distinct = pc.unique(keys)  # in order of first appearance
    group = np.asarray(pc.index_in(keys, value_set=distinct))
    _, first = np.unique(group, return_index=True)
    out = table.take(pa.array(first)).select(["src", "dst"])
    for name in extra or {}:
        sums = np.bincount(group, weights=_number(table[name]), minlength=first.size)
        out = out.append_column(name, pa.array(sums))
    return out


def _entry_accounts(
    journal: pa.Table, owner: np.ndarray, amount: np.ndarray, rows: np.ndarray
) -> tuple[np.ndarray, pa.Array, np.ndarray, np.ndarray]:
    """The ``rows`` (lines of one side) summed per entry and account, in order of entry and
    first appearance: (entry, account id, amount in minor units, line count)."""
    accounts = journal["gl_account"].combine_chunks()
    if not pa.types.is_dictionary(accounts.type):
        accounts = accounts.dictionary_encode()
    codes = np.asarray(accounts.indices, dtype=np.int64)[rows]
    width = len(accounts.dictionary) + 1
    key = owner[rows] * width + codes
    unique, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    sums = np.bincount(inverse, weights=amount[rows], minlength=unique.size).astype(np.int64)
    lines = np.bincount(inverse, minlength=unique.size)
    # keep the first-appearance order of accounts within each entry
    order = np.lexsort((first, unique // width))
    names = strings(accounts.dictionary).take(pa.array((unique % width)[order]))
    return (unique // width)[order], names, sums[order], lines[order]


def _entry_edges(
    journal: pa.Table,
    head: pa.Table,
    owner: np.ndarray,
    debit: np.ndarray,
    credit: np.ndarray,
    is_anomaly: np.ndarray,
) -> dict[str, pa.Table]:
    ids = journal["document_id"].combine_chunks()
    entry_ids = head["document_id"].combine_chunks()
    amount = (debit + credit) / 100.0
    out: dict[str, pa.Table] = {}
    # one edge per entry, account and side (an entry of a thousand lines on two accounts
    # has two), with the amount and number of its lines
    posts = []
    for is_debit, side in ((True, debit), (False, credit)):
        entry, account, sums, lines = _entry_accounts(
            journal, owner, side, np.flatnonzero(side > 0)
        )
        posts.append((entry, account, sums, lines, np.full(entry.size, is_debit)))
    entry = np.concatenate([p[0] for p in posts])
    order = np.argsort(entry, kind="stable")
    account = pa.concat_arrays([p[1] for p in posts]).take(pa.array(order))
    sums = np.concatenate([p[2] for p in posts])[order] / 100.0
    lines = np.concatenate([p[3] for p in posts])[order]
    is_debit_edge = np.concatenate([p[4] for p in posts])[order]
    entry = entry[order]
    out[relation("journal_entry", "posts_to", "account")] = pa.table(
        {
            "src": entry_ids.take(pa.array(entry)),
            "dst": account,
            "amount": pa.array(sums),
            "lines": pa.array(lines.astype(np.int32)),
            "is_debit": pa.array(is_debit_edge),
            "is_anomaly": pa.array(is_anomaly[entry]),
            "f_log_amount": _f32(np.log1p(sums)),
            "f_debit": _f32(is_debit_edge),
            "f_log_lines": _f32(np.log(np.maximum(lines, 1))),
        }
    )
    out[relation("journal_entry", "created_by", "user")] = pa.table(
        {"src": entry_ids, "dst": strings(head["created_by"])}
    )
    approved = head.filter(pc.is_valid(head["approved_by"]))
    out[relation("journal_entry", "approved_by", "user")] = pa.table(
        {"src": approved["document_id"].combine_chunks(), "dst": strings(approved["approved_by"])}
    )
    out[relation("journal_entry", "booked_in", "company")] = pa.table(
        {"src": entry_ids, "dst": strings(head["company_code"])}
    )
    out[relation("journal_entry", "with_vendor", "vendor")] = _pairs(
        ids, strings(journal["vendor_id"]), {"amount": pa.array(amount)}
    )
    out[relation("journal_entry", "with_customer", "customer")] = _pairs(
        ids, strings(journal["customer_id"]), {"amount": pa.array(amount)}
    )
    quantity = journal["quantity"].combine_chunks()
    out[relation("journal_entry", "moves", "material")] = _pairs(
        ids, strings(journal["material_id"]), {"quantity": quantity}
    )
    return out


def _reference_edges(
    journal: pa.Table, master_documents: dict[str, pa.Array], flows: dict[str, pa.Table]
) -> dict[str, pa.Table]:
    """Journal entry -> the document or fixed asset its lines name as source document."""
    pairs = _pairs(journal["document_id"].combine_chunks(), strings(journal["source_document_id"]))
    known = [
        flows[t][DOCUMENT_TABLES[t][0]].combine_chunks()
        for t in DOCUMENT_TYPES
        if t in flows and flows[t].num_rows
    ]
    documents = pa.concat_arrays(known) if known else pa.array([], pa.string())
    out = {}
    is_document = pc.is_in(pairs["dst"], value_set=documents)
    out[relation("journal_entry", "references", "document")] = pairs.filter(is_document)
    assets = master_documents.get("fixed_asset", pa.array([], pa.string()))
    out[relation("journal_entry", "references", "fixed_asset")] = pairs.filter(
        pc.is_in(pairs["dst"], value_set=assets)
    )
    # a follow-on entry (accrual reversal, prepaid release, transfer return) -> its entry
    out[relation("journal_entry", "follows", "journal_entry")] = pairs.filter(
        pc.fill_null(pc.starts_with(pairs["dst"], "JE-"), False)
    )
    return out


def _transaction_edges(
    journal: pa.Table,
    head: pa.Table,
    owner: np.ndarray,
    debit: np.ndarray,
    credit: np.ndarray,
    is_anomaly: np.ndarray,
) -> pa.Table:
    """One edge per debit account x credit account of an entry (its lines summed per account
    and side), debit -> credit, weighted by the debit amount times the credit account's share
    of the entry's credits (so an entry's edges sum to its total)."""
    n = int(owner[-1]) + 1 if owner.size else 0
    d_entry, d_account, d_sum, _ = _entry_accounts(journal, owner, debit, np.flatnonzero(debit > 0))
    c_entry, c_account, c_sum, _ = _entry_accounts(
        journal, owner, credit, np.flatnonzero(credit > 0)
    )
    c_count = np.bincount(c_entry, minlength=n)
    c_start = np.r_[0, np.cumsum(c_count)[:-1]] if n else np.zeros(0, np.int64)
    c_total = np.bincount(c_entry, weights=c_sum, minlength=n)
    per_debit = c_count[d_entry]
    src_rows = np.repeat(np.arange(d_entry.size), per_debit)
    k = np.arange(src_rows.size) - np.repeat(np.cumsum(per_debit) - per_debit, per_debit)
    entry = d_entry[src_rows]
    dst_rows = c_start[entry] + k
    weight = d_sum[src_rows] * (c_sum[dst_rows] / np.maximum(c_total[entry], 1)) / 100.0
    days = _days(head["posting_date"])[entry]
    entry_ids = head["document_id"].combine_chunks().take(pa.array(entry))
    fiscal_period = (
        np.asarray(_number(head["fiscal_period"]))[entry]
        if "fiscal_period" in head.column_names
        else np.zeros(entry.size)
    )
    cal = calendar_features(days)
    return pa.table(
        {
            "src": d_account.take(pa.array(src_rows)),
            "dst": c_account.take(pa.array(dst_rows)),
            "document_id": entry_ids,
            "company_code": strings(head["company_code"]).take(pa.array(entry)),
            "fiscal_year": pa.array(_fiscal(head, "fiscal_year")[entry].astype(np.int32)),
            "fiscal_period": pa.array(_fiscal(head, "fiscal_period")[entry].astype(np.int32)),
            "posting_date": head["posting_date"].combine_chunks().take(pa.array(entry)),
            "weight": pa.array(weight),
            "is_anomaly": pa.array(is_anomaly[entry]),
            "is_fraud": head["is_fraud"].combine_chunks().take(pa.array(entry)),
            "f_log_weight": _f32(np.log1p(weight)),
            **cal,
            "f_year_end": _f32((fiscal_period == 12) & (cal["f_month_end"].to_numpy() > 0)),
            "f_benford_p": _f32(benford_probability(weight)),
        }
    )


def _fiscal(head: pa.Table, column: str) -> np.ndarray:
    if column not in head.column_names:
        return np.zeros(head.num_rows, dtype=np.int64)
    return np.asarray(_number(head[column]), dtype=np.int64)


_PERIOD_KEYS = ["company_code", "fiscal_year", "fiscal_period", "src", "dst"]


def period_sums(edges: pa.Table) -> pa.Table:
    """Per-entry transaction edges summed per company, fiscal period and account pair: the
    partial sums of one block (periods may recur in other blocks' partitions)."""
    t = edges.select([*_PERIOD_KEYS, "weight", "is_anomaly", "is_fraud", "posting_date"])
    t = t.set_column(
        t.schema.get_field_index("is_anomaly"),
        "anomalous_entries",
        pc.cast(t["is_anomaly"], pa.int64()),
    )
    t = t.set_column(
        t.schema.get_field_index("is_fraud"), "fraud_entries", pc.cast(t["is_fraud"], pa.int64())
    )
    t = t.append_column("entries", pa.array(np.ones(t.num_rows, dtype=np.int64)))
    return _group_periods(t)


def _group_periods(t: pa.Table) -> pa.Table:
    grouped = t.group_by(_PERIOD_KEYS, use_threads=False).aggregate(
        [
            ("weight", "sum"),
            ("entries", "sum"),
            ("anomalous_entries", "sum"),
            ("fraud_entries", "sum"),
            ("posting_date", "min"),
        ]
    )
    grouped = grouped.rename_columns(
        {
            "weight_sum": "weight",
            "entries_sum": "entries",
            "anomalous_entries_sum": "anomalous_entries",
            "fraud_entries_sum": "fraud_entries",
            "posting_date_min": "posting_date",
        }
    )
    return grouped.select(
        [*_PERIOD_KEYS, "weight", "entries", "anomalous_entries", "fraud_entries", "posting_date"]
    )


def combine_periods(parts: list[pa.Table]) -> pa.Table:
    """The transaction edges per company, fiscal period and account pair from the blocks'
    partial sums, with their labels (any anomalous / fraudulent entry) and features."""
    parts = [p for p in parts if p.num_rows]
    if not parts:
        empty = pa.table(
            {
                "company_code": pa.array([], pa.string()),
                "fiscal_year": pa.array([], pa.int32()),
                "fiscal_period": pa.array([], pa.int32()),
                "src": pa.array([], pa.string()),
                "dst": pa.array([], pa.string()),
                "weight": pa.array([], pa.float64()),
                "entries": pa.array([], pa.int64()),
                "anomalous_entries": pa.array([], pa.int64()),
                "fraud_entries": pa.array([], pa.int64()),
                "posting_date": pa.array([], pa.date32()),
            }
        )
        t = empty
    else:
        t = _group_periods(pa.concat_tables(parts))
    t = t.sort_by([(k, "ascending") for k in _PERIOD_KEYS])
    weight = np.round(_number(t["weight"]), 6)  # no float-summation noise (0.47000000003)
    entries = _number(t["entries"])
    anomalous = _number(t["anomalous_entries"])
    period = _number(t["fiscal_period"])
    return pa.table(
        {
            "src": t["src"],
            "dst": t["dst"],
            "company_code": t["company_code"],
            "fiscal_year": t["fiscal_year"],
            "fiscal_period": t["fiscal_period"],
            "posting_date": t["posting_date"],
            "weight": pa.array(weight),
            "entries": t["entries"],
            "anomalous_entries": t["anomalous_entries"],
            "is_anomaly": pa.array(anomalous > 0),
            "is_fraud": pa.array(_number(t["fraud_entries"]) > 0),
            "f_log_weight": _f32(np.log1p(weight)),
            "f_log_entries": _f32(np.log1p(entries)),
            "f_period": _f32(period / 12.0),
            "f_year_end": _f32(period == 12),
            "f_benford_p": _f32(benford_probability(weight)),
        }
    )


def _approval_sums(head: pa.Table, total_minor: np.ndarray, is_anomaly: np.ndarray) -> pa.Table:
    """Per (preparer, approver): approved entries, their total and how many are anomalous."""
    approved = np.asarray(head["approved_by"].is_valid())
    rows = np.flatnonzero(approved)
    table = pa.table(
        {
            "src": strings(head["created_by"]).take(pa.array(rows)),
            "dst": strings(head["approved_by"]).take(pa.array(rows)),
            "entries": pa.array(np.ones(rows.size, dtype=np.int64)),
            "amount_minor": pa.array(total_minor[rows]),
            "anomalous_entries": pa.array(is_anomaly[rows].astype(np.int64)),
        }
    )
    return table


def combine_approvals(parts: list[pa.Table]) -> pa.Table:
    """The approval edges of the whole dataset from the blocks' partial sums."""
    if not parts or sum(p.num_rows for p in parts) == 0:
        return _approval_table(pa.table({}))
    table = pa.concat_tables(parts)
    if table.num_rows == 0:
        return _approval_table(table)
    grouped = table.group_by(["src", "dst"], use_threads=False).aggregate(
        [("entries", "sum"), ("amount_minor", "sum"), ("anomalous_entries", "sum")]
    )
    grouped = grouped.rename_columns(
        {
            "entries_sum": "entries",
            "amount_minor_sum": "amount_minor",
            "anomalous_entries_sum": "anomalous_entries",
        }
    )
    grouped = grouped.sort_by([("src", "ascending"), ("dst", "ascending")])
    return _approval_table(grouped)


def _approval_table(t: pa.Table) -> pa.Table:
    entries = _number(t["entries"]) if t.num_rows else np.zeros(0)
    amount = (
        np.asarray(t["amount_minor"].combine_chunks(), np.int64) / 100.0
        if t.num_rows
        else np.zeros(0)
    )
    anomalous = _number(t["anomalous_entries"]) if t.num_rows else np.zeros(0)
    src = t["src"].combine_chunks() if t.num_rows else pa.array([], pa.string())
    dst = t["dst"].combine_chunks() if t.num_rows else pa.array([], pa.string())
    return pa.table(
        {
            "src": src,
            "dst": dst,
            "entries": pa.array(entries.astype(np.int64)),
            "amount": pa.array(amount),
            "anomalous_entries": pa.array(anomalous.astype(np.int64)),
            "self_approval": pc.equal(src, dst) if len(src) else pa.array([], pa.bool_()),
            "is_anomaly": pa.array(anomalous > 0),
            "f_log_entries": _f32(np.log1p(entries)),
            "f_log_amount": _f32(np.log1p(amount)),
        }
    )


def document_part(flows: dict[str, pa.Table]) -> tuple[pa.Table, dict[str, pa.Table]]:
    """Document nodes (one per document, items summed) and their edges to partners,
    materials, companies and each other."""
    node_parts = []
    contains = []
    partner: dict[str, list[pa.Table]] = {"vendor": [], "customer": []}
    companies = []
    for name in DOCUMENT_TYPES:
        table = flows.get(name)
        if table is None or table.num_rows == 0:
            continue
        id_col, date_col, amount_col, partner_col = DOCUMENT_TABLES[name]
        ids = table[id_col].combine_chunks()
        amount = pa.array(_number(table[amount_col]))
        # one node per document id (in order of first appearance): the first row holds its
        # header fields, the items' amounts are summed
        group = np.asarray(pc.index_in(ids, value_set=pc.unique(ids)))
        _, first = np.unique(group, return_index=True)
        header = table.take(pa.array(first))
        total = np.round(np.bincount(group, weights=_number(amount), minlength=first.size), 2)
        kind_name = pa.repeat(pa.scalar(name), header.num_rows)
        node_parts.append(
            pa.table(
                {
                    "id": header[id_col].combine_chunks(),
                    "document_type": kind_name,
                    "company_code": strings(header["company_code"]),
                    "document_date": header[date_col].combine_chunks().cast(pa.date32()),
                    "amount": pa.array(total),
                    "currency": strings(header["currency"]),
                    "f_log_amount": _f32(np.log1p(np.abs(total))),
                    **_one_hot(kind_name, "type", DOCUMENT_TYPES),
                }
            )
        )
        companies.append(
            pa.table(
                {"src": header[id_col].combine_chunks(), "dst": strings(header["company_code"])}
            )
        )
        kind = "vendor" if partner_col == "vendor_id" else "customer"
        partner[kind].append(
            pa.table({"src": header[id_col].combine_chunks(), "dst": strings(header[partner_col])})
        )
        if "material_id" in table.column_names:
            qty = table["quantity"] if "quantity" in table.column_names else None
            contains.append(
                _pairs(
                    ids,
                    strings(table["material_id"]),
                    {
                        "quantity": qty.combine_chunks()
                        if qty is not None
                        else pa.nulls(len(ids), pa.int64()),
                        "amount": amount,
                    },
                )
            )
    empty_doc = pa.table(
        {
            "id": pa.array([], pa.string()),
            "document_type": pa.array([], pa.string()),
            "company_code": pa.array([], pa.string()),
            "document_date": pa.array([], pa.date32()),
            "amount": pa.array([], pa.float64()),
            "currency": pa.array([], pa.string()),
            "f_log_amount": pa.array([], pa.float32()),
            **{f"f_type_{t}": pa.array([], pa.float32()) for t in DOCUMENT_TYPES},
        }
    )
    nodes = pa.concat_tables(node_parts) if node_parts else empty_doc
    edges: dict[str, pa.Table] = {}
    pair = pa.table({"src": pa.array([], pa.string()), "dst": pa.array([], pa.string())})
    edges[relation("document", "booked_in", "company")] = (
        pa.concat_tables(companies) if companies else pair
    )
    edges[relation("document", "with_vendor", "vendor")] = (
        pa.concat_tables(partner["vendor"]) if partner["vendor"] else pair
    )
    edges[relation("document", "with_customer", "customer")] = (
        pa.concat_tables(partner["customer"]) if partner["customer"] else pair
    )
    empty_contains = pair.append_column("quantity", pa.array([], pa.float64())).append_column(
        "amount", pa.array([], pa.float64())
    )
    table = pa.concat_tables(contains) if contains else empty_contains
    edges[relation("document", "contains", "material")] = table.append_column(
        "f_log_quantity", _f32(np.log1p(np.abs(_number(table["quantity"]))))
    ).append_column("f_log_amount", _f32(np.log1p(np.abs(_number(table["amount"])))))
    refs = flows.get("document_references")
    if refs is not None and refs.num_rows:
        follows = pa.table(
            {
                "src": refs["source_document_id"].combine_chunks(),
                "dst": refs["target_document_id"].combine_chunks(),
                "reference_type": strings(refs["reference_type"]),
            }
        )
        # only references between documents of this block's flows (all of them, by design)
        inside = pc.and_(
            pc.is_in(follows["src"], value_set=nodes["id"].combine_chunks()),
            pc.is_in(follows["dst"], value_set=nodes["id"].combine_chunks()),
        )
        follows = follows.filter(inside)
    else:
        follows = pair.append_column("reference_type", pa.array([], pa.string()))
    edges[relation("document", "follows", "document")] = follows
    return nodes, edges


# ------------------------------------------------------------------------------------------
# master data


def master_part(
    master: dict[str, pa.Table], labels: pa.Table | None, graphs: tuple[str, ...]
) -> Part:
    """Nodes of the master data and the edges among them."""
    nodes: dict[str, pa.Table] = {}
    edges: dict[str, pa.Table] = {}
    entity = "entity" in graphs
    chart = master["chart_of_accounts"]
    if entity or "transaction" in graphs:
        nodes["account"] = pa.table(
            {
                "id": chart["account_number"].combine_chunks(),
                "name": chart["account_name"].combine_chunks(),
                "account_type": strings(chart["account_type"]),
                "account_class": strings(chart["account_class"]),
                "normal_balance": strings(chart["normal_balance"]),
                "is_control_account": chart["is_control_account"].combine_chunks(),
                "f_class": _f32(_number(chart["account_class"]) / 9.0),
                **_one_hot(
                    chart["account_type"],
                    "type",
                    ("asset", "liability", "equity", "revenue", "expense"),
                ),
                "f_normal_debit": _f32(
                    np.asarray(pc.equal(strings(chart["normal_balance"]), "debit"))
                ),
                "f_control": _f32(_number(chart["is_control_account"])),
                "f_requires_cost_center": _f32(_number(chart["requires_cost_center"])),
            }
        )
    users = master["users"]
    if entity or "approval" in graphs:
        nodes["user"] = pa.table(
            {
                "id": users["user_id"].combine_chunks(),
                "company_code": strings(users["company_code"]),
                "display_name": users["display_name"].combine_chunks(),
                "persona": strings(users["persona"]),
                "is_automated": users["is_automated"].combine_chunks(),
                **_one_hot(users["persona"], "persona", PERSONA_NAMES),
                "f_automated": _f32(_number(users["is_automated"])),
            }
        )
        # (datasets written before users had reports_to have no reporting lines)
        if "reports_to" in users.column_names:
            reports = users.filter(pc.is_valid(users["reports_to"]))
            src, dst = reports["user_id"].combine_chunks(), strings(reports["reports_to"])
        else:
            src = dst = pa.array([], pa.string())
        edges[REPORTS_TO] = pa.table({"src": src, "dst": dst})
    if not entity:
        return Part(nodes, edges)
    companies = master["companies"]
    nodes["company"] = pa.table(
        {
            "id": companies["company_code"].combine_chunks(),
            "name": companies["company_name"].combine_chunks(),
            "currency": strings(companies["currency"]),
            "country": strings(companies["country"]),
            "f_volume_weight": _f32(_number(companies["volume_weight"])),
        }
    )
    fictitious = _fictitious_vendors(labels)
    vendors = master["vendors"]
    nodes["vendor"] = pa.table(
        {
            "id": vendors["vendor_id"].combine_chunks(),
            "company_code": strings(vendors["company_code"]),
            "name": vendors["vendor_name"].combine_chunks(),
            "vendor_type": strings(vendors["vendor_type"]),
            "country": strings(vendors["country"]),
            "is_fictitious": pc.is_in(vendors["vendor_id"].combine_chunks(), value_set=fictitious),
            "f_payment_terms": _f32(_number(vendors["payment_terms_days"]) / 90.0),
            "f_cash_discount": _f32(_number(vendors["cash_discount_percent"]) / 10.0),
            "f_intercompany": _f32(_number(vendors["is_intercompany"])),
            **_one_hot(vendors["vendor_type"], "type"),
        }
    )
    customers = master["customers"]
    nodes["customer"] = pa.table(
        {
            "id": customers["customer_id"].combine_chunks(),
            "company_code": strings(customers["company_code"]),
            "name": customers["customer_name"].combine_chunks(),
            "customer_type": strings(customers["customer_type"]),
            "country": strings(customers["country"]),
            "f_log_credit_limit": _f32(np.log1p(_number(customers["credit_limit"]))),
            "f_payment_terms": _f32(_number(customers["payment_terms_days"]) / 90.0),
            "f_cash_discount": _f32(_number(customers["cash_discount_percent"]) / 10.0),
            "f_intercompany": _f32(_number(customers["is_intercompany"])),
            **_one_hot(customers["customer_type"], "type"),
            **_one_hot(customers["credit_rating"], "rating"),
            **_one_hot(customers["payment_behavior"], "behavior"),
        }
    )
    materials = master["materials"]
    nodes["material"] = pa.table(
        {
            "id": materials["material_id"].combine_chunks(),
            "company_code": strings(materials["company_code"]),
            "description": materials["description"].combine_chunks(),
            "material_type": strings(materials["material_type"]),
            "f_log_standard_cost": _f32(np.log1p(_number(materials["standard_cost"]))),
            "f_log_list_price": _f32(np.log1p(_number(materials["list_price"]))),
            **_one_hot(materials["material_type"], "type"),
            **_one_hot(materials["abc_class"], "abc"),
        }
    )
    assets = master["fixed_assets"]
    nodes["fixed_asset"] = pa.table(
        {
            "id": assets["asset_id"].combine_chunks(),
            "company_code": strings(assets["company_code"]),
            "description": assets["description"].combine_chunks(),
            "asset_class": strings(assets["asset_class"]),
            "acquisition_date": assets["acquisition_date"].combine_chunks(),
            "f_log_cost": _f32(np.log1p(_number(assets["acquisition_cost"]))),
            "f_useful_life": _f32(_number(assets["useful_life_months"]) / 120.0),
            **_one_hot(assets["asset_class"], "class"),
            **_one_hot(assets["depreciation_method"], "method"),
        }
    )
    for kind, table, column in (
        ("user", users, "user_id"),
        ("vendor", vendors, "vendor_id"),
        ("customer", customers, "customer_id"),
        ("material", materials, "material_id"),
        ("fixed_asset", assets, "asset_id"),
    ):
        edges[relation(kind, "belongs_to", "company")] = pa.table(
            {"src": table[column].combine_chunks(), "dst": strings(table["company_code"])}
        )
    for kind, table, column in (
        ("material", materials, "material_id"),
        ("fixed_asset", assets, "asset_id"),
    ):
        has = table.filter(
            pc.is_valid(table["preferred_vendor_id" if kind == "material" else "vendor_id"])
        )
        edges[relation(kind, "supplied_by", "vendor")] = pa.table(
            {
                "src": has[column].combine_chunks(),
                "dst": strings(has["preferred_vendor_id" if kind == "material" else "vendor_id"]),
            }
        )
    return Part(nodes, edges)


def _fictitious_vendors(labels: pa.Table | None) -> pa.Array:
    if labels is None or labels.num_rows == 0:
        return pa.array([], pa.string())
    mask = pc.equal(strings(labels["anomaly_type"]), "fictitious_vendor")
    return pc.unique(labels["related_vendor"].combine_chunks().filter(mask).drop_null())


def feature_columns(table: pa.Table) -> list[str]:
    return [c for c in table.column_names if c.startswith("f_")]
