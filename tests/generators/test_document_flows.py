"""P2P and O2C document flows: the invariants of the issue, checked on real generated data.

One 12-month run with flows (non-default rates and tolerances, so the tests read the config
rather than literals; company 2000 on a V3 April-March fiscal year) and one small run with flows
off, both shared by the module. The files are read back with DuckDB.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest
from conftest import small_config

import datasynth
from datasynth.config.models import DatasynthConfig

FLOW_OVERRIDES = (
    "runtime.scheduler=synchronous",
    # the flows alone: asset accounting (its own A2R entries, tests/runtime/test_balances.py)
    # would change the process mix and add source documents of its own
    "balances.fixed_assets.enabled=false",
    "transactions.count=60000",
    "global.period_months=12",
    "companies.1.fiscal_year_variant=V3",
    "document_flows.p2p.partial_delivery_rate=0.25",
    "document_flows.p2p.over_delivery_rate=0.10",
    "document_flows.p2p.max_over_delivery=0.20",
    "document_flows.p2p.price_tolerance=0.03",
    "document_flows.o2c.credit_check_failure_rate=0.05",
    "document_flows.o2c.bad_debt_rate=0.03",
    "document_flows.o2c.write_off_after_days=90",
)

#: every document table: (id column, the journal entry's date column or None)
DOCUMENTS = {
    "purchase_orders": ("purchase_order_id", None),
    "goods_receipts": ("goods_receipt_id", "posting_date"),
    "vendor_invoices": ("vendor_invoice_id", "posting_date"),
    "payments": ("payment_id", "payment_date"),
    "sales_orders": ("sales_order_id", None),
    "deliveries": ("delivery_id", "goods_issue_date"),
    "customer_invoices": ("customer_invoice_id", "invoice_date"),
    "customer_receipts": ("receipt_id", "receipt_date"),
}
#: document_references types -> their table
REFERENCE_TYPES = {
    "purchase_order": "purchase_orders",
    "goods_receipt": "goods_receipts",
    "vendor_invoice": "vendor_invoices",
    "payment": "payments",
    "sales_order": "sales_orders",
    "delivery": "deliveries",
    "customer_invoice": "customer_invoices",
    "customer_receipt": "customer_receipts",
}
#: document tables that post journal entries, with the partner column they carry
POSTING_DOCUMENTS = {
    "goods_receipts": "vendor_id",
    "vendor_invoices": "vendor_id",
    "payments": "vendor_id",
    "deliveries": "customer_id",
    "customer_invoices": "customer_id",
    "customer_receipts": "customer_id",
}
WRITE_OFF = "O2C: Bad debt write-off"
#: z-score of the binomial tolerances (a false alarm about once in 15,000 draws)
Z = 4.0


@dataclass(frozen=True)
class Run:
    root: Path
    config: DatasynthConfig
    con: duckdb.DuckDBPyConnection

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return self.con.sql(sql).fetchall()

    def value(self, sql: str) -> Any:
        rows = self.rows(sql)
        assert len(rows) == 1 and len(rows[0]) == 1, rows
        return rows[0][0]


def _open(root: Path, config: DatasynthConfig) -> Run:
    con = duckdb.connect()
    con.execute(
        f"create view je as select * exclude (fiscal_year, fiscal_period), "
        f"cast(fiscal_year as integer) fiscal_year, cast(fiscal_period as integer) fiscal_period "
        f"from read_parquet('{root}/journal_entries/**/*.parquet', hive_partitioning = true)"
    )
    for name in ("chart_of_accounts", "companies", "customers", "materials"):
        con.execute(
            f"create view {name} as select * from read_parquet('{root}/master_data/{name}.parquet')"
        )
    if (root / "document_flows").exists():
        for name in (*DOCUMENTS, "document_references"):
            con.execute(
                f"create view {name} as select * from "
                f"read_parquet('{root}/document_flows/{name}/*.parquet')"
            )
    return Run(root, config, con)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    out = tmp_path_factory.mktemp("flows") / "out"
    config = small_config(out, *FLOW_OVERRIDES)
    datasynth.generate(config)
    r = _open(out, config)
    yield r
    r.con.close()


@pytest.fixture(scope="module")
def disabled_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    out = tmp_path_factory.mktemp("no_flows") / "out"
    config = small_config(
        out,
        "runtime.scheduler=synchronous",
        "document_flows.enabled=false",
        "balances.fixed_assets.enabled=false",
    )
    datasynth.generate(config)
    r = _open(out, config)
    yield r
    r.con.close()


def _sql_date(day: dt.date) -> str:
    return f"date '{day.isoformat()}'"


def _binomial_bound(p: float, n: int) -> float:
    return Z * math.sqrt(p * (1.0 - p) / n)


# --- 1. journal entries ---------------------------------------------------------------------


def test_every_entry_balances_to_the_cent(run: Run) -> None:
    unbalanced = run.rows(
        "select document_id, sum(debit_amount) - sum(credit_amount) from je "
        "group by 1 having sum(debit_amount) <> sum(credit_amount) limit 5"
    )
    assert unbalanced == []
    # amounts are whole cents and every line is either a debit or a credit
    bad_lines = run.value(
        "select count(*) from je where debit_amount < 0 or credit_amount < 0 "
        "or (debit_amount <> 0) = (credit_amount <> 0)"
    )
    assert bad_lines == 0
    assert (
        run.value(
            "select count(distinct document_id) from je where source_document_id not like 'JE-%'"
        )
        > 10_000
    )


def test_entry_ids_are_unique_and_each_entry_sits_in_one_fiscal_period(run: Run) -> None:
    mixed = run.rows(
        "select document_id from je group by 1 having count(distinct company_code) > 1 "
        "or count(distinct (fiscal_year, fiscal_period)) > 1 or count(distinct posting_date) > 1 "
        "or count(distinct posting_template) > 1 "
        "or count(distinct coalesce(source_document_id, '')) > 1 limit 5"
    )
    assert mixed == []
    # line numbers run 1..n within each entry: no entry id was handed out twice
    clashes = run.rows(
        "select document_id from je group by 1 "
        "having count(*) <> count(distinct line_number) or min(line_number) <> 1 "
        "or max(line_number) <> count(*) limit 5"
    )
    assert clashes == []


def test_every_flow_line_names_its_vendor_or_customer(run: Run) -> None:
    missing = run.rows(
        "select document_id, business_process from je where source_document_id not like 'JE-%' and ("
        "(business_process = 'P2P' and (vendor_id is null or customer_id is not null)) or "
        "(business_process = 'O2C' and (customer_id is null or vendor_id is not null)) or "
        "business_process not in ('P2P', 'O2C')) limit 5"
    )
    assert missing == []
    # ... and it is the partner of the document the entry posts
    for table, partner in POSTING_DOCUMENTS.items():
        id_column = DOCUMENTS[table][0]
        wrong = run.rows(
            f"with d as (select distinct {id_column} id, {partner} partner from {table}) "
            f"select je.document_id, je.{partner}, d.partner from je join d "
            f"on je.source_document_id = d.id where je.{partner} is distinct from d.partner "
            f"limit 5"
        )
        assert wrong == [], table


# --- 2. references ---------------------------------------------------------------------------


def _ids_of_type_sql() -> str:
    return " union all ".join(
        f"select distinct '{kind}' kind, {DOCUMENTS[table][0]} id from {table}"
        for kind, table in REFERENCE_TYPES.items()
    )


def test_every_document_reference_resolves(run: Run) -> None:
    kinds = {
        k
        for (k,) in run.rows(
            "select source_document_type from document_references union "
            "select target_document_type from document_references"
        )
    }
    assert kinds <= set(REFERENCE_TYPES)
    assert run.value("select count(*) from document_references") > 10_000
    unresolved = run.rows(
        f"with ids as ({_ids_of_type_sql()}) select r.source_document_id, r.target_document_id "
        "from document_references r "
        "left join ids s on s.kind = r.source_document_type and s.id = r.source_document_id "
        "left join ids t on t.kind = r.target_document_type and t.id = r.target_document_id "
        "where s.id is null or t.id is null limit 5"
    )
    assert unresolved == []


def test_every_flow_line_resolves_to_its_document(run: Run) -> None:
    ids = " union all ".join(
        f"select distinct {DOCUMENTS[t][0]} id from {t}" for t in POSTING_DOCUMENTS
    )
    unresolved = run.rows(
        f"with ids as ({ids}) select distinct source_document_id from je "
        "where source_document_id not like 'JE-%' and source_document_id not in (select id from ids) "
        "limit 5"
    )
    assert unresolved == []
    # each posting document names its entry, and that entry posts the document
    for table in POSTING_DOCUMENTS:
        id_column = DOCUMENTS[table][0]
        broken = run.rows(
            f"with d as (select distinct {id_column} id, journal_entry_id from {table}), "
            "e as (select distinct document_id, source_document_id from je "
            f"where posting_template <> '{WRITE_OFF}') "
            "select d.id, d.journal_entry_id from d left join e on e.document_id = "
            "d.journal_entry_id and e.source_document_id = d.id where e.document_id is null "
            "limit 5"
        )
        assert broken == [], table
    # a write-off points to the customer invoice it writes off
    write_offs = run.rows(
        f"select distinct source_document_id from je where posting_template = '{WRITE_OFF}'"
    )
    assert write_offs, "no bad-debt write-off in a 12-month run"
    assert all(w.startswith("CI-") for (w,) in write_offs)


# --- 3. goods receipts -----------------------------------------------------------------------


def test_received_quantity_stays_within_the_over_delivery_tolerance(run: Run) -> None:
    limit = run.config.document_flows.p2p.max_over_delivery
    received = run.rows(
        "with r as (select purchase_order_id, po_item, sum(quantity) q from goods_receipts "
        "group by 1, 2) select r.purchase_order_id, r.po_item, r.q, p.quantity "
        "from r left join purchase_orders p on p.purchase_order_id = r.purchase_order_id "
        "and p.item_number = r.po_item"
    )
    assert received
    assert [row for row in received if row[3] is None] == []
    over = [row for row in received if row[2] > row[3] * (1 + limit)]
    assert over == []
    # over-deliveries happen (the bound is not vacuous) and reach past the default 10%
    ratios = [row[2] / row[3] for row in received]
    assert sum(r > 1 for r in ratios) > 20
    assert max(ratios) > 1.10


# --- 4. vendor invoices ----------------------------------------------------------------------


def test_invoice_net_is_invoiced_quantity_times_invoice_price(run: Run) -> None:
    wrong = run.rows(
        "select vendor_invoice_id, item_number, quantity, unit_price, net_amount from "
        "vendor_invoices where net_amount <> quantity * unit_price "
        "or gross_amount <> net_amount + tax_amount "
        "or price_variance <> quantity * (unit_price - order_price) limit 5"
    )
    assert wrong == []


def test_invoices_bill_the_quantity_received(run: Run) -> None:
    # the received quantity an invoice shows is what the goods receipts of its order brought
    wrong = run.rows(
        "with r as (select purchase_order_id, po_item, sum(quantity) q from goods_receipts "
        "group by 1, 2) select v.vendor_invoice_id, v.po_item, v.received_quantity, r.q "
        "from vendor_invoices v left join r using (purchase_order_id, po_item) "
        "where v.received_quantity is distinct from r.q limit 5"
    )
    assert wrong == []
    unmatched_qty = run.rows(
        "select vendor_invoice_id, item_number from vendor_invoices "
        "where match_status = 'matched' and quantity <> received_quantity limit 5"
    )
    assert unmatched_qty == []


def test_prices_beyond_tolerance_are_never_matched(run: Run) -> None:
    tolerance = run.config.document_flows.p2p.price_tolerance
    deviating = run.rows(
        "select vendor_invoice_id, item_number, unit_price, order_price, item_match_status, "
        f"match_status from vendor_invoices where abs(unit_price - order_price) > "
        f"{tolerance} * order_price"
    )
    assert len(deviating) > 20
    assert [r for r in deviating if r[4] == "matched" or r[5] == "matched"] == []
    assert {r[4] for r in deviating} <= {"price_mismatch", "price_and_quantity_mismatch"}
    # ... and prices within the tolerance (some of them off the order price) are not flagged
    within = run.rows(
        "select item_match_status, count(*), count(*) filter (where unit_price <> order_price) "
        f"from vendor_invoices where abs(unit_price - order_price) <= {tolerance} * order_price "
        "group by 1"
    )
    assert {r[0] for r in within} <= {"matched", "quantity_mismatch"}
    assert sum(r[2] for r in within) > 20


def test_failed_matches_block_payment(run: Run) -> None:
    counts = dict(
        run.rows(
            "select match_status, count(distinct vendor_invoice_id) from vendor_invoices group by 1"
        )
    )
    assert set(counts) == {
        "matched",
        "price_mismatch",
        "quantity_mismatch",
        "price_and_quantity_mismatch",
    }
    wrong = run.rows(
        "select distinct vendor_invoice_id, match_status, payment_block from vendor_invoices "
        "where payment_block <> (match_status <> 'matched') limit 5"
    )
    assert wrong == []
    # an invoice's status is its worst item
    inconsistent = run.rows(
        "select vendor_invoice_id from vendor_invoices group by 1 having "
        "count(distinct match_status) > 1 or "
        "(any_value(match_status) = 'matched') <> bool_and(item_match_status = 'matched') "
        "limit 5"
    )
    assert inconsistent == []


# --- 5. payments -----------------------------------------------------------------------------


def test_payments_settle_invoice_gross_less_discount(run: Run) -> None:
    assert run.value("select count(*) from payments") > 1000
    wrong = run.rows(
        "with i as (select vendor_invoice_id, vendor_id, sum(gross_amount) gross from "
        "vendor_invoices group by 1, 2) select p.payment_id, p.amount, p.discount_taken, "
        "i.gross from payments p left join i using (vendor_invoice_id) "
        "where i.gross is null or p.amount + p.discount_taken <> i.gross "
        "or p.invoice_amount <> i.gross or p.vendor_id <> i.vendor_id limit 5"
    )
    assert wrong == []
    twice = run.rows(
        "select vendor_invoice_id from payments group by 1 having count(*) > 1 limit 5"
    )
    assert twice == []


def test_vendor_discounts_only_within_the_discount_period(run: Run) -> None:
    rows = run.rows(
        "with i as (select vendor_invoice_id, any_value(discount_date) discount_date, "
        "any_value(discount_percent) pct, sum(gross_amount) gross, "
        "from vendor_invoices group by 1) "
        "select p.payment_id, p.payment_date, i.discount_date, p.discount_taken, i.pct, i.gross, "
        "from payments p join i using (vendor_invoice_id) where p.discount_taken <> 0"
    )
    assert len(rows) > 100
    assert [r for r in rows if r[1] > r[2]] == []
    # the discount is the invoice's percentage of the gross (to the cent)
    assert [r for r in rows if abs(float(r[3]) - float(r[5]) * r[4] / 100) > 0.0051] == []


def test_customer_discounts_only_within_the_discount_period(run: Run) -> None:
    rows = run.rows(
        "with i as (select customer_invoice_id, any_value(discount_date) discount_date, "
        "sum(gross_amount) gross from customer_invoices group by 1) "
        "select r.receipt_id, r.receipt_date, i.discount_date from customer_receipts r "
        "join i using (customer_invoice_id) where r.discount_taken > 0"
    )
    assert len(rows) > 50
    assert [r for r in rows if r[1] > r[2]] == []
    # only a payment on account (80-120% of the invoice) can pay more than the invoice
    overpaid = run.rows(
        "with i as (select customer_invoice_id, sum(gross_amount) gross from customer_invoices "
        "group by 1) select customer_invoice_id, sum(amount + discount_taken), any_value(gross) "
        "from customer_receipts join i using (customer_invoice_id) group by 1 "
        "having sum(amount + discount_taken) > any_value(gross) "
        "and not bool_or(receipt_type = 'on_account') limit 5"
    )
    assert overpaid == []


def test_reversed_payments_mirror_the_payment_they_reverse(run: Run) -> None:
    """Returned (NSF) and charged-back payments post the exact negative of the payment."""
    rows = run.rows(
        "select o.amount, o.discount_taken, r.amount, r.discount_taken, r.receipt_type, "
        "r.receipt_date > o.receipt_date from document_references x "
        "join customer_receipts o on o.receipt_id = x.source_document_id "
        "join customer_receipts r on r.receipt_id = x.target_document_id "
        "where x.reference_type = 'reversal'"
    )
    assert len(rows) > 10
    for amount, discount, back, back_discount, kind, later in rows:
        assert (back, back_discount) == (-amount, -discount)
        assert kind in ("returned", "chargeback") and later
    kinds = dict(run.rows("select receipt_type, count(*) from customer_receipts group by 1"))
    assert kinds["returned"] > kinds.get("repayment", 0) > 0


def test_payments_on_account_name_their_invoice_once_applied(run: Run) -> None:
    rows = run.rows(
        "with i as (select customer_invoice_id, sum(gross_amount) gross from customer_invoices "
        "group by 1) select r.amount, i.gross, r.applied_date, r.receipt_date, "
        "r.customer_invoice_id is null from customer_receipts r left join i "
        "using (customer_invoice_id) where r.receipt_type = 'on_account'"
    )
    assert len(rows) > 20
    for amount, gross, applied, received, unnamed in rows:
        assert unnamed == (applied is None)
        if applied is not None:
            assert applied > received
            assert 0.79 * float(gross) <= float(amount) <= 1.21 * float(gross)


# --- 6. GR/IR --------------------------------------------------------------------------------


def test_grir_clears_exactly_when_quantities_match(run: Run) -> None:
    rows = run.rows(
        "with grir as (select account_number from chart_of_accounts where control_role = 'grir'),"
        " po_of as (select distinct goods_receipt_id id, purchase_order_id po from goods_receipts"
        " union all select distinct vendor_invoice_id, purchase_order_id from vendor_invoices),"
        " bal as (select p.po, sum(j.debit_amount - j.credit_amount) b from je j join po_of p"
        " on j.source_document_id = p.id where j.gl_account in (select * from grir) group by 1),"
        " inv as (select purchase_order_id po, any_value(match_status) status,"
        " sum((quantity - received_quantity) * order_price) expected from vendor_invoices"
        " group by 1)"
        " select inv.po, inv.status, bal.b, inv.expected from inv left join bal using (po)"
    )
    by_status: dict[str, list[tuple[Any, ...]]] = {}
    for row in rows:
        by_status.setdefault(row[1], []).append(row)
    assert all(len(by_status.get(s, [])) > 5 for s in ("matched", "price_mismatch"))
    assert len(by_status.get("quantity_mismatch", [])) > 5
    # GR/IR of an invoiced order is what was invoiced beyond what was received, at order price
    assert [r for r in rows if r[2] != r[3]] == []
    cleared = by_status["matched"] + by_status["price_mismatch"]
    assert [r for r in cleared if r[2] != 0] == []
    quantity = by_status["quantity_mismatch"] + by_status.get("price_and_quantity_mismatch", [])
    # a quantity mismatch leaves a balance, unless its items' differences cancel (two items of
    # one material at one price invoiced +2 and -2): the balance is the expected one above
    assert [r for r in quantity if r[2] == 0 and r[3] != 0] == []
    assert sum(r[2] != 0 for r in quantity) > 0.8 * len(quantity)


# --- 7. open items ---------------------------------------------------------------------------


def _ap_sql(group: str) -> str:
    return (
        "with ap as (select account_number from chart_of_accounts where control_role = 'ap'), "
        f"led as (select {group} k, sum(credit_amount - debit_amount) b from je "
        "where source_document_id not like 'JE-%' and gl_account in (select * from ap) group by 1), "
        f"inv as (select {group} k, sum(gross_amount) g from vendor_invoices group by 1), "
        f"pay as (select {group} k, sum(amount + discount_taken) p from payments group by 1) "
        "select k, coalesce(led.b, 0), coalesce(inv.g, 0) - coalesce(pay.p, 0) "
        "from led full join inv using (k) full join pay using (k)"
    )


def _ar_sql(group: str) -> str:
    return (
        "with ar as (select account_number from chart_of_accounts where control_role = 'ar'), "
        f"led as (select {group} k, sum(debit_amount - credit_amount) b from je "
        "where source_document_id not like 'JE-%' and gl_account in (select * from ar) group by 1), "
        f"inv as (select {group} k, sum(gross_amount) g, "
        "sum(case when payment_status = 'written_off' then gross_amount else 0 end) w "
        "from customer_invoices group by 1), "
        f"rec as (select {group} k, sum(amount + discount_taken) r from customer_receipts "
        "group by 1) "
        "select k, coalesce(led.b, 0), coalesce(inv.g, 0) - coalesce(rec.r, 0) - coalesce(inv.w, 0) "
        "from led full join inv using (k) full join rec using (k)"
    )


def test_ap_balance_per_vendor_is_invoices_less_payments_and_discounts(run: Run) -> None:
    vendors = run.rows(_ap_sql("vendor_id"))
    assert len(vendors) > 20
    assert [v for v in vendors if v[1] != v[2]] == []
    companies = run.rows(_ap_sql("company_code"))
    assert len(companies) == len(run.config.companies)
    assert [c for c in companies if c[1] != c[2] or c[1] <= 0] == []


def test_ar_balance_per_customer_is_invoices_less_receipts_and_write_offs(run: Run) -> None:
    customers = run.rows(_ar_sql("customer_id"))
    assert len(customers) > 50
    assert [c for c in customers if c[1] != c[2]] == []
    companies = run.rows(_ar_sql("company_code"))
    assert len(companies) == len(run.config.companies)
    assert [c for c in companies if c[1] != c[2] or c[1] <= 0] == []
    # a write-off takes the whole unpaid invoice off AR
    write_offs = run.rows(
        "with w as (select source_document_id id, sum(credit_amount) amount from je "
        f"where posting_template = '{WRITE_OFF}' group by 1), "
        "i as (select customer_invoice_id id, sum(gross_amount) gross, "
        "any_value(payment_status) status from customer_invoices group by 1) "
        "select w.id, w.amount, i.gross, i.status from w left join i using (id)"
    )
    assert write_offs
    assert [w for w in write_offs if w[1] != w[2] or w[3] != "written_off"] == []


# --- 8. goods issue at cost ------------------------------------------------------------------


def test_goods_issue_posts_cost_of_goods_sold_at_standard_cost(run: Run) -> None:
    per_delivery = run.rows(
        "with cogs as (select account_number from chart_of_accounts where control_role = 'cogs'),"
        " d as (select delivery_id, sum(cost_amount) cost from deliveries group by 1),"
        " j as (select source_document_id delivery_id, sum(debit_amount) amount from je"
        " where gl_account in (select * from cogs) and source_document_id like 'DLV-%'"
        " group by 1)"
        " select delivery_id, d.cost, j.amount from d full join j using (delivery_id)"
    )
    assert len(per_delivery) > 1000
    assert [d for d in per_delivery if d[1] is None or d[1] != d[2]] == []
    # the cost is the material's standard cost, not its sales price
    off_cost = run.rows(
        "select delivery_id, item_number from deliveries d join materials m using (material_id) "
        "where d.cost_amount <> d.quantity * m.standard_cost limit 5"
    )
    assert off_cost == []


def test_cost_of_goods_sold_is_below_the_invoiced_sales_value(run: Run) -> None:
    cost, net, same = run.rows(
        "with c as (select sales_order_id, so_item, sum(cost_amount) cost from deliveries "
        "group by 1, 2) select sum(c.cost), sum(i.net_amount), "
        "count(*) filter (where c.cost = i.net_amount) from customer_invoices i "
        "join c using (sales_order_id, so_item)"
    )[0]
    assert cost > 0
    assert cost < net
    assert same == 0


# --- 9. credit blocks ------------------------------------------------------------------------


def test_credit_blocked_orders_are_never_delivered_or_invoiced(run: Run) -> None:
    blocked = run.value(
        "select count(distinct sales_order_id) from sales_orders where credit_status = 'failed'"
    )
    assert blocked > 50
    leaks = run.rows(
        "with b as (select distinct sales_order_id from sales_orders "
        "where credit_status = 'failed') "
        "select 'delivery', delivery_id from deliveries join b using (sales_order_id) union all "
        "select 'invoice', customer_invoice_id from customer_invoices join b using "
        "(sales_order_id) union all "
        "select 'receipt', receipt_id from customer_receipts join b using (sales_order_id) "
        "limit 5"
    )
    assert leaks == []
    statuses = run.rows("select distinct status from sales_orders where credit_status = 'failed'")
    assert statuses == [("credit_blocked",)]


# --- 10. posting dates -----------------------------------------------------------------------


def _fiscal_sql(day: str) -> tuple[str, str]:
    """Fiscal year and period of ``day`` for the company's fiscal-year start month ``sm``."""
    year = f"(year({day}) - case when month({day}) < sm then 1 else 0 end)"
    period = f"((month({day}) - sm + 12) % 12 + 1)"
    return year, period


def test_flow_entries_post_on_the_document_date_in_its_fiscal_period(run: Run) -> None:
    year, period = _fiscal_sql("je.posting_date")
    for table, (id_column, date_column) in DOCUMENTS.items():
        if date_column is None:
            continue
        wrong = run.rows(
            "with c as (select company_code, fiscal_year_start_month sm from companies), "
            f"d as (select distinct {id_column} id, {date_column} d_day, journal_entry_id, "
            f"company_code from {table}) "
            "select d.id, d.d_day, je.posting_date, je.fiscal_year, je.fiscal_period "
            "from d join je on je.document_id = d.journal_entry_id "
            "join c on c.company_code = je.company_code "
            f"where je.posting_date <> d.d_day or je.fiscal_year <> {year} "
            f"or je.fiscal_period <> {period} or je.company_code <> d.company_code limit 5"
        )
        assert wrong == [], table
        fiscal = run.rows(
            "with c as (select company_code, fiscal_year_start_month sm from companies) "
            f"select {id_column} from {table} join c using (company_code) where "
            f"fiscal_year <> {_fiscal_sql(date_column)[0]} or "
            f"fiscal_period <> {_fiscal_sql(date_column)[1]} limit 5"
        )
        assert fiscal == [], table


def test_every_entry_sits_in_the_fiscal_period_of_its_posting_date(run: Run) -> None:
    year, period = _fiscal_sql("posting_date")
    wrong = run.rows(
        "with c as (select company_code, fiscal_year_start_month sm from companies) "
        "select document_id, posting_date, fiscal_year, fiscal_period from je "
        f"join c using (company_code) where fiscal_year <> {year} or fiscal_period <> {period} "
        "limit 5"
    )
    assert wrong == []
    # company 2000 runs an April-March year: the window crosses its fiscal year end
    assert run.value("select count(distinct fiscal_year) from je where company_code = '2000'") == 2


def test_nothing_posts_outside_the_window(run: Run) -> None:
    g = run.config.global_
    start, stop = _sql_date(g.start_date), _sql_date(g.stop_date)
    assert (
        run.value(f"select count(*) from je where posting_date < {start} or posting_date >= {stop}")
        == 0
    )
    dated = {
        "purchase_orders": ["document_date"],
        "goods_receipts": ["posting_date"],
        "vendor_invoices": ["posting_date", "invoice_date"],
        "payments": ["payment_date"],
        "sales_orders": ["document_date"],
        "deliveries": ["goods_issue_date"],
        "customer_invoices": ["invoice_date"],
        "customer_receipts": ["receipt_date"],
        "document_references": ["reference_date"],
    }
    for table, columns in dated.items():
        for column in columns:
            outside = run.value(
                f"select count(*) from {table} where {column} < {start} or {column} >= {stop}"
            )
            assert outside == 0, (table, column)
    # flows run up to the end of the window: the last month has receipts and payments
    last_month = _sql_date(g.stop_date - dt.timedelta(days=31))
    assert run.value(f"select count(*) from payments where payment_date >= {last_month}") > 0
    # write-offs come write_off_after_days after the due date (next workday)
    days = run.config.document_flows.o2c.write_off_after_days
    early = run.rows(
        "with i as (select customer_invoice_id id, any_value(due_date) due from "
        "customer_invoices group by 1) select je.document_id, je.posting_date, i.due "
        f"from je join i on je.source_document_id = i.id where je.posting_template = "
        f"'{WRITE_OFF}' and (je.posting_date < i.due + {days} or "
        f"je.posting_date > i.due + {days + 2}) limit 5"
    )
    assert early == []


# --- 11. business-process mix ----------------------------------------------------------------


def test_business_process_mix_holds_the_configured_shares(run: Run) -> None:
    # Entries are counted by the period of the block that made them (the YYYYPP in the entry
    # id, which flow entries keep when they post in a later period), for the blocks of the
    # first half of the 12-month window: their flows have six months or more to finish, so
    # truncation at the window end does not bias the shares. Measured here (seed 42, 22,544
    # entries): O2C 0.328 (config 0.35), P2P 0.311 (0.30), R2R 0.204, H2R 0.107, A2R 0.051;
    # by posting date over months 4-9 (steady state) the same within 0.003. Month-to-month
    # the O2C share moves by about +-0.008 (~3,500 entries a month), so the six-month share
    # has a standard deviation of about 0.004 and 0.015 (3.5 sigma) is an honest tolerance.
    rows = run.rows(
        "with c as (select company_code, fiscal_year_start_month sm from companies), "
        "e as (select distinct document_id, company_code, business_process, "
        "cast(regexp_extract(document_id, '^JE-[^-]+-(\\d{4})\\d{2}-', 1) as integer) fy, "
        "cast(regexp_extract(document_id, '^JE-[^-]+-\\d{4}(\\d{2})-', 1) as integer) fp "
        "from je where document_id like 'JE-%'), "
        "o as (select e.*, (fy * 12 + sm - 1 + fp - 1) - "
        f"{run.config.global_.start_date.year * 12 + run.config.global_.start_date.month - 1}"
        " as month_index from e join c using (company_code)) "
        "select business_process, count(*) from o where month_index < 6 group by 1"
    )
    counts = dict(rows)
    total = sum(counts.values())
    assert total > 15_000
    shares = run.config.transactions.business_processes
    measured = {p: counts.get(p, 0) / total for p in shares}
    for process, share in shares.items():
        assert measured[process] == pytest.approx(share, abs=0.015), measured


# --- 12. rates -------------------------------------------------------------------------------


def test_partial_deliveries_happen_at_the_configured_rate(run: Run) -> None:
    # orders at least 35 days before the window end have had time for their second receipt
    # (first receipt <= order + 20 days, second <= first + 11 days, weekends included)
    cutoff = _sql_date(run.config.global_.stop_date - dt.timedelta(days=35))
    n, two = run.rows(
        "with o as (select distinct purchase_order_id from purchase_orders "
        f"where document_date < {cutoff}), "
        "g as (select purchase_order_id, count(distinct goods_receipt_id) k from "
        "goods_receipts group by 1) "
        "select count(*), count(*) filter (where g.k = 2) from o left join g "
        "using (purchase_order_id)"
    )[0]
    assert (
        run.value(
            "select max(k) from (select count(distinct goods_receipt_id) k "
            "from goods_receipts group by purchase_order_id)"
        )
        == 2
    )
    # an order of items of quantity 1 cannot be split (about 0.4% of orders): negligible
    p = run.config.document_flows.p2p.partial_delivery_rate
    assert n > 2000
    assert two / n == pytest.approx(p, abs=_binomial_bound(p, n))


def test_credit_check_failures_follow_the_configured_rate(run: Run) -> None:
    # Orders safely under the customer's credit limit (gross = net x (1 + tax) <= limit, with
    # the company's tax rate measured from its invoices): investment-grade customers fail at
    # the configured rate, speculative grades (BB and below) fail more often.
    rows = run.rows(
        "with t as (select company_code, max(tax_amount / net_amount) rate from "
        "customer_invoices where net_amount > 100 group by 1), "
        "o as (select sales_order_id, customer_id, company_code, sum(net_amount) net, "
        "any_value(credit_status) status from sales_orders group by 1, 2, 3) "
        "select c.credit_rating in ('AAA', 'AA', 'A', 'BBB') strong, count(*), "
        "count(*) filter (where o.status = 'failed') from o join customers c using (customer_id) "
        "join t on t.company_code = o.company_code "
        "where o.net * (1 + t.rate) + 1 < c.credit_limit group by 1"
    )
    counts = {strong: (n, failed) for strong, n, failed in rows}
    rate = run.config.document_flows.o2c.credit_check_failure_rate
    n, failed = counts[True]
    assert n > 2000
    assert failed / n == pytest.approx(rate, abs=_binomial_bound(rate, n))
    n, failed = counts[False]
    assert n > 500
    assert failed / n > rate + _binomial_bound(rate, n)
    # and every order over its limit fails
    over = run.rows(
        "with o as (select sales_order_id, customer_id, sum(net_amount) net, "
        "any_value(credit_status) status from sales_orders group by 1, 2) "
        "select sales_order_id from o join customers c using (customer_id) "
        "where o.net > c.credit_limit and o.status <> 'failed' limit 5"
    )
    assert over == []


def test_bad_debts_follow_the_configured_rate(run: Run) -> None:
    # only invoices whose write-off date (due + write_off_after_days, then the next workday)
    # falls inside the window can show up as written off
    days = run.config.document_flows.o2c.write_off_after_days
    stop = _sql_date(run.config.global_.stop_date)
    n, written_off = run.rows(
        "with i as (select customer_invoice_id, any_value(due_date) due, "
        "any_value(payment_status) status from customer_invoices group by 1) "
        "select count(*), count(*) filter (where status = 'written_off') from i "
        f"where due + {days + 2} < {stop}"
    )[0]
    p = run.config.document_flows.o2c.bad_debt_rate
    assert n > 1000
    assert written_off / n == pytest.approx(p, abs=_binomial_bound(p, n))


# --- 13. flows off ---------------------------------------------------------------------------


def test_flows_disabled_write_no_documents_and_no_flow_lines(disabled_run: Run) -> None:
    assert not (disabled_run.root / "document_flows").exists()
    assert (
        disabled_run.value("select count(*) from je where source_document_id not like 'JE-%'") == 0
    )
    # the P2P and O2C entries a flow would post are drawn standalone instead
    templates = {
        t
        for (t,) in disabled_run.rows(
            "select distinct posting_template from je where business_process in ('P2P', 'O2C')"
        )
    }
    assert {"P2P: Goods receipt", "O2C: Customer invoice"} <= templates


def test_without_flows_the_standalone_items_are_paid(disabled_run: Run) -> None:
    """With balances on, payments are not drawn at random against AR and AP: every customer
    and vendor payment settles an item an entry started (or an opening item), exactly, and no
    write-off names no item; so AR stays a receivable and AP a payable."""
    payments = disabled_run.rows(
        "select distinct posting_template, document_type from je where posting_template in "
        "('O2C: Customer payment', 'P2P: Vendor payment', 'O2C: Bad debt write-off')"
    )
    assert sorted(payments) == [("O2C: Customer payment", "DZ"), ("P2P: Vendor payment", "KZ")]
    # each payment's line on AR/AP clears an item to zero: nothing is paid twice or too much
    over = disabled_run.value(
        "select count(*) from (select clearing_reference, gl_account, "
        "sum(coalesce(debit_amount, 0) - coalesce(credit_amount, 0)) filter (where "
        "posting_template in ('O2C: Customer payment', 'P2P: Vendor payment')) paid, "
        "sum(coalesce(debit_amount, 0) - coalesce(credit_amount, 0)) total, "
        "count(*) filter (where posting_template in "
        "('O2C: Customer payment', 'P2P: Vendor payment')) payments "
        "from je where gl_account in ('110000', '200000') "
        "and clearing_reference not like 'OI-%' group by 1, 2) "  # opening items: opening entry
        "where paid is not null and (total <> 0 or payments <> 1)"
    )
    assert over == 0
    unknown = disabled_run.value(
        "select count(*) from je where posting_template in "
        "('O2C: Customer payment', 'P2P: Vendor payment') and gl_account in ('110000', '200000') "
        "and clearing_reference not like 'OI-%' and clearing_reference not in "
        "(select clearing_reference from je where posting_template not in "
        "('O2C: Customer payment', 'P2P: Vendor payment') and clearing_reference is not null)"
    )
    assert unknown == 0
    tb = disabled_run.rows(
        "select gl_account, min(closing_balance), max(closing_balance) from read_parquet("
        f"'{disabled_run.root}/balances/trial_balances.parquet') "
        "where gl_account in ('110000', '200000') group by 1 order by 1"
    )
    (ar, ar_low, _), (ap, _, ap_high) = tb
    assert (ar, ap) == ("110000", "200000") and ar_low > 0 and ap_high < 0, tb


# --- review findings ---------------------------------------------------------------------------


def test_orders_are_approved_by_someone_other_than_their_creator(run: Run) -> None:
    rows = run.rows(
        "select count(*), count(*) filter (where approved_by = created_by) from "
        "(select distinct purchase_order_id, created_by, approved_by from purchase_orders "
        "where approved_by is not null)"
    )
    approved, own = rows[0]
    assert approved > 1000 and own == 0


def test_documents_are_dated_on_working_days(run: Run) -> None:
    for table, column in (
        ("vendor_invoices", "invoice_date"),
        ("vendor_invoices", "posting_date"),
        ("goods_receipts", "posting_date"),
        ("payments", "payment_date"),
        ("deliveries", "goods_issue_date"),
        ("customer_receipts", "receipt_date"),
    ):
        weekend = run.rows(f"select count(*) from {table} where isodow({column}) >= 6")[0][0]
        assert weekend == 0, (table, column)


def test_invoices_paid_only_on_account_stay_open_until_applied(run: Run) -> None:
    rows = run.rows(
        "select distinct i.payment_status from customer_receipts r join customer_invoices i "
        "on i.sales_order_id = r.sales_order_id where r.receipt_type = 'on_account' "
        "and r.applied_date is null"
    )
    assert rows and {s for (s,) in rows} == {"open"}
