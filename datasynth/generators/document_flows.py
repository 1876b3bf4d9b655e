"""Everything one journal-entry block produces: its standalone entries plus, with
``document_flows.enabled``, the P2P and O2C flows that start in it, their documents, document
references and the journal entries those documents post.

How many flows start in a block: the standalone generator draws every entry's business process
and posting template as usual; entries whose template a flow covers (goods receipt, vendor
invoice for an order, vendor payment; goods issue, customer invoice, customer payment, bad-debt
write-off) are left out and counted, and ``count / expected entries per flow`` flows start
instead (rounded at random, keyed by the block). So the business-process mix of the ledger
holds, and flow starts follow the same seasonality as every entry.

Flow entries are numbered after the block's standalone entries, one number range per document
type; their ids carry the block's period even when they post in a later one.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datasynth.config.models import BUSINESS_PROCESSES, PERSONAS, DatasynthConfig
from datasynth.core import distributions as dist
from datasynth.core.blocks import Block
from datasynth.core.reference import load
from datasynth.core.seeding import stream
from datasynth.generators import order_to_cash as o2c
from datasynth.generators import procure_to_pay as p2p
from datasynth.generators.anomalies import ANOMALY_LABELS, inject_anomalies
from datasynth.generators.approvals import approvals
from datasynth.generators.flows import (
    REFERENCE_SCHEMA,
    FlowContext,
    day_number,
    flow_journal_lines,
    number_postings,
)
from datasynth.generators.journal_entries import SCHEMA, generate_direct_entries
from datasynth.generators.master import Master, cost_center_weights, replaced_mask
from datasynth.generators.open_items import settle_standalone_items

JOURNAL_ENTRIES = "journal_entries"
#: the tables under ``document_flows/``, in output order
FLOW_TABLES = (
    "purchase_orders",
    "goods_receipts",
    "vendor_invoices",
    "payments",
    "sales_orders",
    "deliveries",
    "customer_invoices",
    "customer_receipts",
    "document_references",
)
FLOW_SCHEMAS: dict[str, pa.Schema] = {
    "purchase_orders": p2p.PURCHASE_ORDER_SCHEMA,
    "goods_receipts": p2p.GOODS_RECEIPT_SCHEMA,
    "vendor_invoices": p2p.VENDOR_INVOICE_SCHEMA,
    "payments": p2p.PAYMENT_SCHEMA,
    "sales_orders": o2c.SALES_ORDER_SCHEMA,
    "deliveries": o2c.DELIVERY_SCHEMA,
    "customer_invoices": o2c.CUSTOMER_INVOICE_SCHEMA,
    "customer_receipts": o2c.CUSTOMER_RECEIPT_SCHEMA,
    "document_references": REFERENCE_SCHEMA,
}


#: journal lines of an average flow entry (one per item and account for receipts, issues and
#: invoices, 2-3 for payments; measured 3.75 in the demo), used to plan block sizes
FLOW_LINES_PER_ENTRY = 3.8


def flow_share(config: DatasynthConfig) -> float:
    """Expected share of planned entries that document flows post (0 when flows are off)."""
    if not config.document_flows.enabled:
        return 0.0
    templates = load("chart_of_accounts")["posting_templates"]
    share = 0.0
    for process, weight in config.transactions.business_processes.items():
        total = sum(t["weight"] for t in templates[process])
        flows = sum(t["weight"] for t in templates[process] if t.get("flow_document"))
        share += weight * flows / total
    return share


def replaced_templates(
    config: DatasynthConfig, master: Master, company_index: int
) -> np.ndarray | None:
    """Templates whose entries come from flows in this company, from the settlement of the
    standalone items (without flows, with balances: the payment templates), or from asset
    accounting (every A2R template: acquisitions, depreciation and disposals follow the
    register). None when nothing replaces anything."""
    fc = master.flows[company_index] if master.flows is not None else None
    mask = replaced_mask(config, master.posting, fc)
    return mask if mask.any() else None


def open_item_accounts(master: Master) -> np.ndarray:
    """Mask over the chart: the AP and AR reconciliation accounts, kept by open item."""
    mask = np.zeros(len(master.chart.numbers), dtype=bool)
    mask[[_role(master, "ap"), _role(master, "ar")]] = True
    return mask


def _role(master: Master, role: str) -> int:
    chart = master.chart
    return chart.numbers.index(chart.account(role))


def _family(master: Master, key: str) -> int:
    return int(master.chart.families[key][0])


def generate_block_tables(
    config: DatasynthConfig, master: Master, block: Block
) -> dict[str, pa.Table]:
    """``journal_entries`` (with fiscal year and period columns; flow entries may post in later
    periods), when flows are on every ``document_flows`` table of the block, and with
    ``anomalies.enabled`` the block's ``anomaly_labels``.

    Approvals are drawn on the finished ledger of the block, then anomalies are injected into
    it; each from its own streams, so neither moves a draw of anything else."""
    tables = _ledger_and_flows(config, master, block)
    company = master.companies[block.company_index]
    tables[JOURNAL_ENTRIES] = approvals(config, company, block, tables[JOURNAL_ENTRIES])
    if config.anomalies.enabled:
        ledger, labels = inject_anomalies(config, master, block, tables[JOURNAL_ENTRIES])
        tables[JOURNAL_ENTRIES] = ledger
        tables[ANOMALY_LABELS] = labels
    return tables


def _ledger_and_flows(config: DatasynthConfig, master: Master, block: Block) -> dict[str, pa.Table]:
    replaced = replaced_templates(config, master, block.company_index)
    direct, left = generate_direct_entries(config, master, block, replaced)
    if master.flows is None and not config.balances.enabled:
        return {JOURNAL_ENTRIES: direct}
    # the settlements of the standalone items (numbered after the standalone entries, before
    # the flows) are receipts and payments: they stand in for drawn O2C and P2P entries as
    # the flows do, so the process mix and the volume hold; without flows they take the place
    # of the payment templates (master.SETTLED_BY_ITEMS)
    direct_entries = int(np.count_nonzero(direct["line_number"].to_numpy() == 1))
    settlements = settle_standalone_items(config, master, block, direct, direct_entries)
    if master.flows is None:
        return {JOURNAL_ENTRIES: pa.concat_tables([direct, settlements]).unify_dictionaries()}
    fc = master.flows[block.company_index]
    company = master.companies[block.company_index]
    stop = company.periods[-1].stop
    ctx = FlowContext(
        config=config,
        block=block,
        company_code=company.code,
        currency=company.currency,
        unit=company.amount_unit,
        periods=company.periods,
        start_weights=company.day_weights[
            block.day_offset : block.day_offset + (block.stop - block.first).days
        ],
        first_day=day_number(block.first),
        stop_day=day_number(stop),
    )
    f = config.document_flows
    left = left.copy()
    for process, ledger in (("O2C", "DZ"), ("P2P", "KZ")):
        paid = pc.sum(
            pc.and_(
                pc.equal(settlements["line_number"], 1),
                pc.equal(settlements["document_type"].cast(pa.string()), ledger),
            ).cast(pa.int64())
        ).as_py()
        i = BUSINESS_PROCESSES.index(process)
        left[i] = max(int(left[i]) - int(paid or 0), 0)
    rng = ctx.stream("counts")
    u = rng.random(2)
    p2p_count = int(
        left[BUSINESS_PROCESSES.index("P2P")] / p2p.expected_entries_per_flow(f.p2p) + u[0]
    )
    failures = (
        o2c.expected_credit_failures(
            stream(config.global_.seed, "document_flows", company.code, "credit_failures"),
            f.o2c,
            fc,
            company.amount_unit,
        )
        if fc.can_sell
        else 0.0
    )
    o2c_count = int(
        left[BUSINESS_PROCESSES.index("O2C")] / o2c.expected_entries_per_flow(f.o2c, failures)
        + u[1]
    )
    humans = company.user_lookup[: int(company.persona_sizes[: len(PERSONAS)].sum())]
    automated = company.user_lookup[int(company.persona_offsets[len(PERSONAS)]) :]
    accountants = company.user_lookup[
        int(company.persona_offsets[PERSONAS.index("senior_accountant")]) : int(
            company.persona_offsets[PERSONAS.index("senior_accountant")]
            + company.persona_sizes[PERSONAS.index("senior_accountant")]
        )
    ]
    if accountants.size == 0:
        accountants = humans
    tables: dict[str, list[pa.Table]] = {name: [] for name in FLOW_TABLES}
    postings = []
    p2p_flows = o2c_flows = None
    if p2p_count and fc.can_purchase:
        p2p_flows = p2p.generate_procure_to_pay(
            ctx,
            fc,
            p2p.Accounts(
                inventory=_family(master, "subtype:inventory"),
                grir=_role(master, "grir"),
                price_differences=_role(master, "price_differences"),
                input_vat=_role(master, "input_vat"),
                ap=_role(master, "ap"),
                bank=_role(master, "bank"),
                cash_discount_received=_role(master, "cash_discount_received"),
            ),
            p2p_count,
            humans,
        )
        postings.extend(p2p_flows.postings)
    if o2c_count and fc.can_sell:
        o2c_flows = o2c.generate_order_to_cash(
            ctx,
            fc,
            o2c.Accounts(
                cogs=_family(master, "subtype:cogs"),
                inventory=_family(master, "subtype:inventory"),
                ar=_role(master, "ar"),
                revenue=_family(master, "subtype:revenue"),
                output_vat=_role(master, "output_vat"),
                bank=_role(master, "bank"),
                cash_discount_granted=_role(master, "cash_discount_granted"),
                bad_debt=_role(master, "bad_debt"),
            ),
            o2c_count,
            humans,
        )
        postings.extend(o2c_flows.postings)
    paid = int(np.count_nonzero(settlements["line_number"].to_numpy() == 1))
    number_postings(postings, direct_entries + paid)
    posting = master.posting
    lines = flow_journal_lines(
        ctx,
        postings,
        schema=SCHEMA,
        numbers=master.chart.numbers,
        template_names=posting.template_names,
        template_document_types=posting.template_document_types,
        template_of={d: posting.template_of(d) for d in posting.template_flow_documents if d},
        user_ids=company.user_ids,
        automated_users=automated,
        manual_users=accountants,
        cost_centers=company.cost_centers,
        cost_center_cdf=dist.cdf(cost_center_weights()),
        requires_cost_center=master.chart.requires_cost_center,
        open_item_accounts=open_item_accounts(master),
    )
    for flows in (p2p_flows, o2c_flows):
        if flows is not None:
            for name, table in flows.tables(company.user_ids).items():
                tables[name].append(table)
    out = {JOURNAL_ENTRIES: pa.concat_tables([direct, lines, settlements]).unify_dictionaries()}
    for name in FLOW_TABLES:
        parts = tables[name]
        out[name] = pa.concat_tables(parts) if parts else FLOW_SCHEMAS[name].empty_table()
    return out
