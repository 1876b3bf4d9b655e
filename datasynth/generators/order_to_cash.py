"""Order-to-cash flows, vectorised per block: sales order -> credit check -> delivery(ies) ->
customer invoice -> receipt(s), with the journal entries each posting document makes.

* Order: a customer (Zipf activity), 1..n items of sold materials at list price. The credit
  check fails when the order exceeds the customer's credit limit, at the configured rate, and
  more often for weak ratings (B/BB +5%, CCC/D +20%); a failed order stops there.
* Delivery: after the order; a partial shipment sends 60-80% of every item first and the rest
  days later. Each goods issue posts cost of goods sold / inventory at standard cost (not at
  sales value). Some deliveries skip picking (a skipped step in the event log).
* Invoice: after the last delivery; posts AR (gross) / revenue (net) and output VAT.
* Receipt: dated by the customer's payment behaviour around the due date (early payers take
  the cash discount when the terms offer one). A receipt is full, partial (the remainder
  follows about a month later), or short (a disputed deduction stays open); a bad debt is never
  paid and is written off ``write_off_after_days`` after its due date (bad-debt expense / AR).
  Receipts post bank and cash discount granted / AR.

Documents dated after the generated window do not exist yet; their flows stay open.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from datasynth.config.models import CREDIT_RATINGS, PAYMENT_BEHAVIOURS, OrderToCashConfig
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
SALES_ORDER_SCHEMA = pa.schema(
    [
        ("sales_order_id", _S),
        ("item_number", pa.int16()),
        ("company_code", _S),
        ("customer_id", _S),
        ("document_date", pa.date32()),
        ("fiscal_year", pa.int16()),
        ("fiscal_period", pa.int8()),
        ("created_by", _S),
        ("change_count", pa.int8()),
        ("material_id", _S),
        ("quantity", pa.int32()),
        ("unit_price", AMOUNT_TYPE),
        ("net_amount", AMOUNT_TYPE),
        ("currency", _S),
        ("credit_status", _S),
        ("status", _S),
    ]
)
DELIVERY_SCHEMA = pa.schema(
    [
        ("delivery_id", _S),
        ("item_number", pa.int16()),
        ("company_code", _S),
        ("sales_order_id", _S),
        ("so_item", pa.int16()),
        ("customer_id", _S),
        ("goods_issue_date", pa.date32()),
        ("fiscal_year", pa.int16()),
        ("fiscal_period", pa.int8()),
        ("material_id", _S),
        ("quantity", pa.int32()),
        ("cost_amount", AMOUNT_TYPE),
        ("currency", _S),
        ("shipping_point", _S),
        ("picked", pa.bool_()),
        ("journal_entry_id", _S),
    ]
)
CUSTOMER_INVOICE_SCHEMA = pa.schema(
    [
        ("customer_invoice_id", _S),
        ("item_number", pa.int16()),
        ("company_code", _S),
        ("sales_order_id", _S),
        ("so_item", pa.int16()),
        ("customer_id", _S),
        ("invoice_date", pa.date32()),
        ("fiscal_year", pa.int16()),
        ("fiscal_period", pa.int8()),
        ("material_id", _S),
        ("quantity", pa.int32()),
        ("unit_price", AMOUNT_TYPE),
        ("net_amount", AMOUNT_TYPE),
        ("tax_amount", AMOUNT_TYPE),
        ("gross_amount", AMOUNT_TYPE),
        ("cost_amount", AMOUNT_TYPE),
        ("due_date", pa.date32()),
        ("discount_date", pa.date32()),
        ("discount_percent", pa.float32()),
        ("payment_status", _S),
        ("write_off_date", pa.date32()),
        ("currency", _S),
        ("journal_entry_id", _S),
    ]
)
CUSTOMER_RECEIPT_SCHEMA = pa.schema(
    [
        ("receipt_id", _S),
        ("company_code", _S),
        ("customer_id", _S),
        ("customer_invoice_id", _S),
        ("sales_order_id", _S),
        ("receipt_date", pa.date32()),
        ("value_date", pa.date32()),
        ("fiscal_year", pa.int16()),
        ("fiscal_period", pa.int8()),
        ("invoice_amount", AMOUNT_TYPE),
        ("discount_taken", AMOUNT_TYPE),
        ("amount", AMOUNT_TYPE),
        ("receipt_type", _S),
        ("short_reason", _S),
        ("applied_date", pa.date32()),
        ("currency", _S),
        ("payment_method", _S),
        ("days_late", pa.int16()),
        ("journal_entry_id", _S),
    ]
)
#: extra credit-check failure probability by rating
_RATING_RISK = {"BB": 0.05, "B": 0.05, "CCC": 0.20, "D": 0.20}
#: receipt offset from the due date (days, inclusive range) by payment behaviour
_BEHAVIOUR_DAYS = {
    "early": (-14, -5),
    "on_time": (-2, 2),
    "slightly_late": (5, 14),
    "often_late": (15, 44),
    "high_risk": (30, 89),
}
#: share of the invoice a partial payment covers first (reference system mix)
_PARTIAL_SHARES = ((0.25, 0.15), (0.50, 0.50), (0.75, 0.25), (-1.0, 0.10))
_SHORT_REASONS = (
    ("pricing_dispute", 0.30),
    ("quality_issue", 0.20),
    ("quantity_dispute", 0.20),
    ("unauthorized_deduction", 0.15),
    ("incorrect_discount", 0.15),
)
_STATUS = ("open", "paid", "partially_paid", "in_dispute", "written_off")


def expected_entries_per_flow(c: OrderToCashConfig, credit_failures: float) -> float:
    """Journal entries one sales order posts when it runs to the end, given the share of
    orders that fail their credit check (see :func:`expected_credit_failures`)."""
    full = 1.0 - c.bad_debt_rate - c.partial_payment_rate - c.short_payment_rate - c.on_account_rate
    corrections = max(full, 0.0) * c.correction_rate * (1.0 + 0.6 * 0.7)
    receipts = (1.0 - c.bad_debt_rate) * (1.0 + c.partial_payment_rate) + c.bad_debt_rate
    # at most 90% failures count: beyond that (orders far above every credit limit) the
    # process share is missed rather than starting unboundedly many orders
    passing = 1.0 - min(credit_failures, 0.9)
    return passing * (1.0 + c.partial_shipment_rate + 1.0 + receipts + corrections)


def _orders(
    rng: np.random.Generator, c: OrderToCashConfig, fc: FlowCompany, unit: int, flows: int
) -> tuple[np.ndarray, ...]:
    """Customers and items of ``flows`` sales orders: (customer, flow, item, material,
    quantity, item net, item tax, order gross)."""
    customer = dist.draw(rng, fc.customer_cdf, flows)
    counts = np.array(list(c.items_per_order))[
        dist.draw(rng, dist.cdf(list(c.items_per_order.values())), flows)
    ]
    flow, item = segments(counts)
    material = fc.sold_materials[(rng.random(flow.size) * fc.sold_materials.size).astype(np.int64)]
    quantity = rng.integers(1, c.max_quantity + 1, flow.size)
    net = quantity * fc.material_price[material]
    tax = round_to_unit(net * fc.tax_rate, unit)
    gross = np.bincount(flow, net + tax, flows).astype(np.int64)
    return customer, flow, item, material, quantity, net, tax, gross


def _credit_risk(
    c: OrderToCashConfig, fc: FlowCompany, customer: np.ndarray, gross: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Orders over their customer's credit limit, and each order's chance to fail anyway."""
    extra = np.array([_RATING_RISK.get(r, 0.0) for r in CREDIT_RATINGS])
    risk: np.ndarray = np.minimum(
        c.credit_check_failure_rate + extra[fc.customer_rating[customer]], 1.0
    )
    over: np.ndarray = gross > fc.customer_limit[customer]
    return over, risk


def expected_credit_failures(
    rng: np.random.Generator, c: OrderToCashConfig, fc: FlowCompany, unit: int
) -> float:
    """Share of a company's sales orders that fail the credit check: the configured rate plus
    weak ratings plus orders over the limit, which depend on the customers and materials, so
    it is estimated from 20,000 simulated orders (a fixed stream: the same for every block)."""
    n = 20_000
    customer, *_, gross = _orders(rng, c, fc, unit, n)
    over, risk = _credit_risk(c, fc, customer, gross)
    return float(np.mean(np.where(over, 1.0, risk)))


def expected_passing_net(
    rng: np.random.Generator, c: OrderToCashConfig, fc: FlowCompany, unit: int
) -> float:
    """Expected net value (hundredths) per sales order started that passes its credit check:
    large orders fail more often (over the limit), so this is less than the mean order times
    the passing share. Estimated from 20,000 simulated orders (a fixed stream)."""
    n = 20_000
    customer, flow, _, _, _, net, _, gross = _orders(rng, c, fc, unit, n)
    over, risk = _credit_risk(c, fc, customer, gross)
    passing = np.where(over, 0.0, 1.0 - risk)
    return float(np.mean(np.bincount(flow, net, n) * passing))


@dataclass(frozen=True)
class Accounts:
    """Account indices the O2C postings use (the main account of each role)."""

    cogs: int
    inventory: int
    ar: int
    revenue: int
    output_vat: int
    bank: int
    cash_discount_granted: int
    bad_debt: int


@dataclass
class OrderToCash:
    """One block's O2C flows: postings now, tables once entry numbers are known."""

    ctx: FlowContext
    postings: list[Postings]
    state: dict[str, np.ndarray]
    ids: dict[str, pa.Array]

    def tables(self, users: tuple[str, ...]) -> dict[str, pa.Table]:
        return _build_tables(self, users)


def generate_order_to_cash(
    ctx: FlowContext, fc: FlowCompany, accounts: Accounts, flows: int, human_users: np.ndarray
) -> OrderToCash:
    """Simulate ``flows`` sales orders starting in the block; see the module docstring."""
    c = ctx.config.document_flows.o2c
    ocel = ctx.config.document_flows.ocel
    unit = ctx.unit
    # --- orders and credit check -------------------------------------------------------------
    rng = ctx.stream("o2c", "orders")
    so_day = ctx.start_days(rng, flows)
    customer, flow, item, material, quantity, net, tax, gross = _orders(rng, c, fc, unit, flows)
    price = fc.material_price[material]
    cost = fc.material_cost[material]
    creator = human_users[(rng.random(flows) * human_users.size).astype(np.int64)]
    changes = np.where(rng.random(flows) < ocel.rework_rate, rng.integers(1, 3, flows), 0)
    over_limit, risk = _credit_risk(c, fc, customer, gross)
    failed = over_limit | (rng.random(flows) < risk)
    passed = ~failed

    # --- deliveries --------------------------------------------------------------------------
    rng = ctx.stream("o2c", "deliveries")
    partial = rng.random(flows) < c.partial_shipment_rate
    d1_day = workday(so_day + c.days_to_delivery + rng.integers(0, 3, flows))
    d2_day = workday(d1_day + rng.integers(3, 7, flows))
    share = rng.uniform(0.6, 0.8, flows)
    first = np.where(
        partial[flow], np.maximum(np.floor(quantity * share[flow]).astype(np.int64), 1), quantity
    )
    second = quantity - first
    unpicked = rng.random(flows) < ocel.skip_rate
    needs_d2 = np.bincount(flow, second > 0, flows) > 0
    has_d1 = passed & (d1_day < ctx.stop_day)
    has_d2 = has_d1 & needs_d2 & (d2_day < ctx.stop_day)

    # --- invoices ----------------------------------------------------------------------------
    rng = ctx.stream("o2c", "invoices")
    last = np.where(needs_d2, d2_day, d1_day)
    inv_day = workday(last + c.days_to_invoice + rng.integers(0, 2, flows))
    has_inv = has_d1 & (~needs_d2 | has_d2) & (inv_day < ctx.stop_day)
    terms = fc.customer_terms[customer]
    due = inv_day + terms[:, 0].astype(np.int64)
    discount_date = inv_day + terms[:, 2].astype(np.int64)

    # --- receipts ----------------------------------------------------------------------------
    rng = ctx.stream("o2c", "receipts")
    behaviour = fc.customer_behaviour[customer]
    lo = np.array([_BEHAVIOUR_DAYS[b][0] for b in PAYMENT_BEHAVIOURS])[behaviour]
    hi = np.array([_BEHAVIOUR_DAYS[b][1] for b in PAYMENT_BEHAVIOURS])[behaviour]
    offset = lo + (rng.random(flows) * (hi - lo + 1)).astype(np.int64)
    offset += np.where(rng.random(flows) < c.late_payment_rate, rng.integers(10, 30, flows), 0)
    prompt = behaviour <= PAYMENT_BEHAVIOURS.index("on_time")
    take = (terms[:, 1] > 0) & prompt & (rng.random(flows) < c.discount_capture_rate)
    r1_day = np.where(take, discount_date - rng.integers(0, 3, flows), due + offset)
    r1_day = workday(np.maximum(r1_day, inv_day))
    take &= r1_day <= discount_date
    u = rng.random(flows)
    bad = u < c.bad_debt_rate
    part = ~bad & (u < c.bad_debt_rate + c.partial_payment_rate)
    short = ~bad & ~part & (u < c.bad_debt_rate + c.partial_payment_rate + c.short_payment_rate)
    on_account = (
        ~bad
        & ~part
        & ~short
        & (u < c.bad_debt_rate + c.partial_payment_rate + c.short_payment_rate + c.on_account_rate)
    )
    take &= ~(bad | part | short | on_account)
    discount = np.where(take, round_to_unit(gross * terms[:, 1] / 100.0, unit), 0)
    shares = np.array([s for s, _ in _PARTIAL_SHARES])
    pick = dist.draw(rng, dist.cdf([w for _, w in _PARTIAL_SHARES]), flows)
    fraction = np.where(shares[pick] < 0, rng.uniform(0.3, 0.8, flows), shares[pick])
    withheld = rng.uniform(0.01, c.max_short_fraction, flows)
    reason = dist.draw(rng, dist.cdf([w for _, w in _SHORT_REASONS]), flows)
    first_amount = np.where(
        part,
        np.clip(round_to_unit(gross * fraction, unit), unit, np.maximum(gross - unit, unit)),
        np.where(
            short,
            np.clip(round_to_unit(gross * (1 - withheld), unit), unit, gross),
            gross - discount,
        ),
    )
    r2_day = workday(r1_day + rng.integers(20, 41, flows))
    methods = pick_methods(rng, c.payment_methods, flows)
    # payments on account and reversed payments (their own stream: the rest stays put)
    rng = ctx.stream("o2c", "corrections")
    first_amount = np.where(
        on_account,
        np.maximum(round_to_unit(gross * rng.uniform(0.8, 1.2, flows), unit), unit),
        first_amount,
    )
    applied_day = workday(r1_day + rng.integers(10, 19, flows))
    full = ~(bad | part | short | on_account)
    corrected = full & (rng.random(flows) < c.correction_rate)
    nsf = rng.random(flows) < 0.6  # returned unpaid; the rest are chargebacks
    reverse_day = workday(r1_day + rng.integers(3, 11, flows))
    repaid = nsf & (rng.random(flows) < 0.7)
    repay_day = workday(reverse_day + rng.integers(10, 31, flows))
    has_r1 = has_inv & ~bad & (r1_day < ctx.stop_day)
    has_rev = has_r1 & corrected & (reverse_day < ctx.stop_day)
    has_r2 = (has_r1 & part & (gross - first_amount > 0) & (r2_day < ctx.stop_day)) | has_rev
    has_r3 = has_rev & repaid & (repay_day < ctx.stop_day)
    applied = has_r1 & on_account & (applied_day < ctx.stop_day)
    write_off_day = workday(due + c.write_off_after_days)
    has_wo = has_inv & bad & (write_off_day < ctx.stop_day)

    # --- postings ----------------------------------------------------------------------------
    d_flow, d_k = slotted(has_d1, has_d2)
    d_day = np.where(d_k == 0, d1_day[d_flow], d2_day[d_flow])
    shipped = np.stack([first, second])
    # one cost-of-sales and one inventory line per shipped item, as an ERP posts a goods issue
    width = max(c.items_per_order)
    counts = np.bincount(flow, minlength=flows)
    g, g_pos, g_item = document_items(counts, d_flow)
    g_qty = shipped[d_k[g], g_item]
    g_cost = g_qty * cost[g_item]
    gi_accounts, gi_amounts = item_postings(
        d_flow.size,
        g,
        g_pos,
        width,
        [(accounts.cogs, g_cost), (accounts.inventory, -g_cost)],
        [],
    )
    gi_materials, gi_quantities = item_materials(
        d_flow.size, g, g_pos, width, gi_accounts.shape[1], 1, material[g_item], -g_qty
    )
    d_ids = ctx.ids("DLV", np.arange(d_flow.size))
    goods_issues = Postings(
        "goods_issue",
        day=d_day,
        document_day=d_day,
        source_document_id=d_ids,
        partner_prefix="C",
        partner=customer[d_flow],
        accounts=gi_accounts,
        amounts=gi_amounts,
        materials=gi_materials,
        quantities=gi_quantities,
    )
    inv_flow = np.flatnonzero(has_inv)
    inv_ids = ctx.ids("CI", np.arange(inv_flow.size))
    tax_total = np.bincount(flow, tax, flows).astype(np.int64)
    # revenue per item, the receivable and the output tax per invoice
    v, v_pos, v_item = document_items(counts, inv_flow)
    ci_accounts, ci_amounts = item_postings(
        inv_flow.size,
        v,
        v_pos,
        width,
        [(accounts.revenue, -net[v_item])],
        [(accounts.ar, gross[inv_flow]), (accounts.output_vat, -tax_total[inv_flow])],
    )
    invoices = Postings(
        "customer_invoice",
        day=inv_day[inv_flow],
        document_day=inv_day[inv_flow],
        source_document_id=inv_ids,
        partner_prefix="C",
        partner=customer[inv_flow],
        accounts=ci_accounts,
        amounts=ci_amounts,
        clearing=inv_ids,
        due_day=due[inv_flow],
    )
    r_flow, r_k = slotted(has_r1, has_r2, has_r3)
    # slot 0: the payment; 1: the remainder of a partial payment or the reversal of a
    # corrected one; 2: the payment again after a returned one
    days = np.stack([r1_day, np.where(part, r2_day, reverse_day), repay_day])
    amounts = np.stack([first_amount, np.where(part, gross - first_amount, -first_amount), gross])
    discounts = np.stack([discount, np.where(part, 0, -discount), np.zeros_like(discount)])
    r_day = days[r_k, r_flow]
    r_amount = amounts[r_k, r_flow]
    r_discount = discounts[r_k, r_flow]
    r_ids = ctx.ids("REC", np.arange(r_flow.size))
    receipts = Postings(
        "customer_receipt",
        day=r_day,
        document_day=r_day,
        source_document_id=r_ids,
        partner_prefix="C",
        partner=customer[r_flow],
        accounts=np.tile(
            [accounts.bank, accounts.cash_discount_granted, accounts.ar], (r_flow.size, 1)
        ),
        amounts=np.column_stack([r_amount, r_discount, -(r_amount + r_discount)]),
        # every receipt settles (or reverses, or pays on account for) its flow's invoice
        clearing=inv_ids.take(pa.array(np.searchsorted(inv_flow, r_flow))),
        due_day=due[r_flow],
    )
    wo_flow = np.flatnonzero(has_wo)
    inv_index = np.searchsorted(inv_flow, wo_flow)
    write_offs = Postings(
        "bad_debt_write_off",
        day=write_off_day[wo_flow],
        document_day=write_off_day[wo_flow],
        source_document_id=inv_ids.take(pa.array(inv_index)),
        partner_prefix="C",
        partner=customer[wo_flow],
        accounts=np.tile([accounts.bad_debt, accounts.ar], (wo_flow.size, 1)),
        amounts=np.column_stack([gross[wo_flow], -gross[wo_flow]]),
        manual=True,
        clearing=inv_ids.take(pa.array(inv_index)),
        due_day=due[wo_flow],
    )
    # a payment on account counts for its invoice only once it is applied to it
    counts_for_invoice = ~((r_k == 0) & on_account[r_flow] & ~applied[r_flow])
    received = np.bincount(r_flow, (r_amount + r_discount) * counts_for_invoice, flows).astype(
        np.int64
    )
    status = np.select(
        [
            has_wo,
            has_r1 & short,
            has_rev & ~nsf & ~has_r3,
            (received >= gross) & (received > 0),
            received > 0,
        ],
        [4, 3, 3, 1, 2],
        0,
    )
    state = dict(
        # item rows of deliveries and invoices, shared with the tables
        g=g,
        g_item=g_item,
        g_qty=g_qty,
        v=v,
        v_item=v_item,
        has_wo=has_wo,
        write_off_day=write_off_day,
        on_account=on_account,
        applied=applied,
        applied_day=applied_day,
        nsf=nsf,
        flow=flow,
        item=item,
        customer=customer,
        so_day=so_day,
        material=material,
        quantity=quantity,
        price=price,
        cost=cost,
        net=net,
        tax=tax,
        gross=gross,
        creator=creator,
        changes=changes,
        failed=failed,
        has_inv=has_inv,
        d_flow=d_flow,
        d_day=d_day,
        unpicked=unpicked,
        inv_flow=inv_flow,
        inv_day=inv_day,
        due=due,
        discount_date=discount_date,
        terms=terms,
        status=status,
        r_flow=r_flow,
        r_k=r_k,
        r_day=r_day,
        r_amount=r_amount,
        r_discount=r_discount,
        part=part,
        short=short,
        reason=reason,
    )
    ids = {"deliveries": d_ids, "invoices": inv_ids, "receipts": r_ids, "methods": methods}
    return OrderToCash(ctx, [goods_issues, invoices, receipts, write_offs], state, ids)


def _build_tables(o: OrderToCash, users: tuple[str, ...]) -> dict[str, pa.Table]:
    ctx, a, ids = o.ctx, o.state, o.ids
    goods_issues, invoices, receipts, _ = o.postings
    code = ctx.company_code
    flow, item = a["flow"], a["item"]
    flows = a["so_day"].size
    customer_ids = fixed_width_strings(f"C-{code}-", a["customer"] + 1, 6)
    material_ids = fixed_width_strings(f"MAT-{code}-", a["material"] + 1, 6)
    so_ids = ctx.ids("SO", np.arange(flows))
    item_no = ((item + 1) * 10).astype(np.int16)

    year, period = ctx.fiscal(a["so_day"])
    so_status = np.where(a["failed"], "credit_blocked", np.where(a["has_inv"], "completed", "open"))
    so = {
        "sales_order_id": so_ids.take(pa.array(flow)),
        "item_number": pa.array(item_no),
        "company_code": vocab.constant(code, flow.size),
        "customer_id": customer_ids.take(pa.array(flow)),
        "document_date": dates(a["so_day"][flow]),
        "fiscal_year": pa.array(year[flow]),
        "fiscal_period": pa.array(period[flow]),
        "created_by": pa.array(np.array(users)[a["creator"][flow]]),
        "change_count": pa.array(a["changes"][flow].astype(np.int8)),
        "material_id": material_ids,
        "quantity": pa.array(a["quantity"].astype(np.int32)),
        "unit_price": money(a["price"]),
        "net_amount": money(a["net"]),
        "currency": vocab.constant(ctx.currency, flow.size),
        "credit_status": pa.array(np.where(a["failed"], "failed", "passed")[flow]),
        "status": pa.array(so_status[flow]),
    }

    d_flow = a["d_flow"]
    g, it, q = a["g"], a["g_item"], a["g_qty"]
    keep = q > 0
    g, it, q = g[keep], it[keep], q[keep]
    _, d_item = segments(np.bincount(g, minlength=d_flow.size))
    dy, dp = ctx.fiscal(a["d_day"])
    d_ids = ids["deliveries"]
    dlv = {
        "delivery_id": d_ids.take(pa.array(g)),
        "item_number": pa.array(((d_item + 1) * 10).astype(np.int16)),
        "company_code": vocab.constant(code, g.size),
        "sales_order_id": so_ids.take(pa.array(d_flow[g])),
        "so_item": pa.array(item_no[it]),
        "customer_id": customer_ids.take(pa.array(d_flow[g])),
        "goods_issue_date": dates(a["d_day"][g]),
        "fiscal_year": pa.array(dy[g]),
        "fiscal_period": pa.array(dp[g]),
        "material_id": material_ids.take(pa.array(it)),
        "quantity": pa.array(q.astype(np.int32)),
        "cost_amount": money(q * a["cost"][it]),
        "currency": vocab.constant(ctx.currency, g.size),
        "shipping_point": vocab.constant(f"SP{code}", g.size),
        "picked": pa.array(~a["unpicked"][d_flow[g]]),
        "journal_entry_id": entry_ids(ctx, goods_issues).take(pa.array(g)),
    }

    inv_flow = a["inv_flow"]
    v, it = a["v"], a["v_item"]
    vf = inv_flow[v]
    iy, ip = ctx.fiscal(a["inv_day"][inv_flow])
    inv_ids = ids["invoices"]
    ci = {
        "customer_invoice_id": inv_ids.take(pa.array(v)),
        "item_number": pa.array(item_no[it]),
        "company_code": vocab.constant(code, v.size),
        "sales_order_id": so_ids.take(pa.array(vf)),
        "so_item": pa.array(item_no[it]),
        "customer_id": customer_ids.take(pa.array(vf)),
        "invoice_date": dates(a["inv_day"][vf]),
        "fiscal_year": pa.array(iy[v]),
        "fiscal_period": pa.array(ip[v]),
        "material_id": material_ids.take(pa.array(it)),
        "quantity": pa.array(a["quantity"][it].astype(np.int32)),
        "unit_price": money(a["price"][it]),
        "net_amount": money(a["net"][it]),
        "tax_amount": money(a["tax"][it]),
        "gross_amount": money(a["net"][it] + a["tax"][it]),
        "cost_amount": money(a["quantity"][it] * a["cost"][it]),
        "due_date": dates(a["due"][vf]),
        "discount_date": dates(a["discount_date"][vf]),
        "discount_percent": pa.array(a["terms"][vf, 1].astype(np.float32)),
        "payment_status": pa.array(np.array(_STATUS)[a["status"][vf]]),
        "write_off_date": pa.array(
            a["write_off_day"][vf].astype(np.int32), pa.date32(), mask=~a["has_wo"][vf]
        ),
        "currency": vocab.constant(ctx.currency, v.size),
        "journal_entry_id": entry_ids(ctx, invoices).take(pa.array(v)),
    }

    r_flow, r_k = a["r_flow"], a["r_k"]
    ry, rp = ctx.fiscal(a["r_day"])
    inv_of_r = np.searchsorted(inv_flow, r_flow)
    part, nsf = a["part"][r_flow], a["nsf"][r_flow]
    first_kind = np.select(
        [part, a["short"][r_flow], a["on_account"][r_flow]],
        ["partial", "short", "on_account"],
        "full",
    )
    kind = np.select(
        [r_k == 0, (r_k == 1) & part, (r_k == 1) & nsf, r_k == 1],
        [first_kind, "remainder", "returned", "chargeback"],
        "repayment",
    )
    reason = np.array([r for r, _ in _SHORT_REASONS])[a["reason"][r_flow]]
    methods: pa.Array = ids["methods"]
    # a payment on account names its invoice only once it is applied to it
    unapplied = (kind == "on_account") & ~a["applied"][r_flow]
    invoice_of_receipt = inv_ids.take(pa.array(inv_of_r, mask=unapplied))
    rec = {
        "receipt_id": ids["receipts"],
        "company_code": vocab.constant(code, r_flow.size),
        "customer_id": customer_ids.take(pa.array(r_flow)),
        "customer_invoice_id": invoice_of_receipt,
        "sales_order_id": so_ids.take(pa.array(r_flow)),
        "receipt_date": dates(a["r_day"]),
        "value_date": dates(a["r_day"] + 1),
        "fiscal_year": pa.array(ry),
        "fiscal_period": pa.array(rp),
        "invoice_amount": money(a["gross"][r_flow]),
        "discount_taken": money(a["r_discount"]),
        "amount": money(a["r_amount"]),
        "receipt_type": pa.array(kind),
        "short_reason": pa.array(reason, mask=kind != "short"),
        "applied_date": pa.array(
            a["applied_day"][r_flow].astype(np.int32),
            pa.date32(),
            mask=~((kind == "on_account") & a["applied"][r_flow]),
        ),
        "currency": vocab.constant(ctx.currency, r_flow.size),
        "payment_method": methods.take(pa.array(r_flow)),
        "days_late": pa.array(np.maximum(a["r_day"] - a["due"][r_flow], 0).astype(np.int16)),
        "journal_entry_id": entry_ids(ctx, receipts),
    }
    refs = [
        references(
            ctx,
            "sales_order",
            so_ids.take(pa.array(d_flow)),
            "delivery",
            d_ids,
            "follow_on",
            a["d_day"],
            np.maximum(goods_issues.amounts, 0).sum(axis=1),
        ),
        references(
            ctx,
            "sales_order",
            so_ids.take(pa.array(inv_flow)),
            "customer_invoice",
            inv_ids,
            "follow_on",
            a["inv_day"][inv_flow],
            a["gross"][inv_flow],
        ),
        _delivery_invoice_refs(ctx, a, d_ids, inv_ids),
        _receipt_refs(ctx, a, kind, inv_ids.take(pa.array(inv_of_r)), ids["receipts"]),
    ]
    return {
        "sales_orders": pa.table(so, schema=SALES_ORDER_SCHEMA),
        "deliveries": pa.table(dlv, schema=DELIVERY_SCHEMA),
        "customer_invoices": pa.table(ci, schema=CUSTOMER_INVOICE_SCHEMA),
        "customer_receipts": pa.table(rec, schema=CUSTOMER_RECEIPT_SCHEMA),
        "document_references": pa.concat_tables(refs),
    }


def _receipt_refs(
    ctx: FlowContext,
    a: dict[str, np.ndarray],
    kind: np.ndarray,
    invoice_ids: pa.Array,
    receipt_ids: pa.Array,
) -> pa.Table:
    """Invoice -> receipt (``payment``; ``on_account`` once applied, dated then) and payment
    -> its reversal (``reversal``)."""
    r_flow, r_day = a["r_flow"], a["r_day"]
    applied = a["applied"][r_flow]
    on_account = kind == "on_account"
    pays = ~on_account | applied
    day = np.where(on_account, a["applied_day"][r_flow], r_day)
    link = np.where(on_account, "on_account", np.where(a["r_amount"] < 0, "reversal", "payment"))
    reversal = np.flatnonzero((kind == "returned") | (kind == "chargeback"))
    # the reversed payment is the flow's first receipt, the row just before its reversal
    original = reversal - 1
    keep = np.flatnonzero(pays & ~np.isin(np.arange(kind.size), reversal))
    return pa.concat_tables(
        [
            references(
                ctx,
                "customer_invoice",
                invoice_ids.take(pa.array(keep)),
                "customer_receipt",
                receipt_ids.take(pa.array(keep)),
                link[keep],
                day[keep],
                a["r_amount"][keep],
            ),
            references(
                ctx,
                "customer_receipt",
                receipt_ids.take(pa.array(original)),
                "customer_receipt",
                receipt_ids.take(pa.array(reversal)),
                "reversal",
                r_day[reversal],
                -a["r_amount"][reversal],
            ),
        ]
    )


def _delivery_invoice_refs(
    ctx: FlowContext, a: dict[str, np.ndarray], d_ids: pa.Array, inv_ids: pa.Array
) -> pa.Table:
    d_flow, inv_flow = a["d_flow"], a["inv_flow"]
    which = np.flatnonzero(np.isin(d_flow, inv_flow))
    inv_index = np.searchsorted(inv_flow, d_flow[which])
    return references(
        ctx,
        "delivery",
        d_ids.take(pa.array(which)),
        "customer_invoice",
        inv_ids.take(pa.array(inv_index)),
        "follow_on",
        a["inv_day"][d_flow[which]],
        None,
    )
