"""Procure-to-pay flows, vectorised per block: purchase order -> goods receipt(s) -> vendor
invoice (three-way match) -> payment, with the journal entries each posting document makes.

* Order: a vendor (weighted by activity among those that supply purchased materials), 1..n
  items of that vendor's materials at their standard cost, status released; some orders are
  changed and approved again (rework) or released without approval (skip).
* Goods receipt: after the lead time; a partial delivery splits every item 60-80% / rest over
  two receipts days apart; otherwise a few orders are over-delivered (within tolerance).
  Posts inventory / GR-IR at order price.
* Invoice: after the last receipt. Some invoices bill other prices (price variance) or other
  quantities than received (quantity variance, always beyond tolerance). The three-way match
  (price and quantity tolerances) sets the match status; a failed match blocks payment until
  released by hand. Posts GR-IR (invoiced quantity x order price), the price difference, input
  VAT and AP; GR-IR clears exactly when every item is invoiced at the received quantity.
  Some vendors invoice before the goods arrive (an out-of-order step; the posting still waits
  for the goods receipt).
* Payment: within the cash-discount period for discount terms (when captured), otherwise
  around the due date, late at the configured rate. Posts AP / bank and cash discount.

A document dated after the generated window does not exist yet: its flow stays open (goods
received not invoiced, invoices unpaid), which is what the open items and GR-IR show.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from datasynth.config.models import ProcureToPayConfig
from datasynth.core import distributions as dist
from datasynth.core import vocab
from datasynth.core.ids import fixed_width_strings
from datasynth.core.money import AMOUNT_TYPE
from datasynth.generators.flows import (
    FlowCompany,
    FlowContext,
    Postings,
    dates,
    document_items,
    entry_ids,
    item_materials,
    item_postings,
    money,
    pick_methods,
    references,
    round_to_unit,
    segments,
    slotted,
    workday,
)

_S = pa.string()
PURCHASE_ORDER_SCHEMA = pa.schema(
    [
        ("purchase_order_id", _S),
        ("item_number", pa.int16()),
        ("company_code", _S),
        ("vendor_id", _S),
        ("document_date", pa.date32()),
        ("fiscal_year", pa.int16()),
        ("fiscal_period", pa.int8()),
        ("created_by", _S),
        ("approved_by", _S),
        ("change_count", pa.int8()),
        ("material_id", _S),
        ("quantity", pa.int32()),
        ("unit_price", AMOUNT_TYPE),
        ("net_amount", AMOUNT_TYPE),
        ("currency", _S),
        ("payment_terms_days", pa.int16()),
        ("status", _S),
    ]
)
GOODS_RECEIPT_SCHEMA = pa.schema(
    [
        ("goods_receipt_id", _S),
        ("item_number", pa.int16()),
        ("company_code", _S),
        ("purchase_order_id", _S),
        ("po_item", pa.int16()),
        ("vendor_id", _S),
        ("posting_date", pa.date32()),
        ("fiscal_year", pa.int16()),
        ("fiscal_period", pa.int8()),
        ("material_id", _S),
        ("quantity", pa.int32()),
        ("amount", AMOUNT_TYPE),
        ("currency", _S),
        ("movement_type", _S),
        ("plant", _S),
        ("journal_entry_id", _S),
    ]
)
VENDOR_INVOICE_SCHEMA = pa.schema(
    [
        ("vendor_invoice_id", _S),
        ("item_number", pa.int16()),
        ("company_code", _S),
        ("purchase_order_id", _S),
        ("po_item", pa.int16()),
        ("vendor_id", _S),
        ("vendor_invoice_number", _S),
        ("invoice_date", pa.date32()),
        ("posting_date", pa.date32()),
        ("fiscal_year", pa.int16()),
        ("fiscal_period", pa.int8()),
        ("material_id", _S),
        ("received_quantity", pa.int32()),
        ("quantity", pa.int32()),
        ("unit_price", AMOUNT_TYPE),
        ("order_price", AMOUNT_TYPE),
        ("net_amount", AMOUNT_TYPE),
        ("tax_amount", AMOUNT_TYPE),
        ("gross_amount", AMOUNT_TYPE),
        ("price_variance", AMOUNT_TYPE),
        ("item_match_status", _S),
        ("match_status", _S),
        ("payment_block", pa.bool_()),
        ("due_date", pa.date32()),
        ("discount_date", pa.date32()),
        ("discount_percent", pa.float32()),
        ("currency", _S),
        ("journal_entry_id", _S),
    ]
)
PAYMENT_SCHEMA = pa.schema(
    [
        ("payment_id", _S),
        ("company_code", _S),
        ("vendor_id", _S),
        ("vendor_invoice_id", _S),
        ("purchase_order_id", _S),
        ("payment_date", pa.date32()),
        ("value_date", pa.date32()),
        ("fiscal_year", pa.int16()),
        ("fiscal_period", pa.int8()),
        ("invoice_amount", AMOUNT_TYPE),
        ("discount_taken", AMOUNT_TYPE),
        ("amount", AMOUNT_TYPE),
        ("currency", _S),
        ("payment_method", _S),
        ("days_late", pa.int16()),
        ("journal_entry_id", _S),
    ]
)
#: late-payment delays (days) and their probabilities (reference system defaults)
_LATE_DAYS = ((1, 7, 0.50), (8, 14, 0.25), (15, 30, 0.15), (31, 60, 0.07), (61, 120, 0.03))
_MATCH = ("matched", "price_mismatch", "quantity_mismatch", "price_and_quantity_mismatch")


def expected_entries_per_flow(c: ProcureToPayConfig) -> float:
    """Journal entries one purchase order posts when it runs to the end."""
    return 1.0 + c.partial_delivery_rate + 1.0 + 1.0


def late_days(rng: np.random.Generator, n: int) -> np.ndarray:
    bucket = dist.draw(rng, dist.cdf([b[2] for b in _LATE_DAYS]), n)
    lo = np.array([b[0] for b in _LATE_DAYS])[bucket]
    hi = np.array([b[1] for b in _LATE_DAYS])[bucket]
    out: np.ndarray = lo + (rng.random(n) * (hi - lo + 1)).astype(np.int64)
    return out


@dataclass(frozen=True)
class Accounts:
    """Account indices the P2P postings use (the main account of each role)."""

    inventory: int
    grir: int
    price_differences: int
    input_vat: int
    ap: int
    bank: int
    cash_discount_received: int


@dataclass
class ProcureToPay:
    """One block's P2P flows: postings now, tables once entry numbers are known."""

    ctx: FlowContext
    postings: list[Postings]
    state: dict[str, np.ndarray]
    ids: dict[str, pa.Array]

    def tables(self, users: tuple[str, ...]) -> dict[str, pa.Table]:
        return _build_tables(self, users)


def generate_procure_to_pay(
    ctx: FlowContext,
    fc: FlowCompany,
    accounts: Accounts,
    flows: int,
    human_users: np.ndarray,
) -> ProcureToPay:
    """Simulate ``flows`` purchase orders starting in the block; see the module docstring."""
    c = ctx.config.document_flows.p2p
    unit = ctx.unit
    assert fc.purchase_vendor_cdf is not None
    # --- orders ------------------------------------------------------------------------------
    rng = ctx.stream("p2p", "orders")
    po_day = ctx.start_days(rng, flows)
    vendor = dist.draw(rng, fc.purchase_vendor_cdf, flows)
    counts = np.array(list(c.items_per_order))[
        dist.draw(rng, dist.cdf(list(c.items_per_order.values())), flows)
    ]
    flow, item = segments(counts)
    size = fc.vendor_material_sizes[vendor[flow]]
    material = fc.vendor_material_lookup[
        fc.vendor_material_offsets[vendor[flow]] + (rng.random(flow.size) * size).astype(np.int64)
    ]
    quantity = rng.integers(1, c.max_quantity + 1, flow.size)
    price = fc.material_cost[material]
    creator = human_users[(rng.random(flows) * human_users.size).astype(np.int64)]
    # someone other than the creator approves (segregation of duties), when there is someone
    pick = (rng.random(flows) * max(human_users.size - 1, 1)).astype(np.int64)
    creator_at = np.searchsorted(np.sort(human_users), creator)
    approver = np.sort(human_users)[(creator_at + 1 + pick) % human_users.size]
    ocel = ctx.config.document_flows.ocel
    changes = np.where(rng.random(flows) < ocel.rework_rate, rng.integers(1, 3, flows), 0)
    unapproved = rng.random(flows) < ocel.skip_rate

    # --- goods receipts ----------------------------------------------------------------------
    rng = ctx.stream("p2p", "receipts")
    partial = rng.random(flows) < c.partial_delivery_rate
    over = ~partial & (rng.random(flows) < c.over_delivery_rate)
    gr1_day = workday(po_day + c.days_to_receipt + rng.integers(0, 5, flows))
    gr2_day = workday(gr1_day + rng.integers(3, 10, flows))
    share = rng.uniform(0.6, 0.8, flows)
    extra = rng.uniform(0.0, c.max_over_delivery, flow.size)
    first = np.where(
        partial[flow],
        np.maximum(np.floor(quantity * share[flow]).astype(np.int64), 1),
        np.where(over[flow], np.floor(quantity * (1.0 + extra)).astype(np.int64), quantity),
    )
    second = np.where(partial[flow], quantity - first, 0)
    has_gr1 = gr1_day < ctx.stop_day
    needs_gr2 = np.bincount(flow, second > 0, flows) > 0
    has_gr2 = has_gr1 & needs_gr2 & (gr2_day < ctx.stop_day)
    received = first * has_gr1[flow] + second * has_gr2[flow]

    # --- invoices ----------------------------------------------------------------------------
    rng = ctx.stream("p2p", "invoices")
    last_gr = np.where(has_gr2, gr2_day, gr1_day)
    inv_day = workday(last_gr + c.days_to_invoice + rng.integers(0, 3, flows))
    early = rng.random(flows) < ocel.out_of_order_rate
    inv_date = np.where(
        early, gr1_day - rng.integers(1, 4, flows), inv_day - rng.integers(0, 3, flows)
    )
    inv_date = np.where(early, inv_date, np.maximum(inv_date, last_gr))
    # vendors date invoices on working days: a weekend date moves back to Friday
    weekday = (inv_date + 3) % 7
    inv_date = inv_date - np.where(weekday == 5, 1, np.where(weekday == 6, 2, 0))
    # an invoice comes once every ordered item has arrived (or the order is closed short)
    has_inv = has_gr1 & (inv_day < ctx.stop_day) & (~needs_gr2 | has_gr2)
    price_var = rng.random(flows) < c.price_variance_rate
    qty_var = rng.random(flows) < c.quantity_variance_rate
    factor = 1.0 + rng.uniform(-c.max_price_variance, c.max_price_variance, flow.size)
    inv_price = np.where(
        price_var[flow], np.maximum(round_to_unit(price * factor, unit), unit), price
    )
    # quantity variances always exceed the tolerance: within it an ERP would not flag them
    delta = np.maximum(
        np.ceil(received * (c.quantity_tolerance + rng.uniform(0.005, 0.10, flow.size))), 1
    ).astype(np.int64)
    sign = np.where(rng.random(flow.size) < 0.7, 1, -1)
    # never billed at zero: an invoice always bills something for each item
    inv_qty = np.where(qty_var[flow], np.maximum(received + sign * delta, 1), received)
    inv_qty = np.where(qty_var[flow] & (inv_qty == received), received + 1, inv_qty)
    price_ok = np.abs(inv_price - price) <= c.price_tolerance * price + 1e-6
    qty_ok = np.abs(inv_qty - received) <= c.quantity_tolerance * received
    item_status = np.where(price_ok, np.where(qty_ok, 0, 2), np.where(qty_ok, 1, 3))
    any_price = np.bincount(flow, ~price_ok, flows) > 0
    any_qty = np.bincount(flow, ~qty_ok, flows) > 0
    match = any_price.astype(np.int64) + 2 * any_qty.astype(np.int64)
    blocked = match > 0
    inv_net = inv_qty * inv_price
    grir = inv_qty * price
    tax = round_to_unit(inv_net * fc.tax_rate, unit)
    gross_total = np.bincount(flow, inv_net + tax, flows).astype(np.int64)
    terms = fc.vendor_terms[vendor]
    due = inv_date + terms[:, 0].astype(np.int64)
    discount_date = inv_date + terms[:, 2].astype(np.int64)

    # --- payments ----------------------------------------------------------------------------
    rng = ctx.stream("p2p", "payments")
    offers_discount = terms[:, 1] > 0
    take = offers_discount & ~blocked & (rng.random(flows) < c.discount_capture_rate)
    late = rng.random(flows) < c.late_payment_rate
    lateness = late_days(rng, flows)
    pay = np.where(
        take,
        discount_date - rng.integers(0, 3, flows),
        np.where(late, due + lateness, due - rng.integers(0, 6, flows)),
    )
    pay = np.where(blocked, np.maximum(pay, inv_day + c.block_release_days), pay)
    pay_day = workday(np.maximum(pay, inv_day))
    take &= pay_day <= discount_date
    has_pay = has_inv & (pay_day < ctx.stop_day)
    discount = np.where(take, round_to_unit(gross_total * terms[:, 1] / 100.0, unit), 0)
    days_late = np.maximum(pay_day - due, 0)
    methods = pick_methods(rng, c.payment_methods, flows)

    # --- postings ----------------------------------------------------------------------------
    gr_flow, gr_k = slotted(has_gr1, has_gr2)  # numbered flow by flow
    gr_day = np.where(gr_k == 0, gr1_day[gr_flow], gr2_day[gr_flow])
    gr_ids = ctx.ids("GR", np.arange(gr_flow.size))
    # the items of each receipt: the order's items with a quantity in that receipt
    width = max(c.items_per_order)
    g, g_pos, g_item = document_items(counts, gr_flow)
    g_qty = np.stack([first, second])[gr_k[g], g_item]
    g_value = g_qty * price[g_item]
    gr_accounts, gr_amounts = item_postings(
        gr_flow.size,
        g,
        g_pos,
        width,
        [(accounts.inventory, g_value), (accounts.grir, -g_value)],
        [],
    )
    gr_materials, gr_quantities = item_materials(
        gr_flow.size, g, g_pos, width, gr_accounts.shape[1], 0, material[g_item], g_qty
    )
    receipts = Postings(
        "goods_receipt",
        day=gr_day,
        document_day=gr_day,
        source_document_id=gr_ids,
        partner_prefix="V",
        partner=vendor[gr_flow],
        accounts=gr_accounts,
        amounts=gr_amounts,
        materials=gr_materials,
        quantities=gr_quantities,
    )
    inv_flow = np.flatnonzero(has_inv)
    inv_ids = ctx.ids("VI", np.arange(inv_flow.size))
    tax_total = np.bincount(flow, tax, flows).astype(np.int64)[inv_flow]
    v, v_pos, v_item = document_items(counts, inv_flow)
    vi_accounts, vi_amounts = item_postings(
        inv_flow.size,
        v,
        v_pos,
        width,
        [
            (accounts.grir, grir[v_item]),
            (accounts.price_differences, inv_net[v_item] - grir[v_item]),
        ],
        [(accounts.input_vat, tax_total), (accounts.ap, -gross_total[inv_flow])],
    )
    invoices = Postings(
        "vendor_invoice",
        day=inv_day[inv_flow],
        document_day=inv_date[inv_flow],
        source_document_id=inv_ids,
        partner_prefix="V",
        partner=vendor[inv_flow],
        accounts=vi_accounts,
        amounts=vi_amounts,
        clearing=inv_ids,
        due_day=due[inv_flow],
    )
    pay_flow = np.flatnonzero(has_pay)
    pay_ids = ctx.ids("PAY", np.arange(pay_flow.size))
    paid = gross_total[pay_flow] - discount[pay_flow]
    payments = Postings(
        "vendor_payment",
        day=pay_day[pay_flow],
        document_day=pay_day[pay_flow],
        source_document_id=pay_ids,
        partner_prefix="V",
        partner=vendor[pay_flow],
        accounts=np.tile(
            [accounts.ap, accounts.bank, accounts.cash_discount_received], (pay_flow.size, 1)
        ),
        amounts=np.column_stack([gross_total[pay_flow], -paid, -discount[pay_flow]]),
        clearing=inv_ids.take(pa.array(np.searchsorted(inv_flow, pay_flow))),
        due_day=due[pay_flow],
    )
    state = dict(
        # item rows of receipts and invoices, shared with the tables
        g=g,
        g_item=g_item,
        g_qty=g_qty,
        v=v,
        v_item=v_item,
        flow=flow,
        item=item,
        vendor=vendor,
        po_day=po_day,
        material=material,
        quantity=quantity,
        price=price,
        creator=creator,
        approver=approver,
        changes=changes,
        unapproved=unapproved,
        gr_flow=gr_flow,
        gr_day=gr_day,
        inv_flow=inv_flow,
        inv_day=inv_day,
        inv_date=inv_date,
        received=received,
        inv_qty=inv_qty,
        inv_price=inv_price,
        inv_net=inv_net,
        tax=tax,
        item_status=item_status,
        match=match,
        blocked=blocked,
        due=due,
        discount_date=discount_date,
        terms=terms,
        gross_total=gross_total,
        pay_flow=pay_flow,
        pay_day=pay_day,
        discount=discount,
        days_late=days_late,
        has_gr1=has_gr1,
        has_pay=has_pay,
    )
    ids = {"receipts": gr_ids, "invoices": inv_ids, "payments": pay_ids, "methods": methods}
    return ProcureToPay(ctx, [receipts, invoices, payments], state, ids)


def _build_tables(p: ProcureToPay, users: tuple[str, ...]) -> dict[str, pa.Table]:
    ctx, a, ids, postings = p.ctx, p.state, p.ids, p.postings
    flows = a["po_day"].size
    code = ctx.company_code
    flow, item = a["flow"], a["item"]
    vendor_ids = fixed_width_strings(f"V-{code}-", a["vendor"] + 1, 6)
    material_ids = fixed_width_strings(f"MAT-{code}-", a["material"] + 1, 6)
    po_ids = ctx.ids("PO", np.arange(flows))
    item_no = ((item + 1) * 10).astype(np.int16)
    n_items = flow.size

    # purchase orders (one row per item)
    year, period = ctx.fiscal(a["po_day"])
    status = np.where(
        a["has_pay"], "closed", np.where(a["has_gr1"], "partially_processed", "released")
    )
    user_names = np.array(users)
    po = {
        "purchase_order_id": po_ids.take(pa.array(flow)),
        "item_number": pa.array(item_no),
        "company_code": vocab.constant(code, n_items),
        "vendor_id": vendor_ids.take(pa.array(flow)),
        "document_date": dates(a["po_day"][flow]),
        "fiscal_year": pa.array(year[flow]),
        "fiscal_period": pa.array(period[flow]),
        "created_by": pa.array(user_names[a["creator"][flow]]),
        "approved_by": pa.array(user_names[a["approver"][flow]], mask=a["unapproved"][flow]),
        "change_count": pa.array(a["changes"][flow].astype(np.int8)),
        "material_id": material_ids,
        "quantity": pa.array(a["quantity"].astype(np.int32)),
        "unit_price": money(a["price"]),
        "net_amount": money(a["quantity"] * a["price"]),
        "currency": vocab.constant(ctx.currency, n_items),
        "payment_terms_days": pa.array(a["terms"][:, 0].astype(np.int16)[flow]),
        "status": pa.array(status[flow]),
    }

    # goods receipts: one row per received item of each receipt
    receipts, invoices, payments = postings
    gr_flow = a["gr_flow"]
    gr_je = entry_ids(ctx, receipts)
    # items of each receipt: the flow's items with a positive quantity in that receipt
    g, it, q = a["g"], a["g_item"], a["g_qty"]
    keep = q > 0
    g, it, q = g[keep], it[keep], q[keep]
    gy, gp = ctx.fiscal(a["gr_day"])
    _, gr_item = segments(np.bincount(g, minlength=gr_flow.size))
    gr_ids = ids["receipts"]
    gr = {
        "goods_receipt_id": gr_ids.take(pa.array(g)),
        "item_number": pa.array(((gr_item + 1) * 10).astype(np.int16)),
        "company_code": vocab.constant(code, g.size),
        "purchase_order_id": po_ids.take(pa.array(gr_flow[g])),
        "po_item": pa.array(item_no[it]),
        "vendor_id": vendor_ids.take(pa.array(gr_flow[g])),
        "posting_date": dates(a["gr_day"][g]),
        "fiscal_year": pa.array(gy[g]),
        "fiscal_period": pa.array(gp[g]),
        "material_id": material_ids.take(pa.array(it)),
        "quantity": pa.array(q.astype(np.int32)),
        "amount": money(q * a["price"][it]),
        "currency": vocab.constant(ctx.currency, g.size),
        "movement_type": vocab.constant("gr_for_po", g.size),
        "plant": vocab.constant(f"P{code}", g.size),
        "journal_entry_id": gr_je.take(pa.array(g)),
    }

    # vendor invoices: one row per invoiced item
    inv_flow = a["inv_flow"]
    inv_je = entry_ids(ctx, invoices)
    v, it = a["v"], a["v_item"]
    vf = inv_flow[v]
    iy, ip = ctx.fiscal(a["inv_day"][inv_flow])
    inv_ids = ids["invoices"]
    rng = ctx.stream("p2p", "invoice_numbers")
    numbers = fixed_width_strings("INV-", rng.integers(0, 10**8, inv_flow.size), 8)
    vi = {
        "vendor_invoice_id": inv_ids.take(pa.array(v)),
        "item_number": pa.array(item_no[it]),
        "company_code": vocab.constant(code, v.size),
        "purchase_order_id": po_ids.take(pa.array(vf)),
        "po_item": pa.array(item_no[it]),
        "vendor_id": vendor_ids.take(pa.array(vf)),
        "vendor_invoice_number": numbers.take(pa.array(v)),
        "invoice_date": dates(a["inv_date"][vf]),
        "posting_date": dates(a["inv_day"][vf]),
        "fiscal_year": pa.array(iy[v]),
        "fiscal_period": pa.array(ip[v]),
        "material_id": material_ids.take(pa.array(it)),
        "received_quantity": pa.array(a["received"][it].astype(np.int32)),
        "quantity": pa.array(a["inv_qty"][it].astype(np.int32)),
        "unit_price": money(a["inv_price"][it]),
        "order_price": money(a["price"][it]),
        "net_amount": money(a["inv_net"][it]),
        "tax_amount": money(a["tax"][it]),
        "gross_amount": money(a["inv_net"][it] + a["tax"][it]),
        "price_variance": money(a["inv_qty"][it] * (a["inv_price"][it] - a["price"][it])),
        "item_match_status": vocab.pick(_MATCH, a["item_status"][it]),
        "match_status": vocab.pick(_MATCH, a["match"][vf]),
        "payment_block": pa.array(a["blocked"][vf]),
        "due_date": dates(a["due"][vf]),
        "discount_date": dates(a["discount_date"][vf]),
        "discount_percent": pa.array(a["terms"][vf, 1].astype(np.float32)),
        "currency": vocab.constant(ctx.currency, v.size),
        "journal_entry_id": inv_je.take(pa.array(v)),
    }

    # payments: one row per payment
    pay_flow = a["pay_flow"]
    py, pp = ctx.fiscal(a["pay_day"][pay_flow])
    pay_ids = ids["payments"]
    methods = ids["methods"]
    inv_of_pay = np.searchsorted(inv_flow, pay_flow)
    pay = {
        "payment_id": pay_ids,
        "company_code": vocab.constant(code, pay_flow.size),
        "vendor_id": vendor_ids.take(pa.array(pay_flow)),
        "vendor_invoice_id": inv_ids.take(pa.array(inv_of_pay)),
        "purchase_order_id": po_ids.take(pa.array(pay_flow)),
        "payment_date": dates(a["pay_day"][pay_flow]),
        "value_date": dates(a["pay_day"][pay_flow] + 1),
        "fiscal_year": pa.array(py),
        "fiscal_period": pa.array(pp),
        "invoice_amount": money(a["gross_total"][pay_flow]),
        "discount_taken": money(a["discount"][pay_flow]),
        "amount": money(a["gross_total"][pay_flow] - a["discount"][pay_flow]),
        "currency": vocab.constant(ctx.currency, pay_flow.size),
        "payment_method": methods.take(pa.array(pay_flow)),
        "days_late": pa.array(a["days_late"][pay_flow].astype(np.int16)),
        "journal_entry_id": entry_ids(ctx, payments),
    }

    gr_doc_value = np.maximum(receipts.amounts, 0).sum(axis=1)  # the debits: the value
    refs = [
        references(
            ctx,
            "purchase_order",
            po_ids.take(pa.array(gr_flow)),
            "goods_receipt",
            gr_ids,
            "follow_on",
            a["gr_day"],
            gr_doc_value,
        ),
        references(
            ctx,
            "purchase_order",
            po_ids.take(pa.array(inv_flow)),
            "vendor_invoice",
            inv_ids,
            "follow_on",
            a["inv_day"][inv_flow],
            a["gross_total"][inv_flow],
        ),
        # the invoice is matched against every receipt of its order
        _invoice_receipt_refs(ctx, a, gr_ids, inv_ids),
        references(
            ctx,
            "vendor_invoice",
            inv_ids.take(pa.array(inv_of_pay)),
            "payment",
            pay_ids,
            "payment",
            a["pay_day"][pay_flow],
            a["gross_total"][pay_flow] - a["discount"][pay_flow],
        ),
    ]
    return {
        "purchase_orders": pa.table(po, schema=PURCHASE_ORDER_SCHEMA),
        "goods_receipts": pa.table(gr, schema=GOODS_RECEIPT_SCHEMA),
        "vendor_invoices": pa.table(vi, schema=VENDOR_INVOICE_SCHEMA),
        "payments": pa.table(pay, schema=PAYMENT_SCHEMA),
        "document_references": pa.concat_tables(refs),
    }


def _invoice_receipt_refs(
    ctx: FlowContext, a: dict[str, np.ndarray], gr_ids: pa.Array, inv_ids: pa.Array
) -> pa.Table:
    inv_flow, gr_flow, inv_day = a["inv_flow"], a["gr_flow"], a["inv_day"]
    has = np.isin(gr_flow, inv_flow)
    which = np.flatnonzero(has)
    inv_index = np.searchsorted(inv_flow, gr_flow[which])
    return references(
        ctx,
        "goods_receipt",
        gr_ids.take(pa.array(which)),
        "vendor_invoice",
        inv_ids.take(pa.array(inv_index)),
        "follow_on",
        inv_day[gr_flow[which]],
        None,
    )
