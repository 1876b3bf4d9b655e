"""The object-centric event log (OCEL 2.0) of the P2P and O2C flows, built from the
document tables a run wrote (never by regenerating them).

Objects are the documents (purchase orders, goods receipts, vendor invoices, payments, sales
orders, deliveries, customer invoices, customer receipts) and the vendors and customers they
concern. Events are the steps of each flow, with a timestamp, a resource and qualified
relationships to every object they touch:

* P2P: Create purchase order, Change purchase order (rework), Approve purchase order (skipped
  when an order was released without approval), Post goods receipt, Receive vendor invoice
  (before the goods receipt when the vendor invoiced early: an out-of-order step), Verify
  invoice (three-way match), Post vendor invoice, Release payment block, Pay vendor invoice.
* O2C: Create sales order, Change sales order, Check credit, Create delivery, Pick goods
  (skipped for some deliveries), Pack goods, Post goods issue, Create customer invoice,
  Receive payment (also on account), Apply payment on account, Reverse payment (returned or
  charged back), Write off receivable.

Documents carry dates only; events get times of day within office hours in the natural order
of each flow's steps, derived from the document number so that the log is deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datasynth.core import vocab

MS_PER_DAY = 86_400_000
_HOUR = 3_600_000

#: object type per document id column
OBJECT_TYPES = {
    "purchase_orders": ("purchase_order", "purchase_order_id"),
    "goods_receipts": ("goods_receipt", "goods_receipt_id"),
    "vendor_invoices": ("vendor_invoice", "vendor_invoice_id"),
    "payments": ("payment", "payment_id"),
    "sales_orders": ("sales_order", "sales_order_id"),
    "deliveries": ("delivery", "delivery_id"),
    "customer_invoices": ("customer_invoice", "customer_invoice_id"),
    "customer_receipts": ("customer_receipt", "receipt_id"),
}
EVENT_SCHEMA = pa.schema(
    [
        ("event_id", pa.string()),
        ("activity", pa.string()),
        ("time", pa.timestamp("ms")),
        ("resource", pa.string()),
        ("company_code", pa.string()),
    ]
)
EVENT_OBJECT_SCHEMA = pa.schema(
    [("event_id", pa.string()), ("object_id", pa.string()), ("qualifier", pa.string())]
)
OBJECT_SCHEMA = pa.schema(
    [
        ("object_id", pa.string()),
        ("object_type", pa.string()),
        ("company_code", pa.string()),
        ("amount", pa.float64()),
        ("currency", pa.string()),
        ("status", pa.string()),
    ]
)
OBJECT_OBJECT_SCHEMA = pa.schema(
    [("source_id", pa.string()), ("target_id", pa.string()), ("qualifier", pa.string())]
)


@dataclass(frozen=True)
class EventLog:
    """An OCEL 2.0 log as four tables (events, event-object links, objects, object links)."""

    events: pa.Table
    event_objects: pa.Table
    objects: pa.Table
    object_objects: pa.Table


def _headers(table: pa.Table, key: str, columns: dict[str, str]) -> pa.Table:
    """One row per document: the first value of each column, amounts summed, by id."""
    aggs = [(c, how) for c, how in columns.items()]
    out = table.group_by(key, use_threads=False).aggregate(aggs)
    names = {f"{c}_{how}": c for c, how in columns.items()}
    return out.rename_columns([names.get(n, n) for n in out.column_names]).sort_by(key)


def _office_time(days: pa.Array, ids: pa.Array, hour: float, spread_hours: float) -> np.ndarray:
    """Milliseconds of ``days`` at ``hour`` plus a deterministic offset from the id's digits."""
    d = pc.cast(days, pa.int32()).to_numpy(zero_copy_only=False).astype(np.int64)
    digits = pc.cast(pc.utf8_slice_codeunits(ids, -7), pa.int64()).to_numpy(zero_copy_only=False)
    jitter = (np.asarray(digits, dtype=np.int64) * 7_919_113) % int(spread_hours * _HOUR)
    out: np.ndarray = d * MS_PER_DAY + int(hour * _HOUR) + jitter
    return out


class _Builder:
    def __init__(self) -> None:
        self.events: list[pa.Table] = []
        self.links: list[pa.Table] = []

    def add_order(
        self,
        kind: str,
        orders: pa.Table,
        key: str,
        partner: str,
        partner_qualifier: str,
        created: np.ndarray,
    ) -> np.ndarray:
        """``Create <kind>`` and one ``Change <kind>`` per recorded change (half an hour
        apart); returns each order's number of changes."""
        ids = orders[key]
        self.add(
            f"Create {kind}",
            ids,
            created,
            orders["created_by"],
            orders["company_code"],
            [(ids, "order"), (orders[partner], partner_qualifier)],
        )
        changes: np.ndarray = orders["change_count"].to_numpy(zero_copy_only=False).astype(np.int64)
        for k in range(1, int(changes.max(initial=0)) + 1):
            has = pa.array(changes >= k)
            self.add(
                f"Change {kind}",
                ids.filter(has),
                created[changes >= k] + k * _HOUR // 2,
                orders["created_by"].filter(has),
                orders["company_code"].filter(has),
                [(ids.filter(has), "order")],
                suffix=f"-{k}",
            )
        return changes

    def add(
        self,
        activity: str,
        key: pa.Array,
        time_ms: np.ndarray,
        resource: pa.Array | None,
        company: pa.Array,
        relations: list[tuple[pa.Array, str]],
        suffix: str = "",
    ) -> None:
        n = len(key)
        if n == 0:
            return
        code = activity.lower().replace(" ", "_")
        event_id = pc.binary_join_element_wise(f"{code}{suffix}", key, ":")
        self.events.append(
            pa.table(
                {
                    "event_id": event_id,
                    "activity": vocab.constant(activity, n),
                    "time": pa.array(time_ms, pa.timestamp("ms")),
                    "resource": resource if resource is not None else pa.nulls(n, pa.string()),
                    "company_code": company,
                },
                schema=EVENT_SCHEMA,
            )
        )
        for objects, qualifier in relations:
            valid = pc.is_valid(objects)
            self.links.append(
                pa.table(
                    {
                        "event_id": event_id.filter(valid),
                        "object_id": objects.filter(valid),
                        "qualifier": vocab.constant(qualifier, int(pc.sum(valid).as_py() or 0)),
                    },
                    schema=EVENT_OBJECT_SCHEMA,
                )
            )


#: the least time between two steps of one flow
_STEP = 600_000


def _by_key(keys: pa.Array, ref_keys: pa.Array, ref_times: np.ndarray, how: str) -> np.ndarray:
    """Per value of ``keys``, the max or min of ``ref_times`` over rows with that key."""
    none = np.iinfo(np.int64).min // 2 if how == "max" else np.iinfo(np.int64).max // 2
    if len(ref_keys) == 0 or len(keys) == 0:
        return np.full(len(keys), none, dtype=np.int64)
    grouped = (
        pa.table({"k": ref_keys, "t": pa.array(np.asarray(ref_times, dtype=np.int64))})
        .group_by("k")
        .aggregate([("t", how)])
    )
    index = pc.fill_null(pc.index_in(keys, value_set=grouped["k"]), -1).to_numpy(
        zero_copy_only=False
    )
    values = grouped[f"t_{how}"].to_numpy()
    out: np.ndarray = np.where(index >= 0, values[np.maximum(index, 0)], none)
    return out


def _latest(keys: pa.Array, ref_keys: pa.Array, ref_times: np.ndarray) -> np.ndarray:
    return _by_key(keys, ref_keys, ref_times, "max")


def _earliest(keys: pa.Array, ref_keys: pa.Array, ref_times: np.ndarray) -> np.ndarray:
    return _by_key(keys, ref_keys, ref_times, "min")


def _first(table: pa.Table, key: str, other: pa.Array, column: str) -> pa.Array:
    """``column`` of the row of ``table`` whose ``key`` equals each value of ``other``."""
    index = pc.index_in(other, value_set=table[key])
    return table[column].take(index)


def build_event_log(tables: dict[str, pa.Table]) -> EventLog:
    """The OCEL 2.0 log of the flows in ``tables`` (the ``document_flows`` tables)."""
    b = _Builder()
    objects: list[pa.Table] = []
    o2o: list[pa.Table] = []

    # --- procure to pay ----------------------------------------------------------------------
    po = _headers(
        tables["purchase_orders"],
        "purchase_order_id",
        {
            "company_code": "first",
            "vendor_id": "first",
            "document_date": "first",
            "created_by": "first",
            "approved_by": "first",
            "change_count": "first",
            "net_amount": "sum",
            "currency": "first",
            "status": "first",
        },
    )
    gr = _headers(
        tables["goods_receipts"],
        "goods_receipt_id",
        {
            "company_code": "first",
            "purchase_order_id": "first",
            "vendor_id": "first",
            "posting_date": "first",
            "amount": "sum",
            "currency": "first",
        },
    )
    vi = _headers(
        tables["vendor_invoices"],
        "vendor_invoice_id",
        {
            "company_code": "first",
            "purchase_order_id": "first",
            "vendor_id": "first",
            "invoice_date": "first",
            "posting_date": "first",
            "gross_amount": "sum",
            "match_status": "first",
            "payment_block": "first",
            "currency": "first",
        },
    )
    pay = tables["payments"].sort_by("payment_id")
    po_id = po["purchase_order_id"]
    create = _office_time(po["document_date"], po_id, 8.5, 3.0)
    changes = b.add_order("purchase order", po, "purchase_order_id", "vendor_id", "vendor", create)
    approved = pc.is_valid(po["approved_by"])
    approve = create + (changes + 1) * _HOUR // 2 + _HOUR
    # the order is released when approved (or when created, if approval was skipped)
    released = np.where(approved.to_numpy(zero_copy_only=False), approve, create)
    b.add(
        "Approve purchase order",
        po_id.filter(approved),
        approve[approved.to_numpy(zero_copy_only=False)],
        po["approved_by"].filter(approved),
        po["company_code"].filter(approved),
        [(po_id.filter(approved), "order")],
    )
    gr_id = gr["goods_receipt_id"]
    # each step waits for the one before it in its flow (documents of one day included)
    gr_time = np.maximum(
        _office_time(gr["posting_date"], gr_id, 9.0, 6.0),
        _latest(gr["purchase_order_id"], po_id, released) + _STEP,
    )
    b.add(
        "Post goods receipt",
        gr_id,
        gr_time,
        None,
        gr["company_code"],
        [(gr_id, "receipt"), (gr["purchase_order_id"], "order")],
    )
    vi_id = vi["vendor_invoice_id"]
    last_gr = _latest(vi["purchase_order_id"], gr["purchase_order_id"], gr_time)
    first_gr_day = _earliest(vi["purchase_order_id"], gr["purchase_order_id"], gr_time)
    received = _office_time(vi["invoice_date"], vi_id, 8.0, 2.0)
    # an invoice dated before the goods arrived was received before them (out of order);
    # any other one is received after the last receipt
    in_order = received // MS_PER_DAY >= first_gr_day // MS_PER_DAY
    received = np.where(in_order, np.maximum(received, last_gr + _STEP), received)
    b.add(
        "Receive vendor invoice",
        vi_id,
        received,
        None,
        vi["company_code"],
        [(vi_id, "invoice"), (vi["purchase_order_id"], "order"), (vi["vendor_id"], "vendor")],
    )
    verify = np.maximum(
        _office_time(vi["posting_date"], vi_id, 10.5, 3.0),
        np.maximum(received, last_gr) + _STEP,
    )
    # the match checks the invoice against every receipt of its order
    matched_gr = gr.filter(pc.is_in(gr["purchase_order_id"], value_set=vi["purchase_order_id"]))
    verify_links = pa.table(
        {
            "event_id": pc.binary_join_element_wise(
                "verify_invoice",
                _first(
                    vi, "purchase_order_id", matched_gr["purchase_order_id"], "vendor_invoice_id"
                ),
                ":",
            ),
            "object_id": matched_gr["goods_receipt_id"],
            "qualifier": vocab.constant("receipt", matched_gr.num_rows),
        },
        schema=EVENT_OBJECT_SCHEMA,
    )
    b.add(
        "Verify invoice",
        vi_id,
        verify,
        None,
        vi["company_code"],
        [(vi_id, "invoice"), (vi["purchase_order_id"], "order")],
    )
    b.links.append(verify_links)
    b.add(
        "Post vendor invoice",
        vi_id,
        verify + _HOUR // 4,
        None,
        vi["company_code"],
        [(vi_id, "invoice")],
    )
    pay_inv = pay["vendor_invoice_id"]
    blocked_paid = pc.fill_null(_first(vi, "vendor_invoice_id", pay_inv, "payment_block"), False)
    release_key = pay_inv.filter(blocked_paid)
    posted = _latest(pay_inv, vi_id, verify + _HOUR // 4)
    release = np.maximum(
        _office_time(pay["payment_date"], pay["payment_id"], 13.0, 1.0), posted + _STEP
    )
    b.add(
        "Release payment block",
        release_key,
        release[blocked_paid.to_numpy(zero_copy_only=False)],
        None,
        pay["company_code"].filter(blocked_paid),
        [(release_key, "invoice")],
    )
    pay_id = pay["payment_id"]
    b.add(
        "Pay vendor invoice",
        pay_id,
        np.maximum(_office_time(pay["payment_date"], pay_id, 15.0, 2.0), release + _STEP),
        None,
        pay["company_code"],
        [(pay_id, "payment"), (pay_inv, "invoice"), (pay["vendor_id"], "vendor")],
    )
    objects += [
        _objects(po, "purchase_order_id", "purchase_order", "net_amount", "status"),
        _objects(gr, "goods_receipt_id", "goods_receipt", "amount", None),
        _objects(vi, "vendor_invoice_id", "vendor_invoice", "gross_amount", "match_status"),
        _objects(pay, "payment_id", "payment", "amount", None),
        _partners(po["vendor_id"], po["company_code"], "vendor"),
    ]
    o2o += [
        _o2o(gr_id, gr["purchase_order_id"], "goods receipt for order"),
        _o2o(vi_id, vi["purchase_order_id"], "invoice for order"),
        _o2o(pay_id, pay_inv, "payment of invoice"),
        _o2o(po_id, po["vendor_id"], "ordered from"),
    ]

    # --- order to cash -----------------------------------------------------------------------
    so = _headers(
        tables["sales_orders"],
        "sales_order_id",
        {
            "company_code": "first",
            "customer_id": "first",
            "document_date": "first",
            "created_by": "first",
            "change_count": "first",
            "net_amount": "sum",
            "currency": "first",
            "credit_status": "first",
            "status": "first",
        },
    )
    dl = _headers(
        tables["deliveries"],
        "delivery_id",
        {
            "company_code": "first",
            "sales_order_id": "first",
            "customer_id": "first",
            "goods_issue_date": "first",
            "picked": "first",
            "cost_amount": "sum",
            "currency": "first",
        },
    )
    ci = _headers(
        tables["customer_invoices"],
        "customer_invoice_id",
        {
            "company_code": "first",
            "sales_order_id": "first",
            "customer_id": "first",
            "invoice_date": "first",
            "gross_amount": "sum",
            "payment_status": "first",
            "write_off_date": "first",
            "currency": "first",
        },
    )
    rec = tables["customer_receipts"].sort_by("receipt_id")
    so_id = so["sales_order_id"]
    so_create = _office_time(so["document_date"], so_id, 8.5, 4.0)
    so_changes = b.add_order(
        "sales order", so, "sales_order_id", "customer_id", "customer", so_create
    )
    credit_checked = so_create + (so_changes + 1) * _HOUR // 2 + _HOUR // 4
    b.add(
        "Check credit",
        so_id,
        credit_checked,
        None,
        so["company_code"],
        [(so_id, "order"), (so["customer_id"], "customer")],
    )
    dl_id = dl["delivery_id"]
    # picking, packing and the goods issue follow the delivery's creation, which waits for
    # the credit check
    created = np.maximum(
        _office_time(dl["goods_issue_date"], dl_id, 9.0, 3.0),
        _latest(dl["sales_order_id"], so_id, credit_checked) + _STEP,
    )
    issue = created + 4 * _HOUR
    b.add(
        "Create delivery",
        dl_id,
        created,
        None,
        dl["company_code"],
        [(dl_id, "delivery"), (dl["sales_order_id"], "order")],
    )
    picked = pc.fill_null(dl["picked"], True)
    b.add(
        "Pick goods",
        dl_id.filter(picked),
        (issue - 3 * _HOUR)[picked.to_numpy(zero_copy_only=False)],
        None,
        dl["company_code"].filter(picked),
        [(dl_id.filter(picked), "delivery")],
    )
    b.add(
        "Pack goods",
        dl_id,
        issue - _HOUR,
        None,
        dl["company_code"],
        [(dl_id, "delivery")],
    )
    b.add(
        "Post goods issue",
        dl_id,
        issue,
        None,
        dl["company_code"],
        [(dl_id, "delivery"), (dl["sales_order_id"], "order")],
    )
    ci_id = ci["customer_invoice_id"]
    invoiced = np.maximum(
        _office_time(ci["invoice_date"], ci_id, 7.0, 1.0),
        _latest(ci["sales_order_id"], dl["sales_order_id"], issue) + _STEP,
    )
    b.add(
        "Create customer invoice",
        ci_id,
        invoiced,
        None,
        ci["company_code"],
        [(ci_id, "invoice"), (ci["sales_order_id"], "order"), (ci["customer_id"], "customer")],
    )
    reversed_ = pc.is_in(rec["receipt_type"], value_set=pa.array(["returned", "chargeback"]))
    paid = pc.invert(reversed_)
    for activity, rows, hour in (
        ("Receive payment", paid, 9.0),
        ("Reverse payment", reversed_, 14.0),
    ):
        part = rec.filter(rows)
        part_id = part["receipt_id"]
        b.add(
            activity,
            part_id,
            np.maximum(
                _office_time(part["receipt_date"], part_id, hour, 3.0),
                _latest(part["sales_order_id"], ci["sales_order_id"], invoiced) + _STEP,
            ),
            None,
            part["company_code"],
            [
                (part_id, "receipt"),
                (part["customer_invoice_id"], "invoice"),
                (part["customer_id"], "customer"),
            ],
        )
    applied = rec.filter(pc.is_valid(rec["applied_date"]))
    b.add(
        "Apply payment on account",
        applied["receipt_id"],
        _office_time(applied["applied_date"], applied["receipt_id"], 10.0, 4.0),
        None,
        applied["company_code"],
        [(applied["receipt_id"], "receipt"), (applied["customer_invoice_id"], "invoice")],
    )
    rec_id = rec["receipt_id"]
    written = pc.is_valid(ci["write_off_date"])
    b.add(
        "Write off receivable",
        ci_id.filter(written),
        _office_time(ci["write_off_date"].filter(written), ci_id.filter(written), 11.0, 4.0),
        None,
        ci["company_code"].filter(written),
        [(ci_id.filter(written), "invoice"), (ci["customer_id"].filter(written), "customer")],
    )
    objects += [
        _objects(so, "sales_order_id", "sales_order", "net_amount", "status"),
        _objects(dl, "delivery_id", "delivery", "cost_amount", None),
        _objects(ci, "customer_invoice_id", "customer_invoice", "gross_amount", "payment_status"),
        _objects(rec, "receipt_id", "customer_receipt", "amount", "receipt_type"),
        _partners(so["customer_id"], so["company_code"], "customer"),
    ]
    o2o += [
        _o2o(dl_id, dl["sales_order_id"], "delivery for order"),
        _o2o(ci_id, ci["sales_order_id"], "invoice for order"),
        _o2o(rec_id, rec["customer_invoice_id"], "payment of invoice"),
        _o2o(so_id, so["customer_id"], "ordered by"),
    ]
    events = _concat(b.events, EVENT_SCHEMA).sort_by(
        [("time", "ascending"), ("event_id", "ascending")]
    )
    return EventLog(
        events=events,
        event_objects=_concat(b.links, EVENT_OBJECT_SCHEMA),
        objects=_concat(objects, OBJECT_SCHEMA),
        object_objects=_concat(o2o, OBJECT_OBJECT_SCHEMA),
    )


def _concat(tables: list[pa.Table], schema: pa.Schema) -> pa.Table:
    """The tables end to end (a run without flows has none: an empty table then)."""
    return pa.concat_tables(tables) if tables else schema.empty_table()


def _objects(table: pa.Table, key: str, kind: str, amount: str, status: str | None) -> pa.Table:
    n = table.num_rows
    return pa.table(
        {
            "object_id": table[key],
            "object_type": vocab.constant(kind, n),
            "company_code": table["company_code"],
            "amount": pc.cast(table[amount], pa.float64()),
            "currency": table["currency"],
            "status": table[status] if status else pa.nulls(n, pa.string()),
        },
        schema=OBJECT_SCHEMA,
    )


def _partners(ids: pa.Array, company: pa.Array, kind: str) -> pa.Table:
    pairs = (
        pa.table({"object_id": ids, "company_code": company})
        .group_by("object_id", use_threads=False)
        .aggregate([("company_code", "first")])
        .sort_by("object_id")
    )
    n = pairs.num_rows
    return pa.table(
        {
            "object_id": pairs["object_id"],
            "object_type": vocab.constant(kind, n),
            "company_code": pairs["company_code_first"],
            "amount": pa.nulls(n, pa.float64()),
            "currency": pa.nulls(n, pa.string()),
            "status": pa.nulls(n, pa.string()),
        },
        schema=OBJECT_SCHEMA,
    )


def _o2o(source: pa.Array, target: pa.Array, qualifier: str) -> pa.Table:
    """Links from ``source`` to ``target`` objects (rows without a target are left out)."""
    valid = pc.is_valid(target)
    n = int(pc.sum(valid).as_py() or 0)
    return pa.table(
        {
            "source_id": pc.filter(source, valid),
            "target_id": pc.filter(target, valid),
            "qualifier": vocab.constant(qualifier, n),
        },
        schema=OBJECT_OBJECT_SCHEMA,
    )
